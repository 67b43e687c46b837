"""Frozen configuration dataclasses, passed explicitly, with JSON and TOML input/output.

Every config reads from a mapping with ``from_dict``: an unknown key is an error that names it (unless the
caller lists it as known-but-ignored, as the Midinet ``parameters.json`` loader does for ``dataset``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from overworld.config.fields import check_types as _check_types
from overworld.config.sampling import SampleConfig
from overworld.errors import ConfigError, one_line

__all__ = [
    "ATTENTION_NAMES",
    "MAX_CONFIG_BYTES",
    "MAX_SEED",
    "MODEL_NAMES",
    "SYNTH_NAMES",
    "DataConfig",
    "ModelConfig",
    "SampleConfig",
    "TrainConfig",
    "check_seed",
    "config_from_dict",
    "config_to_dict",
    "configs_from_file",
    "read_config_file",
]

C = TypeVar("C")

# a seed is a whole number 0 .. 2**32 - 1 everywhere (CLI, Python, studio): what numpy's legacy seeding and
# every tool that stores seeds as uint32 take, so a seed written down is a seed any of them can replay
MAX_SEED = 2**32 - 1
MAX_CONFIG_BYTES = 1 << 20  # config.json, generation_config.json, a train --config: a few kB each in truth


def check_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` if it is a whole number 0 .. :data:`MAX_SEED`, else a one-line :class:`ConfigError`: the
    one place the range is written (CLI flags, configs, the studio's form all call this)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{name} must be a whole number from 0 to {MAX_SEED} (2**32 - 1), not {seed!r}")
    return seed


@dataclass(frozen=True)
class DataConfig:
    """How ``prepare`` turns MIDI files into token shards."""

    tokenizer: str = "bars"
    splits: tuple[float, float, float] = (0.90, 0.05, 0.05)  # train, validation, test
    workers: int = 0  # 0: one per core
    file_timeout_s: float = 20.0  # a file taking longer is recorded as failed
    file_memory_mb: int = 2048  # address-space limit of a parsing worker
    max_file_bytes: int = 64 * 1024 * 1024
    max_seconds: float = 3600.0  # longer pieces (giant delta times) are rejected

    def __post_init__(self) -> None:
        """Types and ranges, once for every caller (CLI, Python): ``workers`` -2 used to be accepted."""
        _check_types(self)
        name = type(self).__name__
        splits = self.splits
        if not (
            isinstance(splits, tuple)
            and len(splits) == 3
            and all(isinstance(f, int | float) and not isinstance(f, bool) for f in splits)
            and all(math.isfinite(f) and f >= 0 for f in splits)
            and sum(splits) > 0
        ):
            raise ConfigError(
                f"{name}.splits must be three shares at least 0 with a positive sum (train, validation, "
                f"test), not {splits!r}"
            )
        checks = (
            ("workers", 0 <= self.workers <= MAX_WORKERS, f"between 0 (one per core) and {MAX_WORKERS}"),
            ("file_timeout_s", self.file_timeout_s > 0, "above 0 seconds"),
            ("file_memory_mb", self.file_memory_mb >= 1, "at least 1"),
            ("max_file_bytes", self.max_file_bytes >= 1, "at least 1"),
            ("max_seconds", self.max_seconds > 0, "above 0 seconds"),
        )
        for field, ok, what in checks:
            if not ok:
                raise ConfigError(f"{name}.{field} must be {what}, not {getattr(self, field)!r}")


MAX_WORKERS = 256  # parsing processes at once, whatever the cores


# the names of models.build's registries (MODELS, ATTENTION; a test keeps them equal), here so that a
# config checks its names without importing the models that use it
MODEL_NAMES = ("music-transformer", "lstm")
ATTENTION_NAMES = ("relative", "rope", "alibi")
# the names of render's SYNTHS registry (a test keeps them equal), for the configs that name a synth
SYNTH_NAMES = ("soundfont", "chiptune")
MAX_PARAMETERS = 2_000_000_000  # a ModelConfig that would build more is refused before allocating
MAX_SEQUENCE_LENGTH = 65_536  # the attention of one window grows as its square


def _check_at_least(config: Any, low: int, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(config, name) < low:
            raise ConfigError(
                f"{type(config).__name__}.{name} must be at least {low}, not {getattr(config, name)}"
            )


@dataclass(frozen=True)
class ModelConfig:
    """The architecture. Names follow the seed project (Midinet's ``parameters.json``).

    A config checks itself when made (types, ranges, the registries' names, the parameters and window it
    would need): a bad one is a one-line :class:`ConfigError` before anything is allocated.
    """

    model: str = "music-transformer"  # a name in MODEL_NAMES (overworld.models.build.MODELS)
    attention: str = "relative"  # a name in ATTENTION_NAMES (music-transformer only)
    vocab_size: int = 0  # 0: taken from the tokenizer
    embedding_size: int = 256
    sequence_length: int = 512
    num_blocks: int = 4
    num_heads: int = 4
    feed_forward_dim: int = 1024
    dropout: float = 0.1  # on the embedding and each block's residual branches
    # on the attention weights: off by default, since any sends SDPA to its unfused kernel: a rope layer
    # trains 3.2x slower at 1,024 tokens and 4.2x at 2,048 on a CPU (benchmarks/bench_attention.py
    # --variants fused fused-dropout), the bundled model's 2,048-token fine-tuning 843 against 5,500 tokens/s
    attention_dropout: float = 0.0
    max_relative_distance: int = 0  # 0: sequence_length
    lstm_hidden_size: int = 512  # lstm only
    lstm_layers: int = 3  # lstm only
    tie_embeddings: bool = True  # output head shares the input embedding matrix (lstm: only if sizes match)

    def __post_init__(self) -> None:
        _check_types(self)
        for name, known in (("model", MODEL_NAMES), ("attention", ATTENTION_NAMES)):
            if getattr(self, name) not in known:
                raise ConfigError(f"unknown {name} {getattr(self, name)!r}; choose one of {', '.join(known)}")
        _check_at_least(self, 0, ("vocab_size", "max_relative_distance"))
        sizes = ("embedding_size", "sequence_length", "num_blocks", "num_heads", "feed_forward_dim")
        _check_at_least(self, 1, (*sizes, "lstm_hidden_size", "lstm_layers"))
        for name in ("dropout", "attention_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), not {getattr(self, name)}")
        if self.sequence_length > MAX_SEQUENCE_LENGTH:
            raise ConfigError(
                f"sequence_length {self.sequence_length} is over the {MAX_SEQUENCE_LENGTH} limit"
            )
        if self.model == "music-transformer":
            if self.embedding_size % self.num_heads:
                raise ConfigError(
                    f"embedding_size {self.embedding_size} is not divisible by num_heads {self.num_heads}"
                )
            if self.attention == "rope" and (self.embedding_size // self.num_heads) % 2:
                raise ConfigError("rope needs an even head dimension (embedding_size / num_heads)")
        if self.num_parameters() > MAX_PARAMETERS:
            raise ConfigError(
                f"this {self.model} would have {self.num_parameters():,} parameters, over the "
                f"{MAX_PARAMETERS:,} limit; make it smaller"
            )

    def sampling_bytes(self, batch: int, length: int, prefill: int = 1) -> int:
        """About how much memory (bytes) sampling ``batch`` pieces of ``length`` tokens takes beside the
        weights: the int64 token buffer, a step's float32 logits (masked, filtered, softmaxed), the cache
        (attention: keys and values of a window in every block, twice while a step appends to them; LSTM:
        its states), and feeding ``prefill`` primer tokens in chunks of half a window (scores and MLP)."""
        tokens, logits = batch * length * 8, 4 * batch * self.vocab_size * 4
        if self.model == "lstm":
            return tokens + logits + 2 * 2 * batch * self.lstm_layers * self.lstm_hidden_size * 4
        window, width = self.sequence_length, self.embedding_size
        cache = 2 * 2 * batch * self.num_blocks * window * width * 4
        chunk = min(max(prefill, 1), max(1, window // 2))
        scores = 4 * batch * self.num_heads * chunk * (window + chunk) * 4  # scores, mask, softmax, skew
        hidden = 4 * batch * chunk * max(width, self.feed_forward_dim) * 4
        return tokens + logits + cache + scores + hidden

    def scoring_bytes(self, batch: int) -> int:
        """About how much memory (bytes) one inference forward pass over ``batch`` full windows takes
        beside the weights: float32 logits three times over (logits, log-softmax, guesses), a block's
        attention scores (three ``(B, H, T, T)`` tensors) and its activations."""
        steps, width = self.sequence_length, self.embedding_size
        logits = 3 * batch * steps * self.vocab_size * 4
        if self.model == "lstm":
            return logits + 4 * batch * steps * max(width, self.lstm_hidden_size) * 4
        scores = 3 * batch * self.num_heads * steps * steps * 4
        return logits + scores + 4 * batch * steps * max(width, self.feed_forward_dim) * 4

    def num_parameters(self) -> int:
        """How many parameters the model built from this config has (tied weights counted once)."""
        v, c = self.vocab_size, self.embedding_size
        if self.model == "lstm":
            n = self.lstm_hidden_size
            layers = sum(4 * n * ((c if i == 0 else n) + n) + 8 * n for i in range(self.lstm_layers))
            tied = self.tie_embeddings and n == c
            return v * c + layers + (0 if tied else n * v)
        f = self.feed_forward_dim
        relative = (
            (self.max_relative_distance or self.sequence_length) * c if self.attention == "relative" else 0
        )
        block = 4 * c * c + 4 * c + relative + 2 * c * f + f + c + 4 * c  # attention, MLP, two LayerNorms
        return v * c + self.num_blocks * block + 2 * c + (0 if self.tie_embeddings else v * c)


@dataclass(frozen=True)
class TrainConfig:
    """The optimisation. ``steps`` is the run's total, so a resumed run trains up to it."""

    steps: int = 2000
    batch_size: int = 16
    learning_rate: float = 3e-4
    min_learning_rate_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    grad_accumulation: int = 1
    eval_every: int = 100
    eval_batches: int = 0  # 0: the whole validation split
    log_every: int = 10
    save_every: int = 100
    patience: int = 0  # evaluations without improvement before stopping; 0: never stop early
    seed: int = 0
    device: str = "auto"  # auto: cuda, then mps, then cpu
    amp: bool = True  # bf16 autocast on CUDA
    compile: bool = False
    augment_transpose: int = 3  # semitones up or down, pitched notes only
    augment_stretch: float = 0.05  # tempo stretch of up to +-5%
    infill_rate: float = 0.0  # share of windows that teach filling a gap from both sides (bar tokens)
    num_workers: int = 0

    def __post_init__(self) -> None:
        _check_types(self)
        _check_at_least(
            self, 1, ("steps", "batch_size", "grad_accumulation", "eval_every", "log_every", "save_every")
        )
        _check_at_least(
            self, 0, ("warmup_steps", "eval_batches", "patience", "augment_transpose", "num_workers")
        )
        check_seed(self.seed, "TrainConfig.seed")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be positive, not {self.learning_rate}")
        for name in ("weight_decay", "grad_clip"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be at least 0, not {getattr(self, name)}")
        if not 0.0 <= self.min_learning_rate_ratio <= 1.0:
            raise ConfigError(
                f"min_learning_rate_ratio must be in [0, 1], not {self.min_learning_rate_ratio}"
            )
        if not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"betas must both be in [0, 1), not {self.betas}")
        if not 0.0 <= self.augment_stretch < 1.0:
            raise ConfigError(f"augment_stretch must be in [0, 1), not {self.augment_stretch}")
        if not 0.0 <= self.infill_rate <= 1.0:
            raise ConfigError(f"infill_rate must be in [0, 1], not {self.infill_rate}")


def _coerce(tp: Any, value: Any, name: str) -> Any:
    text = str(tp)
    if "tuple" in text and isinstance(value, list):
        return tuple(value)
    if tp in (float, "float") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def config_from_dict(cls: type[C], data: Mapping[str, Any], ignore: tuple[str, ...] = ()) -> C:
    """Build ``cls`` from ``data``; an unknown key raises :class:`ConfigError` naming it."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {}
    for key, value in data.items():
        if key in ignore:
            continue
        if key not in fields:
            raise ConfigError(f"unknown key {key!r} for {cls.__name__}; known keys: {', '.join(fields)}")
        kwargs[key] = _coerce(fields[key].type, value, key)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{cls.__name__}: {exc}") from exc


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def read_config_file(path: str | Path, max_bytes: int = MAX_CONFIG_BYTES) -> dict[str, Any]:
    """Read a JSON or TOML file into a dict; a parse error names the file, and so does one over
    ``max_bytes``, refused before it is read (a 300 MB config.json took 832 MB to parse)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ConfigError(
                f"config {path} is {size:,} bytes, over the {max_bytes:,} a config may have; is it the right file?"
            )
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            return tomllib.loads(text)
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"cannot read config {path}: {one_line(exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must hold an object, not {type(data).__name__}")
    return data


# keys of the seed project's flat Midinet parameters.json that no overworld config has: read, not used
MIDINET_IGNORED = ("dataset",)
SECTIONS = ("model", "train")  # the sections of our own config file shape


def configs_from_file(path: str | Path) -> tuple[ModelConfig, TrainConfig, tuple[str, ...]]:
    """Model and training configs from a JSON/TOML file; returns them and the keys it ignored.

    Two shapes are read. Ours: ``{"model": {...}, "train": {...}}``, where an unknown section or key is an
    error naming it (a misspelled ``"trian"`` used to start a default run). The seed project's flat Midinet
    ``parameters.json`` (``vocab_size``, ``embedding_size``, ``sequence_length``, ``num_blocks``,
    ``num_heads``, ``feed_forward_dim``, ``dropout``, ``learning_rate``, ``batch_size``): each key goes to
    the config that has it; ``dataset`` is returned as ignored, for the caller to report; any other key is
    an error naming it.
    """
    data = read_config_file(path)
    if any(isinstance(v, dict) for v in data.values()) or set(data) & set(SECTIONS):
        unknown = [key for key in data if key not in SECTIONS]
        if unknown:
            raise ConfigError(
                f"{path}: unknown section {unknown[0]!r}; a config file has {' and '.join(SECTIONS)}"
            )
        for key in SECTIONS:
            if not isinstance(data.get(key, {}), dict):
                raise ConfigError(f"{path}: section {key!r} must hold an object, not {data[key]!r}")
        return (
            _named(path, ModelConfig, data.get("model", {})),
            _named(path, TrainConfig, data.get("train", {})),
            (),
        )
    model_keys = {f.name for f in dataclasses.fields(ModelConfig)}
    train_keys = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = [k for k in data if k not in model_keys | train_keys | set(MIDINET_IGNORED)]
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}; a flat parameters.json holds ModelConfig and TrainConfig keys"
        )
    model = {k: v for k, v in data.items() if k in model_keys}
    train = {k: v for k, v in data.items() if k in train_keys and k not in model_keys}
    ignored = tuple(sorted(k for k in data if k in MIDINET_IGNORED))
    return _named(path, ModelConfig, model), _named(path, TrainConfig, train), ignored


def _named(path: str | Path, cls: type[C], data: Mapping[str, Any]) -> C:
    """:func:`config_from_dict` whose error names the file it came from."""
    try:
        return config_from_dict(cls, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {one_line(exc)}") from exc
