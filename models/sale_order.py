import base64
import hashlib
import logging
from datetime import datetime, time

import pytz

from odoo import fields, models
from odoo.exceptions import UserError

from .. import const
from ..engine import anchors

_logger = logging.getLogger(__name__)


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "digital.sign.mixin"]

    # === FIELDS === #
    digital_sign_error = fields.Text(
        "Digital Signing Problem",
        readonly=True,
        copy=False,
        help="Why the signed quotation could not be confirmed automatically.",
    )

    # === ACTIONS === #
    def action_confirm(self):
        result = super().action_confirm()
        # Confirmed by hand after a failed automatic confirmation: the problem is solved.
        self.filtered("digital_sign_error").write({"digital_sign_error": False})
        return result

    # === BUSINESS: Odoo's own online signature === #
    def _has_to_be_signed(self):
        # One way to sign: while a digital signature is under way, Odoo's built-in online
        # signature of the quotation is not offered.
        if self.digital_sign_state in const.LIVE_REQUEST_STATES:
            return False
        return super()._has_to_be_signed()

    def _has_to_be_paid(self):
        # Accepting by payment would confirm the quotation without its signature: while a
        # digital signature is under way, the customer signs first and pays afterwards (the
        # order of Odoo's own "Sign & Pay").
        if self.digital_sign_state in const.LIVE_REQUEST_STATES:
            return False
        return super()._has_to_be_paid()

    # === BUSINESS: digital.sign.mixin hooks === #
    def _digital_sign_get_partner(self):
        self.ensure_one()
        return self.partner_id

    def _digital_sign_default_name(self):
        self.ensure_one()
        return (
            self.env._("Quotation %s", self.name)
            if self.state in ("draft", "sent")
            else self.env._("Order %s", self.name)
        )

    def _digital_sign_default_document_kind(self):
        self.ensure_one()
        return "quote" if self.state in ("draft", "sent") else "order_confirmation"

    def _digital_sign_rule_kind(self, request):
        return request.document_kind or "quote"

    def _digital_sign_default_pdf_source(self):
        return "report"

    def _digital_sign_wizard_features(self):
        return {"document_kind"}

    def _digital_sign_default_deadline(self):
        self.ensure_one()
        if not self.validity_date:
            return False
        # The end of the validity day where the salesperson works, stored in UTC.
        tz = pytz.timezone(self.user_id.tz or self.env.user.tz or "UTC")
        end = tz.localize(datetime.combine(self.validity_date, time(23, 59, 59)))
        return end.astimezone(pytz.utc).replace(tzinfo=None)

    def _digital_sign_check_can_send(self):
        self.ensure_one()
        if self.state == "cancel":
            raise UserError(self.env._("A cancelled order cannot be sent for signature."))
        if not self.order_line:
            raise UserError(
                self.env._("Add products to the quotation before sending it for signature.")
            )

    def _digital_sign_approval_amount(self):
        self.ensure_one()
        return self.amount_total, self.currency_id

    def _digital_sign_prepare_request_values(self, wizard):
        values = super()._digital_sign_prepare_request_values(wizard)
        roles = []
        for line in wizard.line_ids.sorted(lambda wline: (wline.signing_order, wline.id)):
            role = (line.role or "").strip()
            if role.casefold() in [known["role"].casefold() for known in roles]:
                continue
            # Places go to participants by role: the role travels in the anchor's URL.
            parsed = anchors.parse_anchor_link(anchors.anchor_link("signature", role))
            if not parsed or parsed[1] != role:
                raise UserError(
                    self.env._(
                        'The role "%(role)s" cannot be placed in the quotation: write it as one '
                        "word (letters, digits, - or _), for example Cosigner.",
                        role=line.role,
                    )
                )
            roles.append(
                {
                    "role": role,
                    "optional": not line.mandatory,
                    "label": line.name if not line.to_be_named else role,
                }
            )
        pdf = self._digital_sign_render_pdf(roles)
        values.update(
            {
                "original_pdf": base64.b64encode(pdf),
                "original_filename": f"{self.name}.pdf",
                "user_id": (self.user_id or self.env.user).id,
                "team_id": self.team_id.id,
            }
        )
        return values

    def _digital_sign_render_pdf(self, roles):
        """Print the quotation with Odoo's own report, with a signature block whose
        signature and date places are link anchors (found in the PDF by their rectangles).

        :param list roles: [{"role": str, "optional": bool, "label": str}]
        :return: the PDF bytes
        Note: self.ensure_one()
        """
        self.ensure_one()
        blocks = [
            {
                "role": role["role"],
                "label": role["label"],
                "optional": role["optional"],
                "sign_url": anchors.anchor_link("signature", role["role"], role["optional"]),
                "date_url": anchors.anchor_link("date", role["role"], role["optional"]),
            }
            for role in roles
        ]
        report = self.env["ir.actions.report"].with_context(
            digital_sign_anchors=blocks,
            force_report_rendering=True,
            lang=self.partner_id.lang,
            # While modules install (demo data), Odoo applies only the views loaded so far;
            # the report extension of this module must apply all the same.
            load_all_views=True,
            digital_sign_without_edi=True,  # see _get_edi_builders
        )
        pdf, _type = report._render_qweb_pdf("sale.action_report_saleorder", res_ids=self.ids)
        return pdf

    def _get_edi_builders(self):
        # Odoo embeds a machine-readable copy of the order (a UBL XML file, sale_edi_ubl) in
        # the quotation PDF. The copy printed for signature carries none: participants sign
        # what they see, and intake removes embedded files from any PDF anyway (see
        # engine.pdf_sanitize), so the quotation goes through it byte for byte.
        if self.env.context.get("digital_sign_without_edi"):
            return []
        return super()._get_edi_builders()

    def _digital_sign_content_hash(self):
        # What the customer signs: the lines, prices, taxes and totals of the quotation.
        self.ensure_one()
        lines = [
            (
                line.display_type or "",
                line.product_id.id,
                line.name or "",
                line.product_uom_qty,
                line.price_unit,
                line.discount,
                tuple(sorted(line.tax_ids.ids)),
                line.price_subtotal,
            )
            for line in self.order_line.sorted("id")
        ]
        data = repr(
            (
                self.partner_id.id,
                self.currency_id.name,
                self.amount_untaxed,
                self.amount_tax,
                self.amount_total,
                str(self.validity_date or ""),
                self.payment_term_id.id,
                lines,
            )
        )
        return hashlib.sha256(data.encode()).hexdigest()

    def _digital_sign_invitation_template(self, request, reminder=False):
        self.ensure_one()
        kind = request.document_kind or "quote"
        return self.env.ref(f"digital_sign.mail_template_sale_{kind}", raise_if_not_found=False)

    def _digital_sign_invitation_sms(self, request, participant, url, reminder=False):
        self.ensure_one()
        lang = participant._get_lang()
        env = self.with_context(lang=lang).env
        values = {"company": self.company_id.name, "ref": self.name, "url": url}
        kind = request.document_kind or "quote"
        if kind == "quick_quote":
            text = env._("%(company)s: a quick quote %(ref)s for you to approve: %(url)s", **values)
        elif kind == "upsell":
            text = env._(
                "%(company)s suggests an addition to your order (%(ref)s), to approve "
                "here: %(url)s",
                **values,
            )
        elif kind == "order_confirmation":
            text = env._(
                "%(company)s: please confirm your order %(ref)s by signing: %(url)s", **values
            )
        else:
            text = env._("%(company)s: your quotation %(ref)s is ready to sign: %(url)s", **values)
        return env._("Reminder: %(text)s", text=text) if reminder else text

    def _digital_sign_on_completed(self, request):
        """Signed: keep Odoo's signature fields in step, confirm the quotation (or leave an
        activity, per the setting), and tell the salesperson. A failing confirmation never
        loses the signature: it is shown on the order with an activity."""
        self.ensure_one()
        signer = request.participant_ids.filtered(lambda p: p.state == "signed").sorted(
            lambda p: (not p.is_primary, p.signing_order, p.id)
        )[:1]
        image = request.field_ids.filtered(
            lambda f: f.participant_id == signer and f.kind == "signature" and f.value_image
        )[:1].value_image
        self.write(
            {
                "signature": image or False,
                "signed_by": signer.name,
                "signed_on": request.signed_on,
            }
        )
        salesperson = self.user_id or request.user_id
        policy = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("digital_sign.sale_on_signed", "confirm")
        )
        if policy == "confirm" and self.state in ("draft", "sent"):
            try:
                with self.env.cr.savepoint():
                    self.with_user(salesperson or self.env.user).sudo().action_confirm()
                self.digital_sign_error = False
                self.message_post(
                    body=self.env._(
                        "Confirmed automatically: %(ref)s was signed.", ref=request.reference
                    )
                )
                summary = self.env._("Signed and confirmed: %s", self.name)
            except Exception as error:  # noqa: BLE001 - the signature is kept whatever fails
                _logger.warning("Signed order %s could not be confirmed: %s", self.name, error)
                message = self.env._(
                    "%(ref)s was signed, but the order could not be confirmed automatically: "
                    "%(error)s. Fix the problem and confirm it by hand; the signature is kept.",
                    ref=request.reference,
                    error=str(error.args[0]) if error.args else str(error),
                )
                self.digital_sign_error = message
                self.message_post(body=message)
                summary = self.env._("Signed, but not confirmed: %s", self.name)
        else:
            if self.state in ("draft", "sent"):
                summary = self.env._("Signed: confirm %s", self.name)
            else:
                summary = self.env._("Signed: %s", self.name)
        self._digital_sign_schedule_todo(
            request,
            summary,
            self.digital_sign_error
            or self.env._("%(customer)s signed %(doc)s.", customer=signer.name, doc=request.name),
        )

    def _digital_sign_on_request_state(self, request):
        self.ensure_one()
        if request.state == "rejected":
            body = self.env._(
                "The customer rejected %(ref)s. Reason: %(reason)s",
                ref=request.reference,
                reason=request.reject_reason or "-",
            )
            self.message_post(body=body)
            self._digital_sign_schedule_todo(
                request, self.env._("Quotation rejected: %s", self.name), body
            )
        elif request.state == "expired":
            body = self.env._(
                "%(ref)s expired before it was signed. Send it again?", ref=request.reference
            )
            self.message_post(body=body)
            self._digital_sign_schedule_todo(
                request, self.env._("Resend %s for signature?", self.name), body
            )
        elif request.state == "cancelled":
            self.message_post(
                body=self.env._(
                    "Digital signature %(ref)s cancelled: %(reason)s",
                    ref=request.reference,
                    reason=request.cancel_reason or "-",
                )
            )

    def _digital_sign_schedule_todo(self, request, summary, note):
        """A to-do for the salesperson of this quotation (else the request's owner), if any.

        Note: self.ensure_one()
        """
        self.ensure_one()
        salesperson = self.user_id or request.user_id
        if salesperson:
            self.activity_schedule(
                "mail.mail_activity_data_todo", user_id=salesperson.id, summary=summary, note=note
            )
