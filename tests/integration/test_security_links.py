"""Linking a record to another needs read access to the target: hidden reads as missing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.objectql import ValidationError


def test_rep_cannot_link_an_activity_to_another_reps_opportunity(ql, team) -> None:
    account = ql.insert(team.system, "account", {"name": "Linkco", "phone": "555-0199",
                                                 "owner": team.rep_b.user_id})
    hidden = ql.insert(team.rep_b, "opportunity", {
        "name": "B's deal", "account": account["id"], "stage": "prospecting",
        "close_date": date.today() + timedelta(days=20)})
    with pytest.raises(ValidationError) as linked:
        ql.insert(team.rep_a, "activity", {"subject": "Call", "opportunity": hidden["id"]})
    with pytest.raises(ValidationError) as missing:
        ql.insert(team.rep_a, "activity", {"subject": "Call", "opportunity": "nosuchid0000"})
    # Same wording for hidden and missing: no hint that the hidden deal exists.
    assert linked.value.field_errors["opportunity"] == \
        missing.value.field_errors["opportunity"].replace("nosuchid0000", hidden["id"])
    # Accounts are public_read: linking to B's account is fine; the manager sees B's deal.
    ql.insert(team.rep_a, "activity", {"subject": "Call", "account": account["id"]})
    ql.insert(team.manager, "activity", {"subject": "Review", "opportunity": hidden["id"]})


def test_records_go_only_to_yourself_or_your_team(ql, team) -> None:
    from app.objectql import PermissionDenied

    def account(name: str, ctx, owner) -> dict:
        return ql.insert(ctx, "account", {"name": name, "phone": "555-0100", "owner": owner})

    with pytest.raises(PermissionDenied, match="yourself or your team"):
        account("Grab", team.rep_a, team.admin.user_id)
    with pytest.raises(PermissionDenied):
        account("Grab", team.rep_a, team.rep_b.user_id)
    mine = account("Mine", team.rep_a, team.rep_a.user_id)
    # The manager hands records to anyone below them; the admin to anyone at all.
    ql.update(team.manager, "account", mine["id"], {"owner": team.rep_b.user_id})
    ql.update(team.admin, "account", mine["id"], {"owner": team.viewer.user_id})


def test_visible_but_not_editable_is_403_not_404(ql, team) -> None:
    from app.objectql import NotFound, PermissionDenied

    theirs = ql.insert(team.rep_b, "account", {"name": "Bobco", "phone": "555-0101"})
    with pytest.raises(PermissionDenied):
        ql.update(team.rep_a, "account", theirs["id"], {"rating": "hot"})
    with pytest.raises(NotFound):
        ql.update(team.rep_a, "account", "nosuchid0000", {"rating": "hot"})
