"""The render and plot verbs: defaults beside the input, one-line errors with exit status 2."""

from __future__ import annotations

import struct

from overworld.cli import main


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _metrics(run):
    run.mkdir(parents=True)
    (run / "metrics.csv").write_text(
        "step,train_loss,train_accuracy,val_loss,val_accuracy\n1,5.0,0.1,,\n2,4.0,0.2,4.5,0.15\n"
    )
    return run


def test_render_errors_are_one_line_with_exit_2_and_the_good_files_still_render(
    tmp_path, c_major_score, capsys
):
    from overworld.midi import write_score

    mid = write_score(c_major_score, tmp_path / "song.mid")
    (tmp_path / "bad.mid").write_bytes(b"<html>")
    argv = [
        "render",
        str(mid),
        str(tmp_path / "bad.mid"),
        "--synth",
        "chiptune",
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(argv) == 2
    assert (tmp_path / "o" / "song.wav").exists()  # the good file is rendered despite the bad one
    captured = capsys.readouterr()
    assert captured.out.strip() == f"{mid} -> {tmp_path / 'o' / 'song.wav'}"
    [line] = captured.err.strip().splitlines()
    assert line.startswith(f"overworld render: error: {tmp_path / 'bad.mid'}: ") and "not a MIDI file" in line
    assert main(["render", str(tmp_path / "missing.mid")]) == 2  # a missing file is the same one line
    assert capsys.readouterr().err.startswith("overworld render: error:")


def test_plot_writes_beside_its_input_without_out(tmp_path, c_major_score, capsys):
    from overworld.midi import write_score

    mid = write_score(c_major_score, tmp_path / "song.mid")
    assert main(["plot", str(mid)]) == 0
    assert png_size(tmp_path / "song.png") == (1200, 600)
    assert main(["plot", str(mid), "--out", str(tmp_path / "roll.png"), "--width", "8", "--dpi", "50"]) == 0
    assert png_size(tmp_path / "roll.png") == (400, 300)
    assert main(["plot", str(_metrics(tmp_path / "runs" / "a"))]) == 0
    assert (tmp_path / "runs" / "a.png").exists()
    # several runs overlaid: beside the first, named by the runs (it needed --out)
    assert main(["plot", str(tmp_path / "runs" / "a"), str(_metrics(tmp_path / "runs" / "b"))]) == 0
    assert (tmp_path / "runs" / "a-vs-b.png").exists()
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"wrote {tmp_path / 'runs' / 'a-vs-b.png'}"


def test_absurd_sample_rates_and_lengths_are_one_line(tmp_path, c_major_score, capsys):
    from overworld.midi import write_score

    mid = write_score(c_major_score, tmp_path / "song.mid")
    for flags in (["--sample-rate", "0"], ["--max-seconds", "nan"], ["--max-seconds", "-1"]):
        assert main(["render", str(mid), "--synth", "chiptune", *flags, "--out", str(tmp_path / "o")]) == 2
        [line] = capsys.readouterr().err.strip().splitlines()
        assert line.startswith("overworld render: error:") and (
            "sample rate" in line or "max_seconds" in line
        )
