"""Rollup tables equal hand-written SQL over the records after any sequence of saves.

Hypothesis drives random inserts, bulk inserts, updates (stage moves, amounts, close
dates, owners, the deal's account), deletes, saves that fail validation and accounts
changing industry, through ObjectQL as users do; after each sequence every opportunity
rollup equals a GROUP BY over the opportunity table (joined to its account for the
industry the dashboards filter and group by), and the aggregates ObjectQL answers from
the rollups equal hand-written SQL — on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, delete, event, select, text

from app.objectql import Context, ObjectQLError, rollups
from app.objectql.errors import Conflict, ValidationError
from app.storage.rollups import COUNT, count_column, sum_column
from app.triggers.registry import _TRIGGERS, TriggerContext, trigger
from tests.conftest import fixed_clock, make_team

TODAY = date(2025, 6, 15)
STAGES = ["prospecting", "qualification", "proposal", "negotiation", "closed_won",
          "closed_lost"]
REASONS = [None, "price", "timing", "competitor"]
INDUSTRIES = [None, "technology", "finance", "retail"]
SETTINGS = settings(max_examples=int(os.environ.get("HOTCRM_FUZZ_EXAMPLES", "12")),
                    deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

amounts = st.one_of(st.none(), st.integers(0, 500_000).map(lambda c: c / 4))
close_dates = st.integers(-400, 400).map(lambda d: TODAY + timedelta(days=d))
deal = st.fixed_dictionaries({"stage": st.sampled_from(STAGES), "amount": amounts,
                              "close_date": close_dates, "owner": st.integers(0, 3),
                              "loss_reason": st.sampled_from(REASONS),
                              "account": st.integers(0, 2)})
open_deal = st.fixed_dictionaries({  # always accepted: later steps have deals to change
    "stage": st.sampled_from(STAGES[:4]), "amount": amounts,
    "close_date": st.integers(1, 400).map(lambda d: TODAY + timedelta(days=d)),
    "owner": st.integers(0, 3), "loss_reason": st.none(), "account": st.integers(0, 2)})
change = st.one_of(
    st.fixed_dictionaries({"stage": st.sampled_from(STAGES)}),
    st.fixed_dictionaries({"amount": amounts}),
    st.fixed_dictionaries({"close_date": close_dates}),
    st.fixed_dictionaries({"owner": st.integers(0, 3)}),
    st.fixed_dictionaries({"account": st.integers(0, 2)}),
    st.fixed_dictionaries({"stage": st.sampled_from(STAGES), "loss_reason":
                           st.sampled_from(REASONS), "amount": amounts}),
)
operation = st.one_of(
    st.tuples(st.just("insert"), deal),
    st.tuples(st.just("bulk"), st.lists(deal, min_size=1, max_size=4)),
    st.tuples(st.just("update"), st.tuples(st.integers(0, 50), change)),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("industry"), st.tuples(st.integers(0, 2), st.sampled_from(INDUSTRIES))),
)


@pytest.fixture
def world(ql: Any) -> dict[str, Any]:
    team = make_team(ql)
    ql.clock = fixed_clock(datetime(2025, 6, 15, 12, 0))
    accounts = [ql.insert(team.system, "account", {"name": f"Rollup Co {n}",
                                                   "phone": "+1 555 0100", "industry": industry})
                ["id"] for n, industry in enumerate(["technology", "finance", None])]
    owners = [team.admin, team.manager, team.rep_a, team.rep_b]
    return {"team": team, "account": accounts[0], "accounts": accounts, "owners": owners}


TOUCHED = ("activity", "contract", "opportunity")  # a won deal books a contract and a task


def _reset(ql: Any) -> None:
    """Test setup only: no deals and empty rollups (both empty is consistent)."""
    with ql.engine.begin() as conn:
        for name in TOUCHED:
            conn.execute(delete(ql.schema.table(name)))
            for _, table in ql.schema.rollups.get(name, []):
                conn.execute(delete(table))


def _row(world: dict[str, Any], d: dict[str, Any]) -> dict[str, Any]:
    return {"name": "Deal", "account": world["accounts"][d.get("account", 0)],
            "stage": d["stage"],
            "amount": d["amount"], "close_date": d["close_date"],
            "owner": world["owners"][d["owner"]].user_id, "loss_reason": d["loss_reason"]}


def _run(ql: Any, world: dict[str, Any], ops: list[tuple[str, Any]]) -> None:
    system = Context.system()
    for kind, arg in ops:
        ids = [r["id"] for r in ql.find(system, "opportunity", fields=["id"],
                                        sort=[["id", "asc"]], limit=200).records]
        try:
            if kind == "insert":
                ql.insert(world["owners"][arg["owner"]], "opportunity", _row(world, arg))
            elif kind == "bulk":
                ql.bulk_insert(system, "opportunity", [_row(world, d) for d in arg])
            elif kind == "update" and ids:
                index, changes = arg
                if "owner" in changes:
                    changes = {"owner": world["owners"][changes["owner"]].user_id}
                if "account" in changes:
                    changes = {"account": world["accounts"][changes["account"]]}
                ql.update(system, "opportunity", ids[index % len(ids)], changes)
            elif kind == "delete" and ids:
                ql.delete(system, "opportunity", ids[arg % len(ids)])
            elif kind == "industry":  # every deal of the account moves with it
                account, industry = arg
                ql.update(system, "account", world["accounts"][account],
                          {"industry": industry})
        except ObjectQLError:
            pass  # refused saves (a past close date, a lost deal without reason) roll back


def _month(ql: Any, column: str) -> str:
    return f"strftime('%Y-%m', {column})" if ql.engine.dialect.name == "sqlite" \
        else f"to_char({column}, 'YYYY-MM')"


def _days(ql: Any, column: str) -> str:
    return f"(julianday({column}) - 2440587.5)" if ql.engine.dialect.name == "sqlite" \
        else f"(extract(epoch from {column}::timestamp) / 86400.0)"


def _dim(spec: Any, path: str) -> str:
    """A dimension in hand-written SQL: the column, or the looked-up record's field."""
    if "." not in path:
        return f"o.{path}"
    [reach] = [r for r in spec.reaches if r.path == path]
    return f"r_{reach.lookup}.{reach.field}"


def _oracle(ql: Any, spec: Any) -> dict[tuple[str, ...], list[float]]:
    keys = [f"coalesce({_dim(spec, d)}, '')" for d in spec.dims]
    if spec.month:
        keys.append(f"coalesce({_month(ql, 'o.' + spec.month)}, '')")
    values = ["count(*)"]
    obj = ql.object(spec.object)
    for m in spec.measures:
        fd = obj.field(m)
        expr = _days(ql, f"o.{m}") if fd.value_type in ("date", "datetime") else f"o.{m}"
        values += [f"coalesce(sum({expr}), 0)", f"count(o.{m})"]
    sql = f"SELECT {', '.join(keys + values)} FROM {spec.object} o"
    for lookup, target in sorted({(r.lookup, r.target) for r in spec.reaches}):
        sql += f" LEFT JOIN {target} r_{lookup} ON r_{lookup}.id = o.{lookup}"
    if keys:
        sql += f" GROUP BY {', '.join(keys)}"
    with ql.engine.connect() as conn:
        return {tuple(r[:len(keys)]): [float(v) for v in r[len(keys):]]
                for r in conn.execute(text(sql)) if r[len(keys)]}


def _stored(ql: Any, spec: Any, table: Any) -> dict[tuple[str, ...], list[float]]:
    measures = [COUNT, *[c for m in spec.measures for c in (sum_column(m), count_column(m))]]
    with ql.engine.connect() as conn:
        rows = conn.execute(select(*[table.c[k] for k in spec.key_columns],
                                   *[table.c[m] for m in measures]))
        n = len(spec.key_columns)
        return {tuple(r[:n]): [float(v) for v in r[n:]] for r in rows}


def _assert_equal(ours: dict[Any, list[float]], oracle: dict[Any, list[float]]) -> None:
    assert set(ours) == set(oracle)
    for key, values in oracle.items():
        assert ours[key] == pytest.approx(values, rel=1e-9, abs=1e-6), key


@SETTINGS
@given(first=st.lists(open_deal, min_size=1, max_size=6),
       ops=st.lists(operation, min_size=1, max_size=14))
def test_rollups_equal_a_group_by_over_the_records(ql: Any, world: dict[str, Any],
                                                   first: list[dict[str, Any]],
                                                   ops: list[tuple[str, Any]]) -> None:
    _reset(ql)
    _run(ql, world, [("bulk", first), *ops])
    assert ql.schema.rollups["opportunity"], "the sales dashboard asks for rollups"
    for name in TOUCHED:
        for spec, table in ql.schema.rollups.get(name, []):
            _assert_equal(_stored(ql, spec, table), _oracle(ql, spec))
    # ObjectQL answers from the rollup exactly what the records say, as a manager sees them.
    manager = world["team"].manager
    owners = [manager.user_id, *sorted(manager.subordinate_ids)]
    ours = {r["stage"]: (r["n"], r["amount"]) for r in ql.aggregate(
        manager, "opportunity", group_by=["stage"],
        aggregate={"n": ("count", "id"), "amount": ("sum", "amount")},
        filters=[["stage", "not in", ["closed_won", "closed_lost"]]])}
    stmt = text("SELECT stage, count(*), sum(amount) FROM opportunity WHERE owner IN :o "
                "AND stage NOT IN ('closed_won', 'closed_lost') GROUP BY stage"
                ).bindparams(bindparam("o", expanding=True))
    with ql.engine.connect() as conn:
        oracle = {s: (n, a) for s, n, a in conn.execute(stmt, {"o": owners})}
    assert set(ours) == set(oracle)
    for stage, (n, amount) in oracle.items():
        assert ours[stage][0] == n
        assert (ours[stage][1] is None) == (amount is None)
        if amount is not None:
            assert ours[stage][1] == pytest.approx(amount, rel=1e-9)
    start, end = date(2025, 4, 1), date(2025, 7, 1)
    [won] = ql.aggregate(manager, "opportunity", aggregate={
        "n": ("count", "id"), "avg": ("avg", "amount"), "cycle": ("avg", "created_at")},
        filters=[["stage", "=", "closed_won"], ["close_date", ">=", start.isoformat()],
                 ["close_date", "<", end.isoformat()]])
    stmt = text(f"SELECT count(*), avg(amount), avg({_days(ql, 'created_at')}) FROM "
                "opportunity WHERE owner IN :o AND stage = 'closed_won' AND close_date >= :s "
                "AND close_date < :e").bindparams(bindparam("o", expanding=True))
    with ql.engine.connect() as conn:
        n, average, cycle = conn.execute(stmt, {"o": owners, "s": start, "e": end}).one()
    assert won["n"] == n
    for got, want in ((won["avg"], average), (won["cycle"], cycle)):
        assert (got is None) == (want is None)
        if want is not None:
            assert got == pytest.approx(float(want), rel=1e-9)

    _assert_by_industry(ql, manager, owners)


def _assert_by_industry(ql: Any, manager: Any, owners: list[str]) -> None:
    """The dashboard's industry filter and revenue-by-industry donut, answered from the
    rollup keeping the account's industry, equal a join written by hand."""
    opportunity = ql.object("opportunity")
    count_and_sum = {"n": ("count", "id"), "amount": ("sum", "amount")}
    grouped = rollups.answer(ql, manager, opportunity, ["account.industry"], count_and_sum,
                             [["stage", "=", "closed_won"]], None, 1000)
    filtered = rollups.answer(ql, manager, opportunity, ["stage"], count_and_sum,
                              [["account.industry", "=", "finance"],
                               ["stage", "not in", ["closed_won", "closed_lost"]]], None, 1000)
    assert grouped is not None and filtered is not None, "served by a rollup"
    join = ("FROM opportunity o LEFT JOIN account a ON a.id = o.account WHERE o.owner IN :o")
    with ql.engine.connect() as conn:
        by_industry = conn.execute(text(
            f"SELECT a.industry, count(*), sum(o.amount) {join} AND o.stage = 'closed_won' "
            "GROUP BY a.industry").bindparams(bindparam("o", expanding=True)), {"o": owners})
        in_finance = conn.execute(text(
            f"SELECT o.stage, count(*), sum(o.amount) {join} AND a.industry = 'finance' AND "
            "o.stage NOT IN ('closed_won', 'closed_lost') GROUP BY o.stage"
        ).bindparams(bindparam("o", expanding=True)), {"o": owners})
        for ours, oracle, key in ((grouped, by_industry.all(), "account.industry"),
                                  (filtered, in_finance.all(), "stage")):
            assert {r[key]: r["n"] for r in ours} == {k: n for k, n, _ in oracle}
            sums = {r[key]: r["amount"] for r in ours}
            for k, _, amount in oracle:
                assert (sums[k] is None) == (amount is None)
                if amount is not None:
                    assert sums[k] == pytest.approx(float(amount), rel=1e-9)


def test_an_account_changing_industry_moves_its_deals(ql: Any, world: dict[str, Any]) -> None:
    """The rollups keep each deal under its account's industry: when the account changes
    industry (or loses it), or a deal moves to another account, the figures follow."""
    _reset(ql)
    deals = [{"stage": stage, "amount": 100.0 * (n + 1), "owner": n % 4, "account": n % 3,
              "close_date": TODAY + timedelta(days=n * 7), "loss_reason": "price"}
             for n, stage in enumerate(STAGES * 2)]
    _run(ql, world, [("bulk", deals), ("industry", (0, "retail")), ("industry", (2, "finance")),
                     ("update", (0, {"account": 1})), ("update", (4, {"account": 2})),
                     ("industry", (1, None)), ("delete", 3), ("industry", (0, "finance"))])
    assert any(spec.reaches for spec, _ in ql.schema.rollups["opportunity"])
    for name in TOUCHED:
        for spec, table in ql.schema.rollups.get(name, []):
            _assert_equal(_stored(ql, spec, table), _oracle(ql, spec))
    manager = world["team"].manager
    _assert_by_industry(ql, manager, [manager.user_id, *sorted(manager.subordinate_ids)])


def test_a_deal_saved_while_its_account_changes_industry_is_counted_once(
        ql: Any, world: dict[str, Any]) -> None:
    """A deal's save and its account's industry change at the same time: the account's
    save waits for the deal's (which read the industry FOR SHARE), then moves it too."""
    _reset(ql)
    account = world["accounts"][1]
    saved, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def save_deal() -> None:
        try:
            with ql.transaction():
                ql.insert(Context.system(), "opportunity", _row(world, {
                    "stage": "proposal", "amount": 500.0, "owner": 2, "account": 1,
                    "close_date": TODAY + timedelta(days=30), "loss_reason": None}))
                saved.set()
                done.wait(1.0)  # the account's save starts meanwhile (and must wait)
        except BaseException as exc:  # reported below
            errors.append(exc)
            saved.set()

    def change_industry() -> None:
        try:
            saved.wait(10)
            ql.update(Context.system(), "account", account, {"industry": "retail"})
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            done.set()

    threads = [threading.Thread(target=save_deal), threading.Thread(target=change_industry)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    for spec, table in ql.schema.rollups["opportunity"]:
        _assert_equal(_stored(ql, spec, table), _oracle(ql, spec))
    ql.update(Context.system(), "account", account, {"industry": "finance"})  # as it was


def test_a_failed_save_leaves_the_rollup_as_it_was(ql: Any, world: dict[str, Any]) -> None:
    _reset(ql)
    _run(ql, world, [("insert", {"stage": "proposal", "amount": 100.0, "owner": 2,
                                 "close_date": TODAY + timedelta(days=10),
                                 "loss_reason": None})])
    spec, table = ql.schema.rollups["opportunity"][0]
    before = _stored(ql, spec, table)
    [deal] = ql.find(Context.system(), "opportunity", fields=["id"], limit=1).records
    with pytest.raises(ObjectQLError):  # closed lost without a reason: refused
        ql.update(Context.system(), "opportunity", deal["id"], {"stage": "closed_lost"})
    assert _stored(ql, spec, table) == before


def test_a_new_rollup_is_filled_from_the_records(ql: Any, world: dict[str, Any]) -> None:
    """A rollup table created by a schema sync (new dashboard, new database) starts with
    the records' figures."""
    _reset(ql)
    _run(ql, world, [("bulk", [{"stage": s, "amount": 10.0 * i, "owner": i % 4,
                                "close_date": TODAY + timedelta(days=i), "loss_reason": "price"}
                               for i, s in enumerate(STAGES)])])
    spec, table = ql.schema.rollups["opportunity"][-1]
    with ql.engine.begin() as conn:
        table.drop(conn)
    ql.sync_schema()
    _assert_equal(_stored(ql, spec, table), _oracle(ql, spec))


def test_a_deal_is_saved_in_one_statement_on_postgresql(ql: Any, world: dict[str, Any]) -> None:
    """A rep's new deal: the account lookup check reads the industry the rollups keep
    (once, not again for them); on PostgreSQL that check, the deal, its audit entry and
    every rollup go in one statement (data-modifying CTEs) — one round trip besides
    BEGIN and COMMIT, where there were seven. The figures stay exact (the oracle)."""
    _reset(ql)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE is ours
            statements.append(" ".join(statement.split()))

    event.listen(ql.engine, "before_cursor_execute", seen)
    try:
        ql.insert(world["owners"][2], "opportunity", _row(world, {
            "stage": "proposal", "amount": 750.0, "owner": 2, "account": 0,
            "close_date": TODAY + timedelta(days=30), "loss_reason": None}))
    finally:
        event.remove(ql.engine, "before_cursor_execute", seen)
    rollup_count = len(ql.schema.rollups["opportunity"])
    if ql.engine.dialect.name == "postgresql":
        assert len(statements) == 1, statements
        [statement] = statements
        assert statement.count("FROM account") == 1  # the industry is read once
        assert "FOR SHARE OF account" in statement
        assert statement.count("ON CONFLICT") == rollup_count
        assert "INSERT INTO audit_entry" in statement
    else:  # lookup check, record, audit entry, one upsert per rollup
        industry_reads = [s for s in statements if s.startswith("SELECT") and "industry" in s]
        assert len(industry_reads) == 1, statements
        assert len(statements) == 3 + rollup_count, statements
    for spec, table in ql.schema.rollups["opportunity"]:
        _assert_equal(_stored(ql, spec, table), _oracle(ql, spec))


def test_a_deal_linking_a_missing_account_changes_no_rollup(
        ql: Any, world: dict[str, Any]) -> None:
    """On PostgreSQL the lookup is checked by the statement that also adds to the rollups:
    a failed check writes no deal and must leave every rollup as it was."""
    _reset(ql)
    with pytest.raises(ValidationError, match="no account with id 'missing'"):
        ql.insert(world["owners"][2], "opportunity", {**_row(world, {
            "stage": "proposal", "amount": 750.0, "owner": 2, "account": 0,
            "close_date": TODAY + timedelta(days=30), "loss_reason": None}),
            "account": "missing"})
    for spec, table in ql.schema.rollups["opportunity"]:
        _assert_equal(_stored(ql, spec, table), _oracle(ql, spec))


def test_a_deal_update_rolls_up_in_its_own_statement_on_postgresql(
        ql: Any, world: dict[str, Any]) -> None:
    """A stage change moves the deal between groups of every rollup: on PostgreSQL the
    upserts ride in the UPDATE's statement and the groups it left are cleared in one
    more — load, industry read, save, clear (it was 2 + 2 per rollup). Exact figures."""
    _reset(ql)
    owner = world["owners"][2]
    saved = ql.insert(owner, "opportunity", _row(world, {
        "stage": "proposal", "amount": 750.0, "owner": 2, "account": 0,
        "close_date": TODAY + timedelta(days=30), "loss_reason": None}))
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith("BEGIN"):
            statements.append(" ".join(statement.split()))

    event.listen(ql.engine, "before_cursor_execute", seen)
    try:
        ql.update(owner, "opportunity", saved["id"], {"stage": "negotiation"})
    finally:
        event.remove(ql.engine, "before_cursor_execute", seen)
    rollup_count = len(ql.schema.rollups["opportunity"])
    if ql.engine.dialect.name == "postgresql":
        assert len(statements) == 4, statements
        assert statements[2].count("ON CONFLICT") == rollup_count
        assert "UPDATE opportunity" in statements[2]
        assert statements[3].count("DELETE FROM") == rollup_count
    for spec, table in ql.schema.rollups["opportunity"]:
        _assert_equal(_stored(ql, spec, table), _oracle(ql, spec))


def test_an_update_that_writes_nothing_moves_no_rollup(ql: Any, world: dict[str, Any]) -> None:
    """The update's rollup upserts are guarded by its version check: when the UPDATE
    matches nothing — here a before_update trigger saved the same deal first — and the
    caller carries on after the Conflict in the same transaction, no rollup moved."""
    _reset(ql)
    owner = world["owners"][2]
    saved = ql.insert(owner, "opportunity", _row(world, {
        "stage": "proposal", "amount": 750.0, "owner": 2, "account": 0,
        "close_date": TODAY + timedelta(days=30), "loss_reason": None}))
    armed = [True]

    def save_first(tc: TriggerContext) -> None:
        if armed and tc.new is not None:
            armed.clear()
            tc.ql.update(Context.system(), "opportunity", tc.new["id"], {"amount": 900.0})

    trigger("opportunity", "before_update")(save_first)
    try:
        with ql.transaction():
            with pytest.raises(Conflict):
                ql.update(owner, "opportunity", saved["id"], {"stage": "negotiation"})
    finally:
        _TRIGGERS[("opportunity", "before_update")].remove(save_first)
    stored = ql.get(Context.system(), "opportunity", saved["id"])
    assert (stored["stage"], stored["amount"]) == ("proposal", 900.0)
    for spec, table in ql.schema.rollups["opportunity"]:
        _assert_equal(_stored(ql, spec, table), _oracle(ql, spec))


def test_an_aggregate_a_rollup_does_not_keep_is_answered_from_the_records(
        ql: Any, world: dict[str, Any]) -> None:
    """max(id) grouped by stage has the shape of a rollup read but no rollup keeps it:
    the records answer (this was a 500 from the API, found by the query fuzzer)."""
    _reset(ql)
    for stage in ("proposal", "proposal", "negotiation"):
        ql.insert(Context.system(), "opportunity", _row(world, {
            "stage": stage, "amount": 10.0, "owner": 0, "account": 0,
            "close_date": TODAY + timedelta(days=30), "loss_reason": None}))
    rows = ql.aggregate(Context.system(), "opportunity", group_by=["stage"],
                        aggregate={"last": ("max", "id"), "n": ("count", "id")})
    with ql.engine.connect() as conn:
        oracle = {r[0]: (r[1], r[2]) for r in conn.execute(text(
            "SELECT stage, max(id), count(*) FROM opportunity GROUP BY stage"))}
    assert {r["stage"]: (r["last"], r["n"]) for r in rows} == oracle


COUNT_FILTERS = st.lists(st.one_of(
    st.tuples(st.just("owner"), st.just("="), st.integers(0, 3)),
    st.tuples(st.just("owner"), st.just("="), st.just("$user")),
    st.tuples(st.just("stage"), st.sampled_from(["=", "!="]), st.sampled_from(STAGES)),
    st.tuples(st.just("stage"), st.just("in"), st.lists(st.sampled_from(STAGES), max_size=3)),
), max_size=2)


@SETTINGS
@given(first=st.lists(deal, min_size=1, max_size=8), ops=st.lists(operation, max_size=8),
       filters=COUNT_FILTERS, who=st.integers(0, 3))
def test_list_counts_from_rollups_equal_the_records(
        ql: Any, world: dict[str, Any], first: list[dict[str, Any]],
        ops: list[tuple[str, Any]], filters: list[Any], who: int) -> None:
    """A list's total (owner and picklist filters: served by a rollup) is the number of
    records the same user finds with the same filters, after any sequence of saves."""
    _reset(ql)
    _run(ql, world, [("insert", d) for d in first] + ops)
    ctx = world["owners"][who]
    conditions = [[f, op, world["owners"][v].user_id if f == "owner" and isinstance(v, int)
                   else v] for f, op, v in filters]
    records = ql.find(ctx, "opportunity", fields=["id"], filters=conditions, limit=500).records
    assert ql.count(ctx, "opportunity", filters=conditions) == (len(records), False)
    page = ql.find(ctx, "opportunity", fields=["id"], filters=conditions, limit=1,
                   with_total=True)
    assert page.total == len(records) and not page.total_capped
    # A page past the end has no row to carry the total: the rollup answers alone.
    beyond = ql.find(ctx, "opportunity", fields=["id"], filters=conditions, limit=1,
                     skip=len(records) + 1, with_total=True)
    assert beyond.records == [] and beyond.total == len(records)


def test_a_list_count_reads_the_rollup_not_the_records(ql: Any, world: dict[str, Any]) -> None:
    _reset(ql)
    for _ in range(3):
        ql.insert(Context.system(), "opportunity", _row(world, {
            "stage": "proposal", "amount": 1.0, "owner": 2, "account": 0,
            "close_date": TODAY + timedelta(days=30), "loss_reason": None}))
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(ql.engine, "before_cursor_execute", seen)
    try:
        total = ql.find(world["owners"][0], "opportunity", fields=["id"], limit=1,
                        filters=[["stage", "=", "proposal"]], with_total=True).total
    finally:
        event.remove(ql.engine, "before_cursor_execute", seen)
    assert total == 3
    counts = [s for s in statements if "count" in s.lower() or "sum(" in s.lower()]
    assert counts and all("rollup_opportunity" in s for s in counts), statements
    # The total rides in the page's own statement: one round trip for page and total.
    assert len(statements) == 1 and "FROM opportunity" in statements[0], statements


@pytest.mark.parametrize("filters", [
    [], [["industry", "=", "technology"]], [["industry", "!=", "technology"]],
    [["industry", "=", None]], [["industry", "!=", None]], [["industry", "in", ["finance"]]],
    [["industry", "not in", ["finance"]]], [["owner", "=", "$user"]],
    [["industry", "=", "finance"], ["owner", "!=", "$user"]]])
def test_account_counts_with_empty_industries_equal_the_records(
        ql: Any, world: dict[str, Any], filters: list[Any]) -> None:
    """Empty values are '' in a rollup: = / != / in / not in null behave as on records."""
    for ctx in (world["owners"][0], world["owners"][2], Context.system()):
        try:
            records = ql.find(ctx, "account", fields=["id"], filters=filters,
                              limit=500).records
        except ObjectQLError:
            continue  # a filter the records refuse is refused for the count as well
        assert ql.count(ctx, "account", filters=filters) == (len(records), False), ctx


def test_a_total_riding_on_an_uncached_page_leaves_nothing_in_the_plan_cache(
        ql: Any, world: dict[str, Any]) -> None:
    """A page whose statement is built for one call (an `in` list is compiled with its
    values) gets its total in the same statement, but that pairing is not cached: it
    could never be met again, and would only fill the cache (and clear it for everyone)."""
    _reset(ql)
    for _ in range(3):
        ql.insert(Context.system(), "opportunity", _row(world, {
            "stage": "proposal", "amount": 1.0, "owner": 2, "account": 0,
            "close_date": TODAY + timedelta(days=30), "loss_reason": None}))
    before = {k for k in ql._plans if k[0] == "with_total"}
    for stages in (["proposal"], ["proposal", "closed_won"], ["proposal", "prospecting"]):
        page = ql.find(world["owners"][0], "opportunity", fields=["id"], limit=1,
                       filters=[["stage", "in", stages]], with_total=True)
        assert page.total == 3
    assert {k for k in ql._plans if k[0] == "with_total"} <= before


def test_a_list_total_from_a_rollup_uses_the_page_s_connection(
        ql: Any, world: dict[str, Any]) -> None:
    """One connection per request: a second checkout for the total deadlocked the pool
    once every request held one (16 concurrent REST lists, a pool of 15)."""
    _reset(ql)
    for _ in range(3):
        ql.insert(Context.system(), "opportunity", _row(world, {
            "stage": "proposal", "amount": 1.0, "owner": 2, "account": 0,
            "close_date": TODAY + timedelta(days=30), "loss_reason": None}))
    held, peak = [0], [0]

    def out(*_args: Any) -> None:
        held[0] += 1
        peak[0] = max(peak[0], held[0])

    def back(*_args: Any) -> None:
        held[0] -= 1

    event.listen(ql.engine, "checkout", out)
    event.listen(ql.engine, "checkin", back)
    try:
        page = ql.find(world["owners"][0], "opportunity", fields=["id"], limit=1,
                       filters=[["stage", "=", "proposal"]], with_total=True)
    finally:
        event.remove(ql.engine, "checkout", out)
        event.remove(ql.engine, "checkin", back)
    assert page.total == 3
    assert peak[0] == 1


def test_counts_no_rollup_can_serve_leave_nothing_per_value_in_the_plan_cache(
        ql: Any, world: dict[str, Any]) -> None:
    """A related list's total (deals of one account: `account` is no rollup dimension)
    is decided by its paths; caching "no rollup" per account would fill the plan cache
    (and clear it for everyone) one account page at a time."""
    ctx = world["owners"][0]
    before = {k for k in ql._plans if k[0] == "rollup"}
    for account in world["accounts"]:
        ql.count(ctx, "opportunity", filters=[["account", "=", account]])
    assert {k for k in ql._plans if k[0] == "rollup"} <= before
