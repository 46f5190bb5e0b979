"""Apply "add a field to account" live on a large database, while requests are served.

Usage: python bench/metadata.py [--database-url URL] [--seed-accounts N] [--seconds S]
Needs a seeded database (`hotcrm seed --scale large`: 100k accounts, 1M activities); with
--seed-accounts N it seeds N accounts (and the large-scale ratios) first when it is empty.

What it prints:
- the apply, end to end: `studio.save_object` (loader checks, data-safety checks, schema
  sync, version row, registry swap, cache rebuild) until a read naming the new field
  succeeds — best, median and worst of --applies runs (each adds one field, the last run's
  fields are then hidden by a revert);
- the requests served meanwhile by --workers threads (a rep's account list page, one
  account, a count, an update of an account): errors, and their max / p99 latency during
  the applies against a baseline phase of the same length in the same run;
- the CPU time of the applying thread, and the garbage collector's pauses per phase: a
  full collection stops every thread (it holds the GIL), so its longest pause bounds
  the request max from below.

The process is set up as `hotcrm serve` sets itself up (app/server.py): after start-up
everything alive is frozen out of the collector's passes (`--no-gc-freeze`: not).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from app.core import build_services
from app.objectql import Context

SYSTEM = Context.system()


class Load:
    """Worker threads issuing requests; latencies and errors recorded per phase."""

    def __init__(self, calls: list[Callable[[], Any]], workers: int):
        self.calls, self.workers = calls, workers
        self.phase = "warmup"
        self.samples: dict[str, list[float]] = {}
        self.errors: dict[str, list[str]] = {}
        self.slowest: dict[str, list[float]] = {}
        self.gc_pauses: dict[str, list[tuple[int, float]]] = {}  # (generation, ms)
        self._gc_started = 0.0
        gc.callbacks.append(self._gc)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(workers)]

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            elapsed = (time.perf_counter() - self._gc_started) * 1000
            self.gc_pauses.setdefault(self.phase, []).append((info["generation"], elapsed))

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self, seed: int) -> None:
        rnd = random.Random(seed)
        while not self._stop.is_set():
            index = rnd.randrange(len(self.calls))
            call = self.calls[index]
            phase = self.phase
            started = time.perf_counter()
            try:
                call()
            except Exception as exc:  # what the bench is looking for
                with self._lock:
                    self.errors.setdefault(phase, []).append(f"{type(exc).__name__}: {exc}")
            elapsed = (time.perf_counter() - started) * 1000
            with self._lock:
                self.samples.setdefault(phase, []).append(elapsed)
                kind = self.slowest.setdefault(phase, [0.0] * len(self.calls))
                kind[index] = max(kind[index], elapsed)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("HOTCRM_DATABASE_URL"))
    parser.add_argument("--seed-accounts", type=int, default=0)
    parser.add_argument("--applies", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0,
                        help="length of the baseline phase")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="leave the start-up objects to the collector (unlike the server)")
    args = parser.parse_args()
    services = build_services(database_url=args.database_url)
    ql, studio = services.ql, services.studio
    if args.seed_accounts and ql.count(SYSTEM, "account", cap=1)[0] == 0:
        from app.seed import seed_scale

        seed_scale(services, str(args.seed_accounts), 42)
    counts = {o: ql.count(SYSTEM, o, cap=100_000_000)[0]
              for o in ("account", "contact", "opportunity", "activity")}
    print(f"database: {services.engine.dialect.name}; rows: "
          + ", ".join(f"{n:,} {o}" for o, n in counts.items())
          + f"; load average {os.getloadavg()[0]:.1f}")
    rep = services.identities.context_for(ql.find_one(
        SYSTEM, "user", fields=["id"], filters=[["role", "=", "sales_rep"]])["id"])
    ids = [r["id"] for r in ql.find(SYSTEM, "account", fields=["id"], limit=200).records]
    rnd = random.Random(7)
    calls: list[Callable[[], Any]] = [
        lambda: ql.find(rep, "account", view="all", limit=25, with_total=True),
        lambda: ql.get(SYSTEM, "account", rnd.choice(ids)),
        lambda: ql.count(rep, "opportunity"),
        lambda: ql.update(SYSTEM, "account", rnd.choice(ids),
                          {"description": f"bench {time.time()}"}),
    ]
    stamp = int(time.time())
    start_version = studio.version()
    if args.gc_freeze:  # as app/server.py does before serving
        gc.collect()
        gc.freeze()

    def apply(i: int, tag: str) -> float:
        name = f"bench_{stamp}_{tag}{i}"
        doc = studio.object_document("account")
        doc["fields"][name] = {"type": "text", "label": f"Bench {i}", "max_length": 80}
        started, cpu = time.perf_counter(), time.thread_time()
        studio.save_object(SYSTEM, "account", doc, base_version=studio.version(),
                           comment="bench/metadata.py")
        ql.find(rep, "account", fields=["name", name], limit=1)  # served with the field
        cpu_times.append(time.thread_time() - cpu)
        return time.perf_counter() - started

    cpu_times: list[float] = []

    alone = [apply(i, "alone") for i in range(2)]  # no concurrent requests
    load = Load(calls, args.workers)
    load.start()
    time.sleep(1.0)  # warm up
    load.phase = "baseline"
    time.sleep(args.seconds)
    load.phase = "apply"
    durations: list[float] = []
    for i in range(args.applies):
        durations.append(apply(i, "load"))
        time.sleep(0.3)
    time.sleep(0.5)
    load.phase = "after"
    time.sleep(0.5)
    load.stop()
    studio.revert(SYSTEM, start_version, comment="bench/metadata.py clean-up")
    base, during = load.samples.get("baseline", []), load.samples.get("apply", [])
    print(f"apply 'add a field to account' end to end ({len(durations)} runs): best "
          f"{min(durations):.3f} s, median {statistics.median(durations):.3f} s, worst "
          f"{max(durations):.3f} s (target <= 1 s)")
    print(f"  the same without concurrent requests: {', '.join(f'{d:.3f} s' for d in alone)}")
    print(f"  CPU time of the applying thread: median "
          f"{statistics.median(cpu_times[2:]) * 1000:.0f} ms under load, "
          f"{', '.join(f'{c * 1000:.0f}' for c in cpu_times[:2])} ms alone; gc.freeze "
          f"{'on' if args.gc_freeze else 'off'}")
    print(f"requests during the applies: {len(during)}, errors "
          f"{len(load.errors.get('apply', []))}; max {max(during):.1f} ms, p99 "
          f"{pct(during, .99):.1f} ms, p50 {pct(during, .5):.1f} ms")
    print(f"baseline (same run, {args.seconds:.0f} s, no apply): {len(base)} requests, errors "
          f"{len(load.errors.get('baseline', []))}; max {max(base):.1f} ms, p99 "
          f"{pct(base, .99):.1f} ms, p50 {pct(base, .5):.1f} ms")
    print(f"ratio during/baseline: max {max(during) / max(base):.2f}x, p99 "
          f"{pct(during, .99) / pct(base, .99):.2f}x; max increase "
          f"{max(during) - max(base):+.1f} ms")
    kinds = ("list page", "get", "count", "update")
    for phase in ("baseline", "apply"):
        worst = load.slowest.get(phase, [])
        print(f"  slowest per request kind ({phase}): "
              + ", ".join(f"{k} {v:.0f} ms" for k, v in zip(kinds, worst, strict=False)))
    for phase in ("baseline", "apply"):
        pauses = load.gc_pauses.get(phase, [])
        full = [ms for generation, ms in pauses if generation == 2]
        print(f"  garbage collector ({phase}): {len(pauses)} passes, longest "
              f"{max((ms for _, ms in pauses), default=0):.1f} ms; full passes {len(full)}, "
              f"longest {max(full, default=0):.1f} ms")
    for phase, errors in load.errors.items():
        for error in errors[:5]:
            print(f"  error ({phase}): {error}")
    services.close()


if __name__ == "__main__":
    main()
