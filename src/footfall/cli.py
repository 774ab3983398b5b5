"""The ``footfall`` command: run the standalone server, make demo data, manage the store."""

from __future__ import annotations

import datetime
import difflib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from footfall._version import __version__
from footfall.analytics import Analytics
from footfall.config import Config
from footfall.geoip import country_database_path
from footfall.query.funnels import Funnel
from footfall.query.goals import Goal
from footfall.store.database import without_password

DEMO_DATABASE = "sqlite:///footfall-demo.db"
DEMO_DAYS = 60
"""Days of demo traffic: the dashboard's 30 days (today and 29 whole days) and the 30
before them that its changes compare with, whole, so no change reads "+7001.9%"."""
DEMO_PAGEVIEWS = 150_000
VISITS_LABEL = "Building visits from the raw events (days)"


class ParsedText(click.ParamType):
    """Text that ``parse`` must accept (a goal, a funnel), checked when it is read; the
    environment separates several with ``|`` (an event's name may hold spaces)."""

    envvar_list_splitter = "|"

    def __init__(self, name: str, parse: Callable[[str], object]) -> None:
        self.name = name
        self.parse = parse

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            self.parse(value.strip())
        except ValueError as error:
            self.fail(str(error), param, ctx)
        return value.strip()


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
            help="Bearer token for the dashboard and query API (default: the one kept in the "
            "database, made at the first start; see footfall token). A flag shows in ps: "
            "prefer the variable.",
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
            "--hostname",
            "hostnames",
            envvar="FOOTFALL_HOSTNAME",
            multiple=True,
            help="Keep only events for this host (example.com, *.example.com); repeatable "
            "(space-separated in the environment). Default: any host.",
        ),
        click.option(
            "--exclude-path",
            "exclude_paths",
            envvar="FOOTFALL_EXCLUDE_PATH",
            multiple=True,
            help="Never count paths matching this glob (/admin/*); repeatable "
            "(space-separated in the environment).",
        ),
        click.option(
            "--goal",
            "goals",
            envvar="FOOTFALL_GOAL",
            multiple=True,
            type=ParsedText("goal", Goal.parse),
            help="A goal for the dashboard's goals panel: event:Signup, event:Signup;plan=pro "
            "or page:/pricing (* for any characters); repeatable ('|'-separated in the "
            "environment).",
        ),
        click.option(
            "--funnel",
            "funnels",
            envvar="FOOTFALL_FUNNEL",
            multiple=True,
            type=ParsedText("funnel", Funnel.parse),
            help="A funnel for the dashboard: 'Signup: page:/pricing > page:/signup > "
            "event:Signup' (a name, then two steps or more as --goal writes them); "
            "repeatable ('|'-separated in the environment).",
        ),
        click.option(
            "--embed-origin",
            "embed_origins",
            envvar="FOOTFALL_EMBED_ORIGIN",
            multiple=True,
            help="An origin (https://example.com) whose pages may show a shared link in an "
            "iframe; repeatable (space-separated in the environment). Default: none.",
        ),
        click.option(
            "--rate-limit",
            envvar="FOOTFALL_RATE_LIMIT",
            default=600,
            show_default=True,
            type=click.IntRange(0),
            help="Events accepted per minute from one network (/24 or /48); 0: no limit.",
        ),
        click.option(
            "--public-counters",
            envvar="FOOTFALL_PUBLIC_COUNTERS",
            is_flag=True,
            help="Let anyone read the page counters and the badge (every other report "
            "stays private).",
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
            "--workers",
            envvar="FOOTFALL_WORKERS",
            default=1,
            show_default=True,
            type=click.IntRange(1, 64),
            help="Worker processes sharing the port and the database (the rate limit is "
            "shared too).",
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


def _timezone_option(func: Callable[..., None]) -> Callable[..., None]:
    """``--timezone`` for maintenance commands: by default the rollups' own."""
    return click.option(
        "--timezone",
        envvar="FOOTFALL_TIMEZONE",
        default=None,
        help="IANA time zone of the reports (default: the one the rollups are kept in).",
    )(func)


def _database_option(func: Callable[..., None]) -> Callable[..., None]:
    """``--database`` (``FOOTFALL_DATABASE``), the same for every command that opens one."""
    return click.option(
        "--database",
        envvar="FOOTFALL_DATABASE",
        default="sqlite:///footfall.db",
        show_default=True,
        help="Database URL (sqlite:///file.db or postgresql://...).",
    )(func)


_URL_OPTION = click.option(
    "--url",
    envvar="FOOTFALL_URL",
    default="http://localhost:8000",
    show_default=True,
    help="Where the server is reached, as the browser sees it.",
)
"""``--url`` of the commands that print a link to the server."""


@click.group()
@click.version_option(__version__, prog_name="footfall")
def main() -> None:
    """footfall: first-party, privacy-friendly web analytics."""
    _refuse_unknown_environment()


def commands(
    group: click.Group | None = None, name: str = "footfall"
) -> Iterator[tuple[str, click.Command]]:
    """Every command that runs, by its full name (``footfall geoip update``), for the
    checks of the environment and the documentation."""
    group = group or main
    for sub_name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, f"{name} {sub_name}")
        else:
            yield f"{name} {sub_name}", command


def _refuse_unknown_environment() -> None:
    """A misspelt ``FOOTFALL_*`` variable would be ignored without a word (and its default
    used): refuse one that is close to a known name, naming it; mention any other."""
    prefix = "FOOTFALL_"
    known = {WORKER_OPTIONS}
    for _, command in commands():
        known.update(p.envvar for p in command.params if isinstance(p.envvar, str))
    suffixes = sorted(name.removeprefix(prefix) for name in known)
    for name in sorted(os.environ):
        if not name.startswith(prefix) or name in known:
            continue
        close = difflib.get_close_matches(name.removeprefix(prefix), suffixes, n=1)
        if close:
            raise click.UsageError(
                f"unknown environment variable {name} (did you mean {prefix}{close[0]}?)"
            )
        click.echo(f"footfall: ignoring the environment variable {name}: not an option", err=True)


@main.command()
@_database_option
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
    default=DEMO_PAGEVIEWS,
    show_default=True,
    type=click.IntRange(1),
    help="About how many page views to generate.",
)
@click.option(
    "--days",
    default=DEMO_DAYS,
    show_default=True,
    type=click.IntRange(1, 3650),
    help="How many days of traffic, ending now (the default covers the 30-day view and "
    "the 30 days it is compared with).",
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
    from footfall.demo import (
        DEMO_FUNNELS,
        DEMO_GOALS,
        clear_events,
        count_pageviews,
        generate_demo,
    )

    options["goals"] = options.get("goals") or DEMO_GOALS
    options["funnels"] = options.get("funnels") or DEMO_FUNNELS

    _upgrade(database)
    analytics = Analytics(database_url=database)
    try:
        if reset:
            clear_events(analytics.store)
        existing = count_pageviews(analytics.store)
        if existing:
            click.echo(
                f"{without_password(database)} already holds {existing:,} page views; serving them "
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


def _config_options(
    database: str,
    *,
    admin_token: str | None,
    trusted_proxies: tuple[str, ...],
    hostnames: tuple[str, ...],
    exclude_paths: tuple[str, ...],
    goals: tuple[str, ...],
    funnels: tuple[str, ...],
    embed_origins: tuple[str, ...],
    rate_limit: int,
    public_counters: bool,
    timezone: str,
    retention_days: int,
    country_header: str | None,
    geoip_database: Path | None,
) -> dict[str, Any]:
    """The ``Config`` options of the server's flags (and their variables)."""
    return {
        "database_url": database,
        "admin_token": admin_token,
        "trusted_proxies": list(trusted_proxies),
        "hostnames": list(hostnames) or None,
        "exclude_paths": list(exclude_paths),
        "goals": list(goals),
        "funnels": list(funnels),
        "embed_origins": list(embed_origins),
        "rate_limit_per_minute": rate_limit or None,
        "public_counters": public_counters,
        "timezone": timezone,
        "retention_days": retention_days,
        "country_header": country_header,
        "geoip_database": str(geoip_database) if geoip_database else None,
    }


@main.command()
@_database_option
@_server_options
@click.pass_context
def check(ctx: click.Context, database: str, **options: Any) -> None:
    """Print the configuration serve would run with, what it drops, and test the database.

    Takes the options of serve (and their FOOTFALL_ variables); changes nothing. Exit
    status 1 if the configuration is refused or the database cannot be used.
    """
    from footfall.check import report

    for name in ("host", "port", "workers", "log_level"):
        options.pop(name)
    sources = {}
    for name in ("database", *options):
        source = ctx.get_parameter_source(name)
        sources[name] = source.name.lower() if source is not None else "default"
    if not report(_config_options(database, **options), sources, click.echo):
        ctx.exit(1)


def _serve(
    database: str,
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    **flags: Any,
) -> None:
    import uvicorn

    from footfall.web.server import raise_file_limit, server_options

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    options = _config_options(database, **flags)
    admin_token = options["admin_token"]
    try:
        config = Config(**options)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    _upgrade(database)
    new = False
    if admin_token is None:
        admin_token, new = _stored_admin_token(database)
        options["admin_token"] = admin_token
        config = replace(config, admin_token=admin_token)
    code = _login_code(database, admin_token)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    base = f"http://{shown}:{port}"
    processes = f", {workers} workers" if workers > 1 else ""
    dashboard = f"{base}{config.site_base_path}/analytics"
    countries, required = country_database_path(config)
    no_countries = config.country_header is None and not (required or countries.exists())

    def banner() -> None:
        """Printed once the port is bound: no address of a server that never listened."""
        shown_database = without_password(database)
        click.echo(f"footfall {__version__} on {base} (database {shown_database}{processes})")
        click.echo(f"  events:    POST {base}{config.api_base_path}/analytics/event")
        if config.hostnames is None:
            click.echo("  (events for any host name are kept: --hostname to keep your sites' only)")
        if no_countries:
            click.echo("  (countries unknown: 'footfall geoip update' downloads a free database)")
        # A single-use code, not the token: a log that keeps every start's output holds
        # no secret that still works once the link is opened or 15 minutes have passed.
        click.echo(f"  dashboard: {dashboard}?code={code}")
        click.echo("  (the link works once, for 15 minutes; 'footfall login' prints another)")
        if new:
            click.echo(
                "  (a new admin token, kept in the database, for scripts: 'footfall token' "
                "shows it, 'footfall token --rotate' replaces it)"
            )

    server = {
        "host": host,
        "port": port,
        "log_level": log_level,
        # An access log would write every visitor's full IP address to disk.
        "access_log": False,
        # footfall alone decides which proxies to believe (trusted_proxies); uvicorn's own
        # proxy-header handling would rewrite the peer address before footfall sees it.
        "proxy_headers": False,
        "timeout_graceful_shutdown": 10,
        "server_header": False,
        **server_options(),  # limits on what one client can hold (web/server.py)
    }
    raise_file_limit()
    if workers == 1:
        from footfall.web.app import build_app

        app = build_app(Analytics(config), standalone=True)
        _run_then(uvicorn.Config(app, **server), banner)
        return
    # Worker processes start afresh: they build the same Config from the environment, and
    # share the rate limit's buckets through a file of this run's own.
    import json
    import tempfile

    from uvicorn.supervisors import Multiprocess

    with tempfile.TemporaryDirectory(prefix="footfall-") as shared:
        options["rate_limit_file"] = os.path.join(shared, "rate-limit")
        os.environ[WORKER_OPTIONS] = json.dumps({**options, "log_level": log_level})
        uvicorn_config = uvicorn.Config(
            "footfall.cli:worker_app", factory=True, workers=workers, **server
        )
        socket = uvicorn_config.bind_socket()  # uvicorn says why and exits if it cannot
        banner()
        Multiprocess(uvicorn_config, sockets=[socket]).run()


def _run_then(config: Any, banner: Callable[[], None]) -> None:
    """Run one uvicorn server, calling ``banner`` once it listens; exit status 1 if it
    never did (the port taken, the application's start-up failed)."""
    import sys

    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                banner()

    server = Server(config)
    server.run()
    if not server.started:
        sys.exit(1)


WORKER_OPTIONS = "FOOTFALL_WORKER_OPTIONS"
"""The environment variable through which ``serve --workers`` hands its options over."""


def worker_app() -> Any:
    """The application of one ``serve --workers`` process (uvicorn calls this in each)."""
    import json

    from footfall.web.app import build_app

    options = json.loads(os.environ[WORKER_OPTIONS])
    level = options.pop("log_level")
    logging.basicConfig(level=level.upper(), format="%(levelname)s %(name)s: %(message)s")
    return build_app(Analytics(Config(**options)), standalone=True)


@main.command()
@_database_option
@click.option(
    "--retention-days",
    envvar="FOOTFALL_RETENTION_DAYS",
    default=90,
    show_default=True,
    type=click.IntRange(1),
    help="Days raw events are kept.",
)
@_timezone_option
def purge(database: str, retention_days: int, timezone: str | None) -> None:
    """Roll up the days that are over, then delete expired events, salts and visits now.

    The server does this hourly by itself; run this from cron when footfall is embedded
    in an application without an event loop (WSGI), or to apply a shorter retention at once.
    """
    with _opened(database, retention_days=retention_days, timezone=timezone) as analytics:
        summary = analytics.purge()
    click.echo(
        f"Deleted {summary.pageviews:,} page views and {summary.custom_events:,} custom events "
        f"older than {retention_days} days, {summary.salts:,} expired salts, "
        f"{summary.visits:,} expired visits and {summary.dropped_counts:,} old dropped-event "
        "counts."
    )


@main.command()
@_database_option
@_timezone_option
@click.option("--rebuild", is_flag=True, help="Drop every rollup first and build them all again.")
@click.option(
    "--visits",
    is_flag=True,
    help="With --rebuild, build the visit table again from the raw events first. Stop "
    "every footfall writing to the database before: its events would count twice.",
)
def rollup(database: str, timezone: str | None, rebuild: bool, visits: bool) -> None:
    """Roll up every day that is over (the server does it hourly by itself).

    Reports read these per-day numbers for whole days; run this after upgrading a large
    database, or with --rebuild after changing the time zone of the reports. An interrupted
    run resumes where it stopped.
    """
    from footfall.store import rollups
    from footfall.store.visit_build import rebuild as rebuild_visits

    if visits and not rebuild:
        raise click.UsageError("--visits goes with --rebuild")
    with _opened(database, timezone=timezone) as analytics:
        if visits:
            with _visit_build_bar() as progress:
                rebuild_visits(analytics.store.engine, progress)
        if rebuild:
            rollups.rebuild(analytics.store.engine)
        with click.progressbar(length=0, label="Rolling up days", show_pos=True) as bar:

            def progress(day: datetime.date, until: datetime.date) -> None:
                bar.length = max(bar.length or 0, bar.pos + (until - day).days)
                bar.label = f"Rolling up {day.isoformat()}"
                bar.update(1)

            days = analytics.roll_up(progress)
    click.echo(f"Rolled up {days:,} days.")


@contextmanager
def _opened(database: str, *, timezone: str | None, **options: Any) -> Iterator[Analytics]:
    """An Analytics on ``database`` for a maintenance command, with the database errors
    told as one line. Without ``timezone``, the one the rollups are kept in (else UTC), so
    that a command run from cron never rebuilds them in another zone."""
    from sqlalchemy.exc import DBAPIError

    from footfall.store import StoreUnavailable
    from footfall.store.database import create_store_engine

    _upgrade(database)
    try:
        if timezone is None:
            timezone = _rollup_timezone(create_store_engine(database)) or "UTC"
        analytics = Analytics(database_url=database, timezone=timezone, **options)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    except DBAPIError as error:
        raise click.ClickException(f"cannot reach the database: {error}") from None
    try:
        yield analytics
    except ValueError as error:  # an unsupported database URL
        raise click.UsageError(str(error)) from None
    except (StoreUnavailable, DBAPIError) as error:
        raise click.ClickException(f"cannot reach the database: {error}") from None
    finally:
        analytics.close()


def _upgrade(database: str) -> None:
    """Migrate ``database`` before a command opens it, with a progress bar (on standard
    error) for a build of the visit table from the raw events: the first start after an
    upgrade from a footfall without one. An interrupted build resumes at the next start."""
    from sqlalchemy.exc import DBAPIError

    from footfall.store.database import create_store_engine
    from footfall.store.migrate import migrate

    with _visit_build_bar() as progress:
        try:
            engine = create_store_engine(database)
        except ValueError as error:
            raise click.UsageError(str(error)) from None
        try:
            migrate(engine, progress=progress)
        except DBAPIError as error:
            raise click.ClickException(f"cannot reach the database: {error}") from None
        finally:
            engine.dispose()


@contextmanager
def _engine(database: str) -> Iterator[Any]:
    """An engine on ``database`` for one small piece of work, disposed after it."""
    from footfall.store.database import create_store_engine

    engine = create_store_engine(database)
    try:
        yield engine
    finally:
        engine.dispose()


def _stored_admin_token(database: str, *, rotate: bool = False) -> tuple[str, bool]:
    """The admin token kept in ``database`` (made at the first start), and whether it is
    new: a restart keeps the login link, the session cookies and API scripts working."""
    from footfall.store.settings import admin_token

    with _engine(database) as engine:
        return admin_token(engine, rotate=rotate)


def _login_code(database: str, admin_token: str) -> str:
    """A new single-use login code for the dashboard of the server with ``admin_token``."""
    from footfall.store import admin_sessions

    with _engine(database) as engine:
        now = datetime.datetime.now(datetime.UTC)
        return admin_sessions.begin(engine, admin_sessions.CODE, admin_token, now)


@main.command()
@_database_option
@click.option(
    "--admin-token",
    envvar="FOOTFALL_ADMIN_TOKEN",
    help="The token footfall serve was given, if it was (default: the one it keeps).",
)
@_URL_OPTION
def login(database: str, admin_token: str | None, url: str) -> None:
    """Print a dashboard login link: it works once, for 15 minutes.

    For a browser that has no session (a new one, or after signing out); the link that
    footfall serve printed at its start may be used or expired.
    """
    _upgrade(database)
    token = admin_token or _stored_admin_token(database)[0]
    click.echo(
        f"{url.rstrip('/')}{Config().site_base_path}/analytics?code={_login_code(database, token)}"
    )


@main.command()
@_database_option
@click.option(
    "--rotate",
    is_flag=True,
    help="Replace the token: scripts, dashboard sessions and login links stop working.",
)
def token(database: str, rotate: bool) -> None:
    """Print the admin token that footfall serve keeps in the database.

    Scripts send 'Authorization: Bearer TOKEN'; people sign in with the link of footfall
    login. A token given with --admin-token or FOOTFALL_ADMIN_TOKEN takes its place while
    it is given. A running server reads a new token when it restarts.
    """
    _upgrade(database)
    token = _stored_admin_token(database, rotate=rotate)[0]
    if rotate:
        from footfall.store import admin_sessions

        with _engine(database) as engine:
            admin_sessions.end_all(engine)  # made under the old token: they end with it
    click.echo(token)


@main.group()
def share() -> None:
    """Shared links: a read-only dashboard at a secret URL, for people without the token."""


@share.command("create")
@_database_option
@_URL_OPTION
@click.argument("label")
@click.option(
    "--password",
    is_flag=True,
    help="Ask for a password (typed here, twice) that the link's visitors must give.",
)
def share_create(database: str, url: str, label: str, password: bool) -> None:
    """Make a shared link for LABEL (whom it is for) and print its URL, shown only now.

    Anyone with the URL sees the dashboard (not the CSV export or the API) until the link
    is revoked. Other sites may show it in an iframe only if --embed-origin allows them.
    """
    from footfall.store import shared_links

    _upgrade(database)
    secret_password = (
        click.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    )
    with _engine(database) as engine:
        now = datetime.datetime.now(datetime.UTC)
        try:
            secret = shared_links.create(engine, label, now, secret_password)
        except ValueError as error:
            raise click.BadParameter(str(error)) from None
    click.echo(f"{url.rstrip('/')}{Config().site_base_path}/analytics/share/{secret}")


@share.command("list")
@_database_option
def share_list(database: str) -> None:
    """List the shared links: id, label, whether a password is asked, when made (UTC)."""
    from footfall.store import shared_links

    _upgrade(database)
    with _engine(database) as engine:
        links = shared_links.all_links(engine)
    for link in links:
        password = "password" if link.has_password else "no password"
        click.echo(f"{link.id}\t{link.label}\t{password}\t{link.created_at:%Y-%m-%d %H:%M}")
    if not links:
        click.echo("No shared links (footfall share create LABEL makes one).")


@share.command("revoke")
@_database_option
@click.argument("link_id", metavar="ID", type=int)
def share_revoke(database: str, link_id: int) -> None:
    """Revoke the shared link ID (see footfall share list): its URL stops working now."""
    from footfall.store import shared_links

    _upgrade(database)
    with _engine(database) as engine:
        if not shared_links.revoke(engine, link_id):
            raise click.ClickException(f"there is no shared link {link_id}")
    click.echo(f"Revoked shared link {link_id}.")


@main.group()
def geoip() -> None:
    """The country database: DB-IP's free IP to Country Lite."""


@geoip.command("update")
@_database_option
@click.option(
    "--output",
    envvar="FOOTFALL_GEOIP_DATABASE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: dbip-country-lite.mmdb beside the SQLite database, where "
    "footfall finds it; for PostgreSQL, in the working directory).",
)
@click.option(
    "--url",
    envvar="FOOTFALL_GEOIP_URL",
    default=None,
    help="Download from this address instead (a mirror); {month} stands for 2026-12.",
)
def geoip_update(database: str, output: Path | None, url: str | None) -> None:
    """Download this month's DB-IP Country Lite database (CC BY 4.0).

    Run it once, then monthly (DB-IP publishes a new one at the start of each month); a
    running footfall reads the new file within a minute. The file in use is replaced only
    by a complete, readable database.
    """
    from footfall import geoip

    try:
        target = output or geoip.default_path(database)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    try:
        updated = geoip.update(target.absolute(), url=url or geoip.DBIP_URL)
    except geoip.GeoipUpdateError as error:
        raise click.ClickException(f"{error} (the country database in use is unchanged)") from None
    database_info = updated.database
    click.echo(
        f"{target}: {database_info.kind} built {database_info.built}, "
        f"{updated.size / 2**20:.1f} MB, from {updated.url}"
    )
    if output is not None and output.absolute() != geoip.default_path(database):
        click.echo(f"footfall reads it when started with --geoip-database {output}")
    click.echo(
        "The data is DB-IP's, under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/): "
        "the dashboard credits it under the countries."
    )


@contextmanager
def _visit_build_bar() -> Iterator[Callable[[int, int], None]]:
    """A progress callback for a build of the visit table (``store/visit_build.py``): a
    bar on standard error, so that an export to standard output stays clean, shown from
    the first day built (none when there is nothing to build)."""
    import sys
    from contextlib import ExitStack

    with ExitStack() as stack:
        bars: list[Any] = []

        def progress(done: int, total: int) -> None:
            if not bars:
                bar = click.progressbar(
                    length=total, label=VISITS_LABEL, show_pos=True, file=sys.stderr
                )
                bars.append(stack.enter_context(bar))
            bars[0].update(done - bars[0].pos)

        yield progress


def _rollup_timezone(engine: Any) -> str | None:
    from sqlalchemy import inspect

    from footfall.query.rollups import read_state

    try:
        if not inspect(engine).has_table("rollup_state"):
            return None
        with engine.connect() as conn:
            state = read_state(conn)
    finally:
        engine.dispose()
    return state.timezone if state is not None and state.timezone else None


def _export_range(
    range_: str | None, from_: datetime.datetime | None, to: datetime.datetime | None
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """``(start, end)`` in UTC for ``footfall export`` (None: unbounded).

    The report ranges (``today``, ``7d``, ``30d``, ``month``, ``12mo``...) mean exactly
    what they mean on the dashboard (UTC days); ``Nd`` is the last N days from now.
    """
    import re

    from footfall.query.ranges import RANGES, InvalidQuery, resolve_period

    utc = datetime.UTC
    if range_ in RANGES and range_ not in ("all", "custom") and from_ is None and to is None:
        try:
            period = resolve_period(range_, now=datetime.datetime.now(utc))
        except InvalidQuery as invalid:
            raise click.BadParameter(invalid.message, param_hint="--range") from None
        return period.start, period.end
    if from_ is not None or to is not None:
        if range_ not in (None, "all"):
            raise click.UsageError("give either --range or --from/--to, not both")
        start = from_.replace(tzinfo=utc) if from_ is not None else None
        end = to.replace(tzinfo=utc) + datetime.timedelta(days=1) if to is not None else None
        if start is not None and end is not None and start >= end:
            raise click.UsageError("--from is after --to")
        return start, end
    text = (range_ or "all").strip().lower()
    if text == "all":
        return None, None
    days = re.fullmatch(r"([1-9][0-9]{0,4})d", text)
    if days is None:
        raise click.BadParameter(
            f"{range_!r}: use all, or Nd for the last N days (e.g. 30d)", param_hint="--range"
        )
    return datetime.datetime.now(utc) - datetime.timedelta(days=int(days[1])), None


@main.command("export")
@_database_option
@click.option(
    "--range",
    "range_",
    metavar="all|today|24h|7d|30d|month|12mo|Nd",
    help="Which events: all (the default), a report range, or the last N days (e.g. 45d).",
)
@click.option(
    "--from",
    "from_",
    type=click.DateTime(["%Y-%m-%d"]),
    help="First UTC day to export (YYYY-MM-DD).",
)
@click.option(
    "--to",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Last UTC day to export, included (YYYY-MM-DD).",
)
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="CSV file to write; - for standard output.",
)
def export(
    database: str,
    range_: str | None,
    from_: datetime.datetime | None,
    to: datetime.datetime | None,
    output: Path,
) -> None:
    """Export raw events as CSV: page views, then custom events, in time order.

    The columns are documented in footfall.export; cells a spreadsheet would run as a
    formula are prefixed with ' and footfall import undoes that.
    """
    import io
    import sys
    from contextlib import ExitStack

    from sqlalchemy.exc import DBAPIError

    from footfall.export import count_events, export_rows, write_csv
    from footfall.store import Store

    start, end = _export_range(range_, from_, to)
    _upgrade(database)
    try:
        store = Store(database)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    except DBAPIError as error:
        raise click.ClickException(f"cannot reach the database: {error}") from None
    to_stdout = str(output) == "-"
    messages = sys.stderr if to_stdout else sys.stdout
    try:
        total = count_events(store, start, end)
        with ExitStack() as stack:
            if to_stdout:  # bytes as written: CR LF row ends, CR inside cells
                out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
                stack.callback(out.detach)
            else:
                out = stack.enter_context(output.open("w", encoding="utf-8", newline=""))
            bar = stack.enter_context(
                click.progressbar(
                    length=total, label="Exporting events", show_pos=True, file=messages
                )
            )
            written = write_csv(export_rows(store, start, end), out, progress=bar.update)
    except DBAPIError as error:
        raise click.ClickException(f"the export failed: {error}") from None
    finally:
        store.close()
    where = "standard output" if to_stdout else str(output)
    click.echo(f"Exported {written:,} events to {where}.", file=messages)


@main.command("import")
@click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path)
)
@_database_option
def import_(file: Path, database: str) -> None:
    """Add the events of a CSV file made by footfall export (- for standard input).

    The whole file is checked first: if any row is bad, nothing is imported.
    """
    import csv
    import shutil
    import sys
    import tempfile

    from sqlalchemy.exc import DBAPIError

    from footfall.export import import_csv
    from footfall.store import Store

    name = "standard input" if str(file) == "-" else str(file)
    with tempfile.TemporaryDirectory() as scratch:
        if str(file) == "-":  # read twice below, so keep a copy, byte for byte
            file = Path(scratch) / "stdin.csv"
            with file.open("wb") as copy:
                shutil.copyfileobj(sys.stdin.buffer, copy)
        # A quick count for the bar's length; import_csv reports any malformed CSV.
        try:
            with file.open(encoding="utf-8", newline="") as source:
                rows = max(sum(1 for row in csv.reader(source) if row) - 1, 0)
        except (csv.Error, UnicodeDecodeError):
            rows = 0
        _upgrade(database)
        try:
            store = Store(database)
        except ValueError as error:
            raise click.UsageError(str(error)) from None
        except DBAPIError as error:
            raise click.ClickException(f"cannot reach the database: {error}") from None
        try:
            with click.progressbar(length=rows, label="Importing events", show_pos=True) as bar:
                summary = import_csv(store, file, progress=bar.update)
        except ValueError as error:
            raise click.ClickException(f"{name}: {error}; nothing was imported") from None
        except DBAPIError as error:
            raise click.ClickException(
                f"the database failed during the import ({error}); the batches before "
                "the failure are imported"
            ) from None
        finally:
            store.close()
    click.echo(
        f"Imported {summary.pageviews:,} page views and {summary.custom_events:,} custom events."
    )
