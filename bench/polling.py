"""Status polling of 5,000 pending requests against local GetAccept and DocuSign servers.

Run through scripts/bench (inside `odoo-bin shell` on a scratch database):
    ./scripts/bench polling

Prints, per service, the wall time of polling every request once, the SQL queries per request
(goal: at most 3) and the HTTP calls per request (goal: 1, fewer with a changed-since call).
A fraction of the documents change status between runs, so the changed path is measured too.
Everything it creates is named "bench polling ..." and is rolled back at the end.
"""

# ruff: noqa: F821 - `env` is given by odoo-bin shell
import os
import time
from datetime import UTC, datetime, timedelta

from odoo import fields, sql_db

from odoo.addons.digital_sign.engine.providers import TOKEN_CACHE
from odoo.addons.digital_sign.engine.testing.fake_docusign import FakeDocuSign
from odoo.addons.digital_sign.engine.testing.fake_getaccept import FakeGetAccept

COUNT = int(os.environ.get("BENCH_REQUESTS", "5000"))
CHANGED = 0.05  # share of documents whose status changed since the last poll


def seed_requests(provider, references):
    """Requests already out with the service (as the outbox leaves them), created in bulk."""
    Request = env["digital.sign.request"].with_context(tracking_disable=True, mail_notrack=True)
    deadline = fields.Datetime.now() + timedelta(days=30)
    requests = Request.create(
        [
            {
                "name": f"bench polling {provider.code} {n}",
                "provider_id": provider.id,
                "state": "sent",
                "provider_reference": reference,
                "provider_sync_state": "sent",
                "provider_status": "sent",
                "deadline": deadline,
                "participant_ids": [
                    (
                        0,
                        0,
                        {
                            "name": f"Signer {n}",
                            "email": f"s{n}@example.com",
                            "role": "Customer",
                            "state": "sent",
                        },
                    )
                ],
            }
            for n, reference in enumerate(references)
        ]
    )
    env.flush_all()
    return requests


def run_poll(provider, fake, requests, method):
    Request = env["digital.sign.request"]
    fake.reset_calls()
    queries_before = sql_db.sql_counter
    started = time.perf_counter()
    if method == "each":
        # the cron's loop: batches of 100 until every request was checked
        remaining = len(requests)
        while remaining > 0:
            provider._poll_each()
            env.flush_all()
            remaining = Request.search_count(provider._get_poll_domain())
    else:
        provider._poll_changed_since()
        env.flush_all()
    wall = time.perf_counter() - started
    queries = sql_db.sql_counter - queries_before
    return wall, queries, fake.total_calls


def report(name, count, wall, queries, calls):
    print(
        f"{name:44s} wall {wall:6.2f} s   {queries / count:5.2f} SQL/request   "
        f"{calls / count:6.4f} HTTP calls/request ({calls} calls, {count} requests)"
    )


def main():
    ICP = env["ir.config_parameter"].sudo()
    TOKEN_CACHE.clear()
    print(f"== Polling {COUNT} pending requests ==")
    # --- GetAccept: no changed-since listing, one status call per request ---
    getaccept = FakeGetAccept(api_tokens=("bench",)).start()
    try:
        ICP.set_param("digital_sign.getaccept.api_url", getaccept.base_url)
        provider = env["digital.sign.provider"].create(
            {
                "name": "bench polling GetAccept",
                "code": "getaccept",
                "state": "test",
                "getaccept_api_token": "bench",
            }
        )
        references = getaccept.seed_documents(COUNT, status="sent")
        requests = seed_requests(provider, references)
        env["ir.config_parameter"].sudo().set_param("digital_sign.cron_batch_size", 100)
        wall, queries, calls = run_poll(provider, getaccept, requests, "each")
        report("GetAccept, unchanged (one GET each)", COUNT, wall, queries, calls)
        for reference in references[: int(COUNT * CHANGED)]:
            getaccept.set_status(reference, "viewed")
        requests.write({"last_checked_at": fields.Datetime.now() - timedelta(hours=1)})
        env.flush_all()
        wall, queries, calls = run_poll(provider, getaccept, requests, "each")
        report(f"GetAccept, {int(CHANGED * 100)}% changed", COUNT, wall, queries, calls)
    finally:
        getaccept.stop()
    # --- DocuSign: one changed-since listing per run ---
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    docusign = FakeDocuSign(
        integration_key="ik", user_id="uid", public_key=key.public_key()
    ).start()
    try:
        ICP.set_param("digital_sign.docusign.api_url", docusign.base_url)
        ICP.set_param("digital_sign.docusign.oauth_base_url", docusign.oauth_base_url)
        provider = env["digital.sign.provider"].create(
            {
                "name": "bench polling DocuSign",
                "code": "docusign",
                "state": "test",
                "docusign_integration_key": "ik",
                "docusign_user_id": "uid",
                "docusign_account_id": docusign.account_id,
                "docusign_private_key": pem,
            }
        )
        long_ago = datetime.now(UTC) - timedelta(days=1)
        references = docusign.seed_envelopes(COUNT, status="sent", changed_at=long_ago)
        requests = seed_requests(provider, references)
        provider.last_poll_at = fields.Datetime.now() - timedelta(minutes=30)
        for reference in references[: int(COUNT * CHANGED)]:
            docusign.set_status(reference, "delivered")
        wall, queries, calls = run_poll(provider, docusign, requests, "changed")
        report(
            f"DocuSign, changed-since, {int(CHANGED * 100)}% changed", COUNT, wall, queries, calls
        )
    finally:
        docusign.stop()
    env.cr.rollback()


main()
