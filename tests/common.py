import base64
import os

import pymupdf

from odoo import Command
from odoo.tests import Form, new_test_user

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
    points = [
        (10 + i * (width - 20) / 12, height / 2 + (height / 3) * (-1) ** i) for i in range(13)
    ]
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
            cls.env,
            login="sign_user_a",
            groups="digital_sign.group_user,sales_team.group_sale_salesman",
            name="Alice Sender",
            email="alice@example.com",
        )
        cls.user_b = new_test_user(
            cls.env,
            login="sign_user_b",
            groups="digital_sign.group_user,sales_team.group_sale_salesman",
            name="Bob Sender",
            email="bob@example.com",
        )
        cls.team_a.member_ids = [Command.link(cls.user_a.id)]
        cls.team_b.member_ids = [Command.link(cls.user_b.id)]
        cls.manager = new_test_user(
            cls.env,
            login="sign_manager",
            groups="digital_sign.group_manager",
            name="Mona Manager",
            email="mona@example.com",
        )
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Ingrid Customer",
                "email": "ingrid@example.com",
                "phone": "+46 70 123 45 67",
                "country_id": cls.env.ref("base.se").id,
            }
        )
        cls.cosigner = cls.env["res.partner"].create(
            {
                "name": "Carl Cosigner",
                "email": "carl@example.com",
                "phone": "+46 70 765 43 21",
            }
        )
        cls.pdf_one_signature = make_pdf()
        cls.pdf_two_roles = make_pdf(
            [
                {
                    "texts": [
                        (72, 600, "Customer: {{sign:Customer}}"),
                        (72, 650, "Date: {{date:Customer}}"),
                        (320, 600, "Cosigner: {{sign:Cosigner:optional}}"),
                    ]
                },
            ]
        )

    @classmethod
    def _create_request(cls, pdf=None, participants=None, user=None, **values):
        """Create a draft request with its places detected and its participants.

        :param participants: list of dicts of participant values (default: the customer)
        """
        env = cls.env(user=user) if user else cls.env
        participants = (
            participants
            if participants is not None
            else [
                {
                    "partner_id": cls.customer.id,
                    "name": cls.customer.name,
                    "email": cls.customer.email,
                    "mobile": cls.customer.phone,
                    "role": "Customer",
                }
            ]
        )
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


DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def make_arrow_pdf(arrows=1):
    """A one-page agreement with ``arrows`` arrow glyphs (U+2794, drawn with DejaVu Sans, which
    has it) marking the customer's signature places."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 72), "Service agreement", fontsize=18)
    page.insert_text((72, 120), "The customer accepts the repair quote of the ticket.", fontsize=10)
    for index in range(arrows):
        page.insert_text(
            (72, 600 + 90 * index),
            "Sign here \u2794",
            fontsize=14,
            fontname="dejavu",
            fontfile=DEJAVU,
        )
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return data


class DigitalSignHelpdeskCommon(DigitalSignCommon):
    """Tickets of two helpdesk teams, their agents, and two portal customers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # fail loudly when the font is missing, rather than send a PDF without arrows
        assert os.path.exists(DEJAVU), f"{DEJAVU} is needed to draw the arrow glyph"
        cls.agent = new_test_user(
            cls.env,
            login="hd_agent",
            groups="helpdesk_mgmt.group_helpdesk_user_team",
            name="Hanna Agent",
            email="hanna@example.com",
            tz="Europe/Stockholm",
        )
        cls.agent_b = new_test_user(
            cls.env,
            login="hd_agent_b",
            groups="helpdesk_mgmt.group_helpdesk_user_team",
            name="Henrik Otherteam",
            email="henrik@example.com",
        )
        cls.hd_team = cls.env["helpdesk.ticket.team"].create(
            {
                "name": "Support",
                "user_ids": [Command.set(cls.agent.ids)],
            }
        )
        cls.hd_team_b = cls.env["helpdesk.ticket.team"].create(
            {
                "name": "Other support",
                "user_ids": [Command.set(cls.agent_b.ids)],
            }
        )
        Stage = cls.env["helpdesk.ticket.stage"]
        cls.stage_new = Stage.create({"name": "Open (signing tests)", "sequence": 0})
        cls.stage_signed = Stage.create({"name": "Signed (signing tests)", "sequence": 50})
        cls.stage_rejected = Stage.create({"name": "Rejected (signing tests)", "sequence": 51})
        cls.portal_user = new_test_user(
            cls.env,
            login="hd_portal",
            groups="base.group_portal",
            name="Petra Portal",
            email="petra@example.com",
        )
        cls.portal_partner = cls.portal_user.partner_id
        cls.portal_partner.write(
            {"phone": "+46 70 111 22 33", "country_id": cls.env.ref("base.se").id}
        )
        cls.other_portal_user = new_test_user(
            cls.env,
            login="hd_portal_other",
            groups="base.group_portal",
            name="Olle Other",
            email="olle@example.com",
        )
        cls.arrow_pdf = make_arrow_pdf()
        cls.finalize_cron = cls.env.ref("digital_sign.ir_cron_finalize_documents")
        cls.ICP = cls.env["ir.config_parameter"].sudo()
        cls.ICP.set_param("digital_sign.helpdesk_stage_signed_id", cls.stage_signed.id)
        cls.ICP.set_param("digital_sign.helpdesk_stage_rejected_id", cls.stage_rejected.id)

    # === helpers === #
    @classmethod
    def _create_ticket(cls, partner=None, team=None, user=None, name="Printer does not print"):
        team = team or cls.hd_team
        return cls.env["helpdesk.ticket"].create(
            {
                "name": name,
                "description": "<p>The customer needs to sign the repair quote.</p>",
                "team_id": team.id,
                "user_id": (user or (cls.agent_b if team == cls.hd_team_b else cls.agent)).id,
                "partner_id": (partner or cls.portal_partner).id,
                "stage_id": cls.stage_new.id,
            }
        )

    def _open_wizard(self, ticket, user=None):
        action = ticket.with_user(user or self.agent).action_digital_sign_send()
        self.assertEqual(action["res_model"], "digital.sign.request.send")
        wizard_model = self.env[action["res_model"]].with_user(user or self.agent)
        return Form(wizard_model.with_context(**action["context"]))

    def _wizard(self, ticket, name=None, pdf=None, mode="standard", user=None):
        wizard_form = self._open_wizard(ticket, user)
        if name:
            wizard_form.name = name
        wizard_form.pdf_source = "upload"
        wizard_form.pdf_file = b64(pdf or self.arrow_pdf)
        wizard_form.sending_mode = mode
        return wizard_form.save()

    def _send(self, ticket, name=None, pdf=None, mode="standard", user=None):
        """Send a PDF from ``ticket`` through the wizard; return (request, wizard's action)."""
        wizard = self._wizard(ticket, name=name, pdf=pdf, mode=mode, user=user)
        action = wizard.action_send()
        requests = self.env["digital.sign.request"].search(
            [("res_model", "=", "helpdesk.ticket"), ("res_id", "=", ticket.id)], order="id desc"
        )
        return requests[:1], action

    def _sign(self, sign_request):
        """The customer signs every signature place of theirs."""
        participant = sign_request.participant_ids.filtered(
            lambda p: p.partner_id == sign_request.partner_id
        )
        mine = sign_request.field_ids.filtered(lambda f: f.participant_id == participant)
        values = {str(f.id): signature_data_url() for f in mine if f.kind == "signature"}
        result = participant._submit(values, True, sign_request.original_sha256)
        self.assertEqual(result, {"status": "ok"})
        return participant

    def _agent_activities(self, ticket):
        return ticket.activity_ids.filtered(lambda a: a.user_id == self.agent)
