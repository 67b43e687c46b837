"""Models on the Hugging Face Hub: ``load_model("user/name")`` pulls a model folder through huggingface_hub's
cache (:func:`download_model`), and :func:`overworld.models.publish.push_model` shares one.

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
from pathlib import Path

from overworld.errors import DataError, one_line

__all__ = ["HUB_FILES", "HubError", "download_model", "is_repo_id"]

log = logging.getLogger(__name__)

# what a Hub repo of a model holds: the model folder's files, never training state
HUB_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "generation_config.json",
    "plans.json",
    "README.md",
)
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
