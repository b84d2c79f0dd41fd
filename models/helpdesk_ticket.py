import base64
import logging

from markupsafe import Markup

from odoo import fields, models
from odoo.exceptions import UserError

from .. import const

_logger = logging.getLogger(__name__)

STAGE_SETTINGS = {
    "signed": "digital_sign.helpdesk_stage_signed_id",
    "rejected": "digital_sign.helpdesk_stage_rejected_id",
}


class HelpdeskTicket(models.Model):
    """Documents sent for signature from a ticket, during the conversation with the
    customer (the contact-centre flow) or as a standard request. A ticket may carry several
    documents at once, but never two live ones with the same name."""

    _name = "helpdesk.ticket"
    _inherit = ["helpdesk.ticket", "digital.sign.mixin"]

    # === CRUD === #
    def write(self, vals):
        result = super().write(vals)
        if vals.get("stage_id"):
            self.filtered(
                lambda t: t.stage_id.fold or t.stage_id.closed
            )._digital_sign_end_conversation()
        return result

    # === BUSINESS: the conversation ends === #
    def _digital_sign_end_conversation(self):
        """The ticket closed (moved to a folded or closed stage): a document sent during the
        conversation dies with it. Its links stop working for signing and say why."""
        for ticket in self:
            # whoever closes the ticket, its conversation documents die with it
            conversation = (
                ticket.sudo()
                ._digital_sign_live_requests()
                .filtered(
                    lambda r: r.sending_mode == "conversation" and r.state in ("sent", "viewed")
                )
            )
            conversation._set_cancelled(
                self.env._(
                    "The conversation of ticket %(ticket)s ended (%(stage)s).",
                    ticket=ticket.display_name,
                    stage=ticket.stage_id.name,
                ),
                links_explain=True,
            )

    # === BUSINESS: digital.sign.mixin hooks === #
    def _digital_sign_get_partner(self):
        self.ensure_one()
        return self.partner_id

    def _digital_sign_get_default_participants(self):
        self.ensure_one()
        if self.partner_id:
            return super()._digital_sign_get_default_participants()
        if not (self.partner_name or self.partner_email):
            return []
        # A ticket from an unknown sender: its name and address are all we have.
        return [
            {
                "name": self.partner_name or self.partner_email,
                "email": self.partner_email or False,
                "role": self.env._("Customer"),
                "signing_order": 1,
                "mandatory": True,
            }
        ]

    def _digital_sign_default_pdf_source(self):
        """The agent uploads the PDF, or picks one the ticket already holds."""
        self.ensure_one()
        has_pdf = self.env["ir.attachment"].search_count(
            [
                ("res_model", "=", self._name),
                ("res_id", "=", self.id),
                ("mimetype", "=", "application/pdf"),
            ],
            limit=1,
        )
        return "attachment" if has_pdf else "upload"

    def _digital_sign_wizard_features(self):
        return {"conversation"}

    def _digital_sign_rule_kind(self, request):
        return "ticket"

    def _digital_sign_replaces_live_requests(self):
        # Several documents may be out on one ticket; a new one never replaces another.
        return False

    def _digital_sign_handle_live_requests(self, wizard):
        """A document named like a live one (draft or out for signature) of this ticket is
        refused, and the message names it; other documents stay as they are.

        :raise UserError: when a live request of this ticket has the wizard's name
        :return: an empty recordset (nothing is replaced)
        Note: self.ensure_one()
        """
        self.ensure_one()
        name = (wizard.name or "").strip().casefold()
        same = (
            self._digital_sign_live_requests()
            .filtered(lambda r: (r.name or "").strip().casefold() == name)
            .sorted("id")[-1:]
        )
        if same:
            states = dict(const.REQUEST_STATES)
            raise UserError(
                self.env._(
                    'This ticket already has a live document named "%(name)s": %(ref)s (%(state)s). '
                    "Wait until it is signed, cancel it, or give this document another name.",
                    name=same.name,
                    ref=same.reference,
                    state=states.get(same.state, same.state),
                )
            )
        return self.env["digital.sign.request"]

    def _digital_sign_prepare_request_values(self, wizard):
        values = super()._digital_sign_prepare_request_values(wizard)
        pdf = wizard._get_uploaded_pdf()
        if pdf:
            filename = (
                wizard.pdf_filename if wizard.pdf_source == "upload" else wizard.attachment_id.name
            )
            values.update(
                {
                    "original_pdf": base64.b64encode(pdf),
                    "original_filename": filename or f"{wizard.name}.pdf",
                }
            )
        values.update(
            {
                "helpdesk_team_id": self.team_id.id,
                "user_id": self._digital_sign_get_owner().id,
                "team_id": False,  # a ticket's document follows the helpdesk team, not a sales team
            }
        )
        return values

    def _digital_sign_get_owner(self):
        """The owner of a new request: the ticket's agent, else whoever sends it. The sender
        stays the owner when they could not read a request owned by the agent (not in the
        ticket's team), so they never lose sight of what they just sent.

        Note: self.ensure_one()
        """
        self.ensure_one()
        user = self.env.user
        agent = self.user_id
        if not agent or agent == user:
            return user
        if user.has_group("digital_sign.group_manager") or (
            self.team_id and self.team_id in user.helpdesk_team_ids
        ):
            return agent
        return user

    def _digital_sign_after_send(self, request, wizard):
        """During a conversation, open the ticket's message composer with the signing link
        and the customer as recipient, so the agent sends it as a reply. Otherwise tell the
        agent it was sent.

        The link is a credential: the reply is an internal note addressed to the customer
        alone. The customer receives it by e-mail; followers are not notified, and the
        ticket's portal page (which shows no internal notes) never shows it.

        :param request: the digital.sign.request just sent
        :param wizard: the digital.sign.request.send record, or None (sent from the request)
        :return: an action
        Note: self.ensure_one()
        """
        self.ensure_one()
        if request.sending_mode != "conversation":
            return super()._digital_sign_after_send(request, wizard)
        participant_sudo = self._digital_sign_conversation_participant(request)
        url = participant_sudo._get_signing_url() if participant_sudo else ""
        if not url:
            return super()._digital_sign_after_send(request, wizard)
        recipient = participant_sudo.partner_id or self.partner_id
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reply with the signing link"),
            "res_model": "mail.compose.message",
            "view_mode": "form",
            "views": [
                (
                    self.env.ref("digital_sign.mail_compose_message_view_form_conversation").id,
                    "form",
                )
            ],
            "target": "new",
            "context": {
                "default_model": self._name,
                "default_res_ids": self.ids,
                "default_composition_mode": "comment",
                "default_message_type": "comment",
                "default_subtype_xmlid": "mail.mt_note",
                "default_partner_ids": recipient.ids,
                "default_body": self._digital_sign_conversation_body(request, url, recipient),
                "default_email_add_signature": False,
            },
        }

    def _digital_sign_conversation_participant(self, request):
        """The participant whose link goes into the conversation: the ticket's customer, else
        the first one invited.

        :return: the digital.sign.participant, sudo (its link is read), or an empty recordset
        Note: self.ensure_one()
        """
        self.ensure_one()
        invited_sudo = (
            request.sudo()
            .participant_ids.filtered(lambda p: p.state in ("sent", "viewed"))
            .sorted(
                lambda p: (p.partner_id != self.partner_id, not p.is_primary, p.signing_order, p.id)
            )
        )
        return invited_sudo[:1]

    def _digital_sign_conversation_body(self, request, url, recipient):
        """The reply that carries the signing link, in the recipient's language."""
        self.ensure_one()
        env = self.with_context(lang=recipient.lang or self.partner_id.lang or self.env.lang).env
        minutes = 0
        if request.deadline:
            seconds = (request.deadline - fields.Datetime.now()).total_seconds()
            minutes = max(1, round(seconds / 60))
        intro = env._('Please read and sign "%(name)s" here:', name=request.name)
        validity = (
            env._("The link works for %(minutes)s minutes; it can be used once.", minutes=minutes)
            if minutes
            else ""
        )
        return Markup('<p>%s<br/><a href="%s">%s</a></p><p>%s</p>') % (intro, url, url, validity)

    def _digital_sign_sync(self, request):
        """The ticket shows the document still waiting for a signature (the newest one) or,
        when none waits, the newest document."""
        Request = self.env["digital.sign.request"].sudo()
        for ticket in self.sudo():
            requests = Request.search(
                [("res_model", "=", ticket._name), ("res_id", "=", ticket.id)], order="id desc"
            )
            current = (
                requests.filtered(lambda r: r.state in const.OPEN_REQUEST_STATES)[:1]
                or requests[:1]
            )
            vals = {
                "digital_sign_request_id": current.id,
                "digital_sign_state": current.state if current else "none",
            }
            if (ticket.digital_sign_request_id.id, ticket.digital_sign_state) != (
                vals["digital_sign_request_id"],
                vals["digital_sign_state"],
            ):
                ticket.write(vals)

    def _digital_sign_on_completed(self, request):
        """Signed (the signed PDF is already in the chatter): move the ticket to the stage of
        the settings and give its agent an activity."""
        self.ensure_one()
        self._digital_sign_move_to_stage("signed", request)
        signer = request.participant_ids.filtered(lambda p: p.state == "signed").sorted(
            lambda p: (not p.is_primary, p.signing_order, p.id)
        )[:1]
        self._digital_sign_notify_agent(
            request,
            self.env._("Signed: %s", request.name),
            self.env._(
                "%(customer)s signed %(doc)s (%(ref)s). The signed document is in the "
                "ticket's messages.",
                customer=signer.name or self.partner_id.name or "-",
                doc=request.name,
                ref=request.reference,
            ),
        )

    def _digital_sign_on_request_state(self, request):
        self.ensure_one()
        names = {"doc": request.name, "ref": request.reference}
        if request.state == "rejected":
            body = self.env._(
                "%(doc)s (%(ref)s) was rejected. Reason: %(reason)s",
                **names,
                reason=request.reject_reason or "-",
            )
        elif request.state == "expired":
            body = self.env._("%(doc)s (%(ref)s) expired before it was signed.", **names)
        elif request.state == "cancelled":
            body = self.env._(
                "%(doc)s (%(ref)s) was cancelled: %(reason)s",
                **names,
                reason=request.cancel_reason or "-",
            )
        else:
            return
        self.message_post(body=body, subtype_xmlid="mail.mt_note")
        if request.state == "rejected":
            self._digital_sign_move_to_stage("rejected", request)
            self._digital_sign_notify_agent(request, self.env._("Rejected: %s", request.name), body)

    # === BUSINESS === #
    def _digital_sign_move_to_stage(self, outcome, request):
        """Move the ticket to the stage the settings give for ``outcome`` ('signed' or
        'rejected'); an empty setting, or a stage of another team or company, moves nothing.

        :return: True when the ticket moved
        Note: self.ensure_one()
        """
        self.ensure_one()
        value = self.env["ir.config_parameter"].sudo().get_param(STAGE_SETTINGS[outcome])
        try:
            stage_id = int(value or 0)
        except ValueError:
            _logger.warning("Setting %s holds no stage id", STAGE_SETTINGS[outcome])
            return False
        stage = self.env["helpdesk.ticket.stage"].sudo().browse(stage_id).exists()
        if not stage or stage == self.stage_id:
            return False
        if (stage.team_ids and self.team_id not in stage.team_ids) or (
            stage.company_id and stage.company_id != self.company_id
        ):
            self.message_post(
                body=self.env._(
                    '%(ref)s: the ticket was not moved to "%(stage)s", a stage of another team or '
                    "company.",
                    ref=request.reference,
                    stage=stage.name,
                ),
                subtype_xmlid="mail.mt_note",
            )
            return False
        self.sudo().stage_id = stage
        return True

    def _digital_sign_notify_agent(self, request, summary, note):
        """A to-do activity for the ticket's agent (or the request's owner), which notifies
        them."""
        self.ensure_one()
        agent = self.user_id or request.user_id
        if agent:
            self.sudo().activity_schedule(
                "mail.mail_activity_data_todo", user_id=agent.id, summary=summary, note=note
            )
