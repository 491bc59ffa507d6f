"""The CLI's ages: past times read "… ago", times to come (a purge date) "in …"."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from mediashelf_client.cli.common import age_text, when_text


@given(st.integers(min_value=-29 * 86400, max_value=29 * 86400))
def test_an_age_says_which_way_and_how_far(offset_s: int) -> None:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=offset_s)
    text = age_text(when)
    if offset_s <= -3:  # to come (two seconds of slack for the clock moving during the test)
        assert text.startswith("in ") and not text.endswith("ago"), text
        shown = text.removeprefix("in ")
    elif offset_s >= 0:
        assert text.endswith(" ago"), text
        shown = text.removesuffix(" ago")
    else:
        return
    amount, unit = int(shown[:-1]), shown[-1]
    div = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    assert abs(abs(offset_s) // div - amount) <= 1, (offset_s, text)


def test_a_purge_tomorrow_is_in_hours_and_an_old_date_is_a_date() -> None:
    now = dt.datetime.now(dt.UTC)
    assert when_text(now + dt.timedelta(hours=23, minutes=59)).endswith("(in 23h)")
    assert age_text(now - dt.timedelta(days=40)) == (now - dt.timedelta(days=40)).date().isoformat()
    assert age_text(None) == ""
