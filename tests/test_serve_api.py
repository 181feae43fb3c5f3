"""`signlens serve`'s REST API on a real server (127.0.0.1), with the hand photos in tests/fixtures."""

from __future__ import annotations

import io
import json
import threading

import httpx
import numpy as np
import pytest
from PIL import Image

from conftest import NO_HAND, fixture_photo, run_cli
from serve_helpers import running_server
from signlens.serve.settings import Settings

PHOTOS = [fixture_photo("A"), fixture_photo("B"), fixture_photo("L")]


@pytest.fixture(scope="module")
def url():
    with running_server(Settings(max_waiting=1)) as url:
        yield url


def post(url, path="/v1/recognize", **kwargs):
    return httpx.post(url + path, timeout=60, **kwargs)


def no_hand_jpeg() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((240, 320, 3), 90, np.uint8)).save(out, "JPEG")
    return out.getvalue()


def test_health_and_model(url):
    health = httpx.get(url + "/v1/health").json()
    assert health["status"] == "ready" and health["ready"] is True and health["recognizers"] == 1
    model = httpx.get(url + "/v1/model").json()
    assert len(model["classes"]) == 24 and "J" not in model["classes"]
    assert len(model["sha256"]) == 64 and model["calibration"]["temperature"] > 0
    schema = httpx.get(url + "/openapi.json").json()
    assert {"/v1/recognize", "/v1/recognize/batch", "/v1/health", "/v1/model"} <= set(schema["paths"])


def test_recognize_equals_predict(url, monkeypatch, capsys):
    """The API's answer for a photo is exactly what `signlens predict --json` prints for it."""
    photos = [*PHOTOS, NO_HAND]
    code, out, err = run_cli(["predict", "--json", *photos], monkeypatch, capsys)
    assert code == 0, err
    printed = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(printed) == len(photos)
    for path, expected in zip(photos, printed, strict=True):
        expected = {k: v for k, v in expected.items() if k != "path"}
        data = path.read_bytes()
        as_form = post(url, files={"file": (path.name, data, "image/jpeg")})
        as_body = post(url, content=data, headers={"Content-Type": "image/jpeg"})
        assert as_form.status_code == as_body.status_code == 200
        assert as_form.json() == as_body.json() == expected
    assert [p["label"] for p in printed] == ["A", "B", "L", None]


def test_parameters_and_landmarks(url):
    data = PHOTOS[0].read_bytes()
    answer = post(
        url, content=data, headers={"Content-Type": "image/jpeg"}, params={"top_k": 5, "landmarks": "true"}
    ).json()
    assert len(answer["top"]) == 5 and answer["label"] == "A"
    x0, y0, x1, y1 = answer["hand"]
    points = np.array(answer["landmarks"])
    assert points.shape == (21, 3)
    assert (x0 <= points[:, 0]).all() and (points[:, 0] <= x1).all() and (y0 <= points[:, 1]).all()
    unsure = post(url, content=data, headers={"Content-Type": "image/jpeg"}, params={"threshold": 1}).json()
    assert unsure["label"] is None and unsure["top"][0][0] == "A"  # below the threshold: unsure, top kept
    empty = post(url, content=no_hand_jpeg(), headers={"Content-Type": "image/jpeg"}).json()
    empty.pop("search", None)  # a flat 2 KB picture may run out of the short search its size buys
    assert empty == {"label": None, "confidence": 0.0, "top": [], "hand": None, "handedness": None}


def test_batch_one_result_per_file(url):
    files = [("files", (p.name, p.read_bytes(), "image/jpeg")) for p in PHOTOS[:2]]
    files.append(("files", ("notes.txt", b"not an image", "text/plain")))
    response = post(url, "/v1/recognize/batch", files=files)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["name"] for r in results] == ["A.jpg", "B.jpg", "notes.txt"]
    assert [r["status"] for r in results] == [200, 200, 422]
    assert [r["result"]["label"] for r in results[:2]] == ["A", "B"]
    assert "not an image" in results[2]["error"]


def bomb_png() -> bytes:
    """A tiny PNG whose header claims 60000 x 60000 pixels (3.6 gigapixels)."""
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    data[16:24] = (60000).to_bytes(4, "big") * 2  # IHDR width and height (its CRC is not checked first)
    return bytes(data)


JPEG = PHOTOS[0].read_bytes()
BAD = {
    "empty": ({"content": b"", "headers": {"Content-Type": "image/jpeg"}}, 422),
    "truncated": ({"content": JPEG[: len(JPEG) // 3], "headers": {"Content-Type": "image/jpeg"}}, 422),
    "random bytes": (
        {"content": np.random.default_rng(0).bytes(5000), "headers": {"Content-Type": "image/png"}},
        422,
    ),
    "bomb": ({"content": bomb_png(), "headers": {"Content-Type": "image/png"}}, 422),
    "non-image in a form": ({"files": {"file": ("photo.jpg", b"%PDF-1.4 not a photo", "image/jpeg")}}, 422),
    "wrong field name": ({"files": {"image": ("a.jpg", JPEG, "image/jpeg")}}, 422),
    "text field": ({"data": {"file": "hello"}, "files": {"other": ("a.jpg", b"x")}}, 422),
    "two files": ({"files": [("file", ("a.jpg", JPEG)), ("file", ("b.jpg", JPEG))]}, 422),
    "wrong content type": ({"content": JPEG, "headers": {"Content-Type": "text/plain"}}, 415),
    "oversize": ({"content": b"\xff" * (26 * 1024 * 1024), "headers": {"Content-Type": "image/jpeg"}}, 413),
    "oversize chunked": (
        {"content": iter([b"\xff" * (1 << 20)] * 40), "headers": {"Content-Type": "image/jpeg"}},
        413,
    ),
    "bad threshold": (
        {"content": JPEG, "headers": {"Content-Type": "image/jpeg"}, "params": {"threshold": 2}},
        422,
    ),
    "bad top_k": (
        {"content": JPEG, "headers": {"Content-Type": "image/jpeg"}, "params": {"top_k": "x"}},
        422,
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_uploads_get_4xx_with_a_message(url, case):
    kwargs, status = BAD[case]
    response = post(url, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json()["error"], str) and len(response.json()["error"]) > 10


def test_unknown_routes_and_methods_are_json(url):
    assert httpx.get(url + "/v2/nothing").json()["error"].startswith("no such route")
    wrong = httpx.get(url + "/v1/recognize")
    assert wrong.status_code == 405 and "error" in wrong.json()


def test_overload_answers_503_with_retry_after(url):
    """One recogniser and a queue of one: of eight simultaneous requests some must be turned away."""
    data = fixture_photo("C").read_bytes()
    responses = []

    def send():
        responses.append(post(url, content=data, headers={"Content-Type": "image/jpeg"}))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    codes = sorted(r.status_code for r in responses)
    assert set(codes) == {200, 503} and codes.count(200) >= 2, codes
    busy = next(r for r in responses if r.status_code == 503)
    assert int(busy.headers["Retry-After"]) >= 1 and "busy" in busy.json()["error"]


def test_page_and_static_files(url):
    page = httpx.get(url + "/")
    assert page.status_code == 200 and "getUserMedia" not in page.text and 'id="spelled"' in page.text
    for name in ("app.mjs", "source-server.mjs", "overlay.mjs", "photos.mjs", "style.css"):
        assert httpx.get(f"{url}/static/{name}").status_code == 200
    # Browsers run a module only when it is served as JavaScript.
    assert httpx.get(f"{url}/static/app.mjs").headers["content-type"].startswith("text/javascript")
    assert httpx.get(url + "/static/../pool.py").status_code == 404


def test_nothing_served_loads_from_a_third_party_host(url):
    # FastAPI's Swagger/ReDoc pages pull scripts from a CDN: they are off, the schema stays.
    assert httpx.get(url + "/docs").status_code == 404 and httpx.get(url + "/redoc").status_code == 404
    page = httpx.get(url + "/").text
    assert "https://" not in page and "http://" not in page.replace("http://www.w3.org", "")
