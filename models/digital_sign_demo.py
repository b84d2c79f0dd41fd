import base64
import io
import logging
from datetime import timedelta

from PIL import Image, ImageDraw

from odoo import api, fields, models

from .. import const

_logger = logging.getLogger(__name__)


class DigitalSignDemo(models.AbstractModel):
    """The generator behind the demo data (``demo/digital_sign_demo.xml`` calls it): demo
    documents sent and carried to every state through the real flow, and a live signing
    link of the demo document for ``scripts/run``. Nothing here runs outside demo data and
    that script."""

    _name = "digital.sign.demo"
    _description = "Digital Signing Demo Data"

    # === DEMO DATA === #
    @api.model
    def _send_requests(self, request_ids):
        """Find the places of the demo drafts ``request_ids`` and send them."""
        requests = self.env["digital.sign.request"].browse(request_ids)
        for sign_request in requests.filtered(lambda r: r.state == "draft"):
            if not sign_request.field_ids:
                sign_request._detect_fields()
            sign_request._assign_fields_to_participants()
            sign_request.action_send()

    @api.model
    def _populate(self):
        """Demo documents in every state: digital quotes on demo quotations (through the send
        wizard and Odoo's own report), helpdesk tickets, and their outcomes."""
        signature = base64.b64encode(self._get_signature_png())
        outcomes = ["sent", "viewed", "signed", "rejected", "expired", "sent"]
        orders = self.env["sale.order"].search(
            [
                ("state", "in", ("draft", "sent")),
                ("order_line", "!=", False),
                ("partner_id.email", "!=", False),
            ],
            limit=len(outcomes),
            order="id",
        )
        for order, outcome in zip(orders, outcomes):
            try:
                with self.env.cr.savepoint():
                    wizard = self.env["digital.sign.request.send"].create(
                        {"res_model": "sale.order", "res_id": order.id}
                    )
                    sign_request = wizard._create_request()
                    sign_request.action_send()
                    self._apply_outcome(sign_request, outcome, signature)
            except Exception:  # noqa: BLE001 - demo data must not block an install
                _logger.warning("Demo digital quote for %s skipped", order.name, exc_info=True)
        tickets = self.env["helpdesk.ticket"].search(
            [("partner_id.email", "!=", False)], limit=2, order="id"
        )
        pdf = base64.b64encode(
            self.env.ref("digital_sign.demo_request_service_agreement")._get_original_bytes()
        )
        for ticket, outcome in zip(tickets, ("sent", "signed")):
            try:
                with self.env.cr.savepoint():
                    wizard = self.env["digital.sign.request.send"].create(
                        {
                            "res_model": "helpdesk.ticket",
                            "res_id": ticket.id,
                            "name": f"Service agreement ({ticket.number})",
                            "pdf_source": "upload",
                            "pdf_file": pdf,
                            "pdf_filename": "service_agreement.pdf",
                        }
                    )
                    sign_request = wizard._create_request()
                    sign_request.action_send()
                    self._apply_outcome(sign_request, outcome, signature)
            except Exception:  # noqa: BLE001
                _logger.warning(
                    "Demo ticket document for %s skipped", ticket.display_name, exc_info=True
                )

    @api.model
    def _sign_as_next(self, request_ids):
        """Sign the sent demo documents ``request_ids`` as the participant whose turn it is
        (the customer of the document the company signs after, which then waits for its
        seal)."""
        signature = base64.b64encode(self._get_signature_png())
        for sign_request in self.env["digital.sign.request"].browse(request_ids):
            if sign_request.state in const.OPEN_REQUEST_STATES:
                self._sign(sign_request, signature)

    @api.model
    def _apply_outcome(self, sign_request, outcome, signature):
        """Carry the sent ``sign_request`` to ``outcome`` (sent, viewed, signed, rejected or
        expired) as its first participant would."""
        participant = sign_request.participant_ids[:1]
        if outcome == "viewed":
            participant._mark_viewed()
        elif outcome == "signed":
            self._sign(sign_request, signature)
        elif outcome == "rejected":
            participant._mark_viewed()
            participant._reject(
                "The delivery date does not suit us; please call me.",
                ip="192.0.2.11",
                user_agent="Mozilla/5.0 (demo)",
            )
        elif outcome == "expired":
            sign_request.deadline = fields.Datetime.now() - timedelta(hours=1)
            sign_request._set_expired()

    @api.model
    def _sign(self, sign_request, signature):
        """Sign ``sign_request`` as its participant whose turn it is, with the PNG
        ``signature`` (base64) in every signature and initials place, then finalise it."""
        participant = sign_request.participant_ids.filtered(
            lambda p: p.state in ("sent", "viewed")
        )[:1]
        participant._mark_viewed()
        mine = sign_request.field_ids.filtered(lambda f: f.participant_id == participant)
        values = {
            str(f.id): "data:image/png;base64," + signature.decode()
            for f in mine
            if f.kind in ("signature", "initials")
        }
        values.update({str(f.id): True for f in mine if f.kind == "checkbox"})
        participant._submit(
            values,
            True,
            sign_request.original_sha256,
            ip="192.0.2.10",
            user_agent="Mozilla/5.0 (demo)",
        )
        sign_request._finalize()

    @api.model
    def _get_signature_png(self):
        """A handwritten-looking stroke for demo signatures (PNG bytes)."""
        image = Image.new("RGBA", (360, 120), (255, 255, 255, 0))
        draw = ImageDraw.Draw(image)
        points = [
            (20, 80),
            (45, 30),
            (60, 95),
            (85, 40),
            (105, 85),
            (130, 35),
            (150, 70),
            (175, 60),
            (200, 90),
            (230, 40),
            (255, 75),
            (290, 55),
            (340, 60),
        ]
        draw.line(points, fill=(22, 38, 120, 255), width=5, joint="curve")
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()

    # === scripts/run === #
    @api.model
    def _get_signing_link(self):
        """Return a live signing link of the demo document, sending a fresh copy when the
        demo document was already signed, rejected or expired (used by scripts/run)."""
        sign_request = self.env.ref(
            "digital_sign.demo_request_service_agreement", raise_if_not_found=False
        )
        if not sign_request:
            return ""
        if sign_request.state not in const.OPEN_REQUEST_STATES:
            sign_request = sign_request.copy(
                {"name": f"{sign_request.name} ({fields.Date.today()})"}
            )
            sign_request.field_ids.filtered(lambda f: f.source != "manual").unlink()
            self._send_requests(sign_request.ids)
        participant = sign_request.participant_ids.filtered(
            lambda p: p.state in ("sent", "viewed")
        )[:1]
        return participant._get_signing_url() if participant else ""
