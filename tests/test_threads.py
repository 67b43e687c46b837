"""CPU threads: --threads, then OVERWORLD_THREADS, then OMP_NUM_THREADS, then the size of the work."""

from __future__ import annotations

import os

import pytest

from overworld.cli import main
from overworld.errors import ConfigError
from overworld.threads import ENV, WORK_PER_THREAD, auto_threads, choose_threads, resolve_threads


def _resolve(flag=None, env=None, **work):
    choice = resolve_threads(flag, env=env or {}, cores=work.pop("cores", 8), **work)
    return choice.threads, choice.source


def test_sampling_a_small_model_one_piece_at_a_time_takes_one_thread():
    assert _resolve(batch=1, parameters=1_900_000) == (1, "auto")
    assert _resolve(batch=1) == (1, "auto")  # model not known yet: counted as a small one


def test_big_batches_and_big_models_add_threads_up_to_the_cores():
    assert _resolve(batch=1, parameters=WORK_PER_THREAD + 1) == (2, "auto")
    assert _resolve(batch=64, parameters=2_000_000) == (2, "auto")  # 128 M: two threads' work
    assert _resolve(batch=4096, parameters=100_000_000, cores=6) == (6, "auto")
    assert _resolve(training=True, cores=6) == (6, "auto")
    assert auto_threads(0) == 1  # a machine that reports no cores still gets one thread


def test_the_flag_wins_then_overworld_threads_then_omp_num_threads():
    env = {ENV: "3", "OMP_NUM_THREADS": "5"}
    assert _resolve("2", env, training=True) == (2, "--threads")
    assert _resolve(None, env, training=True) == (3, ENV)
    assert _resolve(None, {"OMP_NUM_THREADS": "5"}) == (5, "OMP_NUM_THREADS")
    assert _resolve(None, {"OMP_NUM_THREADS": "4,2"}) == (4, "OMP_NUM_THREADS")  # OpenMP's nested list
    assert _resolve(None, {ENV: "", "OMP_NUM_THREADS": ""}) == (1, "auto")  # empty: unset
    # auto asks for the automatic choice, past any variable
    assert _resolve("auto", env) == (1, "auto")
    assert _resolve(None, {ENV: "auto", "OMP_NUM_THREADS": "5"}) == (1, "auto")
    # a number past the cores is the user's to give
    assert _resolve("16", cores=2) == (16, "--threads")


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5", "1025", " "])
def test_a_bad_flag_is_a_one_line_error_naming_the_flag(bad):
    with pytest.raises(
        ConfigError, match=r"^--threads must be a whole number of threads from 1 to 1024"
    ) as e:
        resolve_threads(bad, env={}, cores=2)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5", "1025"])
def test_a_bad_variable_is_a_one_line_error_naming_the_variable(bad):
    with pytest.raises(ConfigError, match=rf"^{ENV} must be a whole number .* not {bad!r}$"):
        resolve_threads(None, env={ENV: bad, "OMP_NUM_THREADS": "2"}, cores=2)


def test_an_openmp_value_openmp_would_not_take_is_left_to_openmp():
    assert _resolve(None, {"OMP_NUM_THREADS": "lots"}) == (1, "auto")


def test_choose_threads_sets_torchs_threads_and_returns_them(monkeypatch):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    try:
        monkeypatch.setenv(ENV, "1")
        assert choose_threads(training=True) == 1 == torch.get_num_threads()
        monkeypatch.delenv(ENV)
        assert choose_threads(batch=1, parameters=1_000) == 1 == torch.get_num_threads()
        with pytest.raises(ConfigError, match=f"^{ENV} must be"):
            monkeypatch.setenv(ENV, "many")
            choose_threads()
    finally:
        torch.set_num_threads(before)


def test_cli_rejects_a_bad_count_before_any_work(capsys, monkeypatch, tmp_path):
    with pytest.raises(SystemExit):
        main(["--threads", "0", "compose", "--out", str(tmp_path / "x.mid")])
    assert "argument --threads: must be a whole number" in capsys.readouterr().err
    monkeypatch.setenv(ENV, "nope")
    assert main(["compose", "--bars", "1", "--out", str(tmp_path / "x.mid")]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip() == f"overworld compose: error: {ENV} must be a whole number of threads from 1 to 1024 "
        "or 'auto', not 'nope'"
    )
    assert not (tmp_path / "x.mid").exists()


def test_cli_flag_after_the_verb_reaches_the_verb_and_is_not_left_in_the_environment(monkeypatch):
    torch = pytest.importorskip("torch")
    import overworld.cli.compose as compose

    seen = {}

    def run(args):
        seen.update(threads=torch.get_num_threads(), env=os.environ.get(ENV))
        return 0

    before = torch.get_num_threads()
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(compose, "run", run)
    try:
        assert main(["compose", "--threads", "2", "--bars", "1"]) == 0
        assert seen == {"threads": 2, "env": "2"}
        assert main(["--threads", "1", "compose", "--bars", "1"]) == 0
        assert seen == {"threads": 1, "env": "1"}
    finally:
        torch.set_num_threads(before)
    assert ENV not in os.environ
