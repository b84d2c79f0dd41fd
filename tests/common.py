import base64

import pymupdf

from odoo import Command
from odoo.tests import new_test_user

from odoo.addons.base.tests.common import BaseCommon


def make_pdf(pages=None, producer_title="digital_sign tests"):
    """Return a PDF made with pymupdf. ``pages`` is a list of dicts:
    ``{"size": (w, h), "rotate": 0, "texts": [(x, y, text), ...]}``; each text is drawn with
    its baseline at (x, y) in points from the top-left corner of the unrotated page."""
    pages = pages or [{"texts": [(72, 700, "Signature: {{sign:Customer}}")]}]
    doc = pymupdf.open()
    for spec in pages:
        width, height = spec.get("size", (595.0, 842.0))
        page = doc.new_page(width=width, height=height)
        page.insert_text((72, 72), "Agreement", fontsize=18)
        for x, y, text in spec.get("texts", ()):
            page.insert_text((x, y), text, fontsize=10)
        if spec.get("rotate"):
            page.set_rotation(spec["rotate"])
    doc.set_metadata({"title": producer_title, "producer": producer_title})
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return data


def person(name, role, **values):
    """Participant values for a test: ``person("Carl", "Cosigner", mandatory=False)`` is Carl,
    carl@example.com, in the role Cosigner."""
    return {"name": name, "email": f"{name.lower()}@example.com", "role": role, **values}


def signature_data_url(width=240, height=90):
    """A real PNG signature (a drawn stroke), as Odoo's signature widget sends it."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    points = [(10 + i * (width - 20) / 12, height / 2 + (height / 3) * (-1) ** i) for i in range(13)]
    draw.line(points, fill=(20, 20, 120, 255), width=4)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def b64(data):
    return base64.b64encode(data)


class DigitalSignCommon(BaseCommon):
    """Factories for digital_sign tests: no demo data is needed."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.country_id = cls.env.ref("base.se")
        cls.team_a = cls.env["crm.team"].create({"name": "Team A"})
        cls.team_b = cls.env["crm.team"].create({"name": "Team B"})
        cls.user_a = new_test_user(
            cls.env, login="sign_user_a", groups="digital_sign.group_user,sales_team.group_sale_salesman",
            name="Alice Sender", email="alice@example.com",
        )
        cls.user_b = new_test_user(
            cls.env, login="sign_user_b", groups="digital_sign.group_user,sales_team.group_sale_salesman",
            name="Bob Sender", email="bob@example.com",
        )
        cls.team_a.member_ids = [Command.link(cls.user_a.id)]
        cls.team_b.member_ids = [Command.link(cls.user_b.id)]
        cls.manager = new_test_user(
            cls.env, login="sign_manager", groups="digital_sign.group_manager", name="Mona Manager",
            email="mona@example.com",
        )
        cls.customer = cls.env["res.partner"].create({
            "name": "Ingrid Customer", "email": "ingrid@example.com", "phone": "+46 70 123 45 67",
            "country_id": cls.env.ref("base.se").id,
        })
        cls.cosigner = cls.env["res.partner"].create({
            "name": "Carl Cosigner", "email": "carl@example.com", "phone": "+46 70 765 43 21",
        })
        cls.pdf_one_signature = make_pdf()
        cls.pdf_two_roles = make_pdf([
            {"texts": [(72, 600, "Customer: {{sign:Customer}}"),
                       (72, 650, "Date: {{date:Customer}}"),
                       (320, 600, "Cosigner: {{sign:Cosigner:optional}}")]},
        ])

    @classmethod
    def _create_request(cls, pdf=None, participants=None, user=None, **values):
        """Create a draft request with its places detected and its participants.

        :param participants: list of dicts of participant values (default: the customer)
        """
        env = cls.env(user=user) if user else cls.env
        participants = participants if participants is not None else [{
            "partner_id": cls.customer.id, "name": cls.customer.name, "email": cls.customer.email,
            "mobile": cls.customer.phone, "role": "Customer",
        }]
        vals = {
            "name": values.pop("name", "Contract"),
            "partner_id": cls.customer.id,
            "original_pdf": b64(pdf or cls.pdf_one_signature),
            "original_filename": "contract.pdf",
            "participant_ids": [Command.create(p) for p in participants],
            **values,
        }
        request = env["digital.sign.request"].create(vals)
        request._detect_fields()
        return request
