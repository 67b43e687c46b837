"""Sharing a model folder on the Hugging Face Hub: :func:`push_model` uploads the folder's files (never
training state) with the card :func:`model_card` makes, whose metadata the Hub reads: ``library_name:
overworld``, tags, ``license`` (with ``license_name`` / ``license_link`` when it is ``other``) and
``datasets`` when known. Pulling is :mod:`overworld.models.hub`'s, below the folder reader
(:mod:`overworld.models.storage`); pushing reads the folder, so it sits above both.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from overworld.errors import DataError
from overworld.models.hub import HUB_FILES, HubError, _check_repo_id, _is_hub_error, _reason

__all__ = ["model_card", "push_model"]

log = logging.getLogger(__name__)

HUB_TAGS = ("overworld", "music", "midi", "symbolic-music", "music-generation")
LICENSE_FILE = "LICENSE.md"  # the card's licence notes, linked from its metadata when the licence is "other"


def model_card(directory: str | Path, datasets: Sequence[str] = ()) -> tuple[str, str | None]:
    """The model card of ``directory`` ready for the Hub, and the licence file it links (or None).

    The folder's own card is kept, prose included; its metadata gains what the Hub reads:
    ``library_name: overworld``, the tags ``music-generation`` and ``midi`` (and overworld's others),
    ``license`` (``other`` with a ``license_name`` and a ``license_link`` to ``LICENSE.md``, which holds
    the card's licence notes, when the weights inherit mixed licences) and ``datasets`` (Hub dataset ids:
    the card's own plus ``datasets``). A folder without a card, or with unreadable metadata, gets the card
    ``save_model`` writes.
    """
    from huggingface_hub import ModelCard

    from overworld.models.storage import _read_card, _read_config, _render_card

    directory = Path(directory)
    path = directory / "README.md"
    metadata = _read_card(path)
    if metadata:
        card = ModelCard(path.read_text(encoding="utf-8-sig"))
    else:  # no card, or no metadata: write the one save_model would have written
        config = _read_config(directory / "config.json")
        card = ModelCard(_render_card({}, config, _count_parameters(directory / "model.safetensors")))
    data = card.data
    data.library_name = "overworld"
    data.tags = list(dict.fromkeys([*HUB_TAGS, *(data.tags or [])]))
    data.pipeline_tag = data.pipeline_tag or "other"
    known = data.datasets if isinstance(data.datasets, list) else [data.datasets] if data.datasets else []
    if known or datasets:
        data.datasets = list(dict.fromkeys([*map(str, known), *datasets]))
    data.license = data.license or "other"
    licence_text = None
    if data.license == "other":
        notes = data.to_dict().get("license_notes")
        if not data.to_dict().get("license_name"):
            data.license_name = "overworld-training-data"
        if not data.to_dict().get("license_link"):
            data.license_link = LICENSE_FILE
            licence_text = "# Licence\n\n" + str(notes or "The weights inherit the training data's licences.")
            licence_text += "\n"
    return str(card), licence_text


def _count_parameters(weights: Path) -> int:
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as handle:
        return sum(_numel(handle.get_slice(name).get_shape()) for name in handle.keys())  # noqa: SIM118


def _numel(shape: Sequence[int]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def _model_folder(folder: str | Path) -> Path:
    """The model folder to push: ``folder`` itself, or a run folder's ``model/``; it must load."""
    from overworld.models.storage import load_model, resolve_model_dir

    path = Path(folder)
    if not path.exists():
        raise DataError(f"{path} does not exist: give a run folder or a model folder")
    directory = resolve_model_dir(path)
    load_model(directory)  # a folder that does not load is not shared
    return directory


def push_model(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    datasets: Sequence[str] = (),
    message: str | None = None,
    endpoint: str | None = None,
) -> str:
    """Upload the model folder ``folder`` (a run folder: its ``model/``) to Hub repo ``repo_id``, creating
    the repo (``private`` if asked) when it does not exist; returns the commit's URL.

    Only the model folder's files go up (never training state), with the card :func:`model_card` makes.
    ``token``: a Hub token with write access (default: ``HF_TOKEN`` or the saved login). Raises
    :class:`HubError` (one line) when the Hub refuses or cannot be reached.
    """
    _check_repo_id(repo_id)
    directory = _model_folder(folder)
    card, licence = model_card(directory, datasets)
    from huggingface_hub import CommitOperationAdd, HfApi

    operations = [
        CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(directory / name))
        for name in HUB_FILES
        if name != "README.md" and (directory / name).is_file()
    ]
    operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode("utf-8")))
    if licence is not None:
        operations.append(
            CommitOperationAdd(path_in_repo=LICENSE_FILE, path_or_fileobj=licence.encode("utf-8"))
        )
    from overworld import __version__

    api = HfApi(endpoint=endpoint, token=token, library_name="overworld", library_version=__version__)
    hint = "pass --token with a write token, or log in with `hf auth login`"
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        info = api.create_commit(
            repo_id, operations, commit_message=message or f"Upload overworld model from {directory.name}/"
        )
    except Exception as exc:
        if not _is_hub_error(exc):
            raise
        raise HubError(_reason(exc, repo_id, hint)) from exc
    log.info("pushed %s to %s", directory, info.commit_url)
    return str(info.commit_url)
