"""plot refuses sizes, pixel counts, extensions and sources it cannot use, in one line, before plotting."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--dpi", "0"], "--dpi must be between 1 and 2400, not 0"),
        (["--dpi", "-5"], "--dpi must be between 1 and 2400, not -5"),
        (["--height", "nan"], "--height must be above 0 and at most 1000 inches, not nan"),
        (["--width", "0"], "--width must be above 0 and at most 1000 inches, not 0.0"),
        (["--width", "100000", "--dpi", "1000"], "--width must be above 0 and at most 1000 inches"),
        (["--width", "500", "--dpi", "1000"], "500,000 x 6,000 pixels, over the cap"),
        (["--width", "200", "--height", "200", "--dpi", "100"], "20,000 x 20,000 pixels, over the cap"),
    ],
)
def test_sizes_that_make_no_picture_are_one_line(no_work, error_of, tune, flags, says):
    assert says in error_of(["plot", tune, *flags])


def test_an_unknown_extension_or_unwritable_out_is_named(no_work, error_of, tune, tmp_path):
    assert f"--out {tmp_path / 'p.xyz'}: cannot write '.xyz' files; use " in error_of(
        ["plot", tune, "--out", tmp_path / "p.xyz"]
    )
    assert "--out /proc/nope/p.png: cannot make /proc/nope" in error_of(
        ["plot", tune, "--out", "/proc/nope/p.png"]
    )


def test_a_missing_source_names_its_path(no_work, error_of, tmp_path):
    missing = tmp_path / "nope.mid"
    assert error_of(["plot", missing]) == f"overworld plot: error: MIDI file {missing} does not exist"
