"""The REST routes: /v1/recognize, /v1/recognize/batch, /v1/health, /v1/model."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from signlens.data.images import ImageError, decode_image
from signlens.serve.limits import SearchBudget
from signlens.serve.pool import NotReady, Overloaded, RecognizerPool
from signlens.serve.schemas import ERRORS, BatchOut, Health, RecognitionOut, image_body
from signlens.serve.uploads import ApiError, read_images

router = APIRouter(prefix="/v1")

Threshold = Query(
    None,
    ge=0,
    le=1,
    description="Calibrated confidence below which the label is null [default: the model's].",
)
TopK = Query(3, ge=1, le=50, description="How many classes to list.")
Landmarks = Query(False, description="Also return the 21 hand landmarks.")


async def recognise(pool: RecognizerPool, name: str, data: bytes, threshold, top_k, landmarks) -> dict:
    settings = pool.settings
    budget = SearchBudget(settings, len(data))

    def run(recognizer):
        # Decoding here too keeps all pixel work within the pool's threads (bounded CPU under load).
        rgb = decode_image(
            data, name=name, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels
        )
        return recognizer.recognize(rgb, threshold=threshold, top_k=top_k, search_seconds=budget.seconds)

    try:
        result = await pool.run(run, head_start=budget.seconds)  # photos that paid for more go first
    except ImageError as exc:
        raise ApiError(422, str(exc)) from None
    except NotReady as exc:
        raise ApiError(503, str(exc), {"Retry-After": "2"}) from None
    except Overloaded as exc:
        raise ApiError(503, str(exc), {"Retry-After": str(exc.retry_after)}) from None
    return budget.noted(result, result.to_dict(landmarks=landmarks))


@router.post(
    "/recognize",
    response_model=RecognitionOut,
    response_model_exclude_unset=True,
    responses=ERRORS,
    openapi_extra=image_body("file", many=False),
    summary="Recognise the sign in one photo",
)
async def recognize(
    request: Request, threshold: float | None = Threshold, top_k: int = TopK, landmarks: bool = Landmarks
):
    """One image, as multipart `file` or as the raw body: the same answer as `signlens predict --json`."""
    pool = request.app.state.pool
    [(name, data)] = await read_images(request, pool.settings, "file", 1)
    return await recognise(pool, name, data, threshold, top_k, landmarks)


@router.post(
    "/recognize/batch",
    response_model=BatchOut,
    response_model_exclude_unset=True,
    responses=ERRORS,
    openapi_extra=image_body("files", many=True),
    summary="Recognise several photos: one result or error per file",
)
async def recognize_batch(
    request: Request, threshold: float | None = Threshold, top_k: int = TopK, landmarks: bool = Landmarks
):
    pool = request.app.state.pool
    files = await read_images(request, pool.settings, "files", pool.settings.max_batch)
    results = []
    for name, data in files:  # one at a time: a batch holds one place in the queue, never the whole queue
        try:
            answer = await recognise(pool, name, data, threshold, top_k, landmarks)
            results.append({"name": name, "status": 200, "result": answer})
        except ApiError as exc:
            if exc.status == 503:  # busy: the whole request is retried, not one file
                raise
            results.append({"name": name, "status": exc.status, "error": exc.message})
    return {"results": results}


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "Loading or failed"}},
    summary="Ready once the model is loaded",
)
async def health(request: Request):
    pool: RecognizerPool = request.app.state.pool
    status = "ready" if pool.ready else ("failed" if pool.error else "loading")
    body = {
        "status": status,
        "ready": pool.ready,
        "error": pool.error,
        "load_seconds": None if pool.load_seconds is None else round(pool.load_seconds, 3),
        "recognizers": pool.size,
        "waiting": pool.waiting,
        "streams": request.app.state.streams.active,
    }
    return JSONResponse(
        body, status_code=200 if pool.ready else 503, headers={} if pool.ready else {"Retry-After": "2"}
    )


@router.get(
    "/model", responses={503: ERRORS[503]}, summary="The model: classes, input, calibration, checksum"
)
async def model(request: Request) -> dict:
    pool: RecognizerPool = request.app.state.pool
    if not pool.ready:
        raise ApiError(
            503, pool.error or "the model is still loading; try again shortly", {"Retry-After": "2"}
        )
    return pool.info
