"""Lead conversion: one transaction through ObjectQL that turns a lead into an account
(created, given, or matched by name), a contact and optionally an opportunity, and marks
the lead converted with links to them.

Every record is written by the ObjectQL write path as the converting user, so validation
rules, permissions, triggers and the audit trail apply exactly as if they were entered by
hand; any failing step rolls the whole conversion back. Converting a converted lead
returns the records of the first conversion and creates nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.objectql.context import Context
from app.objectql.errors import NotFound, ObjectQLError, ValidationError

if TYPE_CHECKING:
    from app.objectql.service import ObjectQL

OPTION_KEYS = ("account_id", "create_opportunity", "opportunity_name")
OPPORTUNITY_DAYS = 90  # a new deal's first close date, moved as the deal takes shape
ACCOUNT_MATCH_SCAN = 50


@dataclass(frozen=True)
class ConvertOptions:
    account_id: str | None = None
    create_opportunity: bool = False
    opportunity_name: str | None = None

    @classmethod
    def parse(cls, data: Any) -> ConvertOptions:
        """The ⚑ request body `{account_id?, create_opportunity?, opportunity_name?}`;
        every problem is reported at once."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValidationError.of([(None, "the options are a JSON object")])
        problems: list[tuple[str | None, str]] = [
            (str(key), f"unknown option '{key}'") for key in data if key not in OPTION_KEYS]
        account_id = data.get("account_id")
        if account_id is not None and (not isinstance(account_id, str) or not account_id
                                       or len(account_id) > 64):
            problems.append(("account_id", "account_id must be the id of an account"))
        create = data.get("create_opportunity")
        if create is not None and not isinstance(create, bool):
            problems.append(("create_opportunity", "create_opportunity must be true or false"))
        name = data.get("opportunity_name")
        if name is not None and not isinstance(name, str):
            problems.append(("opportunity_name", "opportunity_name must be text"))
        elif isinstance(name, str) and name.strip() and create is False:
            problems.append(("opportunity_name",
                             "an opportunity name needs create_opportunity: true"))
        if problems:
            raise ValidationError.of(problems)
        name = name.strip() if isinstance(name, str) and name.strip() else None
        return cls(account_id=account_id, opportunity_name=name,
                   create_opportunity=bool(create) if create is not None else name is not None)


@dataclass
class Conversion:
    account: dict[str, Any] | None  # None only when a converted lead's account is gone
    contact: dict[str, Any] | None
    opportunity: dict[str, Any] | None
    lead: dict[str, Any]
    already_converted: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The ⚑ response `{account, contact, opportunity?}` (plus the lead)."""
        body: dict[str, Any] = {"account": self.account, "contact": self.contact}
        if self.opportunity is not None:
            body["opportunity"] = self.opportunity
        body["lead"] = self.lead
        body["already_converted"] = self.already_converted
        return body


def convert_lead(ql: ObjectQL, ctx: Context, lead_id: str,
                 options: ConvertOptions | None = None, *,
                 converted_at: datetime | None = None) -> Conversion:
    """Convert the lead as `ctx`. NotFound when the lead is hidden from `ctx`,
    PermissionDenied when it is visible but not editable; any ObjectQL error of a step
    rolls back every step. `converted_at` lets trusted callers (seeds, imports) replay
    history; by default it is now."""
    options = options or ConvertOptions()
    with ql.transaction():
        # An update without changes loads the lead exactly as an edit would: 404 when it
        # is hidden, 403 when it is visible but not this user's to change, and on
        # PostgreSQL a row lock (FOR UPDATE), so two conversions of one lead queue up and
        # the second finds it converted instead of creating a second set of records.
        lead = ql.update(ctx, "lead", lead_id, {})
        if lead.get("status") == "converted":
            return _existing(ql, ctx, lead)
        account = _given_account(ql, ctx, options.account_id)
        if account is None:
            with _step("account"):
                account = _account(ql, ctx, lead)
        with _step("contact"):
            contact = _contact(ql, ctx, lead, account)
        opportunity = None
        if options.create_opportunity or options.opportunity_name:  # a name implies one
            with _step("opportunity"):
                opportunity = _opportunity(ql, ctx, lead, account, contact,
                                           options.opportunity_name)
        # The converted_* links are read-only to users (only Convert sets them); the
        # user's right to edit this lead was checked above, and the audit names them.
        updated = ql.update(ctx.elevated(), "lead", lead_id, {
            "status": "converted", "converted_account": account["id"],
            "converted_contact": contact["id"],
            "converted_opportunity": opportunity["id"] if opportunity else None,
            "converted_at": converted_at or ql.clock()})
        return Conversion(account, contact, opportunity, _visible(ql, ctx, "lead", updated))


@contextmanager
def _step(object_name: str) -> Iterator[None]:
    """Name the record a failing step was writing: "Contact: Email ... is already used",
    with details pointing at `contact.email`."""
    try:
        yield
    except ObjectQLError as exc:
        label = object_name.capitalize()
        if not exc.message.startswith(f"{label}:"):
            exc.message = f"{label}: {exc.message}"
        exc.details = [{**d, "field": f"{object_name}.{d['field']}" if d.get("field")
                        else object_name} for d in exc.details] or \
            [{"field": object_name, "message": exc.message}]
        raise


def _existing(ql: ObjectQL, ctx: Context, lead: dict[str, Any]) -> Conversion:
    def linked(object_name: str, field: str) -> dict[str, Any] | None:
        record_id = lead.get(field)
        if not record_id:
            return None
        try:
            return ql.get(ctx, object_name, record_id)
        except NotFound:  # deleted since, or not visible to this user
            return None

    return Conversion(linked("account", "converted_account"),
                      linked("contact", "converted_contact"),
                      linked("opportunity", "converted_opportunity"), lead,
                      already_converted=True)


def _given_account(ql: ObjectQL, ctx: Context, account_id: str | None
                   ) -> dict[str, Any] | None:
    if account_id is None:
        return None
    try:
        return ql.get(ctx, "account", account_id)
    except NotFound:  # missing and hidden read the same
        raise ValidationError.of([("account_id", f"no account with id '{account_id}'")]
                                 ) from None


def _account(ql: ObjectQL, ctx: Context, lead: dict[str, Any]) -> dict[str, Any]:
    name = (lead.get("company") or lead.get("name") or "").strip()
    found = find_account_by_name(ql, ctx, name)
    if found is not None:
        return found
    data: dict[str, Any] = {
        "name": name, "industry": lead.get("industry"), "rating": lead.get("rating"),
        "type": "prospect", "website": lead.get("website"),
        "number_of_employees": lead.get("number_of_employees"),
        # The account needs a phone or an email; a person's email only when there is no
        # phone, since it is the lead's own address, not the company's.
        "phone": lead.get("phone"),
        "email": None if lead.get("phone") else lead.get("email"),
        "owner": lead["owner"],
    }
    return ql.insert(ctx, "account", {k: v for k, v in data.items() if v is not None})


def find_account_by_name(ql: ObjectQL, ctx: Context, name: str) -> dict[str, Any] | None:
    """The account called `name`, ignoring case (account names are unique that way).

    The usual spellings are looked up on the name index first; only when none matches
    is a case-insensitive prefix scan needed to be sure no "ACME corp" exists."""
    if not name:
        return None
    spellings = list(dict.fromkeys([name, name.lower(), name.title(), name.upper()]))
    found = ql.find_one(ctx, "account", filters=[["name", "in", spellings]])
    if found is not None:
        return found
    candidates = ql.find(ctx, "account", filters=[["name", "startswith", name]],
                         limit=ACCOUNT_MATCH_SCAN).records
    return next((a for a in candidates if str(a.get("name", "")).lower() == name.lower()),
                None)


def split_name(full_name: str) -> tuple[str | None, str]:
    """("Jane Q.", "Doe") from "Jane Q. Doe"; a single word is the last name."""
    words = full_name.split()
    if len(words) < 2:
        return None, (words[0] if words else full_name)[:80]
    return " ".join(words[:-1])[:40], words[-1][:80]


def _contact(ql: ObjectQL, ctx: Context, lead: dict[str, Any], account: dict[str, Any]
             ) -> dict[str, Any]:
    email = lead.get("email")
    if email:  # the person may already be a contact of this account
        found = ql.find_one(ctx, "contact", filters=[["account", "=", account["id"]],
                                                     ["email", "=", email]])
        if found is not None:
            return found
    first, last = split_name(lead.get("name") or "")
    data: dict[str, Any] = {
        "first_name": first, "last_name": last, "account": account["id"],
        "title": lead.get("title"), "email": email, "phone": lead.get("phone"),
        "lead_source": lead.get("source"), "description": lead.get("description"),
        "owner": lead["owner"],
    }
    return ql.insert(ctx, "contact", {k: v for k, v in data.items() if v is not None})


def _opportunity(ql: ObjectQL, ctx: Context, lead: dict[str, Any], account: dict[str, Any],
                 contact: dict[str, Any], name: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name or f"{account['name']} - {lead.get('name')}"[:120],
        "account": account["id"], "contact": contact["id"], "stage": "prospecting",
        "close_date": ql.today() + timedelta(days=OPPORTUNITY_DAYS),
        "type": "existing_business" if account.get("customer_status") == "active_customer"
        else "new_business",
        "lead_source": lead.get("source"), "owner": lead["owner"],
    }
    return ql.insert(ctx, "opportunity", {k: v for k, v in data.items() if v is not None})


def _visible(ql: ObjectQL, ctx: Context, object_name: str, record: dict[str, Any]
             ) -> dict[str, Any]:
    """Drop fields `ctx` may not read from a record written with elevated rights."""
    obj = ql.object(object_name)
    return {k: v for k, v in record.items()
            if (fd := obj.field(k)) is not None and ql.security.field_readable(ctx, obj, fd)}
