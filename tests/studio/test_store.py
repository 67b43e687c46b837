"""Takes and jobs are kept on disk and bounded in memory: a studio started again on the same work folder
shows and regenerates the takes of the one before; a take that fails to write leaves nothing; the
memory holds no scores and at most a few takes and jobs."""

from __future__ import annotations

import io
import json
import time
import zipfile

import mido
import pytest
from tests.studio.conftest import SR

from overworld.errors import ConfigError
from overworld.studio import forms, store
from overworld.studio.jobs import MAX_JOBS, Jobs
from overworld.studio.session import Studio
from overworld.studio.store import TakeStore


@pytest.fixture(scope="module")
def first_session(bar_model, tmp_path_factory):
    """A studio's work folder after two takes: one composed (a loop) and one with bar 2 regenerated."""
    workdir = tmp_path_factory.mktemp("work")
    studio = Studio(bar_model, workdir, model_name="tiny", sample_rate=SR)
    config = forms.compose_config({"bars": "3", "loop": "on", "key": "E minor"}, sample_rate=SR)
    composed = studio.compose(config, studio.sampling({}), 9)[0]
    studio.regenerate(composed.id, (2, 2), seed=4)
    return workdir, [t.describe() for t in studio.history()], studio.roll(composed.id)


def _notes(path, keep):
    midi = mido.MidiFile(path)
    out = []
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity and keep(tick):
                out.append((tick, msg.channel, msg.note, msg.velocity))
    return sorted(out)


def test_a_restarted_studio_shows_and_regenerates_the_takes_before(bar_model, first_session):
    workdir, before, roll = first_session
    studio = Studio(bar_model, workdir, model_name="tiny", sample_rate=SR)  # the studio started again
    assert [t.describe() for t in studio.history()] == before
    assert [t["id"] for t in before] == [1, 2] and before[1]["parent"] == 1 and before[0]["key"] == "E minor"
    assert studio.roll(1) == roll
    new = studio.regenerate(1, (3, 3), seed=2)
    assert new.id == 3 and new.composition.loop == (0, 3)  # still the loop it was
    outside = lambda tick: tick < 2 * 1920  # noqa: E731  bars 1 and 2 of 4/4 at 480 a quarter
    assert _notes(new.folder / "piece.mid", outside) == _notes(workdir / "take-1" / "piece.mid", outside)
    assert json.loads((new.folder / "piece.json").read_text())["loop"] is not None
    names = zipfile.ZipFile(io.BytesIO(studio.zip(1))).namelist()
    assert "overworld-take-1/piece.mid" in names and not any(store.RECORD in n for n in names)


def test_a_take_holds_no_score(first_session, bar_model):
    studio = Studio(bar_model, first_session[0], sample_rate=SR)
    take = studio.take(1)
    assert take.composition.score is None and not hasattr(take, "score")
    assert sum(len(t.notes) for t in take.load_score().tracks) > 0  # read from piece.mid when needed


def _write_small(take_id, partial, folder):
    from overworld.config import SampleConfig
    from overworld.studio.takes import Take

    partial.mkdir()
    (partial / "piece.json").write_text("{}")
    return Take(
        id=take_id,
        label=f"small {take_id}",
        folder=folder,
        bar_lines=(0.0, 2.0),
        seconds=2.0,
        key=None,
        bpm=None,
        composition=None,
        config=None,
        sampling=SampleConfig(),
        seed=take_id,
    )


def test_memory_holds_a_few_takes_and_the_disk_all(tmp_path):
    takes = TakeStore(tmp_path)
    for _ in range(store.CACHE * 3):
        takes.add(_write_small)
    assert len(takes._cache) == store.CACHE
    again = TakeStore(tmp_path)
    assert [t.label for t in again.takes()] == [f"small {i}" for i in range(1, store.CACHE * 3 + 1)]
    assert len(again._cache) == store.CACHE


def test_a_failed_or_interrupted_take_leaves_nothing(tmp_path):
    takes = TakeStore(tmp_path)
    takes.add(_write_small)

    def fails(take_id, partial, folder):
        partial.mkdir()
        (partial / "piece.mid").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        takes.add(fails)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take-1"]
    (tmp_path / ".take-7.partial").mkdir()  # a studio stopped while writing take 7
    again = TakeStore(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take-1"] and again.add(_write_small).id == 8
    with pytest.raises(ConfigError, match=r"^there is no take 5$"):
        again.get(5)


def test_jobs_are_bounded():
    jobs = Jobs()
    made = [jobs.submit(lambda progress: []) for _ in range(MAX_JOBS * 2)]
    deadline = time.monotonic() + 20
    while made[-1].state != "done" and time.monotonic() < deadline:
        time.sleep(0.01)
    jobs.submit(lambda progress: [])
    assert len(jobs._jobs) <= MAX_JOBS and jobs.get(made[-1].id) is made[-1] and jobs.get(made[0].id) is None
    jobs.close()


@pytest.mark.parametrize(
    "fields, says",
    [
        (
            {"seed": "9223372036854775807"},
            "seed must be a whole number from 0 to 4294967295 (2**32 - 1), not 9223372036854775807",
        ),
        ({"seed": "-1"}, "seed must be a whole number from 0 to 4294967295"),
        (
            {"seed": "9" * 5000},
            "seed must be a whole number, not '9999999999999999999999999999999999999999...'",
        ),
    ],
)
def test_a_seed_outside_numpys_range_is_one_line(fields, says):
    with pytest.raises(ConfigError) as err:
        forms.seed_of(fields)
    assert str(err.value).startswith(says) and "\n" not in str(err.value) and len(str(err.value)) < 200


def test_the_largest_seed_composes(bar_model, tmp_path):
    studio = Studio(bar_model, tmp_path, sample_rate=SR)
    take = studio.compose(
        forms.compose_config({"bars": "1"}, sample_rate=SR), studio.sampling({}), 2**32 - 1
    )[0]
    assert forms.seed_of({"seed": str(2**32 - 1)}) == take.seed == 2**32 - 1


@pytest.mark.parametrize("key", ["C" + "#" * 500, "Cbbb minor", "C" + "#" * 500 + " minor"])
def test_a_key_of_many_sharps_is_one_line(key):
    with pytest.raises(ConfigError) as err:
        forms.compose_config({"key": key}, sample_rate=SR)
    assert (
        str(err.value).startswith("unknown key") and "\n" not in str(err.value) and len(str(err.value)) < 250
    )
