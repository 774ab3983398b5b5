"""The committed tracker builds are the ones tracker/build.py makes from tracker/*.js, and the
default build stays under its 1,000-byte (gzipped) budget."""

from __future__ import annotations

import gzip
import json

from conftest import require_npm, tracker_build

build = tracker_build()


def test_outputs_were_built_from_the_current_sources() -> None:
    """Without Node.js: built.json names the sources' hash and each committed output's."""
    recorded = json.loads((build.HERE / "built.json").read_text())
    assert recorded["source"] == build.source_hash(), "run: python tracker/build.py"
    for target in build.BUILDS:
        text = (build.PACKAGE / target.output).read_text()
        assert recorded[target.output] == build.output_hash(text), (
            f"{target.output} was edited by hand; edit tracker/*.js and run tracker/build.py"
        )


def test_a_rebuild_gives_the_committed_files_byte_for_byte() -> None:
    require_npm("Node.js and npm are needed to rebuild the tracker (apt-get install npm)")
    for target in build.BUILDS:
        assert build.build(target) == (build.PACKAGE / target.output).read_text(), target.output


def test_default_build_is_under_1000_bytes_gzipped() -> None:
    body = (build.PACKAGE / build.DEFAULT.output).read_bytes()
    assert len(gzip.compress(body, 9)) < 1000


def test_the_builds_share_the_one_implementation() -> None:
    """The entries are thin: every behaviour lives in core.js (or links.js), wrapped once
    per build; the module has all of it."""
    core, links = ((build.HERE / name).read_text() for name in ("core.js", "links.js"))
    for target in build.BUILDS:
        source = target.source()
        assert core in source or target.output == "footfall-links.js"
        assert links in source or target.output == "footfall.js"
        entry = (build.HERE / target.entry).read_text()
        for behaviour in (
            "sendBeacon",
            "pushState",
            "data-footfall-event",
            "webdriver",
            "File Download",
        ):
            assert behaviour not in entry, f"{behaviour} belongs in core.js, not {target.entry}"
