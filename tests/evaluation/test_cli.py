"""``overworld evaluate``: each mode prints a table, writes JSON, and fails in one line on bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from overworld.cli import main


def test_model_and_bigram_json(tmp_path, prepared, tiny_model, capsys):
    from overworld.evaluation.likelihood import evaluate_model
    from overworld.models.storage import save_model
    from overworld.tokenizers import make_tokenizer

    tok = make_tokenizer("performance")
    model_dir = save_model(tmp_path / "model", tiny_model, tok, {"data": "test fixture"})
    out = tmp_path / "model.json"
    assert main(["evaluate", "--model", str(model_dir), "--data", str(prepared), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    keys = {
        "bits_per_token",
        "bits_per_note",
        "bits_per_second",
        "perplexity",
        "accuracy",
        "tokens",
        "notes",
        "seconds",
    }
    assert keys <= set(data)
    expected = evaluate_model(tiny_model, tok, prepared, "test")
    assert data["bits_per_token"] == pytest.approx(expected.bits_per_token, rel=1e-5)
    assert "bits_per_token" in capsys.readouterr().out
    assert (
        main(
            [
                "evaluate",
                "--model",
                "bigram",
                "--data",
                str(prepared),
                "--split",
                "validation",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    assert keys <= set(json.loads(out.read_text()))


def test_generated_vs_reference_and_train(tmp_path, melody, make_prepared, capsys):
    from overworld.tokenizers import make_tokenizer

    rng = np.random.default_rng(0)
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    gen.mkdir()
    ref.mkdir()
    train_scores = [melody(rng.integers(50, 80, 40)) for _ in range(3)]
    for i, s in enumerate(train_scores):
        s.dump_midi(str(ref / f"r{i}.mid"))
        melody(rng.integers(50, 80, 40), step=0.5).dump_midi(str(gen / f"g{i}.mid"))
    (gen / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    tok = make_tokenizer("performance")
    prepared = make_prepared(tmp_path / "prep", {"train": [tok.encode(s) for s in train_scores]})
    out = tmp_path / "music.json"
    argv = [
        "evaluate",
        "--generated",
        str(gen),
        "--reference",
        str(ref),
        "--train",
        str(prepared),
        "--json",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "mean OA" in printed and "pitch_class_entropy" in printed and "corrupt.mid" in printed
    data = json.loads(out.read_text())
    assert 0 <= data["metrics"]["mean_overlapping_area"] <= 1
    assert data["copying"]["longest_run"] == 0


def test_bad_input_is_one_line(tmp_path, prepared, capsys):
    assert main(["evaluate", "--model", "bigram", "--data", str(tmp_path / "missing")]) == 2
    assert main(["evaluate", "--generated", str(tmp_path), "--reference", str(tmp_path)]) == 2
    assert main(["evaluate"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("overworld evaluate: error:") for line in lines)


@pytest.mark.parametrize("damage", ["missing", "corrupt", "a list"])
@pytest.mark.parametrize("model", ["bigram", "tiny"])
def test_a_folder_with_a_missing_or_damaged_manifest_prints_no_scores(
    tmp_path, prepared, tiny_model, capsys, damage, model
):
    from overworld.models.storage import save_model
    from overworld.tokenizers import make_tokenizer

    if model == "tiny":
        model = str(
            save_model(tmp_path / "model", tiny_model, make_tokenizer("performance"), {"data": "test"})
        )
    manifest = prepared / "manifest.json"
    manifest.unlink() if damage == "missing" else manifest.write_text(
        "{oops" if damage == "corrupt" else "[1]"
    )
    assert main(["evaluate", "--model", model, "--data", str(prepared)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("overworld evaluate: error: ")
    assert "manifest.json" in err


@pytest.mark.parametrize(
    ("flags", "reason"),
    [(["--stride", "-4"], "stride must be 0"), (["--batch-size", "0"], "batch size must be between 1")],
)
def test_sizes_out_of_range_are_one_line(tmp_path, prepared, tiny_model, capsys, flags, reason):
    from overworld.models.storage import save_model
    from overworld.tokenizers import make_tokenizer

    model = save_model(tmp_path / "model", tiny_model, make_tokenizer("performance"), {"data": "test"})
    assert main(["evaluate", "--model", str(model), "--data", str(prepared), *flags]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith(f"overworld evaluate: error: {reason}")
