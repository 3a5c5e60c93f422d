"""The service: `create_app(settings)` -> a FastAPI app with the browser demo, REST and WebSocket routes.

One Recognizer (detector + model) serves every request; each WebSocket stream tracks its own faces.
Uploads live in the service's own temporary folder only while they are read; the folder is removed
at shutdown.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from fer.api.recognizer import Recognizer
from fer.errors import FERError
from fer.service.errors import RequestError
from fer.service.routes import router
from fer.service.settings import ServiceSettings

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: ServiceSettings | None = None, recognizer: Recognizer | None = None) -> FastAPI:
    """recognizer: an already built one (tests inject theirs); None builds it from settings.pipeline."""
    settings = settings or ServiceSettings()
    recognizer = recognizer or Recognizer(settings=settings.pipeline or None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.tmp = Path(tempfile.mkdtemp(prefix="fer-serve-", dir=settings.temp_dir))
        log.info("uploads are read in %s", app.state.tmp)
        try:
            yield
        finally:
            shutil.rmtree(app.state.tmp, ignore_errors=True)
            log.info("removed %s", app.state.tmp)

    app = FastAPI(title="fer", summary="Facial-expression recognition: photos, videos and live camera streams",
                  version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.recognizer = recognizer
    app.state.open_streams = 0
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(FERError)
    async def user_error(request: Request, exc: FERError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    return app
