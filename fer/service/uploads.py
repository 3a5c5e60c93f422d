"""Read one multipart upload into the service's temporary folder, counting bytes as they arrive.

The body is streamed through python-multipart straight to disk, so an upload over the limit is
refused (413) after at most `limit` bytes, whatever Content-Length claims, and nothing is kept in
memory or written anywhere but the request's own folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from python_multipart import create_form_parser
from python_multipart.exceptions import FormParserError
from starlette.requests import ClientDisconnect, Request

from fer.service.errors import RequestError, too_large

FIELD = "file"
OVERHEAD = 64 * 1024  # multipart boundaries and part headers on top of the file itself
HOW = "send it as multipart/form-data in a field named 'file' (curl -F file=@photo.jpg URL)"


@dataclass(frozen=True)
class Upload:
    path: Path
    size: int
    filename: str


async def receive_upload(request: Request, limit: int, folder: Path, what: str) -> Upload:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise RequestError(415, f"expected a multipart/form-data upload, got {content_type or 'no Content-Type'}; "
                                f"{HOW}")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit + OVERHEAD:
        raise too_large(f"the {what}", limit)  # refused before reading a byte

    files = []
    received = 0
    try:
        parser = create_form_parser({"Content-Type": content_type.encode("latin-1")}, on_field=None,
                                    on_file=files.append,
                                    config={"UPLOAD_DIR": str(folder), "MAX_MEMORY_FILE_SIZE": 0,
                                            "UPLOAD_DELETE_TMP": False})
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + OVERHEAD:
                raise too_large(f"the {what}", limit)
            parser.write(chunk)
        parser.finalize()
    except FormParserError as e:
        raise RequestError(400, f"malformed multipart body ({e}); {HOW}") from e
    except ClientDisconnect as e:
        raise RequestError(400, "the upload ended before it was complete") from e
    finally:
        for f in files:
            f.close()
    upload = next((f for f in files if f.field_name == FIELD.encode()), None)
    if upload is None:
        raise RequestError(400, f"no file in the upload; {HOW}")
    if upload.size > limit:
        raise too_large(f"the {what}", limit)
    if upload.size == 0:
        raise RequestError(400, f"the uploaded {what} is empty (0 bytes)")
    name = (upload.file_name or b"").decode("utf-8", "replace")
    return Upload(Path(upload.actual_file_name.decode()), upload.size, Path(name).name)
