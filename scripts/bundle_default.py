"""Copy a trained model into the package as the bundled default, with a model card that records its data,
training and held-out results (docs/results/*.json from scripts/results.sh), and its recommended sampling
settings (generation_config.json, the settings scripts/results.sh samples the generated pieces with).

    python scripts/bundle_default.py runs/music-transformer-music21
    python scripts/bundle_default.py default     # refresh the bundled model's card and settings only
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from overworld.config import SampleConfig
from overworld.models import load_model, save_model

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "overworld" / "assets" / "default"
# a sixteenth-note grid at 120 bpm (MIDI's default; the training pieces' median is 115), 4-9 instruments a
# piece (their 10th to 90th percentile), polyphony 6 and notes up to 2 s: scripts/results.sh's flags for
# docs/results/generated
RECOMMENDED = SampleConfig(top_p=0.95, max_polyphony=6, max_note_seconds=2.0, max_instruments=(4, 9),
                           bpm=120.0, grid=4)  # fmt: skip


def main(run: str) -> None:
    pretrained = load_model(run)
    results = {}
    names = (
        "music-transformer",
        "music-transformer-scratch",
        "lstm",
        "bigram",
        "statistics",
        "statistics-raw",
    )
    for name in names:
        path = ROOT / "docs" / "results" / f"{name}.json"
        if path.exists():
            results[name] = json.loads(path.read_text())
    card = dict(pretrained.card)
    card["name"] = "overworld default: a small Music Transformer of free game soundtracks"
    card["licence"] = ("pre-trained on the music21 corpus (public-domain compositions, BSD-3-Clause encodings), "
                       "fine-tuned on Freedoom's music (BSD-3-Clause) and OpenTTD's OpenMSX (GPL-2.0); "
                       "check the last two before shipping what it composes in a product")  # fmt: skip
    card["pretrained_on"] = ("the music21 corpus cut to all of Bach's chorales and the first 449 of O'Neill's 1850 "
                             "Irish tunes (`overworld fetch music21 --limit 879`), 1,100 steps before fine-tuning")  # fmt: skip
    if Path(pretrained.path).resolve() != TARGET.resolve():  # refreshing the bundle keeps its training record
        card["training_command"] = ("overworld train --data data/prepared-music21 --out runs/music21 "
                                    "--config configs/default-music-transformer.json --max-minutes 42, then "
                                    f"overworld train --data data/prepared --out {run} --config "
                                    "configs/default-music-transformer.json --init-from runs/music21 --steps 2200 --max-minutes 42")  # fmt: skip
    card["reproduce"] = "scripts/results.sh"
    if "music-transformer" in results:
        card["test"] = {k: results["music-transformer"].get(k) for k in
                        ("bits_per_token", "bits_per_note", "bits_per_second", "perplexity", "accuracy", "tokens", "notes")}  # fmt: skip
    if "music-transformer-scratch" in results:
        card["test_bits_per_note_without_pretraining"] = results["music-transformer-scratch"]["bits_per_note"]
    if "lstm" in results and "bigram" in results:
        card["baselines_test_bits_per_note"] = {"lstm": results["lstm"]["bits_per_note"],
                                                "bigram": results["bigram"]["bits_per_note"]}  # fmt: skip
    if "statistics" in results and "statistics-raw" in results:
        card["sampling"] = (
            "generation_config.json: top-p 0.95, a sixteenth-note grid at 120 bpm, 4-9 instruments a piece, "
            "polyphony 6, notes up to 2 s; mean Yang-Lerch OA of 20 pieces against the test pieces "
            f"{results['statistics']['metrics']['mean_overlapping_area']:.3f} with them, "
            f"{results['statistics-raw']['metrics']['mean_overlapping_area']:.3f} without (--raw --top-p 0.95)"
        )
    if TARGET.exists():
        shutil.rmtree(TARGET)
    save_model(TARGET, pretrained.model, pretrained.tokenizer, card, sampling=RECOMMENDED)
    size = sum(p.stat().st_size for p in TARGET.iterdir())
    print(f"bundled {run} into {TARGET} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/music-transformer-music21")
