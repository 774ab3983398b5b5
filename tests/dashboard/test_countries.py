"""Countries read as names with flags, not codes: the table covers every code stored."""

from __future__ import annotations

from footfall.dashboard.countries import NAMES, flag, name


def test_names_are_the_forms_people_use():
    assert (name("DE"), name("GB"), name("US")) == ("Germany", "United Kingdom", "United States")
    assert (name("KR"), name("RU"), name("XK")) == ("South Korea", "Russia", "Kosovo")
    assert len(NAMES) == 250  # ISO 3166-1's 249, and Kosovo
    assert all("," not in text for text in NAMES.values())  # no "Korea, Republic of"


def test_an_unknown_code_is_shown_as_it_is():
    assert name("(unknown)") == "(unknown)" and flag("(unknown)") == ""
    assert name("ZZ") == "ZZ"


def test_flags_are_regional_indicator_pairs():
    assert flag("DE") == "\U0001f1e9\U0001f1ea"
    assert flag("us") == "\U0001f1fa\U0001f1f8"
    assert flag("D1") == "" and flag("") == ""
