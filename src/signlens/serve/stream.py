"""WebSocket /v1/stream: live camera frames in, one answer per frame out.

Each connection has its own tracking-mode recogniser (MediaPipe's tracker keeps frame-to-frame state),
majority vote and speller, so sessions never see each other's hands or text. Frames are binary
messages (JPEG); control messages are JSON text:
  {"type": "reset"}  clear the vote and the spelled text
  {"type": "settings", "threshold": 0.5, "hold": 0.5, "pause": 1.0, "window": 0.25, "min_share": 0.6}
Frames sent faster than the frame-rate bound are answered {"type": "skipped"} and not processed.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time

import anyio
import numpy as np
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect

from signlens.data.images import ImageError, decode_image
from signlens.errors import SignlensError
from signlens.inference import single_torch_thread
from signlens.pipeline.recognizer import Recognizer, RunningMode
from signlens.pipeline.session import LiveSession, definition
from signlens.pipeline.thresholds import recorded_defaults
from signlens.serve.sessions import Ending, Shutdown, end, next_message
from signlens.serve.settings import Settings
from signlens.serve.uploads import ApiError

router = APIRouter()

STILL = np.zeros((21, 3), np.float32)  # landmarks that never move, for models without a hand detector


class Streams:
    """Counts live sessions, to refuse one past the bound rather than slow every session down."""

    def __init__(self, limit: int):
        self.limit, self.active = limit, 0


class Session:
    """One connection's tracking recogniser and spelling (vote, speller, J/Z motion: `signlens live`'s)."""

    def __init__(self, recognizer: Recognizer):
        self.recognizer = recognizer
        # The live session's defaults, limits and rules, defined once (pipeline.session), with this
        # model's live threshold.
        self.spelling = LiveSession(recognizer.threshold)
        self.start = time.monotonic()
        self.frames = 0

    @property
    def settings(self) -> dict:
        return self.spelling.settings

    def reset(self) -> None:
        self.spelling.reset()

    def configure(self, message: dict) -> None:
        self.spelling.configure({k: v for k, v in message.items() if k != "type"})

    def step(self, rgb) -> dict:
        """One frame through the tracker, classifier, vote and speller (as `signlens live` does)."""
        t0 = time.perf_counter()
        threshold = float(self.settings["threshold"])  # this session's: the recogniser is its own
        result = self.recognizer.recognize_frame(rgb, time.monotonic() - self.start, threshold=threshold)
        points = None if result.hand is None else result.hand.image_points
        if self.recognizer.kind == "image":  # an image classifier reads whole frames: "a hand" that stays
            points = STILL
        smoothed, written = self.spelling.update(result.label, points, time.monotonic() - self.start)
        self.frames += 1
        answer = result.to_dict(landmarks=True)
        landmarks = answer.pop("landmarks")
        return {
            "type": "result",
            "frame": self.frames,
            "width": int(rgb.shape[1]),
            "height": int(rgb.shape[0]),
            **answer,
            "raw": result.label,
            "best": result.best,
            "smoothed": smoothed,
            "written": written,
            "landmarks": landmarks,
            "text": self.spelling.text,
            "ms": round(1000 * (time.perf_counter() - t0), 1),
        }


@router.websocket("/v1/stream")
async def stream(ws: WebSocket):
    settings: Settings = ws.app.state.settings
    streams: Streams = ws.app.state.streams
    await ws.accept()
    if streams.active >= streams.limit:
        await ws.send_json(
            {"type": "error", "message": f"{streams.limit} live sessions already; try again later"}
        )
        await ws.close(code=1013, reason="the server has no room for another live session")
        return
    if ws.app.state.shutdown.started:
        return await end(ws, Ending(1001, Shutdown.REASON))
    streams.active += 1
    recognizer = None
    try:
        recognizer = await anyio.to_thread.run_sync(tracking_recognizer, settings.weights)
        session = Session(recognizer)
        await ws.send_json(
            {
                "type": "ready",
                "settings": session.settings,
                "max_fps": settings.max_fps,
                "idle_seconds": settings.live_idle_seconds,  # no frame for this long closes the session
            }
        )
        await serve_session(ws, session, settings)
    except WebSocketDisconnect:
        pass
    except Ending as ending:  # idle, or the server stopping: the page is told why
        await end(ws, ending)
    except SignlensError as exc:  # the model cannot be loaded: the page shows why
        with contextlib.suppress(Exception):
            await ws.send_json(error(str(exc)))
            await ws.close(code=1011, reason="the recogniser could not be loaded")
    except Exception as exc:  # a bug: say so to the page and close cleanly, without echoing any frame
        print(f"signlens serve: internal error {exc.__class__.__name__} in /v1/stream", file=sys.stderr)
        with contextlib.suppress(Exception):
            await ws.send_json(error("internal error; the session has ended"))
            await ws.close(code=1011, reason="internal error")
    finally:
        streams.active -= 1
        if recognizer is not None:
            recognizer.close()


def tracking_recognizer(weights) -> Recognizer:
    single_torch_thread()  # the server's choice for its recognisers, as for the photo pool's
    return Recognizer(weights, running_mode=RunningMode.VIDEO)


async def serve_session(ws: WebSocket, session: Session, settings: Settings) -> None:
    last = 0.0
    idle_until = time.monotonic() + settings.live_idle_seconds
    while True:
        message = await next_message(ws, idle_until, settings.live_idle_seconds, ws.app.state.shutdown)
        if message.get("bytes") is not None:  # control messages alone do not keep a session
            idle_until = time.monotonic() + settings.live_idle_seconds
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        data, text = message.get("bytes"), message.get("text")
        if text is not None:
            await ws.send_json(control(session, text))
            continue
        if data is None:
            continue
        if len(data) > settings.max_frame_bytes:
            await ws.send_json(
                error(f"frame of {len(data)} bytes is over the {settings.max_frame_bytes}-byte limit")
            )
            continue
        now = time.monotonic()
        if now - last < 1.0 / settings.max_fps:
            await ws.send_json({"type": "skipped", "message": f"over {settings.max_fps:g} frames/s"})
            continue
        last = now
        try:
            answer = await anyio.to_thread.run_sync(frame_answer, session, data, settings)
        except ImageError as exc:
            answer = error(str(exc))
        await ws.send_json(answer)


def frame_answer(session: Session, data: bytes, settings: Settings) -> dict:
    rgb = decode_image(
        data, name="frame", max_bytes=settings.max_frame_bytes, max_pixels=settings.max_frame_pixels
    )
    return session.step(rgb)


def control(session: Session, text: str) -> dict:
    if len(text) > 4096:
        return error("control message over 4096 characters")
    try:
        message = json.loads(text)
    except (json.JSONDecodeError, RecursionError):  # nesting deeper than the parser's stack is no control
        return error('control messages are JSON objects, e.g. {"type": "reset"}')
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "reset":
        session.reset()
        return {"type": "reset", "text": ""}
    if kind == "settings":
        try:
            session.configure(message)
        except ValueError as exc:
            return error(str(exc))
        return {"type": "settings", "settings": session.settings, "text": session.spelling.text}
    return error('unknown control message; send {"type": "reset"} or {"type": "settings", ...}')


def error(message: str) -> dict:
    return {"type": "error", "message": message}


@router.get("/v1/session", summary="The live session's settings: defaults, ranges and meaning")
async def session_definition(request: Request) -> dict:
    """What /v1/stream's sessions start with and accept (the page builds its settings from it), with
    the served model's live threshold, and the frame-rate bound."""
    pool = request.app.state.pool
    if not pool.ready:
        raise ApiError(
            503, pool.error or "the model is still loading; try again shortly", {"Retry-After": "2"}
        )
    threshold = recorded_defaults(pool.info.get("calibration", {}))["live"]
    settings = request.app.state.settings
    return {**definition(threshold), "max_fps": settings.max_fps, "idle_seconds": settings.live_idle_seconds}
