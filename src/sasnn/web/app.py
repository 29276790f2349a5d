"""The web application: the page, and the JSON API it calls.

    GET  /                                   the page (static/index.html)
    GET  /api/info                           model, limits
    POST /api/predict                        multipart files (+ top, joint, q_units, also) → analysis
    POST /api/analyses/{id}/items/{i}/fit    start the --fit of one prediction → job
    GET  /api/jobs/{job}                     progress; with the fitted prediction when done
    POST /api/jobs/{job}/cancel              stop a fit
    GET  /api/analyses/{id}/items/{i}/pr     ``sasnn pr --json``'s object and the Guinier plot
    GET  /api/analyses/{id}/report           the ``sasnn predict --report`` folder as a zip

Every error is a JSON ``{"error": "one line"}`` with a 4xx status; an unexpected one is
logged and answered 500 with no traceback.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from sasnn.web import analyses, uploads
from sasnn.web.jobs import FitPool, PoolBusy

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("sasnn.web")


def create_app(model: str | Path | None = None, *, predictor=None, fit_processes: int = 2,
               max_upload_bytes: int = uploads.MAX_UPLOAD_BYTES,
               max_entries: int = uploads.MAX_ENTRIES) -> FastAPI:
    """The application with its classifier loaded once (``model``: as ``sasnn predict --model``;
    or an already loaded ``predictor``) and at most ``fit_processes`` fits running at once."""
    from sasnn.identify.api import fitted_shortlist, parse_pairs, predict_groups
    from sasnn.identify.confirm import FIT_SHORTLIST
    from sasnn.identify.loading import load_predictor

    predictor = predictor if predictor is not None else load_predictor(model)
    pool = FitPool(max_running=fit_processes)
    store = analyses.Store()

    @asynccontextmanager
    async def lifespan(_app):
        yield
        pool.shutdown()

    app = FastAPI(title="sasnn", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.predictor, app.state.pool, app.state.store = predictor, pool, store

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request, exc):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request, exc):
        problems = [f"{'.'.join(str(x) for x in e['loc'][1:])}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"error": "; ".join(problems) or "invalid request"}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_request, exc):
        log.exception("unexpected error")
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the server's log"},
                            status_code=500)

    def analysis_item(analysis_id: str, index: int):
        try:
            analysis = store.get(analysis_id)
        except KeyError:
            raise HTTPException(404, "unknown or expired analysis; upload the files again") from None
        if not 0 <= index < len(analysis.items):
            raise HTTPException(404, f"no prediction {index} in this analysis")
        return analysis, analysis.items[index]

    def check_also(text: str | None):
        pairs = parse_pairs(text)
        try:
            for pair in pairs:
                predictor.predict([], also=[pair])  # names checked before any file is read, as in the CLI
        except ValueError as exc:
            raise HTTPException(422, f"also: {exc}") from None
        return pairs

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html")

    @app.get("/api/info")
    def info():
        return {"model": str(predictor.path), "max_upload_mb": max_upload_bytes / 2**20,
                "max_files": uploads.MAX_FILES, "max_entries": max_entries,
                "fit_processes": fit_processes, "fit_shortlist": FIT_SHORTLIST}

    @app.post("/api/predict")
    async def predict(request: Request):
        try:
            files, fields = await uploads.read_upload(request, max_upload_bytes)
        except uploads.UploadError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        try:
            top = int(fields.get("top", 3))
        except ValueError:
            top = 0
        if top < 1:
            raise HTTPException(422, f"top must be a positive number, got {fields.get('top')!r}")
        q_units = fields.get("q_units") or None
        if q_units not in (None, "A", "nm"):
            raise HTTPException(422, f"q_units must be A or nm, got {q_units!r}")
        joint = fields.get("joint", "").lower() in ("1", "true", "on", "yes")
        also = check_also(fields.get("also"))

        def work():
            loaded = uploads.load_files(files, q_units, max_entries)
            jobs = predict_groups(predictor, loaded.groups, top=top, joint=joint, also=also)
            return loaded, jobs

        try:
            loaded, jobs = await run_in_threadpool(work)
        except uploads.UploadError as exc:
            raise HTTPException(exc.status, str(exc)) from None
        if not loaded.groups:
            raise HTTPException(422, "; ".join(loaded.errors))
        options = {"top": top, "joint": joint, "also": also}
        analysis = store.add([analyses.Item(p, c) for p, c in jobs], options)
        return {"id": analysis.id, "errors": loaded.errors, "warnings": loaded.warnings,
                "items": [analyses.item_json(i, item) for i, item in enumerate(analysis.items)]}

    @app.post("/api/analyses/{analysis_id}/items/{index}/fit")
    def fit(analysis_id: str, index: int, fit_top: int = Query(FIT_SHORTLIST, ge=1, le=40),
            fit_time: float | None = Query(None, gt=0, le=600), seed: int = 0):
        analysis, item = analysis_item(analysis_id, index)
        options = analysis.options
        # the CLI's --fit: predict the longer shortlist and the reference models, fit them,
        # keep the best --top (fits bounded by work; fit_time, off by default, is a safety net)
        shortlist = fitted_shortlist(options["top"], fit_top)
        prediction, curves = predict_groups(predictor, [item.curves], top=shortlist, joint=options["joint"],
                                            also=options["also"], references=True)[0]
        if not prediction.candidates:
            raise HTTPException(422, f"{item.prediction.file}: no candidates to fit ({prediction.reason})")

        def done(fitted):
            item.prediction = fitted

        try:
            job = pool.submit(prediction, curves, dict(seed=seed, time_limit=fit_time, keep=options["top"],
                                                       keep_pairs=options["also"], workers=1), on_done=done)
        except PoolBusy as exc:
            raise HTTPException(503, str(exc)) from None
        return job.status()

    def job_or_404(job_id: str):
        try:
            return pool.get(job_id)
        except KeyError:
            raise HTTPException(404, "unknown or expired fit job") from None

    @app.get("/api/jobs/{job_id}")
    def job_status(job_id: str, analysis: str | None = None, index: int | None = None):
        job = job_or_404(job_id)
        status = job.status()
        if job.state == "done" and analysis is not None and index is not None:
            status["item"] = analyses.item_json(index, analysis_item(analysis, index)[1])
        return status

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str):
        job_or_404(job_id)
        return pool.cancel(job_id).status()

    @app.get("/api/analyses/{analysis_id}/items/{index}/pr")
    def pr(analysis_id: str, index: int, entry: int = Query(0, ge=0), dmax: str = "auto", q_min: str = "auto",
           q_max: float | None = Query(None, gt=0), alpha: float | None = Query(None, gt=0)):
        _, item = analysis_item(analysis_id, index)
        if entry >= len(item.curves):
            raise HTTPException(404, f"no entry {entry} in prediction {index}")
        try:
            d_max = None if dmax == "auto" else float(dmax)
            q_low = q_min if q_min == "auto" else None if q_min == "all" else float(q_min)
        except ValueError:
            raise HTTPException(422, "dmax must be 'auto' or Å; q_min 'auto', 'all' or Å⁻¹") from None
        try:
            return analyses.pr_json(item.curves[entry], d_max=d_max, q_min=q_low, q_max=q_max, alpha=alpha)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.get("/api/analyses/{analysis_id}/report")
    def report(analysis_id: str):
        analysis, _ = analysis_item(analysis_id, 0)
        data = analyses.report_zip(analysis.items)
        return Response(data, media_type="application/zip",
                        headers={"Content-Disposition": 'attachment; filename="sasnn-report.zip"'})

    return app


__all__ = ["create_app"]
