"""footfall: first-party, privacy-friendly web analytics for Python web applications.

The public surface::

    from footfall import Analytics, Config, DropEvent, Event, IngestContext

    analytics = Analytics(database_url="sqlite:///footfall.db")
"""

from footfall._version import __version__
from footfall.analytics import Analytics
from footfall.config import Config
from footfall.ingest.event import DropEvent, Dropped, DropReason, Event
from footfall.ingest.pipeline import IngestContext
from footfall.ingest.validate import InvalidEvent
from footfall.store import StoreUnavailable

__all__ = [
    "Analytics",
    "Config",
    "DropEvent",
    "DropReason",
    "Dropped",
    "Event",
    "IngestContext",
    "InvalidEvent",
    "StoreUnavailable",
    "__version__",
]
