"""Prepare the README screenshots of templates and bulk sending (run inside `odoo-bin shell`
on a demo database, served by ./scripts/run).

Makes a 3-page template with its roles, tags and message, and a bulk send of it to 40
contacts (two without an e-mail address) stopped halfway, as a sender finds it when coming
back (the bulk sends' scheduled action is turned off meanwhile). Prints one JSON line: {"template": id, "bulk": id}. Then, for example:

    python bench/screenshot.py http://localhost:8069 template_form.png \
        /odoo/action-digital_sign.digital_sign_template_action/ID --login admin:admin \
        --wait ".o_form_view .o_field_widget[name='role_ids'] .o_data_row"
"""

# ruff: noqa: F821 - `env` is given by odoo-bin shell
import base64
import json

import pymupdf

from odoo import Command


def three_page_pdf():
    doc = pymupdf.open()
    for number in range(1, 4):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 72), "Service agreement", fontsize=18)
        for line in range(25):
            page.insert_text(
                (72, 120 + 20 * line),
                f"{number}.{line + 1} The provider and the "
                "customer agree on the terms of this clause.",
                fontsize=9,
            )
    doc[2].insert_text((72, 700), "Customer: {{sign:Customer}}", fontsize=10)
    doc[2].insert_text((72, 740), "Date: {{date:Customer}}", fontsize=10)
    doc[2].insert_text((330, 700), "For the provider: {{sign:Provider}}", fontsize=10)
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return data


admin = env.ref("base.user_admin")
Tag = env["digital.sign.template.tag"]
tags = Tag.search([("name", "in", ("Services", "Yearly"))]) or Tag.create(
    [{"name": "Services", "color": 4}, {"name": "Yearly", "color": 10}]
)
template = (
    env["digital.sign.template"]
    .with_user(admin)
    .create(
        {
            "name": "Service agreement",
            "pdf": base64.b64encode(three_page_pdf()),
            "pdf_filename": "service_agreement.pdf",
            "validity_days": 14,
            "document_kind": "quote",
            "tag_ids": [Command.set(tags.ids)],
            "message": "<p>Here is our service agreement for the coming year. Thank you!</p>",
        }
    )
)
provider_role = template.role_ids.filtered(lambda role: role.name == "Provider")
provider_role.write({"fill_from": "sender", "signing_order": 2})

contacts = env["res.partner"].create(
    [
        {
            "name": f"Customer {number:02d}",
            "email": False if number in (7, 13) else f"customer{number:02d}@example.com",
        }
        for number in range(1, 41)
    ]
)
# The server's scheduled action would finish it at once: it rests while the shot is taken
# (turn it on again afterwards: Settings > Technical > Scheduled Actions).
env.ref("digital_sign.ir_cron_bulk_send").active = False
bulk = env["digital.sign.bulk"].with_user(admin)._start(template, contacts)
for line in bulk.sudo().line_ids.sorted("sequence")[:22]:
    line._process()
env.cr.commit()
print(json.dumps({"template": template.id, "bulk": bulk.id}))
