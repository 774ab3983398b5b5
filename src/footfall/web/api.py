"""The JSON aggregation API under ``{api_base_path}/analytics/``: thin glue over
``analytics.api``, so HTTP and Python always return the same numbers.

Each endpoint is declared once in ``ENDPOINTS``; the routes and the OpenAPI description are
both built from that table.
"""

from __future__ import annotations

import asyncio
import dataclasses
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from footfall._version import __version__
from footfall.query import results
from footfall.query.filters import Filters, is_property_param
from footfall.query.ranges import RANGES, InvalidQuery
from footfall.query.visit_reports import UTM_TAGS
from footfall.web.auth import HOW_TO, is_authorized
from footfall.web.download import Download, Slots

if TYPE_CHECKING:
    from footfall.analytics import Analytics
    from footfall.api import AnalyticsAPI

Call = Callable[["AnalyticsAPI", Request, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    path: str
    summary: str
    result: type
    many: bool
    call: Call
    params: tuple[str, ...] = ("range", "from", "to", "limit", *Filters.params())
    public_with_counters: bool = False


def _list(method: str) -> Call:
    async def call(api: AnalyticsAPI, _request: Request, p: dict[str, Any]) -> Any:
        return await getattr(api, method)(p.pop("limit"), p.pop("range"), **p)

    return call


async def _stats(api: AnalyticsAPI, _r: Request, p: dict[str, Any]) -> Any:
    p.pop("limit")
    return await api.get_dashboard_stats(p.pop("range"), **p)


async def _timeseries(api: AnalyticsAPI, request: Request, p: dict[str, Any]) -> Any:
    p.pop("limit")
    compare = request.query_params.get("compare") or None
    return await api.get_timeseries(p.pop("range"), compare=compare, **p)


def _list_of(param: str, method: str) -> Call:
    """A list whose ``AnalyticsAPI`` method first takes the query parameter ``param``
    (``event-properties?name=Signup``: ``get_event_properties("Signup", limit, range)``)."""

    async def call(api: AnalyticsAPI, request: Request, p: dict[str, Any]) -> Any:
        first = request.query_params.get(param, "")
        return await getattr(api, method)(first, p.pop("limit"), p.pop("range"), **p)

    return call


async def _goals(api: AnalyticsAPI, _r: Request, p: dict[str, Any]) -> Any:
    p.pop("limit")
    return await api.get_goals(p.pop("range"), **p)


async def _funnel(api: AnalyticsAPI, request: Request, p: dict[str, Any]) -> Any:
    p.pop("limit")
    return await api.get_funnel(request.query_params.get("name", ""), p.pop("range"), **p)


async def _realtime(api: AnalyticsAPI, _r: Request, _p: dict[str, Any]) -> Any:
    return await api.get_realtime_visitors()


async def _page_stats(api: AnalyticsAPI, request: Request, p: dict[str, Any]) -> Any:
    given = request.query_params.get("range")
    range = given or ("custom" if p["from_date"] or p["to_date"] else "all")
    return await api.get_page_stats(
        request.query_params.get("path", ""),
        range,
        from_date=p["from_date"],
        to_date=p["to_date"],
    )


ENDPOINTS = (
    Endpoint(
        "stats",
        "Top stats with the previous period and the change",
        results.DashboardStats,
        False,
        _stats,
    ),
    Endpoint(
        "overview",
        "Top stats with referrers, countries, devices, browsers and OS, in one pass",
        results.Overview,
        False,
        _list("get_overview"),
    ),
    Endpoint(
        "timeseries",
        "Visitors, visits and page views over time",
        results.Timeseries,
        False,
        _timeseries,
        params=("range", "from", "to", "limit", "compare", *Filters.params()),
    ),
    Endpoint(
        "top-pages",
        "Most visited pages, with sparklines",
        results.TopPage,
        True,
        _list("get_top_pages"),
    ),
    Endpoint(
        "entry-pages",
        "Pages visits began on, with entrances and bounce rate",
        results.EntryPage,
        True,
        _list("get_entry_pages"),
    ),
    Endpoint(
        "exit-pages",
        "Pages visits ended on, with exits and exit rate",
        results.ExitPage,
        True,
        _list("get_exit_pages"),
    ),
    Endpoint(
        "goals",
        "The configured goals: unique and total conversions, conversion rate",
        results.GoalConversion,
        True,
        _goals,
        params=("range", "from", "to", *Filters.params()),
    ),
    Endpoint(
        "funnel",
        "A funnel of the configuration (name=...): visitors and drop-off per step",
        results.FunnelReport,
        False,
        _funnel,
        params=("name", "range", "from", "to", *Filters.params()),
    ),
    Endpoint(
        "channels",
        "Visits by channel (Direct, Organic Search, Paid Search, Organic Social, ...)",
        results.Breakdown,
        True,
        _list("get_channels"),
    ),
    Endpoint(
        "utm",
        "Tagged visits by a UTM tag's value (tag=utm_medium, utm_source, ...)",
        results.Breakdown,
        True,
        _list_of("tag", "get_utm"),
        params=("tag", "range", "from", "to", "limit", *Filters.params()),
    ),
    Endpoint(
        "top-referrers",
        "Referrer sources of visits",
        results.TopReferrer,
        True,
        _list("get_top_referrers"),
    ),
    Endpoint(
        "top-events", "Custom events by visitors", results.TopEvent, True, _list("get_top_events")
    ),
    Endpoint(
        "event-properties",
        "Property breakdown of one custom event (name=...)",
        results.EventProperty,
        True,
        _list_of("name", "get_event_properties"),
        params=("name", "range", "from", "to", "limit", *Filters.params()),
    ),
    Endpoint(
        "property-keys",
        "Property keys of page views and custom events, by visitors",
        results.Breakdown,
        True,
        _list("get_property_keys"),
    ),
    Endpoint(
        "properties",
        "Values of one property (key=...) over page views and custom events",
        results.EventProperty,
        True,
        _list_of("key", "get_properties"),
        params=("key", "range", "from", "to", "limit", *Filters.params()),
    ),
    Endpoint(
        "regions",
        "Regions of visits, in their countries (with a city-level database)",
        results.Location,
        True,
        _list("get_regions"),
    ),
    Endpoint(
        "cities",
        "Cities of visits, in their countries (with a city-level database)",
        results.Location,
        True,
        _list("get_cities"),
    ),
    Endpoint(
        "versions",
        "Visits by browser or OS version (of=browser or of=os)",
        results.Breakdown,
        True,
        _list_of("of", "get_versions"),
        params=("of", "range", "from", "to", "limit", *Filters.params()),
    ),
    Endpoint(
        "top-countries", "Countries of visits", results.Breakdown, True, _list("get_top_countries")
    ),
    Endpoint("top-devices", "Devices of visits", results.Breakdown, True, _list("get_top_devices")),
    Endpoint(
        "top-browsers", "Browsers of visits", results.Breakdown, True, _list("get_top_browsers")
    ),
    Endpoint("top-os", "Operating systems of visits", results.Breakdown, True, _list("get_top_os")),
    Endpoint(
        "realtime",
        "Visitors in the last five minutes",
        results.Realtime,
        False,
        _realtime,
        params=(),
    ),
    Endpoint(
        "page-stats",
        "Page views and visitors of one page (path=...; range=all)",
        results.PageStats,
        False,
        _page_stats,
        params=("path", "range", "from", "to"),
        public_with_counters=True,
    ),
)


def api_routes(analytics: Analytics, base: str) -> list[Route]:
    routes = [Route(f"{base}/{e.path}", _handler(analytics, e), methods=["GET"]) for e in ENDPOINTS]
    routes.append(Route(f"{base}/openapi.json", _openapi_handler(analytics), methods=["GET"]))
    return routes


def _handler(analytics: Analytics, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        public = endpoint.public_with_counters and analytics.config.public_counters
        if not public and not await is_authorized(request, analytics):
            return forbidden()
        try:
            _refuse_unknown(request, endpoint)
            params = read_params(request)
            result = await endpoint.call(analytics.api, request, params)
        except InvalidQuery as invalid:
            return JSONResponse(
                {"error": f"{invalid.param}: {invalid.message}", "field": invalid.param}, 400
            )
        body = {"results": [r.to_dict() for r in result]} if endpoint.many else result.to_dict()
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return handle


def _refuse_unknown(request: Request, endpoint: Endpoint) -> None:
    """A parameter the endpoint does not take is an error, not ignored: a misspelt filter
    (``?contry=DE``) would otherwise answer with the unfiltered numbers."""
    filtered = "page" in endpoint.params
    for name in request.query_params:
        if name not in endpoint.params and not (filtered and is_property_param(name)):
            takes = ", ".join(endpoint.params) + (", prop:<key>" if filtered else "")
            raise InvalidQuery(name, f"unknown parameter; this endpoint takes {takes}")


def read_params(request: Request) -> dict[str, Any]:
    """``range``, ``from``/``to``, ``limit`` and the filters, checked."""
    query = request.query_params
    limit_text = query.get("limit", "10")
    # isascii(): "²".isdigit() is true, and int("²") raises; five digits: a 4,301-digit
    # number raises too (Python's limit on converting long strings).
    if not (limit_text.isascii() and limit_text.isdigit() and len(limit_text) <= 4):
        raise InvalidQuery("limit", "must be a whole number from 1 to 1000")
    params: dict[str, Any] = {
        "range": query.get("range")
        or ("custom" if query.get("from") or query.get("to") else "30d"),
        "from_date": query.get("from") or None,
        "to_date": query.get("to") or None,
        "limit": int(limit_text),
    }
    params.update(Filters.from_params(query).to_dict())
    return params


def forbidden() -> JSONResponse:
    return JSONResponse({"error": HOW_TO}, status_code=403, headers={"Cache-Control": "no-store"})


def _openapi_handler(analytics: Analytics) -> Callable[[Request], Awaitable[Response]]:
    async def handle(_request: Request) -> Response:
        return JSONResponse(openapi(analytics.config.api_base_path))

    return handle


_OPERATOR_READS = {
    "": "is one of",
    "!": "is none of",
    "~": "contains one of",
    "!~": "contains none of",
}
"""How each operator suffix of a filter (``OPERATORS``) reads in the OpenAPI description."""

_PARAMS: dict[str, dict[str, Any]] = {
    "range": {
        "schema": {"type": "string", "enum": list(RANGES[:-1])},
        "description": "Period, in the site's time zone (default 30d).",
    },
    "from": {
        "schema": {"type": "string", "format": "date"},
        "description": "First day of a custom period (with to).",
    },
    "to": {
        "schema": {"type": "string", "format": "date"},
        "description": "Last day of a custom period, inclusive.",
    },
    "limit": {"schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10}},
    "name": {"schema": {"type": "string"}, "description": "The custom event's name."},
    "key": {"schema": {"type": "string"}, "description": "The property's key."},
    "of": {
        "schema": {"type": "string", "enum": ["browser", "os"]},
        "description": "What's versions.",
    },
    "compare": {
        "schema": {"type": "string", "enum": ["previous", "year"]},
        "description": "Also the period of equal length before, or the same days a year earlier.",
    },
    "path": {"schema": {"type": "string"}, "description": "The page's path, e.g. /blog/x."},
    "tag": {
        "schema": {"type": "string", "enum": list(UTM_TAGS)},
        "description": "The UTM tag.",
    },
    **{
        name + suffix: {
            "schema": {"type": "string"},
            "description": f"Filter: only visits whose {name} {reads} these values "
            "(separated by |).",
        }
        for name in Filters.names()
        for suffix, reads in _OPERATOR_READS.items()
    },
}


def openapi(api_base_path: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the aggregation API, from ``ENDPOINTS``."""
    base = f"{api_base_path}/analytics"
    schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for e in ENDPOINTS:
        name = _schema(e.result, schemas)
        ref = {"$ref": f"#/components/schemas/{name}"}
        body = (
            {"type": "object", "properties": {"results": {"type": "array", "items": ref}}}
            if e.many
            else ref
        )
        paths[f"{base}/{e.path}"] = {
            "get": {
                "summary": e.summary,
                "operationId": e.path.replace("-", "_"),
                "parameters": [{"name": p, "in": "query", **_PARAMS[p]} for p in e.params],
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {"schema": body}}},
                    "400": {"description": "A parameter is invalid; `field` names it"},
                    "403": {"description": "Not authorised; the message says how to be"},
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "footfall aggregation API", "version": __version__},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


def _schema(cls: type, schemas: dict[str, Any]) -> str:
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        properties[f.name] = _type_schema(hints[f.name], schemas)
        doc = _field_doc(cls, f.name)
        if doc:
            properties[f.name]["description"] = doc
    schemas[cls.__name__] = {
        "type": "object",
        "properties": properties,
        "required": [f.name for f in dataclasses.fields(cls)],
    }
    return cls.__name__


def _type_schema(hint: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return {**_type_schema(options[0], schemas), "nullable": True}
    if origin is list:
        return {"type": "array", "items": _type_schema(typing.get_args(hint)[0], schemas)}
    if dataclasses.is_dataclass(hint):
        return {"$ref": f"#/components/schemas/{_schema(hint, schemas)}"}
    return {"type": {int: "integer", float: "number", str: "string", bool: "boolean"}[hint]}


def _field_doc(cls: type, name: str) -> str | None:
    """The docstring written under a dataclass field, if any."""
    import ast
    import inspect

    try:
        tree = ast.parse(inspect.getsource(cls))
    except (OSError, TypeError):
        return None
    body = tree.body[0].body  # type: ignore[attr-defined]
    for node, following in pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and getattr(node.target, "id", None) == name
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
        ):
            return " ".join(str(following.value.value).split())
    return None


def export_route(analytics: Analytics, base: str) -> Route:
    """``GET {base}/export.csv?range=...``: the raw events of a period as CSV, streamed."""
    slots = Slots()

    async def export(request: Request) -> Response | Download:
        from footfall.export import export_rows, iter_csv_bytes

        if not await is_authorized(request, analytics):
            return forbidden()
        try:
            params = read_params(request)
            period = await asyncio.to_thread(
                analytics.api.queries.period,
                params["range"],
                params["from_date"],
                params["to_date"],
            )
        except InvalidQuery as invalid:
            return JSONResponse(
                {"error": f"{invalid.param}: {invalid.message}", "field": invalid.param}, 400
            )
        rows = export_rows(analytics.store, period.start, period.end)
        first_day = period.start.astimezone(period.zone).date().isoformat()
        name = f"footfall-{period.range}-{first_day}.csv"
        return Download(
            iter_csv_bytes(rows),
            {
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
            slots,
        )

    return Route(f"{base}/export.csv", export, methods=["GET"])
