"""No input ever yields a 5xx: generated bodies against a real server."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BROWSER_UA, count_rows

ALLOWED = {202, 400, 413, 415}
SITE = "https://example.com"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
urlish = st.one_of(
    st.text(),
    st.builds(lambda path: SITE + "/" + path, st.text()),
    st.sampled_from(
        [
            "/",
            "//",
            "http://",
            "https://[::1",
            "https://ex ample.com/",
            "ftp://x/y",
            "https://example.com:99999/",
            "javascript:alert(1)",
            "/%00%ff",
            "\x00",
        ]
    ),
)
payloads = st.fixed_dictionaries(
    {},
    optional={
        "n": st.one_of(st.sampled_from(["pageview", "Signup", ""]), json_values),
        "name": json_values,
        "u": st.one_of(urlish, json_values),
        "url": urlish,
        "path": urlish,
        "d": json_values,
        "r": st.one_of(urlish, json_values),
        "p": st.one_of(json_values, st.dictionaries(st.text(), json_values, max_size=35)),
        "props": json_values,
        "i": json_values,
        "h": json_values,
    },
)
bodies = st.one_of(
    st.binary(max_size=600),
    json_values.map(lambda v: json.dumps(v).encode()),
    payloads.map(lambda v: json.dumps(v).encode()),
)
content_types = st.sampled_from(
    ["application/json", "text/plain", "text/plain;charset=UTF-8", "", "application/xml"]
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):  # type: ignore[no-untyped-def]
    """One server for every generated example (sqlite only: this is about the HTTP edge)."""
    import threading
    import time

    import httpx
    import uvicorn

    from conftest import free_port
    from footfall import Analytics

    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    analytics = Analytics(database_url=f"sqlite:///{path}", rate_limit_per_minute=None)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            analytics.app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # a bounded condition wait for start-up
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.01)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client, path
    server.should_exit = True
    thread.join(10)


def insane_rows(database: Path) -> int:
    """Stored events whose path does not start with ``/`` or whose name is blank or padded:
    what no input may ever store."""
    with closing(sqlite3.connect(database)) as conn:
        (count,) = conn.execute(
            "SELECT (SELECT count(*) FROM page_view WHERE path NOT LIKE '/%')"
            " + (SELECT count(*) FROM custom_event"
            "    WHERE path NOT LIKE '/%' OR trim(name) = '' OR trim(name) != name)"
        ).fetchone()
    return int(count)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, content_type=content_types)
def test_generated_bodies_never_cause_a_server_error(fuzz_server, body, content_type):  # type: ignore[no-untyped-def]
    client, database = fuzz_server
    headers = {"User-Agent": BROWSER_UA}
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post("/api/data/analytics/event", content=body, headers=headers)
    assert response.status_code in ALLOWED, (response.status_code, body, response.text)
    if response.status_code == 400:
        assert response.json()["field"]
    if response.status_code == 202:  # answered once stored: what was stored is sane
        assert insane_rows(database) == 0, body


# (payload, status): the kinds of input the fuzzing tries, each with its answer.
EDGE_CASES = [
    ({"url": SITE + "/ok"}, 202),
    ({"n": "  Signup  ", "u": SITE + "/pricing"}, 202),  # the name is stripped
    ({"n": "pageview", "u": "//"}, 202),  # a path: "/"
    ({"u": "//evil.example/x"}, 202),  # a scheme-relative URL: the path is "/x"
    ({"u": "/%00%ff"}, 202),
    ({"u": "https://[::1"}, 400),
    ({"u": "http://"}, 400),
    ({"u": "ftp://x/y"}, 400),
    ({"u": "javascript:alert(1)"}, 400),
    ({"u": "https://example.com:99999/"}, 202),  # the port is not ours to check: "/"
    ({"u": "\x00"}, 400),
    ({"u": "pricing"}, 400),  # neither absolute nor a path
    ({"n": "", "u": SITE + "/"}, 400),
    ({"n": "   ", "u": SITE + "/"}, 400),
    ({"n": ["pageview"], "u": SITE + "/"}, 400),
    ({}, 400),
]


def test_only_valid_events_are_stored(serve, make_analytics, tmp_path):  # type: ignore[no-untyped-def]
    """Independent of the fuzzing: a server of its own, fixed inputs, known answers."""
    url = f"sqlite:///{tmp_path / 'edges.db'}"
    server = serve(make_analytics(url, rate_limit_per_minute=None))
    for payload, status in EDGE_CASES:
        response = server.client.post(
            "/api/data/analytics/event", json=payload, headers={"User-Agent": BROWSER_UA}
        )
        assert response.status_code == status, (payload, response.text)
        assert "x-footfall-dropped" not in response.headers, payload
    assert insane_rows(tmp_path / "edges.db") == 0
    # 6 accepted: 5 page views ("/ok", "/" twice, "/x", "/%00%ff"), the Signup on /pricing.
    assert count_rows(url, "page_view") == 5
    assert count_rows(url, "page_view", "WHERE path IN ('/ok', '/', '/x', '/%00%ff')") == 5
    assert count_rows(url, "custom_event", "WHERE name = 'Signup' AND path = '/pricing'") == 1
