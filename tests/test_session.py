"""One definition of a live session (pipeline/session.py): the CLI, the WebSocket, GET /v1/session and
the on-device build's session.json all take their defaults and limits from it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from signlens.pipeline.session import SETTINGS, LiveSession, checked, defaults, definition, device_definition

BUILD = Path(__file__).resolve().parents[1] / "src" / "signlens" / "serve" / "static" / "ondevice"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"window": 2.5}, "window must be a number from 0 to 2"),
        ({"window": 3}, "window must be a number from 0 to 2"),  # a count of frames, as it once was
        ({"hold": -0.1}, "hold must be a number from 0 to 3"),
        ({"pause": math.nan}, "pause must be a number"),
        ({"threshold": True}, "threshold must be a number"),
        ({"min_share": "0.5"}, "min_share must be a number"),
        ({"speed": 1}, "unknown setting 'speed'"),
    ],
)
def test_settings_out_of_range_are_refused_by_name(values, message):
    with pytest.raises(ValueError, match=message):
        checked(values)


def test_every_default_lies_within_its_limits():
    for name, value in defaults(0.6).items():
        assert SETTINGS[name].low <= value <= SETTINGS[name].high, name
    assert checked(defaults(0.6)) == defaults(0.6)


def test_new_settings_keep_the_text_and_reset_clears_it():
    hand = np.zeros((21, 3), np.float32)  # a still hand: no J or Z
    session = LiveSession(0.6, hold=0.1, window=0)
    for i in range(4):
        session.update("A", hand, i * 0.1)
    assert session.text == "A"
    session.configure({"hold": 0.3})
    assert session.text == "A" and session.settings["hold"] == 0.3 and session.settings["window"] == 0
    session.reset()
    assert session.text == ""
    with pytest.raises(ValueError):
        session.configure({"window": -0.1})


@pytest.mark.parametrize(
    ("flag", "value"), [("--window", "2.5"), ("--hold", "3.5"), ("--pause", "0.1"), ("--min-share", "0")]
)
def test_live_cli_takes_the_same_limits(flag, value, monkeypatch, capsys):
    code, _, err = run_cli(["live", "--source", "0", flag, value], monkeypatch, capsys)
    name = flag[2:].replace("-", "_")
    assert code == 2
    assert f"{flag} must lie in [{SETTINGS[name].low:g}, {SETTINGS[name].high:g}]" in err


def test_the_on_device_build_carries_the_definition():
    if not (BUILD / "session.json").is_file():
        pytest.skip("no on-device build: run `make install` (needs npm)")
    report = json.loads((BUILD / "recognizer.onnx.json").read_text())
    written = json.loads((BUILD / "session.json").read_text())
    assert written == json.loads(json.dumps(device_definition()))  # with the answer rule
    assert written["settings"]["threshold"] == report["defaults"]["live_threshold"]
    assert "session.json" in json.loads((BUILD / "files.json").read_text())["common"]  # cached offline


def test_the_server_serves_the_definition_its_streams_use():
    """GET /v1/session and a /v1/stream session's "ready" settings: the same defaults, the model's live
    threshold, and a setting outside the definition's limits is refused by the stream."""
    import httpx
    from websockets.sync.client import connect

    from serve_helpers import running_server
    from signlens.serve.settings import Settings

    with running_server(Settings()) as url:
        served = httpx.get(f"{url}/v1/session", timeout=30).json()
        with connect(url.replace("http://", "ws://") + "/v1/stream", open_timeout=30) as ws:
            ready = json.loads(ws.recv(timeout=60))
            ws.send(json.dumps({"type": "settings", "window": SETTINGS["window"].high + 1}))
            refused = json.loads(ws.recv(timeout=30))
    bounds = {"max_fps": ready["max_fps"], "idle_seconds": ready["idle_seconds"]}
    assert served == {**definition(served["settings"]["threshold"]), **bounds}
    assert ready["settings"] == served["settings"]
    assert refused["type"] == "error" and "window must be a number from 0 to 2" in refused["message"]
