"""The web page in a real browser: Debian's Chromium, headless, driven by Selenium, with a fake camera
playing a clip made here from the hand photos in tests/fixtures, one signer spelling a word."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import fixture_photo
from serve_helpers import CHROMIUM, DRIVER, chromium_with_fake_camera, running_server, write_y4m
from signlens.data.images import decode_image
from signlens.serve.settings import Settings

WORD = "LIVE"  # letters the fixture photos give reliably, none repeated
FPS, HOLD_FRAMES, GAP_FRAMES = 10, 20, 16  # 2 s a letter (slow machines too), then 1.6 s of no hand
PAGE = "/?source=server"  # recognition on the server (the on-device mode has its own tests)
DOCS_SHOT = Path(__file__).resolve().parents[1] / "docs" / "serve-screenshot.png"

if not (CHROMIUM.exists() and DRIVER.exists()):
    hint = "install Chromium for the browser tests: apt-get install chromium chromium-driver"
    if os.environ.get("CI"):
        pytest.fail(f"CI needs Chromium: {hint}", pytrace=False)
    pytest.skip(hint, allow_module_level=True)


def make_clip(path: Path) -> Path:
    """Each letter's photo held, then an empty room (no hand): played in a loop."""
    frames = []
    for letter in WORD:
        frames += [decode_image(fixture_photo(letter))] * HOLD_FRAMES
    frames += [np.full_like(frames[0], 128)] * GAP_FRAMES
    return write_y4m(path, frames, FPS)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    clip = make_clip(tmp / "clip.y4m")
    driver = chromium_with_fake_camera(tmp / "profile", clip, "1100,1100")
    try:
        yield driver, tmp
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def url():
    with running_server(Settings()) as url:
        yield url


def text(driver, element_id: str) -> str:
    return driver.find_element("id", element_id).text


def test_photo_flow_shows_the_label(browser, url):
    driver, tmp = browser
    driver.get(url + PAGE)
    files = [fixture_photo("B"), fixture_photo("W")]
    driver.find_element("id", "files").send_keys("\n".join(str(f) for f in files))
    deadline = time.monotonic() + 30
    labels = []
    while time.monotonic() < deadline:
        labels = [e.text for e in driver.find_elements("css selector", "#photo-results > li .label")]
        if len(labels) == 2 and "…" not in labels:
            break
        time.sleep(0.1)
    items = driver.find_elements("css selector", "#photo-results > li")
    names = [i.find_element("css selector", ".name").text for i in items]
    assert dict(zip(names, labels, strict=True)) == {"B.jpg": "B", "W.jpg": "W"}
    tops = items[0].find_elements("css selector", ".top li")
    assert len(tops) == 3 and tops[0].text.split()[0] == labels[0]


def test_camera_spells_the_word(browser, url):
    driver, tmp = browser
    if driver.current_url != url + "/?source=server":  # after the photo test the page keeps its photos
        driver.get(url + "/?source=server")  # the server mode; the on-device mode: test_ondevice_browser.py
    driver.find_element("id", "start").click()
    seen, spelled = set(), ""
    deadline = time.monotonic() + 45  # about four plays of the clip
    while time.monotonic() < deadline:
        seen.add(text(driver, "letter"))
        spelled = text(driver, "spelled")
        if WORD in spelled.split():
            break
        time.sleep(0.05)
    shot = tmp / "page.png"
    driver.save_screenshot(str(shot))
    if os.environ.get("SIGNLENS_DOCS_SCREENSHOT"):  # refresh the README's picture on request only
        from PIL import Image

        with Image.open(shot) as image:  # a palette PNG: a third of the bytes, same picture to the eye
            image.convert("RGB").quantize(128).save(DOCS_SHOT.with_suffix(".tmp.png"), optimize=True)
        DOCS_SHOT.with_suffix(".tmp.png").replace(DOCS_SHOT)
    assert set(WORD) <= seen, f"letters shown: {sorted(seen)}"
    assert WORD in spelled.split(), f"spelled {spelled!r}, status {text(driver, 'status')!r}"
    assert text(driver, "start") == "Stop camera"
    # The sliders show the server's own live settings (the model's recorded threshold), not page defaults.
    from websockets.sync.client import connect

    with connect(url.replace("http://", "ws://") + "/v1/stream", open_timeout=30) as ws:
        served = json.loads(ws.recv(timeout=60))["settings"]
    shown = driver.find_element("id", "threshold").get_attribute("value")
    assert float(shown) == pytest.approx(served["threshold"], abs=0.025)  # the slider's step is 0.05


def test_page_fits_a_phone_and_names_its_controls(browser, url):
    driver, _ = browser
    driver.set_window_size(390, 844)  # a phone's viewport
    try:
        driver.get(url + PAGE)
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow} px on a phone"
        unnamed = driver.execute_script(
            """return [...document.querySelectorAll('button, input, output, video')].filter((e) => {
                 const label = e.labels && e.labels.length ? e.labels[0].textContent : '';
                 return !(e.textContent.trim() || label.trim() || e.getAttribute('aria-label')
                          || e.getAttribute('aria-labelledby'));
               }).map((e) => e.id || e.tagName);"""
        )
        assert unnamed == [], f"controls without an accessible name: {unnamed}"
        start = driver.find_element("id", "start")
        driver.find_element("css selector", "body").send_keys("\t\t")  # skip link, then the first control
        assert driver.switch_to.active_element == start
    finally:
        driver.set_window_size(1100, 1100)
