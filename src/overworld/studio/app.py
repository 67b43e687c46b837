"""The studio's web app: a static page (``static/``) and a small JSON API over :class:`Studio`.

FastAPI and uvicorn come with ``pip install overworld[studio]``; only this module imports them (and only
``overworld studio`` imports this module), so the core install and ``overworld --help`` do without them. Routes:

* ``GET /``: the page; ``GET /api/info``: the model, what it can do and the choices of every control;
* ``POST /api/compose`` (form fields, optional ``primer`` file): starts a job, returns ``{"job": id}``;
* ``POST /api/takes/{id}/regenerate`` (``first``, ``last``, ``instruments``, ``seed``...): a job too;
* ``GET /api/jobs/{id}``: its step, share done, takes or one-line error;
* ``GET /api/takes``, ``/api/takes/{id}/mix``, ``/roll.svg``, ``/zip``: the history and each take's files.

A bad value or upload answers 400 with ``{"error": "one line"}``. Every request passes
:class:`~overworld.studio.guard.Guard` first: the studio's own host only, and for a POST its own origin,
the session's token (the page carries it) and a form of at most :data:`MAX_BODY_BYTES`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from overworld.errors import ConfigError, OverworldError
from overworld.studio import forms
from overworld.studio.guard import Guard, GuardConfig, host_names
from overworld.studio.jobs import Jobs
from overworld.studio.session import Studio

__all__ = ["MAX_BODY_BYTES", "MAX_UPLOAD_BYTES", "create_app", "info"]

STATIC = Path(__file__).parent / "static"
MAX_UPLOAD_BYTES = 16 * 2**20  # a primer MIDI or module file
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 2**20  # the primer and the form's fields
TOKEN_SLOT = "{{overworld-token}}"  # in index.html's meta tag


def info(studio: Studio) -> dict[str, Any]:
    """The model and the choices the page offers (from the library's registries)."""
    from overworld.generation.compose import KEYS, MAX_BARS
    from overworld.generation.controls import INSTRUMENT_PRESETS
    from overworld.generation.form import FORMS
    from overworld.render.consoles import CONSOLES
    from overworld.theory import TIME_SIGNATURES

    sampling = getattr(studio.model, "sampling", None)
    return {
        "model": studio.model_name,
        "tokens": getattr(studio.model.tokenizer, "name", ""),
        "can_bars": studio.can_bars,
        "limitation": studio.limitation,
        "max_bars": MAX_BARS,
        "keys": ["auto", *KEYS],
        "forms": sorted(FORMS),
        "time_signatures": [f"{n}/{d}" for n, d in TIME_SIGNATURES],
        "consoles": {k: c.description for k, c in CONSOLES.items()},
        "instrument_presets": sorted(INSTRUMENT_PRESETS),
        "widgets": forms.widgets(sampling),
    }


def _safe_name(name: str) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "primer.mid").name).strip("._") or "primer.mid"
    return base[-80:]


def _save_primer(studio: Studio, upload: Any, data: bytes) -> Path | None:
    """The uploaded primer, checked (it must load as MIDI or a module) and kept in the work folder."""
    from overworld.midi import load_score

    name = _safe_name(getattr(upload, "filename", "") or "")
    if not data:
        raise ConfigError(f"{name}: the uploaded primer is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ConfigError(f"{name}: the primer is over {MAX_UPLOAD_BYTES // 2**20} MB; upload a MIDI file")
    try:
        load_score(data)
    except OverworldError as exc:
        raise ConfigError(f"{name}: not a MIDI or module file the studio can read ({exc})") from None
    folder = studio.workdir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{len(list(folder.iterdir())) + 1}-{name}"
    path.write_bytes(data)
    return path


def _compose_work(studio: Studio, fields: dict[str, Any], primer: Path | None) -> Any:
    """Check the form now (a bad value answers at once) and return the job's work."""
    seed = forms.seed_of(fields)
    if fields.get("mode", "compose") == "compose":
        if primer is not None:
            raise ConfigError("a primer is continued by generate: choose generate, or remove the primer")
        studio.require_bars("composing")
        config = forms.compose_config(fields, sample_rate=studio.sample_rate, synth=studio.synth)
        sampling = studio.sampling(forms.sampling_changes(fields))
        return lambda progress: studio.compose(config, sampling, seed, progress)
    length = forms.generate_length(fields, studio.can_bars)
    sampling = studio.sampling(forms.generate_changes(fields))
    stems = forms.flag(fields, "stems")
    return lambda progress: [
        studio.generate(sampling, seed=seed, primer=primer, stems=stems, progress=progress, **length)
    ]


def create_app(
    studio: Studio, *, host: str = "127.0.0.1", port: int = 7860, allow_hosts: tuple[str, ...] = ()
) -> Any:
    """The FastAPI app serving ``studio`` at ``host``:``port`` (the address it is opened at: the guard
    refuses other hosts; ``allow_hosts``: more names it is reached by, such as the machine's on a network)."""
    jobs = Jobs()
    token = secrets.token_urlsafe(32)
    page_html = (STATIC / "index.html").read_text(encoding="utf-8").replace(TOKEN_SLOT, token)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        jobs.close()

    app = FastAPI(
        title="overworld studio", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.studio, app.state.jobs = studio, jobs
    app.add_middleware(Guard, config=GuardConfig(host_names(host, port, allow_hosts), token, MAX_BODY_BYTES))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(OverworldError)
    async def one_line(request: Request, exc: OverworldError) -> JSONResponse:
        return JSONResponse({"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}, 400)

    @app.get("/")
    def page() -> HTMLResponse:
        return HTMLResponse(page_html, headers={"Cache-Control": "no-store"})

    @app.get("/api/info")
    def api_info() -> dict[str, Any]:
        return info(studio)

    _add_job_routes(app, studio, jobs)
    _add_take_routes(app, studio)
    return app


def _add_job_routes(app: Any, studio: Studio, jobs: Jobs) -> None:
    """The routes that start work (compose or generate, regenerate bars) and report on it."""

    @app.post("/api/compose")
    async def api_compose(request: Request) -> dict[str, Any]:
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        upload = form.get("primer")
        data = await upload.read() if upload is not None and not isinstance(upload, str) else b""
        primer = _save_primer(studio, upload, data) if data or getattr(upload, "filename", "") else None
        return {"job": jobs.submit(_compose_work(studio, fields, primer)).id}

    @app.post("/api/takes/{take_id}/regenerate")
    async def api_regenerate(take_id: int, request: Request) -> dict[str, Any]:
        fields = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        return {"job": jobs.submit(_regenerate_work(studio, take_id, fields)).id}

    @app.get("/api/jobs/{job_id}")
    def api_job(job_id: int) -> Any:
        job = jobs.get(job_id)
        return job.describe() if job else JSONResponse({"error": f"there is no job {job_id}"}, 404)


def _regenerate_work(studio: Studio, take_id: int, fields: dict[str, str]) -> Callable[[Any], list[Any]]:
    """Check a regenerate request's fields now; the work that rewrites the take's bars, for a job."""
    from overworld.generation.controls import parse_instruments
    from overworld.generation.infill import SETS

    studio.require_bars("regenerating bars")
    take = studio.take(take_id)
    span = forms.infill_span(fields, take.bars)
    instruments = parse_instruments(fields.get("instruments"))
    changes = forms.sampling_changes(fields, skip=SETS)
    studio.sampling(changes, take.sampling)  # checked now
    seed = forms.seed_of(fields)

    def work(progress: Any) -> list[Any]:
        kept = dict(instruments=instruments, changes=changes, seed=seed, progress=progress)
        return [studio.regenerate(take_id, span, **kept)]

    return work


def _add_take_routes(app: Any, studio: Studio) -> None:
    """The routes that list the takes and serve each one's mix, piano roll and zip."""

    @app.get("/api/takes")
    def api_takes() -> list[dict[str, Any]]:
        return [t.describe() for t in studio.history()]

    @app.get("/api/takes/{take_id}/mix")
    def api_mix(take_id: int) -> FileResponse:
        return FileResponse(studio.take(take_id).folder / "mix.ogg", media_type="audio/ogg")

    @app.get("/api/takes/{take_id}/roll.svg")
    def api_roll(take_id: int) -> Response:
        return Response(studio.roll(take_id), media_type="image/svg+xml")

    @app.get("/api/takes/{take_id}/zip")
    def api_zip(take_id: int) -> Response:
        name = f"overworld-take-{take_id}.zip"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(studio.zip(take_id), media_type="application/zip", headers=headers)
