"""ObjectQL reads as a CRM user sees them: filters, dates, lookups, search, views, counts,
aggregates and the JSON query shape, on every configured backend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.objectql.errors import NotFound, QueryError
from tests.conftest import Team, fixed_clock, make_team

CREATED = datetime(2024, 12, 2, 9, 0)  # data is entered here ...
TODAY = datetime(2025, 5, 14, 10, 30)  # ... and queried on a Wednesday in Q2

ACCOUNTS = {  # name: (industry, annual_revenue, employees, rating, phone, email, owner)
    "Acme Corp": ("technology", 20_000_000, 500, "hot", "+1 555 0100", "info@acme.example",
                  "rep_a"),
    "Globex": ("finance", 5_000_000, 120, "warm", None, "hello@globex.example", "rep_b"),
    "Initech": ("technology", None, 50, None, "+1 555 0199", None, "rep_a"),
    "Umbrella 100% Health_Care": ("healthcare", 12_000_000, 2000, "cold", "+44 20 7946 0000",
                                  None, "rep_b"),
    "Hooli": (None, 0, None, None, None, "x@hooli.example", "manager"),
    "Umbrella 1000 HealthXCare": ("other", None, 10, None, "+1 555 0123", None, "rep_b"),
}
OPPS = {  # name: (close_date, account, stage, amount)
    "w-1": ("2025-05-11", "Acme Corp", "prospecting", 100),
    "w0": ("2025-05-12", "Acme Corp", "prospecting", 300),
    "today": ("2025-05-14", "Globex", "proposal", 1000),
    "w6": ("2025-05-18", "Initech", "closed_won", 5000),
    "nextw": ("2025-05-19", "Initech", "closed_won", 7000),
    "q-start": ("2025-04-01", "Globex", "closed_lost", None),
    "q-end": ("2025-06-30", "Hooli", "negotiation", None),
    "nextq": ("2025-07-01", "Hooli", "negotiation", 2_000_000),
    "lastyear": ("2024-12-31", "Globex", "qualification", 50),
    "m-start": ("2025-05-01", "Acme Corp", "needs_analysis", 70),
    "apr30": ("2025-04-30", "Acme Corp", "needs_analysis", 80),
}


@dataclass
class Crm:
    ql: Any
    team: Team
    acc: dict[str, str]
    opp: dict[str, str]
    contact: str

    def names(self, obj: str, ctx: Any = None, **kw: Any) -> set[str]:
        rows = self.ql.find(ctx or self.team.admin, obj, limit=200, **kw).records
        field = "name" if obj != "contact" else "last_name"
        return {r[field] for r in rows}


@pytest.fixture
def crm(ql: Any, team: Team) -> Crm:
    ql.clock = fixed_clock(CREATED)
    acc = {}
    for name, (ind, rev, emp, rating, phone, email, owner) in ACCOUNTS.items():
        acc[name] = ql.insert(getattr(team, owner), "account", {
            "name": name, "industry": ind, "annual_revenue": rev,
            "number_of_employees": emp, "rating": rating, "phone": phone, "email": email,
        })["id"]
    contact = ql.insert(team.rep_a, "contact", {"last_name": "Coyote", "account": acc["Acme Corp"],
                                                "email": "wile@acme.example"})["id"]
    opp = {}
    for name, (close, account, stage, amount) in OPPS.items():
        opp[name] = ql.insert(team.rep_a if account != "Hooli" else team.rep_b, "opportunity", {
            "name": name, "close_date": close, "account": acc[account], "stage": stage,
            "amount": amount, "loss_reason": "price" if stage == "closed_lost" else None,
            "contact": contact if name == "w0" else None,
        })["id"]
    ql.clock = fixed_clock(TODAY)
    return Crm(ql, team, acc, opp, contact)


ALL_ACCOUNTS = set(ACCOUNTS)
UMBRELLAS = {"Umbrella 100% Health_Care", "Umbrella 1000 HealthXCare"}


OPERATOR_CASES = [
    (["industry", "=", "technology"], {"Acme Corp", "Initech"}),
    (["industry", "!=", "technology"], ALL_ACCOUNTS - {"Acme Corp", "Initech"}),
    (["annual_revenue", ">", 5_000_000], {"Acme Corp", "Umbrella 100% Health_Care"}),
    (["annual_revenue", ">=", "5000000"], {"Acme Corp", "Globex", "Umbrella 100% Health_Care"}),
    (["annual_revenue", "<", 5_000_000], {"Hooli"}),
    (["annual_revenue", "<=", 5_000_000], {"Hooli", "Globex"}),
    (["industry", "in", ["technology", "finance"]], {"Acme Corp", "Globex", "Initech"}),
    (["industry", "not in", ["technology", "finance"]], ALL_ACCOUNTS - {"Acme Corp", "Globex",
                                                                         "Initech"}),
    (["industry", "in", []], set()),
    (["name", "contains", "BRELL"], UMBRELLAS),
    (["name", "contains", "100%"], {"Umbrella 100% Health_Care"}),
    (["name", "startswith", "acme"], {"Acme Corp"}),
    (["name", "endswith", "TECH"], {"Initech"}),
    (["annual_revenue", "between", [5_000_000, 12_000_000]],
     {"Globex", "Umbrella 100% Health_Care"}),
    (["number_of_employees", "between", [100, 500]], {"Acme Corp", "Globex"}),
    (["industry", "=", None], {"Hooli"}),
    (["industry", "!=", None], ALL_ACCOUNTS - {"Hooli"}),
    (["annual_revenue", "=", None], {"Initech", "Umbrella 1000 HealthXCare"}),
    (["email", "endswith", "@acme.example"], {"Acme Corp"}),
    (["name", "NOT_IN", ["Hooli"]], ALL_ACCOUNTS - {"Hooli"}),
]


def test_each_operator_selects_the_right_accounts(crm: Crm):
    # one data set, many cases: a loop keeps the suite fast (setup dominates)
    for condition, expected in OPERATOR_CASES:
        assert crm.names("account", filters=[condition]) == expected, condition


def test_and_or_groups_nest_like_the_design_says(crm: Crm):
    tech_rich = [["industry", "=", "technology"], ["annual_revenue", ">", 1_000_000]]
    # [c1, c2, "or", [c3]] means (c1 AND c2) OR c3
    assert crm.names("account", filters=[*tech_rich, "or", [["rating", "=", "cold"]]]) == {
        "Acme Corp", "Umbrella 100% Health_Care"}
    # c1 AND (c2 OR c3): Initech is technology but has neither revenue nor a rating
    assert crm.names("account", filters=[
        ["industry", "=", "technology"],
        [["annual_revenue", ">", 1_000_000], "or", ["rating", "=", "cold"]]]) == {"Acme Corp"}
    assert crm.names("account", filters=[tech_rich[0], "and", tech_rich[1]]) == {"Acme Corp"}
    assert crm.names("account", filters=[[[["industry", "=", "finance"]]]]) == {"Globex"}
    assert crm.names("account", filters=[["name", "=", "Hooli"], "or", ["name", "=", "Globex"],
                                         "or", ["name", "=", "nobody"]]) == {"Hooli", "Globex"}
    # $user is whoever asks
    mine = [["owner", "=", "$user"]]
    assert crm.names("account", crm.team.rep_a, filters=mine) == {"Acme Corp", "Initech"}
    assert crm.names("account", crm.team.manager, filters=mine) == {"Hooli"}
    with pytest.raises(QueryError, match=r"\$user.*industry"):
        crm.ql.find(crm.team.rep_a, "account", filters=[["industry", "=", "$user"]])


DATE_CASES = [
    (["close_date", "=", "$today"], {"today"}),
    (["close_date", "=", "this_week"], {"w0", "today", "w6"}),
    (["close_date", "=", "this_month"], {"w-1", "w0", "today", "w6", "nextw", "m-start"}),
    (["close_date", "=", "this_quarter"], set(OPPS) - {"nextq", "lastyear"}),
    (["close_date", "=", "this_year"], set(OPPS) - {"lastyear"}),
    (["close_date", "=", "last_n_days:7"], {"w-1", "w0", "today"}),
    (["close_date", "=", "last_n_days:1"], {"today"}),
    (["close_date", "=", "next_n_days:4"], {"today", "w6"}),
    (["close_date", "=", "next_n_days:5"], {"today", "w6", "nextw"}),
    (["close_date", "<", "this_week"], {"w-1", "lastyear", "q-start", "m-start", "apr30"}),
    (["close_date", ">", "this_month"], {"q-end", "nextq"}),
    (["close_date", "!=", "$today"], set(OPPS) - {"today"}),
    (["close_date", "between", ["2025-05-01", "2025-05-12"]], {"m-start", "w-1", "w0"}),
    (["close_date", ">=", "2025-06-30"], {"q-end", "nextq"}),
]


def test_relative_dates_follow_the_pinned_today(crm: Crm):
    for condition, expected in DATE_CASES:
        assert crm.names("opportunity", filters=[condition]) == expected, condition
    # a year later the same tokens mean other deals
    crm.ql.clock = fixed_clock(datetime(2025, 12, 31, 23, 0))
    assert crm.names("opportunity", filters=[["close_date", "=", "this_year"]]) == \
        set(OPPS) - {"lastyear"}
    assert crm.names("opportunity", filters=[["close_date", "=", "this_quarter"]]) == set()
    crm.ql.clock = fixed_clock(datetime(2025, 1, 1, 8, 0))
    assert crm.names("opportunity", filters=[["close_date", "=", "last_n_days:2"]]) == {
        "lastyear"}


def test_date_tokens_on_datetime_fields_cover_whole_days(crm: Crm):
    ql, admin = crm.ql, crm.team.admin
    for stamp, name in [(datetime(2025, 5, 12, 0, 0), "Monday"),
                        (datetime(2025, 5, 18, 23, 59, 59), "Sunday"),
                        (datetime(2025, 5, 19, 0, 0), "Next Monday"),
                        (datetime(2025, 5, 14, 23, 0), "Tonight")]:
        ql.clock = fixed_clock(stamp)
        ql.insert(admin, "account", {"name": name, "phone": "+1 555 0000"})
    ql.clock = fixed_clock(TODAY)
    assert crm.names("account", filters=[["created_at", "=", "this_week"]]) == {
        "Monday", "Sunday", "Tonight"}
    assert crm.names("account", filters=[["created_at", "=", "$today"]]) == {"Tonight"}
    assert crm.names("account", filters=[["created_at", "=", "last_n_days:2"]]) == {"Tonight"}
    view = ql.find(admin, "account", view="new_this_week").records
    assert [r["name"] for r in view] == ["Sunday", "Tonight", "Monday"]  # created_at desc


def test_dotted_paths_filter_and_show_lookup_fields(crm: Crm):
    ql, admin = crm.ql, crm.team.admin
    rows = ql.find(admin, "opportunity", fields=["name", "account.name", "account.industry"],
                   filters=[["account.industry", "=", "technology"],
                            ["amount", ">=", 300]], sort="name").records
    assert [(r["name"], r["account.name"], r["account.industry"]) for r in rows] == [
        ("nextw", "Initech", "technology"), ("w0", "Acme Corp", "technology"),
        ("w6", "Initech", "technology")]
    assert set(rows[0]) == {"id", "name", "account.name", "account.industry"}
    assert crm.names("opportunity", filters=[["contact.account.name", "=", "Acme Corp"]]) == {
        "w0"}


def test_expand_nests_the_lookup_record_or_none(crm: Crm):
    ql, admin = crm.ql, crm.team.admin
    rec = ql.get(admin, "opportunity", crm.opp["w0"], fields=["name"],
                 expand={"account": ["name", "industry"], "contact": None})
    assert rec["account"] == {"id": crm.acc["Acme Corp"], "name": "Acme Corp",
                              "industry": "technology"}
    assert rec["contact"] == {"id": crm.contact, "last_name": "Coyote"}
    other = ql.get(admin, "opportunity", crm.opp["w-1"], expand={"contact": ["last_name"]})
    assert other["contact"] is None
    assert other["account"] == crm.acc["Acme Corp"]  # not expanded: still the id
    with pytest.raises(QueryError, match="expand 'name'"):
        ql.find(admin, "opportunity", expand={"name": None})


SEARCH_CASES = [
    ("acme", {"Acme Corp"}),
    ("ACME corp", {"Acme Corp"}),
    ("umbrella health", UMBRELLAS),
    ("100%", {"Umbrella 100% Health_Care"}),
    ("health_care", {"Umbrella 100% Health_Care"}),
    ("globex.example", {"Globex"}),  # email is searchable too
    ("hooli nothere", set()),
    ("   ", ALL_ACCOUNTS),
]


def test_search_is_case_insensitive_multi_word_and_literal(crm: Crm):
    for text, expected in SEARCH_CASES:
        assert crm.names("account", search=text) == expected, text
    assert crm.names("contact", search="WILE@acme") == {"Coyote"}


def test_sort_puts_empty_values_first_ascending_and_last_descending(crm: Crm):
    ql, admin = crm.ql, crm.team.admin
    asc = ql.find(admin, "account", fields=["name"], sort=[["annual_revenue", "asc"],
                                                           ["name", "asc"]]).records
    assert [r["name"] for r in asc] == [
        "Initech", "Umbrella 1000 HealthXCare", "Hooli", "Globex",
        "Umbrella 100% Health_Care", "Acme Corp"]
    desc = ql.find(admin, "account", fields=["name"], sort="-annual_revenue,name").records
    assert [r["name"] for r in desc] == [
        "Acme Corp", "Umbrella 100% Health_Care", "Globex", "Hooli",
        "Initech", "Umbrella 1000 HealthXCare"]


def test_paging_is_stable_over_ties(ql: Any, team: Team):
    ql.bulk_insert(team.admin, "account", [
        {"name": f"Tie {i:02d}", "industry": "retail", "phone": "+1 555 0000"}
        for i in range(23)])
    seen: list[str] = []
    for skip in range(0, 23, 5):
        page = ql.find(team.admin, "account", fields=["name"], sort="industry", limit=5,
                       skip=skip, with_total=True)
        assert page.total == 23 and not page.total_capped
        seen += [r["id"] for r in page.records]
    assert len(seen) == 23 == len(set(seen))
    assert ql.find(team.admin, "account", sort="industry", skip=23).records == []


def test_list_views_apply_filters_columns_and_sort(crm: Crm):
    ql, team = crm.ql, crm.team
    mine = ql.find(team.rep_a, "account", view="my_accounts").records
    assert [r["name"] for r in mine] == ["Acme Corp", "Initech"]
    assert set(mine[0]) == {"id", "name", "account_number", "industry", "type",
                            "customer_status", "annual_revenue", "phone"}
    high = ql.find(team.admin, "account", view="high_value").records
    assert [r["name"] for r in high] == ["Acme Corp", "Umbrella 100% Health_Care"]
    tech = ql.find(team.admin, "account", view="technology",
                   filters=[["number_of_employees", "<", 100]]).records
    assert [r["name"] for r in tech] == ["Initech"]
    quarter = ql.find(team.admin, "opportunity", view="closing_this_quarter").records
    assert [r["name"] for r in quarter] == [
        "q-start", "apr30", "m-start", "w-1", "w0", "today", "w6", "nextw", "q-end"]
    assert quarter[0]["account.name"] == "Globex"
    with pytest.raises(QueryError, match="unknown list view 'nope'"):
        ql.find(team.admin, "account", view="nope")


def test_totals_and_capped_counts(crm: Crm):
    ql, admin = crm.ql, crm.team.admin
    page = ql.find(admin, "account", limit=2, with_total=True)
    assert len(page.records) == 2 and page.total == 6 and page.total_capped is False
    assert ql.find(admin, "account", skip=4, limit=2, with_total=True).total == 6
    assert ql.find(admin, "account", filters=[["industry", "=", "technology"]],
                   with_total=True).total == 2
    assert ql.count(admin, "account") == (6, False)
    assert ql.count(admin, "account", cap=5) == (5, True)
    assert ql.count(admin, "account", cap=6) == (6, False)
    assert ql.count(admin, "account", search="umbrella") == (2, False)
    assert ql.find(admin, "account", limit=2).total is None


def test_aggregates_by_stage(crm: Crm):
    ql, admin = crm.ql, crm.team.admin
    rows = ql.aggregate(admin, "opportunity", group_by=["stage"], aggregate={
        "total": ("sum", "amount"), "n": ("count", "id"), "avg": ("avg", "amount"),
        "low": ("min", "amount"), "high": ("max", "amount")})
    by_stage = {r["stage"]: r for r in rows}
    assert [r["stage"] for r in rows] == sorted(by_stage)
    assert by_stage["prospecting"] == {"stage": "prospecting", "total": 400, "n": 2,
                                       "avg": 200, "low": 100, "high": 300}
    assert by_stage["closed_won"]["total"] == 12000 and by_stage["closed_won"]["avg"] == 6000
    assert by_stage["closed_lost"]["n"] == 1 and by_stage["closed_lost"]["total"] is None
    assert by_stage["negotiation"]["n"] == 2 and by_stage["negotiation"]["total"] == 2_000_000
    ranked = ql.aggregate(admin, "opportunity", group_by=["stage"],
                          aggregate={"total": ("sum", "amount")}, sort=[["total", "desc"]])
    assert [r["stage"] for r in ranked] == [
        "negotiation", "closed_won", "proposal", "prospecting", "needs_analysis",
        "qualification", "closed_lost"]  # the empty sum sorts last, as in find()
    tech = ql.aggregate(admin, "opportunity", group_by=["account.industry"],
                        aggregate={"n": ("count", "id")}, filters=[["amount", ">", 0]])
    assert {r["account.industry"]: r["n"] for r in tech} == {
        "technology": 6, "finance": 2, None: 1}
    with pytest.raises(QueryError, match="not numeric"):
        ql.aggregate(admin, "opportunity", aggregate={"x": ("sum", "name")})
    with pytest.raises(QueryError, match="'amount'"):
        ql.aggregate(admin, "opportunity", group_by=["stage"], sort="amount")


def test_related_lists_children_of_a_parent(crm: Crm):
    ql, admin = crm.ql, crm.team.admin
    rows = ql.related(admin, "opportunity", "account", crm.acc["Acme Corp"], sort="name")
    assert [r["name"] for r in rows.records] == ["apr30", "m-start", "w-1", "w0"]
    some = ql.related(admin, "opportunity", "account", crm.acc["Acme Corp"],
                      filters=[["amount", ">", 90]], with_total=True)
    assert some.total == 2
    with pytest.raises(QueryError, match="'name' is not a lookup"):
        ql.related(admin, "opportunity", "name", crm.acc["Acme Corp"])


def test_query_json_shape(crm: Crm):
    ql, rep = crm.ql, crm.team.admin
    mine = ql.insert(rep, "opportunity", {"name": "admin's", "account": crm.acc["Globex"],
                                          "stage": "closed_lost", "loss_reason": "budget",
                                          "amount": 10, "close_date": "2025-05-01"})
    body = ql.query(rep, {
        "object": "opportunity",
        "fields": ["name", "amount", "stage", "account.name"],
        "filters": [["amount", ">", 1000], ["stage", "not in", ["closed_won", "closed_lost"]],
                    "or", [["owner", "=", "$user"]]],
        "sort": [["amount", "desc"], ["name", "asc"]],
        "limit": 20, "skip": 0,
        "expand": {"account": ["name", "industry"]},
    })
    assert [r["name"] for r in body["records"]] == ["nextq", "admin's"]
    assert body["total"] == 2 and body["records"][1]["id"] == mine["id"]
    assert body["records"][0]["account"] == {"id": crm.acc["Hooli"], "name": "Hooli",
                                             "industry": None}
    assert body["records"][0]["account.name"] == "Hooli"
    searched = ql.query(rep, {"object": "account", "search": "umbrella", "limit": 1,
                              "fields": ["name"], "sort": "name"})
    assert searched == {"records": [{"id": crm.acc["Umbrella 100% Health_Care"],
                                     "name": "Umbrella 100% Health_Care"}], "total": 2}
    agg = ql.query(rep, {"object": "opportunity", "group_by": ["stage"],
                         "aggregate": {"n": ["count", "id"]},
                         "filters": [["stage", "in", ["prospecting", "closed_won"]]]})
    assert agg == {"records": [{"stage": "closed_won", "n": 2},
                               {"stage": "prospecting", "n": 2}], "total": 2}
    viewed = ql.query(crm.team.rep_a, {"object": "account", "view": "my_accounts"})
    assert [r["name"] for r in viewed["records"]] == ["Acme Corp", "Initech"]
    with pytest.raises(QueryError, match="unknown query key"):
        ql.query(rep, {"object": "account", "where": []})
    with pytest.raises(QueryError, match="limit"):
        ql.query(rep, {"object": "account", "limit": 0})


BAD_QUERIES = [
    ({"filters": [["colour", "=", "red"]]}, "unknown field 'colour'"),
    ({"filters": [["amount", "like", "1"]]}, "unknown operator 'like'"),
    ({"filters": [["amount", ">"]]}, "malformed filter item 'amount'"),
    ({"filters": ["or", ["amount", ">", 1]]}, "'or' must stand between"),
    ({"filters": [["amount", ">", 1], "and"]}, "cannot end with"),
    ({"filters": [42]}, "malformed filter item 42"),
    ({"filters": [["amount", ">", "abc"]]}, "'abc' is not a number"),
    ({"filters": [["stage", "=", "nonsense"]]}, "'nonsense' is not one of"),
    ({"filters": [["close_date", "=", "someday"]]}, "'someday' is not a date"),
    ({"filters": [["amount", "=", "this_week"]]}, "amount"),
    ({"filters": [["amount", "between", [1]]]}, "between needs"),
    ({"filters": [["amount", "in", 5]]}, "needs a list"),
    ({"filters": [["amount", "contains", "5"]]}, "only works on text"),
    ({"filters": [["amount", ">", None]]}, "null only works with"),
    ({"filters": [["name.first", "=", "x"]]}, "'name' on opportunity is not a lookup"),
    ({"filters": [["account.colour", "=", "x"]]}, "unknown field 'colour' on account"),
    ({"sort": [["colour", "asc"]]}, "unknown field 'colour'"),
    ({"sort": [["amount", "sideways"]]}, "sort direction"),
    ({"fields": ["name", "colour"]}, "unknown field 'colour'"),
    ({"limit": 0}, "limit"),
]


def test_bad_queries_are_query_errors_naming_the_problem(crm: Crm):
    for kwargs, message in BAD_QUERIES:
        with pytest.raises(QueryError, match=message):
            crm.ql.find(crm.team.admin, "opportunity", **kwargs)
    with pytest.raises(NotFound, match="unknown object 'spaceship'"):
        crm.ql.find(crm.team.admin, "spaceship")
    for call in (lambda: crm.ql.query(crm.team.admin, {"object": "spaceship"}),
                 lambda: crm.ql.count(crm.team.admin, "spaceship")):
        with pytest.raises(NotFound):
            call()


# -- property: any filter tree either works or is a QueryError ---------------------------
GARBAGE = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                    st.sampled_from(["$user", "$today", "this_week", "last_n_days:3", "%", "_",
                                     "2025-13-40", "1e400", "x" * 300, "\\", "'; drop"]))
PLAUSIBLE = {  # field: values a user might really send, so that many trees run as SQL
    "name": st.sampled_from(["P", "p", "%", "_", ""]),
    "amount": st.one_of(st.integers(-10, 10**6), st.floats(-1, 1e6), st.just("5")),
    "probability": st.integers(-5, 120), "version": st.integers(0, 3),
    "stage": st.sampled_from(["proposal", "closed_won", "Proposal"]),
    "close_date": st.dates() | st.sampled_from(["2100-01-01", "this_year", "next_n_days:30"]),
    "created_at": st.datetimes() | st.sampled_from(["this_month", "2025-05-14T10:00Z"]),
    "is_won": st.sampled_from([True, False, "true", "no", 0, 1, 2]),
    "owner": st.sampled_from(["$user", "01abc"]), "account": st.sampled_from(["x", "a" * 40]),
    "account.industry": st.sampled_from(["technology", "finance"]),
    "account.name": st.sampled_from(["Prop", "prop"]), "id": st.text(max_size=5),
    "contact.email": st.sampled_from(["a@b.example", "nope"]), "expected_revenue": st.floats(),
}
OPS = ["=", "!=", ">", ">=", "<", "<=", "in", "not in", "contains", "startswith",
       "endswith", "between", "NOT_IN", "like", "", "or"]
GARBAGE_CONDITION = st.tuples(
    st.sampled_from([*PLAUSIBLE, "nope", "account.nope", "name.x", "", "AND"]),
    st.sampled_from(OPS), GARBAGE | st.lists(GARBAGE, max_size=3)
    | st.dictionaries(st.text(max_size=3), GARBAGE, max_size=2)).map(list)


@st.composite
def _leaf(draw: st.DrawFn) -> Any:
    """Mostly a real field and operator with a value of the shape the operator takes; now
    and then garbage or a stray and/or."""
    roll = draw(st.integers(0, 19))
    if roll < 3:
        return draw([GARBAGE_CONDITION, st.sampled_from(["or", "AND"]), GARBAGE][roll])
    field, op = draw(st.sampled_from(list(PLAUSIBLE))), draw(st.sampled_from(OPS[:12]))
    pool = PLAUSIBLE[field]
    if roll == 3:
        return [field, op, draw(GARBAGE)]
    if op in ("contains", "startswith", "endswith"):
        field = draw(st.sampled_from(["name", "stage", "account.name", "contact.email"]))
        return [field, op, draw(st.text(max_size=4) | st.sampled_from(["%", "_", "P"]))]
    if op in ("in", "not in", "between"):
        size = 2 if op == "between" else draw(st.integers(0, 3))
        return [field, op, draw(st.lists(pool, min_size=size, max_size=size))]
    return [field, op, draw(pool)]


TREES = st.recursive(_leaf(), lambda inner: st.lists(inner, min_size=1, max_size=4),
                     max_leaves=10)


@pytest.fixture
def prop_setup(sqlite_services: Any) -> tuple[Any, Any]:
    """Created once for the whole property run (hypothesis reuses function fixtures)."""
    ql = sqlite_services.ql
    team = make_team(ql)
    acc = ql.insert(team.admin, "account", {"name": "Prop", "phone": "+1 555 0000"})
    ql.insert(team.rep_a, "opportunity", {"name": "P", "account": acc["id"], "amount": 5,
                                          "stage": "proposal", "close_date": date(2100, 1, 1)})
    return ql, team.rep_a


@settings(max_examples=100, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(filters=st.lists(TREES, max_size=3))
def test_any_filter_tree_returns_records_or_a_query_error(prop_setup: tuple[Any, Any],
                                                          filters: list):
    ql, ctx = prop_setup
    try:
        result = ql.find(ctx, "opportunity", filters=filters, limit=5)
    except QueryError:
        return
    assert all(r["name"] == "P" for r in result.records)
