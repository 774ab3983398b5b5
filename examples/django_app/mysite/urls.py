from django.urls import include, path

from footfall.integrations import django as footfall_django
from mysite import views
from mysite.analytics import analytics

urlpatterns = [
    path("", views.home),
    path("about", views.about),
    path("old", views.old),
    path("boom", views.boom),
    path("signup", views.signup),
    path("signup-async", views.signup_async),
    path("stats", views.stats),
    path("", include(footfall_django.urls(analytics))),  # dashboard, API and ingestion
]
