"""Relative date tokens of the query language, resolved to half-open [start, end) ranges."""

from __future__ import annotations

import re
from datetime import date, timedelta

TOKEN = re.compile(r"^(this_week|this_month|this_quarter|this_year|today|\$today"
                   r"|last_n_days:(\d{1,4})|next_n_days:(\d{1,4}))$")


def is_date_token(value: object) -> bool:
    return isinstance(value, str) and TOKEN.fullmatch(value) is not None


def date_range(token: str, today: date) -> tuple[date, date]:
    """[start, end) for a token; raises ValueError for an unknown token."""
    match = TOKEN.fullmatch(token)
    if not match:
        raise ValueError(f"unknown date token '{token}'")
    if token in ("today", "$today"):
        return today, today + timedelta(days=1)
    if token == "this_week":  # ISO weeks start on Monday
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=7)
    if token == "this_month":
        start = today.replace(day=1)
        return start, _add_months(start, 1)
    if token == "this_quarter":
        start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        return start, _add_months(start, 3)
    if token == "this_year":
        return date(today.year, 1, 1), date(today.year + 1, 1, 1)
    if match.group(2) is not None:  # last_n_days:N includes today
        return today - timedelta(days=int(match.group(2)) - 1), today + timedelta(days=1)
    return today, today + timedelta(days=int(match.group(3)) + 1)


def _add_months(start: date, months: int) -> date:
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)
