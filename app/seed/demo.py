"""The demo seed: four users and a small, realistic, deterministic sales org.

Everything goes through ObjectQL with triggers and audit: accounts, contacts and
opportunities are inserted with `insert_many`; won deals are then moved to closed_won
by their owner (`ql.update`), so the opportunity trigger books the contracts, the
kick-off tasks and the manager notifications exactly as in real use.
"""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from faker import Faker
from sqlalchemy import func, select

from app.auth.passwords import set_password
from app.objectql.context import Context
from app.seed import texts
from app.storage.ids import new_id

if TYPE_CHECKING:
    from app.core import Services
    from app.objectql.service import ObjectQL

DEMO_PASSWORD = "hotcrm-demo"
DEMO_USERS: list[dict[str, Any]] = [
    {"email": "admin@hotcrm.local", "name": "Dana Whitfield", "role": "admin",
     "password": DEMO_PASSWORD, "manager_email": None},
    {"email": "manager@hotcrm.local", "name": "Maria Keller", "role": "sales_manager",
     "password": DEMO_PASSWORD, "manager_email": None},
    {"email": "alice@hotcrm.local", "name": "Alice Chen", "role": "sales_rep",
     "password": DEMO_PASSWORD, "manager_email": "manager@hotcrm.local"},
    {"email": "bob@hotcrm.local", "name": "Bob Martins", "role": "sales_rep",
     "password": DEMO_PASSWORD, "manager_email": "manager@hotcrm.local"},
]
SELLER_EMAILS = ("alice@hotcrm.local", "bob@hotcrm.local", "manager@hotcrm.local")
SEEDED_OBJECTS = ("user", "account", "contact", "opportunity", "contract", "activity",
                  "email", "notification", "lead")

INDUSTRIES = ("technology", "finance", "manufacturing", "retail", "healthcare", "education",
              "real_estate", "energy", "consulting", "other")
OPEN_STAGES = ("prospecting", "qualification", "needs_analysis", "proposal", "negotiation")
LOSS_REASONS = ("price", "features", "timing", "competitor", "budget", "other")
LEAD_SOURCES = ("web", "phone_inquiry", "partner_referral", "purchased_list",
                "customer_referral", "trade_show", "other")
COUNTRY_TLD = {"United States": "com", "Canada": "ca", "United Kingdom": "co.uk",
               "Ireland": "ie", "Germany": "de", "France": "fr", "Netherlands": "nl",
               "Spain": "es", "Italy": "it", "Switzerland": "ch", "Sweden": "se",
               "Denmark": "dk", "Australia": "com.au", "Singapore": "sg", "Japan": "jp"}
_NAME_NOISE = {"inc", "llc", "ltd", "plc", "corp", "co", "group", "and", "the", "gmbh",
               "ag", "sa", "bv", "pty"}


# -- helpers shared with the large seed ------------------------------------------------
def database_is_empty(ql: ObjectQL) -> bool:
    """True when there are neither accounts nor users: the time to seed demo data."""
    system = Context.system()
    return ql.count(system, "account", cap=1)[0] == 0 and ql.count(system, "user", cap=1)[0] == 0


def object_counts(ql: ObjectQL, names: tuple[str, ...] = SEEDED_OBJECTS) -> dict[str, int]:
    system = Context.system()
    return {name: ql.count(system, name, cap=100_000_000)[0] for name in names}


def existing_values(ql: ObjectQL, object_name: str, field: str) -> set[str]:
    """Lower-cased values already stored in a unique column (so a seed avoids them)."""
    column = ql.schema.table(object_name).c[field]
    with ql.engine.connect() as conn:
        rows = conn.execute(select(func.lower(column)).where(column.is_not(None)))
        return {value for (value,) in rows}


def ensure_demo_users(services: Services) -> dict[str, Context]:
    """The four demo users (created with their passwords when missing), as Contexts."""
    ql = services.ql
    system = Context.system()
    ids: dict[str, str] = {}
    for spec in DEMO_USERS:
        found = ql.find_one(system, "user", fields=["id"],
                            filters=[["email", "=", spec["email"]]])
        if found is None:
            manager = ids.get(spec["manager_email"]) if spec["manager_email"] else None
            found = ql.insert(system, "user", {"email": spec["email"], "name": spec["name"],
                                               "role": spec["role"], "manager": manager})
            set_password(services.engine, found["id"], spec["password"])
        ids[spec["email"]] = found["id"]
    subordinates = {email: frozenset(ids[s["email"]] for s in DEMO_USERS
                                     if s["manager_email"] == email) for email in ids}
    return {spec["email"]: Context(user_id=ids[spec["email"]], role=spec["role"],
                                   name=spec["name"],
                                   subordinate_ids=subordinates[spec["email"]])
            for spec in DEMO_USERS}


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())


def domain_for(name: str, country: str) -> str:
    words = [w for w in re.split(r"[^a-z0-9]+", slug_words(name)) if w and w not in _NAME_NOISE]
    base = "".join(words[:3]) or "company"
    return f"{base[:30]}.{COUNTRY_TLD.get(country, 'com')}"


def slug_words(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def unique_email(local: str, domain: str, taken: set[str]) -> str:
    local = re.sub(r"[^a-z0-9.]+", "", slug_words(local)).strip(".") or "contact"
    email = f"{local}@{domain}"
    n = 2
    while email in taken:
        email = f"{local}{n}@{domain}"
        n += 1
    taken.add(email)
    return email


def amount_for(rng: random.Random) -> float:
    roll = rng.random()
    if roll < 0.55:
        value = rng.uniform(5_000, 80_000)
    elif roll < 0.85:
        value = rng.uniform(80_000, 400_000)
    elif roll < 0.96:
        value = rng.uniform(400_000, 1_000_000)
    else:
        value = rng.uniform(1_000_000, 2_000_000)
    return float(round(value / 500) * 500)


def phone_for(rng: random.Random, prefix: str) -> str:
    """A phone number in the style of the country and area code `prefix` ("+1 212")."""
    if prefix.startswith("+1 "):
        return f"{prefix}-{rng.randint(201, 989)}-{rng.randint(0, 9999):04d}"
    return f"{prefix} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"


def _insert_as_owners(ql: ObjectQL, object_name: str, rows: list[dict[str, Any]]) -> None:
    """insert_many in row order, each run of rows stamped as created by its owner."""
    with ql.transaction():
        start = 0
        while start < len(rows):
            owner = rows[start]["owner"]
            end = start
            while end < len(rows) and rows[end]["owner"] == owner:
                end += 1
            ql.insert_many(Context.system(owner), object_name, rows[start:end])
            start = end


def _spread(rng: random.Random, items: list[Any], counts: list[int]) -> list[Any]:
    result = [item for item, n in zip(items, counts, strict=True) for _ in range(n)]
    rng.shuffle(result)
    return result


# -- the demo seed ---------------------------------------------------------------------
def seed_demo(services: Services, random_seed: int = 42, today: date | None = None
              ) -> dict[str, int]:
    """Seed the demo org; returns how many records of each object were added."""
    return _DemoSeed(services, random_seed, today).run()


class _DemoSeed:
    def __init__(self, services: Services, random_seed: int, today: date | None):
        self.services = services
        self.ql = services.ql
        self.today = today or self.ql.today()
        # Open deals may not close in the past by the clock the validation rules use.
        self.open_base = max(self.today, self.ql.today())
        self.now = datetime.combine(self.today, time(12, 0))
        self.random_seed = random_seed
        self.rng = random.Random(random_seed)
        self.age_rng = random.Random(random_seed + 1)
        self.fake = Faker("en_US")
        self.fake.seed_instance(random_seed)
        self.accounts: list[dict[str, Any]] = []
        self.contacts: dict[str, list[dict[str, Any]]] = {}
        self.opportunities: dict[str, list[dict[str, Any]]] = {}
        self.mood: dict[str, str] = {}
        self.phone_prefix: dict[str, str] = {}

    def run(self) -> dict[str, int]:
        before = object_counts(self.ql)
        self.users = ensure_demo_users(self.services)
        self.sellers = [self.users[e] for e in SELLER_EMAILS]
        self.user_email = {c.user_id: e for e, c in self.users.items()}
        self.user_ctx = {c.user_id: c for c in self.users.values()}
        self.make_accounts()
        self.make_contacts()
        self.make_opportunities()
        self.win_deals()
        self.make_contracts()
        self.make_activities()
        self.make_emails()
        from app.seed.leads import seed_demo_leads  # it builds on this module's helpers

        seed_demo_leads(self.ql, self.sellers, self.accounts, self.random_seed)
        after = object_counts(self.ql)
        return {name: after[name] - before[name] for name in SEEDED_OBJECTS}

    # -- accounts ------------------------------------------------------------------------
    def make_accounts(self, n: int = 60) -> None:
        rng, fake = self.rng, self.fake
        taken_names = existing_values(self.ql, "account", "name")
        taken_numbers = existing_values(self.ql, "account", "account_number")
        industries = [INDUSTRIES[i % len(INDUSTRIES)] for i in range(n)]
        rng.shuffle(industries)
        types = _spread(rng, ["customer", "prospect", "partner", "competitor", "other"],
                        [22, 24, 6, 4, 4])
        ratings = _spread(rng, ["hot", "warm", "cold"], [15, 25, 20])
        owners = _spread(rng, [s.user_id for s in self.sellers], [24, 22, 14])
        moods = _spread(rng, ["positive", "worried", "angry", "neutral"], [21, 15, 9, 15])
        us_cities = [c for c in texts.CITIES if c[2] == "United States"]
        number = 10_001
        rows = []
        for i in range(n):
            industry = industries[i]
            while True:
                if rng.random() < 0.5:
                    name = fake.company()
                else:
                    name = f"{rng.choice(texts.COMPANY_WORDS)} " \
                           f"{rng.choice(texts.INDUSTRY_NOUNS[industry])}"
                if name.lower() not in taken_names:
                    break
            taken_names.add(name.lower())
            while f"acc-{number}" in taken_numbers:
                number += 1
            account_number = f"ACC-{number}"
            number += 1
            city, state, country, prefix, phone_prefix = rng.choice(
                us_cities if rng.random() < 0.7 else texts.CITIES)
            street = fake.street_address() if country == "United States" else \
                f"{rng.randint(1, 250)} {rng.choice(texts.STREET_NAMES)}"
            postal = f"{prefix}{rng.randint(10, 99)}"
            phone = phone_for(rng, phone_prefix)
            domain = domain_for(name, country)
            employees = int(10 ** rng.uniform(1.3, 4.9))
            revenue = float(round(employees * rng.uniform(80_000, 400_000), -3))
            kind = types[i]
            status = "prospect"
            if kind == "customer":
                status = rng.choices(["active_customer", "on_hold", "churned"],
                                     [80, 10, 10])[0]
            mood = "angry" if status == "churned" else moods[i]
            has_email, has_phone = rng.random() < 0.8, True
            if has_email and rng.random() < 0.12:
                has_phone = False
            row: dict[str, Any] = {
                "id": new_id(), "name": name, "account_number": account_number,
                "type": kind, "industry": industry, "rating": ratings[i],
                "annual_revenue": revenue, "number_of_employees": employees,
                "phone": phone if has_phone else None,
                "email": f"{rng.choice(['info', 'contact', 'hello', 'office'])}@{domain}"
                if has_email else None,
                "website": f"https://www.{domain}",
                "billing_street": street, "billing_city": city, "billing_state": state,
                "billing_postal_code": postal, "billing_country": country,
                "customer_status": status,
                "description": f"{industry.replace('_', ' ').capitalize()} company based in "
                               f"{city}, {country}, with about {employees:,} employees. "
                               f"{fake.catch_phrase()}.",
                "owner": owners[i],
            }
            if rng.random() < 0.6:
                row.update(shipping_street=street, shipping_city=city, shipping_state=state,
                           shipping_postal_code=postal, shipping_country=country)
            rows.append(row)
            self.mood[row["id"]] = mood
            self.phone_prefix[row["id"]] = phone_prefix
        # A few subsidiaries: later accounts whose parent is an earlier one.
        for child in rng.sample(range(n // 2, n), 5):
            rows[child]["parent"] = rows[rng.randrange(0, n // 2)]["id"]
        _insert_as_owners(self.ql, "account", rows)
        self.accounts = rows
        self.domains = {r["id"]: r["website"].removeprefix("https://www.") for r in rows}

    # -- contacts ------------------------------------------------------------------------
    def make_contacts(self) -> None:
        rng, fake = self.rng, self.fake
        taken = existing_values(self.ql, "contact", "email")
        levels = list(texts.LEVEL_TITLES)
        rows = []
        for account in self.accounts:
            people: list[dict[str, Any]] = []
            for k in range(rng.choice([2, 3, 3, 4, 4, 4, 5, 5, 6, 7])):
                first, last = fake.first_name(), fake.last_name()
                level = "c_level" if k == 0 else rng.choices(levels, [4, 10, 20, 30, 36])[0]
                title = rng.choice(texts.LEVEL_TITLES[level])
                has_email = rng.random() < 0.92
                prefix = self.phone_prefix[account["id"]]
                phone = phone_for(rng, prefix) if rng.random() < 0.7 or not has_email \
                    else None
                row: dict[str, Any] = {
                    "id": new_id(), "first_name": first, "last_name": last,
                    "salutation": rng.choice(["mr", "ms", "ms", "mr", "dr", "prof"])
                    if rng.random() < 0.7 else None,
                    "account": account["id"], "title": title,
                    "department": texts.department_for(title), "level": level,
                    "email": unique_email(f"{first}.{last}", self.domains[account["id"]],
                                          taken) if has_email else None,
                    "phone": phone,
                    "mobile_phone": phone_for(rng, prefix) if rng.random() < 0.5 else None,
                    "mailing_street": account["billing_street"],
                    "mailing_city": account["billing_city"],
                    "mailing_state": account["billing_state"],
                    "mailing_postal_code": account["billing_postal_code"],
                    "mailing_country": account["billing_country"],
                    "reports_to": people[0]["id"] if people and level != "c_level" else None,
                    "lead_source": rng.choice(LEAD_SOURCES),
                    "is_active": rng.random() < 0.95,
                    "do_not_call": rng.random() < 0.05,
                    "has_opted_out_of_email": rng.random() < 0.05,
                    "linkedin_url": f"https://www.linkedin.com/in/{slug(first)}-{slug(last)}-"
                                    f"{rng.randint(100, 999)}" if rng.random() < 0.6 else None,
                    "birthdate": self.today - timedelta(days=rng.randint(25 * 365, 64 * 365))
                    if rng.random() < 0.3 else None,
                    "owner": account["owner"],
                }
                people.append(row)
            self.contacts[account["id"]] = people
            rows.extend(people)
        _insert_as_owners(self.ql, "contact", rows)

    # -- opportunities -------------------------------------------------------------------
    def make_opportunities(self) -> None:
        rng = self.rng
        stages = _spread(rng, [*OPEN_STAGES, "closed_won", "closed_lost"],
                         [18, 20, 18, 18, 16, 35, 25])
        eligible = [a for a in self.accounts if a["type"] != "competitor"]
        weights = [{"hot": 3, "warm": 2, "cold": 1}[a["rating"]]
                   * (2 if a["type"] == "customer" else 1) for a in eligible]
        rows = []
        self.won: list[dict[str, Any]] = []
        big_open = big_won = 0
        for stage in stages:
            account = rng.choices(eligible, weights)[0]
            owner = account["owner"] if rng.random() < 0.85 else \
                rng.choice(self.sellers).user_id
            amount = amount_for(rng)
            if stage in OPEN_STAGES and big_open < 3 and amount < 1_000_000:
                amount, big_open = float(rng.randrange(1_100_000, 2_000_000, 500)), \
                    big_open + 1
            elif stage == "closed_won" and big_won < 2 and amount < 1_000_000:
                amount, big_won = float(rng.randrange(1_050_000, 1_800_000, 500)), \
                    big_won + 1
            used = {o["name"] for o in self.opportunities.get(account["id"], [])}
            for _ in range(5):  # prefer a deal name the account does not have yet
                deal = rng.choice(texts.OPPORTUNITY_DEALS)
                if deal in ("Renewal", "Multi-year renewal"):
                    deal = f"{deal} {self.today.year + (stage in OPEN_STAGES)}"
                if f"{_short(account['name'])} - {deal}"[:120] not in used:
                    break
            contacts = self.contacts[account["id"]]
            seats = rng.choice([10, 25, 50, 100, 200, 500])
            row: dict[str, Any] = {
                "id": new_id(),
                "name": f"{_short(account['name'])} - {deal}"[:120],
                "account": account["id"],
                "contact": rng.choice(contacts)["id"] if contacts else None,
                "amount": amount,
                "type": "new_business" if account["type"] != "customer" else
                rng.choice(["existing_business", "renewal"]),
                "lead_source": rng.choice(LEAD_SOURCES),
                "quantity": seats,
                "discount": float(rng.choice([0, 0, 0, 5, 10, 15, 20])),
                "owner": owner,
            }
            if rng.random() < 0.3:
                row["competitor_analysis"] = (
                    f"{rng.choice(texts.COMPETITORS)} is also bidding; they are cheaper but "
                    f"weaker on {rng.choice(texts.MODULES)}.")
            if stage == "closed_lost":
                row.update(stage="closed_lost", loss_reason=rng.choice(LOSS_REASONS),
                           close_date=self.today - timedelta(days=rng.randint(1, 182)))
            elif stage == "closed_won":
                # Created open; the owner wins it below, which fires the trigger.
                row.update(stage="negotiation", next_step="Final negotiation",
                           close_date=self.open_base + timedelta(days=rng.randint(3, 30)))
                self.won.append(row)
            else:
                row.update(stage=stage, next_step=rng.choice(texts.NEXT_STEPS),
                           close_date=self.open_base + timedelta(days=rng.randint(3, 270)))
            # Backdated with its own random stream (the rest of the data stays as it was):
            # deals closed in the last half year were opened months before.
            ages = (190, 400) if stage in ("closed_won", "closed_lost") else (5, 180)
            row["created_at"] = datetime.combine(
                self.today - timedelta(days=self.age_rng.randint(*ages)), time(9))
            rows.append(row)
            self.opportunities.setdefault(account["id"], []).append(row)
        _insert_as_owners(self.ql, "opportunity", rows)

    def win_deals(self) -> None:
        for row in self.won:
            closed = self.today - timedelta(days=self.rng.randint(1, 182))
            ctx = self.user_ctx[row["owner"]]
            self.ql.update(ctx, "opportunity", row["id"],
                           {"stage": "closed_won", "close_date": closed, "next_step": None})
            row.update(stage="closed_won", close_date=closed)

    # -- contracts -----------------------------------------------------------------------
    def make_contracts(self) -> None:
        rng, ql = self.rng, self.ql
        system = Context.system()
        booked = {c["opportunity"]: c for c in ql.find(
            system, "contract", fields=["id", "opportunity", "owner"],
            filters=[["opportunity", "in", [w["id"] for w in self.won]]],
            limit=1000).records}
        with ql.transaction():
            for deal in self.won:  # in creation order, so the random stream is stable
                contract = booked[deal["id"]]
                status = rng.choices(["activated", "in_approval", "draft"], [60, 20, 20])[0]
                if status == "draft":
                    continue
                start = deal["close_date"] + timedelta(days=rng.randint(3, 20))
                changes: dict[str, Any] = {
                    "status": status, "start_date": start,
                    "end_date": start + timedelta(days=365), "contract_term": 12,
                    "billing_frequency": rng.choice(["monthly", "quarterly", "annual"]),
                    "payment_terms": rng.choice(["net_15", "net_30", "net_30", "net_60"]),
                    "auto_renewal": rng.random() < 0.6,
                }
                if status == "activated":
                    changes.update(self._signatures(deal["account"], deal["close_date"],
                                                    contract["owner"]))
                    changes["renewal_notice_date"] = start + timedelta(days=305)
                ql.update(Context.system(contract["owner"]), "contract", contract["id"],
                          changes)
            rows: list[dict[str, Any]] = []
            customers = [a for a in self.accounts if a["type"] in ("customer", "partner")]
            plan = ["activated", "activated", "activated", "completed", "completed",
                    "terminated", "on_hold", "in_approval", "in_approval", "draft"]
            for status in plan:
                account = rng.choice(customers)
                if status in ("completed", "terminated"):
                    start = self.today - timedelta(days=rng.randint(420, 900))
                elif status == "activated":
                    start = self.today - timedelta(days=rng.randint(200, 360))
                else:
                    start = self.today + timedelta(days=rng.randint(5, 60))
                term = rng.choice([12, 24, 36]) if status != "completed" else 12
                end = start + timedelta(days=term * 365 // 12)
                if status == "activated" and len(rows) == 0:
                    end = self.today + timedelta(days=rng.randint(10, 60))  # expiring soon
                row: dict[str, Any] = {
                    "account": account["id"], "status": status, "start_date": start,
                    "end_date": end, "contract_term": term,
                    "billing_frequency": rng.choice(["monthly", "quarterly", "semi_annual",
                                                     "annual", "one_time"]),
                    "contract_value": amount_for(rng),
                    "payment_terms": rng.choice(["prepaid", "net_0", "net_15", "net_30",
                                                 "net_60", "net_90"]),
                    "auto_renewal": status == "activated" and rng.random() < 0.7,
                    "description": f"{rng.choice(texts.PRODUCTS)} subscription",
                    "owner": account["owner"],
                }
                if status in ("activated", "completed", "terminated", "on_hold"):
                    row.update(self._signatures(account["id"], start - timedelta(days=7),
                                                account["owner"]))
                if status == "terminated":
                    row["special_terms"] = "Terminated early by the customer after " \
                                           "repeated service issues."
                rows.append(row)
            _insert_as_owners(ql, "contract", rows)

    def _signatures(self, account_id: str, signed: date, owner: str) -> dict[str, Any]:
        people = self.contacts.get(account_id) or []
        signer = people[0] if people else None
        return {"customer_signed_date": signed,
                "customer_signed_by": f"{signer['first_name']} {signer['last_name']}"
                if signer else "Authorised signatory",
                "company_signed_date": signed + timedelta(days=self.rng.randint(0, 3)),
                "company_signed_by": owner}

    # -- activities and emails -----------------------------------------------------------
    def _values(self, account: dict[str, Any], contact: dict[str, Any] | None,
                owner: str) -> dict[str, Any]:
        owner_name = self.user_ctx[owner].name
        return texts.fill_values(
            self.rng, account=account["name"],
            contact=f"{contact['first_name']} {contact['last_name']}" if contact else None,
            first_name=contact["first_name"] if contact else None, owner=owner_name,
            owner_first=owner_name.split()[0],
            date=(self.today + timedelta(days=self.rng.randint(2, 21))).strftime("%B %d"))

    def _allocate(self, total: int, weights: list[float]) -> list[int]:
        scale = total / sum(weights)
        counts = [int(w * scale) for w in weights]
        for i in self.rng.sample(range(len(counts)), total - sum(counts)):
            counts[i] += 1
        return counts

    def _owner_for(self, account: dict[str, Any]) -> str:
        if self.rng.random() < 0.85:
            return account["owner"]
        return str(self.rng.choice(self.sellers).user_id)

    def make_activities(self, total: int = 1000) -> None:
        rng = self.rng
        weights = [{"hot": 3, "warm": 2, "cold": 1}[a["rating"]]
                   * (1.5 if a["type"] == "customer" else 1)
                   * (1.5 if self.mood[a["id"]] == "angry" else 1) for a in self.accounts]
        types = ["call", "meeting", "task", "email", "note"]
        rows = []
        for account, n in zip(self.accounts, self._allocate(total, weights), strict=True):
            contacts = self.contacts[account["id"]]
            deals = self.opportunities.get(account["id"], [])
            mood = self.mood[account["id"]]
            for _ in range(n):
                kind = rng.choices(types, [30, 20, 25, 10, 15])[0]
                # Notes and logged emails record the past; calls, meetings, tasks may be due.
                upcoming = kind in ("call", "meeting", "task") and rng.random() < 0.18
                day = self.today + timedelta(days=rng.randint(1, 30)) if upcoming \
                    else self.today - timedelta(days=rng.randint(0, 182))
                at = datetime.combine(day, time(rng.randint(8, 17), rng.choice([0, 15, 30,
                                                                                 45])))
                if upcoming:
                    status = "planned"
                elif kind == "task" and rng.random() < 0.15:
                    status = "planned"  # overdue
                else:
                    status = "completed" if rng.random() < 0.9 else "cancelled"
                contact = rng.choice(contacts) if contacts and rng.random() < 0.7 else None
                owner = self._owner_for(account)
                tone = texts.pick_tone(rng, mood)
                values = self._values(account, contact, owner)
                priority = "high" if tone == "angry" else \
                    rng.choices(["high", "normal", "low"],
                                [40, 50, 10] if tone == "worried" else [10, 70, 20])[0]
                row: dict[str, Any] = {
                    "subject": texts.render(rng.choice(texts.ACTIVITY_SUBJECTS[kind]),
                                            values)[:255],
                    "type": kind, "status": status, "priority": priority,
                    "activity_date": at, "account": account["id"],
                    "contact": contact["id"] if contact else None,
                    "opportunity": rng.choice(deals)["id"] if deals and rng.random() < 0.35
                    else None,
                    "owner": owner,
                }
                if kind == "task":
                    row["due_date"] = day + timedelta(days=rng.randint(0, 3))
                if kind in ("call", "meeting"):
                    row["duration_minutes"] = rng.choice([15, 30, 30, 45, 60]) \
                        if kind == "call" else rng.choice([30, 60, 60, 90, 120])
                if kind in ("call", "meeting", "note") or rng.random() < 0.3:
                    row["description"] = texts.render(rng.choice(texts.ACTIVITY_NOTES[tone]),
                                                      values)
                rows.append(row)
        rows.sort(key=lambda r: r["owner"])
        _insert_as_owners(self.ql, "activity", rows)

    def make_emails(self, total: int = 300) -> None:
        rng = self.rng
        reachable = [a for a in self.accounts
                     if any(c["email"] for c in self.contacts[a["id"]])]
        weights = [{"angry": 2.5, "worried": 1.5, "positive": 1.2, "neutral": 1}
                   [self.mood[a["id"]]] for a in reachable]
        rows = []
        for account, n in zip(reachable, self._allocate(total, weights), strict=True):
            contacts = [c for c in self.contacts[account["id"]] if c["email"]]
            deals = self.opportunities.get(account["id"], [])
            for _ in range(n):
                contact = rng.choice(contacts)
                owner = self._owner_for(account)
                values = self._values(account, contact, owner)
                inbound = rng.random() < 0.6
                if inbound:
                    tone = texts.pick_tone(rng, self.mood[account["id"]])
                    subject, body = rng.choice(texts.INBOUND_EMAILS[tone])
                else:
                    subject, body = rng.choice(texts.OUTBOUND_EMAILS)
                day = self.today - timedelta(days=rng.randint(0, 182))
                owner_email = self.user_email[owner]
                rows.append({
                    "subject": texts.render(subject, values)[:255],
                    "body": texts.render(body, values),
                    "direction": "inbound" if inbound else "outbound",
                    "sent_at": datetime.combine(day, time(rng.randint(7, 19),
                                                          rng.randint(0, 59))),
                    "from_address": contact["email"] if inbound else owner_email,
                    "to_address": owner_email if inbound else contact["email"],
                    "account": account["id"], "contact": contact["id"],
                    "opportunity": rng.choice(deals)["id"] if deals and rng.random() < 0.3
                    else None,
                    "owner": owner,
                })
        rows.sort(key=lambda r: r["owner"])
        _insert_as_owners(self.ql, "email", rows)


def _short(name: str) -> str:
    """The company name without its legal suffix, for opportunity names."""
    words = name.replace(",", "").split()
    while len(words) > 1 and words[-1].lower().strip(".") in _NAME_NOISE:
        words.pop()
    return " ".join(words)
