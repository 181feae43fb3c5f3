"""Response bodies, as they appear in the OpenAPI schema."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Error(BaseModel):
    error: str = Field(description="What was wrong, in one sentence.")


class RecognitionOut(BaseModel):
    """The same object `signlens predict --json` prints for a photo (without its path)."""

    model_config = ConfigDict(extra="allow")  # whatever predict adds, the API answers too
    label: str | None = Field(description="The letter, or null: no hand, or unsure (below the threshold).")
    confidence: float = Field(ge=0, le=1, description="Calibrated probability of the best class.")
    top: list[list[str | float]] = Field(description="The top_k [class, probability] pairs, best first.")
    hand: list[int] | None = Field(description="Hand box x0, y0, x1, y1 in pixels, or null.")
    handedness: str | None
    landmarks: list[list[float]] | None = Field(
        None, description="With landmarks=true: the 21 hand points x, y (pixels), z."
    )
    search: str | None = Field(
        None,
        description="Present when the hand search stopped before every view was looked at: a small "
        "upload buys 50 ms of search a KB after the first view (2 s at most).",
    )


class BatchItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(description="The uploaded file's name (echoed, never used as a path).")
    status: int = Field(description="200, or the status this file alone would have got.")
    result: RecognitionOut | None = None
    error: str | None = None


class BatchOut(BaseModel):
    results: list[BatchItem]


class Health(BaseModel):
    status: str = Field(description="ready, loading or failed")
    ready: bool
    error: str | None = None
    load_seconds: float | None = None
    recognizers: int
    waiting: int
    streams: int


ERRORS = {
    code: {"model": Error, "description": text}
    for code, text in {
        400: "Malformed request",
        401: "Missing or wrong bearer token",
        413: "Upload over the size limit",
        415: "Not an image content type",
        422: "Not a readable image, or bad parameters",
        503: "Busy or still loading (see Retry-After)",
    }.items()
}


def image_body(field: str, many: bool) -> dict:
    """The request body for OpenAPI: the endpoints parse it themselves, to bound it before parsing."""
    binary = {"type": "string", "format": "binary"}
    form = {
        "type": "object",
        "properties": {field: {"type": "array", "items": binary, "maxItems": 16} if many else binary},
        "required": [field],
    }
    content = {"multipart/form-data": {"schema": form}}
    if not many:
        content |= {
            kind: {"schema": binary} for kind in ("image/jpeg", "image/png", "application/octet-stream")
        }
    return {"requestBody": {"required": True, "content": content}}
