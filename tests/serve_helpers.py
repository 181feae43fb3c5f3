"""A real `signlens serve` app on 127.0.0.1 (a free port) in a thread, for the API and browser tests."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from conftest import SHARED

# The shared photos skip on a bare clone: a test that needs only some hand photo takes
# conftest.fixture_photo (tests/fixtures/hands) instead and runs everywhere.
SOURCE = SHARED / "sign-mnist-source"
needs_photos = pytest.mark.skipif(not SOURCE.is_dir(), reason="shared sign-mnist-source photos not present")


def photo(user: str, name: str) -> Path:
    return SOURCE / user / f"{name}.jpg"


@contextlib.contextmanager
def running_server(
    settings, wait_ready: bool = True, timeout: float = 90.0, tls: tuple[Path, Path] | None = None
):
    import uvicorn

    from signlens.serve.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings),
        log_level="warning",
        access_log=False,
        ws_max_size=settings.max_frame_bytes + 4096,
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    verify = ssl.create_default_context(cafile=str(tls[0])) if tls else True
    try:
        deadline = time.monotonic() + timeout  # bounded: a server that never starts fails the test
        while True:
            try:
                status = httpx.get(
                    f"{url}/v1/health", timeout=5, headers=auth(settings), verify=verify
                ).status_code
                if status == 200 or (not wait_ready and status in (401, 503)):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"the test server did not become ready within {timeout:.0f} s")
            time.sleep(0.1)
        yield url
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def auth(settings) -> dict:
    return {"Authorization": f"Bearer {settings.token}"} if settings.token else {}


def write_y4m(path: Path, frames: list[np.ndarray], fps: int) -> Path:
    """RGB frames -> a YUV4MPEG2 clip (4:2:0), the format Chromium's fake camera plays."""
    import cv2

    height, width = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def chromium_with_fake_camera(profile: Path, clip: Path, window: str):
    """Debian's Chromium, headless, offline, its camera replaced by `clip` (a y4m file)."""
    import os

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={window}",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for driver.get_log
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    driver = webdriver.Chrome(options=options, service=Service(str(DRIVER)))
    driver.set_page_load_timeout(60)
    return driver


def text(driver, element_id: str) -> str:
    return driver.find_element("id", element_id).text


def wait_for(driver, predicate, seconds: float, what: str):
    """`predicate()`'s first truthy value within `seconds` (bounded: a page that never gets there fails
    the test, naming what it waited for, the page's status and what it spelled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(
        f"{what} within {seconds:.0f} s; status {text(driver, 'status')!r}, spelled {text(driver, 'spelled')!r}"
    )
