"""Leads for the demo and large seeds: every status, source, rating and industry, spread
over the sellers and the last six months.

The demo seed inserts leads through ObjectQL and converts its converted leads with the
real `convert_lead` as their owners (so accounts, contacts, opportunities, links and the
audit trail are what a user would get; about half attach to an existing account of the
owner, matched by name). The large seed bulk-inserts rows whose converted leads point at
existing accounts, contacts and opportunities.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from app.leads import ConvertOptions, convert_lead
from app.objectql.context import Context
from app.seed import texts
from app.seed.demo import amount_for, domain_for, existing_values, phone_for, slug
from app.storage.ids import new_id

if TYPE_CHECKING:
    from app.objectql.service import ObjectQL

LEAD_SOURCES = ("web", "phone_inquiry", "partner_referral", "purchased_list",
                "customer_referral", "trade_show", "other")
SOURCE_WEIGHTS = (30, 10, 12, 10, 14, 16, 8)
UNQUALIFIED_REASONS = ("no_budget", "no_need", "no_authority", "bad_timing", "competitor",
                       "unreachable", "duplicate", "other")
INDUSTRIES = tuple(texts.INDUSTRY_NOUNS)
# Demo: how many leads of each status; the order is the funnel's.
DEMO_STATUS_COUNTS = {"new": 14, "working": 14, "nurturing": 10, "qualified": 10,
                      "unqualified": 14, "converted": 18}
# Large: the same funnel as weights; (days back the lead was created: low, high).
STATUS_WEIGHTS = {"new": 16, "working": 18, "nurturing": 14, "qualified": 10,
                  "unqualified": 22, "converted": 20}
STATUS_AGE = {"new": (0, 21), "working": (5, 75), "nurturing": (30, 180),
              "qualified": (5, 90), "unqualified": (10, 365), "converted": (20, 365)}
NOTES = {
    "web": ("Downloaded the {product} whitepaper.", "Asked for a demo through the website.",
            "Signed up for the {product} webinar."),
    "phone_inquiry": ("Called about pricing for {product}.",
                      "Phoned in asking whether {product} supports {module}."),
    "partner_referral": ("Referred by our implementation partner.",
                         "Partner says they outgrew their current CRM."),
    "purchased_list": ("From the {year} industry contact list.",),
    "customer_referral": ("Referred by an existing customer who is happy with {product}.",),
    "trade_show": ("Met at our booth at SaaS Connect; interested in {module}.",
                   "Stopped by the stand at the {year} Sales Summit."),
    "other": ("Came in through a cold email reply.",),
}


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(texts.FIRST_NAMES), rng.choice(texts.LAST_NAMES)


def _company(rng: random.Random, industry: str) -> str:
    noun = rng.choice(texts.INDUSTRY_NOUNS[industry])
    if rng.random() < 0.5:
        return f"{rng.choice(texts.COMPANY_WORDS)} {noun}"
    return f"{rng.choice(texts.COMPANY_WORDS)} {noun} {rng.choice(texts.COMPANY_SUFFIXES)}"


def _note(rng: random.Random, source: str, today: date) -> str:
    return rng.choice(NOTES[source]).format(product=rng.choice(texts.PRODUCTS),
                                            module=rng.choice(texts.MODULES),
                                            year=today.year)


def lead_row(rng: random.Random, status: str, owner: str, created: datetime, today: date,
             *, company: str | None = None, industry: str | None = None) -> dict[str, Any]:
    """One lead as a row for insert or bulk_insert (without the converted_* links)."""
    industry = industry or rng.choice(INDUSTRIES)
    company = company or _company(rng, industry)
    first, last = _person(rng)
    city = rng.choice(texts.CITIES)
    source = rng.choices(LEAD_SOURCES, SOURCE_WEIGHTS)[0]
    has_email = rng.random() < 0.85
    has_phone = not has_email or rng.random() < 0.6
    level = rng.choices(list(texts.LEVEL_TITLES), [15, 20, 25, 25, 15])[0]
    rating = rng.choices(("hot", "warm", "cold"),
                         (45, 40, 15) if status in ("qualified", "converted")
                         else (5, 30, 65) if status == "unqualified" else (20, 45, 35))[0]
    row: dict[str, Any] = {
        "id": new_id(), "name": f"{first} {last}", "company": company,
        "title": rng.choice(texts.LEVEL_TITLES[level]),
        "email": f"{slug(first)}.{slug(last)}@{domain_for(company, city[2])}"
        if has_email else None,
        "phone": phone_for(rng, city[4]) if has_phone else None,
        "status": status, "source": source, "rating": rating, "industry": industry,
        "number_of_employees": int(10 ** rng.uniform(1.0, 4.5)),
        "unqualified_reason": rng.choice(UNQUALIFIED_REASONS)
        if status == "unqualified" else None,
        "description": _note(rng, source, today) if rng.random() < 0.7 else None,
        "owner": owner, "created_at": created,
    }
    return row


def _created(rng: random.Random, status: str, now: datetime, max_days: int) -> datetime:
    low, high = STATUS_AGE[status]
    day = now.date() - timedelta(days=rng.randint(low, min(high, max_days)))
    at = datetime.combine(day, time(rng.randint(8, 18), rng.choice((0, 15, 30, 45))))
    return min(at, now)


# -- demo -------------------------------------------------------------------------------
def seed_demo_leads(ql: ObjectQL, sellers: Sequence[Context], accounts: list[dict[str, Any]],
                    random_seed: int) -> int:
    """Insert the demo leads as their owners and convert the converted ones; returns how
    many leads were added."""
    rng = random.Random(f"{random_seed}-leads")
    now = ql.clock()
    today = now.date()
    statuses = [s for s, n in DEMO_STATUS_COUNTS.items() for _ in range(n)]
    rng.shuffle(statuses)
    owners = [str(s.user_id) for s in sellers]
    by_owner = {o: [a for a in accounts if a["owner"] == o] for o in owners}
    # New companies must not be taken (matching would attach the lead to someone else's
    # account) nor repeat (the second conversion would attach to the first's account).
    taken = existing_values(ql, "account", "name")
    rows: list[dict[str, Any]] = []
    plans: list[tuple[dict[str, Any], ConvertOptions, datetime]] = []
    for i, status in enumerate(statuses):
        owner = owners[i % len(owners)] if rng.random() < 0.8 else rng.choice(owners)
        created = _created(rng, status, now, 180)
        existing = by_owner[owner] if status == "converted" and rng.random() < 0.5 else []
        if existing:  # a new contact at a company the owner already sells to
            account = rng.choice(existing)
            row = lead_row(rng, status, owner, created, today, company=account["name"],
                           industry=account["industry"])
        else:
            industry = rng.choice(INDUSTRIES)
            company = _company(rng, industry)
            while company.lower() in taken:
                company = _company(rng, industry)
            taken.add(company.lower())
            row = lead_row(rng, status, owner, created, today, company=company,
                           industry=industry)
        if status == "converted":
            row["status"] = "qualified"  # converted below, by the real conversion
            converted = created + timedelta(days=rng.randint(3, 30), hours=rng.randint(0, 5))
            plans.append((row, ConvertOptions(create_opportunity=rng.random() < 0.75),
                          min(converted, now)))
        rows.append(row)
    rows.sort(key=lambda r: str(r["owner"]))
    with ql.transaction():
        for owner in owners:
            mine = [r for r in rows if r["owner"] == owner]
            if mine:
                ql.insert_many(Context.system(owner), "lead", mine)
    contexts = {str(s.user_id): s for s in sellers}
    for row, options, converted_at in plans:
        seller = contexts[row["owner"]]
        result = convert_lead(ql, seller, row["id"], options, converted_at=converted_at)
        if result.opportunity is not None:  # the rep sizes the new deal, as in real use
            ql.update(seller, "opportunity", result.opportunity["id"],
                      {"amount": amount_for(rng), "next_step": rng.choice(texts.NEXT_STEPS)})
    return len(rows)


# -- large ------------------------------------------------------------------------------
@dataclass
class LargeLinks:
    """What the large seed knows about its accounts: ids, names, industries, owners and
    the index ranges of each account's contacts and opportunities."""

    account_ids: Sequence[str]
    account_names: Sequence[str]
    account_owner: Sequence[int]
    contact_ids: Sequence[str]
    contact_start: Sequence[int]
    contact_count: Sequence[int]
    opp_ids: Sequence[str]
    opp_start: Sequence[int]
    opp_count: Sequence[int]


def large_leads(rng: random.Random, n: int, owners: Sequence[str], links: LargeLinks,
                now: datetime) -> Iterator[dict[str, Any]]:
    """`n` lead rows for bulk_insert; converted ones link to an account with contacts."""
    today = now.date()
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    n_accounts = len(links.account_ids)
    for _ in range(n):
        status = rng.choices(statuses, weights)[0]
        account = -1
        if status == "converted":
            for _attempt in range(8):
                candidate = int(rng.random() * n_accounts) if n_accounts else -1
                if candidate >= 0 and links.contact_count[candidate]:
                    account = candidate
                    break
            if account < 0:
                status = "qualified"  # nothing to convert into
        created = _created(rng, status, now, 365)
        if account >= 0:
            owner = owners[links.account_owner[account]]
            row = lead_row(rng, status, owner, created, today,
                           company=links.account_names[account])
            contact = links.contact_start[account] + \
                int(rng.random() * links.contact_count[account])
            opp = links.opp_start[account] + int(rng.random() * links.opp_count[account]) \
                if links.opp_count[account] and rng.random() < 0.7 else None
            row.update(converted_account=links.account_ids[account],
                       converted_contact=links.contact_ids[contact],
                       converted_opportunity=links.opp_ids[opp] if opp is not None else None,
                       converted_at=min(created + timedelta(days=rng.randint(2, 40)), now))
        else:
            row = lead_row(rng, status, owners[int(rng.random() * len(owners))], created,
                           today)
        yield row
