"""Two Odoo servers on one database: 200 participants signing at once, crons racing.

Run through scripts/bench, which starts the SMTP fake, prepares the documents
(bench/cluster_setup.py), starts two Odoo servers (each --workers=2 with a cron worker, on
their own HTTP ports, one database, one data directory), runs this script, then reads the
checks back from the database (bench/cluster_check.py):
    ./scripts/bench cluster            (BENCH_PARTICIPANTS=50 for a quicker run)

This script, outside Odoo, speaks plain HTTP like a browser:
1. every participant opens their link (GET) on one server;
2. every participant is due for a reminder; once the reminder job has begun, all of them
   click on Sign at once, each submitting on the *other* server (a proxy without sticky
   sessions, which keeps at most --connections requests in flight per server and queues the
   others: Odoo's listen backlog is 8 per worker, and connections past it are reset), while a racer keeps waking the final-document, reminder and mail-queue jobs
   (``ir_cron_trigger`` + ``NOTIFY cron_trigger``), so both servers' cron workers race for
   them, and the servers' own triggers (the final document after the last signature, the
   mail queue after each queued e-mail) come on top;
3. it polls the database until every document is finalised and sealed and every e-mail of
   the flow has left the queue;
4. on the idle machine, it signs BENCH_IDLE more documents one at a time and times the
   signed copy: from the submit's answer until the request has its signed PDF and its seal.

Prints throughput, p50/p95 of the submit, the time to the signed copy under load and idle
(goal: within 2 s for 10 pages on an idle machine), and writes the figures as JSON for the
checks. Figures, not assertions.
"""

import argparse
import base64
import json
import re
import statistics
import threading
import time

import psycopg2
import requests

IDLE_GOAL_S = 2.0


def percentile(values, pct):
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(value):
    return f"{value * 1000:7.0f} ms"


class Participant:
    """One participant's browser: its own session, page opened on one server, submit on
    the other."""

    def __init__(self, entry, open_base, submit_base, signature, gate=None):
        self.entry = entry
        self.open_base = open_base
        self.submit_base = submit_base
        self.signature = signature
        self.gate = gate or threading.Semaphore(1)
        self.session = requests.Session()
        self.payload = None
        self.sent_at = self.answered_at = None
        self.error = None

    def open(self):
        page = self.session.get(self.open_base + self.entry["path"], timeout=120)
        page.raise_for_status()
        csrf = re.search(r'csrf_token: "([^"]+)"', page.text).group(1)
        sha = re.search(r'data-document-sha256="([0-9a-f]+)"', page.text).group(1)
        self.payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {
                "csrf_token": csrf,
                "consent": True,
                "document_sha256": sha,
                "values": {str(self.entry["field"]): self.signature},
            },
        }

    def submit(self):
        """Click on Sign: the time runs from the click, the wait for a connection to the
        server included."""
        self.sent_at = time.perf_counter()
        try:
            with self.gate:
                response = self.session.post(
                    f"{self.submit_base}{self.entry['path']}/submit",
                    json=self.payload,
                    timeout=300,
                )
            self.answered_at = time.perf_counter()
            result = response.json().get("result") or {}
            if result.get("status") != "ok":
                self.error = f"{response.status_code} {response.text[:200]}"
        except Exception as error:  # noqa: BLE001 - counted and printed, the bench goes on
            self.answered_at = time.perf_counter()
            self.error = repr(error)


class CronRacer(threading.Thread):
    """Wakes the given jobs every ``period`` seconds: a trigger row each (what ``_trigger()``
    writes) and one NOTIFY, which every cron worker of both servers hears."""

    def __init__(self, dsn, dbname, cron_ids, period=0.25):
        super().__init__(daemon=True)
        self.db = psycopg2.connect(dsn)
        self.db.autocommit = True
        self.listen_db = psycopg2.connect(dsn.replace(f"dbname={dbname}", "dbname=postgres"))
        self.listen_db.autocommit = True
        self.dbname = dbname
        self.cron_ids = list(cron_ids)
        self.period = period
        self.stopped = threading.Event()
        self.wakes = 0

    def wake(self):
        with self.db.cursor() as cr:
            cr.executemany(
                "INSERT INTO ir_cron_trigger (cron_id, call_at, create_date, write_date) "
                "VALUES (%s, now() at time zone 'UTC', now() at time zone 'UTC', "
                "now() at time zone 'UTC')",
                [(cron_id,) for cron_id in self.cron_ids],
            )
        with self.listen_db.cursor() as cr:
            cr.execute("SELECT pg_notify('cron_trigger', %s)", (self.dbname,))
        self.wakes += 1

    def run(self):
        while not self.stopped.wait(self.period):
            self.wake()

    def stop(self):
        self.stopped.set()
        self.join()
        self.db.close()
        self.listen_db.close()


def ready_requests(cr, request_ids):
    """{request id} whose signed PDF exists and is sealed."""
    cr.execute(
        "SELECT id FROM digital_sign_request WHERE id = ANY(%s) AND finalize_state = 'done' "
        "AND seal_state = 'sealed'",
        (list(request_ids),),
    )
    return {row[0] for row in cr.fetchall()}


def reminders_queued(cr):
    cr.execute("SELECT COUNT(*) FROM mail_mail WHERE digital_sign_purpose = 'reminder'")
    return cr.fetchone()[0]


def outgoing_mails(cr):
    cr.execute("SELECT COUNT(*) FROM mail_mail WHERE state = 'outgoing'")
    return cr.fetchone()[0]


def wait_ready(cr, answered, timeout, interval):
    """Poll until every request of ``answered`` ({request id: answer time}) is ready.

    :return: {request id: seconds from the answer until seen ready}
    """
    seen = {}
    deadline = time.perf_counter() + timeout
    while len(seen) < len(answered) and time.perf_counter() < deadline:
        now = time.perf_counter()
        for request_id in ready_requests(cr, set(answered) - set(seen)):
            seen[request_id] = now - answered[request_id]
        time.sleep(interval)
    return seen


def warm_up(servers, setup, args):
    """Every worker loads its registry on its first job: before the measure, each HTTP
    worker serves pages and each server's cron worker runs a job with nothing to do."""
    started = time.perf_counter()
    for _round in range(3):
        threads = [
            threading.Thread(
                target=requests.get,
                args=(base + setup["load"][0]["path"],),
                kwargs={"timeout": 120},
            )
            for base in servers
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    racer = CronRacer(args.dsn, args.dbname, setup["warm"], period=1.0)
    racer.start()
    deadline = time.perf_counter() + 180
    pending = set(args.logs.split(","))
    while pending and time.perf_counter() < deadline:
        for path in list(pending):
            with open(path, errors="replace") as log:
                if re.search(r"Job '.*' \(\d+\) (fully|partially) done", log.read()):
                    pending.discard(path)
        time.sleep(0.5)
    racer.stop()
    print(f"workers warmed up in {time.perf_counter() - started:.0f} s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", required=True, help="base URLs, comma-separated")
    parser.add_argument("--setup", required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--dbname", required=True)
    parser.add_argument("--signature", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--logs", required=True, help="the servers' log files, comma-separated")
    parser.add_argument(
        "--connections", type=int, default=16, help="requests in flight per server (a proxy)"
    )
    args = parser.parse_args()

    servers = [url.rstrip("/") for url in args.servers.split(",")]
    setup = json.load(open(args.setup))
    signature = (
        "data:image/png;base64," + base64.b64encode(open(args.signature, "rb").read()).decode()
    )
    db = psycopg2.connect(args.dsn)
    db.autocommit = True
    cr = db.cursor()
    warm_up(servers, setup, args)

    load = setup["load"]
    print(
        f"== {len(load)} participants on {len(servers)} Odoo servers "
        f"(--workers=2 and a cron worker each), one database; at most {args.connections} "
        "requests in flight per server, the others queued as by a proxy =="
    )
    # A proxy in front of each server: at most --connections requests in flight to it (Odoo
    # listens with a backlog of 8 per worker; past it, new connections are reset), the
    # others wait in the proxy's queue.
    gates = {base: threading.Semaphore(args.connections) for base in servers}
    participants = []
    for n, entry in enumerate(load):
        submit_base = servers[(n + 1) % len(servers)]
        participants.append(
            Participant(
                entry, servers[n % len(servers)], submit_base, signature, gates[submit_base]
            )
        )
    started = time.perf_counter()
    openers = [threading.Thread(target=p.open) for p in participants]
    for n, thread in enumerate(openers):  # ten at a time: opening is not what is measured
        thread.start()
        if n % 10 == 9:
            for earlier in openers[n - 9 : n + 1]:
                earlier.join()
    for thread in openers:
        thread.join()
    opened = [p for p in participants if p.payload]
    print(
        f"pages opened: {len(opened)}/{len(participants)} in {time.perf_counter() - started:.1f} s"
    )

    go = threading.Event()

    def sign(participant):
        go.wait()
        participant.submit()

    threads = [threading.Thread(target=sign, args=(p,)) for p in opened]
    for thread in threads:
        thread.start()
    racer = CronRacer(args.dsn, args.dbname, setup["crons"].values())
    racer.start()
    # Every participant is due for a reminder: the signatures start once the reminder job
    # has begun, so that it meets them on its way.
    deadline = time.perf_counter() + 60
    while reminders_queued(cr) == 0 and time.perf_counter() < deadline:
        time.sleep(0.05)
    go.set()
    for thread in threads:
        thread.join()
    ok = [p for p in opened if not p.error]
    failed = [p for p in opened if p.error]
    first = min(p.sent_at for p in opened)
    last = max(p.answered_at for p in opened)
    latencies = [p.answered_at - p.sent_at for p in ok]
    print(
        f"signatures: {len(ok)} ok, {len(failed)} refused or failed, in {last - first:.1f} s: "
        f"{len(ok) / (last - first):.1f} signatures/s"
    )
    for p in failed[:5]:
        print(f"  failed: participant {p.entry['participant']}: {p.error}")
    if latencies:
        print(
            f"submit latency: p50 {ms(statistics.median(latencies))}   "
            f"p95 {ms(percentile(latencies, 95))}   max {ms(max(latencies))}"
        )

    answered = {p.entry["request"]: p.answered_at for p in ok}
    ready = wait_ready(cr, answered, timeout=900, interval=0.1)
    all_ready_at = time.perf_counter()
    if ready:
        values = list(ready.values())
        print(
            f"signed copy ready (final PDF + seal), under load: {len(ready)}/{len(answered)}; "
            f"p50 {ms(statistics.median(values))}   p95 {ms(percentile(values, 95))}   "
            f"max {ms(max(values))}"
        )
    # Let the racing jobs drain the queue: signed copies and reminders leave by e-mail.
    deadline = time.perf_counter() + 300
    while outgoing_mails(cr) and time.perf_counter() < deadline:
        time.sleep(0.5)
    racer.stop()
    print(f"reminders queued while the participants signed: {reminders_queued(cr)}")
    print(
        f"crons woken {racer.wakes} times; queue drained "
        f"{time.perf_counter() - all_ready_at:.1f} s after the last signed copy "
        f"({outgoing_mails(cr)} e-mails still outgoing)"
    )

    print("\n== The signed copy on an idle machine (10 pages, one customer at a time) ==")
    time.sleep(5)
    idle_times = []
    idle_errors = []
    for n, entry in enumerate(setup["idle"]):
        base = servers[n % len(servers)]
        participant = Participant(entry, base, base, signature)
        participant.open()
        time.sleep(1)
        participant.submit()
        if participant.error:
            idle_errors.append(participant.error)
            continue
        seen = wait_ready(cr, {entry["request"]: participant.answered_at}, 60, 0.02)
        if entry["request"] in seen:
            idle_times.append(seen[entry["request"]])
        else:
            idle_errors.append(f"request {entry['request']}: no signed copy after 60 s")
    if idle_times:
        print(
            f"submit answered -> signed PDF sealed: median {ms(statistics.median(idle_times))}   "
            f"min {ms(min(idle_times))}   max {ms(max(idle_times))}   "
            f"(n={len(idle_times)}, goal < {IDLE_GOAL_S * 1000:.0f} ms)"
        )
    for error in idle_errors:
        print(f"  idle: {error}")
    deadline = time.perf_counter() + 60
    while outgoing_mails(cr) and time.perf_counter() < deadline:
        time.sleep(0.5)

    json.dump(
        {
            "signed": len(ok),
            "failed": len(failed),
            "seconds": last - first,
            "throughput": len(ok) / (last - first),
            "submit_p50": statistics.median(latencies) if latencies else None,
            "submit_p95": percentile(latencies, 95) if latencies else None,
            "ready_load_p50": statistics.median(ready.values()) if ready else None,
            "ready_load_p95": percentile(list(ready.values()), 95) if ready else None,
            "ready_idle_median": statistics.median(idle_times) if idle_times else None,
            "ready_idle_max": max(idle_times) if idle_times else None,
            "idle_errors": len(idle_errors),
        },
        open(args.out, "w"),
    )


if __name__ == "__main__":
    main()
