"""The on-device mode takes the answer rule from Python (pipeline.answer), not a copy of it: the rule's
parameters reach the page as data (session.json's answer_rule, what a video Recognizer answers by), the
page's graph calibrates by the rule's temperature, and the page's last step (static/answer.mjs, run with
Node) gives the letters `answer` gives on the same logits and hand scores, at the threshold's and the
least hand score's edges too."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict

import numpy as np
import pytest

from signlens.export.recognizer_graph import graph_inputs, synthetic_hands
from signlens.inference.graph import LOG_OUTPUT, OUTPUT, LandmarkGraph
from signlens.pipeline.answer import AnswerRule, answer, answered
from signlens.pipeline.bundle import bundled_recognizer_path
from signlens.pipeline.session import definition, device_definition
from test_ondevice import NODE, ROOT, needs_node, photo_landmarks  # noqa: F401 (a fixture)

BUILD = ROOT / "src" / "signlens" / "serve" / "static" / "ondevice"


@pytest.fixture(scope="module")
def page():
    """session.json as the build writes it for the bundled model, and its rule."""
    written = device_definition()
    return written, AnswerRule(**{**written["answer_rule"], "fusion": None})


@pytest.fixture(scope="module")
def recorded(photo_landmarks):  # noqa: F811
    """Hands read from the fixture photos (with MediaPipe's handedness scores) and reproducible random
    ones, and the runtime graph's log-probabilities of them: the logits `signlens live` answers from."""
    from signlens.data.landmarks import load_landmark_file

    photos = load_landmark_file(photo_landmarks)
    random = synthetic_hands(200, seed=3)
    rng = np.random.default_rng(3)
    random["scores"] = rng.uniform(0.4, 1.0, 200).astype(np.float32)
    hands = {
        k: np.concatenate([photos[k], random[k]]) for k in ("world_points", "image_points", "handedness")
    }
    hands["image_sizes"] = np.concatenate([photos["image_sizes"], random["image_sizes"]])
    scores = np.concatenate([photos["scores"], random["scores"]]).astype(np.float64)
    runtime = LandmarkGraph(bundled_recognizer_path().with_name("recognizer.onnx"))
    logits = runtime.hand_logits(hands["world_points"], hands["image_points"], hands["handedness"])
    return hands, logits, scores, len(photos["labels"])


def javascript_labels(tmp_path, written: dict, probs, scores, thresholds, graph_temperature=None) -> list:
    payload = {
        "rule": written["answer_rule"],
        "graph_temperature": written["answer_rule"]["temperature"]
        if graph_temperature is None
        else graph_temperature,
        "classes": list("ABCDEFGHIKLMNOPQRSTUVWXY"),
        "thresholds": thresholds,
        "rows": [[[float(p) for p in row], float(s)] for row, s in zip(probs, scores, strict=True)],
    }
    (tmp_path / "in.json").write_text(json.dumps(payload))
    script = ROOT / "tests" / "js" / "answer_parity.mjs"
    run = subprocess.run([NODE, script, tmp_path / "in.json"], capture_output=True, text=True, timeout=60)
    if run.returncode:
        return run.stderr
    return json.loads(run.stdout)


def python_labels(probs: np.ndarray, given: np.ndarray) -> list:
    letters = list("ABCDEFGHIKLMNOPQRSTUVWXY")
    return [letters[i] if a else None for i, a in zip(probs.argmax(1), given, strict=True)]


def test_the_page_answers_by_the_rule_a_video_recognizer_answers_by(page):
    import signlens

    written, _ = page
    with signlens.Recognizer(running_mode="video") as recognizer:
        rule = recognizer.answer_rule()
    assert written["answer_rule"] == asdict(rule)
    assert written["settings"]["threshold"] == rule.threshold  # the slider starts at the rule's threshold
    assert {k: v for k, v in written.items() if k != "answer_rule"} == definition(rule.threshold)


def test_the_pages_last_step_gives_the_letters_answer_gives(page, recorded, tmp_path):
    """On the same calibrated probabilities (float32, as the graph gives them) and hand scores, at the
    rule's threshold, at other thresholds the page's slider may set, at thresholds equal to rows' own
    confidences, with hand scores set exactly at and just under the least hand score."""
    needs_node()
    written, rule = page
    _, logits, scores, photos = recorded
    probs = answer(logits, None, None, scores, rule).probs.astype(np.float32)
    scores = scores.copy()
    scores[:4] = rule.min_hand_score
    scores[4:8] = np.nextafter(rule.min_hand_score, 0)
    confidences = probs.max(1).astype(np.float64)
    thresholds = [None, 0.3, 0.9, float(confidences[0]), float(confidences[photos + 1]), 0.0, 1.0]
    js = javascript_labels(tmp_path, written, probs, scores, thresholds)
    assert isinstance(js, list), js
    given = 0
    for threshold, labels in zip(thresholds, js, strict=True):
        at = rule if threshold is None else rule.with_threshold(threshold)
        given_here = answered(probs, scores, at.threshold, at.min_hand_score)  # `answer`'s last step
        assert labels == python_labels(probs, given_here), threshold
        given += sum(label is not None for label in labels)
    assert 0 < given < len(thresholds) * len(probs)  # letters given and withheld
    assert js[0][4:8] == [None] * 4 and any(js[0][:4])  # just under the least hand score: no letter


def test_the_page_refuses_a_rule_from_another_build(page, recorded, tmp_path):
    needs_node()
    written, _ = page
    error = javascript_labels(tmp_path, written, np.eye(24)[:1], [1.0], [None], graph_temperature=1.0)
    assert isinstance(error, str) and "different builds" in error
    broken = {
        **written,
        "answer_rule": {k: v for k, v in written["answer_rule"].items() if k != "min_hand_score"},
    }
    error = javascript_labels(tmp_path, broken, np.eye(24)[:1], [1.0], [None])
    assert isinstance(error, str) and "no min_hand_score" in error


def test_the_page_graph_calibrates_by_the_rule_and_answers_as_python(page, recorded, tmp_path):
    """The page's graph exported as the build exports it, run by onnxruntime-web: its probabilities are
    `answer`'s of its own log-probabilities, and the page gives the letters the runtime gives."""
    needs_node(web=True)
    from signlens.export.recognizer_graph import export_recognizer, onnx_session

    written, rule = page
    hands, logits, scores, _ = recorded
    graph = tmp_path / "recognizer.onnx"
    report = export_recognizer(
        bundled_recognizer_path(), graph, parity_samples=32, temperature=rule.temperature
    )
    assert report["temperature"] == rule.temperature and report["parity"]["passed"]
    feeds = graph_inputs(hands, report["inputs"])
    graph_probs, graph_logits = onnx_session(graph).run([OUTPUT, LOG_OUTPUT], feeds)
    assert np.abs(answer(graph_logits, None, None, None, rule).probs - graph_probs).max() <= 1e-6
    payload = {
        "rows": len(scores),
        "inputs": {k: {"dims": list(v.shape[1:]), "data": v.ravel().tolist()} for k, v in feeds.items()},
    }
    (tmp_path / "graph-in.json").write_text(json.dumps(payload))
    script = ROOT / "tests" / "js" / "graph_parity.mjs"
    subprocess.run(
        [NODE, script, graph, tmp_path / "graph-in.json", tmp_path / "graph-out.json"],
        check=True,
        timeout=120,
    )
    web = np.asarray(json.loads((tmp_path / "graph-out.json").read_text())["probabilities"], np.float32)
    js = javascript_labels(tmp_path, written, web, scores, [None, 0.3])
    for threshold, labels in zip([None, 0.3], js, strict=True):
        at = rule if threshold is None else rule.with_threshold(threshold)
        expected = answer(logits, None, None, scores, at)  # what the runtime answers these hands
        near = np.abs(expected.probs.max(1) - at.threshold) < 1e-5  # float32 rounding could go either way
        assert near.sum() <= 2
        got = [label for label, n in zip(labels, near, strict=True) if not n]
        want = [
            label
            for label, n in zip(python_labels(expected.probs, expected.answered), near, strict=True)
            if not n
        ]
        assert got == want
        assert 0 < sum(label is not None for label in got) < len(got)


def test_the_on_device_build_writes_the_rule_its_graph_calibrates_by():
    if not (BUILD / "session.json").is_file():
        pytest.skip("no on-device build: run `make install` (needs npm)")
    written = json.loads((BUILD / "session.json").read_text())
    report = json.loads((BUILD / "recognizer.onnx.json").read_text())
    assert written["answer_rule"] == json.loads(json.dumps(device_definition()))["answer_rule"]
    assert report["temperature"] == written["answer_rule"]["temperature"]
