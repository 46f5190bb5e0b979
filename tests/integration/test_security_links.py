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
