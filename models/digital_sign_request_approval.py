import dataclasses
import hashlib
import json

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain

from .. import const
from ..engine import completion_certificate

REQUEST_MODEL = "digital.sign.request"


class DigitalSignRequest(models.Model):
    """Approval before sending, with OCA ``base_tier_validation``.

    Tier definitions on ``digital.sign.request`` (Settings > Technical > Tier Validations,
    or Digital Signing > Configuration > Approval rules) say which documents need whose
    approval: their domains use the document kind, the sales team, the helpdesk team and the
    quotation's amount (``amount_total``). A draft that matches a rule cannot be sent until
    every matching tier approved it; the check sits in ``_send``, which every path goes
    through (the form, the sending wizard, the external API, bulk senders).

    Reviews are evidence like the rest of the flow: the request creates, decides and deletes
    them on ``sudo()`` recordsets after checking who acts (``env.user`` stays the acting
    user), and ``tier.review`` refuses the same changes from anyone else (models/tier_review.py).
    Every decision goes into the audit trail, and so onto the certificate of completion.

    What the reviewers approved is pinned by a fingerprint (the document's hash, its places
    and the values the rules look at): changing any of it restarts the approval.

    Threat: a salesperson sending a large quotation without the manager's approval, by
    marking their own review approved, by deleting the reviews, or by changing the document
    after it was approved.
    """

    _name = REQUEST_MODEL
    _inherit = [REQUEST_MODEL, "tier.validation"]

    _state_field = "state"
    _state_from = ["draft"]
    _state_to = ["sent"]
    _cancel_state = "cancelled"
    _tier_validation_manual_config = True

    # === FIELDS === #
    validation_status = fields.Selection(evidence="flow")
    amount_total = fields.Monetary(
        "Amount",
        compute="_compute_amount_total",
        currency_field="currency_id",
        help="The linked quotation's total, for approval rules.",
    )
    currency_id = fields.Many2one("res.currency", compute="_compute_amount_total")
    approval_fingerprint = fields.Char(
        readonly=True,
        copy=False,
        evidence="flow",
        help="Digest of what the reviewers were asked to approve (document, places, rule "
        "values): any change asks for approval again.",
    )
    approval_problem = fields.Char("Approval", compute="_compute_approval_problem")

    # === COMPUTE === #
    @api.depends("res_model", "res_id", "company_id")
    def _compute_amount_total(self):
        linked = self._get_linked_mixin_records()
        for request in self:
            record = linked[request.id]
            amount, currency = record._digital_sign_approval_amount() if record else (0.0, None)
            request.amount_total = amount
            request.currency_id = currency or request.company_id.currency_id

    @api.depends(
        "state",
        "review_ids.status",
        "approval_fingerprint",
        "original_sha256",
        "field_ids",
        "team_id",
        "helpdesk_team_id",
    )
    def _compute_approval_problem(self):
        drafts = self.filtered(lambda r: r.state == "draft")
        problems = drafts._get_approval_problems()
        for request in self:
            request.approval_problem = problems.get(request.id) or False

    # === CRUD === #
    def write(self, vals):
        result = super().write(vals)
        if "approval_fingerprint" not in vals:
            self._restart_approval_if_changed()
        return result

    # === TIER VALIDATION (base_tier_validation's public entry points) === #
    def request_validation(self):
        """Ask the reviewers of every matching rule (a button, RPC-callable)."""
        for request in self:
            request.check_access("write")
            if request.state != "draft":
                raise UserError(self.env._("Only a draft document can be submitted for approval."))
            request._assign_fields_to_participants()
            # Pinned before the reviews exist: what they are asked to approve.
            request.sudo().approval_fingerprint = request._get_approval_fingerprint()
        reviews = super(DigitalSignRequest, self.sudo()).request_validation()
        for request in self:
            request_reviews = reviews.filtered(lambda r, req=request: r.res_id == req.id)
            if not request_reviews:
                continue
            request._log_event(
                "approval_requested",
                details={
                    "tiers": ", ".join(request_reviews.mapped("name")),
                    "reviewers": ", ".join(filter(None, request_reviews.mapped("todo_by"))),
                },
            )
        return reviews.with_env(self.env)

    def restart_validation(self):
        """Drop the reviews of a draft; it needs approval again (a button, RPC-callable)."""
        for request in self:
            request.check_access("write")
        self._restart_approval(reason=self.env._("Restarted by %s", self.env.user.name))

    def validate_tier(self):
        self.check_access("read")
        return super().validate_tier()

    def reject_tier(self):
        self.check_access("read")
        return super().reject_tier()

    def _validate_tier(self, tiers=False):
        self.ensure_one()
        before = self._get_review_statuses()
        # Reviews are written by the flow (tier.review refuses users): env.user is unchanged
        # under sudo, so base_tier_validation still approves only this user's own reviews.
        super(DigitalSignRequest, self.sudo())._validate_tier(tiers and tiers.sudo())
        self._log_review_decisions(before, "approved", "approval_approved")

    def _rejected_tier(self, tiers=False):
        self.ensure_one()
        before = self._get_review_statuses()
        super(DigitalSignRequest, self.sudo())._rejected_tier(tiers and tiers.sudo())
        self._log_review_decisions(before, "rejected", "approval_rejected")

    def _tier_validation_check_write_allowed(self, vals):
        """A draft stays editable while it is reviewed or once approved: a change restarts
        the approval (``write``) instead of being refused."""
        return

    # === BUSINESS === #
    def _send(self):
        problems = self._get_approval_problems()
        problem = next((problems[request.id] for request in self if problems[request.id]), "")
        if problem:
            raise UserError(problem)
        # need_validation has no dependencies: computed before the reviews existed (same
        # transaction), base_tier_validation's own check on the state change would see it.
        self.invalidate_recordset(["need_validation"])
        return super()._send()

    def _get_matching_tier_definitions(self, definitions=None):
        """The active tier definitions whose domain matches this request now.

        :param definitions: the candidates when the caller has them (``_get_tier_definitions``)
        Note: self.ensure_one()
        """
        self.ensure_one()
        request_sudo = self.sudo()
        if definitions is None:
            definitions = self._get_tier_definitions()
        return definitions.filtered(
            lambda d: d.company_id in (False, request_sudo.company_id)
            and request_sudo.evaluate_tier(d)
        )

    def _get_tier_definitions(self):
        """The active tier definitions on requests of the companies of these requests (one
        query for a batch of requests)."""
        return (
            self.env["tier.definition"]
            .sudo()
            .with_context(active_test=True)
            .search(
                Domain("model", "=", self._name)
                & Domain("company_id", "in", [False, *self.sudo().company_id.ids])
            )
        )

    def _compute_need_validation(self):
        """base_tier_validation's computation, with the definitions searched once for all
        the requests (a bulk send changes the state of a whole batch at once)."""
        definitions = self._get_tier_definitions()
        for request in self:
            if not isinstance(request.id, int):  # a new record (NewId)
                request.need_validation = False
                continue
            request.need_validation = (
                not request.review_ids
                and bool(request._get_matching_tier_definitions(definitions))
                and request._check_state_from_condition()
            )

    def _get_approval_fingerprint(self):
        """Digest of what reviewers approve: the original's hash, every place (where, what,
        whose), and the values approval rules look at.

        Note: self.ensure_one()
        """
        self.ensure_one()
        request_sudo = self.sudo()
        places = sorted(
            (
                f.page,
                round(f.x0, 1),
                round(f.y0, 1),
                round(f.x1, 1),
                round(f.y1, 1),
                f.kind,
                bool(f.mandatory),
                f.role or "",
                f.participant_id.id or 0,
            )
            for f in request_sudo.field_ids
        )
        content = {
            "original": request_sudo.original_sha256 or "",
            "places": places,
            "kind": request_sudo.document_kind or "",
            "team": request_sudo.team_id.id or 0,
            "helpdesk_team": request_sudo.helpdesk_team_id.id or 0,
            "amount": request_sudo.currency_id.round(request_sudo.amount_total),
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()

    def _get_approval_problems(self):
        """``_get_approval_problem`` of each of these requests (the definitions are searched
        once for all).

        :return: dict {request id: problem or ''}
        """
        definitions = self._get_tier_definitions() if self else None
        return {request.id: request._get_approval_problem(definitions) for request in self}

    def _get_approval_problem(self, definitions=None):
        """Why this draft cannot be sent yet for want of approval, or ''.

        :param definitions: the candidate tier definitions when the caller has them
        Note: self.ensure_one()
        """
        self.ensure_one()
        definitions = self._get_matching_tier_definitions(definitions)
        if not definitions:
            return ""
        reviews = self.sudo().review_ids
        if not reviews:
            return self.env._(
                '%(ref)s needs approval before it is sent (%(rules)s): use "Request Validation".',
                ref=self.reference,
                rules=", ".join(definitions.mapped("name")),
            )
        if any(review.status == "rejected" for review in reviews):
            return self.env._(
                "%s was rejected by its reviewers: change it and request validation again.",
                self.reference,
            )
        waiting = reviews.filtered(lambda r: r.status != "approved")
        if waiting:
            return self.env._(
                "%(ref)s is waiting for approval by %(who)s.",
                ref=self.reference,
                who=", ".join(filter(None, waiting.mapped("todo_by"))) or "?",
            )
        if (
            definitions - reviews.definition_id
            or self.sudo().approval_fingerprint != self._get_approval_fingerprint()
        ):
            return self.env._(
                "%s changed since it was approved: restart the validation.", self.reference
            )
        return ""

    def _restart_approval_if_changed(self):
        """Restart the approval of drafts whose approved content changed."""
        changed = self.filtered(
            lambda r: r.state == "draft"
            and r.sudo().review_ids
            and r.sudo().approval_fingerprint
            and r.sudo().approval_fingerprint != r._get_approval_fingerprint()
        )
        if changed:
            changed._restart_approval(
                reason=self.env._("The document, its places or its rule values changed.")
            )

    def _restart_approval(self, reason):
        """Delete the reviews (flow), log why, and tell the reviewers.

        :param str reason: why the approval starts again (logged)
        """
        for request in self.filtered(lambda r: r.state == "draft" and r.sudo().review_ids):
            request_sudo = request.sudo()
            decided = request_sudo.review_ids.filtered(
                lambda r: r.status in ("approved", "rejected")
            )
            # pylint: disable=super-method-mismatch  # OCA's restart, on the sudo record
            super(DigitalSignRequest, request_sudo).restart_validation()
            request_sudo.approval_fingerprint = False
            request._log_event(
                "approval_reset",
                details={
                    "reason": reason,
                    "decisions_dropped": len(decided),
                },
            )

    def _get_review_statuses(self):
        self.ensure_one()
        return {review.id: review.status for review in self.sudo().review_ids}

    def _log_review_decisions(self, before, status, event_type):
        """Log each review that reached ``status`` since ``before``, with its reason."""
        for review in self.sudo().review_ids.sorted("sequence"):
            if review.status == status and before.get(review.id) != status:
                self._log_event(
                    event_type,
                    details={
                        "tier": review.name,
                        "by": review.done_by.name,
                        "reason": review.comment or "",
                    },
                )

    def _get_approval_decisions(self):
        """The decisions of the last approval round, from the audit trail (events outlive
        the reviews), oldest first: ``[(event, details dict)]``.

        Note: self.ensure_one()
        """
        self.ensure_one()
        decisions = []
        for event in self.sudo().event_ids.sorted("sequence"):
            if event.event_type == "approval_reset":
                decisions = []
            elif event.event_type in ("approval_approved", "approval_rejected"):
                decisions.append((event, json.loads(event.details or "{}")))
        return decisions

    def _prepare_completion_data(self, interim=False):
        data = super()._prepare_completion_data(interim=interim)
        labels = dict(const.EVENT_TYPES)
        approvals = tuple(
            completion_certificate.CompletionApproval(
                tier=details.get("tier", ""),
                decision=labels[event.event_type],
                by=details.get("by", ""),
                at=self._format_time(event.event_date),
                reason=details.get("reason", ""),
            )
            for event, details in self._get_approval_decisions()
        )
        return dataclasses.replace(data, approvals=approvals)
