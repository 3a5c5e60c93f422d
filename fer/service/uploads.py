"""Read one multipart upload into the request's own folder, counting parts and bytes as they arrive.

python-multipart's streaming parser reads the body (with its own limits on each part's header lines:
how many, how long) and calls back here part by part. Only the part named 'file' is written, straight
to disk; any other part is counted and dropped, and a body of more than `max_parts` parts is refused
at the first part too many, so thousands of tiny parts cost neither files, memory nor time. An upload
over the limit is refused (413) after at most `limit` bytes, whatever Content-Length claims.
(Starlette's form parser would keep every file part, in memory up to 1 MB and then in the system's
temporary folder, and python-multipart's FormParser opens a file, and logs, for every file part.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from fer.service.errors import RequestError, too_large
from fer.service.storage import cannot_store

if TYPE_CHECKING:  # python-multipart declares its callbacks' names for type checkers only
    from python_multipart.multipart import MultipartCallbacks

FIELD = b"file"
OVERHEAD = 64 * 1024  # multipart boundaries, part headers and small fields on top of the file itself
HOW = "send it as multipart/form-data in a field named 'file' (curl -F file=@photo.jpg URL)"
PLAIN_ENCODINGS = (b"binary", b"8bit", b"7bit")  # what browsers and curl send (RFC 7578 deprecates the rest)


@dataclass(frozen=True)
class Upload:
    path: Path
    size: int
    filename: str


class UploadParts:
    """MultipartParser's callbacks for one request: the 'file' part to `path`, the other parts counted."""

    def __init__(self, path: Path, limit: int, max_parts: int, what: str):
        self.path, self.limit, self.max_parts, self.what = path, limit, max_parts, what
        self.parts = 0
        self.headers: dict[bytes, bytes] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self.writing = False  # the current part is the upload
        self.file: BinaryIO | None = None
        self.filename: str | None = None  # set when the upload's part begins
        self.size = 0
        self.ended = False  # the closing boundary was read

    def callbacks(self) -> MultipartCallbacks:
        return {"on_part_begin": self.part_begin, "on_header_field": self.header_field,
                "on_header_value": self.header_value, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_part_data": self.part_data,
                "on_part_end": self.part_end, "on_end": self.end}

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.max_parts:
            raise RequestError(400, f"the upload has more than {self.max_parts} parts; {HOW}, and nothing else")
        self.headers = {}

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[bytes(self._header_name).lower()] = bytes(self._header_value).strip(b" \t")
        self._header_name.clear()
        self._header_value.clear()

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition"))
        if b"name" not in options:
            raise RequestError(400, f"a part of the upload has no name in its Content-Disposition; {HOW}")
        self.writing = options[b"name"] == FIELD
        if not self.writing:
            return
        if self.filename is not None:
            raise RequestError(400, f"the upload has more than one part named 'file'; send one {self.what}")
        encoding = self.headers.get(b"content-transfer-encoding", b"binary").lower()
        if encoding not in PLAIN_ENCODINGS:
            raise RequestError(400, f"Content-Transfer-Encoding {encoding.decode('latin-1')!r} is not supported; "
                                    "send the file's bytes as they are")
        self.filename = Path(options.get(b"filename", b"").decode("utf-8", "replace")).name
        self.file = self.path.open("xb")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if not self.writing:
            return
        self.size += end - start
        if self.size > self.limit:
            raise too_large(f"the {self.what}", self.limit)
        assert self.file is not None  # opened where the part began, before `writing` was set
        self.file.write(data[start:end])

    def part_end(self) -> None:
        if self.writing:
            assert self.file is not None
            self.file.close()  # a full disk can show only now, when the last bytes are flushed
            self.writing = False

    def end(self) -> None:
        self.ended = True

    def close(self) -> None:
        """Close the upload's file whatever went wrong (a close that failed has closed it too)."""
        if self.file is not None and not self.file.closed:
            self.file.close()


def boundary_of(content_type: str) -> bytes:
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise RequestError(415, f"expected a multipart/form-data upload, got {content_type or 'no Content-Type'}; "
                                f"{HOW}")
    if not params.get(b"boundary"):
        raise RequestError(400, f"the multipart/form-data Content-Type names no boundary; {HOW}")
    return params[b"boundary"]


async def receive_upload(request: Request, limit: int, folder: Path, what: str, max_parts: int) -> Upload:
    boundary = boundary_of(request.headers.get("content-type", ""))
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit + OVERHEAD:
        raise too_large(f"the {what}", limit)  # refused before reading a byte

    parts = UploadParts(folder / "upload", limit, max_parts, what)
    received = 0
    try:
        parser = MultipartParser(boundary, parts.callbacks())
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit + OVERHEAD:
                raise too_large(f"the {what}", limit)
            parser.write(chunk)
        parser.finalize()
    except FormParserError as e:  # also python-multipart's limits on part headers
        raise RequestError(400, f"malformed multipart body ({e}); {HOW}") from e
    except ClientDisconnect as e:
        raise RequestError(400, "the upload ended before it was complete") from e
    except OSError as e:  # read-only, full or deleted folder
        raise cannot_store(folder, e) from e
    finally:
        parts.close()
    if parts.filename is None:
        raise RequestError(400, f"no file in the upload; {HOW}")
    if not parts.ended:
        raise RequestError(400, f"the multipart body ends before its closing boundary; {HOW}")
    if parts.size == 0:
        raise RequestError(400, f"the uploaded {what} is empty (0 bytes)")
    return Upload(parts.path, parts.size, parts.filename)
