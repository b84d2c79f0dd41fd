import dataclasses
import json

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .. import const
from ..engine import pdf_stamp
from ..engine.errors import EngineError
from ..utils import engine_error_message

SEAL_KEEPER_GROUP = "digital_sign.group_seal_keeper"
COMPANY_SEAL_ACTIVITY = "digital_sign.mail_activity_type_company_seal"


class DigitalSignRequest(models.Model):
    """The company signs too: a participant of kind "company" signs in the signing order
    like anyone else, with the company's seal image (Settings > Digital Signing).

    It has no link and gets no message. When its turn comes, every seal keeper of the
    company (group "Seal keepers", which no other group implies) gets an activity; one of
    them opens the document, reviews it (``digital.sign.participant.company.seal``) and
    applies the seal, which the participant's own flow records
    (``digital.sign.participant._apply_company_seal``): the seal on its places, the user who
    applied it in the audit trail and on the certificate of completion. Then the signing
    order goes on. The PAdES seal of the final document is unchanged: the company's
    technical seal (``_seal_final_document``).

    Threat: the company's seal applied by someone who is not a seal keeper (a salesperson
    through the external API, a customer through a signing link), or on a document nobody
    reviewed.
    """

    _inherit = "digital.sign.request"

    # === FIELDS === #
    company_seal_due = fields.Boolean(
        "Waiting for the Company Seal",
        compute="_compute_company_seal_due",
        help="It is the company's turn: a seal keeper reviews the document and applies the "
        "company seal.",
    )

    # === COMPUTE === #
    @api.depends(
        "state",
        "deadline",
        "participant_ids.state",
        "participant_ids.participant_kind",
        "participant_ids.mandatory",
        "participant_ids.signing_order",
    )
    def _compute_company_seal_due(self):
        now = fields.Datetime.now()
        for request in self:
            company = request._get_company_signatory()
            request.company_seal_due = bool(
                company
                and request.state in const.OPEN_REQUEST_STATES
                and company.state in ("sent", "viewed")
                and not (request.deadline and request.deadline < now)
                and company._is_turn()
            )

    # === ACTIONS === #
    def action_open_company_seal(self):
        """Open the review of the document before the company seal is applied (a button,
        RPC-callable with any id: seal keepers of the document's company only).

        :raise AccessError: the user is not a seal keeper of the document's company
        :raise UserError: the seal cannot be applied now (the message says why)
        """
        self.ensure_one()
        self._check_seal_keeper(self.company_id)
        self.check_access("read")
        participant = self._get_company_signatory()
        problem = (
            participant._get_company_seal_problem()
            if participant
            else self.env._("%s has no company signatory.", self.reference)
        )
        if problem:
            raise UserError(problem)
        wizard = self.env["digital.sign.participant.company.seal"].create(
            {"participant_id": participant.id}
        )
        participant._mark_viewed_by_keeper()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Apply the company seal on %s", self.reference),
            "res_model": wizard._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"dialog_size": "extra-large"},
        }

    # === BUSINESS === #
    @api.model
    def _check_seal_keeper(self, company):
        """Raise unless the current user is a seal keeper of ``company``.

        :raise AccessError: the user is not in the group "Seal keepers", or not of
            ``company``
        """
        user = self.env.user
        if not user.has_group(SEAL_KEEPER_GROUP) or company not in user.company_ids:
            raise AccessError(
                self.env._(
                    "Only the seal keepers of %s may apply its seal.",
                    company.name or self.env.company.name,
                )
            )

    @api.model
    def _get_seal_keepers(self, company):
        """The users who may apply the seal of ``company`` (internal, active, of it)."""
        return (
            self.env.ref(SEAL_KEEPER_GROUP)
            .sudo()
            .all_user_ids.filtered(lambda u: u.active and not u.share and company in u.company_ids)
        )

    def _get_company_signatory(self):
        """The participant of kind "company" (empty when there is none).

        Note: self.ensure_one()
        """
        self.ensure_one()
        return self.participant_ids.filtered(lambda p: p.participant_kind == "company")[:1]

    def _check_ready_to_send(self):
        super()._check_ready_to_send()
        company = self._get_company_signatory()
        if not company:
            return
        if self.provider_id.support_remote_signing:
            raise UserError(
                self.env._(
                    "%(provider)s collects the signatures at its own service: the company seal "
                    "is applied with the built-in signing page only. Choose it, or remove the "
                    "company from the participants.",
                    provider=self.provider_id.name,
                )
            )
        if not self.company_id._digital_sign_get_company_seal():
            raise UserError(
                self.env._(
                    "%s has no company seal image: upload it in Settings > Digital Signing.",
                    self.company_id.name,
                )
            )
        if not self._get_seal_keepers(self.company_id):
            raise UserError(
                self.env._(
                    'No user of %s may apply its seal: add one to the group "Seal keepers" first.',
                    self.company_id.name,
                )
            )
        places = self.field_ids.filtered(lambda f: f.participant_id == company)
        unfit = places.filtered(lambda f: f.kind not in const.COMPANY_SEAL_FIELD_KINDS)
        if unfit:
            raise UserError(
                self.env._(
                    "The company seal fills signature, initials and date places only: "
                    "%(places)s cannot be the company's.",
                    places=", ".join(unfit.mapped("display_name")),
                )
            )
        if not places.filtered(lambda f: f.kind in ("signature", "initials")):
            raise UserError(
                self.env._(
                    'The company has no signature place: add one for the role "%s".',
                    company.role,
                )
            )

    def _invite_company_signatory(self, participant):
        """The company's turn came: no link and no message, an activity "Apply the company
        seal" for each seal keeper of the company (the owner is told when there is none).

        :param participant: the company participant of this request
        Note: self.ensure_one()
        """
        self.ensure_one()
        participant.sudo().write({"state": "sent", "invited_at": fields.Datetime.now()})
        keepers = self._get_seal_keepers(self.company_id)
        self._log_event(
            "invited",
            participant=participant,
            channel="backend",
            details={"to": "seal keepers", "keepers": ", ".join(keepers.mapped("name"))},
        )
        if not keepers:
            self._notify_owner(
                self.env._("%s waits for the company seal", self.reference),
                self.env._(
                    'No user of %(company)s may apply its seal: add one to the group "Seal '
                    'keepers" so that %(ref)s can go on.',
                    company=self.company_id.name,
                    ref=self.reference,
                ),
            )
            return True
        request_sudo = self.sudo()
        deadline = self.deadline and fields.Date.to_date(self.deadline)
        for keeper in keepers:
            request_sudo.activity_schedule(
                COMPANY_SEAL_ACTIVITY,
                date_deadline=deadline or None,
                user_id=keeper.id,
                summary=self.env._("Apply the company seal"),
                note=self.env._(
                    '%(name)s waits for the seal of %(company)s: review it and use "Apply '
                    'company seal".',
                    name=self.name,
                    company=self.company_id.name,
                ),
            )
        return True

    def _get_company_seal_activities(self):
        activity_type = self.env.ref(COMPANY_SEAL_ACTIVITY, raise_if_not_found=False)
        return self.sudo().activity_ids.filtered(lambda a: a.activity_type_id == activity_type)

    def _close_company_seal_activities(self):
        """The seal was applied: the current user's activity is done, the other keepers'
        are removed."""
        for request in self:
            activities = request._get_company_seal_activities()
            mine = activities.filtered(lambda a: a.user_id == self.env.user)
            (activities - mine).unlink()
            if mine:
                mine.action_feedback(feedback=self.env._("Company seal applied."))

    def _update_state(self, target, allowed, message=None):
        changed = super()._update_state(target, allowed, message=message)
        if target not in const.OPEN_REQUEST_STATES:
            # Closed (signed, rejected, cancelled, expired): no seal is due any more.
            for request in changed:
                request._get_company_seal_activities().unlink()
        return changed

    def _get_company_seal_review_pdf(self):
        """The document as the seal keeper reviews it: the original as participants see it
        (anchors hidden), with the values of those who signed before the company, and a
        dashed frame around each place of the company (what its seal or date will fill).

        :return: PDF bytes
        Note: self.ensure_one()
        """
        self.ensure_one()
        company = self._get_company_signatory()
        kinds = dict(
            self.env["digital.sign.field"]._fields["kind"]._description_selection(self.env)
        )
        frames = [
            pdf_stamp.StampValue(
                **field._get_box(),
                text=kinds.get(field.kind, "")
                if field.kind == "date"
                else self.env._("Company seal"),
                outline=True,
            )
            for field in self.field_ids.sudo()
            if company and field.participant_id == company and not field.filled_at
        ]
        try:
            return pdf_stamp.stamp_document(
                self._get_original_bytes(),
                self._prepare_stamp_values() + frames,
                hide_rects=self._get_hide_rects(),
            )
        except EngineError as error:
            raise UserError(engine_error_message(self.env, error)) from error

    def _get_company_seal_applications(self):
        """Who applied the company seal, from the audit trail: ``{participant id: "Name
        (login)"}``.

        Note: self.ensure_one()
        """
        self.ensure_one()
        applied = {}
        for event in self.sudo().event_ids.sorted("sequence"):
            if event.event_type == "company_seal_applied":
                details = json.loads(event.details or "{}")
                applied[event.participant_id.id] = "%s (%s)" % (
                    details.get("user", ""),
                    details.get("login", ""),
                )
        return applied

    def _prepare_completion_data(self, interim=False):
        data = super()._prepare_completion_data(interim=interim)
        applied = self._get_company_seal_applications()
        participants = tuple(
            dataclasses.replace(entry, is_company=True, company_seal_by=applied.get(p.id, ""))
            if p.participant_kind == "company"
            else entry
            for p, entry in zip(self.sudo().participant_ids, data.participants, strict=True)
        )
        return dataclasses.replace(data, participants=participants)
