"""The countries card's map: a server-rendered SVG of the world, each country shaded by
its visitors, with no tiles or script from anywhere else.

The shapes (world.json) are built by maps/build.py from ``@svg-maps/world`` (CC BY 4.0,
Victor Cazanave), simplified for a map a few hundred pixels wide.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from footfall.dashboard import countries

LEVELS = 5
"""Shades of the visited countries, from a few visitors to the most."""
CREDIT = "Map: @svg-maps/world by Victor Cazanave (CC BY 4.0)"
CREDIT_URL = "https://github.com/VictorCazanave/svg-maps"


@dataclass(frozen=True, slots=True)
class Shape:
    code: str
    name: str
    path: str
    visitors: int
    level: int
    """0 for no visitor, else 1 to ``LEVELS``: the square root of its share of the most
    visited country's visitors, so that countries with a few are not all the palest."""


@cache
def _world() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(__file__).parent / "world.json").read_text())
    return data


def view_box() -> str:
    return str(_world()["view_box"])


def shapes(visitors: dict[str, int]) -> list[Shape]:
    """Every country's shape, shaded by its visitors (by ISO code; other keys, such as
    ``(unknown)``, have no shape)."""
    most = max(visitors.values(), default=0)
    found = []
    for code, path in _world()["shapes"].items():
        count = visitors.get(code, 0)
        level = math.ceil(LEVELS * math.sqrt(count / most)) if count and most else 0
        found.append(Shape(code, countries.name(code), path, count, level))
    return found
