"""The ``footfall`` command: run the standalone server, make demo data, manage the store."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path

import click

from footfall._version import __version__
from footfall.analytics import Analytics
from footfall.config import Config

DEMO_DATABASE = "sqlite:///footfall-demo.db"


def _server_options(func: Callable[..., None]) -> Callable[..., None]:
    """The options shared by ``serve`` and ``demo``."""
    options = [
        click.option(
            "--host",
            envvar="FOOTFALL_HOST",
            default="127.0.0.1",
            show_default=True,
            help="Interface to listen on (0.0.0.0 for all).",
        ),
        click.option(
            "--port",
            envvar="FOOTFALL_PORT",
            default=8000,
            show_default=True,
            type=click.IntRange(0, 65535),
            help="TCP port.",
        ),
        click.option(
            "--admin-token",
            envvar="FOOTFALL_ADMIN_TOKEN",
            help="Bearer token for the dashboard and query API (random if unset).",
        ),
        click.option(
            "--trusted-proxy",
            "trusted_proxies",
            envvar="FOOTFALL_TRUSTED_PROXY",
            multiple=True,
            help="Proxy address or CIDR whose X-Forwarded-For is "
            "believed; repeatable (space-separated in the environment).",
        ),
        click.option(
            "--timezone",
            envvar="FOOTFALL_TIMEZONE",
            default="UTC",
            show_default=True,
            help="IANA time zone of the reports.",
        ),
        click.option(
            "--retention-days",
            envvar="FOOTFALL_RETENTION_DAYS",
            default=90,
            show_default=True,
            type=click.IntRange(1),
            help="Days raw events are kept.",
        ),
        click.option(
            "--country-header",
            envvar="FOOTFALL_COUNTRY_HEADER",
            help="Trusted header with the visitor's country code, e.g. CF-IPCountry.",
        ),
        click.option(
            "--geoip-database",
            envvar="FOOTFALL_GEOIP_DATABASE",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="GeoLite2-Country / DB-IP Country Lite .mmdb file.",
        ),
        click.option(
            "--log-level",
            envvar="FOOTFALL_LOG_LEVEL",
            default="info",
            show_default=True,
            type=click.Choice(["critical", "error", "warning", "info", "debug"]),
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group()
@click.version_option(__version__, prog_name="footfall")
def main() -> None:
    """footfall: first-party, privacy-friendly web analytics."""


@main.command()
@click.option(
    "--database",
    envvar="FOOTFALL_DATABASE",
    default="sqlite:///footfall.db",
    show_default=True,
    help="Database URL (sqlite:///file.db or postgresql://...).",
)
@_server_options
def serve(database: str, **options: object) -> None:
    """Run the standalone footfall server."""
    _serve(database, **options)


@main.command()
@click.option(
    "--database",
    envvar="FOOTFALL_DEMO_DATABASE",
    default=DEMO_DATABASE,
    show_default=True,
    help="Where to put the demo data.",
)
@click.option(
    "--pageviews",
    default=100_000,
    show_default=True,
    type=click.IntRange(1),
    help="About how many page views to generate.",
)
@click.option(
    "--days",
    default=30,
    show_default=True,
    type=click.IntRange(1, 3650),
    help="How many days of traffic, ending now.",
)
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same data).")
@click.option("--reset", is_flag=True, help="Delete the events already in the database first.")
@click.option(
    "--serve/--no-serve",
    default=True,
    show_default=True,
    help="Start the server on the demo data afterwards.",
)
@_server_options
def demo(
    database: str,
    pageviews: int,
    days: int,
    seed: int,
    reset: bool,
    serve: bool,
    **options: object,
) -> None:
    """Fill a database with realistic synthetic traffic, then serve it.

    A database that already holds events is served as it is (so running the demo twice
    does not double the data) unless --reset is given.
    """
    from footfall.demo import clear_events, count_pageviews, generate_demo

    analytics = Analytics(database_url=database)
    try:
        if reset:
            clear_events(analytics.store)
        existing = count_pageviews(analytics.store)
        if existing:
            click.echo(
                f"{database} already holds {existing:,} page views; serving them "
                "(--reset to generate afresh)."
            )
        else:
            with click.progressbar(
                length=pageviews, label="Generating demo traffic", show_pos=True
            ) as bar:
                summary = generate_demo(
                    analytics.store,
                    pageviews=pageviews,
                    days=days,
                    seed=seed,
                    progress=bar.update,
                )
            click.echo(
                f"Wrote {summary.pageviews:,} page views and {summary.custom_events:,} custom "
                f"events in {summary.visits:,} visits by {summary.visitors:,} visitors."
            )
    finally:
        analytics.close()
    if serve:
        _serve(database, **options)


def _serve(
    database: str,
    *,
    host: str,
    port: int,
    admin_token: str | None,
    trusted_proxies: tuple[str, ...],
    timezone: str,
    retention_days: int,
    country_header: str | None,
    geoip_database: Path | None,
    log_level: str,
) -> None:
    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    token = admin_token or secrets.token_urlsafe(24)
    try:
        config = Config(
            database_url=database,
            admin_token=token,
            trusted_proxies=trusted_proxies,
            timezone=timezone,
            retention_days=retention_days,
            country_header=country_header,
            geoip_database=geoip_database,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    analytics = Analytics(config)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    click.echo(f"footfall {__version__} on {base} (database {database})")
    click.echo(f"  events:    POST {base}{config.api_base_path}/analytics/event")
    click.echo(f"  dashboard: {base}{config.site_base_path}/analytics?token={token}")
    uvicorn.run(
        analytics.app,
        host=host,
        port=port,
        log_level=log_level,
        # An access log would write every visitor's full IP address to disk.
        access_log=False,
        # footfall alone decides which proxies to believe (trusted_proxies); uvicorn's own
        # proxy-header handling would rewrite the peer address before footfall sees it.
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        server_header=False,
    )
