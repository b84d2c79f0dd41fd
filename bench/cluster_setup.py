"""Prepare the documents bench/cluster.py signs (run inside `odoo-bin shell`).

Creates BENCH_PARTICIPANTS (200) sent requests on a 10-page PDF, one participant each with an
address of its own, and BENCH_IDLE (5) more for the time to the signed copy on an idle
machine. Every invitation is queued (the servers' mail queue sends them during the bench, to
the local SMTP fake on BENCH_SMTP_PORT); the load set's invitations are moved 4 days back so
the reminder job finds them all due while the participants sign. The e-mails of the flow are
kept after sending (no auto-delete) so the checks can count them. The company's seal is made
here, once. Prints one JSON line with the ids and links. Everything is named "bench cluster".
"""

# ruff: noqa: F821 - `env` is given by odoo-bin shell
import base64
import json
import os
import time
from datetime import timedelta

import pymupdf

from odoo import fields

COUNT = int(os.environ.get("BENCH_PARTICIPANTS", "200"))
IDLE = int(os.environ.get("BENCH_IDLE", "5"))
SMTP_PORT = int(os.environ["BENCH_SMTP_PORT"])


def make_pdf(pages):
    doc = pymupdf.open()
    for number in range(1, pages + 1):
        page = doc.new_page()
        page.insert_text((72, 72), f"Cluster agreement - page {number}", fontsize=16)
        for line in range(45):
            page.insert_text(
                (72, 110 + line * 15),
                "Lorem ipsum dolor sit amet, consectetur "
                "adipiscing elit, sed do eiusmod tempor incididunt ut labore.",
                fontsize=9,
            )
        if number == pages:
            page.insert_text((72, 800), "Customer: {{sign:Customer}}", fontsize=10)
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return data


# The servers send through the local fake only.
env["ir.mail_server"].search([]).write({"active": False})
env["ir.mail_server"].create(
    {
        "name": "bench cluster SMTP fake",
        "smtp_host": "127.0.0.1",
        "smtp_port": SMTP_PORT,
        "smtp_encryption": "none",
        "sequence": 1,
    }
)
env["mail.template"].search([("model", "=", "digital.sign.participant")]).auto_delete = False
env.company._digital_sign_get_seal_identity()  # the self-signed seal, made once
# A new database has every scheduled action due: they would all run when the servers start,
# in the middle of the measure. Tomorrow; the bench wakes the ones it races.
env["ir.cron"].search([]).write({"nextcall": fields.Datetime.now() + timedelta(days=1)})
env["ir.cron.trigger"].search([]).unlink()

pdf = base64.b64encode(make_pdf(10))
stamp = time.strftime("%H%M%S")


def new_requests(label, count):
    Request = env["digital.sign.request"]
    requests = Request.browse()
    for number in range(count):
        email = f"bench.cluster.{label}.{number}@example.com"
        partner = env["res.partner"].create(
            {"name": f"bench cluster {label} {number}", "email": email}
        )
        request = Request.create(
            {
                "name": f"bench cluster {label} {stamp} {number}",
                "partner_id": partner.id,
                "original_pdf": pdf,
                "original_filename": "agreement.pdf",
                "participant_ids": [
                    (0, 0, {"name": partner.name, "email": email, "role": "Customer"})
                ],
            }
        )
        request._detect_fields()
        request.action_send()
        requests |= request
    return requests


def describe(requests):
    return [
        {
            "request": r.id,
            "participant": r.participant_ids.id,
            "email": r.participant_ids.email,
            "path": r.participant_ids._get_signing_path(),
            "field": r.field_ids.filtered(lambda f: f.kind == "signature")[:1].id,
        }
        for r in requests
    ]


load = new_requests("load", COUNT)
idle = new_requests("idle", IDLE)
# The load set's reminders are due: invited 4 days ago (first reminder after 3 days).
load.participant_ids.sudo().write({"invited_at": fields.Datetime.now() - timedelta(days=4)})
crons = {
    name: env.ref(f"digital_sign.{name}").id
    for name in ("ir_cron_finalize_documents", "ir_cron_send_reminders")
}
crons["mail_queue"] = env.ref("mail.ir_cron_mail_scheduler_action").id
# Jobs with nothing to do, woken first so that each server's cron worker loads its registry
# before the measure.
warm = [
    env.ref(f"digital_sign.{name}").id
    for name in ("ir_cron_expire_requests", "ir_cron_provider_outbox", "ir_cron_bulk_send")
]
env.cr.commit()
print(
    "BENCH_JSON "
    + json.dumps({"load": describe(load), "idle": describe(idle), "crons": crons, "warm": warm})
)
