"""Models on the Hugging Face Hub: ``load_model("user/name")`` pulls a model folder through huggingface_hub's
cache, and :func:`push_model` shares one.

A Hub repo holds exactly the files of a model folder (``config.json``, ``model.safetensors``,
``tokenizer.json``, ``generation_config.json``, the model card ``README.md``); training state
(``latest/state.pt``) is never uploaded, and downloads fetch nothing else. Pulls go through
``snapshot_download``, so ``HF_HOME`` / ``HF_HUB_CACHE`` choose the cache and ``HF_HUB_OFFLINE=1`` reads
only what is cached; ``HF_ENDPOINT`` and ``HF_TOKEN`` (or ``hf auth login``) work as everywhere else on
the Hub. The pushed card carries the metadata the Hub reads: ``library_name: overworld``, tags,
``license`` (with ``license_name`` / ``license_link`` when it is ``other``) and ``datasets`` when known.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

from overworld.errors import DataError, one_line

__all__ = ["HUB_FILES", "HubError", "download_model", "is_repo_id", "model_card", "push_model"]

log = logging.getLogger(__name__)

HUB_FILES = ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json", "plans.json",
             "README.md")  # fmt: skip
HUB_TAGS = ("overworld", "music", "midi", "symbolic-music", "music-generation")
LICENSE_FILE = "LICENSE.md"  # the card's licence notes, linked from its metadata when the licence is "other"
# the Hub's rule for repo ids: a namespace and a name of letters, digits, "-", "_" and ".", 96 at most
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")


class HubError(DataError):
    """The Hub refused, or could not be reached, and the cache cannot stand in for it."""


def is_repo_id(text: str) -> bool:
    """Whether ``text`` has the shape of a Hub model id ``user/name`` (not ``./x``, ``/x`` or ``a/b/c``)."""
    return bool(_REPO_ID.fullmatch(text)) and ".." not in text and not text.endswith((".", "-"))


def _check_repo_id(repo_id: str) -> None:
    if not is_repo_id(repo_id):
        raise HubError(
            f"{repo_id!r} is not a Hugging Face repo id: give user/name (letters, digits, '-', '_', '.')"
        )


def _reason(exc: BaseException, repo_id: str, token_hint: str) -> str:
    """One line saying why the Hub call for ``repo_id`` failed and what to do."""
    from huggingface_hub import utils as errors  # the errors' home in every release this package allows

    if isinstance(exc, errors.RepositoryNotFoundError | errors.GatedRepoError):
        return (
            f"no model {repo_id} on the Hugging Face Hub, nor a local folder of that name "
            f"(if the repo is private or gated: {token_hint})"
        )
    if isinstance(exc, errors.RevisionNotFoundError):
        return f"{repo_id} has no such revision on the Hugging Face Hub"
    if isinstance(exc, errors.OfflineModeIsEnabled | errors.LocalEntryNotFoundError):
        from huggingface_hub import constants

        return (
            f"no local folder {repo_id}, and Hub model {repo_id} is not in the Hugging Face cache "
            f"({constants.HF_HUB_CACHE}) while the Hub cannot be reached (offline, or HF_HUB_OFFLINE=1)"
        )
    if isinstance(exc, errors.HfHubHTTPError) and exc.response is not None:
        if exc.response.status_code in (401, 403):
            return f"the Hugging Face Hub refused access to {repo_id}: {token_hint}"
        return f"the Hugging Face Hub answered {exc.response.status_code} for {repo_id}: {one_line(exc)}"
    return f"Hugging Face Hub, {repo_id}: {one_line(exc)}"


def download_model(
    repo_id: str, *, revision: str | None = None, token: str | None = None, endpoint: str | None = None
) -> Path:
    """The local folder of Hub model ``repo_id`` in huggingface_hub's cache, downloaded if not there.

    Only the model folder's files are fetched. Honours offline mode (``HF_HUB_OFFLINE=1``: the cache
    only). Raises :class:`HubError` (one line) for a bad id, a missing repo or an unreachable Hub with
    nothing cached.
    """
    _check_repo_id(repo_id)
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import HFValidationError

    from overworld import __version__

    try:
        folder = snapshot_download(
            repo_id,
            revision=revision,
            token=token,
            endpoint=endpoint,
            allow_patterns=list(HUB_FILES),
            library_name="overworld",
            library_version=__version__,
        )
    except HFValidationError as exc:
        raise HubError(f"{repo_id!r} is not a Hugging Face repo id: {one_line(exc)}") from exc
    except Exception as exc:  # the hub's errors, httpx's, OSError: all become one line
        if not _is_hub_error(exc):
            raise
        raise HubError(_reason(exc, repo_id, "log in with `hf auth login` or set HF_TOKEN")) from exc
    log.info("model %s is in %s", repo_id, folder)
    return Path(folder)


def _is_hub_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the Hub's or the network's (huggingface_hub 1.x uses httpx, earlier ones requests)."""
    import importlib

    from huggingface_hub import utils

    kinds: list[type] = [utils.HfHubHTTPError, utils.OfflineModeIsEnabled, utils.LocalEntryNotFoundError]
    kinds += [OSError, ValueError]  # a refused connection; a malformed answer
    for module, name in (("httpx2", "HTTPError"), ("httpx", "HTTPError"), ("requests", "RequestException")):
        try:
            kinds.append(getattr(importlib.import_module(module), name))
        except ImportError:
            continue
    return isinstance(exc, tuple(kinds))


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
