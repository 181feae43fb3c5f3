"""Server settings, passed to every worker process as one JSON environment variable (uvicorn starts
workers by import string, so the settings cannot travel as arguments)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

from signlens.data.images import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS

ENV = "SIGNLENS_SERVE_SETTINGS"


@dataclass
class Settings:
    weights: str | None = None  # None: the bundled recogniser
    token: str | None = None  # bearer token checked on every route; None: no auth (loopback default)
    recognizers: int = 1  # photo recognisers per worker process (MediaPipe graphs are not thread-safe)
    max_waiting: int = 128  # requests queued for a recogniser before the server answers 503
    max_wait_seconds: float = 30.0  # a queued request gives up after this long (503)
    max_upload_bytes: int = MAX_IMAGE_BYTES  # one image; a request may carry a little more (form fields)
    max_pixels: int = MAX_IMAGE_PIXELS
    max_batch: int = 16  # files in one batch request
    max_request_bytes: int = 32 * 1024 * 1024  # a whole request body (a batch), read before any decoding
    max_streams: int = 4  # concurrent WebSocket sessions per worker
    max_frame_bytes: int = 2 * 1024 * 1024  # one JPEG camera frame
    max_frame_pixels: int = 1920 * 1080
    max_fps: float = 30.0  # frames faster than this are skipped, not queued
    preload: bool = True  # load the model at start-up (tests may set False and call load themselves)
    # Who may be served and for how long (serve.security, serve.limits):
    bind_host: str = "127.0.0.1"  # the address served on: IP Host headers other than loopback's need it
    allowed_hosts: list[str] = field(default_factory=list)  # names beyond loopback's, e.g. a LAN name
    body_idle_seconds: float = 10.0  # a request body pausing longer is 408
    body_seconds: float = 60.0  # a whole request body taking longer is 408
    max_body_bytes: int = 128 * 1024 * 1024  # request bodies held at once (declared lengths)
    max_uploads: int = 16  # request bodies being read at once
    live_idle_seconds: float = 60.0  # a live session without a frame for this long is closed
    search_seconds: float = 2.0  # one photo's hand search at most (serve.limits.SearchBudget)
    search_base_seconds: float = 0.0  # ... and at most this (the first view runs anyway) plus one second per
    search_bytes_per_second: int = 20_000  # ... this many bytes uploaded

    def to_env(self) -> None:
        os.environ[ENV] = json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> Settings:
        raw = os.environ.get(ENV)
        return cls(**json.loads(raw)) if raw else cls()
