"""The web page as a new user meets it, in headless Chromium with a fake camera: each test is one bug a
user met (issue 25), reproduced as the user did it. The camera plays one signer's L, held steady."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from conftest import fixture_photo
from serve_helpers import (
    CHROMIUM,
    DRIVER,
    chromium_with_fake_camera,
    running_server,
    text,
    wait_for,
    write_y4m,
)
from signlens.data.images import decode_image
from signlens.serve.settings import Settings
from test_ondevice import needs

BUILD = Path(__file__).resolve().parents[1] / "src" / "signlens" / "serve" / "static" / "ondevice"
FPS = 15  # a webcam's rate, under the server's 30 frames/s bound

# Counts what the page sends and receives on its WebSockets, installed before the page's own scripts.
SOCKET_COUNTER = """
window.__socket = { sent: 0, answers: {} };
window.WebSocket = class extends window.WebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (event) => {
      const type = JSON.parse(event.data).type;
      window.__socket.answers[type] = (window.__socket.answers[type] || 0) + 1;
    });
  }
  send(data) {
    if (typeof data !== "string") window.__socket.sent += 1;
    return super.send(data);
  }
};
"""


DENY_CAMERA = """navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Permission denied", "NotAllowedError"));"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    needs("Chromium", CHROMIUM.exists() and DRIVER.exists(), "apt-get install chromium chromium-driver")
    needs("the on-device build", (BUILD / "files.json").is_file(), "run `make install` (needs npm)")
    tmp = tmp_path_factory.mktemp("page")
    steady = decode_image(fixture_photo("L"))
    clip = write_y4m(tmp / "clip.y4m", [steady] * (2 * FPS), FPS)
    with running_server(Settings()) as url:
        driver = chromium_with_fake_camera(tmp / "profile", clip, "1280,857")
        try:
            driver.set_script_timeout(90)
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SOCKET_COUNTER})
            yield driver, url, tmp
        finally:
            driver.quit()


def models_loaded(driver) -> None:
    """Waits until the page's on-device models have loaded (the load a page starts by itself)."""
    driver.execute_async_script(
        "import('/static/device-recognizer.mjs').then((m) => m.loadModels()).then(() => arguments[0](true))"
    )
    time.sleep(0.3)  # the page's own handlers of the finished load run first


def open_page(driver, url: str, query: str) -> None:
    driver.get(f"{url}/?{query}")
    wait_for(driver, lambda: driver.find_elements("id", "mode"), 30, "the mode choice shown")


def choose_mode(driver, mode: str) -> None:
    driver.execute_script(
        "const s = document.getElementById('mode'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('change', {bubbles: true}));",
        mode,
    )


def test_a_normal_session_logs_no_errors(site):
    """Bug 8: favicon.ico was a 404 and MediaPipe's XNNPACK info line an error, on every load."""
    driver, url, _ = site
    driver.get_log("browser")  # drop anything from before
    open_page(driver, url, "source=device")
    models_loaded(driver)  # the landmark models have run once (their warm-up frame)
    severe = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []


def test_denied_camera_message_stays(site):
    """Bug 1: with the camera denied, Start's error was replaced by "Ready" once the models loaded."""
    driver, url, _ = site
    # The fake camera's own prompt always allows, so the camera answers as a browser does when the
    # user has blocked it.
    denied = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DENY_CAMERA})
    try:
        open_page(driver, url, "source=device")
        driver.find_element("id", "start").click()  # before the models have loaded
        wait_for(driver, lambda: "Camera unavailable" in text(driver, "status"), 20, "the camera error")
        models_loaded(driver)
        assert "Camera unavailable: Permission denied" in text(driver, "status")
        assert text(driver, "start") == "Start camera"
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", denied)


def test_server_mode_chosen_before_start_says_so(site):
    """Bug 2: choosing "on the server" before Start still showed the device models loading, then
    "Ready to recognise on this device"."""
    driver, url, _ = site
    open_page(driver, url, "source=device")
    choose_mode(driver, "server")
    models_loaded(driver)
    status = text(driver, "status")
    assert "device" not in status and "Loading" not in status, status
    assert "server" in status, status


def test_long_file_name_keeps_the_layout(site):
    """Bug 3: a photo whose name is one long word widened the photo panel and shrank the camera's."""
    driver, url, tmp = site
    open_page(driver, url, "source=server")
    width = "return document.getElementById(arguments[0]).closest('section').getBoundingClientRect().width"
    camera, photos = (driver.execute_script(width, i) for i in ("camera-title", "photos-title"))
    long_name = tmp / ("L" * 44 + ".jpg")  # 48 characters, no space to break at
    shutil.copy(fixture_photo("L"), long_name)
    driver.find_element("id", "files").send_keys(str(long_name))
    wait_for(driver, lambda: driver.find_elements("css selector", "#photo-results .name"), 10, "the photo")
    assert driver.execute_script(width, "camera-title") == pytest.approx(camera, abs=1)
    assert driver.execute_script(width, "photos-title") == pytest.approx(photos, abs=1)


def test_copy_with_no_text_says_so(site):
    """Bug 4: Copy with nothing spelled said "Text copied."."""
    driver, url, _ = site
    open_page(driver, url, "source=server")
    driver.find_element("id", "copy").click()
    wait_for(driver, lambda: "copy" in text(driver, "status").lower(), 5, "an answer to Copy")
    assert text(driver, "status") == "Nothing to copy yet."
    assert driver.execute_script(VISIBLE, "status"), "the status is below the fold"


# Whether an element lies wholly in the first screen, unscrolled.
VISIBLE = "const r = document.getElementById(arguments[0]).getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight;"
TRACK = (
    "const v = document.getElementById('video'); return v.srcObject && v.srcObject.getVideoTracks()[0].id;"
)


def test_switching_mode_keeps_the_text_and_the_camera(site):
    """Bug 5: switching mode while the camera ran wiped the spelled text and restarted the camera."""
    driver, url, _ = site
    open_page(driver, url, "source=server")
    driver.find_element("id", "start").click()
    wait_for(driver, lambda: "L" in text(driver, "spelled"), 60, "L spelled on the server")
    track = driver.execute_script(TRACK)
    choose_mode(driver, "device")
    wait_for(driver, lambda: "on this device" in text(driver, "status"), 60, "recognising on the device")
    time.sleep(1)
    assert text(driver, "spelled").startswith("L")
    assert driver.execute_script(TRACK) == track  # the same camera track: never closed and reopened
    assert text(driver, "start") == "Stop camera"


def test_switch_camera_with_one_camera(site):
    """Bug 6: "Switch camera" with one camera said "Using the back camera." and stopped mirroring."""
    driver, url, _ = site
    open_page(driver, url, "source=server")
    driver.find_element("id", "start").click()
    wait_for(driver, lambda: "server" in text(driver, "status"), 30, "recognising on the server")
    if driver.find_element("id", "switch").is_enabled():
        driver.find_element("id", "switch").click()
        wait_for(driver, lambda: "camera" in text(driver, "status").lower(), 10, "an answer to Switch")
    assert "back camera" not in text(driver, "status")
    assert "mirror" in driver.find_element("id", "stage").get_attribute("class")


def test_server_mode_sends_each_camera_frame_once_and_none_skipped(site):
    """Bug 7: the page paced frames from sending, the server from arrival, so some came back "skipped",
    and a 15 frames/s camera's frames were sent twice."""
    driver, url, _ = site
    open_page(driver, url, "source=server")
    driver.find_element("id", "start").click()
    wait_for(driver, lambda: "server" in text(driver, "status"), 30, "recognising on the server")
    driver.execute_script(
        """window.__shown = 0; const v = document.getElementById('video');
           const count = () => { window.__shown += 1; v.requestVideoFrameCallback(count); };
           v.requestVideoFrameCallback(count);"""
    )
    before = driver.execute_script("return {...window.__socket, answers: {...window.__socket.answers}}")
    time.sleep(8)
    after = driver.execute_script("return {sent: window.__socket.sent, answers: window.__socket.answers}")
    shown = driver.execute_script("return window.__shown")
    sent = after["sent"] - before["sent"]
    skipped = after["answers"].get("skipped", 0) - before["answers"].get("skipped", 0)
    assert sent >= 8, f"{sent} frames sent in 8 s"  # it does run
    assert skipped == 0, f"{skipped} of {sent} frames skipped"
    assert sent <= shown + 1, f"{sent} frames sent of {shown} the camera showed"


def test_sliders_follow_the_session_definition(site):
    """The settings' ranges and defaults are the Python session's (GET /v1/session), not the page's."""
    import httpx

    from signlens.pipeline.session import definition

    driver, url, _ = site
    open_page(driver, url, "source=server")
    wait_for(driver, lambda: driver.find_element("id", "settings-fields").is_enabled(), 30, "the settings")
    served = httpx.get(f"{url}/v1/session", timeout=30).json()
    expected = definition(served["settings"]["threshold"])
    for name, limit in expected["limits"].items():
        shown = driver.execute_script(
            "const e = document.getElementById(arguments[0]); return [e.min, e.max, e.step, e.value];", name
        )
        assert [float(v) for v in shown] == [
            limit["min"],
            limit["max"],
            limit["step"],
            expected["settings"][name],
        ]


def test_an_unsure_guess_looks_unsure_and_small_on_a_phone(site):
    """The badge: a guess under the threshold is marked "?" and kept small on a 390 px phone."""
    driver, url, _ = site
    driver.set_window_size(390, 844)
    try:
        open_page(driver, url, "source=server")
        driver.find_element("id", "start").click()
        wait_for(driver, lambda: "server" in text(driver, "status"), 30, "recognising on the server")
        wait_for(driver, lambda: text(driver, "letter") not in ("", "–"), 30, "a letter in the badge")
        driver.execute_script(  # the threshold at its top: the steady L is now a guess, not a letter
            "const t = document.getElementById('threshold'); t.value = t.max;"
            "t.dispatchEvent(new Event('input', {bubbles: true}));"
        )
        wait_for(driver, lambda: text(driver, "letter").endswith("?"), 30, "the guess marked unsure")
        assert "unsure" in driver.find_element("id", "badge").get_attribute("class")
        assert driver.execute_script(VISIBLE, "status"), "the status is below the fold on a phone"
        badge, stage = (
            driver.find_element("id", i).size["width"] * driver.find_element("id", i).size["height"]
            for i in ("badge", "stage")
        )
        assert badge < 0.06 * stage, f"the badge covers {badge / stage:.0%} of the video"
    finally:
        driver.set_window_size(1280, 857)


def test_the_letter_chart_lists_all_26_letters_and_opens_from_the_keyboard(site):
    """The how-to panel's letter chart: a table with headings, one row a letter (J and Z say they
    move), opened from the keyboard, drawn from the page itself (nothing fetched for it)."""
    from selenium.webdriver.common.keys import Keys

    driver, url, _ = site
    open_page(driver, url, "source=server")
    summary = driver.find_element("css selector", "#chart > summary")
    assert (
        summary.find_element("xpath", "ancestor::section").get_attribute("aria-labelledby") == "howto-title"
    )
    assert not driver.find_element("id", "chart").get_attribute("open")
    driver.execute_script("arguments[0].focus()", summary)
    assert driver.switch_to.active_element == summary  # in the tab order
    summary.send_keys(Keys.ENTER)
    wait_for(driver, lambda: driver.find_element("id", "chart").get_attribute("open"), 5, "the chart open")
    assert [h.text for h in driver.find_elements("css selector", "#chart thead th[scope=col]")] == [
        "Letter",
        "Handshape",
    ]
    rows = driver.find_elements("css selector", "#chart tbody tr")
    letters = [row.find_element("css selector", "th[scope=row]").text for row in rows]
    assert letters == [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    how = {
        letter: row.find_element("css selector", "td").text for letter, row in zip(letters, rows, strict=True)
    }
    assert all(len(text) > 15 for text in how.values()), how
    assert how["J"].startswith("Moves") and how["Z"].startswith("Moves")
    assert sum(text.startswith("Moves") for text in how.values()) == 2
    assert driver.find_element("css selector", "#chart caption").text
    assert driver.find_elements("css selector", "#chart img, #chart object, #chart iframe") == []
    assert driver.find_element("css selector", "#chart tbody").is_displayed()
