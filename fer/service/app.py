"""The service: `create_app(settings)` -> a FastAPI app with the browser demo, REST and WebSocket routes.

One Recognizer (detector + model) serves every request; each WebSocket stream tracks its own faces.
Uploads live in the service's own temporary folder only while they are read; the folder is removed
at shutdown.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from fer.api.recognizer import Recognizer
from fer.errors import FERError
from fer.service.errors import RequestError, validation_message
from fer.service.origins import OriginGuard
from fer.service.routes import router
from fer.service.settings import ServiceSettings

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Swagger UI and ReDoc for /docs and /redoc, served from here rather than a CDN so they work offline:
# the files of the fastapi-offline package (MIT; Swagger UI itself Apache-2.0, ReDoc MIT).
DOCS_SPEC = importlib.util.find_spec("fastapi_offline")
assert DOCS_SPEC is not None and DOCS_SPEC.origin is not None, "fastapi-offline, a dependency of ferkit, is missing"
DOCS_DIR = Path(DOCS_SPEC.origin).parent / "static"


def create_app(settings: ServiceSettings | None = None, recognizer: Recognizer | None = None) -> FastAPI:
    """settings: None takes conf/serve.yaml's `service:` values (see ServiceSettings) and the live pipeline of
    conf/webcam.yaml; recognizer: an already built one (tests inject theirs); None builds it from
    settings.pipeline."""
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
                  version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    openapi_url = app.openapi_url
    assert openapi_url is not None  # the schema is served: both documentation pages read it
    app.state.settings = settings
    app.state.recognizer = recognizer
    app.state.open_streams = 0
    app.add_middleware(OriginGuard, allowed_origins=settings.allowed_origins, allowed_hosts=settings.allowed_hosts)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/docs-static", StaticFiles(directory=DOCS_DIR), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} API",
                                   swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css",
                                   swagger_favicon_url="/docs-static/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=openapi_url, title=f"{app.title} API",
                              redoc_js_url="/docs-static/redoc.standalone.js",
                              redoc_favicon_url="/docs-static/favicon.png", with_google_fonts=False)

    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(FERError)
    async def user_error(request: Request, exc: FERError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    # FastAPI's own refusals (a bad query parameter: 422; an unknown route: 404) in the same shape.
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": validation_message(exc.errors())}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    return app
