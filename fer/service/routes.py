"""HTTP and WebSocket routes: the demo page, health, predict (image), analyze (video), stream (camera)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import cv2
import numpy as np
from fastapi import APIRouter, Query, Request, WebSocket
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from fer.api.analysis import Analysis
from fer.api.recognizer import Recognizer
from fer.errors import SourceError
from fer.inference.images import TooManyPixels, decode_image
from fer.service.disconnect import ClientGone, run_while_connected
from fer.service.errors import RequestError
from fer.service.media_types import sniff
from fer.service.settings import ServiceSettings
from fer.service.storage import request_folder
from fer.service.stream import StreamSession
from fer.service.uploads import Upload, receive_upload

log = logging.getLogger(__name__)
router = APIRouter()
STATIC_DIR = Path(__file__).resolve().parent / "static"
IMAGE_FORMATS = "JPEG, PNG, BMP, WebP or TIFF"


def upload_body(what: str) -> dict[str, Any]:
    """OpenAPI for a streamed multipart upload, so /docs shows a file picker."""
    return {"requestBody": {"required": True, "description": f"the {what}, in a multipart field named 'file'",
                            "content": {"multipart/form-data": {"schema": {
                                "type": "object", "required": ["file"],
                                "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


def media_kind(upload: Upload) -> tuple[str, str]:
    with upload.path.open("rb") as f:
        kind = sniff(f.read(512))
    if kind is None:
        raise RequestError(415, f"{upload.filename or 'the upload'} is neither an image ({IMAGE_FORMATS}) "
                                "nor a video (MP4, MOV, AVI, MKV, WebM)")
    return kind


def read_upload_image(upload: Upload, max_pixels: int) -> np.ndarray:
    """The upload -> BGR, its header checked against max_pixels before anything is decoded."""
    try:
        return decode_image(upload.path.read_bytes(), upload.filename or "the upload", max_pixels)
    except TooManyPixels as e:
        raise RequestError(413, str(e)) from e
    except SourceError as e:  # empty, damaged header, truncated, undecodable, too small
        raise RequestError(400, str(e)) from e


def attachment(filename: str) -> str:
    """A Content-Disposition for any file name: an ASCII fallback and the exact name as RFC 5987 UTF-8.

    Quotes, semicolons and backslashes never reach the header unescaped, so a name cannot add parameters.
    """
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("_.") or "analysis.csv"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def frames_to_analyze(frames: int, width: int, height: int, settings: ServiceSettings) -> int:
    """How many frames the video may cost, its size and length checked against the limits before any work."""
    pixels = width * height
    if pixels > settings.max_video_frame_pixels:
        raise RequestError(413, f"the video's frames are {width}x{height} ({pixels / 1e6:.1f} megapixels); the "
                                f"limit is {settings.max_video_frame_pixels / 1e6:g}: send a smaller clip")
    if frames > settings.max_video_frames:
        raise RequestError(413, f"the video has {frames} frames; the limit is {settings.max_video_frames}: "
                                "send a shorter clip")
    if frames * pixels > settings.max_video_total_pixels:
        raise RequestError(413, f"{frames} frames of {width}x{height} are {frames * pixels / 1e6:.0f} megapixels "
                                f"to analyse; the limit is {settings.max_video_total_pixels / 1e6:g} (frames x "
                                "pixels per frame): send a shorter or smaller clip")
    # A container may announce fewer frames than it holds, or none: the analysis stops at the limit then.
    return min(settings.max_video_frames, settings.max_video_total_pixels // max(pixels, 1))


def analyze_upload(recognizer: Recognizer, upload: Upload, fmt: str, settings: ServiceSettings,
                   check: Callable[[int], None]) -> Analysis:
    """check: called before each frame (it raises when the client has gone)."""
    name = upload.filename or "the upload"
    cap = cv2.VideoCapture(str(upload.path))
    try:
        opened = cap.isOpened()
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    finally:
        cap.release()
    if not opened:
        raise RequestError(400, f"{name} starts like a {fmt} video but cannot be opened (damaged or truncated?)")
    max_frames = frames_to_analyze(frames, width, height, settings)
    try:
        analysis = recognizer.analyze(upload.path, max_frames=max_frames, on_frame=check)
    except SourceError as e:
        raise RequestError(400, f"{name} starts like a {fmt} video but no frame could be decoded "
                                "(damaged or truncated?)") from e
    analysis.source = name
    return analysis


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html")


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    state = request.app.state
    recognizer: Recognizer = state.recognizer
    return {"status": "ok", **recognizer.model_info, "classes": recognizer.class_names,
            "detector": getattr(recognizer.detector, "name", type(recognizer.detector).__name__),
            "streams": {"open": state.open_streams, "max": state.settings.max_streams}}


# Where each kind of upload belongs, for the 415 that sends it there.
ROUTE_FOR = {"image": ("an image", "/v1/predict"), "video": ("a video", "/v1/analyze")}


async def receive_media(request: Request, limit: int, folder: Path, expected: str) -> tuple[Upload, str]:
    """Receive an upload and check it is the `expected` kind ("image" or "video"); returns it and its format."""
    upload = await receive_upload(request, limit, folder, expected, request.app.state.settings.max_parts)
    kind, fmt = media_kind(upload)
    if kind != expected:
        what, route = ROUTE_FOR[kind]
        raise RequestError(415, f"{upload.filename or 'the upload'} is {what}; POST {kind}s to {route}")
    return upload, fmt


@router.post("/v1/predict", openapi_extra=upload_body("image"))
async def predict(request: Request, crops: bool = Query(False, description="add each face's 48x48 model input "
                                                                           "as a PNG data URL")) -> dict[str, Any]:
    """Every face in an uploaded image: box (x, y, width, height), label, confidence, all probabilities."""
    settings: ServiceSettings = request.app.state.settings
    recognizer: Recognizer = request.app.state.recognizer
    with request_folder(request.app.state.tmp) as folder:
        upload, fmt = await receive_media(request, settings.max_image_bytes, folder, "image")
        image = await run_in_threadpool(read_upload_image, upload, settings.max_image_pixels)
        faces = await run_in_threadpool(recognizer.predict, image)
    return {"width": image.shape[1], "height": image.shape[0], "classes": recognizer.class_names,
            "faces": [f.to_dict(crop=crops) for f in faces]}


@router.post("/v1/analyze", openapi_extra=upload_body("video"), response_model=None)
async def analyze(request: Request, format: Literal["json", "csv"] = "json") -> Response | dict[str, Any]:
    """Every frame of a short uploaded video, faces tracked and smoothed: JSON per frame, or CSV rows."""
    settings: ServiceSettings = request.app.state.settings
    with request_folder(request.app.state.tmp) as folder:
        upload, fmt = await receive_media(request, settings.max_video_bytes, folder, "video")
        try:
            analysis = await run_while_connected(request, analyze_upload, request.app.state.recognizer, upload,
                                                 fmt, settings)
        except ClientGone as e:  # nobody is left to answer: only the log hears of it
            log.info("the client sending %s left; its analysis was stopped", upload.filename or "a video")
            raise RequestError(400, "the client left before the analysis was done") from e
    if format == "csv":
        stem = Path(upload.filename).stem or "video"
        return Response(analysis.to_csv(), media_type="text/csv",
                        headers={"Content-Disposition": attachment(f"{stem}_analysis.csv")})
    return analysis.to_dict()


@router.websocket("/v1/stream")
async def stream(ws: WebSocket) -> None:
    """Binary JPEG frames in; one JSON reply per classified frame (faces, dropped frames, latency)."""
    state = ws.app.state
    settings: ServiceSettings = state.settings
    if state.open_streams >= settings.max_streams:
        await ws.send_denial_response(JSONResponse(
            {"error": f"{state.open_streams} streams are open, the limit is {settings.max_streams}; try later"},
            status_code=503))
        return
    state.open_streams += 1
    try:
        await ws.accept()
        await StreamSession(ws, state.recognizer.stream(), settings.max_frame_bytes,
                            settings.max_image_pixels).run()
    finally:
        state.open_streams -= 1
