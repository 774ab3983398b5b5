"""A filter's query-string spelling: what ``Filter.text`` writes, ``Filter.parse`` reads
back, whatever its values hold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from footfall import Filter
from footfall.query.filters import OPERATORS, Filters
from footfall.query.ranges import InvalidQuery

values = st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=5)


@given(values, st.sampled_from(list(OPERATORS)))
def test_the_text_of_any_values_reads_back_as_those_values(chosen, suffix):
    written = Filter(tuple(chosen), negated="!" in suffix, partial="~" in suffix)
    assert Filter.parse("page", suffix, written.text) == written


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("US|DE", ("US", "DE")),
        (r"/a\|b|/c", ("/a|b", "/c")),
        ("\\\\|x", ("\\", "x")),
        ("/only", ("/only",)),
    ],
)
def test_a_bar_separates_values_and_a_backslash_escapes_it(text, expected):
    assert Filter.parse("page", "", text).values == expected


def test_query_parameters_name_the_operator_after_the_filter():
    read = Filters.from_params({"page~": "/blog", "country!": "US|DE", "event": "Signup"})
    assert read.page == Filter.contains("/blog")
    assert read.country == Filter.is_not("US", "DE")
    assert read.event == Filter(("Signup",))
    assert read.to_params() == {"page~": "/blog", "country!": "US|DE", "event": "Signup"}
    assert read.exact("event") == "Signup" and read.exact("country") is None


def test_python_arguments_become_filters_and_bad_ones_name_themselves():
    assert Filters(page="/a", country=["US", "DE"]).country == Filter(("US", "DE"))
    with pytest.raises(InvalidQuery) as raised:
        Filters(country=["US", ""])
    assert raised.value.param == "country"
