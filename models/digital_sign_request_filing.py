import base64
import hashlib
import logging
import re

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import email_normalize

from odoo.addons.dms.tools.file import unique_name

from .. import const
from ..utils import decode_binary

_logger = logging.getLogger(__name__)


class DigitalSignRequest(models.Model):
    """Filing and outbound copies of the signed document.

    When the final document exists (built, sealed, posted and mailed to the participants in
    ``_distribute_signed_document``, the background step of ``_finalize``), two more things
    happen to it:

    - **Filing.** The first matching ``digital.sign.filing.rule`` files the signed PDF (its
      certificate of completion is its last pages) as a ``dms.file`` of OCA ``dms``. This
      runs as the superuser in one place (``_file_signed_copy``), so the owner needs no
      right on the folder; who may browse it is the business of dms's access groups. Filing
      happens once per document (``filing_state``; the row is locked), whether the final
      step or *File now* runs again; a failure (the folder was deleted, dms refused the
      file) is rolled back alone, logged in the audit trail and told to the owner, and the
      document stays signed.
    - **Outbound copies.** The extra recipients (``copy_recipient_ids``: those the sender
      added, then those of every matching ``digital.sign.outbound.rule``) each get one
      e-mail with the signed document, their text and their attachments; see
      ``digital.sign.copy.recipient``.

    The filing state, its error and the link to the filed file are evidence written by the
    flow only.
    """

    _inherit = "digital.sign.request"

    # === FIELDS === #
    filing_state = fields.Selection(
        const.FILING_STATES,
        string="Filing",
        default="none",
        required=True,
        readonly=True,
        copy=False,
        index=True,
        evidence="flow",
    )
    filing_error = fields.Text(readonly=True, copy=False, evidence="flow")
    filed_file_ids = fields.Many2many(
        "dms.file",
        "digital_sign_request_dms_file_rel",
        "request_id",
        "file_id",
        string="Filed Copies",
        readonly=True,
        copy=False,
        evidence="flow",
    )
    filed_file_count = fields.Integer("Filed Copy", compute="_compute_filed_file_count")
    copy_recipient_ids = fields.One2many(
        "digital.sign.copy.recipient",
        "request_id",
        string="Copies To",
        help="Who gets the signed document besides the participants, with a text and "
        "attachments of their own.",
    )

    # === COMPUTE === #
    @api.depends("filed_file_ids")
    @api.depends_context("uid")
    def _compute_filed_file_count(self):
        # The user's own rights on dms: a filed copy in a folder they cannot browse does not
        # count for them.
        File = self.env["dms.file"]
        for request in self:
            file_ids = request.sudo().filed_file_ids.ids
            request.filed_file_count = (
                File.search_count([("id", "in", file_ids)]) if file_ids else 0
            )

    # === ACTIONS === #
    def action_open_filed_copy(self):
        """Open the filed copy in its dms folder (what the user may browse of it)."""
        self.ensure_one()
        files = self.env["dms.file"].search([("id", "in", self.sudo().filed_file_ids.ids)])
        if not files:
            raise UserError(
                self.env._("You cannot browse the folder the signed copy was filed in.")
            )
        action = {
            "type": "ir.actions.act_window",
            "name": self.env._("Filed copy"),
            "res_model": "dms.file",
            "context": {"create": False},
        }
        if len(files) == 1:
            return {**action, "view_mode": "form", "res_id": files.id}
        return {**action, "view_mode": "list,form", "domain": [("id", "in", files.ids)]}

    def action_file_signed_copy(self):
        """File the signed copy now: after a failure was fixed, or a rule added after the
        document completed. Never files twice (see ``_file_signed_copy``)."""
        for request in self:
            request.check_access("write")
            if request.state != "signed" or request.finalize_state != "done":
                raise UserError(
                    self.env._(
                        "%s has no final document yet: it is filed once it has one.",
                        request.reference,
                    )
                )
            if request.filing_state == "filed":
                continue
            request._lock_for_update()
            request.invalidate_recordset(["filing_state"])
            request._file_signed_copy()
            if request.filing_state == "no_rule":
                raise UserError(
                    self.env._("No filing rule matches %s: add one first.", request.reference)
                )
        return True

    # === BUSINESS === #
    def _get_rule_kind(self):
        """The kind filing and outbound rules match this request on (see
        ``digital.sign.mixin._digital_sign_rule_kind``).

        Note: self.ensure_one()
        """
        self.ensure_one()
        record = self._get_linked_mixin_record()
        if record:
            return record._digital_sign_rule_kind(self.sudo())
        return self.sudo().document_kind or "other"

    def _distribute_signed_document(self, pdf, filename):
        attachment = super()._distribute_signed_document(pdf, filename)
        self._file_signed_copy(pdf, filename)
        self._send_signed_copies(attachment)
        return attachment

    def _get_filed_filename(self, filename=None):
        """The name of the filed copy: the signed document's, without the characters dms
        refuses.

        Note: self.ensure_one()
        """
        self.ensure_one()
        name = filename or self.sudo().signed_filename or f"{self.reference}.pdf"
        return re.sub(r"[\\/\x00]+", "-", name)

    def _file_signed_copy(self, pdf=None, filename=None):
        """File the signed document by the first matching filing rule, once.

        Runs in a savepoint as the superuser; never raises. A request already filed is left
        alone (a replay changes nothing). A failure is rolled back alone, recorded
        (``filing_state`` failed, ``filing_error``, a "filing failed" event) and told to the
        owner; the signature is untouched.

        :param bytes pdf: the signed PDF (default: the stored one)
        :param str filename: its name (default: the stored one)
        :return: the filed dms.file (sudo), or an empty recordset
        Note: self.ensure_one()
        """
        self.ensure_one()
        request_sudo = self.sudo()
        File = self.env["dms.file"].sudo()
        if request_sudo.filing_state == "filed" or request_sudo.finalize_state != "done":
            return File
        rule = self.env["digital.sign.filing.rule"]._get_matching(self)[:1]
        if not rule:
            request_sudo.filing_state = "no_rule"
            return File
        if pdf is None:
            pdf = decode_binary(request_sudo.with_context(bin_size=False).signed_pdf)
        try:
            with self.env.cr.savepoint():
                directory_sudo = rule._get_target_directory(self)
                name = unique_name(
                    self._get_filed_filename(filename),
                    directory_sudo.file_ids.mapped("name"),
                    escape_suffix=True,
                )
                dms_file = File.create(
                    {
                        "name": name,
                        "directory_id": directory_sudo.id,
                        "content": base64.b64encode(pdf),
                    }
                )
                dms_file.flush_recordset()
        except Exception as error:  # noqa: BLE001 - filing must never lose the signature
            _logger.warning("Filing of %s failed: %s", self.reference, error)
            self._record_filing_failure(rule, error)
            return File
        request_sudo.write(
            {
                "filing_state": "filed",
                "filing_error": False,
                "filed_file_ids": [Command.link(dms_file.id)],
            }
        )
        self._log_event(
            "filed",
            details={
                "folder": directory_sudo.complete_name,
                "file": dms_file.name,
                "rule": rule.name,
                "sha256": hashlib.sha256(pdf).hexdigest(),
            },
        )
        return dms_file

    def _record_filing_failure(self, rule, error):
        """Record why filing failed and tell the owner (the document stays signed).

        Note: self.ensure_one()
        """
        self.ensure_one()
        reason = error.args[0] if isinstance(error, UserError) and error.args else str(error)
        message = self.env._(
            "The signed copy of %(ref)s could not be filed (rule %(rule)s): %(reason)s",
            ref=self.reference,
            rule=rule.name,
            reason=reason,
        )
        self.sudo().write({"filing_state": "failed", "filing_error": message})
        self._log_event("filing_failed", details={"rule": rule.name, "error": reason})
        self._notify_owner(self.env._("%s: filing failed", self.reference), message)

    def _send_signed_copies(self, attachment):
        """Send the signed document to the extra recipients: the sender's, then every
        matching outbound rule's (an address already listed, or a participant's who signed,
        is not added again). Each gets one e-mail, ever (see ``_queue``).

        :param attachment: the ir.attachment of the signed document
        Note: self.ensure_one()
        """
        self.ensure_one()
        self._add_rule_copy_recipients()
        template = self.env.ref("digital_sign.mail_template_signed_copy")
        pending = self.sudo().copy_recipient_ids.filtered(lambda r: r.state == "pending")
        for recipient in pending:
            recipient._queue(template, attachment)

    def _add_rule_copy_recipients(self):
        """Add the recipients of the outbound rules that match this request (sudo).

        Note: self.ensure_one()
        """
        self.ensure_one()
        request_sudo = self.sudo()
        taken = set(request_sudo.copy_recipient_ids.mapped("email"))
        taken |= {
            email_normalize(participant.email)
            for participant in request_sudo.participant_ids
            if participant.state == "signed" and participant.email
        }
        values = []
        for rule in self.env["digital.sign.outbound.rule"]._get_matching(self):
            for partner, email in rule._get_recipient_addresses():
                if email in taken:
                    continue
                taken.add(email)
                values.append(
                    {
                        "request_id": self.id,
                        "source": "rule",
                        "outbound_rule_id": rule.id,
                        "partner_id": partner.id,
                        "email": email,
                        "message": rule.message,
                        "attachment_ids": [Command.set(rule.attachment_ids.ids)],
                    }
                )
        return self.env["digital.sign.copy.recipient"].sudo().create(values)
