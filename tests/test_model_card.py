"""docs/model-card.md is the bundled recogniser's own record, rendered: not figures that drift."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_model_card_is_the_bundled_recognisers_record_rendered():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from model_card import render
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    from signlens.pipeline.bundle import bundled_recognizer_path, recorded_calibration

    record = recorded_calibration(bundled_recognizer_path())
    card = (ROOT / "docs" / "model-card.md").read_text()
    assert card == render(record), "docs/model-card.md is stale: rerun scripts/model_card.py"
    held = record["held_out"]
    assert f"**{100 * held['all']['right']:.1f}%**" in card
    assert len(held["per_signer"]) == len(record["signers"]) == sum(s["signers"] for s in record["sets"])
    assert all(f"| {row['signer']} |" in card for row in held["per_signer"])
    assert {row["set"] for row in record["sets"]} == set(held["by_source"])
