"""REST read throughput: HotCRM against a bare FastAPI endpoint doing the same SQL.

Usage: python bench/api.py [--database-url URL] [--seconds 8] [--connections 16]
Starts both servers as subprocesses on loopback, drives each with wrk (one thread, bounded
time) and prints requests/s, p99 and the ratio HotCRM / bare, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from app.auth.tokens import issue_token
from app.core import build_services
from app.objectql import Context

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-key-bench-secret-key-bench-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early: {url}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server did not start: {url}")


def wrk(url: str, token: str | None, seconds: int, connections: int) -> tuple[float, str]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} error responses\n{out}")
    return rps, p99


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url",
                        default=os.environ.get("HOTCRM_DATABASE_URL",
                                               f"sqlite:///{ROOT / 'data' / 'bench.db'}"))
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seed-accounts", type=int, default=2000)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    services = build_services(database_url=args.database_url)
    system = Context.system()
    if services.ql.count(system, "account", cap=1)[0] == 0:
        from app.seed import seed_scale

        seed_scale(services, str(args.seed_accounts), 42)
    accounts = services.ql.count(system, "account", cap=10_000_000)[0]
    rep = services.ql.find_one(system, "user", fields=["id", "role"],
                               filters=[["role", "=", "sales_rep"]])
    assert rep is not None
    account = services.ql.find_one(system, "account", fields=["id"],
                                   filters=[["owner", "=", rep["id"]]])
    assert account is not None
    services.engine.dispose()
    token = issue_token(SECRET, rep["id"], rep["role"], ttl=3600)

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(HOTCRM_DATABASE_URL=args.database_url, HOTCRM_SECRET_KEY=SECRET,
               HOTCRM_DEMO="0", HOTCRM_HOST="127.0.0.1")
    ours_port, bare_port = free_port(), free_port()
    procs = [
        subprocess.Popen([sys.executable, "-m", "app.cli", "run", "--port", str(ours_port)],
                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_api.py"),
                          "--database-url", args.database_url, "--port", str(bare_port)],
                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL),
    ]
    try:
        wait_up(f"http://127.0.0.1:{ours_port}/health", procs[0])
        wait_up(f"http://127.0.0.1:{bare_port}/api/objects/account/x", procs[1])
        print(f"{accounts:,} accounts; wrk -t1 -c{args.connections} -d{args.seconds}s")
        cases = [
            ("GET one account", f"/api/objects/account/{account['id']}",
             f"/api/objects/account/{account['id']}"),
            ("list page (20, by name)",
             "/api/objects/account?fields=name,account_number,industry,type,annual_revenue,"
             "phone,owner&filters=%5B%5B%22owner%22%2C%22%3D%22%2C%22%24user%22%5D%5D"
             "&sort=name&limit=20",
             f"/api/objects/account?owner={rep['id']}"),
        ]
        for name, ours_path, bare_path in cases:
            ours_rps, ours_p99 = wrk(f"http://127.0.0.1:{ours_port}{ours_path}", token,
                                     args.seconds, args.connections)
            bare_rps, bare_p99 = wrk(f"http://127.0.0.1:{bare_port}{bare_path}", None,
                                     args.seconds, args.connections)
            print(f"{name:<26} HotCRM {ours_rps:8.0f} req/s p99 {ours_p99:>8} | bare "
                  f"{bare_rps:8.0f} req/s p99 {bare_p99:>8} | ratio {ours_rps / bare_rps:4.2f}")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
