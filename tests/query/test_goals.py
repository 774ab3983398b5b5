"""Goals from the configuration, through the Python and JSON APIs (the same numbers), with
a property value; the definitions themselves are in test_definitions.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from conftest import BROWSER_UA, ManualClock
from footfall import IngestContext
from footfall.query.goals import Goal

TOKEN = "goals-test-admin-token-42"
SITE = "https://example.com"


def test_goals_of_the_configuration_in_python_and_json(serve, make_analytics, database_url):
    clock = ManualClock(datetime(2026, 11, 18, 9, tzinfo=UTC))
    goals = ["event:Signup;plan=pro", "event:Signup", "page:/pricing"]
    analytics = make_analytics(database_url, clock=clock, goals=goals, admin_token=TOKEN)

    async def send() -> None:
        # Three visitors: A signs up for pro, B for free, C views /pricing only.
        for network, name, props, path in (
            ("203.0.1.9", "Signup", {"plan": "pro"}, "/"),
            ("203.0.2.9", "Signup", {"plan": "free"}, "/"),
            ("203.0.3.9", "pageview", None, "/pricing"),
        ):
            await analytics.ingest(
                {"name": name, "url": SITE + path, "props": props},
                headers={"user-agent": BROWSER_UA},
                peer=network,
                context=IngestContext(source="http"),
            )

    asyncio.run(send())
    found = analytics.api.get_goals_sync("today")
    # Of 3 visitors: 1 pro signup (33.3 %), 2 signups (66.7 %), 1 view of /pricing.
    assert [g.to_dict() for g in found] == [
        {"goal": "Signup (plan: pro)", "visitors": 1, "conversions": 1, "conversion_rate": 33.3},
        {"goal": "Signup", "visitors": 2, "conversions": 2, "conversion_rate": 66.7},
        {"goal": "Visit /pricing", "visitors": 1, "conversions": 1, "conversion_rate": 33.3},
    ]
    server = serve(analytics)
    response = server.client.get(
        "/api/data/analytics/goals?range=today", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200
    assert response.json() == {"results": [g.to_dict() for g in found]}


@pytest.mark.parametrize(
    ("text", "goal"),
    [
        ("event:Signup", Goal(event="Signup")),
        ("event:Outbound Link: Click", Goal(event="Outbound Link: Click")),
        ("event:Download;file=a=b.pdf", Goal(event="Download", prop=("file", "a=b.pdf"))),
        ("page:/blog/*", Goal(page="/blog/*")),
    ],
)
def test_goals_are_written_as_text(text, goal):
    assert Goal.parse(text) == goal


@pytest.mark.parametrize("text", ["Signup", "event:", "page:blog", "event:Signup;plan", "url:/x"])
def test_a_goal_that_is_neither_is_refused(text):
    with pytest.raises(ValueError, match="goal"):
        Goal.parse(text)
