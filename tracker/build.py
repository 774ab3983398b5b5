"""Build the browser tracker: ``python tracker/build.py`` (``--check`` only compares).

One readable implementation (``core.js``, and ``links.js`` for outbound links and file
downloads) is wrapped per build and minified by terser, so the ``<script>`` build and the ES
module cannot drift apart:

- ``src/footfall/tracker/footfall.js``: ``!function(){ core.js + script.js }()``, configured by
  the tag's ``data-*`` attributes (what footfall serves at ``.../analytics/script.js``);
- ``src/footfall/tracker/footfall-links.js``: ``links.js + links-script.js``, which
  ``footfall.js`` loads (``.../analytics/links.js``) only when ``data-outbound-links`` or
  ``data-file-downloads`` is on: what keeps the default build within its budget;
- ``src/footfall/tracker/footfall.mjs``: ``core.js + links.js + module.js``, exporting
  ``init``/``track``.

The outputs are committed (the Python package ships them; installing footfall needs no
Node.js), with ``built.json`` beside this file: the hash of the sources they were built from
and of each output, which tests/tracker/test_tracker_build.py checks without Node.js (it
also rebuilds them byte for byte). No banner: every byte counts against the 1,000-byte
budget of the default build. terser is pinned by package-lock.json and installed with ``npm ci``
into a cache directory outside the work tree, so the repository holds no node_modules.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent / "src" / "footfall" / "tracker"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "footfall-tracker-build"

TERSER_OPTIONS: dict[str, object] = {
    "ecma": 2020,
    "compress": {"passes": 3},
    "mangle": True,
    "format": {"comments": False},
}
"""ES2020 lets terser write arrow functions; every browser with sendBeacon and
``document.currentScript`` parses it."""

# Reads the code from stdin, prints terser's output; terser is resolved from the cache.
_MINIFY = """
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
const [dir, options] = [process.argv[1], JSON.parse(process.argv[2])];
const { minify } = await import(pathToFileURL(createRequire(dir + "/").resolve("terser")));
let code = "";
for await (const chunk of process.stdin) code += chunk;
process.stdout.write((await minify(code, options)).code);
"""


@dataclass(frozen=True)
class Build:
    """One output: the sources it joins (the implementation, then the thin entry that
    wraps it), and whether it is an ES module or a ``<script>`` (wrapped in a function)."""

    output: str
    sources: tuple[str, ...]
    module: bool

    @property
    def entry(self) -> str:
        return self.sources[-1]

    def source(self) -> str:
        code = "\n".join((HERE / name).read_text() for name in self.sources)
        return code if self.module else f"!function(){{\n{code}\n}}();\n"


BUILDS = (
    Build("footfall.js", ("core.js", "script.js"), module=False),
    Build("footfall.mjs", ("core.js", "links.js", "module.js"), module=True),
    Build("footfall-links.js", ("links.js", "links-script.js"), module=False),
)
DEFAULT = BUILDS[0]
"""The one footfall serves and whose gzipped size must stay under 1,000 bytes."""


def terser_version() -> str:
    lock = json.loads((HERE / "package-lock.json").read_text())
    return lock["packages"]["node_modules/terser"]["version"]


def source_hash() -> str:
    """What the outputs were built from: the sources, the options and terser's
    version (a different terser may minify differently)."""
    digest = hashlib.sha256()
    for name in ("core.js", "links.js", "script.js", "module.js", "links-script.js"):
        digest.update((HERE / name).read_bytes())
    digest.update(json.dumps(TERSER_OPTIONS, sort_keys=True).encode())
    digest.update(terser_version().encode())
    return digest.hexdigest()[:16]


def output_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record(outputs: dict[str, str]) -> str:
    """built.json's text: what the committed outputs were built from, and their hashes."""
    hashes = {name: output_hash(text) for name, text in outputs.items()}
    return json.dumps({"source": source_hash(), **hashes}, indent=2) + "\n"


def ensure_packages() -> Path:
    """The cache directory with package-lock.json's packages installed (``npm ci`` when
    they are missing or another lock installed them): terser, and Plausible's tracker,
    which the browser tests run against footfall as it is."""
    lock = (HERE / "package-lock.json").read_text()
    stamp = CACHE / "installed-lock.json"  # the lock of what is installed, once it is
    if stamp.exists() and stamp.read_text() == lock:
        return CACHE
    if shutil.which("npm") is None or shutil.which("node") is None:
        raise RuntimeError("building the tracker needs Node.js and npm (apt-get install npm)")
    CACHE.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(HERE / name, CACHE / name)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=CACHE,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stamp.write_text(lock)
    return CACHE


def build(target: Build) -> str:
    """The output's text as it should be committed."""
    options = {**TERSER_OPTIONS, "module": target.module, "toplevel": target.module}
    result = subprocess.run(
        ["node", "--input-type=module", "-e", _MINIFY, str(ensure_packages()), json.dumps(options)],
        input=target.source(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"terser failed on {target.output}:\n{result.stderr}")
    return result.stdout + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if an output is stale")
    args = parser.parse_args(argv)
    outputs = {target.output: build(target) for target in BUILDS}
    files = {PACKAGE / name: text for name, text in outputs.items()}
    files[HERE / "built.json"] = record(outputs)
    stale = []
    for path, text in files.items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.name)
        if not args.check:
            path.write_text(text)
    if args.check and stale:
        print(f"stale: {', '.join(stale)}; run python tracker/build.py", file=sys.stderr)
        return 1
    print("up to date" if not stale else f"built {', '.join(stale)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
