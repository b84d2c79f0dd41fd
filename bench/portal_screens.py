"""Prepare the customer portal's README screenshots (run inside `odoo-bin shell` on a demo
database, served by ./scripts/run).

The demo portal user (login `portal`) gets a quotation out for digital signature, a signed
service agreement and an agreement they signed that waits for a cosigner. Prints one JSON
line: {"order": id}. Then, for example:

    python bench/screenshot.py http://localhost:8069 portal_home.png /my/home \
        --login portal:portal --wait ".o_digital_sign_home_to_sign"
"""

# ruff: noqa: F821 - `env` is given by odoo-bin shell
import base64
import json

from odoo import Command

from odoo.addons.digital_sign.models.digital_sign_request import _demo_signature_png

SIGNATURE = "data:image/png;base64," + base64.b64encode(_demo_signature_png()).decode()

portal_user = env.ref("base.demo_user0")
customer = portal_user.partner_id
salesperson = env.ref("base.user_admin")
products = env["product.product"].search(
    [("sale_ok", "=", True), ("list_price", ">", 0)], limit=3, order="id"
)


def sign(participant):
    request = participant.request_id
    participant._mark_viewed()
    mine = request.field_ids.filtered(lambda f: f.participant_id == participant)
    values = {str(f.id): SIGNATURE for f in mine if f.kind in ("signature", "initials")}
    values.update({str(f.id): True for f in mine if f.kind == "checkbox"})
    result = participant._submit(
        values,
        True,
        request.original_sha256,
        ip="192.0.2.20",
        user_agent="Mozilla/5.0 (screenshots)",
    )
    assert result["status"] == "ok", result


# A quotation out for digital signature, as a salesperson sends it.
order = (
    env["sale.order"]
    .with_user(salesperson)
    .create(
        {
            "partner_id": customer.id,
            "user_id": salesperson.id,
            "order_line": [
                Command.create({"product_id": product.id, "product_uom_qty": 2})
                for product in products
            ],
        }
    )
)
wizard = (
    env["digital.sign.request.send"]
    .with_user(salesperson)
    .create({"res_model": "sale.order", "res_id": order.id})
)
wizard._create_request().action_send()

# A signed service agreement, and one that waits for a cosigner.
pdf = env.ref("digital_sign.demo_request_service_agreement")._get_original_bytes()
cosigner = env.ref("digital_sign.demo_partner_cosigner")
for name, with_cosigner in (
    ("Maintenance agreement 2027", False),
    ("Service agreement with cosigner", True),
):
    participants = [
        Command.create(
            {
                "partner_id": customer.id,
                "name": customer.name,
                "email": customer.email,
                "role": "Customer",
                "signing_order": 1,
            }
        )
    ]
    if with_cosigner:
        participants.append(
            Command.create(
                {
                    "partner_id": cosigner.id,
                    "name": cosigner.name,
                    "email": cosigner.email,
                    "role": "Cosigner",
                    "signing_order": 2,
                }
            )
        )
    request = (
        env["digital.sign.request"]
        .with_user(salesperson)
        .create(
            {
                "name": name,
                "partner_id": customer.id,
                "user_id": salesperson.id,
                "original_pdf": base64.b64encode(pdf),
                "original_filename": "agreement.pdf",
                "participant_ids": participants,
            }
        )
    )
    request._demo_send()
    sign(request.participant_ids.filtered(lambda p: p.partner_id == customer))
    request._finalize()

env.cr.commit()
print(json.dumps({"order": order.id}))
