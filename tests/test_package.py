"""footfall installs like any package: ``python -m build`` makes an sdist and, from it, a
wheel holding everything (templates, assets, the tracker, the migrations), and the wheel
installed into a new virtual environment runs the demo and the server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import httpx

from conftest import start_serve, stop_serve

ROOT = Path(__file__).resolve().parents[1]


def _build(dist: Path) -> None:
    """sdist, then the wheel from it; without leaving setuptools' files in the checkout."""
    left = [ROOT / "build", ROOT / "src" / "footfall.egg-info"]
    there = [path.exists() for path in left]
    try:
        subprocess.run(
            [sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
            check=True,
            capture_output=True,
        )
    finally:
        for path, existed in zip(left, there, strict=True):
            if not existed:
                shutil.rmtree(path, ignore_errors=True)


def test_the_built_wheel_installs_and_runs_in_a_new_environment(tmp_path):
    dist = tmp_path / "dist"
    _build(dist)
    # The new environment sees neither the checkout nor the test's own environment.
    alone = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    (wheel,) = dist.glob("footfall-*.whl")
    assert len(list(dist.glob("footfall-*.tar.gz"))) == 1
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "footfall/dashboard/templates/dashboard.html",
        "footfall/dashboard/assets/dashboard.css",
        "footfall/tracker/footfall.js",
        "footfall/store/migrations/env.py",
        "footfall/store/migrations/versions/0001_initial.py",
        "footfall/py.typed",
    ):
        assert needed in names, needed
    assert not [n for n in names if n.startswith("tests/")]

    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
        env=alone,
    )
    footfall = environment / "bin" / "footfall"
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo = subprocess.run(
        [str(footfall), "demo", "--database", url, "--pageviews", "500", "--no-serve"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the checkout: the installed package must stand alone
        env=alone,
    )
    assert demo.returncode == 0, demo.stderr
    assert "Wrote" in demo.stdout

    base, server = start_serve(url, footfall=footfall, cwd=tmp_path, env=alone)
    try:
        script = httpx.get(f"{base}/api/data/analytics/script.js")
        assert script.status_code == 200 and "sendBeacon" in script.text
        stylesheet = httpx.get(f"{base}/pages/analytics/assets/dashboard.css")
        assert stylesheet.status_code == 200
        token = subprocess.run(
            [str(footfall), "token", "--database", url], capture_output=True, text=True, env=alone
        ).stdout.strip()
        page = httpx.get(f"{base}/pages/analytics?token={token}", follow_redirects=True)
        assert page.status_code == 200 and "Unique visitors" in page.text
    finally:
        stop_serve(server)
