"""Scale-out throughput: REST reads through HAProxy with 1, 2 and 4 HotCRM processes on one
database, with and without Redis, and the scaling efficiency against one process measured
in the same run.

Usage: python bench/scaleout.py --database-url URL [--accounts 20000] [--seconds 8]
       [--connections 16] [--processes 1,2,4]
The database is seeded with `--accounts` accounts (and their related records) when it is
empty. Needs haproxy, wrk and redis-server (Debian packages). Everything runs on loopback
and is stopped at the end.
"""

from __future__ import annotations

import argparse
import re
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from app.auth.tokens import issue_token
from app.config import Settings
from app.core import build_services
from app.devserver import free_port, running_server
from app.objectql import Context
from app.seed import seed_scale

ROOT = Path(__file__).resolve().parents[1]
HAPROXY = """
global
    maxconn 4000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
frontend web
    bind 127.0.0.1:{port}
    default_backend hotcrm
backend hotcrm
    balance roundrobin
{servers}
"""
PATHS_LUA = """
local paths = {{}}
for line in io.lines("{paths}") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = (i % #paths) + 1
  return wrk.format("GET", paths[i], {{["Authorization"] = "Bearer {token}"}})
end
"""


def prepare(database_url: str, accounts: int) -> tuple[list[str], str, str]:
    services = build_services(Settings(database_url=database_url,
                                       metadata_dir=ROOT / "metadata"))
    system = Context.system()
    if services.ql.count(system, "account", cap=1)[0] == 0:
        print(f"seeding {accounts:,} accounts ...", flush=True)
        seed_scale(services, str(accounts), 42)
    rep = services.ql.find(system, "user", fields=["id", "role"],
                           filters=[["role", "=", "sales_rep"]], limit=1).records[0]
    ids = [r["id"] for r in services.ql.find(
        system, "account", fields=["id"], filters=[["owner", "=", rep["id"]]],
        limit=1000).records]
    secret = secrets.token_urlsafe(48)
    token = issue_token(secret, rep["id"], rep["role"], ttl=3600)
    services.close()
    return [f"/api/objects/account/{i}" for i in ids], token, secret


def measure(proxy: str, lua: Path, seconds: int, connections: int) -> tuple[float, float]:
    subprocess.run(["wrk", "-t2", f"-c{connections}", "-d2s", "-s", str(lua), proxy],
                   capture_output=True, check=False)  # warm-up, not measured
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", str(lua), proxy], capture_output=True, text=True,
                         check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return rps, float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")


def run_setup(n: int, redis_url: str | None, args: argparse.Namespace, secret: str,
              lua: Path, work: Path) -> tuple[float, float]:
    with ExitStack() as stack:
        servers = []
        for i in range(n):
            data = work / f"p{n}-{i}-{'r' if redis_url else 'n'}"
            data.mkdir()
            env = {"HOTCRM_SECRET_KEY": secret, "HOTCRM_INSTANCE": f"p{i}"}
            if redis_url:
                env["HOTCRM_REDIS_URL"] = redis_url
            url, _ = stack.enter_context(running_server(
                data, database_url=args.database_url, demo=False, extra_env=env))
            servers.append(url.removeprefix("http://"))
        port = free_port()
        config = work / f"haproxy-{n}-{bool(redis_url)}.cfg"
        config.write_text(HAPROXY.format(port=port, servers="\n".join(
            f"    server s{i} {address}" for i, address in enumerate(servers))))
        proxy = subprocess.Popen(["haproxy", "-db", "-f", str(config)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack.callback(proxy.wait, 10)
        stack.callback(proxy.terminate)
        time.sleep(0.5)
        return measure(f"http://127.0.0.1:{port}", lua, args.seconds, args.connections)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--processes", default="1,2,4")
    args = parser.parse_args()
    paths, token, secret = prepare(args.database_url, args.accounts)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        (work / "paths.txt").write_text("\n".join(paths) + "\n")
        lua = work / "paths.lua"
        lua.write_text(PATHS_LUA.format(paths=work / "paths.txt", token=token))
        redis_port = free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind",
                                  "127.0.0.1", "--save", "", "--appendonly", "no"],
                                 stdout=subprocess.DEVNULL)
        stack.callback(redis.wait, 10)
        stack.callback(redis.terminate)
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        counts = [int(n) for n in args.processes.split(",")]
        rows = []
        for with_redis in (False, True):
            for n in counts:
                rps, p99 = run_setup(n, redis_url if with_redis else None, args, secret,
                                     lua, work)
                rows.append((n, with_redis, rps, p99))
                print(f"  {n} process(es), redis {'on ' if with_redis else 'off'}: "
                      f"{rps:,.0f} req/s, p99 {p99:.1f} ms", flush=True)
    base = {r: next(rps for n, rr, rps, _ in rows if n == counts[0] and rr == r)
            for r in (False, True)}
    print("\n| processes | Redis | req/s | p99 ms | vs 1 process | efficiency |")
    print("|---|---|---|---|---|---|")
    for n, with_redis, rps, p99 in rows:
        ratio = rps / base[with_redis]
        print(f"| {n} | {'on' if with_redis else 'off'} | {rps:,.0f} | {p99:.1f} | "
              f"{ratio:.2f}x | {ratio / (n / counts[0]):.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
