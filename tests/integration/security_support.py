"""Shared data for the security tests: one realistic CRM per backend, built once per module.

Emptying the PostgreSQL database costs most of a second, so the security modules build
their world once (module scope) instead of per test. Tests that write work on records
they create themselves, so the shared records stay as described here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from app.core import Services
from app.objectql import Context
from app.objectql.service import ObjectQL
from tests.conftest import Team, _empty, _services_for, make_team

BUSINESS_OBJECTS = ("account", "contact", "opportunity", "contract", "activity", "email",
                    "lead")
ROLES = ("admin", "sales_manager", "sales_rep", "viewer")

# Stored values a viewer must never learn; distinctive, so any leak is easy to spot.
GLOBEX_REVENUE = 5_432_117
ACME_REVENUE = 23_456_789
CONTRACT_B_VALUE = 98_765.43


@dataclass
class World:
    services: Services
    team: Team
    ids: dict[str, str] = field(default_factory=dict)
    # One extra user per role, outside the team, for the permission matrix: the records
    # the matrix creates never show up in what the team members see.
    actors: dict[str, Context] = field(default_factory=dict)

    @property
    def ql(self) -> ObjectQL:
        return self.services.ql

    @property
    def system(self) -> Context:
        return self.team.system

    def actor(self, role: str) -> Context:
        return self.actors[role]

    def __getitem__(self, key: str) -> str:
        return self.ids[key]

    def add(self, obj: str, data: dict[str, Any], owner: Context | str | None = None
            ) -> str:
        """Insert through the trusted system context, owned by `owner`."""
        row = dict(data)
        if owner is not None:
            row["owner"] = owner if isinstance(owner, str) else owner.user_id
        return str(self.ql.insert(self.system, obj, row)["id"])

    def future(self, days: int = 30) -> str:
        return (self.ql.today() + timedelta(days=days)).isoformat()


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def build_world(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> World:
    services = _services_for(request.param, request, tmp_path_factory)
    _empty(services)
    team = make_team(services.ql)
    w = World(services, team)
    for role in ROLES:
        user = w.add("user", {"email": f"matrix.{role}@test.local", "role": role,
                              "name": f"Matrix {role.replace('_', ' ').title()}"})
        w.actors[role] = services.identities.context_for(user)
    t = team
    ids = w.ids
    ids["acc_a"] = w.add("account", {"name": "Acme Corp", "industry": "technology",
                                     "annual_revenue": ACME_REVENUE, "phone": "+1 555 0100",
                                     "website": "https://acme.example"}, t.rep_a)
    ids["acc_b"] = w.add("account", {"name": "Globex", "industry": "finance",
                                     "annual_revenue": GLOBEX_REVENUE,
                                     "email": "hello@globex.example"}, t.rep_b)
    ids["acc_m"] = w.add("account", {"name": "Initech", "industry": "technology",
                                     "annual_revenue": 777_000, "phone": "+1 555 0199"},
                         t.manager)
    ids["con_a"] = w.add("contact", {"first_name": "Wile", "last_name": "Coyote",
                                     "account": ids["acc_a"],
                                     "email": "wile@acme.example"}, t.rep_a)
    ids["con_b"] = w.add("contact", {"first_name": "Bugs", "last_name": "Bunny",
                                     "account": ids["acc_b"],
                                     "email": "bugs@globex.example"}, t.rep_b)
    ids["opp_a1"] = w.add("opportunity", {"name": "Acme renewal", "account": ids["acc_a"],
                                          "stage": "prospecting", "amount": 100,
                                          "close_date": w.future()}, t.rep_a)
    ids["opp_a2"] = w.add("opportunity", {"name": "Acme expansion", "account": ids["acc_a"],
                                          "stage": "proposal", "amount": 200,
                                          "close_date": w.future()}, t.rep_a)
    ids["opp_b"] = w.add("opportunity", {"name": "Globex platform deal",
                                         "account": ids["acc_b"], "stage": "proposal",
                                         "amount": 7000, "close_date": w.future(),
                                         "contact": ids["con_b"]}, t.rep_b)
    ids["opp_m"] = w.add("opportunity", {"name": "Initech pilot", "account": ids["acc_m"],
                                         "stage": "negotiation", "amount": 50,
                                         "close_date": w.future()}, t.manager)
    ids["ctr_a"] = w.add("contract", {"account": ids["acc_a"], "opportunity": ids["opp_a1"],
                                      "start_date": w.future(1), "contract_value": 1111,
                                      "description": "Acme support"}, t.rep_a)
    ids["ctr_b"] = w.add("contract", {"account": ids["acc_b"], "opportunity": ids["opp_b"],
                                      "start_date": w.future(1),
                                      "contract_value": CONTRACT_B_VALUE,
                                      "description": "Globex platform"}, t.rep_b)
    # Rep A logged a call on rep B's deal: A's own record, pointing at a hidden one.
    ids["act_a"] = w.add("activity", {"subject": "Call about Globex deal", "type": "call",
                                      "account": ids["acc_b"], "opportunity": ids["opp_b"]},
                         t.rep_a)
    ids["act_b"] = w.add("activity", {"subject": "Globex demo", "type": "meeting",
                                      "account": ids["acc_b"], "opportunity": ids["opp_b"],
                                      "contact": ids["con_b"]}, t.rep_b)
    ids["em_a"] = w.add("email", {"subject": "Intro to Acme", "direction": "outbound",
                                  "from_address": "rita@hotcrm.test",
                                  "to_address": "wile@acme.example",
                                  "account": ids["acc_a"], "opportunity": ids["opp_a1"]},
                        t.rep_a)
    ids["em_b"] = w.add("email", {"subject": "Globex pricing", "direction": "outbound",
                                  "from_address": "rob@hotcrm.test",
                                  "to_address": "bugs@globex.example",
                                  "account": ids["acc_b"], "opportunity": ids["opp_b"]},
                        t.rep_b)
    ids["lead_b"] = w.add("lead", {"name": "Peter Parker", "company": "Daily Bugle",
                                   "email": "peter@bugle.example", "status": "working"},
                          t.rep_b)
    return w


def sample(w: World, obj: str, owner: Context) -> dict[str, Any]:
    """Field values for a realistic new `obj` record; parents are created for `owner`."""
    if obj == "account":
        return {"name": unique("Northwind"), "industry": "retail", "phone": "+1 555 0142",
                "annual_revenue": 1_250_000}
    if obj in ("contact", "opportunity", "contract"):
        account = w.add("account", {"name": unique("Parent"), "phone": "+1 555 0143"}, owner)
        if obj == "contact":
            return {"first_name": "Ada", "last_name": unique("Lovelace"), "account": account,
                    "email": f"{uuid.uuid4().hex[:8]}@northwind.example"}
        if obj == "opportunity":
            return {"name": unique("Northwind rollout"), "account": account,
                    "stage": "qualification", "amount": 12_000, "close_date": w.future()}
        return {"account": account, "start_date": w.future(1), "contract_value": 12_000,
                "billing_frequency": "annual"}
    if obj == "activity":
        return {"subject": unique("Follow-up call"), "type": "call", "priority": "high"}
    if obj == "lead":
        return {"name": unique("Grace Hopper"), "company": unique("Northwind"),
                "email": "grace@northwind.example", "status": "new", "source": "web"}
    assert obj == "email"
    return {"subject": unique("Quote"), "direction": "outbound",
            "from_address": "sales@hotcrm.test", "to_address": "buyer@northwind.example"}


EDITS = {"account": {"description": "Updated in review"},
         "contact": {"title": "Head of Procurement"},
         "opportunity": {"next_step": "Send proposal"},
         "contract": {"special_terms": "Net 45 agreed"},
         "activity": {"description": "Discussed pricing"},
         "email": {"body": "Thanks for the call."},
         "lead": {"status": "working"}}
