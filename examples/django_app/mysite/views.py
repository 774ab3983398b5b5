"""Pages (counted by footfall's middleware), a custom event and the numbers, from views."""

import contextlib

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from footfall import Dropped, StoreUnavailable
from mysite.analytics import analytics


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "page.html", {"title": "Home"})


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "page.html", {"title": "About"})


def old(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/about")


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a failing page is not a page view")


@csrf_exempt
@require_POST
def signup(request: HttpRequest) -> JsonResponse:
    # A bot or a database outage must not fail the signup.
    with contextlib.suppress(Dropped, StoreUnavailable):
        analytics.track_sync("signup_completed", {"plan": "pro"}, request=request)
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
async def signup_async(request: HttpRequest) -> JsonResponse:
    # A bot or a database outage must not fail the signup.
    with contextlib.suppress(Dropped, StoreUnavailable):
        await analytics.track("signup_completed", {"plan": "team"}, request=request)
    return JsonResponse({"ok": True})


def stats(request: HttpRequest) -> JsonResponse:
    """Protect such a view in a real app: the numbers are yours."""
    return JsonResponse(analytics.api.get_dashboard_stats_sync(range="today").to_dict())
