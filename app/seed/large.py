"""The large seed: hundreds of thousands of rows through `ql.bulk_insert`.

Rows are typed and checked (coercion, required fields, validation rules, formulas) but
skip per-row triggers and audit, so the values the opportunity trigger would set
(probability, forecast category) and the contracts of won deals are generated here.
Ids are made up front (`new_id`) so children reference parents without reading back;
each chunk of ~5,000 rows is one bulk_insert call and one transaction.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from app.objectql.context import Context
from app.seed import texts
from app.seed.demo import (
    DEMO_USERS,
    LEAD_SOURCES,
    LOSS_REASONS,
    SELLER_EMAILS,
    _short,
    amount_for,
    domain_for,
    ensure_demo_users,
    existing_values,
    phone_for,
    seed_demo,
    slug,
)
from app.seed.leads import LargeLinks, large_leads
from app.storage.db import analyze
from app.storage.ids import new_id

if TYPE_CHECKING:
    from app.core import Services

CHUNK = 5_000
INDUSTRY_LIST = tuple(texts.INDUSTRY_NOUNS)
MOODS = ("positive", "worried", "angry", "neutral")
STAGES = ("prospecting", "qualification", "needs_analysis", "proposal", "negotiation",
          "closed_won", "closed_lost")
STAGE_WEIGHTS = (12, 12, 10, 10, 8, 26, 22)
ACTIVITY_TYPES = ("call", "meeting", "task", "email", "note")
# Per contact level: the weight and the title pool.
LEVELS = tuple(texts.LEVEL_TITLES)


class _Values(dict):
    """Template values for one row; anything not set comes from a shared random filler."""

    filler: dict[str, Any] = {}

    def __missing__(self, key: str) -> Any:
        return self.filler[key]


def seed_large(services: Services, *, accounts: int = 100_000, contacts: int = 300_000,
               opportunities: int = 200_000, activities: int = 1_000_000, emails: int = 0,
               leads: int = 50_000, random_seed: int = 42, progress: bool = True
               ) -> dict[str, int]:
    """Bulk-load a large org (owners spread over the demo sales users); returns counts."""
    counts = _LargeSeed(services, random_seed, progress).run(
        accounts, contacts, opportunities, activities, emails, leads)
    # Fresh statistics, or the planner guesses: a rep's related list went from 800 ms to
    # 0.4 ms on 1M activities once SQLite knew `account` is far more selective than `owner`.
    analyze(services.engine)
    return counts


def seed_scale(services: Services, scale: str | int, random_seed: int = 42, *,
               progress: bool = True) -> dict[str, int]:
    """`hotcrm seed --scale`: "demo", "large", or N accounts with the large ratios."""
    text = str(scale).strip().lower().replace("_", "")
    if text == "demo":
        return seed_demo(services, random_seed=random_seed)
    if text == "large":
        return seed_large(services, random_seed=random_seed, progress=progress)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"scale must be 'demo', 'large' or a positive number of accounts, "
                         f"not {scale!r}")
    n = int(text)
    return seed_large(services, accounts=n, contacts=3 * n, opportunities=2 * n,
                      activities=10 * n, leads=n // 2, random_seed=random_seed,
                      progress=progress)


def _distribute(rng: random.Random, total: int, buckets: int) -> tuple[array, array]:
    """Spread `total` children at random over `buckets` parents: (start, count) arrays,
    children of one parent being contiguous."""
    counts = array("l", [0]) * buckets
    if buckets:
        for _ in range(total):
            counts[int(rng.random() * buckets)] += 1
    starts = array("l", [0]) * buckets
    running = 0
    for i in range(buckets):
        starts[i] = running
        running += counts[i]
    return starts, counts


class _LargeSeed:
    def __init__(self, services: Services, random_seed: int, progress: bool):
        self.services = services
        self.ql = services.ql
        self.rng = random.Random(random_seed)
        self.progress = progress
        self.today = self.ql.today()
        self.now = self.ql.clock()
        stage_field = self.ql.object("opportunity").field("stage")
        assert stage_field is not None
        self.stage_extras = {o.value: (o.extra("probability"), o.extra("forecast_category"))
                             for o in stage_field.options}
        rng = self.rng
        _Values.filler = texts.fill_values(rng)
        self.fillers = [texts.fill_values(rng) for _ in range(64)]
        # Leads draw from their own stream: adding them changed none of the other rows.
        self.lead_rng = random.Random(f"{random_seed}-leads")

    def run(self, n_accounts: int, n_contacts: int, n_opps: int, n_activities: int,
            n_emails: int, n_leads: int = 0) -> dict[str, int]:
        users = ensure_demo_users(self.services)
        admin = users[DEMO_USERS[0]["email"]]
        self.ctx = Context.system(admin.user_id)
        self.sellers = [users[e] for e in SELLER_EMAILS]
        self.seller_first = [s.name.split()[0] for s in self.sellers]
        self.seller_email = list(SELLER_EMAILS)
        counts: dict[str, int] = {}
        counts["account"] = self._load("account", n_accounts, self._accounts(n_accounts))
        self.contact_start, self.contact_count = _distribute(self.rng, n_contacts, n_accounts)
        counts["contact"] = self._load("contact", n_contacts, self._contacts(n_contacts))
        self.opp_start, self.opp_count = _distribute(self.rng, n_opps, n_accounts)
        self.won: list[tuple[int, int, float, date]] = []
        counts["opportunity"] = self._load("opportunity", n_opps, self._opportunities(n_opps))
        counts["contract"] = self._load("contract", len(self.won), self._contracts())
        counts["activity"] = self._load("activity", n_activities,
                                        self._activities(n_activities))
        counts["email"] = self._load("email", n_emails, self._emails(n_emails))
        links = LargeLinks(self.account_ids, self.account_names, self.account_owner,
                           self.contact_ids, self.contact_start, self.contact_count,
                           self.opp_ids, self.opp_start, self.opp_count)
        counts["lead"] = self._load("lead", n_leads, large_leads(
            self.lead_rng, n_leads, [str(s.user_id) for s in self.sellers], links,
            self.now))
        return counts

    def _load(self, object_name: str, total: int, rows: Iterator[dict[str, Any]]) -> int:
        done = 0
        with tqdm(total=total, desc=f"{object_name:<12}", unit=" rows", disable=not
                  self.progress, mininterval=0.5) as bar:
            chunk: list[dict[str, Any]] = []
            for row in rows:
                chunk.append(row)
                if len(chunk) >= CHUNK:
                    done += self.ql.bulk_insert(self.ctx, object_name, chunk)
                    bar.update(len(chunk))
                    chunk = []
            if chunk:
                done += self.ql.bulk_insert(self.ctx, object_name, chunk)
                bar.update(len(chunk))
        return done

    def _moment(self, days_back: int, days_ahead: int = 0) -> datetime:
        rng = self.rng
        day = self.today + timedelta(days=rng.randint(-days_back, days_ahead))
        return datetime.combine(day, time(8 + int(rng.random() * 10),
                                          int(rng.random() * 4) * 15))

    # -- accounts ------------------------------------------------------------------------
    def _account_name(self, industry: str, taken: set[str]) -> str:
        rng = self.rng
        choice = rng.choice
        name = ""
        for _ in range(4):
            roll = rng.random()
            noun = choice(texts.INDUSTRY_NOUNS[industry])
            if roll < 0.35:
                name = f"{choice(texts.COMPANY_WORDS)} {noun}"
            elif roll < 0.7:
                name = f"{choice(texts.COMPANY_WORDS)} {noun} {choice(texts.COMPANY_SUFFIXES)}"
            elif roll < 0.85:
                name = f"{choice(texts.LAST_NAMES)} {noun}"
            else:
                name = f"{choice(texts.LAST_NAMES)} & {choice(texts.LAST_NAMES)} " \
                       f"{choice(texts.COMPANY_SUFFIXES)}"
            if name.lower() not in taken:
                break
        else:
            base, n = name, 2
            name = f"{base} ({choice(texts.CITIES)[0]})"
            while name.lower() in taken:
                name = f"{base} {n}"
                n += 1
        taken.add(name.lower())
        return name

    def _accounts(self, n: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        choice, rand = rng.choice, rng.random
        taken = existing_values(self.ql, "account", "name")
        numbers = existing_values(self.ql, "account", "account_number")
        self.account_ids: list[str] = []
        self.account_names: list[str] = []
        self.account_short: list[str] = []
        self.account_domain: list[str] = []
        self.account_owner = array("b")
        self.account_mood = array("b")
        self.account_customer = array("b")
        self.account_phone: list[str] = []
        n_sellers = len(self.sellers)
        number = 1_000_000
        for _ in range(n):
            industry = choice(INDUSTRY_LIST)
            name = self._account_name(industry, taken)
            number += 1
            while f"acc-{number}" in numbers:
                number += 1
            city, state, country, postal, phone_prefix = choice(texts.CITIES)
            domain = domain_for(name, country)
            employees = int(10 ** (1.3 + rand() * 3.6))
            kind = choice(("customer", "customer", "prospect", "prospect", "prospect",
                           "partner", "competitor", "other"))
            status = "prospect"
            if kind == "customer":
                roll = rand()
                status = "active_customer" if roll < 0.8 else "on_hold" if roll < 0.9 \
                    else "churned"
            owner = int(rand() * n_sellers)
            street = f"{rng.randint(1, 999)} {choice(texts.STREET_NAMES)}"
            account_id = new_id()
            has_phone = rand() < 0.9
            row = {
                "id": account_id, "name": name, "account_number": f"ACC-{number}",
                "type": kind, "industry": industry, "rating": choice(("hot", "warm", "warm",
                                                                      "cold", "cold")),
                "annual_revenue": float(round(employees * (80_000 + rand() * 320_000), -3)),
                "number_of_employees": employees,
                "phone": phone_for(rng, phone_prefix) if has_phone else None,
                "email": f"info@{domain}" if not has_phone or rand() < 0.6 else None,
                "website": f"https://www.{domain}",
                "billing_street": street, "billing_city": city, "billing_state": state,
                "billing_postal_code": f"{postal}{rng.randint(10, 99)}",
                "billing_country": country, "customer_status": status,
                "owner": self.sellers[owner].user_id,
                "created_at": self._moment(3 * 365),
            }
            self.account_ids.append(account_id)
            self.account_names.append(name)
            self.account_short.append(_short(name))
            self.account_domain.append(domain)
            self.account_owner.append(owner)
            self.account_mood.append(3 if rand() < 0.3 else int(rand() * 3)
                                     if status != "churned" else 2)
            self.account_customer.append(kind == "customer")
            self.account_phone.append(phone_prefix)
            yield row

    # -- contacts ------------------------------------------------------------------------
    def _contacts(self, n: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        choice, rand = rng.choice, rng.random
        taken = existing_values(self.ql, "contact", "email")
        firsts, lasts = texts.FIRST_NAMES, texts.LAST_NAMES
        first_slugs = [slug(f) for f in firsts]
        last_slugs = [slug(x) for x in lasts]
        self.contact_ids: list[str] = []
        self.contact_first = array("h")
        self.contact_last = array("h")
        self.contact_email: list[str | None] = []
        level_weights = (3, 8, 18, 30, 41)
        level_cum = [sum(level_weights[:i + 1]) / sum(level_weights)
                     for i in range(len(level_weights))]
        for account in range(len(self.account_ids)):
            account_id = self.account_ids[account]
            domain = self.account_domain[account]
            owner = self.sellers[self.account_owner[account]].user_id
            boss: str | None = None
            for k in range(self.contact_count[account]):
                fi, li = int(rand() * len(firsts)), int(rand() * len(lasts))
                if k == 0:
                    level = "c_level"
                else:
                    roll = rand()
                    level = next(lv for lv, c in zip(LEVELS, level_cum, strict=True)
                                 if roll <= c)
                title = choice(texts.LEVEL_TITLES[level])
                email = None
                if rand() < 0.95:
                    email = f"{first_slugs[fi]}.{last_slugs[li]}@{domain}"
                    if email in taken:
                        email = f"{first_slugs[fi]}.{last_slugs[li]}{len(taken)}@{domain}"
                    taken.add(email)
                contact_id = new_id()
                yield {
                    "id": contact_id, "first_name": firsts[fi], "last_name": lasts[li],
                    "account": account_id, "title": title,
                    "department": texts.department_for(title), "level": level,
                    "email": email,
                    "phone": phone_for(rng, self.account_phone[account])
                    if email is None or rand() < 0.6
                    else None,
                    "lead_source": choice(LEAD_SOURCES),
                    "reports_to": boss if k else None,
                    "owner": owner,
                }
                if k == 0:
                    boss = contact_id
                self.contact_ids.append(contact_id)
                self.contact_first.append(fi)
                self.contact_last.append(li)
                self.contact_email.append(email)

    def _pick(self, starts: array, counts: array, account: int) -> int | None:
        count = counts[account]
        return starts[account] + int(self.rng.random() * count) if count else None

    # -- opportunities and contracts -----------------------------------------------------
    def _opportunities(self, n: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        choice, rand = rng.choice, rng.random
        today = self.today
        self.opp_ids: list[str] = []
        cum = [sum(STAGE_WEIGHTS[:i + 1]) / sum(STAGE_WEIGHTS) for i in range(len(STAGES))]
        for account in range(len(self.account_ids)):
            for _ in range(self.opp_count[account]):
                roll = rand()
                stage = next(s for s, c in zip(STAGES, cum, strict=True) if roll <= c)
                probability, forecast = self.stage_extras[stage]
                closed = stage in ("closed_won", "closed_lost")
                if closed:
                    close_date = today - timedelta(days=rng.randint(1, 730))
                else:
                    close_date = today + timedelta(days=rng.randint(1, 365))
                created = datetime.combine(close_date - timedelta(days=rng.randint(20, 200)),
                                           time(9))
                created = min(created, self.now)
                amount = amount_for(rng)
                contact = self._pick(self.contact_start, self.contact_count, account)
                owner = self.account_owner[account] if rand() < 0.85 else \
                    int(rand() * len(self.sellers))
                opp_id = new_id()
                customer = self.account_customer[account]
                yield {
                    "id": opp_id,
                    "name": f"{self.account_short[account]} - "
                            f"{choice(texts.OPPORTUNITY_DEALS)}"[:120],
                    "account": self.account_ids[account],
                    "contact": self.contact_ids[contact] if contact is not None else None,
                    "amount": amount, "close_date": close_date, "stage": stage,
                    "probability": probability, "forecast_category": forecast,
                    "type": choice(("existing_business", "renewal")) if customer
                    else "new_business",
                    "lead_source": choice(LEAD_SOURCES),
                    "next_step": None if closed else choice(texts.NEXT_STEPS),
                    "loss_reason": choice(LOSS_REASONS) if stage == "closed_lost" else None,
                    "owner": self.sellers[owner].user_id,
                    "created_at": created,
                }
                self.opp_ids.append(opp_id)
                if stage == "closed_won":
                    self.won.append((len(self.opp_ids) - 1, account, amount, close_date))

    def _contracts(self) -> Iterator[dict[str, Any]]:
        """One contract per won deal, as the trigger would have booked it."""
        rng = self.rng
        rand = rng.random
        today = self.today
        for opp, account, amount, close_date in self.won:
            start = close_date + timedelta(days=rng.randint(3, 20))
            end = start + timedelta(days=365)
            owner = self.sellers[self.account_owner[account]].user_id
            if end < today:
                status = "completed" if rand() < 0.8 else "terminated"
            else:
                roll = rand()
                status = "activated" if roll < 0.7 else "in_approval" if roll < 0.85 \
                    else "draft"
            signed = status not in ("draft", "in_approval")
            contact = self._pick(self.contact_start, self.contact_count, account)
            yield {
                "account": self.account_ids[account], "opportunity": self.opp_ids[opp],
                "status": status, "start_date": start, "end_date": end,
                "contract_term": 12, "contract_value": amount,
                "billing_frequency": rng.choice(("monthly", "quarterly", "annual")),
                "payment_terms": rng.choice(("net_15", "net_30", "net_30", "net_60")),
                "auto_renewal": rand() < 0.6,
                "customer_signed_date": close_date if signed else None,
                "customer_signed_by": (f"{texts.FIRST_NAMES[self.contact_first[contact]]} "
                                       f"{texts.LAST_NAMES[self.contact_last[contact]]}")
                if signed and contact is not None else None,
                "company_signed_date": close_date + timedelta(days=1) if signed else None,
                "company_signed_by": owner if signed else None,
                "description": f"Created from opportunity "
                               f"{self.account_short[account]}"[:255],
                "owner": owner,
                "created_at": datetime.combine(min(close_date, today), time(17)),
            }

    # -- activities and emails -----------------------------------------------------------
    def _person(self, contact: int | None) -> tuple[str | None, str | None]:
        if contact is None:
            return None, None
        first = texts.FIRST_NAMES[self.contact_first[contact]]
        return first, f"{first} {texts.LAST_NAMES[self.contact_last[contact]]}"

    def _activities(self, n: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        choice, rand = rng.choice, rng.random
        n_accounts = len(self.account_ids)
        today = self.today
        subjects = texts.ACTIVITY_SUBJECTS
        notes = [texts.ACTIVITY_NOTES[m] for m in MOODS]
        type_cum = (0.3, 0.5, 0.75, 0.85, 1.0)
        for _ in range(n):
            account = int(rand() * n_accounts)
            roll = rand()
            kind = next(t for t, c in zip(ACTIVITY_TYPES, type_cum, strict=True) if roll <= c)
            upcoming = rand() < 0.12
            at = self._moment(0, 45) if upcoming else self._moment(365)
            if upcoming or (kind == "task" and rand() < 0.15):  # upcoming or overdue
                status = "planned"
            else:
                status = "completed" if rand() < 0.9 else "cancelled"
            contact = self._pick(self.contact_start, self.contact_count, account) \
                if rand() < 0.6 else None
            opp = self._pick(self.opp_start, self.opp_count, account) if rand() < 0.3 \
                else None
            first, full = self._person(contact)
            values = _Values(account=self.account_short[account], first_name=first or "team",
                             contact=full or "the customer")
            mood = self.account_mood[account]
            row = {
                "subject": choice(subjects[kind]).format_map(values),
                "type": kind, "status": status,
                "priority": "high" if mood == 2 else choice(("high", "normal", "normal",
                                                             "normal", "low")),
                "activity_date": at,
                "due_date": (at.date() + timedelta(days=int(rand() * 4)))
                if kind == "task" else None,
                "duration_minutes": choice((15, 30, 45, 60)) if kind == "call" else
                choice((30, 60, 90)) if kind == "meeting" else None,
                "account": self.account_ids[account],
                "contact": self.contact_ids[contact] if contact is not None else None,
                "opportunity": self.opp_ids[opp] if opp is not None else None,
                "description": None,
                "owner": self.sellers[self.account_owner[account]].user_id,
                "created_at": min(at, self.now) if at.date() <= today else self.now,
            }
            if rand() < 0.25:
                tone = mood if rand() < 0.7 else 3
                _Values.filler = choice(self.fillers)
                row["description"] = choice(notes[tone]).format_map(values)
            yield row

    def _emails(self, n: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        choice, rand = rng.choice, rng.random
        n_accounts = len(self.account_ids)
        inbound_pools = [texts.INBOUND_EMAILS[m] for m in MOODS]
        for _ in range(n):
            account = int(rand() * n_accounts)
            contact = self._pick(self.contact_start, self.contact_count, account)
            owner = self.account_owner[account]
            first, full = self._person(contact)
            values = _Values(account=self.account_short[account], first_name=first or "there",
                             contact=full or "the customer", owner=self.sellers[owner].name,
                             owner_first=self.seller_first[owner])
            _Values.filler = choice(self.fillers)
            inbound = rand() < 0.6
            if inbound:
                mood = self.account_mood[account]
                subject, body = choice(inbound_pools[mood if rand() < 0.7 else 3])
            else:
                subject, body = choice(texts.OUTBOUND_EMAILS)
            contact_email = self.contact_email[contact] if contact is not None else None
            owner_email = self.seller_email[owner]
            sent = self._moment(365)
            yield {
                "subject": subject.format_map(values)[:255],
                "body": body.format_map(values),
                "direction": "inbound" if inbound else "outbound",
                "sent_at": sent,
                "from_address": contact_email if inbound else owner_email,
                "to_address": owner_email if inbound else contact_email,
                "account": self.account_ids[account],
                "contact": self.contact_ids[contact] if contact is not None else None,
                "owner": self.sellers[owner].user_id,
                "created_at": min(sent, self.now),
            }

