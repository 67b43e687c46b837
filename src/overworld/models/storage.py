"""A self-describing model directory: ``config.json``, ``model.safetensors``, ``tokenizer.json``, ``README.md``,
and optionally ``generation_config.json``: the sampling settings the model's maker recommends (a
:class:`~overworld.config.SampleConfig`, Hugging Face's name for the same idea), which generation starts
from unless told otherwise.

``save_model`` writes each file to a temporary name beside it and ``os.replace``s it into place, the
config last, so a reader never sees a half-written file. ``load_model`` needs nothing but the directory.
The model card ``README.md`` is a Hugging Face model card: YAML metadata (``license``, ``library_name:
overworld``, ``tags``, ``pipeline_tag`` and overworld's own fields: data, steps, held-out loss), then the
same in prose. ``load_model`` returns the metadata as ``Pretrained.card``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from overworld.atomic import write_atomically
from overworld.config import ModelConfig, SampleConfig, config_from_dict, config_to_dict, read_config_file
from overworld.errors import ConfigError, DataError, OverworldError, one_line
from overworld.models.base import LanguageModel
from overworld.models.build import build_model

if TYPE_CHECKING:
    from overworld.tokenizers.base import Tokenizer

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "PIPELINE_TAG",
    "Pretrained",
    "load_model",
    "resolve_model_dir",
    "save_model",
]

log = logging.getLogger(__name__)

FORMAT = "overworld-model"
FORMAT_VERSION = 1
_FILES = ("config.json", "model.safetensors", "tokenizer.json")
GENERATION_FILE = "generation_config.json"


class Pretrained:
    """A loaded model directory: ``model`` (in eval mode), ``tokenizer``, ``config``, ``card``, ``path``
    and ``sampling``, the recommended :class:`SampleConfig` (the defaults where the directory has none).
    Generation takes it as its model (``overworld.generate(pretrained, ...)``, starting from ``sampling``);
    the model layer never calls generation (tests/test_architecture.py)."""

    def __init__(
        self,
        model: LanguageModel,
        tokenizer: Tokenizer,
        config: ModelConfig,
        card: dict,
        path: Path,
        sampling: SampleConfig | None = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.card = card
        self.path = path
        self.sampling = sampling or SampleConfig()

    def __repr__(self) -> str:
        return (
            f"Pretrained(path={str(self.path)!r}, model={self.config.model!r}, "
            f"parameters={self.model.num_parameters()})"
        )


def _canonical_state(model: LanguageModel) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The state dict without aliases of tied weights, and ``{alias: canonical name}``."""
    state: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple[int, int, tuple[int, ...]], str] = {}
    for name, tensor in model.state_dict().items():
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        if key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        state[name] = tensor
    return state, aliases


# The Hub lists models by pipeline tag, and none names symbolic music: "text-generation" would make the
# Hub's widget and ``transformers`` pipelines feed these models text, and "audio-to-audio" / "text-to-audio"
# promise sound in or out, while these models continue sequences of MIDI event tokens (from nothing or a
# primer). "other" is the Hub's tag for a task outside its list; the tags say what the model does.
PIPELINE_TAG = "other"
TAGS = ("overworld", "music", "midi", "symbolic-music", "music-generation", "video-game-music")
_DEFAULT_LICENCE_TEXT = (
    "The weights are derived from the training data listed above; check each source's licence "
    "before redistributing generated music."
)


def _render_card(card: Mapping[str, Any], config: ModelConfig, parameters: int) -> str:
    """The model card: Hugging Face metadata (``license``, ``library_name``, ``tags``, ``pipeline_tag`` and
    overworld's own fields) as YAML front matter, then a readable summary."""
    from huggingface_hub import ModelCard, ModelCardData

    data = {"parameters": parameters, "date": datetime.now(UTC).strftime("%Y-%m-%d"), **card}
    # "licence" (our old spelling) is prose about the data's licences; the Hub's "license" is an identifier
    given = {k: data.pop(k) for k in ("licence", "license_notes") if k in data}
    notes = str(given.get("licence", given.get("license_notes", _DEFAULT_LICENCE_TEXT)))
    kind = [config.model] + ([f"{config.attention}-attention"] if config.model == "music-transformer" else [])
    tags = list(dict.fromkeys([*TAGS, *kind, *data.pop("tags", [])]))
    metadata = ModelCardData(
        license=data.pop("license", "other"),  # the weights inherit the training data's mixed licences
        library_name=data.pop("library_name", "overworld"),
        pipeline_tag=data.pop("pipeline_tag", PIPELINE_TAG),
        tags=tags,
        license_notes=notes,
        **data,
    )
    lines = ["---", metadata.to_yaml(), "---", ""]
    lines.append(f"# {data.get('name', 'overworld model')}")
    lines.append("")
    lines.append(
        f"A `{config.model}` ({config.attention} attention)"
        if config.model == "music-transformer"
        else "An `lstm`"
    )
    lines[-1] += " trained with overworld to compose video-game music as MIDI."
    lines.append("")
    lines.append("| field | value |")
    lines.append("| --- | --- |")
    for key, value in sorted({**data, **({"licence": notes} if given else {})}.items()):
        text = json.dumps(value, default=str) if isinstance(value, dict | list | tuple) else str(value)
        lines.append(f"| {key} | {text.replace('|', '/').replace(chr(10), ' ')} |")
    lines.append("")
    lines.append("## Architecture")
    lines.append("")
    lines.append("```json")
    lines.append(json.dumps(config_to_dict(config), indent=1))
    lines.append("```")
    lines.append("")
    lines.append("## Licence")
    lines.append("")
    lines.append(notes)
    lines.append("")
    return str(ModelCard("\n".join(lines)))


def _read_card(path: Path) -> dict[str, Any]:
    """The metadata of a model card (its YAML front matter; older cards' JSON is YAML too), or ``{}``.

    A missing card or bad metadata is a warning (the card is prose for people); a README.md that is not
    text at all (binary, not UTF-8) is a :class:`DataError`: the folder holds something other than it says.
    """
    if not path.exists():
        log.warning("%s has no model card README.md", path.parent)
        return {}
    from huggingface_hub import ModelCard

    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:  # as ModelCard.load reads it
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise DataError(
            f"model card {path} is not text (byte {exc.start} is not UTF-8); replace or remove it"
        ) from exc
    except OSError as exc:
        raise DataError(f"cannot read model card {path}: {one_line(exc)}") from exc
    if "\x00" in text:
        raise DataError(f"model card {path} is not text (it holds NUL bytes); replace or remove it")
    try:
        card = ModelCard(text)
    except Exception as exc:  # yaml's errors and the hub's ValueError: bad metadata is not fatal
        log.warning("model card %s cannot be read: %s", path, one_line(exc))
        return {}
    data = card.data.to_dict()
    if not data:
        log.warning("model card %s has no metadata front matter", path)
    return data


def save_model(
    directory: str | Path,
    model: LanguageModel,
    tokenizer: Tokenizer,
    card: Mapping[str, Any] | None = None,
    sampling: SampleConfig | None = None,
) -> Path:
    """Write ``model`` with its ``tokenizer`` and model ``card`` to ``directory``; returns the directory.

    ``card`` holds what a reader should know: data, steps, best validation loss, licence notes, ...
    ``sampling``, when given, is written as ``generation_config.json``: the settings generation starts from.
    A model wrapped by ``torch.compile`` or ``DistributedDataParallel`` is unwrapped first.
    """
    from safetensors.torch import save_file

    for wrapper in ("_orig_mod", "module"):  # torch.compile, DistributedDataParallel
        if not isinstance(model, LanguageModel):
            model = getattr(model, wrapper, model)
    if not isinstance(model, LanguageModel):
        raise ConfigError(f"cannot save a {type(model).__name__}: it is not an overworld LanguageModel")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = model.config
    if config.vocab_size != tokenizer.vocab_size:
        raise ConfigError(
            f"model vocab_size {config.vocab_size} does not match the tokenizer's {tokenizer.vocab_size}"
        )
    state, aliases = _canonical_state(model)
    tensors = {name: tensor.detach().to("cpu").contiguous() for name, tensor in state.items()}
    metadata = {"format": FORMAT, "version": str(FORMAT_VERSION), "tied": json.dumps(aliases)}
    write_atomically(directory / "model.safetensors", lambda p: save_file(tensors, str(p), metadata=metadata))

    def write_tokenizer(path: Path) -> None:
        written = tokenizer.save(path)
        if Path(written) != path:  # a tokenizer that insisted on its own file name
            os.replace(written, path)

    write_atomically(directory / "tokenizer.json", write_tokenizer)
    if sampling is not None:
        sampling_text = json.dumps(config_to_dict(sampling), indent=1) + "\n"
        write_atomically(directory / GENERATION_FILE, lambda p: p.write_text(sampling_text, encoding="utf-8"))
    text = _render_card(card or {}, config, model.num_parameters())
    write_atomically(directory / "README.md", lambda p: p.write_text(text, encoding="utf-8"))
    config_text = json.dumps(
        {"format": FORMAT, "version": FORMAT_VERSION, **config_to_dict(config)}, indent=1
    )
    write_atomically(directory / "config.json", lambda p: p.write_text(config_text + "\n", encoding="utf-8"))
    log.info("saved model to %s", directory)
    return directory


def resolve_model_dir(path: str | Path = "default") -> Path:
    """The model directory ``path`` names: ``"default"`` is the bundled model; a run directory's
    ``model/`` subfolder is accepted too; ``user/name`` that is no local folder is a Hugging Face Hub model,
    fetched through huggingface_hub's cache (:mod:`overworld.models.hub`). Raises :class:`DataError` if
    there is none."""
    if str(path) == "default":
        bundled = Path(str(resources.files("overworld") / "assets" / "default"))
        if not (bundled / "config.json").is_file():
            raise DataError(
                "no bundled default model in overworld/assets/default yet; "
                "train one with `overworld train` and pass its directory"
            )
        return bundled
    directory = Path(path)
    if not directory.exists() and isinstance(path, str):
        from overworld.models import hub

        if hub.is_repo_id(path):  # a local folder of the same name wins
            directory = hub.download_model(path)
    if not directory.exists():
        raise DataError(f"model directory {directory} does not exist (nor is it a Hub repo id user/name)")
    if directory.is_file():
        directory = directory.parent
    if not (directory / "config.json").is_file() and (directory / "model" / "config.json").is_file():
        directory = directory / "model"
    missing = [name for name in _FILES if not (directory / name).is_file()]
    if missing:
        raise DataError(f"{directory} is not a model directory: missing {', '.join(missing)}")
    return directory


def _read_config(path: Path) -> ModelConfig:
    data = read_config_file(path)
    if data.pop("format", None) != FORMAT:
        raise ConfigError(f'{path} is not an overworld model config (no "format": "{FORMAT}")')
    version = data.pop("version", None)
    if version != FORMAT_VERSION:
        raise ConfigError(f"{path} has format version {version!r}; this overworld reads {FORMAT_VERSION}")
    return config_from_dict(ModelConfig, data)


def _read_tokenizer(path: Path) -> Tokenizer:
    """The tokenizer ``path`` describes; any reason it cannot be built is a one-line ConfigError naming it."""
    from overworld import tokenizers

    try:
        return tokenizers.load_tokenizer(path)
    except OverworldError as exc:
        reason = one_line(exc)
        if str(path) in reason:
            raise
        named = str(path) + reason[len(path.name) :] if reason.startswith(path.name) else f"{path}: {reason}"
        raise ConfigError(named) from exc
    except (TypeError, ValueError, KeyError) as exc:  # an option of the wrong type or range
        raise ConfigError(f"{path}: cannot build its tokenizer ({one_line(exc)})") from exc


def _read_sampling(path: Path) -> SampleConfig:
    """The recommended settings in ``path``; a bad one is a one-line ConfigError that names the file."""
    try:
        return config_from_dict(SampleConfig, read_config_file(path))
    except ConfigError as exc:
        if str(path) in str(exc):  # read_config_file names it already
            raise
        raise ConfigError(f"{path}: {one_line(exc)}") from exc


def _check_weights_fit(path: Path, config: ModelConfig, device: torch.device | str) -> None:
    """Before anything is allocated: the names and shapes in the weights' header are those of the model
    ``config`` describes (built on the meta device: no memory), and that model fits in what ``device`` has
    free. A tampered config.json within the parameter limit used to allocate gigabytes before failing."""
    from safetensors import SafetensorError, safe_open

    from overworld.devices import free_memory

    try:
        with safe_open(str(path), "pt") as handle:
            names = list(handle.keys())  # a safe_open handle is not iterable
            shapes = {name: tuple(handle.get_slice(name).get_shape()) for name in names}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise DataError(f"cannot read weights {path}: {one_line(exc)}") from exc
    with torch.device("meta"):
        expected = _weight_shapes(build_model(config))
    missing, unexpected = sorted(set(expected) - set(shapes)), sorted(set(shapes) - set(expected))
    if missing or unexpected:
        raise DataError(
            f"weights {path} do not fit the config: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    for name, shape in shapes.items():
        if shape != expected[name]:
            raise DataError(f"weights {path}: {name} has shape {shape}, the config needs {expected[name]}")
    need, free = 4 * config.num_parameters(), free_memory(device)
    if free is not None and need > 0.8 * free:
        raise ConfigError(
            f"{path.parent}: a model of {config.num_parameters():,} parameters needs about "
            f"{need / 2**30:.1f} GiB, more than {device} has free ({free / 2**30:.1f} GiB)"
        )


def _weight_shapes(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` of the state dict without the aliases of tied weights (as ``save_model`` writes
    it); aliases are the same Parameter object, which holds on the meta device too."""
    shapes: dict[str, tuple[int, ...]] = {}
    seen: set[int] = set()
    for name, tensor in model.state_dict(keep_vars=True).items():
        if id(tensor) not in seen:
            seen.add(id(tensor))
            shapes[name] = tuple(tensor.shape)
    return shapes


def _load_weights(path: Path, model: LanguageModel) -> None:
    """Load weights whose names and shapes :func:`_check_weights_fit` checked; each must be floating
    point (int64/bool were cast silently into nonsense weights) and finite."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise DataError(f"cannot read weights {path}: {one_line(exc)}") from exc
    for name, tensor in tensors.items():
        if not tensor.is_floating_point():
            raise DataError(f"weights {path}: {name} is {tensor.dtype}, not floating point")
        if not bool(torch.isfinite(tensor).all()):
            raise DataError(f"weights {path}: {name} holds NaN or infinite values; the model is broken")
    model.load_state_dict(tensors, strict=False)  # aliases of tied weights follow their canonical tensor


def load_model(path: str | Path = "default", *, device: torch.device | str = "cpu") -> Pretrained:
    """Load a model directory (or ``"default"``, the bundled model) into a :class:`Pretrained`.

    Raises :class:`ConfigError` for a bad config (unknown key, vocabulary mismatch with the tokenizer)
    and :class:`DataError` for missing or unreadable files.
    """
    directory = resolve_model_dir(path)
    config = _read_config(directory / "config.json")
    tokenizer = _read_tokenizer(directory / "tokenizer.json")
    if config.vocab_size != tokenizer.vocab_size:
        raise ConfigError(
            f"{directory}: config vocab_size {config.vocab_size} does not match the vocabulary of "
            f"{directory / 'tokenizer.json'} ({tokenizer.vocab_size})"
        )
    _check_weights_fit(directory / "model.safetensors", config, device)
    model = build_model(config)
    _load_weights(directory / "model.safetensors", model)
    model.to(device).eval()
    card = _read_card(directory / "README.md")
    sampling = None
    if (directory / GENERATION_FILE).is_file():
        sampling = _read_sampling(directory / GENERATION_FILE)
    log.info("loaded %s model (%d parameters) from %s", config.model, model.num_parameters(), directory)
    return Pretrained(
        model=model, tokenizer=tokenizer, config=config, card=card, path=directory, sampling=sampling
    )
