"""Prepare the documents bench/portal.py measures (run inside `odoo-bin shell`).

Creates sent requests on 10- and 200-page PDFs (one participant each, so every submit has a
link of its own), times the final document of signed 10- and 200-page requests, and prints
one JSON line with the links and figures. When OCA sign_oca is installed (the bench installs
it from PyPI, for the comparison only), a sign.oca.request on the same 10-page PDF, with one
signer and one signature place, gives its signing page. Everything it creates is named
"bench ...".
"""

# ruff: noqa: F821 - `env` is given by odoo-bin shell
import base64
import json
import os
import statistics
import time

import pymupdf

SUBMITS = int(os.environ.get("BENCH_SUBMITS", "60"))


def make_pdf(pages):
    doc = pymupdf.open()
    for number in range(1, pages + 1):
        page = doc.new_page()
        page.insert_text((72, 72), f"Benchmark agreement - page {number}", fontsize=16)
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


def new_request(pdf, name):
    partner = env["res.partner"].create({"name": name, "email": "bench@example.com"})
    request = env["digital.sign.request"].create(
        {
            "name": name,
            "partner_id": partner.id,
            "original_pdf": base64.b64encode(pdf),
            "participant_ids": [
                (0, 0, {"name": name, "email": "bench@example.com", "role": "Customer"})
            ],
        }
    )
    request._detect_fields()
    request.action_send()
    return request


stamp = time.strftime("%H%M%S")
pdf10, pdf200 = make_pdf(10), make_pdf(200)
page10 = new_request(pdf10, f"bench view 10 {stamp}")
page200 = new_request(pdf200, f"bench view 200 {stamp}")
submits = [new_request(pdf10, f"bench submit {stamp} {n}") for n in range(SUBMITS)]
signature_field = {
    r.id: r.field_ids.filtered(lambda f: f.kind == "signature")[:1].id for r in submits
}
# Documents signed through the page in Chromium, a fresh one per run.
BROWSER_SUBMITS = int(os.environ.get("BENCH_BROWSER_SUBMITS", "5"))
browser_submits = {
    pages: [new_request(pdf, f"bench browser {pages} {stamp} {n}") for n in range(BROWSER_SUBMITS)]
    for pages, pdf in ((10, pdf10), (200, pdf200))
}

# The final document (values + certificate of completion), on real records.
final = {}
for pages, pdf in ((10, pdf10), (200, pdf200)):
    request = new_request(pdf, f"bench final {pages} {stamp}")
    participant = request.participant_ids
    field = request.field_ids.filtered(lambda f: f.kind == "signature")
    png = base64.b64encode(open(os.environ["BENCH_SIGNATURE_PNG"], "rb").read())
    field.sudo().write({"value_image": png, "filled_at": "2026-11-23 10:00:00"})
    participant.sudo().write({"state": "signed", "signed_at": "2026-11-23 10:00:00"})
    request._set_signed()
    times = []
    for _run in range(7 if pages == 10 else 3):
        started = time.perf_counter()
        request._build_final_document()
        times.append(time.perf_counter() - started)
    final[pages] = {"median_s": statistics.median(times), "max_s": max(times)}

# OCA sign_oca's signing page on the same 10-page document, when the bench installed it.
sign_oca = None
if "sign.oca.request" in env:
    oca_partner = env["res.partner"].create(
        {"name": f"bench sign_oca {stamp}", "email": "bench.oca@example.com"}
    )
    oca_request = env["sign.oca.request"].create(
        {
            "name": f"bench sign_oca {stamp}",
            "data": base64.b64encode(pdf10),
            "filename": "agreement.pdf",
            "signer_ids": [
                (
                    0,
                    0,
                    {
                        "partner_id": oca_partner.id,
                        "role_id": env.ref("sign_oca.sign_role_customer").id,
                    },
                )
            ],
        }
    )
    oca_request.add_item(
        {
            "field_id": env.ref("sign_oca.sign_field_signature").id,
            "page": 10,
            "position_x": 10,
            "position_y": 90,
            "width": 30,
            "height": 6,
            "required": True,
        }
    )
    oca_request.action_send()
    sign_oca = oca_request.signer_ids.access_url

quote = env["sale.order"].search([("state", "in", ("draft", "sent"))], limit=1)
env.cr.commit()
print(
    "BENCH_JSON "
    + json.dumps(
        {
            "page10": page10.participant_ids._get_signing_path(),
            "page200": page200.participant_ids._get_signing_path(),
            "submits": [
                [r.participant_ids._get_signing_path(), signature_field[r.id]] for r in submits
            ],
            "quote": quote.get_portal_url() if quote else None,
            "sign_oca": sign_oca,
            "browser_submits": {
                pages: [r.participant_ids._get_signing_path() for r in requests]
                for pages, requests in browser_submits.items()
            },
            "final": final,
        }
    )
)
