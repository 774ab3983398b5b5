"""The tracker's routes through a real uvicorn server: content type, caching, 304s, the
hashed name, and the ``<script>`` tag that templates and the middleware write."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from importlib.resources import files

import pytest

from conftest import RunningServer
from footfall import Analytics, Config
from footfall.tracker import QUEUE_STUB, asset, script_tag, script_url

BASE = "/api/data/analytics"
PLAIN = {"Accept-Encoding": "identity"}
SCRIPT = (files("footfall.tracker") / "footfall.js").read_bytes()
VERSION = hashlib.sha256(SCRIPT).hexdigest()[:16]


@pytest.fixture
def server(
    serve: Callable[[Analytics], RunningServer],
    make_analytics: Callable[..., Analytics],
    sqlite_url: str,
) -> RunningServer:
    return serve(make_analytics(sqlite_url))


def test_script_is_served_with_a_strong_etag_and_a_days_caching(server: RunningServer) -> None:
    response = server.client.get(f"{BASE}/script.js", headers=PLAIN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.content == SCRIPT
    assert response.headers["etag"] == f'"{VERSION}"'
    assert response.headers["cache-control"] == "public, max-age=86400"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-encoding" not in response.headers


@pytest.mark.parametrize("sent", [f'"{VERSION}"', f'W/"{VERSION}"', f'"other", "{VERSION}"', "*"])
def test_matching_if_none_match_gets_304_without_a_body(server: RunningServer, sent: str) -> None:
    response = server.client.get(f"{BASE}/script.js", headers={**PLAIN, "If-None-Match": sent})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == f'"{VERSION}"'
    assert response.headers["cache-control"] == "public, max-age=86400"


def test_a_stale_etag_gets_the_script(server: RunningServer) -> None:
    response = server.client.get(f"{BASE}/script.js", headers={**PLAIN, "If-None-Match": '"0"'})
    assert response.status_code == 200
    assert response.content == SCRIPT


def test_gzip_is_its_own_representation(server: RunningServer) -> None:
    response = server.client.get(f"{BASE}/script.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["etag"] == f'"{VERSION}-gz"'
    assert response.content == SCRIPT  # httpx decoded it
    assert int(response.headers["content-length"]) < 1000
    again = server.client.get(
        f"{BASE}/script.js",
        headers={"Accept-Encoding": "gzip", "If-None-Match": f'"{VERSION}-gz"'},
    )
    assert again.status_code == 304


@pytest.mark.parametrize("path", [f"{BASE}/script.{VERSION}.js", f"{BASE}/script.js?v={VERSION}"])
def test_the_hashed_url_is_immutable(server: RunningServer, path: str) -> None:
    response = server.client.get(path, headers=PLAIN)
    assert response.status_code == 200
    assert response.content == SCRIPT
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_an_old_hash_still_gets_the_current_script_but_not_forever(server: RunningServer) -> None:
    response = server.client.get(f"{BASE}/script.0123456789abcdef.js", headers=PLAIN)
    assert response.status_code == 200
    assert response.content == SCRIPT
    assert response.headers["cache-control"] == "public, max-age=86400"


def test_the_es_module_is_served_too(server: RunningServer) -> None:
    response = server.client.get(f"{BASE}/footfall.mjs", headers=PLAIN)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert b"export{" in response.content
    assert response.content == (files("footfall.tracker") / "footfall.mjs").read_bytes()


def test_head_answers_without_a_body(server: RunningServer) -> None:
    response = server.client.head(f"{BASE}/script.js", headers=PLAIN)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["etag"] == f'"{VERSION}"'


def test_the_url_the_helper_writes_is_served(server: RunningServer) -> None:
    url = script_url(server.analytics)
    assert url == f"{BASE}/script.{VERSION}.js"
    response = server.client.get(url, headers=PLAIN)
    assert response.status_code == 200
    assert response.headers["cache-control"].endswith("immutable")


def test_script_tag_defaults() -> None:
    assert asset().version == VERSION
    tag = script_tag(Config())
    assert tag == f'<script defer src="/api/data/analytics/script.{VERSION}.js"></script>'


def test_script_tag_options_become_data_attributes() -> None:
    tag = script_tag(
        Config(api_base_path="/stats"),
        initial_pageview=False,
        base_url="https://stats.example.com/",
        hash_routing=True,
        outbound_links=True,
        file_downloads=True,
        include_localhost=True,
        versioned=False,
    )
    assert tag == (
        '<script defer src="https://stats.example.com/stats/analytics/script.js"'
        ' data-hash="true" data-outbound-links="true" data-file-downloads="true"'
        ' data-include-localhost="true" data-initial-pageview="false"></script>'
    )


def test_script_tag_escapes_what_it_is_given() -> None:
    tag = script_tag(Config(), api='https://x.example/"><script>alert(1)</script>')
    assert "<script>alert" not in tag
    assert 'data-api="https://x.example/&quot;&gt;&lt;script&gt;' in tag


def test_the_queue_stub_is_what_the_tracker_replays() -> None:
    # The tracker replays window.footfall.q only from a stub that has one (a real tracker
    # has none); a stub of another shape would be taken for a loaded tracker.
    assert QUEUE_STUB.startswith("window.footfall=window.footfall||{q:[]")
    assert b".q.map(" in SCRIPT


def test_the_gzipped_copy_is_the_script() -> None:
    assert gzip.decompress(asset().gzipped) == SCRIPT
