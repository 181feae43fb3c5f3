"""The WebSocket /v1/stream and the bearer token, on real servers (127.0.0.1)."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import fixture_photo
from serve_helpers import running_server
from signlens.serve.settings import Settings

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def url():
    # No photo recognisers (preload off): streams load their own tracker; a slow frame bound to test skips.
    with running_server(
        Settings(preload=False, max_fps=1.0, max_frame_bytes=200_000), wait_ready=False
    ) as url:
        yield url


@pytest.fixture(scope="module")
def secured():
    with running_server(Settings(preload=False, token=TOKEN), wait_ready=False) as url:
        yield url


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/v1/stream"


def receive(ws) -> dict:
    return json.loads(ws.recv(timeout=60))


def frame(ws, data: bytes) -> dict:
    """Send a frame until it is processed (this server takes one frame a second)."""
    while True:
        ws.send(data)
        answer = receive(ws)
        if answer["type"] != "skipped":
            return answer


def test_stream_spells_a_word_and_obeys_controls(url):
    with connect(ws_url(url), open_timeout=30) as ws:
        ready = receive(ws)
        assert ready["type"] == "ready" and ready["max_fps"] == 1.0
        ws.send(json.dumps({"type": "settings", "hold": 0, "window": 0}))
        assert receive(ws)["settings"]["hold"] == 0
        ws.send(json.dumps({"type": "settings", "hold": -3}))
        assert "hold must be" in receive(ws)["message"]
        ws.send("not json")
        assert receive(ws)["type"] == "error"
        answers = []
        for letter in "LI":
            for _ in range(2):
                answers.append(frame(ws, fixture_photo(letter).read_bytes()))
        assert [a["raw"] for a in answers] == ["L", "L", "I", "I"]
        assert answers[-1]["text"] == "LI" and answers[1]["written"] == "L"
        first = answers[0]
        assert len(first["landmarks"]) == 21 and first["width"] == 400 and first["hand"] is not None
        with connect(ws_url(url), open_timeout=30) as other:  # a second session: its own tracker and text
            assert receive(other)["type"] == "ready"
            other.send(json.dumps({"type": "settings", "hold": 0, "window": 0}))
            receive(other)
            texts = [frame(other, fixture_photo("A").read_bytes())["text"] for _ in range(2)]
            assert texts == ["", "A"]
        assert frame(ws, fixture_photo("I").read_bytes())["text"] == "LI"  # untouched by the other
        ws.send(json.dumps({"type": "reset"}))
        assert receive(ws) == {"type": "reset", "text": ""}


def test_stream_reads_a_hand_only_the_photo_search_finds(url):
    import cv2
    import numpy as np

    from signlens.pipeline.hands import read_rgb

    # The W photo dimmed: the tracker alone finds no hand in it (tests/test_frame_search.py), the
    # fallback's search does. PNG, so the frame the server reads is that one, pixel for pixel.
    dim = (read_rgb(fixture_photo("W")).astype(np.float32) * 0.35).astype(np.uint8)
    data = cv2.imencode(".png", np.ascontiguousarray(dim[..., ::-1]))[1].tobytes()
    with connect(ws_url(url), open_timeout=30) as ws:
        assert receive(ws)["type"] == "ready"
        ws.send(json.dumps({"type": "settings", "hold": 0, "window": 0}))
        receive(ws)
        answers = [frame(ws, data) for _ in range(2)]
    assert [a["raw"] for a in answers] == ["W", "W"] and answers[-1]["text"] == "W"


def test_stream_bounds_frames(url):
    with connect(ws_url(url), open_timeout=30) as ws:
        assert receive(ws)["type"] == "ready"
        ws.send(b"GIF89a broken")
        assert "cannot read image frame" in receive(ws)["message"]
        ws.send(fixture_photo("A").read_bytes())  # within a second of the last frame: skipped
        assert receive(ws)["type"] == "skipped"
        ws.send(b"\x00" * 300_000)  # over the message bound: the server closes the connection
        with pytest.raises(ConnectionClosed) as closed:
            receive(ws)
        assert closed.value.rcvd.code == 1009


def test_token_is_required_everywhere(secured):
    assert httpx.get(secured + "/v1/model").status_code == 401
    assert httpx.get(secured + "/").status_code == 401
    assert httpx.get(secured + "/static/app.mjs").status_code == 401
    wrong = httpx.get(secured + "/v1/model", headers={"Authorization": "Bearer wrong-token-123"})
    assert wrong.status_code == 401 and "token" in wrong.json()["error"]
    # With the token, the request reaches the route (the model is not loaded here: 503, not 401).
    ok = httpx.get(secured + "/v1/model", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 503 and "loading" in ok.json()["error"]
    with httpx.Client() as browser:  # the page's first visit with ?token= leaves a cookie for the rest
        assert browser.get(secured + f"/?token={TOKEN}").status_code == 200
        assert browser.get(secured + "/static/app.mjs").status_code == 200
    with pytest.raises((ConnectionClosed, Exception)), connect(ws_url(secured), open_timeout=30) as ws:
        ws.recv(timeout=30)
    # ?token= opens the page only (URLs end up in logs); other clients send the header.
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with connect(ws_url(secured), additional_headers=bearer, open_timeout=30) as ws:
        assert receive(ws)["type"] == "ready"


def test_non_loopback_needs_a_token():
    from signlens.errors import SignlensError
    from signlens.serve.run import check

    with pytest.raises(SignlensError, match="--token"):
        check(Settings(), "0.0.0.0", no_auth=False, certfile=None, keyfile=None)
    check(Settings(), "0.0.0.0", no_auth=True, certfile=None, keyfile=None)
    check(Settings(token=TOKEN), "192.168.1.5", no_auth=False, certfile=None, keyfile=None)
    check(Settings(), "127.0.0.1", no_auth=False, certfile=None, keyfile=None)
    with pytest.raises(SignlensError, match="go together"):
        check(Settings(token=TOKEN), "::1", no_auth=False, certfile=None, keyfile="key.pem")
    import socket

    from signlens.serve.run import check_port

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SignlensError, match="cannot listen on 127.0.0.1"):
            check_port("127.0.0.1", taken.getsockname()[1])


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_tls_serves_the_page_and_the_stream(tmp_path):
    """--ssl-certfile/--ssl-keyfile: a phone's browser needs HTTPS for the camera (README recipe)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key),
         "-out", str(cert), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with running_server(Settings(preload=False), wait_ready=False, tls=(cert, key)) as url:
        assert url.startswith("https://")
        context = ssl.create_default_context(cafile=str(cert))
        assert 'id="spelled"' in httpx.get(url + "/", verify=context).text
        with pytest.raises(httpx.ConnectError):  # an unknown certificate is refused by default
            httpx.get(url + "/")
        with connect(url.replace("https://", "wss://") + "/v1/stream", ssl=context, open_timeout=30) as ws:
            assert receive(ws)["type"] == "ready"


def test_not_ready_until_the_model_is_loaded(url):
    """This server never loads its photo recognisers: health and recognise say so with 503 + Retry-After."""
    health = httpx.get(url + "/v1/health")
    assert (
        health.status_code == 503 and health.json()["status"] == "loading" and health.headers["Retry-After"]
    )
    busy = httpx.post(
        url + "/v1/recognize",
        content=fixture_photo("A").read_bytes(),
        headers={"Content-Type": "image/jpeg"},
    )
    assert busy.status_code == 503 and "loading" in busy.json()["error"]
