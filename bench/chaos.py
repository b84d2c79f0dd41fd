"""1,000 requests sent and followed through a signature service that fails 30 % of its calls.

Run through scripts/bench (inside `odoo-bin shell` on a scratch database):
    ./scripts/bench chaos            (BENCH_REQUESTS=200 for a quicker run)

The local GetAccept fake answers 30 % of the calls, at random, with 500, 503, 429 (Retry-After
1 s), a late answer (past the client's read timeout), a 200 that is not JSON, an answer cut
short after the work was done, or no answer. The real outbox and poller run in rounds; between
two rounds the clock "moves on" (each next try set by a failure is moved into the past). Then
the service recovers and the same jobs run until nothing is due.

Prints: envelopes made (duplicates and missing: goal 0), status changes delivered and lost
(goal 0), HTTP calls per request, rounds needed, faults served. The jobs commit as they go
(as scheduled actions do): run it on the bench's scratch database only.
"""

# ruff: noqa: F821 - `env` is given by odoo-bin shell
import collections
import os
import time
from datetime import timedelta

import pymupdf

from odoo import fields

from odoo.addons.digital_sign.engine.providers import TOKEN_CACHE
from odoo.addons.digital_sign.engine.testing.fake_getaccept import FakeGetAccept

COUNT = int(os.environ.get("BENCH_REQUESTS", "1000"))
RATE = float(os.environ.get("BENCH_FAILURE_RATE", "0.3"))
MAX_ROUNDS = 40


def one_page_pdf():
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Agreement")
    data = doc.tobytes()
    doc.close()
    return data


def seed_requests(provider):
    """Requests just sent (as action_send leaves them: waiting for the outbox)."""
    import base64

    pdf = base64.b64encode(one_page_pdf())
    Request = env["digital.sign.request"].with_context(tracking_disable=True, mail_notrack=True)
    deadline = fields.Datetime.now() + timedelta(days=30)
    requests = Request.create(
        [
            {
                "name": f"bench chaos {n}",
                "provider_id": provider.id,
                "original_pdf": pdf,
                "original_filename": "agreement.pdf",
                "deadline": deadline,
                "participant_ids": [
                    (
                        0,
                        0,
                        {"name": f"Signer {n}", "email": f"s{n}@example.com", "role": "Customer"},
                    )
                ],
            }
            for n in range(COUNT)
        ]
    )
    requests.write({"state": "sent", "provider_sync_state": "to_send"})
    env.flush_all()
    return requests


def clock_moves_on(requests, provider):
    past = fields.Datetime.now() - timedelta(seconds=1)
    env.cr.execute(
        "UPDATE digital_sign_request SET provider_next_check_at = %s, "
        "last_checked_at = %s WHERE id = ANY(%s)",
        (past, past - timedelta(days=1), requests.ids),
    )
    requests.invalidate_recordset(["provider_next_check_at", "last_checked_at"])
    provider.blocked_until = False
    env.flush_all()


def run_rounds(job, done, requests, provider):
    """Run ``job`` until ``done()`` or MAX_ROUNDS; each round runs it until nothing is due."""
    for number in range(1, MAX_ROUNDS + 1):
        job()
        env.flush_all()
        if done():
            return number
        clock_moves_on(requests, provider)
    return MAX_ROUNDS


def main():
    TOKEN_CACHE.clear()
    ICP = env["ir.config_parameter"].sudo()
    ICP.set_param("digital_sign.http_read_timeout", 1)
    ICP.set_param("digital_sign.cron_batch_size", COUNT)
    fake = FakeGetAccept(api_tokens=("bench",)).start()
    Provider = env["digital.sign.provider"]
    try:
        ICP.set_param("digital_sign.getaccept.api_url", fake.base_url)
        provider = Provider.create(
            {
                "name": "bench chaos GetAccept",
                "code": "getaccept",
                "state": "test",
                "getaccept_api_token": "bench",
            }
        )
        requests = seed_requests(provider)
        print(f"== {COUNT} requests, a service failing {RATE:.0%} of its calls ==")

        # --- sending: the outbox under failures, then after the service recovers ---
        fake.chaos(RATE, seed=20261202, retry_after=1, slow_seconds=1.5)
        started = time.perf_counter()
        sent = lambda: all(r.provider_sync_state == "sent" for r in requests)  # noqa: E731
        rounds = run_rounds(Provider._cron_provider_outbox, sent, requests, provider)
        fake.clear_faults()
        recovery = run_rounds(Provider._cron_provider_outbox, sent, requests, provider)
        wall = time.perf_counter() - started
        per_reference = collections.Counter(d["external_id"] for d in fake.documents.values())
        duplicates = sum(n - 1 for n in per_reference.values())
        missing = len(requests.filtered(lambda r: r.provider_sync_state != "sent"))
        calls = fake.total_calls
        print(
            f"sending   {wall:7.1f} s  rounds {rounds} (+{recovery} after recovery)  "
            f"envelopes {len(per_reference)}  duplicates {duplicates}  missing {missing}  "
            f"{calls / COUNT:.2f} HTTP calls/request"
        )
        faults = dict(fake.faults_served)

        # --- status: every document signed at the service; the poller under failures ---
        for request in requests.filtered("provider_reference"):
            fake.set_status(request.provider_reference, "signed")
        fake.reset_calls()
        fake.faults_served.clear()
        clock_moves_on(requests, provider)
        fake.chaos(RATE, seed=20261203, retry_after=1, slow_seconds=1.5)
        started = time.perf_counter()
        signed = lambda: all(r.state == "signed" for r in requests)  # noqa: E731
        rounds = run_rounds(Provider._cron_poll_provider_status, signed, requests, provider)
        fake.clear_faults()
        recovery = run_rounds(Provider._cron_poll_provider_status, signed, requests, provider)
        wall = time.perf_counter() - started
        delivered = len(requests.filtered(lambda r: r.state == "signed"))
        events = env["digital.sign.event"].search_count(
            [("request_id", "in", requests.ids), ("event_type", "=", "signed")]
        )
        print(
            f"status    {wall:7.1f} s  rounds {rounds} (+{recovery} after recovery)  "
            f"delivered {delivered}  lost {COUNT - delivered}  signature events {events} "
            f"(expected {COUNT})  {fake.total_calls / COUNT:.2f} HTTP calls/request"
        )
        for kind, count in sorted((collections.Counter(faults) + fake.faults_served).items()):
            print(f"  faults served: {kind:10s} {count}")
    finally:
        fake.stop()
        env.cr.rollback()


main()
