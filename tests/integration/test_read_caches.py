"""The read-path caches of issue 12 never serve a stale answer.

- find() reuses a statement per query shape (app/objectql/plans.py): new values bind into
  it, each caller keeps their own row filter, a write shows at once, a permission change
  takes effect at once, bad values are refused as before.
- Verified tokens are remembered until they expire (app/auth/tokens.py): a logout, a
  "sign out everywhere" and a deactivation still end them on the next request, and a
  token is only ever accepted under the secret that signed it.
Hand-written SQL is the oracle for which rows a caller may see.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from app.auth.sessions import end_all_sessions, end_session, verify
from app.auth.tokens import InvalidToken, decode_token, issue_token
from app.core import Services
from app.metadata.permissions import FieldPermission
from app.metadata.registry import Registry
from app.objectql.errors import QueryError
from app.objectql.service import ObjectQL
from tests.conftest import Team

SYSTEM_NAMES = ("Alpha", "Bravo", "Charlie")


def _accounts(ql: ObjectQL, team: Team) -> None:
    for owner in (team.rep_a, team.rep_b):
        for name in SYSTEM_NAMES:
            ql.insert(owner, "account", {"name": f"{name} {owner.name}",
                                         "phone": "+1 555 0100",
                                         "annual_revenue": 1000 * len(name)})


def _visible_names(services: Services, owner_ids: list[str], name_prefix: str) -> list[str]:
    """The oracle: names of accounts owned by `owner_ids` from `name_prefix` on."""
    marks = ", ".join(f":o{i}" for i in range(len(owner_ids)))
    with services.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT name FROM account WHERE owner IN ({marks}) "
                                 "AND name >= :p ORDER BY name"),
                            {**{f"o{i}": o for i, o in enumerate(owner_ids)},
                             "p": name_prefix}).scalars().all()
    return list(rows)


def _names(ql: ObjectQL, ctx, value: str, op: str = ">=") -> list[str]:  # type: ignore[no-untyped-def]
    return [r["name"] for r in ql.find(ctx, "account", fields=["name"], sort="name",
                                       filters=[["name", op, value]], limit=50).records]


def test_one_shape_binds_each_calls_values(services: Services, team: Team) -> None:
    ql = services.ql
    _accounts(ql, team)
    everyone = [str(team.rep_a.user_id), str(team.rep_b.user_id)]
    for prefix in ("Alpha", "Bravo", "Charlie", "Bravo"):
        assert _names(ql, team.admin, prefix) == _visible_names(services, everyone, prefix)
    keys = [k for k in ql._plans if k[0] == "find" and k[2] == "account"
            and k[5] == team.admin.user_id and k[7] == ("id", "name")]
    assert len(keys) == 1, "four calls of one shape share one statement"
    # The record id filter of GET /api/objects/account/{id}: each id its own record.
    ids = [r["id"] for r in ql.find(team.admin, "account", fields=["id"], limit=10).records]
    assert [ql.get(team.admin, "account", i)["id"] for i in ids] == ids


def _deals(services: Services, ctx) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["name"] for r in services.ql.find(ctx, "opportunity", fields=["name"],
                                                sort="name", limit=50,
                                                filters=[["amount", ">=", 100]]).records]


def _deals_oracle(services: Services, owner_ids: list[str]) -> list[str]:
    marks = ", ".join(f":o{i}" for i in range(len(owner_ids)))
    with services.engine.connect() as conn:
        return list(conn.execute(text(f"SELECT name FROM opportunity WHERE owner IN ({marks})"
                                      " AND amount >= 100 ORDER BY name"),
                                 {f"o{i}": o for i, o in enumerate(owner_ids)}).scalars())


def test_my_records_views_reuse_one_statement_per_user(services: Services, team: Team) -> None:
    """`owner = $user` (every "My ..." view) binds the caller's id: each caller gets their
    own rows — the oracle — and the second call of a shape reuses the first's statement."""
    ql = services.ql
    _accounts(ql, team)
    for _ in range(2):
        for ctx in (team.admin, team.rep_a, team.rep_b):
            mine = [r["name"] for r in ql.find(ctx, "account", fields=["name"], sort="name",
                                               filters=[["owner", "=", "$user"]],
                                               limit=50).records]
            assert mine == _visible_names(services, [str(ctx.user_id)], "")
    keys = [k for k in ql._plans if k[0] == "find" and k[2] == "account"
            and k[7] == ("id", "name") and k[9] == (("?", "owner", "=", "$user"),)]
    assert len(keys) == 3, "one statement per caller, reused on the second round"
    # `$user` on a field that is no user lookup is refused, even once a literal value
    # of the same field has a statement.
    ql.find(team.admin, "account", filters=[["name", "=", "Alpha"]])
    for _ in range(2):
        with pytest.raises(QueryError, match=r"\$user"):
            ql.find(team.admin, "account", filters=[["name", "=", "$user"]])


def test_counts_reuse_their_statement_and_stay_exact(services: Services, team: Team) -> None:
    ql = services.ql
    _accounts(ql, team)
    everyone = [str(team.rep_a.user_id), str(team.rep_b.user_id)]
    for ctx, owners in ((team.admin, everyone), (team.rep_a, everyone),  # public read
                        (team.admin, everyone)):
        for prefix in ("Alpha", "Charlie", "Bravo"):
            assert ql.count(ctx, "account", filters=[["name", ">=", prefix]]) == \
                (len(_visible_names(services, owners, prefix)), False)
    keys = [k for k in ql._plans if k[0] == "count" and k[2] == "account"
            and k[5] in (team.admin.user_id, team.rep_a.user_id)]
    assert len(keys) == 2, "one statement per caller and shape"
    ql.insert(team.rep_a, "account", {"name": "Delta", "phone": "+1 555 0100"})
    assert ql.count(team.rep_a, "account", filters=[["name", ">=", "Delta"]]) == (1, False)
    assert ql.count(team.rep_a, "account", filters=[["owner", "=", "$user"]]) == (4, False)
    with pytest.raises(QueryError, match="annual_revenue"):
        ql.count(team.admin, "account", filters=[["annual_revenue", ">", "lots"]])


def test_each_caller_keeps_their_row_filter(services: Services, team: Team) -> None:
    ql = services.ql
    _accounts(ql, team)
    account = ql.find(team.rep_a, "account", fields=["id"], limit=1).records[0]["id"]
    close = (ql.today()).isoformat()
    for owner in (team.rep_a, team.rep_b):
        for n in (1, 2):
            ql.insert(owner, "opportunity", {"name": f"Deal {n} {owner.name}",
                                             "account": account, "stage": "prospecting",
                                             "close_date": close, "amount": 500 * n})
    for ctx in (team.rep_a, team.rep_b, team.rep_a, team.manager, team.rep_b):
        owners = [str(ctx.user_id), *sorted(ctx.subordinate_ids)]
        assert _deals(services, ctx) == _deals_oracle(services, owners)
    assert len(_deals(services, team.manager)) == 4 and len(_deals(services, team.rep_a)) == 2
    # A rep's cached statement never answers for another rep's record id.
    other = ql.find(team.rep_b, "opportunity", fields=["id"], limit=1).records[0]["id"]
    mine = ql.find(team.rep_a, "opportunity", fields=["id"], limit=1).records[0]["id"]
    assert ql.find(team.rep_a, "opportunity", filters=[["id", "=", mine]]).records
    assert ql.find(team.rep_a, "opportunity", filters=[["id", "=", other]]).records == []


def test_a_write_shows_in_the_next_read_of_the_same_shape(services: Services,
                                                          team: Team) -> None:
    ql = services.ql
    _accounts(ql, team)
    before = ql.find(team.rep_a, "account", sort="name", filters=[["name", ">=", "B"]],
                     limit=2, with_total=True)
    assert before.total == 4
    ql.insert(team.rep_a, "account", {"name": "Bzz new", "phone": "+1 555 0101"})
    after = ql.find(team.rep_a, "account", sort="name", filters=[["name", ">=", "B"]],
                    limit=2, with_total=True)
    assert after.total == 5
    moved = after.records[0]["id"]
    ql.update(team.rep_a, "account", moved, {"name": "Aaa moved"})
    assert ql.find(team.rep_a, "account", sort="name", filters=[["name", ">=", "B"]],
                   limit=2, with_total=True).total == 4


def test_a_permission_change_takes_effect_at_once(services: Services, team: Team) -> None:
    ql = services.ql
    _accounts(ql, team)
    query = {"sort": "name", "filters": [["name", ">=", "A"]], "limit": 5}
    assert "website" in ql.find(team.viewer, "account", **query).records[0]
    original = ql.registry
    perms = original.permissions["viewer"]
    hidden = perms.model_copy(update={"fields": {**perms.fields, "account": {
        **perms.fields.get("account", {}),
        "website": FieldPermission(read=False, edit=False)}}})
    ql.apply_registry(Registry(dict(original), {**original.permissions, "viewer": hidden}))
    try:
        records = ql.find(team.viewer, "account", **query).records
        assert records and all("website" not in r for r in records)
        with pytest.raises(QueryError):  # and the hidden field cannot be filtered on
            ql.find(team.viewer, "account", filters=[["website", "=", "x"]])
    finally:
        ql.apply_registry(original)
    assert "website" in ql.find(team.viewer, "account", **query).records[0]


def test_a_new_subordinate_is_seen_by_the_manager(services: Services, team: Team) -> None:
    ql = services.ql
    _accounts(ql, team)
    assert _names(ql, team.manager, "Alpha N") == ["Alpha Rita Rep", "Alpha Rob Rep",
                                                   "Bravo Rita Rep", "Bravo Rob Rep",
                                                   "Charlie Rita Rep", "Charlie Rob Rep"]
    newcomer = ql.insert(team.system, "user", {"email": "new.rep@test.local",
                                               "name": "Nia New", "role": "sales_rep",
                                               "manager": team.manager.user_id})
    ql.insert(team.system, "account", {"name": "Alpha Nia", "phone": "+1 555 0102",
                                       "owner": newcomer["id"]})
    manager = services.identities.context_for(str(team.manager.user_id))
    assert _names(ql, manager, "Alpha N")[:3] == ["Alpha Nia", "Alpha Rita Rep",
                                                  "Alpha Rob Rep"]


def test_bad_values_are_refused_on_the_cached_path_too(services: Services,
                                                       team: Team) -> None:
    ql = services.ql
    _accounts(ql, team)
    good = ql.find(team.admin, "account", filters=[["annual_revenue", ">", 6000]])
    assert {r["name"].split()[0] for r in good.records} == {"Charlie"}
    for _ in range(2):  # the first call builds the statement, the second reuses it
        with pytest.raises(QueryError, match="annual_revenue"):
            ql.find(team.admin, "account", filters=[["annual_revenue", ">", "lots"]])
    assert len(ql.find(team.admin, "account",
                       filters=[["annual_revenue", ">", "6000"]]).records) == 2


# -- verified tokens ------------------------------------------------------------------------

def _token(services: Services, team: Team) -> str:
    return issue_token(services.secret_key, str(team.rep_a.user_id), "sales_rep")


def test_a_logout_ends_a_token_already_verified(sqlite_services: Services) -> None:
    services = sqlite_services
    from tests.conftest import make_team

    team = make_team(services.ql)
    token = _token(services, team)
    assert verify(services, token).user_id == team.rep_a.user_id
    assert verify(services, token).user_id == team.rep_a.user_id  # now from the cache
    end_session(services, token)
    with pytest.raises(InvalidToken):
        verify(services, token)


def test_sign_out_everywhere_and_deactivation_end_verified_tokens(
        sqlite_services: Services) -> None:
    services = sqlite_services
    from app.auth.identity import InactiveUser
    from tests.conftest import make_team

    team = make_team(services.ql)
    token = _token(services, team)
    verify(services, token)
    end_all_sessions(services, str(team.rep_a.user_id))
    with pytest.raises(InvalidToken):
        verify(services, token)
    other = issue_token(services.secret_key, str(team.rep_b.user_id), "sales_rep")
    verify(services, other)
    services.ql.update(team.system, "user", str(team.rep_b.user_id), {"active": False})
    with pytest.raises(InactiveUser):
        verify(services, other)


def test_a_verified_token_is_only_accepted_under_its_own_secret() -> None:
    token = issue_token("first-secret-first-secret-first-secret", "u1", "sales_rep")
    assert decode_token("first-secret-first-secret-first-secret", token)["sub"] == "u1"
    with pytest.raises(InvalidToken):
        decode_token("other-secret-other-secret-other-secret", token)
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(InvalidToken):
        decode_token("first-secret-first-secret-first-secret", forged)
    claims = decode_token("first-secret-first-secret-first-secret", token)
    claims["sub"] = "someone else"  # a caller changing its copy changes nothing cached
    assert decode_token("first-secret-first-secret-first-secret", token)["sub"] == "u1"


def test_an_expired_token_is_refused_although_it_was_verified() -> None:
    import time

    secret = "expiry-secret-expiry-secret-expiry-secret"
    token = issue_token(secret, "u1", "sales_rep", ttl=60, now=time.time() - 70)
    with pytest.raises(InvalidToken):  # past exp + leeway: never cached, never accepted
        decode_token(secret, token)
    fresh = issue_token(secret, "u1", "sales_rep", ttl=60)
    decode_token(secret, fresh)
    with pytest.raises(InvalidToken):  # a check at a given time is never answered cached
        decode_token(secret, fresh, now=time.time() + 120)


def test_a_read_outside_a_save_holds_no_transaction(ql: ObjectQL, team: Team) -> None:
    """A record read is its one SELECT: no BEGIN before it and nothing left open after it
    (on PostgreSQL two round trips a read; on SQLite a tenth of a GET's CPU). Inside a
    save, reads still share the save's transaction."""
    ql.insert(team.rep_a, "account", {"name": "Autocommit Ltd", "phone": "+1 555 0100"})
    [row] = ql.find(team.rep_a, "account", filters=[["name", "=", "Autocommit Ltd"]]).records
    seen: list[tuple[str, bool]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        dbapi = conn.connection.dbapi_connection
        open_tx = dbapi.in_transaction if ql.engine.dialect.name == "sqlite" \
            else dbapi.info.transaction_status.name != "IDLE"
        seen.append((" ".join(statement.split())[:30], open_tx))

    event.listen(ql.engine, "after_cursor_execute", record)
    try:
        assert ql.get(team.rep_a, "account", row["id"])["name"] == "Autocommit Ltd"
        reads = list(seen)
        seen.clear()
        ql.update(team.rep_a, "account", row["id"], {"phone": "+1 555 0199"})
    finally:
        event.remove(ql.engine, "after_cursor_execute", record)
    assert [s for s, _ in reads if not s.startswith("SELECT")] == [], reads
    assert not any(open_tx for _, open_tx in reads), reads
    assert seen and all(open_tx for s, open_tx in seen if not s.startswith("BEGIN")), seen
