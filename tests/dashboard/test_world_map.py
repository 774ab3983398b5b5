"""The countries map: its shapes (built from @svg-maps/world by maps/build.py) and how a
country is shaded."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from conftest import require_npm
from footfall.dashboard import countries, world_map

ROOT = Path(__file__).resolve().parents[2]


def _build_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("maps_build", ROOT / "maps" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shades_follow_the_square_root_of_the_share_of_the_most_visited():
    # US 100 (the most): level 5; DE 25: ceil(5 * sqrt(0.25)) = ceil(2.5) = 3;
    # FR 1: ceil(5 * sqrt(0.01)) = ceil(0.5) = 1; JP 0 and every other country: 0.
    found = {s.code: s for s in world_map.shapes({"US": 100, "DE": 25, "FR": 1, "(unknown)": 7})}
    assert (found["US"].level, found["DE"].level, found["FR"].level) == (5, 3, 1)
    assert found["JP"].level == 0 and found["JP"].visitors == 0
    assert found["DE"].name == "Germany" and found["DE"].visitors == 25
    assert all(s.level == 0 for s in world_map.shapes({}))


def test_every_shape_is_a_closed_outline_in_the_view():
    data = json.loads((ROOT / "src/footfall/dashboard/world.json").read_text())
    assert data["view_box"] == "0 0 1010 666" and "CC BY 4.0" in data["source"]
    shapes = data["shapes"]
    # Every country footfall names has a shape, but for a few too small to draw.
    missing = set(countries.NAMES) - set(shapes)
    assert len(shapes) >= 240 and len(missing) <= 5, sorted(missing)
    outlines = _build_module().outlines
    for code, path in shapes.items():
        assert re.fullmatch(r"(m[-\d., ]+z)+", path), code
        for ring in outlines(path):
            assert len(ring) >= 3, code
            assert all(-1 <= x <= 1011 and -1 <= y <= 667 for x, y in ring), code


def test_the_map_rebuilds_byte_for_byte():
    require_npm("Node.js and npm are needed to rebuild the map (apt-get install npm)")
    assert _build_module().main(["--check"]) == 0


def test_outlines_read_relative_moves_and_restart_after_z():
    build = _build_module()
    rings = build.outlines("m 10,10 5,0 0,5 z m 20,0 1,0 0,1 z")
    assert rings == [[(10, 10), (15, 10), (15, 15)], [(30, 10), (31, 10), (31, 11)]]
    with pytest.raises(ValueError):
        build.outlines("M 1,1 2,2 z")
