"""The Django example under ASGI with footfall's ASGI middleware around it (run from
``examples/django_app``): the Django middleware, still installed, must step aside."""

from mysite.analytics import analytics
from mysite.asgi import application as django_application

application = analytics.middleware(django_application, inject_script=True)
