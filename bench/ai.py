"""AI smart briefing timings, each next to a baseline measured in the same run.

Usage: python bench/ai.py [--database-url URL] [--seed-accounts 2000] [--seconds 3]
                          [--runs 5] [--no-browser]

On a seeded database (seeds `--seed-accounts` with the large ratios when empty) it adds one
busy account for rep alice — 400 activities, 80 emails, 8 deals, 15 contacts — and
measures, as alice:
  1. context assembly (ObjectQL, row/field security) vs the same reads hand-written in
     SQLAlchemy Core;                                      target ≤ 20 ms p50
  2. the offline briefing end to end server-side (context, engine, store);  ≤ 50 ms p50
  3. through a fake Anthropic streaming server on loopback: time to the first text delta
     from HotCRM's SSE endpoint vs the SDK reading the fake directly;  overhead ≤ 50 ms
  4. in Chromium: first briefing text after navigation (fake model; target ≤ 1 s) and the
     whole offline briefing (target < 3 s), next to the record title on the same page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.ai.assembly import build_context  # noqa: E402
from app.ai.industries import load_playbook  # noqa: E402
from app.ai.service import AiSettings, BriefingService  # noqa: E402
from app.core import Services, build_services  # noqa: E402
from app.objectql import Context  # noqa: E402
from app.storage.system_tables import AiBriefing  # noqa: E402
from tests.support.fake_anthropic import (  # noqa: E402
    FakeAnthropic,
    briefing_answer,
    fake_anthropic_server,
)

HOT = "Bench Busy Account"
METADATA = ROOT / "metadata"


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(fn: Callable[[], object], seconds: float, warm: int = 5) -> list[float]:
    for _ in range(warm):
        fn()
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < 5:
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def line(name: str, ours: list[float], base: list[float], base_name: str,
         target: str = "") -> None:
    p50, b50 = statistics.median(ours), statistics.median(base)
    print(f"{name:<44} p50 {p50:8.2f} ms  p95 {pct(ours, .95):8.2f} ms | {base_name} p50 "
          f"{b50:8.2f} ms | ratio {p50 / b50 if b50 else float('nan'):5.2f}x  {target}")


# -- data ---------------------------------------------------------------------------------
def busy_account(services: Services, rep: Context) -> str:
    ql, system = services.ql, Context.system()
    found = ql.find_one(system, "account", fields=["id"], filters=[["name", "=", HOT]])
    if found:
        return str(found["id"])
    account = ql.insert(system, "account", {"name": HOT, "industry": "technology",
                                            "phone": "+1 555 0100", "owner": rep.user_id,
                                            "customer_status": "active_customer"})["id"]
    today = ql.today()
    contacts = [ql.insert(system, "contact", {
        "first_name": f"Pat{i}", "last_name": f"Busy{i}", "title": "Director",
        "level": "director" if i else "c_level", "account": account, "owner": rep.user_id,
        "email": f"pat{i}@busy.test"})["id"] for i in range(15)]
    stages = ["prospecting", "qualification", "proposal", "negotiation", "closed_won",
              "proposal", "needs_analysis", "negotiation"]
    for i, stage in enumerate(stages):
        ql.insert(system, "opportunity", {
            "name": f"Busy deal {i}", "account": account, "stage": stage, "owner": rep.user_id,
            "amount": 10_000 * (i + 1), "close_date": (today + timedelta(days=5 + 9 * i)
                                                       ).isoformat()})
    now = datetime.combine(today, datetime.min.time()).replace(hour=10)
    notes = ["Positive meeting, they want to expand.", "Pricing concern raised again.",
             "Reviewed the rollout plan; on track.", "Asked for security documentation."]
    ql.bulk_insert(system, "activity", [{
        "subject": f"Touchpoint {i}", "type": ["call", "meeting", "note", "task"][i % 4],
        "status": "completed" if i % 5 else "planned", "account": account,
        "contact": contacts[i % 15], "owner": rep.user_id, "description": notes[i % 4],
        "activity_date": now - timedelta(days=i * 2)} for i in range(400)])
    ql.bulk_insert(system, "email", [{
        "subject": f"Re: rollout {i}", "direction": "inbound" if i % 2 else "outbound",
        "body": notes[i % 4] + " " + "Details of the plan and next milestones. " * 8,
        "from_address": "pat0@busy.test", "to_address": "alice@hotcrm.local",
        "account": account, "owner": rep.user_id, "sent_at": now - timedelta(days=i * 5)}
        for i in range(80)])
    return str(account)


def hand_written_reads(services: Services, rep: Context, account_id: str) -> Callable[[], Any]:
    """The same rows the context reads, as a developer would query them directly (with the
    rep's row restriction on private objects)."""
    s = services.ql.schema
    acc, opp, con = s.table("account"), s.table("opportunity"), s.table("contact")
    ctr, act, eml = s.table("contract"), s.table("activity"), s.table("email")

    def run() -> Any:
        with services.engine.connect() as conn:
            conn.execute(select(acc).where(acc.c.id == account_id)).all()
            conn.execute(select(opp).where(opp.c.account == account_id,
                                           opp.c.owner == rep.user_id)
                         .order_by(opp.c.close_date.desc()).limit(50)).all()
            conn.execute(select(con).where(con.c.account == account_id)
                         .order_by(con.c.last_name).limit(25)).all()
            conn.execute(select(ctr).where(ctr.c.account == account_id,
                                           ctr.c.owner == rep.user_id).limit(10)).all()
            conn.execute(select(act).where(act.c.account == account_id,
                                           act.c.owner == rep.user_id)
                         .order_by(act.c.activity_date.desc()).limit(20)).all()
            conn.execute(select(eml).where(eml.c.account == account_id,
                                           eml.c.owner == rep.user_id)
                         .order_by(eml.c.sent_at.desc()).limit(10)).all()
    return run


def forget_briefings(services: Services, account_id: str) -> None:
    table = AiBriefing.__table__  # type: ignore[attr-defined]
    with services.engine.begin() as conn:
        conn.execute(delete(table).where(table.c.account_id == account_id))


# -- 3. the streaming overhead ------------------------------------------------------------
async def sdk_first_text(fake: FakeAnthropic, prompt: str) -> tuple[float, float]:
    import anthropic

    client = anthropic.AsyncAnthropic(api_key="bench", base_url=fake.url, max_retries=0)
    start = time.perf_counter()
    first = 0.0
    async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=900,
                                      messages=[{"role": "user", "content": prompt}]) as s:
        async for _ in s.text_stream:
            first = first or time.perf_counter() - start
    total = time.perf_counter() - start
    await client.close()
    return first * 1000, total * 1000


def hotcrm_first_text(base: str, token: str, account_id: str) -> tuple[float, float]:
    import httpx

    start = time.perf_counter()
    first = 0.0
    with httpx.stream("POST", f"{base}/api/ai/smart-briefing",
                      json={"account_id": account_id, "regenerate": True}, timeout=30,
                      headers={"Authorization": f"Bearer {token}",
                               "Accept": "text/event-stream"}) as response:
        for text in response.iter_lines():
            if text == "event: delta" and not first:
                first = time.perf_counter() - start
            if text == "event: done":
                break
    return first * 1000, (time.perf_counter() - start) * 1000


def browser_runs(base: str, account_id: str, runs: int, services: Services
                 ) -> tuple[list[float], list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    from app.devserver import CHROMIUM_ARGS, chromium_path, sign_in

    title, first, done = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(),
                                             args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, "alice")
        for _ in range(runs + 1):
            forget_briefings(services, account_id)
            start = time.perf_counter()
            page.goto(f"{base}/o/account/{account_id}")
            page.get_by_test_id("record-title").wait_for()
            t_title = time.perf_counter() - start
            page.locator("[data-testid=briefing-summary]:not(:empty)").wait_for()
            t_first = time.perf_counter() - start
            page.get_by_test_id("briefing-steps").wait_for(timeout=30_000)
            t_done = time.perf_counter() - start
            title.append(t_title * 1000)
            first.append(t_first * 1000)
            done.append(t_done * 1000)
        browser.close()
    return title[1:], first[1:], done[1:]  # the first run warms the server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get(
        "HOTCRM_DATABASE_URL", f"sqlite:///{ROOT / 'data' / 'bench_ai.db'}"))
    parser.add_argument("--seed-accounts", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    (ROOT / "data").mkdir(exist_ok=True)
    services = build_services(database_url=args.database_url, metadata_dir=METADATA)
    ql, system = services.ql, Context.system()
    if ql.count(system, "account", cap=1)[0] == 0:
        from app.seed import seed_scale

        print(f"seeding {args.seed_accounts} accounts ...", flush=True)
        seed_scale(services, str(args.seed_accounts), 42, progress=False)
    rep_row = ql.find_one(system, "user", fields=["id"],
                          filters=[["email", "=", "alice@hotcrm.local"]])
    assert rep_row, "no demo user alice"
    rep = services.identities.context_for(str(rep_row["id"]))
    account_id = busy_account(services, rep)
    counts = {o: ql.count(system, o, cap=10_000_000)[0] for o in ("account", "activity")}
    busy = ql.count(system, "activity", filters=[["account", "=", account_id]])[0]
    print(f"database {services.engine.dialect.name}: {counts['account']:,} accounts, "
          f"{counts['activity']:,} activities; the busy account has {busy} activities")

    playbook = load_playbook(METADATA)
    context = measure(lambda: build_context(ql, rep, account_id, playbook), args.seconds)
    hand = measure(hand_written_reads(services, rep, account_id), args.seconds)
    line("1. context assembly (ObjectQL, as the rep)", context, hand, "hand-written reads",
         "target ≤ 20 ms")
    service = BriefingService(ql, METADATA, AiSettings(provider="offline",
                                                       rate="1000000/minute"))
    offline = measure(lambda: asyncio.run(service.generate(rep, account_id)), args.seconds)
    line("2. offline briefing end to end (server)", offline, hand, "hand-written reads",
         "target ≤ 50 ms")

    fake = FakeAnthropic(answer=briefing_answer(
        "Bench Busy Account has six open deals and steady engagement. " * 6),
        chunk_pause=0.004, chunk_size=16)
    prompt = build_context(ql, rep, account_id, playbook).render()
    with fake_anthropic_server(fake), tempfile.TemporaryDirectory() as tmp:
        direct = [asyncio.run(sdk_first_text(fake, prompt)) for _ in range(args.runs + 1)][1:]
        from app.devserver import running_server, token_for

        env = {"HOTCRM_AI_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "bench",
               "ANTHROPIC_BASE_URL": fake.url, "HOTCRM_AI_RATE_LIMIT": "100000/minute"}
        with running_server(Path(tmp), database_url=args.database_url, demo=False,
                            extra_env=env, timeout=300) as (base, _proc):
            token = token_for(base, "alice")
            ours = [hotcrm_first_text(base, token, account_id)
                    for _ in range(args.runs + 1)][1:]
            first_ours = [f for f, _ in ours]
            first_direct = [f for f, _ in direct]
            overhead = statistics.median(first_ours) - statistics.median(first_direct)
            line("3. first text: HotCRM SSE (fake model)", first_ours, first_direct,
                 "SDK on the fake", f"overhead {overhead:.1f} ms (target ≤ 50 ms)")
            line("   whole stream: HotCRM SSE", [t for _, t in ours], [t for _, t in direct],
                 "SDK on the fake")
            if not args.no_browser:
                title, first, done = browser_runs(base, account_id, args.runs, services)
                line("4a. browser: first text (fake model)", first, title, "record title",
                     "target ≤ 1000 ms")
                line("    browser: briefing complete", done, title, "record title")
    if not args.no_browser:
        with tempfile.TemporaryDirectory() as tmp, \
                running_server(Path(tmp), database_url=args.database_url, demo=False,
                               timeout=300) as (base, _proc):
            title, first, done = browser_runs(base, account_id, args.runs, services)
            line("4b. browser: first text (offline)", first, title, "record title")
            line("    browser: briefing complete (offline)", done, title, "record title",
                 "target < 3000 ms")
    print(json.dumps({"context_p50_ms": round(statistics.median(context), 2),
                      "offline_p50_ms": round(statistics.median(offline), 2)}))


if __name__ == "__main__":
    main()
