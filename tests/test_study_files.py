"""The designs shipped in studies/: every file parses, and every grid point of every part builds a valid
training config (a typo in a key or value fails here, not hours into a run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from signlens.study.spec import load_study_file

STUDIES = sorted((Path(__file__).resolve().parents[1] / "studies").glob("*.yaml"))


def test_the_seed_designs_are_there():
    names = {p.stem for p in STUDIES}
    assert {"s0-three-models", "s1-resnet-transfer", "s4-mobilenet-width"} <= names


@pytest.mark.parametrize("path", STUDIES, ids=[p.stem for p in STUDIES])
def test_every_grid_point_builds_a_config(path):
    specs = load_study_file(path)
    assert specs
    for spec in specs:
        if spec.sampler != "grid":
            continue
        points = spec.grid()
        assert len(points) == len({tuple(sorted(p.items())) for p in points})  # no point twice
        for point in points:
            seed = point.pop("seed")
            config = spec.config_for(point, seed)
            assert config.seed == seed
            assert config.threads == 1  # sized for a shared 2-core machine: one torch thread per worker
