"""``footfall check``: the configuration a server would run with, where each value came
from, which events it drops and why, and whether its database can be used. Read-only: it
neither creates nor migrates anything."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from footfall._version import __version__
from footfall.config import Config
from footfall.geoip import FILE_NAME, STALE_DAYS, country_database_path
from footfall.ingest.geo import CountryLookup
from footfall.store.database import without_password

Echo = Callable[[str], None]

_FLAGS = {
    "database_url": "database",
    "rate_limit_per_minute": "rate_limit",
}
"""Options whose command-line flag has another name."""


def report(options: Mapping[str, Any], sources: Mapping[str, str], echo: Echo) -> bool:
    """Print the report of ``options`` (the ``Config`` options of the flags, whose
    ``sources`` say where each came from); False if anything would stop the server."""
    try:
        config = Config(**options)
    except ValueError as error:
        echo(f"configuration: refused: {error}")
        return False
    echo(f"footfall {__version__}, the configuration footfall serve would run with:")
    for name, value in _shown(config).items():
        source = sources.get(_FLAGS.get(name, name), "default")
        echo(f"  {name:<22}{value}  ({_SOURCE_NAMES.get(source, source)})")
    echo("events it drops (counted per reason, on the dashboard's dropped events):")
    for line in _drops(config):
        echo(f"  - {line}")
    return _check_database(config, echo) & _check_geoip(config, echo)


_SOURCE_NAMES = {"commandline": "flag", "environment": "FOOTFALL_ variable"}


def _shown(config: Config) -> dict[str, str]:
    token = "given" if config.admin_token else "the one kept in the database (footfall token)"
    return {
        "database_url": without_password(config.database_url),
        "admin_token": token,
        "timezone": config.timezone,
        "retention_days": str(config.retention_days),
        "hostnames": ", ".join(config.hostnames) if config.hostnames else "any",
        "exclude_paths": ", ".join(config.exclude_paths) or "none",
        "goals": ", ".join(goal.name for goal in config.goals) or "none",
        "funnels": ", ".join(funnel.name for funnel in config.funnels) or "none",
        "rate_limit_per_minute": str(config.rate_limit_per_minute or "no limit"),
        "public_counters": "yes" if config.public_counters else "no",
        "trusted_proxies": ", ".join(config.trusted_proxies) or "none",
        "country_header": config.country_header or "none",
        "geoip_database": str(config.geoip_database or f"none ({FILE_NAME} if present)"),
    }


def _drops(config: Config) -> list[str]:
    lines = [
        "bots: crawlers, monitors, headless browsers and requests without a User-Agent",
    ]
    if config.hostnames:
        lines.append(f"events for hosts other than {', '.join(config.hostnames)}")
    else:
        lines.append("none for their host: events for any host are kept (--hostname)")
    if config.exclude_paths:
        lines.append(f"paths matching {', '.join(config.exclude_paths)}")
    if config.rate_limit_per_minute:
        lines.append(
            f"over {config.rate_limit_per_minute} events a minute from one network (/24, /48)"
        )
    lines.append(
        "the browser tracker sends nothing from localhost or an automated browser "
        "(data-include-localhost counts localhost)"
    )
    return lines


def _check_database(config: Config, echo: Echo) -> bool:
    from footfall.store.database import create_store_engine

    try:
        engine = create_store_engine(config.database_url, create=False)
    except ValueError as error:
        echo(f"database: cannot be used: {error}")
        return False
    file = engine.url.database if engine.dialect.name == "sqlite" else None
    if file and not Path(file).exists():  # connecting would create it
        engine.dispose()
        echo(f"database: {file} does not exist yet: footfall serve creates it at start")
        return True
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            version_query = "SELECT sqlite_version()" if sqlite else "SHOW server_version"
            version = conn.execute(text(version_query)).scalar()
            tables = set(inspect(conn).get_table_names())
            state = _schema_state(conn)
            events = ""
            if {"page_view", "custom_event"} <= tables:
                from footfall.store.schema import custom_event, page_view

                counts = [
                    conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in (page_view, custom_event)
                ]
                events = f", {counts[0]:,} page views and {counts[1]:,} custom events"
    except DBAPIError as error:
        echo(f"database: cannot reach it: {error.orig or error}")
        return False
    finally:
        engine.dispose()
    echo(f"database: reachable ({engine.dialect.name} {version}); {state}{events}")
    return True


def _schema_state(conn: Any) -> str:
    from footfall.store.migrate import current_revisions, head_revisions

    current, heads = current_revisions(conn), head_revisions()
    if not current:
        return "empty: footfall serve creates its tables at start"
    if current == heads:
        return f"schema up to date ({', '.join(sorted(current))})"
    return (
        f"schema {', '.join(sorted(current))}: footfall serve upgrades it to "
        f"{', '.join(sorted(heads))} at start"
    )


def _check_geoip(config: Config, echo: Echo) -> bool:
    header = f"the {config.country_header} header, else " if config.country_header else ""
    path, required = country_database_path(config)
    if not (required or path.exists()):
        if header:
            echo(f"countries: {header}unknown")
        else:
            echo(
                f"countries: unknown: 'footfall geoip update' downloads DB-IP's free "
                f"database to {path}, where footfall finds it"
            )
        return True
    try:
        with CountryLookup(database=path) as lookup:
            database = lookup.database
    except (OSError, ValueError) as error:
        echo(f"countries: {error}")
        return False
    assert database is not None
    echo(f"countries: {header}{path} ({database.kind}, built {database.built})")
    age = (config.clock().date() - database.built).days
    if age > STALE_DAYS:
        echo(f"  it is {age} days old: 'footfall geoip update' (monthly) keeps it current")
    return True
