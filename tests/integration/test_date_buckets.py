"""Grouping by date buckets (`close_date:month` ...) and averaging dates: the same answer
on SQLite and PostgreSQL, checked against hand-written SQL and a Python oracle."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from app.objectql.buckets import BUCKETS, bucket_label, bucket_labels, bucket_range
from app.objectql.errors import QueryError
from tests.conftest import make_team

# Year ends, ISO weeks spanning new year, a leap day, Sundays and Mondays.
CLOSE_DATES = [date(2024, 12, 29), date(2024, 12, 30), date(2024, 12, 31), date(2025, 1, 1),
               date(2025, 1, 5), date(2025, 1, 6), date(2024, 2, 29), date(2024, 3, 31),
               date(2024, 4, 1), date(2025, 6, 30), date(2025, 7, 1), date(2025, 9, 30),
               date(2025, 10, 1), date(2026, 1, 4), date(2023, 1, 1), date(2025, 1, 1)]

HAND_SQL = {
    "sqlite": {
        "day": "strftime('%Y-%m-%d', close_date)",
        "week": "date(close_date, 'weekday 0', '-6 days')",
        "month": "strftime('%Y-%m', close_date)",
        "quarter": "strftime('%Y', close_date) || '-Q' || ((cast(strftime('%m', close_date) "
                   "as integer) + 2) / 3)",
        "year": "strftime('%Y', close_date)",
    },
    "postgresql": {
        "day": "to_char(close_date, 'YYYY-MM-DD')",
        "week": "to_char(date_trunc('week', close_date::timestamp), 'YYYY-MM-DD')",
        "month": "to_char(close_date, 'YYYY-MM')",
        "quarter": "to_char(close_date, 'YYYY-\"Q\"Q')",
        "year": "to_char(close_date, 'YYYY')",
    },
}


@pytest.fixture
def deals(ql: Any) -> list[dict[str, Any]]:
    team = make_team(ql)
    account = ql.insert(team.admin, "account", {"name": "Acme", "phone": "+1 555 0100"})["id"]
    rows = [{"name": f"d{i}", "account": account, "close_date": d, "stage": "closed_won",
             "amount": 100.0 * (i + 1), "owner": team.rep_a.user_id if i % 2 else
             team.rep_b.user_id} for i, d in enumerate(CLOSE_DATES)]
    ql.bulk_insert(team.system, "opportunity", rows)
    return rows


@pytest.mark.parametrize("unit", BUCKETS)
def test_buckets_equal_hand_written_sql(ql: Any, deals: list[dict[str, Any]], unit: str):
    from app.objectql import Context

    rows = ql.aggregate(Context.system(), "opportunity", group_by=[f"close_date:{unit}"],
                        aggregate={"n": ("count", "id"), "total": ("sum", "amount")})
    ours = {r[f"close_date:{unit}"]: (r["n"], r["total"]) for r in rows}
    expression = HAND_SQL[ql.engine.dialect.name][unit]
    with ql.engine.connect() as conn:
        hand = {label: (n, float(total)) for label, n, total in conn.execute(text(
            f"SELECT {expression} AS b, count(*), sum(amount) FROM opportunity GROUP BY b"))}
    assert ours == hand
    oracle: dict[str, list[float]] = defaultdict(list)
    for row in deals:
        oracle[bucket_label(row["close_date"], unit)].append(row["amount"])
    assert ours == {k: (len(v), sum(v)) for k, v in oracle.items()}
    assert [r[f"close_date:{unit}"] for r in rows] == sorted(ours)  # time order


def test_bucket_with_filters_sort_and_lookup_group(ql: Any, deals: list[dict[str, Any]]):
    from app.objectql import Context

    rows = ql.aggregate(Context.system(), "opportunity",
                        group_by=["close_date:year", "owner"],
                        aggregate={"n": ("count", "id")},
                        filters=[["close_date", ">=", "2025-01-01"]],
                        sort=[["close_date:year", "desc"], ["n", "desc"]])
    expected = Counter((bucket_label(r["close_date"], "year"), r["owner"]) for r in deals
                       if r["close_date"] >= date(2025, 1, 1))
    assert {(r["close_date:year"], r["owner"]): r["n"] for r in rows} == expected
    assert rows[0]["close_date:year"] == "2026"


def test_datetime_buckets(ql: Any):
    team = make_team(ql)
    when = [datetime(2024, 12, 31, 23, 59, 59), datetime(2025, 1, 1, 0, 0, 1),
            datetime(2025, 3, 31, 12, 0)]
    for i, moment in enumerate(when):
        ql.insert(team.admin, "activity", {"subject": f"a{i}", "type": "call",
                                           "activity_date": moment})
    rows = ql.aggregate(team.admin, "activity", group_by=["activity_date:quarter"],
                        aggregate={"n": ("count", "id")})
    assert {r["activity_date:quarter"]: r["n"] for r in rows} == {"2024-Q4": 1, "2025-Q1": 2}


def test_average_of_dates_is_days_since_epoch(ql: Any, deals: list[dict[str, Any]]):
    from app.objectql import Context

    [row] = ql.aggregate(Context.system(), "opportunity",
                         aggregate={"avg_close": ("avg", "close_date")})
    epoch = date(1970, 1, 1)
    oracle = sum((r["close_date"] - epoch).days for r in deals) / len(deals)
    assert row["avg_close"] == pytest.approx(oracle)


def test_bad_buckets_are_query_errors(ql: Any, deals: list[dict[str, Any]]):
    from app.objectql import Context

    system = Context.system()
    with pytest.raises(QueryError, match="unknown date bucket 'fortnight'"):
        ql.aggregate(system, "opportunity", group_by=["close_date:fortnight"])
    with pytest.raises(QueryError, match="date buckets need a date field"):
        ql.aggregate(system, "opportunity", group_by=["amount:month"])


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
       st.sampled_from(BUCKETS))
def test_label_and_range_agree(day: date, unit: str):
    start, end = bucket_range(bucket_label(day, unit), unit)
    assert start <= day < end
    assert bucket_label(start, unit) == bucket_label(end - timedelta(days=1), unit)
    assert bucket_label(end, unit) != bucket_label(day, unit)


def test_bucket_labels_cover_a_range():
    assert bucket_labels(date(2024, 11, 15), date(2025, 2, 1), "month") == [
        "2024-11", "2024-12", "2025-01"]
    assert bucket_labels(date(2024, 12, 31), date(2025, 1, 7), "week") == [
        "2024-12-30", "2025-01-06"]
