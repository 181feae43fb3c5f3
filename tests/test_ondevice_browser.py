"""The page's "on this device" mode in headless Chromium with a fake camera: it spells the same word as
the server mode, and once the server has stopped the page reopens from its service worker and still
recognises. Needs Chromium, node/npm and `make install`'s on-device build; skips with a hint where
they are missing, except under CI, where it fails."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import numpy as np
import pytest

from serve_helpers import (
    CHROMIUM,
    DRIVER,
    chromium_with_fake_camera,
    needs_photos,
    photo,
    running_server,
    write_y4m,
)
from signlens.data.images import decode_image
from signlens.serve.settings import Settings
from test_ondevice import needs

BUILD = Path(__file__).resolve().parents[1] / "src" / "signlens" / "serve" / "static" / "ondevice"
WORD, SIGNER = "LIE", "user_5"
# 5 s a letter and 5 s away: MediaPipe's WebGL runs in software here, 0.7-2 s a frame with the load.
FPS, HOLD_FRAMES, GAP_FRAMES = 10, 50, 50
SETTINGS = {"threshold": 0.5, "hold": 0.5, "pause": 1.0, "window": 3}
pytestmark = needs_photos


def clip_frames() -> list[np.ndarray]:
    """One photo held for each letter (a steady sign, so both modes see the same thing on every frame
    they happen to take), then an empty room."""
    frames = []
    for letter in WORD:
        frames += [decode_image(photo(SIGNER, f"{letter}0"))] * HOLD_FRAMES
    return frames + [np.full_like(frames[0], 128)] * GAP_FRAMES


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A server, and Chromium with a fake camera playing the clip; `stop()` ends the server."""
    needs("Chromium", CHROMIUM.exists() and DRIVER.exists(), "apt-get install chromium chromium-driver")
    needs("the on-device build", (BUILD / "files.json").is_file(), "run `make install` (needs npm)")
    tmp = tmp_path_factory.mktemp("ondevice-browser")
    frames = clip_frames()
    clip = write_y4m(tmp / "clip.y4m", frames, FPS)
    server = contextlib.ExitStack()
    url = server.enter_context(running_server(Settings()))
    driver = chromium_with_fake_camera(tmp / "profile", clip, "1000,900")
    try:
        driver.set_script_timeout(60)
        yield driver, url, frames, server.close, tmp
    finally:
        driver.quit()
        server.close()


def text(driver, element_id: str) -> str:
    return driver.find_element("id", element_id).text


def wait_for(predicate, seconds: float, what: str, driver):
    deadline = time.monotonic() + seconds  # bounded: a page that never gets there fails the test
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(
        f"{what} within {seconds:.0f} s; spelled {text(driver, 'spelled')!r}, status {text(driver, 'status')!r}"
    )


def open_device_page(driver, url: str) -> None:
    driver.get(url + "/?source=device")
    wait_for(lambda: "Ready" in text(driver, "status"), 60, "the models ready on the device", driver)
    driver.execute_script(
        """for (const [id, value] of Object.entries(arguments[0])) {
             const input = document.getElementById(id); input.value = value;
             input.dispatchEvent(new Event('input', {bubbles: true})); }""",
        SETTINGS,
    )


def server_mode_text(url: str, frames: list[np.ndarray]) -> str:
    """The same clip through the server mode (WebSocket /v1/stream), one frame at a time."""
    import cv2
    from websockets.sync.client import connect

    with connect(url.replace("http://", "ws://") + "/v1/stream", open_timeout=30) as ws:
        assert json.loads(ws.recv(timeout=60))["type"] == "ready"
        ws.send(json.dumps({"type": "settings", **SETTINGS}))
        json.loads(ws.recv(timeout=30))
        answer = {"text": ""}
        for rgb in frames[::3]:  # every third frame: still over a second a letter at the server's pace
            jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()
            for _ in range(20):  # frames over the server's frame-rate bound are skipped: send again
                ws.send(jpeg)
                answer = json.loads(ws.recv(timeout=30))
                if answer["type"] != "skipped":
                    break
                time.sleep(0.04)
        return answer["text"]


def test_device_mode_spells_the_same_word_as_the_server_mode(site):
    driver, url, frames, _, tmp = site
    server_text = server_mode_text(url, frames)
    assert WORD in server_text.split(), server_text
    open_device_page(driver, url)
    driver.find_element("id", "start").click()
    spelled = wait_for(
        lambda: WORD in (spelled := text(driver, "spelled")).split() and spelled,
        90,
        f"{WORD} spelled",
        driver,
    )
    driver.save_screenshot(str(tmp / "device.png"))
    assert "on this device" in text(driver, "status").lower()
    assert WORD in spelled.split() and WORD in server_text.split()
    stats = driver.execute_async_script(
        "import('/static/source-device.mjs').then((m) => arguments[0](m.deviceStats()))"
    )
    assert stats["frames"] > 0 and len(stats["classifyMs"]) > 0  # the graph ran in this browser


def test_page_recognises_offline_after_one_visit(site):
    driver, url, _, stop_server, _ = site
    driver.get(url + "/?source=device")
    cached = """const cache = await caches.open('signlens-offline-v2');
                const keys = (await cache.keys()).map((r) => new URL(r.url).pathname);
                return keys.includes('/') && keys.includes('/static/app.js')
                  && keys.includes('/static/ondevice/recognizer.onnx') && !!navigator.serviceWorker.controller;"""
    wait_for(
        lambda: driver.execute_async_script(f"(async () => {{ {cached} }})().then(arguments[0])"),
        60,
        "the page and models cached",
        driver,
    )
    stop_server()  # the server stops: from here on, nothing answers on its port
    open_device_page(driver, url)  # served by the service worker now
    driver.find_element("id", "start").click()
    seen = wait_for(
        lambda: (lambda shown: shown if shown in set(WORD) else None)(text(driver, "current")),  # read once
        60,
        "a letter of the clip recognised offline",
        driver,
    )
    assert seen in set(WORD)
