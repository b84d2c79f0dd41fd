import logging

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import email_normalize

from .. import const
from ..engine import otp as otp_tools

_logger = logging.getLogger(__name__)


class DigitalSignCopyRecipient(models.Model):
    """Someone besides the participants who gets the signed copy of a document, with a text
    and extra attachments: added by the sender while the document is open, or by an outbound
    rule when it completes.

    One row is one delivery. When the document completes, each row gets one e-mail, and the
    row's state follows its fate, forward only: to send, queued (the e-mail is in Odoo's mail
    queue), sent (the mail server took it), not sent, bounced (a bounce came back for its
    Message-Id). Each step is an event of the document's audit trail. Queuing marks the row
    in the same transaction that makes the e-mail, so however often the final step runs, a
    recipient gets exactly one e-mail; an address is listed once per document.

    The fate fields are evidence written by the flow only; the sender may change who gets a
    copy, the text and the attachments until the document is closed. Attachments must be
    files the sender can read: the flow sends them as the superuser.

    Threat: a salesperson marking a copy sent that never went out (or hiding a bounce), or
    mailing out a file they cannot read by naming it as an attachment.
    """

    _name = "digital.sign.copy.recipient"
    _description = "Recipient of a Signed Copy"
    _inherit = ["digital.sign.evidence.mixin"]
    _order = "request_id, id"
    _rec_name = "email"

    # === FIELDS === #
    request_id = fields.Many2one(
        "digital.sign.request", required=True, index=True, ondelete="cascade", evidence="create"
    )
    company_id = fields.Many2one(
        related="request_id.company_id", store=True, index=True, evidence="flow"
    )
    source = fields.Selection(
        const.COPY_SOURCES, default="sender", required=True, readonly=True, evidence="flow"
    )
    outbound_rule_id = fields.Many2one(
        "digital.sign.outbound.rule",
        readonly=True,
        ondelete="set null",
        evidence="flow",
    )
    partner_id = fields.Many2one("res.partner", string="Contact", evidence="open")
    email = fields.Char("E-mail", help="The contact's address when left empty.", evidence="open")
    message = fields.Html("Text", sanitize=True, evidence="open")
    attachment_ids = fields.Many2many(
        "ir.attachment",
        "digital_sign_copy_recipient_attachment_rel",
        "recipient_id",
        "attachment_id",
        string="Extra Attachments",
        evidence="open",
    )
    state = fields.Selection(
        const.COPY_STATES,
        string="Delivery",
        default="pending",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        evidence="flow",
    )
    message_id = fields.Char(
        "Message-Id", readonly=True, copy=False, index="btree_not_null", evidence="flow"
    )
    queued_at = fields.Datetime(readonly=True, copy=False, evidence="flow")
    sent_at = fields.Datetime(readonly=True, copy=False, evidence="flow")
    bounced_at = fields.Datetime(readonly=True, copy=False, evidence="flow")
    failure_reason = fields.Text(readonly=True, copy=False, evidence="flow")
    lang = fields.Char(
        "Language",
        compute="_compute_lang",
        help="The e-mail's language: the contact's, else the document's.",
    )

    # === SQL === #
    _request_email_uniq = models.UniqueIndex(
        "(request_id, email)", "This address already gets a copy of the document."
    )

    # === COMPUTE === #
    @api.depends("partner_id.lang", "request_id")
    def _compute_lang(self):
        Participant = self.env["digital.sign.participant"]
        for recipient in self:
            lang = recipient.partner_id.lang
            if Participant._is_signing_lang(lang) or not recipient.request_id:
                recipient.lang = lang or False
            else:
                recipient.lang = recipient.request_id._get_document_lang()

    # === CONSTRAINTS === #
    @api.constrains("email")
    def _check_email(self):
        for recipient in self:
            if not recipient.email:
                raise ValidationError(
                    self.env._("A recipient of the signed copy needs an e-mail address.")
                )

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        self = self._evidence_check_create(vals_list)  # noqa: PLW0642 - defaults cleaned
        self._evidence_check_create_on_requests(
            vals_list,
            const.LIVE_REQUEST_STATES,
            self.env._(
                "Recipients of the signed copy can only be added while the document is open."
            ),
        )
        for vals in vals_list:
            self._prepare_email_vals(vals)
        recipients = super().create(vals_list)
        if not self.env.su:
            recipients.attachment_ids.check_access("read")
        return recipients

    def write(self, vals):
        self._evidence_check_write(vals)
        if "email" in vals or "partner_id" in vals:
            for recipient in self:
                recipient_vals = dict(vals)
                recipient._prepare_email_vals(recipient_vals)
                super(DigitalSignCopyRecipient, recipient).write(recipient_vals)
        else:
            super().write(vals)
        if not self.env.su and "attachment_ids" in vals:
            self.attachment_ids.check_access("read")
        return True

    @api.ondelete(at_uninstall=False)
    def _unlink_if_open(self):
        if self.env.su:
            return
        closed = self.filtered(lambda r: r.request_id.state not in const.LIVE_REQUEST_STATES)
        if closed:
            raise UserError(
                self.env._(
                    "%s: the recipient of a closed document's signed copy cannot be removed.",
                    ", ".join(closed.mapped("email")),
                )
            )

    def _evidence_document_state(self):
        self.ensure_one()
        return self.request_id.state

    def _prepare_email_vals(self, vals):
        """Normalise the address in ``vals``; without one, take the contact's."""
        partner = (
            self.env["res.partner"].browse(vals["partner_id"])
            if vals.get("partner_id")
            else self.partner_id
        )
        address = vals["email"] if "email" in vals else self.email
        if not address or ("partner_id" in vals and "email" not in vals):
            address = partner.email or address
        normalized = email_normalize(address or "")
        if address and not normalized:
            raise ValidationError(self.env._("Not an e-mail address: %s", address))
        vals["email"] = normalized or False

    # === BUSINESS === #
    def _get_masked_email(self):
        self.ensure_one()
        return otp_tools.mask_email(self.email)

    def _log(self, event_type, **details):
        self.ensure_one()
        self.request_id.sudo()._log_event(
            event_type,
            channel="email",
            details={"to": self._get_masked_email(), **details},
            ip="",
            user_agent="",
        )

    def _queue(self, template, signed_attachment):
        """Queue this recipient's one e-mail: the signed document and the extra attachments
        (copies, so that the mail queue's clean-up never touches the originals), and mark
        the row queued in the same transaction. A row that is not "to send" is left alone.

        :param template: the mail.template rendered on this recipient
        :param signed_attachment: the ir.attachment of the signed document
        :return: the mail.mail, or None when skipped
        Note: self.ensure_one()
        """
        self.ensure_one()
        recipient_sudo = self.sudo()
        if recipient_sudo.state != "pending":
            _logger.info("Signed copy %s: already %s, not queued", self.id, recipient_sudo.state)
            return None
        attachments = signed_attachment | recipient_sudo.attachment_ids
        copies = [
            attachment.copy({"res_model": "mail.compose.message", "res_id": 0}).id
            for attachment in attachments.sudo()
        ]
        values = {
            "email_to": recipient_sudo.email,
            "recipient_ids": [],
            "model": False,
            "res_id": False,
            "attachment_ids": copies,
            "digital_sign_copy_recipient_id": self.id,
        }
        mail_id = template.with_user(SUPERUSER_ID).send_mail(self.id, email_values=values)
        mail = self.env["mail.mail"].sudo().browse(mail_id)
        recipient_sudo.write(
            {"state": "queued", "queued_at": fields.Datetime.now(), "message_id": mail.message_id}
        )
        self._log("copy_queued", source=self._get_source_label())
        return mail

    def _get_source_label(self):
        self.ensure_one()
        recipient_sudo = self.sudo()
        if recipient_sudo.outbound_rule_id:
            return recipient_sudo.outbound_rule_id.name
        return dict(self._fields["source"]._description_selection(self.env))[recipient_sudo.source]

    def _update_state(self, target, allowed, values=None):
        """Move to ``target`` from one of the ``allowed`` states, log it, and leave any other
        state as it is (a replayed report of the mail server changes nothing).

        :return: the records that changed
        """
        changed = self.sudo().filtered(lambda r: r.state in allowed)
        for recipient in self.sudo() - changed:
            _logger.info("Signed copy %s: skipping %s -> %s", recipient.id, recipient.state, target)
        if changed:
            changed.write({"state": target, **(values or {})})
        return changed

    def _set_sent(self, message_id=None):
        """The mail server took the e-mail.

        :param str message_id: the Message-Id it went out with (bounces refer to it)
        """
        values = {"sent_at": fields.Datetime.now(), "failure_reason": False}
        if message_id:
            values["message_id"] = message_id
        changed = self._update_state("sent", ("queued", "failed"), values)
        for recipient in changed:
            recipient._log("copy_sent")
        return changed

    def _set_failed(self, reason):
        changed = self._update_state("failed", ("queued",), {"failure_reason": reason})
        for recipient in changed:
            recipient._log("copy_failed", error=reason)
        return changed

    def _set_bounced(self, reason):
        changed = self._update_state(
            "bounced",
            ("queued", "sent"),
            {"bounced_at": fields.Datetime.now(), "failure_reason": reason},
        )
        for recipient in changed:
            recipient._log("copy_bounced", error=reason)
            recipient.request_id._notify_owner(
                self.env._("%s: a signed copy bounced", recipient.request_id.reference),
                self.env._(
                    "The signed copy of %(name)s to %(email)s bounced: %(reason)s",
                    name=recipient.request_id.name,
                    email=recipient.email,
                    reason=reason or self.env._("no reason given"),
                ),
            )
        return changed

    @api.model
    def _process_bounce(self, message_ids, email, reason):
        """A bounce came back for one of ``message_ids`` (the Message-Id references of the
        bounce), for ``email``: mark the copy that went out with it bounced.

        :param list message_ids: Message-Id values the bounce refers to
        :param str email: the normalized address that bounced, or False
        :param str reason: the bounce's text
        :return: the recipients marked bounced
        """
        if not message_ids:
            return self
        domain = Domain("message_id", "in", list(message_ids))
        if email:
            domain &= Domain("email", "=", email)
        return self.sudo().search(domain)._set_bounced(reason)
