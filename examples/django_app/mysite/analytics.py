"""The project's one footfall object; settings.FOOTFALL_ANALYTICS names it."""

import atexit
import os

from footfall import Analytics

analytics = Analytics(
    database_url=os.environ.get("FOOTFALL_DATABASE", "sqlite:///footfall.db"),
    admin_token=os.environ.get("FOOTFALL_ADMIN_TOKEN"),  # opens the dashboard to you
)
atexit.register(analytics.close)  # write what is pending when the process exits
