"""Copy a trained model into the package as the bundled default, with a model card that records its data,
training and held-out results (docs/results/*.json from scripts/results.sh), and its recommended sampling
settings (generation_config.json, the settings scripts/results.sh samples the generated pieces with).

    python scripts/bundle_default.py runs/bars
    python scripts/bundle_default.py default     # refresh the bundled model's card and settings only
    python scripts/bundle_default.py runs/bars --settings-only   # only write RECOMMENDED into the run's model
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from overworld.config import SampleConfig
from overworld.generation.plans import PLANS_FILE
from overworld.models import load_model, save_model

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "overworld" / "assets" / "default"
# chosen on the 8 validation pieces, never the test pieces (scripts/choose_settings.sh on the bundled model, 10
# pieces of 16 bars each): top-p 0.95, one metre and tempo a piece, 4-9 instruments a piece (the training
# pieces' 10th to 90th percentile) and temperature 0.7: mean OA 0.793 and bar self-similarity 0.43 (0.797 and
# 0.32 at 0.8, 0.734 and 0.50 at 0.65, 0.725 and 0.54 at 0.6; the validation pieces' own: 0.63). A lower
# structure_temperature alone did not raise it (0.30-0.36 at 0.8 with 0.5-0.3). Checked again after the 2,000
# AHEAD steps (NUM=10 BARS=16): OA / self-similarity 0.743 / 0.40 at 0.8, 0.727 / 0.45 at 0.75, 0.738 / 0.54 at
# 0.7, 0.747 / 0.43 at 0.65: 0.7 kept. Again for the 2,048-token model: 0.755 / 0.55 at 0.7, 0.743 / 0.48 at 0.8,
# 0.743 / 0.55 at 0.9: 0.7 kept.
# Since arrangement plans (2026-12-02): the structure comes from a plan drawn from the training pieces, so the
# notes are sampled where their distributions are the music's. scripts/collapse.py on 8-10 pieces of 16 bars
# (training pieces first): notes at velocity >= 120 0.356 in the music, 0.782 at 0.7 without a plan, 0.586 /
# 0.360 / 0.334 with plans at 0.8 / 0.9 / 1.0; re-struck notes 0.225, 0.790, 0.541 / 0.464 / 0.231; top-p 0.9
# at 1.0 raised them again (0.536, 0.380). On the 8 validation pieces (scripts/realism_table.py, 10 pieces of 16
# bars, seed 11): realism AUC 0.931 at 1.0 and 0.880 at 0.9 (intervals 0.83-0.98 and 0.75-0.97), window medians
# within 25% of the pieces' 10 and 9 of 12, re-struck share 0.35 and 0.41 (the pieces' 0.17): 1.0, top-p off.
# Key focus (2026-12-08): a pitched note outside the scale the piece has settled in loses 1 logit. On the validation
# pieces (realism_table.py, 32 bars, seed 8 x 20 pieces and seed 7 x 10) focus 0 / 0.5 / 1 / 2 gave pitch-class
# entropy 3.06 / 2.82 / 2.63 / - and 2.76 / - / 2.51 / 2.40 bits (theirs 2.60), scale consistency 0.79 / 0.88 / 0.94
# / - and 0.87 / - / 0.95 / 0.97 (theirs 0.92), realism AUC 0.687 / 0.618 / 0.624 / - and 0.572 / - / 0.662 / 0.693
# (intervals about +-0.2): 1 brings the pitch statistics to the music's, the AUC within its noise.
RECOMMENDED = SampleConfig(
    top_p=1.0, temperature=1.0, max_instruments=(4, 9), steady=True, plan=True, key_focus=1.0
)
RESULTS = (
    "bars",
    "bars-5-midi",
    "bars-plain",
    "infill",
    "bigram",
    "bigram-5-midi",
    "statistics",
    "statistics-raw",
    "copying",
    "copy-test",
)
PREVIOUS_BITS_PER_NOTE = 12.56  # the previous bundled model (performance tokens) on the 5 MIDI test pieces


def main(run: str) -> None:
    pretrained = load_model(run)
    results = {}
    for name in RESULTS:
        path = ROOT / "docs" / "results" / f"{name}.json"
        if path.exists():
            results[name] = json.loads(path.read_text())
    card = dict(pretrained.card)
    card["name"] = "overworld default: a Music Transformer of free game music on bar tokens"
    card["licence"] = (
        "trained on Freedoom's music (BSD-3-Clause), OpenTTD's OpenMSX (GPL-2.0) and the tracker "
        "modules of Debian's game packages (GPL-1+, GPL-2+, GPL-3+, GPL-2, GPL-2 or GPL-3, LGPL-2.1, Zlib; see "
        "data/tracker/dataset.json); check these before shipping what it composes in a product"
    )
    card["training"] = (
        "bar tokens; continuation on the game music (configs/bars-music-transformer.json, RoPE "
        "attention, 1,024-token windows, 500 steps), then fine-tunes with windows teaching infilling "
        "(configs/bars-infill-finetune.json: 450 steps at --infill-rate 0.5, 350 at 0.75, then, "
        "with AHEAD tokens for parts that come back after a gap, 2,000 at 0.5; then at 2,048-token "
        "windows 1,600 at 0.5, best checkpoint step 200, and 1,500 at 0.7 with AHEAD k and one "
        "velocity per note, best checkpoint step 250); then 600 steps on the 61 tracker modules of fetch "
        "tracker (14 more: njam-data, circuslinux-data, penguin-command, ri-li-data) at --infill-rate 0.6, "
        "best checkpoint step 200; arrangement plans from the 130 training pieces of the 47-module set "
        "(chosen on the validation pieces); scripts/train_bundled.sh"
    )
    card.pop("pretrained_on", None)
    if Path(pretrained.path).resolve() != TARGET.resolve():  # refreshing the bundle keeps its training record
        card["training_command"] = "scripts/train_bundled.sh (CPU; --gpu for one GPU)"
    card["hardware"] = "2 CPU cores, no GPU (none was lent for this run)"
    card["reproduce"] = "scripts/train_bundled.sh, then scripts/results.sh"
    card.update(_results_for_card(results))
    plans = Path(pretrained.path) / PLANS_FILE  # the arrangement plans generation draws from
    if not plans.is_file():
        raise SystemExit(f"{plans} is missing: train writes it (or overworld.generation.plans.write_plans)")
    plans_text = plans.read_text(encoding="utf-8")
    if TARGET.exists():
        shutil.rmtree(TARGET)
    save_model(TARGET, pretrained.model, pretrained.tokenizer, card, sampling=RECOMMENDED)
    (TARGET / PLANS_FILE).write_text(plans_text, encoding="utf-8")
    size = sum(p.stat().st_size for p in TARGET.iterdir())
    print(f"bundled {run} into {TARGET} ({size / 1e6:.1f} MB)")


TEST_FIELDS = (
    "bits_per_token",
    "bits_per_note",
    "bits_per_second",
    "perplexity",
    "accuracy",
    "tokens",
    "notes",
)


def _results_for_card(results: dict[str, dict]) -> dict:
    """What the model card says of the results pages' figures (those that exist)."""
    out: dict = {}
    if "bars" in results:
        out["test"] = {k: results["bars"].get(k) for k in TEST_FIELDS}
    if "bars-5-midi" in results:
        out["test_bits_per_note_on_the_5_midi_test_pieces"] = results["bars-5-midi"]["bits_per_note"]
    out["previous_bundled_model_test_bits_per_note"] = PREVIOUS_BITS_PER_NOTE
    if "bigram" in results:
        out["baselines_test_bits_per_note"] = {"bigram": results["bigram"]["bits_per_note"]}
    if "bars-plain" in results:
        out["test_bits_per_note_before_the_infilling_fine_tune"] = results["bars-plain"]["bits_per_note"]
    if "infill" in results:
        out["infill_4_bar_gaps_bits_per_note"] = {
            "past_only": results["infill"]["bits_per_note_past_only"],
            "past_and_future": results["infill"]["bits_per_note_past_and_future"],
        }
    if "statistics" in results:
        oa = results["statistics"]["metrics"]["mean_overlapping_area"]
        out["sampling"] = (
            f"generation_config.json: arrangement plans drawn from the training pieces (plans.json), notes at "
            f"temperature {RECOMMENDED.temperature}, top-p {RECOMMENDED.top_p}, key focus {RECOMMENDED.key_focus}, "
            f"one metre and tempo; "
            f"20 pieces of 32 bars against the test pieces: mean Yang-Lerch OA {oa:.3f}"
        )
    return out


def write_settings(run: str) -> None:
    """Write RECOMMENDED as the run's generation_config.json, so scripts/results.sh samples with it."""
    from overworld.config import config_to_dict
    from overworld.models.storage import GENERATION_FILE, resolve_model_dir

    path = resolve_model_dir(run) / GENERATION_FILE
    path.write_text(json.dumps(config_to_dict(RECOMMENDED), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "runs/bars"
    write_settings(target) if "--settings-only" in sys.argv else main(target)
