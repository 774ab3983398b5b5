"""footfall: first-party, privacy-friendly web analytics for Python web applications.

The public surface::

    from footfall import Analytics, Config, Filter, PageViewMiddleware

    analytics = Analytics(database_url="sqlite:///footfall.db")
    app.add_middleware(PageViewMiddleware, analytics=analytics)  # or analytics.middleware(app)
    app.wsgi_app = analytics.wsgi(app.wsgi_app)                  # WSGI: routes and page views
"""

from footfall._version import __version__
from footfall.analytics import Analytics
from footfall.config import Config
from footfall.ingest.event import DropEvent, Dropped, DropReason, Event
from footfall.ingest.pipeline import IngestContext
from footfall.ingest.validate import InvalidEvent
from footfall.query.filters import Filter
from footfall.store import StoreUnavailable
from footfall.web.middleware import PageViewMiddleware

__all__ = [
    "Analytics",
    "Config",
    "DropEvent",
    "DropReason",
    "Dropped",
    "Event",
    "Filter",
    "IngestContext",
    "InvalidEvent",
    "PageViewMiddleware",
    "StoreUnavailable",
    "__version__",
]
