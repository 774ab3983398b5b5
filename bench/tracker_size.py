"""Print the raw and gzipped (level 9) size of each tracker build; exit 1 if the default
build (the one footfall serves) is 1,000 bytes or more gzipped, its budget."""

from __future__ import annotations

import gzip
import platform
import sys
from importlib.resources import files

BUILDS = ("footfall.js", "footfall-links.js", "footfall.mjs")
DEFAULT = "footfall.js"
BUDGET = 1000


def main() -> int:
    print(f"# {platform.node()} {platform.machine()}, Python {platform.python_version()}")
    print(f"{'build':<18}{'raw':>8}{'gzip -9':>10}")
    over = False
    for name in BUILDS:
        body = (files("footfall.tracker") / name).read_bytes()
        packed = len(gzip.compress(body, 9))
        note = ""
        if name == DEFAULT:
            over = packed >= BUDGET
            note = f"  default, budget < {BUDGET}: {'OVER' if over else 'ok'}"
        print(f"{name:<18}{len(body):>8}{packed:>10}{note}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
