"""save_model / load_model round-trip exactly; bad files give one-line errors."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from overworld import tokenizers
from overworld.errors import ConfigError, DataError
from overworld.models.build import build_model
from overworld.models.storage import Pretrained, load_model, save_model
from overworld.tokenizers.base import Tokenizer


class FakeTokenizer(Tokenizer):
    """A stand-in with a fixed vocabulary size; only ``to_dict``/``save`` matter here."""

    name = "fake"

    def __init__(self, vocab_size: int = 13) -> None:
        self._vocab_size = vocab_size

    vocab_size = property(lambda self: self._vocab_size)
    pad_id = property(lambda self: 0)
    bos_id = property(lambda self: 1)
    eos_id = property(lambda self: 2)

    def encode(self, score: Any) -> np.ndarray:
        return np.zeros(0, dtype=np.int64)

    def decode(self, ids: Any) -> Any:
        return None

    def augment(self, ids: np.ndarray, transpose: int = 0, stretch: float = 1.0) -> np.ndarray:
        return ids

    def count_notes(self, ids: np.ndarray) -> int:
        return 0

    def seconds(self, ids: np.ndarray) -> float:
        return 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"type": "fake", "vocab_size": self._vocab_size}


def _fake_load_tokenizer(path: str | Path | dict) -> FakeTokenizer:
    data = path if isinstance(path, dict) else json.loads(Path(path).read_text(encoding="utf-8"))
    return FakeTokenizer(data["vocab_size"])


REAL_LOAD_TOKENIZER = tokenizers.load_tokenizer


@pytest.fixture(autouse=True)
def fake_tokenizers(monkeypatch):
    monkeypatch.setattr(tokenizers, "load_tokenizer", _fake_load_tokenizer, raising=False)


CARD = {"name": "tiny test model", "data": "none", "steps": 0, "best_validation_loss": 2.5}


@pytest.mark.parametrize("tied", [True, False])
def test_round_trip_gives_identical_logits(any_config, tmp_path, tied):
    config = dataclasses.replace(any_config, tie_embeddings=tied)
    model = build_model(config, seed=3).eval()
    directory = save_model(tmp_path / "model", model, FakeTokenizer(), CARD)
    assert sorted(p.name for p in directory.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
    ]
    loaded = load_model(directory)
    assert isinstance(loaded, Pretrained)
    assert loaded.config == config
    assert loaded.card["steps"] == 0 and loaded.card["parameters"] == model.num_parameters()
    ids = torch.randint(0, 13, (2, 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(loaded.model(ids), model(ids))
    if tied and config.model == "music-transformer":
        assert loaded.model.head.weight is loaded.model.embedding.weight


def test_the_model_card_is_a_hugging_face_card_with_valid_metadata(tiny_config, tmp_path):
    from huggingface_hub import ModelCard

    card = {**CARD, "licence": "trained on public-domain chorales | no restrictions"}
    save_model(tmp_path / "m", build_model(tiny_config), FakeTokenizer(), card)
    parsed = ModelCard.load(tmp_path / "m" / "README.md")
    meta = parsed.data.to_dict()
    assert meta["license"] == "other" and "licence" not in meta  # the Hub's key, an identifier
    assert meta["library_name"] == "overworld" and meta["pipeline_tag"] == "other"
    assert {"music", "midi", "symbolic-music", "music-transformer", "relative-attention"} <= set(meta["tags"])
    assert meta["license_notes"] == card["licence"] and meta["steps"] == 0 and meta["name"] == CARD["name"]
    assert "# tiny test model" in parsed.text and "## Licence" in parsed.text
    assert "| best_validation_loss | 2.5 |" in parsed.text
    assert load_model(tmp_path / "m").card == meta


def test_run_directory_resolves_to_its_model_folder(tiny_config, tmp_path):
    save_model(tmp_path / "run" / "model", build_model(tiny_config), FakeTokenizer(), CARD)
    assert load_model(tmp_path / "run").path == tmp_path / "run" / "model"


@pytest.fixture
def saved(tiny_config, tmp_path) -> Path:
    return save_model(tmp_path / "model", build_model(tiny_config), FakeTokenizer(), CARD)


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert message and "\n" not in message
    return message


def test_unknown_config_key_is_a_config_error(saved):
    data = json.loads((saved / "config.json").read_text())
    data["colour"] = "blue"
    (saved / "config.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError) as exc:
        load_model(saved)
    assert "colour" in _one_line(exc)


def test_recommended_sampling_round_trips_and_is_optional(tiny_config, tmp_path, saved):
    from overworld.config import SampleConfig

    sampling = SampleConfig(top_p=0.9, max_instruments=(4, 9), bpm=140.0, grid=4, instruments=(80, 128))
    path = save_model(
        tmp_path / "m",
        build_model(tiny_config),
        FakeTokenizer(tiny_config.vocab_size),
        CARD,
        sampling=sampling,
    )
    assert load_model(path).sampling == sampling
    assert not (saved / "generation_config.json").exists() and load_model(saved).sampling == SampleConfig()


def test_unknown_sampling_key_is_a_config_error(saved):
    (saved / "generation_config.json").write_text(json.dumps({"top_p": 0.9, "beam_width": 4}))
    with pytest.raises(ConfigError) as exc:
        load_model(saved)
    assert "beam_width" in _one_line(exc)


def test_vocabulary_mismatch_is_a_config_error(saved):
    (saved / "tokenizer.json").write_text(json.dumps({"type": "fake", "vocab_size": 99}))
    with pytest.raises(ConfigError) as exc:
        load_model(saved)
    assert "vocab_size" in _one_line(exc) and str(saved / "tokenizer.json") in _one_line(exc)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[1, 2]", "must hold an object, not list"),
        ('{"type": "performance", "vocab_size": 600}', "says vocab_size 600"),
        ('{"type": "performance", "max_note_seconds": "long"}', "max_note_seconds must be above 0"),
        ('{"type": "performance"}', "does not match"),  # 520 tokens, the model embeds 13
    ],
)
def test_a_bad_tokenizer_json_is_a_one_line_error_naming_it(saved, monkeypatch, text, reason):
    monkeypatch.setattr(tokenizers, "load_tokenizer", REAL_LOAD_TOKENIZER)
    (saved / "tokenizer.json").write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_model(saved)
    assert reason in _one_line(exc) and str(saved / "tokenizer.json") in _one_line(exc)


def _rewrite_weights(directory: Path, change: Any) -> None:
    """Replace each tensor of ``directory``'s weights by ``change(name, tensor)``, keeping the metadata."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    path = str(directory / "model.safetensors")
    with safe_open(path, "pt") as handle:
        metadata = handle.metadata()
    tensors = {name: change(name, tensor) for name, tensor in load_file(path).items()}
    save_file(tensors, path, metadata=metadata)


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.uint8])
def test_weights_that_are_not_floating_point_are_a_data_error(saved, dtype):
    _rewrite_weights(saved, lambda name, t: (t * 100).to(dtype))  # loading used to cast them silently
    with pytest.raises(DataError) as exc:
        load_model(saved)
    assert "model.safetensors" in _one_line(exc) and f"{dtype}, not floating point" in _one_line(exc)


def test_half_precision_weights_still_load(saved):
    _rewrite_weights(saved, lambda name, t: t.half())
    assert next(load_model(saved).model.parameters()).dtype == torch.float32


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_weights_are_a_data_error(saved, value):
    def poison(name: str, tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.clone()
        if name.startswith("embedding"):
            tensor.view(-1)[3] = value
        return tensor

    _rewrite_weights(saved, poison)
    with pytest.raises(DataError) as exc:
        load_model(saved)
    assert "model.safetensors: embedding.weight holds NaN or infinite values" in _one_line(exc)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00\x81 not a card", b"---\nname: x\n---\n\x00\x00\x00"])
def test_a_binary_model_card_is_a_data_error_naming_it(saved, content):
    (saved / "README.md").write_bytes(content)
    with pytest.raises(DataError) as exc:
        load_model(saved)
    assert str(saved / "README.md") in _one_line(exc) and "not text" in _one_line(exc)


def test_a_card_with_bad_metadata_only_warns(saved, caplog):
    (saved / "README.md").write_text("---\nname: [unclosed\n---\n# a card\n", encoding="utf-8")
    assert load_model(saved).card == {}
    assert "cannot be read" in caplog.text


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)], ids=oct)
def test_model_files_are_written_with_the_users_umask(tiny_config, tmp_path, umask, mode):
    from overworld.config import SampleConfig

    old = os.umask(umask)
    try:
        directory = save_model(
            tmp_path / "m", build_model(tiny_config), FakeTokenizer(), CARD, SampleConfig()
        )
    finally:
        os.umask(old)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()} == {
        name: mode
        for name in (
            "README.md",
            "config.json",
            "generation_config.json",
            "model.safetensors",
            "tokenizer.json",
        )
    }


def test_config_without_format_is_a_config_error(saved):
    data = json.loads((saved / "config.json").read_text())
    del data["format"]
    (saved / "config.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError):
        load_model(saved)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_bad_safetensors_is_a_data_error(saved, damage):
    weights = saved / "model.safetensors"
    content = weights.read_bytes()
    weights.write_bytes({"garbage": b"not safetensors", "truncated": content[:200], "empty": b""}[damage])
    with pytest.raises(DataError) as exc:
        load_model(saved)
    _one_line(exc)


def test_weights_of_another_architecture_are_a_data_error(saved, tiny_config, tmp_path):
    other = save_model(
        tmp_path / "other", build_model(dataclasses.replace(tiny_config, num_blocks=1)), FakeTokenizer(), {}
    )
    (saved / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())
    with pytest.raises(DataError) as exc:
        load_model(saved)
    _one_line(exc)


def test_a_config_json_grown_within_the_limit_is_refused_before_building(saved, monkeypatch):
    import overworld.models.storage as storage

    data = json.loads((saved / "config.json").read_text())
    data.update(embedding_size=8192, feed_forward_dim=32768)  # ~0.6 billion parameters, 2.4 GB to build
    (saved / "config.json").write_text(json.dumps(data))
    built = []

    def build(config, **kwargs):
        built.append(str(torch.empty(0).device))  # where the model's tensors would go
        return build_model(config, **kwargs)

    monkeypatch.setattr(storage, "build_model", build)
    with pytest.raises(
        DataError, match=r"model\.safetensors: [\w.]+ has shape \(.*16.*\), the config needs \(.*8192.*\)$"
    ):
        load_model(saved)
    assert built == ["meta"]  # built only where it takes no memory


def test_a_model_larger_than_free_memory_is_a_one_line_error(saved, monkeypatch):
    import overworld.devices

    monkeypatch.setattr(overworld.devices, "free_memory", lambda device: 1024)
    with pytest.raises(
        ConfigError, match=r"a model of [\d,]+ parameters needs about .* GiB, more than cpu has free"
    ):
        load_model(saved)


def test_missing_directory_and_missing_files_are_data_errors(saved, tmp_path):
    with pytest.raises(DataError):
        load_model(tmp_path / "nowhere")
    (saved / "model.safetensors").unlink()
    with pytest.raises(DataError) as exc:
        load_model(saved)
    assert "model.safetensors" in _one_line(exc)


def test_default_without_a_bundled_model_is_a_clear_data_error():
    from importlib import resources

    if (Path(str(resources.files("overworld"))) / "assets" / "default" / "config.json").is_file():
        pytest.skip("a default model is bundled")
    with pytest.raises(DataError) as exc:
        load_model("default")
    assert "default" in _one_line(exc)


def test_saving_with_a_mismatched_tokenizer_is_refused(tiny_config, tmp_path):
    with pytest.raises(ConfigError):
        save_model(tmp_path / "model", build_model(tiny_config), FakeTokenizer(vocab_size=5), {})


def test_save_leaves_no_temporary_files(saved):
    assert not [p for p in saved.iterdir() if p.name.startswith(".")]


def test_a_wrapped_model_is_saved_unwrapped(tiny_config, tmp_path):
    class Wrapper(torch.nn.Module):  # stands in for DistributedDataParallel
        def __init__(self, module: torch.nn.Module) -> None:
            super().__init__()
            self.module = module

    model = build_model(tiny_config).eval()
    directory = save_model(tmp_path / "model", Wrapper(model), FakeTokenizer(), CARD)
    ids = torch.zeros(1, 4, dtype=torch.long)
    with torch.no_grad():
        assert torch.equal(load_model(directory).model(ids), model(ids))
