"""Prepare the README screenshots of the signing page in Swedish and in Chinese (run inside
`odoo-bin shell` on a demo database; `./scripts/bench lang-screens` does it all and takes the
screenshots with bench/screenshot.py).

Activates Swedish and Simplified Chinese, writes a one-page agreement in each language (with
its signature, date and text places), and sends each to a contact of that language and time
zone, with a cosigner. Prints one line: LANG_SCREENS {"sv": signing path, "zh": signing path}.
"""

# ruff: noqa: F821 - `env` is given by odoo-bin shell
import base64
import json

import pymupdf

from odoo import Command, fields

LANGS = ("sv_SE", "zh_CN")
DOCUMENTS = {
    "sv_SE": {
        "name": "Serviceavtal 2027",
        "customer": ("Ingrid Åberg", "ingrid.aberg@example.com", "Europe/Stockholm"),
        "cosigner": ("Lars Åberg", "lars.aberg@example.com", "Europe/Stockholm"),
        "roles": {"customer": "Kund", "cosigner": "Medundertecknare"},
        "title": "Serviceavtal",
        "lines": [
            "Leverantören utför service på kundens utrustning två gånger per år.",
            "Avtalet gäller från 1 januari 2027 i tolv månader och förlängs",
            "automatiskt om ingen part säger upp det tre månader före utgången.",
            "Pris: 12 000 kr per år, faktureras kvartalsvis.",
        ],
        "address": "Faktureringsadress:",
        "customer_label": "Kund:",
        "cosigner_label": "Medundertecknare:",
        "date_label": "Datum:",
    },
    "zh_CN": {
        "name": "服务协议 2027",
        "customer": ("王芳", "wang.fang@example.com", "Asia/Shanghai"),
        "cosigner": ("李伟", "li.wei@example.com", "Asia/Shanghai"),
        "roles": {"customer": "客户", "cosigner": "共同签署人"},
        "title": "服务协议",
        "lines": [
            "供应商每年为客户的设备提供两次维护服务。",
            "本协议自 2027 年 1 月 1 日起生效，有效期十二个月；",
            "如任何一方未在到期前三个月提出终止，协议自动续期。",
            "价格：每年人民币 9,800 元，按季度开具发票。",
        ],
        "address": "开票地址：",
        "customer_label": "客户：",
        "cosigner_label": "共同签署人：",
        "date_label": "日期：",
    },
}


def agreement_pdf(texts):
    """A one-page agreement in the language of ``texts``, with the places of the customer
    (signature, date, billing address) and of an optional cosigner (signature), their
    roles named in that language."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    font = pymupdf.Font("cjk")  # CJK and Latin glyphs alike
    page.insert_font(fontname="body", fontbuffer=font.buffer)
    page.insert_text((72, 110), texts["title"], fontname="body", fontsize=22)
    y = 160
    for line in texts["lines"]:
        page.insert_text((72, y), line, fontname="body", fontsize=11)
        y += 20
    customer, cosigner = texts["roles"]["customer"], texts["roles"]["cosigner"]
    places = [
        ((72, 270), texts["address"]),
        ((72, 292), f"{{{{text:{customer}}}}}"),
        ((72, 322), texts["customer_label"]),
        ((72, 380), f"{{{{sign:{customer}}}}}"),
        ((72, 430), texts["date_label"]),
        ((130, 430), f"{{{{date:{customer}}}}}"),
        ((330, 322), texts["cosigner_label"]),
        ((330, 380), f"{{{{sign:{cosigner}:optional}}}}"),
    ]
    for point, text in places:
        page.insert_text(point, text, fontname="body", fontsize=11)
    doc.subset_fonts()
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return data


for code in LANGS:
    env["res.lang"]._activate_lang(code)
env["ir.module.module"]._load_module_terms(["digital_sign"], list(LANGS))

salesperson = env.ref("base.user_admin")
paths = {}
for code, texts in DOCUMENTS.items():
    partners = {}
    for role in ("customer", "cosigner"):
        name, email, tz = texts[role]
        partners[role] = env["res.partner"].create(
            {"name": name, "email": email, "lang": code, "tz": tz}
        )
    request = (
        env["digital.sign.request"]
        .with_user(salesperson)
        .create(
            {
                "name": texts["name"],
                "partner_id": partners["customer"].id,
                "user_id": salesperson.id,
                "original_pdf": base64.b64encode(agreement_pdf(texts)),
                "original_filename": "agreement.pdf",
                "participant_ids": [
                    Command.create(
                        {
                            "partner_id": partners[role].id,
                            "name": partners[role].name,
                            "email": partners[role].email,
                            "role": texts["roles"][role],
                            "signing_order": 1,
                            "mandatory": role == "customer",
                        }
                    )
                    for role in ("customer", "cosigner")
                ],
            }
        )
    )
    request._detect_fields()
    request._assign_fields_to_participants()
    request.action_send()
    request.deadline = fields.Datetime.to_datetime("2027-01-15 16:00:00")
    customer = request.participant_ids.filtered(lambda p, c=partners["customer"]: p.partner_id == c)
    paths[code.split("_")[0]] = customer._get_signing_path()

env.cr.commit()
print("LANG_SCREENS " + json.dumps(paths))
