"""Reading image uploads safely: the body is read with a byte limit before anything is parsed, form
files stay in memory (never spooled to disk), and each image is checked against its own byte limit
before the one decoder sees it."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from signlens.serve.settings import Settings


class ApiError(Exception):
    """An answer other than 200: the status code and one clear message (JSON body {"error": ...})."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


RAW_TYPES = ("image/", "application/octet-stream")
HOW = "send multipart/form-data with the image in a `{field}` field, or the image bytes with Content-Type image/*"


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "the Content-Length header is not a number")
        if int(declared) > limit:
            raise ApiError(413, f"the request is {declared} bytes, over the {limit}-byte limit")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:  # chunked uploads declare no length: count as they arrive
                raise ApiError(413, f"the request is over the {limit}-byte limit")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "the client disconnected before the upload was complete") from None
    return b"".join(chunks)


async def read_images(
    request: Request, settings: Settings, field: str, max_files: int
) -> list[tuple[str, bytes]]:
    """[(name, bytes)] from a multipart form's `field` parts, or the raw body as one image."""
    content_type = request.headers.get("content-type", "").lower()
    form = content_type.startswith("multipart/form-data")
    if not form and not content_type.startswith(RAW_TYPES):  # refused before the body is read
        shown = content_type.split(";")[0] or "none"
        raise ApiError(415, f"unsupported Content-Type {shown}: " + HOW.format(field=field))
    if not form and field == "files":
        raise ApiError(415, "a batch needs multipart/form-data with one `files` part per image")
    body = await read_body(request, settings.max_request_bytes)
    files = await _form_files(request, body, settings, field, max_files) if form else [("upload", body)]
    for name, data in files:
        if not data:
            raise ApiError(422, f"cannot read image {name}: the file is empty")
        if len(data) > settings.max_upload_bytes:
            raise ApiError(
                413, f"image {name} is {len(data)} bytes, over the {settings.max_upload_bytes}-byte limit"
            )
    return files


async def _form_files(request, body: bytes, settings: Settings, field: str, max_files: int):
    async def once():
        yield body

    parser = MultiPartParser(
        request.headers, once(), max_files=settings.max_batch, max_fields=8, max_part_size=64 * 1024
    )
    parser.spool_max_size = settings.max_request_bytes  # keep files in memory: nothing touches the disk
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError(422, f"malformed multipart form: {exc.message}") from None
    try:
        parts = form.getlist(field)
        if not parts:
            sent = ", ".join(sorted({f"`{k}`" for k in form})) or "nothing"
            raise ApiError(422, f"no `{field}` part in the form (got {sent}): " + HOW.format(field=field))
        if len(parts) > max_files:
            hint = "; use /v1/recognize/batch for several" if max_files == 1 else ""
            raise ApiError(422, f"{len(parts)} `{field}` parts, at most {max_files}{hint}")
        files = []
        for part in parts:
            if not isinstance(part, UploadFile):
                raise ApiError(422, f"the `{field}` part is text, not a file upload")
            # The name is only echoed back, never used as a path.
            files.append((_safe_name(part.filename), await part.read()))
        return files
    finally:
        await form.close()


def _safe_name(name: str | None) -> str:
    name = (name or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in name if c.isprintable())[:200] or "upload"
