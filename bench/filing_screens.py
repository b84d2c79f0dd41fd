"""Prepare the README screenshot of a filed copy (run inside `odoo-bin shell` on a demo
database, served by ./scripts/run).

The demo data files the signed demo documents (demo/digital_sign_filing_demo.xml holds the
folders and the rules). This signs one more document through the flow, for a customer
company, as a sender would see it filed, and prints one JSON line: {"file": id, "folder": the
folder's path}. Then, for example:

    python bench/screenshot.py http://localhost:8069 filed_copy.png \\
        /odoo/action-dms.action_dms_file --login admin:admin \\
        --wait ".o_search_panel" \\
        --click-text ".o_search_panel_label_title|Signed documents" \\
        --click-text ".o_search_panel_label_title|Contracts and quotations" \\
        --click-text ".o_search_panel_label_title|Acme Corporation"
"""

# ruff: noqa: F821 - `env` is given by odoo-bin shell
import base64
import json

import pymupdf

from odoo import Command


def contract_pdf():
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 72), "Maintenance contract 2027", fontsize=18)
    for line in range(20):
        page.insert_text(
            (72, 120 + 20 * line),
            f"{line + 1}. The provider maintains the equipment listed in the annex.",
            fontsize=9,
        )
    page.insert_text((72, 700), "Customer: {{sign:Customer}}", fontsize=10)
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return data


admin = env.ref("base.user_admin")
customer = env.ref("base.res_partner_2")  # Acme Corporation (demo)
contact = customer.child_ids.filtered("email")[:1] or customer
demo = env["digital.sign.demo"]
signature = base64.b64encode(demo._get_signature_png())
request = (
    env["digital.sign.request"]
    .with_user(admin)
    .create(
        {
            "name": "Maintenance contract 2027",
            "partner_id": customer.id,
            "original_pdf": base64.b64encode(contract_pdf()),
            "original_filename": "maintenance_contract.pdf",
            "participant_ids": [
                Command.create(
                    {
                        "partner_id": contact.id,
                        "name": contact.name,
                        "email": contact.email,
                        "role": "Customer",
                    }
                )
            ],
            "copy_recipient_ids": [
                Command.create(
                    {
                        "email": "archive@example.com",
                        "message": "<p>For the customer file.</p>",
                    }
                )
            ],
        }
    )
)
demo._send_requests(request.ids)
demo._sign(request, signature)
filed = request.sudo().filed_file_ids
print(
    json.dumps(
        {
            "request": request.id,
            "file": filed.id,
            "folder": filed.directory_id.complete_name,
            "filing": request.filing_state,
        }
    )
)
env.cr.commit()
