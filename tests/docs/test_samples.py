"""Every code sample in docs/*.md and README.md runs, or is checked, here.

The convention (README.md, "Documentation", points here):

- ```python blocks run, top to bottom, the blocks of one page sharing one namespace (like a
  notebook), with ``await`` allowed at the top level and the working directory a fresh
  temporary directory, so ``sqlite:///footfall.db`` is a new, empty SQLite file.
  ``FOOTFALL_DATABASE`` points at another such file. Every ``Analytics`` left in the
  namespace is closed afterwards.
- A block preceded by ``<!-- sample: compile -->`` is compiled, not run: for fragments that
  only make sense inside a framework application.
- ```sh lines (and a systemd unit's ``ExecStart``, and a crontab's command) are checked by
  program: ``footfall`` commands name a real subcommand and real options and environment
  variables; ``curl`` commands run against a live footfall server on 127.0.0.1 (with
  ``--fail``); ``./dev`` commands exist in the dev script; ``bench/`` scripts exist and
  define the options used; ``uvicorn``, ``mkdocs`` and ``pip`` list the options used in
  their ``--help``. Only the setup commands in ``NOT_RUN`` are not checked.
- ```json blocks parse; ```jinja blocks compile; ```ini blocks parse as systemd units.
  ```html, ```nginx, ```text and plain blocks are shown, not checked. Any other language
  fails the test until a check is added for it.
"""

from __future__ import annotations

import ast
import asyncio
import configparser
import inspect
import json
import os
import re
import shlex
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import jinja2
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from conftest import BROWSER_UA, RunningServer
from footfall import Analytics
from footfall.cli import main

ROOT = Path(__file__).resolve().parents[2]
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
VENV_BIN = ROOT / ".venv" / "bin"
TOKEN = "docs-sample-token"

CHECKED = {"python", "sh", "json", "jinja", "ini", "cron"}
SHOWN = {"html", "nginx", "text", ""}
NOT_RUN = {"git", "cd", "python3", "gzip", "systemctl", "journalctl"}
"""Setup commands the samples show but this test does not run."""

FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[ \t]*$")
MARKER = re.compile(r"^\s*<!-- sample: (?P<kind>[\w-]+) -->\s*$")


@dataclass(frozen=True)
class Sample:
    page: Path
    line: int
    lang: str
    code: str
    marker: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def samples(page: Path) -> list[Sample]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Sample] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, start = match.group("indent"), i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            line = lines[i]
            body.append(line[len(indent) :] if line.startswith(indent) else line)
            i += 1
        if i == len(lines):
            raise AssertionError(f"{page.name}:{start + 1}: unclosed code fence")
        previous = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        marker = MARKER.match(previous)
        found.append(
            Sample(
                page,
                start + 1,
                match.group("lang"),
                "\n".join(body) + "\n",
                marker.group("kind") if marker else None,
            )
        )
        i += 1
    return found


ALL = [sample for page in PAGES for sample in samples(page)]


def test_every_sample_has_a_known_language() -> None:
    unknown = [s.where + f" ({s.lang})" for s in ALL if s.lang not in CHECKED | SHOWN]
    assert not unknown, f"samples in a language no check covers: {unknown}"
    markers = [s.where for s in ALL if s.marker not in (None, "compile")]
    assert not markers, f"unknown sample markers: {markers}"
    compiled = [s.where for s in ALL if s.marker == "compile" and s.lang != "python"]
    assert not compiled, f"only python samples can be compile-only: {compiled}"


# -- python ------------------------------------------------------------------------------------


def _python_pages() -> list[Path]:
    return [page for page in PAGES if any(s.lang == "python" for s in samples(page))]


def run_python(page_samples: list[Sample], namespace: dict[str, Any]) -> None:
    loop = asyncio.new_event_loop()
    try:
        for sample in page_samples:
            code = compile(sample.code, sample.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            if sample.marker == "compile":
                continue
            if code.co_flags & inspect.CO_COROUTINE:
                loop.run_until_complete(eval(code, namespace))
            else:
                exec(code, namespace)
    finally:
        for value in list(namespace.values()):
            if isinstance(value, Analytics):
                value.close()
        loop.close()


@pytest.fixture
def sample_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FOOTFALL_DATABASE", f"sqlite:///{tmp_path / 'env.db'}")
    return tmp_path


@pytest.mark.parametrize("page", _python_pages(), ids=lambda p: p.name)
def test_python_samples_run(page: Path, sample_dir: Path) -> None:
    page_samples = [s for s in samples(page) if s.lang == "python"]
    run_python(page_samples, {"__name__": "__docs_sample__"})


def test_a_failing_python_sample_fails(sample_dir: Path) -> None:
    bad = Sample(ROOT / "README.md", 1, "python", "import footfall\nfootfall.no_such_name\n", None)
    with pytest.raises(AttributeError):
        run_python([bad], {})


def test_quickstart_app_takes_an_event_and_shows_the_dashboard(sample_dir: Path) -> None:
    """The quick start's app, served: an event is stored, the login link opens the
    dashboard, and the app's own route still answers."""
    (block,) = [s for s in samples(ROOT / "docs" / "quickstart.md") if s.lang == "python"]
    namespace: dict[str, Any] = {"__name__": "app"}
    exec(compile(block.code, block.where, "exec"), namespace)
    try:
        with TestClient(namespace["app"], base_url="http://127.0.0.1:8000") as client:
            assert client.get("/").json() == {"hello": "world"}
            sent = client.post(
                "/api/data/analytics/event",
                json={"name": "pageview", "url": "http://127.0.0.1:8000/"},
                headers={"User-Agent": BROWSER_UA},
            )
            assert sent.status_code == 202, sent.text
            assert "x-footfall-dropped" not in sent.headers
            login = client.get(
                "/pages/analytics?token=replace-with-a-long-random-token", follow_redirects=False
            )
            assert login.status_code == 303
            page = client.get("/pages/analytics")
            assert page.status_code == 200
            stats = namespace["analytics"].api.get_dashboard_stats_sync(range="today")
            assert stats.pageviews.value == 1
    finally:
        namespace["analytics"].close()


# -- shell -------------------------------------------------------------------------------------


def commands(text: str) -> Iterator[str]:
    """Each command of a shell sample: continuations joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    pending = ""
    for line in joined.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending = f"{pending}\n{line}" if pending else line.strip()
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # a quoted argument goes on over the next line
            continue
        yield pending
        pending = ""
    assert not pending, f"unclosed quote in {pending!r}"


def split_pipeline(command: str) -> list[list[str]]:
    words = shlex.split(command, comments=True)
    if "[" in command:  # a synopsis: its | separates alternatives
        return [words]
    parts: list[list[str]] = [[]]
    for word in words:
        if word in ("|", "&&", ";"):
            parts.append([])
        else:
            parts[-1].append(word)
    return [p for p in parts if p]


def strip_env(words: list[str]) -> tuple[dict[str, str], list[str]]:
    env: dict[str, str] = {}
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        name, _, value = words[0].partition("=")
        env[name] = value
        words = words[1:]
    return env, words


def options_in(words: list[str]) -> list[str]:
    """``--name`` options of a command line or synopsis (``[--a X | --b]`` included)."""
    found = []
    for word in words:
        for piece in re.split(r"[\[\]|]", word):
            piece = piece.split("=", 1)[0]
            if piece.startswith("--"):
                found.append(piece)
    return found


def check_footfall(words: list[str], env: dict[str, str]) -> None:
    args = words[1:]
    if args == ["--version"]:
        result = CliRunner().invoke(main, ["--version"])
        assert result.exit_code == 0, result.output
        return
    assert args, "a bare footfall command"
    command: click.Command | None = main
    names: list[str] = []  # the command's words: ["geoip", "update"]
    while isinstance(command, click.Group) and len(names) < len(args):
        names.append(args[len(names)])
        command = command.commands.get(names[-1])
        assert command is not None, f"footfall has no command {' '.join(names)!r}"
    assert command is not None and not isinstance(command, click.Group), args
    name = " ".join(names)
    known = {opt for p in command.params for opt in [*p.opts, *getattr(p, "secondary_opts", [])]}
    for option in options_in(args[len(names) :]):
        assert option in known, f"footfall {name} has no option {option}"
    envvars = {p.envvar for p in command.params if isinstance(p, click.Option)}
    for variable in env:
        if variable.startswith("FOOTFALL_"):
            assert variable in envvars, f"footfall {name} reads no {variable}"
    if not any(c in " ".join(args) for c in "[]<>|") and "FILE" not in args:
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0, result.output


def check_dev(words: list[str]) -> None:
    script = (ROOT / "dev").read_text()
    assert re.search(rf"^\s+{re.escape(words[1])}\)", script, re.MULTILINE), words


def check_bench(words: list[str]) -> None:
    script = next(w for w in words if w.startswith("bench/"))
    source = (ROOT / script).read_text()
    for option in options_in(words):
        assert f'"{option}"' in source, f"{script} defines no {option}"


def check_venv_tool(words: list[str]) -> None:
    tool = Path(words[0]).name
    subcommand = [words[1]] if tool in ("mkdocs", "pip") else []
    result = subprocess.run(
        [str(VENV_BIN / tool), *subcommand, "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    for option in options_in(words):
        assert option in result.stdout, f"{tool} has no option {option}"


def check_command(command: str, run_curl: Callable[[str], None] | None) -> None:
    for words in split_pipeline(command):
        env, words = strip_env(words)
        if ">" in words:
            words = words[: words.index(">")]
        program = Path(words[0]).name
        if program == "footfall":
            check_footfall(words, env)
        elif program == "curl":
            assert run_curl is not None, "curl needs the live server"
            run_curl(command)
            return
        elif words[0] == "./dev":
            check_dev(words)
        elif any(w.startswith("bench/") for w in words):
            check_bench(words)
        elif program in ("uvicorn", "mkdocs", "pip"):
            check_venv_tool(words)
        else:
            assert program in NOT_RUN, f"no check for the command {program!r}: {command}"


def _shell_commands() -> list[tuple[str, str]]:
    found = []
    for sample in ALL:
        if sample.lang == "sh":
            found += [(sample.where, c) for c in commands(sample.code)]
        elif sample.lang == "cron":
            for line in commands(sample.code):
                found.append((sample.where, " ".join(line.split()[5:])))
        elif sample.lang == "ini":
            unit = configparser.ConfigParser(strict=False, interpolation=None)
            unit.optionxform = str  # type: ignore[assignment,method-assign]
            unit.read_string(sample.code)
            found.append((sample.where, unit["Service"]["ExecStart"]))
    return found


@pytest.fixture
def live_server(
    serve: Callable[[Analytics], RunningServer], tmp_path: Path
) -> Iterator[RunningServer]:
    analytics = Analytics(database_url=f"sqlite:///{tmp_path / 'live.db'}", admin_token=TOKEN)
    try:
        yield serve(analytics)
    finally:
        analytics.close()


@pytest.mark.parametrize(("where", "command"), _shell_commands())
def test_shell_commands(
    where: str, command: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    def run_curl(text: str) -> None:
        server: RunningServer = request.getfixturevalue("live_server")
        for local in ("http://localhost:8000", "http://127.0.0.1:8000"):
            text = text.replace(local, server.url)
        assert server.url in text, f"{where}: curl to an address the test cannot serve"
        text = text.replace("curl ", "curl --fail --silent --show-error ", 1)
        result = subprocess.run(
            ["bash", "-c", text],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "FOOTFALL_ADMIN_TOKEN": TOKEN},
        )
        assert result.returncode == 0, f"{where}: {result.stderr}"

    check_command(command, run_curl)


def test_an_unknown_footfall_option_fails() -> None:
    with pytest.raises(AssertionError, match="no option --no-such-flag"):
        check_command("footfall serve --no-such-flag", None)
    with pytest.raises(AssertionError, match="no check for the command"):
        check_command("rm -rf /tmp/nothing", None)


# -- data formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample", [s for s in ALL if s.lang in ("json", "jinja", "ini")], ids=lambda s: s.where
)
def test_data_samples_parse(sample: Sample) -> None:
    if sample.lang == "json":
        try:
            json.loads(sample.code)
        except json.JSONDecodeError:  # one JSON document per line
            for line in sample.code.splitlines():
                if line.strip():
                    json.loads(line)
    elif sample.lang == "jinja":
        jinja2.Environment().parse(sample.code)
    else:
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.read_string(sample.code)
        assert {"Unit", "Service", "Install"} <= set(unit.sections())
