"""The opportunity trigger of OBJECTS.md: stage drives probability; winning books the deal.

Everything here runs inside the save's transaction: if creating the contract, updating
the account, creating the follow-up task or notifying the manager fails, the stage
change itself is rolled back and the caller gets the error.

The follow-up writes use an elevated context: a rep who wins a deal gets the contract
even when their role may not create contracts directly, and the account turns into a
customer even when it belongs to someone else (see docs/decisions.md, "Triggers"). The
audit trail names the rep and `via: trigger:opportunity.book_won_deal` on every such
change. Only the fields written here change; nothing the user typed flows into them
except from the opportunity the user was allowed to edit.
"""

from __future__ import annotations

from datetime import timedelta

from app.triggers.registry import TriggerContext, trigger


@trigger("opportunity", "before_insert", "before_update")
def stage_sets_probability(tc: TriggerContext) -> None:
    new = tc.new
    assert new is not None
    if not (tc.is_insert or tc.changed("stage")):
        return
    stage = tc.ql.object("opportunity").field("stage")
    option = stage.option(new.get("stage")) if stage else None
    if option is None:
        return
    if "probability" not in tc.supplied:
        new["probability"] = option.extra("probability", new.get("probability"))
    if "forecast_category" not in tc.supplied:
        new["forecast_category"] = option.extra("forecast_category",
                                                new.get("forecast_category"))


@trigger("opportunity", "after_update")
def book_won_deal(tc: TriggerContext) -> None:
    old, new = tc.old, tc.new
    assert old is not None and new is not None
    if new.get("stage") != "closed_won" or old.get("stage") == "closed_won":
        return
    system = tc.ctx.elevated("trigger:opportunity.book_won_deal")
    ql = tc.ql
    # Once per opportunity: a deal re-won after being reopened keeps its first contract.
    if ql.find_one(system, "contract", fields=["id"],
                   filters=[["opportunity", "=", new["id"]]]) is not None:
        return
    today = ql.today()
    ql.insert(system, "contract", {
        "account": new["account"],
        "opportunity": new["id"],
        "contract_value": new.get("amount"),
        "start_date": today,
        "status": "draft",
        "owner": new["owner"],
        "description": f"Created from opportunity {new['name']}",
    })
    ql.update(system, "account", new["account"],
              {"customer_status": "active_customer", "type": "customer"})
    ql.insert(system, "activity", {
        "subject": "Kick-off with new customer",
        "type": "task",
        "status": "planned",
        "priority": "high",
        "due_date": today + timedelta(days=7),
        "account": new["account"],
        "opportunity": new["id"],
        "owner": new["owner"],
    })
    owner = ql.find_one(system, "user", fields=["name", "manager"],
                        filters=[["id", "=", new["owner"]]]) if new.get("owner") else None
    if owner and owner.get("manager"):
        amount = new.get("amount") or 0
        ql.insert(system, "notification", {
            "user": owner["manager"],
            "owner": owner["manager"],
            "title": f"{owner['name']} won {new['name']}",
            "body": f"Closed won for {amount:,.0f}. A draft contract was created.",
            "link": f"/o/opportunity/{new['id']}",
        })
