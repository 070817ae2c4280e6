#!/usr/bin/env python3
"""The benchmark harness behind `bash bench/run.sh` (docs/benchmarks.md).

Creates a fresh database, loads bench/load.sql (100 tenants, one of 1,000,000 tickets),
then measures and writes bench/RESULTS.md:
  1. warm handler latency in process (crm-bench: the Lambda's handler code fed API
     Gateway v2 events), each next to its ceiling: the same SQL through pgbench as
     crm_app with row-level security on (bench/ceiling/);
  2. throughput through crm-local with wrk at a few concurrency levels, each next to
     pgbench's at the same concurrency;
  3. the consumer's events per second from a real SQS endpoint into PostgreSQL;
  4. per function: binary and zip size from `cargo lambda build --release`, init time and
     peak RSS over 1,000 invocations under a Runtime API emulator (this file's own).
`--smoke` runs every step on a tiny data set for seconds each (CI): same code, no figure
worth reading, no RESULTS.md.
"""

import argparse
import base64
import http.server
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

from report import render

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SERVER = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB = "crm_bench"
URL = SERVER.rsplit("/", 1)[0] + "/" + DB
BIG = "00000000-0000-7000-8000-000000000001"
SMALL = "00000000-0000-7000-8000-000000000002"
PASSWORD = "bench-password-2026"
PASSWORD_HASH = "$argon2id$v=19$m=19456,t=2,p=1$dns9UeEu22QCIHukYRYozw$GJswA8T2GMiGP59sa5bIu3o1N99gyuQA80gMzjhOkZc"
# glibc keeps freed Argon2 blocks in its arenas unless large blocks are mmapped; the same
# setting is in template.yaml's Globals and env.json.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}

# The webhook the deliveries step posts through.
BENCH_WEBHOOK = "00000000-0000-7000-8000-0000000000aa"

FULL = {
    "tenants": 100, "big_tickets": 1_000_000, "big_customers": 50_000, "small_tickets": 100,
    "iterations": 3000, "warmup": 100, "login_iterations": 100,
    "ceiling_seconds": 10, "load_seconds": 5, "concurrency": [1, 8, 32],
    "events": 5000, "invocations": 1000, "deliveries": 5000, "cost_rounds": 3, "cost_seconds": 6,
}
SMOKE = {
    "tenants": 5, "big_tickets": 2000, "big_customers": 200, "small_tickets": 100,
    "iterations": 20, "warmup": 5, "login_iterations": 2,
    "ceiling_seconds": 1, "load_seconds": 1, "concurrency": [1, 4],
    "events": 50, "invocations": 20, "deliveries": 50, "cost_rounds": 1, "cost_seconds": 1,
}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, text=True, **kwargs)


def psql(sql, db_url=URL):
    out = run(["psql", db_url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql], capture_output=True).stdout
    return out.strip()


class Watcher:
    """One psql connection kept open for a step's polling: a psql process and a backend
    started ten times a second took CPU from what the step measures."""

    def __init__(self, db_url=URL):
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", db_url],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def scalar(self, sql):
        self.proc.stdin.write(sql.rstrip().rstrip(";") + ";\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"psql ended while polling: {sql}")
        return line.strip()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def busy_seconds():
    """CPU time the machine's own work has taken: user, nice, system, irq and softirq. Not
    idle or I/O wait, nor steal (a virtual machine's time the hypervisor gave to another:
    2.6% of this one's since boot on 2026-12-02), nor guest, which user already holds."""
    user, nice, system, _idle, _iowait, irq, softirq = (
        int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid):
    """User and system CPU time of one running process, its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    """CPU time of the harness's children that have ended (wrk, pgbench)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-len(sorted_values) * q // 1))))
    return sorted_values[rank - 1]


class Harness:
    def __init__(self, args):
        self.args = args
        self.p = SMOKE if args.smoke else FULL
        self.profile = "debug" if args.smoke else "release"
        self.bin = ROOT / "target" / self.profile
        self.tmp = Path(tempfile.mkdtemp(prefix="crm-bench-"))
        self.jwt_secret = secrets.token_hex(32)
        self.results = {"latency": [], "throughput": [], "consumer": None, "webhooks": None, "functions": [],
                        "timings": {}}
        self.ids = {}

    # -- set-up -----------------------------------------------------------------------

    def build(self):
        cmd = ["cargo", "build", "-q", "-p", "crm-local", "-p", "crm-bench"]
        if not self.args.smoke:
            cmd.append("--release")
        run(cmd, cwd=ROOT)

    def load(self):
        psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", SERVER)
        psql(f"CREATE DATABASE {DB}", SERVER)
        env = {**os.environ, "DATABASE_URL": URL, "LOG_FORMAT": "pretty", "RUST_LOG": "warn", "JWT_SECRET": self.jwt_secret}
        run([str(self.bin / "crm-local"), "migrate"], env=env, cwd=ROOT)
        p = self.p
        started = time.monotonic()
        run(["psql", URL, "-q", "-v", f"tenants={p['tenants']}", "-v", f"big_tickets={p['big_tickets']}",
             "-v", f"big_customers={p['big_customers']}", "-v", f"small_tickets={p['small_tickets']}",
             "-f", str(BENCH / "load.sql")])
        self.results["timings"]["load_seconds"] = time.monotonic() - started
        # The ceilings' helpers: server-made UUIDv7s and 1,000 ticket ids to get.
        psql("""
            CREATE FUNCTION bench_uuid7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
                SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING
                    substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid $$;
            CREATE TABLE bench_ids AS SELECT row_number() OVER () AS n, id FROM
                (SELECT id FROM tickets WHERE tenant_id = '%s' ORDER BY random() LIMIT 1000) s;
            CREATE UNIQUE INDEX ON bench_ids (n);
            GRANT SELECT ON bench_ids TO crm_app;
            ANALYZE bench_ids;""" % BIG)
        # events/seed.sql's tenant, for the function runs under the Runtime API emulator.
        run(["psql", URL, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(ROOT / "events" / "seed.sql")], capture_output=True)
        ids = self.ids
        ids["get"] = psql("SELECT string_agg(id::text, ',' ORDER BY n) FROM bench_ids").split(",")
        ids["customer"] = psql(f"SELECT id FROM customers WHERE tenant_id = '{BIG}' ORDER BY id LIMIT 1")
        ids["actor"] = psql(f"SELECT id FROM users WHERE tenant_id = '{BIG}' AND role = 'admin'")
        ids["small_actor"] = psql(f"SELECT id FROM users WHERE tenant_id = '{SMALL}' AND role = 'admin'")
        # A page 90% of the way into the tenant: the deep keyset page.
        deep = int(p["big_tickets"] * 0.9)
        ids["deep"] = psql(f"SELECT id FROM tickets WHERE tenant_id = '{BIG}' ORDER BY id DESC OFFSET {deep} LIMIT 1")
        ids["deep_offset"] = deep
        ids["ticket0"] = ids["get"][0]
        # The feed's position 90% of the way in, and the cursor the API would hand out for it.
        txid, position = psql(f"SELECT txid::text, position FROM outbox WHERE tenant_id = '{BIG}' "
                              f"ORDER BY txid, position OFFSET {deep} LIMIT 1").split("|")
        ids["feed_txid"], ids["feed_position"] = txid, position
        ids["feed_deep"] = base64.urlsafe_b64encode(
            b"f1" + int(txid).to_bytes(8, "big") + int(position).to_bytes(8, "big")).decode().rstrip("=")
        self.check_loaded()

    def check_loaded(self):
        """The bulk-computed counters must equal a count of the rows (the stats endpoint
        reads only the counters)."""
        counted = psql(f"SELECT count(*), count(*) FILTER (WHERE status = 'OPEN') FROM tickets WHERE tenant_id = '{BIG}'")
        kept = psql(f"SELECT sum(total_tickets), sum(open) FROM tenant_stats WHERE tenant_id = '{BIG}'")
        if counted != kept:
            sys.exit(f"tenant_stats ({kept}) disagrees with the tickets ({counted})")
        self.results["timings"]["rows"] = int(counted.split("|")[0])

    # -- in-process latency and its ceilings ----------------------------------------

    def latency(self):
        p, ids = self.p, self.ids
        big = {"auth": "big"}
        create_body = {"title": "Printer on fire", "description": "Smoke from tray 2 since this morning",
                       "customerId": ids["customer"], "priority": "HIGH"}
        scenarios = [
            {"name": "create ticket", "function": "tickets-create", **big, "body": create_body, "ceiling": "create"},
            {"name": "list, first page", "function": "tickets-list", **big, "ceiling": "list"},
            {"name": "list, deep keyset page", "function": "tickets-list", **big, "cursor_after": ids["deep"], "ceiling": "list-deep"},
            {"name": "list, status+priority filter", "function": "tickets-list", **big,
             "query": {"status": "OPEN", "priority": "HIGH"}, "ceiling": "list-status"},
            {"name": "list, status filter, deep page", "function": "tickets-list", **big,
             "query": {"status": "OPEN"}, "cursor_after": ids["deep"], "ceiling": "list-deep"},
            {"name": "list, tag filter (1% of tickets)", "function": "tickets-list", **big,
             "query": {"tag": "escalated"}, "ceiling": "list-tag"},
            {"name": "list, breached (2% of tickets)", "function": "tickets-list", **big,
             "query": {"breached": "true"}, "ceiling": "list-breached"},
            {"name": "list, search common term (q=printer)", "function": "tickets-list", **big, "query": {"q": "printer"}},
            {"name": "list, search rare term (q=kerberos)", "function": "tickets-list", **big, "query": {"q": "kerberos"}},
            {"name": "get ticket", "function": "tickets-get", **big, "ids": ids["get"], "ceiling": "get"},
            {"name": "get ticket, tenant quota off", "function": "tickets-get", **big, "ids": ids["get"],
             "ceiling": "get", "quota_off": True},
            {"name": "comment on a ticket", "function": "comments-create", **big, "ids": [ids["ticket0"]],
             "body": {"body": "We are on it.", "public": True}, "ceiling": "comment"},
            {"name": "a ticket's comments, first page", "function": "comments-list", **big, "ids": [ids["ticket0"]],
             "ceiling": "comments"},
            {"name": "event feed, first page", "function": "events-list", **big, "query": {"limit": "100"},
             "ceiling": "feed"},
            {"name": "event feed, 90% in", "function": "events-list", **big,
             "query": {"limit": "100", "after": ids["feed_deep"]}, "ceiling": "feed-deep"},
            {"name": "stats, 1M-ticket tenant", "function": "stats", **big, "ceiling": "stats"},
            {"name": "stats, 100-ticket tenant", "function": "stats", "auth": "small", "ceiling": "stats-small"},
            {"name": "login", "function": "auth-login", "auth": None, "iterations": p["login_iterations"],
             "body": {"email": "agent1@t1.bench.test", "password": PASSWORD}, "ceiling": "password-verify"},
            {"name": "password-verify", "function": "password-verify", "iterations": p["login_iterations"],
             "hash": PASSWORD_HASH, "body": {"password": PASSWORD}},
        ]
        spec = {
            "iterations": p["iterations"], "warmup": p["warmup"],
            "logins": {"big": {"email": "admin@t1.bench.test", "password": PASSWORD},
                       "small": {"email": "admin@t2.bench.test", "password": PASSWORD}},
            "scenarios": [{k: v for k, v in s.items() if k != "ceiling"} for s in scenarios],
        }
        spec_file, out_file = self.tmp / "spec.json", self.tmp / "latency.json"
        spec_file.write_text(json.dumps(spec))
        env = {**os.environ, **self.app_env(), "METRICS_NAMESPACE": "SimpleCRM"}
        # The load's dirty pages written out now, not by a checkpoint in the middle of a p99.
        psql("CHECKPOINT")
        run([str(self.bin / "crm-bench"), str(spec_file), str(out_file)], env=env, stdout=subprocess.DEVNULL)
        measured = {m["name"]: m for m in json.loads(out_file.read_text())}
        for m in measured.values():
            if any(int(status) >= 400 for status in m["statuses"]):
                sys.exit(f"{m['name']}: answers {m['statuses']}: a figure of errors is no figure")
        scripts = list(dict.fromkeys(s["ceiling"] for s in scenarios if s.get("ceiling") not in (None, "password-verify")))
        ceilings = {**self.pgbench_latencies(scripts), "password-verify": measured["password-verify"]}
        for s in scenarios:
            if s["function"] == "password-verify":
                continue
            m = measured[s["name"]]
            self.results["latency"].append({**m, "ceiling": s.get("ceiling"), "ceiling_figures": ceilings.get(s.get("ceiling"))})
        log("latency: " + ", ".join(f"{m['name']} p50 {m['p50_ms']:.3f} ms" for m in self.results["latency"]))

    def pgbench_vars(self):
        ids = self.ids
        data = json.dumps({"before": None, "after": {"title": "Printer on fire", "status": "OPEN", "priority": "HIGH",
                                                     "customerId": ids["customer"], "assigneeId": None}})
        payload = json.dumps({"eventId": ids["ticket0"], "type": "ticket.created", "tenantId": BIG, "ticketId": ids["ticket0"],
                              "actorId": ids["actor"], "occurredAt": "2026-11-25T12:00:00Z", "before": None,
                              "after": json.loads(data)["after"]})
        comment = json.dumps({"eventId": ids["ticket0"], "type": "comment.created", "tenantId": BIG,
                              "ticketId": ids["ticket0"], "actorId": ids["actor"], "actorType": "user",
                              "occurredAt": "2026-11-25T12:00:00Z", "before": None,
                              "after": {"commentId": ids["ticket0"], "public": True, "body": "We are on it."}})
        pairs = {"tenant": BIG, "customer": ids["customer"], "actor": ids["actor"], "small_actor": ids["small_actor"],
                 "cursor": ids["deep"], "feed_txid": ids["feed_txid"], "feed_position": ids["feed_position"],
                 "ticket0": ids["ticket0"], "event_data": data, "event_payload": payload, "comment_payload": comment}
        return [arg for k, v in pairs.items() for arg in ("-D", f"{k}={v}")]

    def run_pgbench(self, args, what, url=URL):
        """pgbench as crm_app (row-level security on) with the data set's variables; any
        failed transaction stops the harness."""
        cmd = ["pgbench", "-n", "-M", "prepared", *self.pgbench_vars(), "-D", f"small_tenant={SMALL}", *args, url]
        out = run(cmd, capture_output=True, env={**os.environ, "PGOPTIONS": "-c role=crm_app"}, cwd=self.tmp).stdout
        failed = re.search(r"number of failed transactions: (\d+)", out)
        if failed and int(failed.group(1)) > 0:
            sys.exit(f"pgbench {what}: {out}")
        return out

    def pgbench(self, script, clients, seconds, url=URL):
        return self.pgbench_counts(script, clients, seconds, url)[0]

    def pgbench_counts(self, script, clients, seconds, url=URL):
        """tps and the number of transactions done."""
        out = self.run_pgbench(["-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
                                "-f", str(self.ceiling_file(script))], script, url)
        done = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
        return float(re.search(r"tps = ([\d.]+)", out).group(1)), done

    def ceiling_file(self, script):
        """The ceiling's SQL as the app sends it for a tenant far from its quota, which a
        container counts in the database in batches, once in a while (shared/src/quota/
        tally.rs): none of the requests the ceiling stands for carries a count. `-counted`:
        as for a tenant near its limits, every request counted ahead of its unit of work,
        in the same round trip and committed on its own (shared/src/db/quota): the count
        goes first in the script's first pipeline, in a transaction of its own (pgbench 15
        has no sync inside a pipeline, so BEGIN and COMMIT stand in for the app's own
        Sync). The consumer is no request and counts nothing."""
        name = script.removesuffix("-counted")
        file = {"stats-small": "stats", "create-unaudited": "create"}.get(name, name)
        sql = (BENCH / "ceiling" / f"{file}.sql").read_text()
        if name == "create-unaudited":
            # The create's own transaction without the request's audit row.
            start = sql.index("INSERT INTO audit_log")
            sql = sql[:start] + sql[sql.index("COMMIT;", start):]
        if name == "stats-small":
            sql = sql.replace(":tenant", ":small_tenant").replace(":actor", ":small_actor")
        if script.endswith("-counted"):
            tenant = ":small_tenant" if name == "stats-small" else ":tenant"
            count = f"BEGIN;\nSELECT now_s, counted, seconds, counts FROM quota_count({tenant}, 10, 1);\nCOMMIT;\n"
            sql = sql.replace("\\startpipeline\n", "\\startpipeline\n" + count, 1)
        file = self.tmp / f"ceiling-{script}.sql"
        file.write_text(sql)
        return file

    def pgbench_latencies(self, scripts):
        """All the ceilings in one pgbench run, each transaction a script drawn at random,
        so they share the machine's moments as crm-bench's interleaved scenarios do. The
        log's fourth field says which script a latency belongs to."""
        files = [self.ceiling_file(script) for script in scripts]
        self.run_pgbench(["-c", "1", "-T", str(self.p["ceiling_seconds"] * len(files)),
                          *[arg for f in files for arg in ("-f", f"{f}@1")],
                          "-l", "--log-prefix", str(self.tmp / "pgbench-latency")], "ceilings")
        samples = {n: [] for n in range(len(scripts))}
        for file in self.tmp.glob("pgbench-latency.*"):
            for line in file.read_text().splitlines():
                fields = line.split()
                samples[int(fields[3])].append(int(fields[2]) / 1000.0)  # microseconds
            file.unlink()
        figures = {}
        for n, script in enumerate(scripts):
            s = sorted(samples[n])
            figures[script] = {"p50_ms": percentile(s, 0.5), "p99_ms": percentile(s, 0.99), "iterations": len(s)}
        return figures

    # -- throughput through crm-local ------------------------------------------------

    def app_env(self):
        # The tenant quota counts as in production but never refuses: the harness sends one
        # tenant's requests as fast as the machine serves them, far below this rate, so a
        # container counts them in the database in batches (shared/src/quota/tally.rs).
        return {"DATABASE_URL": URL, "JWT_SECRET": self.jwt_secret, "LOG_FORMAT": "json", "RUST_LOG": "info",
                "AWS_EC2_METADATA_DISABLED": "true", "TENANT_RATE_PER_SECOND": "10000000"}

    def start_local(self, extra_env=None):
        port = free_port()
        env = {**os.environ, **self.app_env(), "LISTEN_ADDR": f"127.0.0.1:{port}"}
        # Without queues crm-local runs the pipeline in process (README): the outbox straight
        # to the consumer, webhook deliveries and exports likewise.
        for name in ("SQS_QUEUE_URL", "WEBHOOK_QUEUE_URL", "EXPORT_QUEUE_URL", "AWS_ENDPOINT_URL"):
            env.pop(name, None)
        env.update(extra_env or {})
        proc = subprocess.Popen([str(self.bin / "crm-local")], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=open(self.tmp / "crm-local.log", "a"))
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/health", timeout=1)
                return proc, base
            except Exception:
                if proc.poll() is not None:
                    sys.exit(f"crm-local exited: {(self.tmp / 'crm-local.log').read_text()[-2000:]}")
                time.sleep(0.1)
        sys.exit("crm-local did not answer /health")

    def http_login(self, base, email):
        req = urllib.request.Request(base + "/api/v1/auth/login", method="POST",
                                     data=json.dumps({"email": email, "password": PASSWORD}).encode(),
                                     headers={"content-type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=10).read())["accessToken"]

    def throughput(self):
        proc, base = self.start_local()
        try:
            token = self.http_login(base, "admin@t1.bench.test")
            lua = self.tmp / "create.lua"
            body = json.dumps({"title": "Printer on fire", "description": "Smoke from tray 2",
                               "customerId": self.ids["customer"], "priority": "HIGH"})
            lua.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                           'wrk.headers["Content-Type"] = "application/json"\n')
            cases = [
                ("get ticket", f"/api/v1/tickets/{self.ids['ticket0']}", None, "get"),
                ("list, first page", "/api/v1/tickets", None, "list"),
                ("stats, 1M-ticket tenant", "/api/v1/stats", None, "stats"),
                ("create ticket", "/api/v1/tickets", lua, "create"),
            ]
            for name, path, script, ceiling in cases:
                for clients in self.p["concurrency"]:
                    b0, a0, w0 = busy_seconds(), process_cpu_seconds(proc.pid), children_cpu_seconds()
                    rps, p50, p99, non2xx = self.wrk(base + path, token, clients, script)
                    b1, a1, w1 = busy_seconds(), process_cpu_seconds(proc.pid), children_cpu_seconds()
                    done = max(rps * self.p["load_seconds"], 1)
                    cpu = {"app": (a1 - a0) / done * 1000, "wrk": (w1 - w0) / done * 1000,
                           "database": (b1 - b0 - (a1 - a0) - (w1 - w0)) / done * 1000}
                    tps = self.pgbench(ceiling, clients, self.p["load_seconds"])
                    self.results["throughput"].append({"name": name, "clients": clients, "rps": rps, "p50_ms": p50,
                                                       "p99_ms": p99, "non_2xx": non2xx, "ceiling_tps": tps,
                                                       "cpu_ms": cpu})
                    log(f"throughput: {name} c={clients}: {rps:.0f} req/s (pgbench {tps:.0f} tps), non-2xx {non2xx}; "
                        f"CPU ms per request: crm-local {cpu['app']:.3f}, PostgreSQL and the rest {cpu['database']:.3f}")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)

    def wrk(self, url, token, clients, script):
        cmd = ["wrk", "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{self.p['load_seconds']}s", "--latency",
               "-H", f"Authorization: Bearer {token}"]
        if script:
            cmd += ["-s", str(script)]
        out = run([*cmd, url], capture_output=True).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0

        def ms(label):
            value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()
            return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

        return rps, ms("50"), ms("99"), non2xx

    # -- what a create costs the database --------------------------------------------

    # Each variant takes one more part away from POST /tickets' SQL (cumulative): the
    # difference between neighbours is what that part costs. Triggers are switched off and
    # on in place; indexes are dropped in copies of the database.
    NO_TRIGGERS = ("ALTER TABLE tickets DISABLE TRIGGER ALL", "ALTER TABLE ticket_events DISABLE TRIGGER ALL",
                   "ALTER TABLE outbox DISABLE TRIGGER ALL")
    ALL_TRIGGERS = ("ALTER TABLE tickets ENABLE TRIGGER ALL; ALTER TABLE ticket_events ENABLE TRIGGER ALL; "
                    "ALTER TABLE outbox ENABLE TRIGGER ALL")
    CREATE_COST_VARIANTS = [
        ("counted in the database, as for a tenant near its quota", "create-counted", None, ()),
        ("as the app sends it for a tenant far from its quota", "create", None, ()),
        ("without the audit row", "create-unaudited", None, ()),
        ("without the row triggers on tickets (stats and SLA counters, due dates, tags)", "create-unaudited",
         None, ("ALTER TABLE tickets DISABLE TRIGGER USER",)),
        ("without foreign-key checks", "create-unaudited", None, NO_TRIGGERS),
        ("without the trigram search index", "create-unaudited", "search", ()),
        ("without the secondary indexes (lists, SLA, timeline, outbox, feed): primary keys only",
         "create-unaudited", "bare", ()),
    ]
    COST_COPIES = {
        "search": ["DROP INDEX tickets_search_idx"],
        "bare": ["DROP INDEX tickets_search_idx, tickets_status_idx, tickets_priority_idx, tickets_assignee_idx, "
                 "tickets_customer_idx, tickets_sla_stale_idx, ticket_events_ticket_idx, outbox_unpublished_idx, "
                 "outbox_feed_idx"],
    }

    def create_costs(self):
        """The create ceiling at 32 clients with its parts taken away one by one, the
        variants interleaved round by round. Server CPU per transaction: the machine's busy
        time over the run (/proc/stat) less pgbench's own, divided by the transactions."""
        copies = {}
        psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{DB}' AND pid <> pg_backend_pid()",
             SERVER)
        try:
            for copy, statements in self.COST_COPIES.items():
                name = f"{DB}_{copy}"
                psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", SERVER)
                psql(f"CREATE DATABASE {name} TEMPLATE {DB} STRATEGY FILE_COPY", SERVER)
                copies[copy] = SERVER.rsplit("/", 1)[0] + "/" + name
                for statement in [*statements, *self.NO_TRIGGERS]:
                    psql(statement, copies[copy])
            samples = {name: [] for name, *_ in self.CREATE_COST_VARIANTS}
            for _ in range(self.p["cost_rounds"]):
                for name, script, copy, statements in self.CREATE_COST_VARIANTS:
                    for statement in statements:
                        psql(statement)
                    samples[name].append(self.server_cpu_per_tx(script, copies.get(copy, URL)))
                psql(self.ALL_TRIGGERS)
        finally:
            psql(self.ALL_TRIGGERS)
            for copy in self.COST_COPIES:
                psql(f"DROP DATABASE IF EXISTS {DB}_{copy} WITH (FORCE)", SERVER)
        rows = []
        scripts = {name: script for name, script, *_ in self.CREATE_COST_VARIANTS}
        for name, runs in samples.items():
            runs.sort(key=lambda r: r[1])
            tps, cpu_ms = runs[len(runs) // 2]
            rows.append({"variant": name, "script": scripts[name], "tps": tps, "server_cpu_ms": cpu_ms,
                         "runs": len(runs)})
            log(f"create costs: {name}: {tps:.0f} tps, {cpu_ms:.3f} ms server CPU per create")
        self.results["create_costs"] = rows

    def server_cpu_per_tx(self, script, url):
        b0, c0 = busy_seconds(), children_cpu_seconds()
        tps, done = self.pgbench_counts(script, 32, self.p["cost_seconds"], url)
        b1, c1 = busy_seconds(), children_cpu_seconds()
        return tps, (b1 - b0 - (c1 - c0)) / max(done, 1) * 1000

    # -- the consumer ------------------------------------------------------------------

    def consumer(self):
        """A tenth of the events first, unmeasured: the first requests of each kind make
        LocalStack import and set up its handlers (20% slower on 2026-12-02), which SQS in
        AWS never shows a consumer. Then the measured drain from a fresh queue."""
        endpoint, python, kind = self.sqs_endpoint()
        n = self.p["events"]
        self.drain(endpoint, python, max(n // 10, 10))
        elapsed, cpu = self.drain(endpoint, python, n)
        tps = self.pgbench("consumer", 1, self.p["ceiling_seconds"])
        self.results["consumer"] = {"events": n, "seconds": elapsed, "per_second": n / elapsed, "endpoint": kind,
                                    "ceiling_tps": tps, "cpu_s": cpu}
        sqs = cpu["sqs"] if cpu["sqs"] is not None else float("nan")
        log(f"consumer: {n} events in {elapsed:.1f} s = {n / elapsed:.0f}/s from {kind} (pgbench {tps:.0f} tps); "
            f"CPU s: crm-local {cpu['app']:.2f}, SQS endpoint {sqs:.2f}, the rest {cpu['rest']:.2f}")

    def drain(self, endpoint, python, n):
        """n events into a new queue, then crm-local started on it until each is a
        notification: the seconds that took, and the CPU seconds it cost crm-local, the SQS
        endpoint (LocalStack's process; moto's server is not the harness's child) and the
        rest of the machine."""
        queue = run([python, "-c", QUEUE_LOADER, endpoint, str(n), BIG, self.ids["ticket0"]], capture_output=True,
                    env={**os.environ, **AWS_TEST_ENV}).stdout.strip()
        sqs_pid = self.localstack.pid if getattr(self, "localstack", None) else None
        with Watcher() as watch:
            before = int(watch.scalar("SELECT count(*) FROM notifications"))
            started, busy0 = time.monotonic(), busy_seconds()
            sqs0 = process_cpu_seconds(sqs_pid) if sqs_pid else 0.0
            proc, _ = self.start_local({**AWS_TEST_ENV, "SQS_QUEUE_URL": queue, "AWS_ENDPOINT_URL": endpoint,
                                        "RUST_LOG": "warn"})
            try:
                deadline = started + 600
                while int(watch.scalar("SELECT count(*) FROM notifications")) - before < n:
                    if time.monotonic() > deadline:
                        sys.exit("the consumer did not drain the queue in 10 minutes")
                    time.sleep(0.1)
                elapsed = time.monotonic() - started
                app = process_cpu_seconds(proc.pid)
                busy = busy_seconds() - busy0
                sqs = process_cpu_seconds(sqs_pid) - sqs0 if sqs_pid else None
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
        return elapsed, {"app": app, "sqs": sqs, "rest": busy - app - (sqs or 0.0)}

    # -- webhook deliveries --------------------------------------------------------------

    def webhooks(self):
        """Due deliveries of the big tenant, preloaded, posted by crm-local's dispatcher loop
        (no queue: it leases, signs, checks the target and posts each, a few at once) to a
        receiver on loopback that answers 200 at once."""
        n = self.p["deliveries"]
        received = []

        class Receiver(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if b'"bench"' in body:
                    received.append(self.headers.get("webhook-id"))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/hooks"
        # Marked, so events the pipeline fans out to the same endpoint meanwhile are not counted.
        payload = json.dumps({"type": "ticket.created", "timestamp": "2026-11-25T12:00:00Z", "bench": True,
                              "data": {"ticketId": self.ids["ticket0"], "actor": {"type": "user", "id": self.ids["actor"]},
                                       "before": None, "after": {"title": "Printer on fire", "status": "OPEN",
                                                                 "priority": "HIGH", "customerId": self.ids["customer"]}}})
        psql(f"""INSERT INTO webhooks (tenant_id, id, url, events, secret)
                 VALUES ('{BIG}', '{BENCH_WEBHOOK}', '{url}', '{{*}}', 'whsec_{"A" * 43}=');
                 INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_type, payload, next_attempt_at)
                 SELECT '{BIG}', uuid_v7(), '{BENCH_WEBHOOK}', gen_random_uuid(), 'ticket.created',
                        '{payload}'::jsonb, now()
                 FROM generate_series(1, {n})""")
        started = time.monotonic()
        proc, _ = self.start_local({"WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true", "RUST_LOG": "warn"})
        try:
            deadline = started + 60 + n / 10
            with Watcher() as watch:
                while watch.scalar(f"SELECT count(*) FROM webhook_deliveries WHERE webhook_id = '{BENCH_WEBHOOK}' "
                                   "AND status = 'SUCCEEDED' AND payload ? 'bench'") != str(n):
                    if time.monotonic() > deadline:
                        states = psql(f"SELECT status, attempt, error, count(*) FROM webhook_deliveries "
                                      f"WHERE webhook_id = '{BENCH_WEBHOOK}' GROUP BY 1, 2, 3")
                        sys.exit(f"the dispatcher did not deliver in time: {states}\n"
                                 + (self.tmp / "crm-local.log").read_text()[-3000:])
                    time.sleep(0.1)
            elapsed = time.monotonic() - started
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            server.shutdown()
        if len(received) != n or len(set(received)) != n:
            sys.exit(f"the receiver got {len(received)} posts of {len(set(received))} events for {n} deliveries")
        self.results["webhooks"] = {"deliveries": n, "seconds": elapsed, "per_second": n / elapsed}
        log(f"webhooks: {n} deliveries in {elapsed:.1f} s = {n / elapsed:.0f}/s to a loopback receiver")

    # -- tenant export ----------------------------------------------------------------------

    def export(self):
        """The big tenant exported as tenant-export runs it (crm-bench export: one pooled
        connection, pages of 2,000 rows, crm-local's file store under the run's temporary
        folder), in its own process, so its peak RSS is the export's."""
        export_id = psql(f"INSERT INTO tenant_exports (tenant_id, id) VALUES ('{BIG}', uuid_v7()) RETURNING id")
        blobs = self.tmp / "export-blobs"
        env = {**os.environ, **self.app_env(), "RUST_LOG": "warn", "BLOB_DIR": str(blobs)}
        for name in ("SQS_QUEUE_URL", "AWS_ENDPOINT_URL", "EXPORT_QUEUE_URL"):
            env.pop(name, None)
        out = run([str(self.bin / "crm-bench"), "export", BIG, export_id], capture_output=True, env=env, cwd=ROOT).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        written = sum(f.stat().st_size for f in blobs.rglob("*.jsonl"))
        if written != figures["size_bytes"]:
            sys.exit(f"the export says {figures['size_bytes']} bytes, the store holds {written}")
        tickets = int(psql(f"SELECT count(*) FROM tickets WHERE tenant_id = '{BIG}'"))
        self.results["export"] = {**figures, "tickets": tickets}
        shutil.rmtree(blobs, ignore_errors=True)
        log(f"export: {tickets} tickets, {figures['rows']} rows, {figures['size_bytes'] / 1e6:.0f} MB in "
            f"{figures['seconds']:.1f} s, peak RSS {figures['peak_rss_kib'] / 1024:.1f} MiB")

    def sqs_endpoint(self):
        """LocalStack (PyPI, pinned in the harness) for the full run; the moto server of
        scripts/local-sqs for the smoke. Started once per run."""
        if getattr(self, "sqs", None) is None:
            self.sqs = self.start_sqs()
        return self.sqs

    def start_sqs(self):
        tools = Path(os.environ.get("CRM_TOOLS_DIR", Path.home() / ".cache" / "simplecrm-tools"))
        if self.args.smoke or self.args.moto:
            out = run([str(ROOT / "scripts" / "local-sqs")], capture_output=True).stdout
            endpoint = re.search(r"AWS_ENDPOINT_URL=(\S+)", out).group(1)
            return endpoint, str(tools / "moto-venv" / "bin" / "python"), "moto 5.2.5"
        venv = tools / "localstack-venv"
        if not (venv / "bin" / "localstack").exists():
            log("installing LocalStack 4.13.1 from PyPI")
            run([sys.executable, "-m", "venv", str(venv)])
            run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "localstack-core[runtime]==4.13.1",
                 "cbor2<6", "pyopenssl<26", "cryptography<47", "service-identity", "boto3"])
        port = free_port()
        env = {**os.environ, "OVERRIDE_IN_DOCKER": "0", "FILESYSTEM_ROOT": str(self.tmp / "localstack"),
               "GATEWAY_LISTEN": f"127.0.0.1:{port}", "SERVICES": "sqs", "EAGER_SERVICE_LOADING": "1",
               "DISABLE_EVENTS": "1", "SQS_ENDPOINT_STRATEGY": "path", "LOCALSTACK_HOST": f"127.0.0.1:{port}"}
        self.localstack = subprocess.Popen([str(venv / "bin" / "python"), "-m", "localstack.runtime.main"], env=env,
                                           stdout=open(self.tmp / "localstack.log", "w"), stderr=subprocess.STDOUT)
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                health = json.loads(urllib.request.urlopen(endpoint + "/_localstack/health", timeout=1).read())
                if health.get("services", {}).get("sqs") == "running":
                    return endpoint, str(venv / "bin" / "python"), "LocalStack 4.13.1"
            except Exception:
                pass
            time.sleep(0.5)
        sys.exit("LocalStack did not start: " + (self.tmp / "localstack.log").read_text()[-2000:])

    # -- per function ------------------------------------------------------------------

    def functions(self):
        venv_bin = run([str(ROOT / "scripts" / "lambda-tools")], stdout=subprocess.PIPE).stdout.strip()
        env = {**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}"}
        started = time.monotonic()
        # auth-login signs in the admin that auth-verify-email creates from the seed's
        # pending sign-up (events/seed.sql); auth-refresh runs before the password change
        # and reset end the seeded admin's sessions.
        first = ["auth-verify-email", "auth-login", "auth-refresh"]
        names = sorted((f.stem for f in (ROOT / "functions" / "src" / "bin").glob("*.rs")),
                       key=lambda n: (first.index(n) if n in first else len(first), n))
        if self.args.functions:
            names = [n for n in names if n in self.args.functions.split(",")]
        bins = [arg for n in names for arg in ("--bin", n)]
        run(["cargo", "lambda", "build", "--release", "--output-format", "zip", "-p", "crm-functions", *bins], cwd=ROOT, env=env)
        self.results["timings"]["package_build_seconds"] = time.monotonic() - started
        queue_env = self.queue_for_functions()
        env_json = json.loads((ROOT / "env.json").read_text())
        for name in names:
            zipped = ROOT / "target" / "lambda" / name / "bootstrap.zip"
            unpacked = self.tmp / "lambda" / name
            unpacked.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(zipped) as z:
                z.extractall(unpacked)
            binary = unpacked / "bootstrap"
            binary.chmod(0o755)
            figures = RuntimeEmulator(self, name, binary, env_json, queue_env).measure(self.p["invocations"])
            figures.update({"function": name, "zip_bytes": zipped.stat().st_size, "binary_bytes": binary.stat().st_size})
            self.results["functions"].append(figures)
            log(f"{name}: zip {figures['zip_bytes']:,} B, init {figures['init_ms']:.1f} ms, "
                f"peak RSS {figures['peak_rss_kib'] / 1024:.1f} MiB, answers {figures['answers']}")

    def queue_for_functions(self):
        """A fresh queue on this run's endpoint, and an outbox backlog of one sweep (500
        events) instead of the earlier steps' tens of thousands."""
        endpoint, python, _ = self.sqs_endpoint()
        queue = run([python, "-c", QUEUE_LOADER, endpoint, "0", BIG, self.ids["ticket0"]], capture_output=True,
                    env={**os.environ, **AWS_TEST_ENV}).stdout.strip()
        psql("""UPDATE outbox SET published_at = now() WHERE published_at IS NULL AND id NOT IN
                (SELECT id FROM outbox WHERE published_at IS NULL ORDER BY created_at DESC LIMIT 500)""")
        return {**AWS_TEST_ENV, "AWS_ENDPOINT_URL": endpoint, "SQS_QUEUE_URL": queue}

    # -- report ------------------------------------------------------------------------

    def report(self, command, total_seconds):
        (BENCH / "RESULTS.md").write_text(render(self, command, total_seconds))


AWS_TEST_ENV = {"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_EC2_METADATA_DISABLED": "true"}

QUEUE_LOADER = r"""
import json, sys, uuid, boto3
endpoint, n, tenant, ticket = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
url = sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:8]}")["QueueUrl"]
for start in range(0, n, 10):
    entries = [{"Id": str(i), "MessageBody": json.dumps({
        "eventId": str(uuid.uuid4()), "type": "ticket.status_changed", "tenantId": tenant, "ticketId": ticket,
        "actorId": str(uuid.uuid4()), "occurredAt": "2026-11-25T16:00:00Z",
        "before": {"status": "OPEN"}, "after": {"status": "IN_PROGRESS"}})} for i in range(min(10, n - start))]
    sqs.send_message_batch(QueueUrl=url, Entries=entries)
print(url)
"""


class RuntimeEmulator:
    """Just enough of the Lambda Runtime API to run a bootstrap: hands out the function's
    events/ file `invocations` times and collects the answers. Init time is process start
    to the first `next` (the handler's set-up done, no database touched yet); peak RSS is
    the kernel's high-water mark (VmHWM) after the last answer."""

    def __init__(self, harness, name, binary, env_json, queue_env):
        self.harness, self.name, self.binary = harness, name, binary
        event = json.loads((ROOT / "events" / f"{name}.json").read_text())
        self.env = {k: v for k, v in env_json.get("Parameters", {}).items()}
        self.env.update(env_json.get(pascal(name), {}))
        self.queue_env = queue_env
        self.event = event
        self.answers = {}
        self.served = 0
        self.first_next = None
        self.done = threading.Event()

    def measure(self, invocations):
        port = free_port()
        if "ResponseURL" in self.event:
            self.event["ResponseURL"] = f"http://127.0.0.1:{port}/cloudformation-response"
        body = json.dumps(self.event).encode()
        emulator = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes: without this, Nagle and the delayed
            # ACK add 40 ms to every invocation.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def reply(self, status, payload=b"", headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                if not self.path.endswith("/invocation/next"):
                    return self.reply(404)
                if emulator.first_next is None:
                    emulator.first_next = time.monotonic()
                if emulator.served >= invocations:
                    emulator.done.set()
                    time.sleep(3600)
                    return
                emulator.served += 1
                self.reply(200, body, {
                    "Lambda-Runtime-Aws-Request-Id": f"bench-{emulator.served}",
                    "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30_000),
                    "Lambda-Runtime-Invoked-Function-Arn": f"arn:aws:lambda:us-east-1:123456789012:function:{emulator.name}",
                    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
                    "Content-Type": "application/json",
                })

            def do_POST(self):
                payload = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.endswith("/error"):
                    key = "error"
                else:
                    try:
                        answer = json.loads(payload)
                        key = str(answer.get("statusCode", "ok")) if isinstance(answer, dict) else "ok"
                    except ValueError:
                        key = "unparsed"
                emulator.answers[key] = emulator.answers.get(key, 0) + 1
                self.reply(202)

            def do_PUT(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.reply(200)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        env = {
            "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **self.env, **self.queue_env,
            **self.harness.app_env(), **MALLOC_ENV, "METRICS_NAMESPACE": "SimpleCRM",
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}", "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench", "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
        }
        # The events' tokens are signed with env.json's key.
        if "JWT_SECRET" in self.env:
            env["JWT_SECRET"] = self.env["JWT_SECRET"]
        started = time.monotonic()
        proc = subprocess.Popen([str(self.binary)], env=env, stdout=subprocess.DEVNULL,
                                stderr=open(self.harness.tmp / f"{self.name}.stderr", "w"))
        try:
            if not self.done.wait(timeout=600):
                sys.exit(f"{self.name}: {self.served} of {invocations} invocations in 10 minutes")
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
        finally:
            proc.kill()
            proc.wait()
            server.shutdown()
        return {"init_ms": ((self.first_next or started) - started) * 1000, "peak_rss_kib": peak,
                "answers": ", ".join(f"{v}× {k}" for k, v in sorted(self.answers.items()))}


def pascal(name):
    return "".join(part.capitalize() for part in name.split("-")) + "Function"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny data set, seconds per step, no RESULTS.md")
    parser.add_argument("--no-packages", action="store_true", help="skip the per-function packages")
    parser.add_argument("--functions", help="only these packages (comma-separated), e.g. while tuning one")
    parser.add_argument("--moto", action="store_true", help="use scripts/local-sqs (moto) instead of LocalStack")
    parser.add_argument("--keep-db", action="store_true", help=f"leave the {DB} database for a closer look afterwards")
    args = parser.parse_args()
    h = Harness(args)
    started = time.monotonic()
    steps = [("build crm-local and crm-bench", h.build), ("fresh database and data set", h.load),
             ("in-process latency and pgbench ceilings", h.latency), ("throughput: wrk through crm-local", h.throughput),
             ("consumer from SQS", h.consumer), ("webhook deliveries to a loopback receiver", h.webhooks),
             ("tenant export of the big tenant", h.export)]
    # Last: it switches triggers off in place, and copies the database to drop indexes.
    cost_step = ("what a create costs the database", h.create_costs)
    if not args.no_packages and not args.smoke:
        steps.append(("per-function packages, init and peak RSS", h.functions))
    steps.append(cost_step)
    try:
        for name, step in steps:
            t0 = time.monotonic()
            log(f"==> {name}")
            step()
            h.results["timings"][name] = time.monotonic() - t0
            log(f"<== {name}: {time.monotonic() - t0:.0f} s")
        total = time.monotonic() - started
        if args.smoke:
            log(f"smoke passed in {total:.0f} s (no RESULTS.md written)")
        else:
            h.report("bash bench/run.sh" + (" --no-packages" if args.no_packages else ""), total)
            log(f"wrote bench/RESULTS.md in {total:.0f} s")
    finally:
        if getattr(h, "localstack", None):
            h.localstack.terminate()
        if not args.keep_db:
            psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", SERVER)
        shutil.rmtree(h.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
