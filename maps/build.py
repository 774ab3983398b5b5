"""Build the dashboard's world map: ``python maps/build.py`` (``--check`` only compares).

The shapes are those of the npm package ``@svg-maps/world`` (by Victor Cazanave, CC BY 4.0,
credited under the map), pinned by tracker/package-lock.json and installed with the
tracker's build tools. Its 1.2 MB of outlines are simplified for a map a few hundred pixels
wide: coordinates rounded to 0.1 of the 1010-unit-wide view, a point kept only once it is
at least ``MIN_STEP`` away from the last one kept, and islands smaller than ``MIN_AREA``
dropped (a country keeps its largest outline). The result,
``src/footfall/dashboard/world.json``, is committed: installing footfall needs no Node.js.
tests/dashboard/test_world_map.py rebuilds it byte for byte where npm is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tracker"))

from build import ensure_packages  # noqa: E402  (tracker/build.py: the npm packages)

OUTPUT = HERE.parent / "src" / "footfall" / "dashboard" / "world.json"
PACKAGE = "@svg-maps/world"
MIN_STEP = 1.5
"""Units of the view (1010 wide) between two points kept: about 0.9 px at 600 px wide."""
MIN_AREA = 4.0
"""Square units under which an island is dropped, unless it is its country's largest."""
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?")


def outlines(path: str) -> list[list[tuple[float, float]]]:
    """The absolute points of each closed outline of a path of ``m`` and ``z`` only (the
    package's: relative moves, with implicit relative lines)."""
    rings: list[list[tuple[float, float]]] = []
    x = y = 0.0
    for part in re.split(r"[zZ]", path):
        numbers = [float(n) for n in _NUMBER.findall(part)]
        if not numbers:
            continue
        if not part.strip().startswith("m"):
            raise ValueError(f"unexpected path command in {part[:20]!r}")
        ring = []
        for dx, dy in zip(numbers[::2], numbers[1::2], strict=True):
            x, y = x + dx, y + dy
            ring.append((x, y))
        x, y = ring[0]  # after z, the current point is the outline's start
        rings.append(ring)
    return rings


def _area(ring: list[tuple[float, float]]) -> float:
    pairs = zip(ring, ring[1:] + ring[:1], strict=True)
    return abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in pairs)) / 2


def simplified(path: str) -> str:
    """The path, simplified (see the module's docstring), as relative ``m ... z`` moves."""
    rings = outlines(path)
    largest = max(rings, key=_area)
    parts: list[str] = []
    last = (0.0, 0.0)
    for ring in rings:
        if ring is not largest and _area(ring) < MIN_AREA:
            continue
        kept = [ring[0]]
        for point in ring[1:]:
            if abs(point[0] - kept[-1][0]) + abs(point[1] - kept[-1][1]) >= MIN_STEP:
                kept.append(point)
        if len(kept) < 3 and ring is largest:  # a small country (Andorra): as it is
            kept = ring
        rounded = [(round(px * 10), round(py * 10)) for px, py in kept]
        rounded = [b for a, b in itertools.pairwise([None, *rounded]) if b != a]
        if len(rounded) < 3:  # nothing left to draw
            continue
        start = (round(last[0] * 10), round(last[1] * 10))
        moves = [(rounded[0][0] - start[0], rounded[0][1] - start[1])]
        moves += [(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(rounded)]
        text = " ".join(f"{_tenths(dx)},{_tenths(dy)}" for dx, dy in moves)
        parts.append(f"m{text}z")
        last = (rounded[0][0] / 10, rounded[0][1] / 10)
    return "".join(parts)


def _tenths(value: int) -> str:
    """``-12`` as ``-1.2``, ``5`` as ``.5``, ``30`` as ``3``: a tenth of ``value``, short."""
    text = f"{value / 10:.1f}".rstrip("0").rstrip(".")
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text or "0"


def build() -> str:
    """world.json's text, from the installed package."""
    source = ensure_packages() / "node_modules" / PACKAGE / "index.js"
    raw = source.read_text()
    data = json.loads(raw.removeprefix("export default ").rstrip().rstrip(";"))
    lock = json.loads((HERE.parent / "tracker" / "package-lock.json").read_text())
    version = lock["packages"][f"node_modules/{PACKAGE}"]["version"]
    shapes = {
        place["id"].upper(): simplified(place["path"])
        for place in data["locations"]
        if re.fullmatch(r"[a-z]{2}", place["id"])  # not the US Minor Outlying Islands' parts
    }
    shapes = {code: path for code, path in shapes.items() if path}  # none too small to see
    document = {
        "source": f"{PACKAGE} {version} (CC BY 4.0, Victor Cazanave)",
        "source_sha256": hashlib.sha256(raw.encode()).hexdigest(),
        "view_box": data["viewBox"],
        "shapes": dict(sorted(shapes.items())),
    }
    return json.dumps(document, separators=(",", ":")) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with world.json")
    args = parser.parse_args(argv)
    text = build()
    if args.check:
        same = OUTPUT.read_text() == text
        print("world.json is up to date" if same else "world.json differs: run maps/build.py")
        return 0 if same else 1
    OUTPUT.write_text(text)
    print(f"built {OUTPUT.name}: {len(text):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
