import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain

_logger = logging.getLogger(__name__)

BULK_STATES = [
    ("running", "Sending"),
    ("paused", "Waiting for the mail queue"),
    ("done", "Done"),
    ("cancelled", "Cancelled"),
]
LINE_STATES = [
    ("pending", "To send"),
    ("sent", "Sent"),
    ("refused", "Refused"),
]
DEFAULT_BATCH_SIZE = 50
DEFAULT_MAX_QUEUE = 5000  # outgoing mails/SMS queued at most before the bulk send waits
QUEUE_RETRY_MINUTES = 5


class DigitalSignBulk(models.Model):
    """One template sent to many records (contacts, tickets, quotations...), each with its
    own request, link and audit trail.

    The work runs in the background (``_cron_process_bulk_sends``) in batches that commit
    their progress: a line becomes ``sent`` in the same transaction that creates and sends
    its request and queues its invitation, so after a crash or a restart the next run goes
    on exactly where the last commit left it (no one invited twice, no one skipped). A
    recipient that cannot be reached is ``refused`` with the reason; the others go on.
    Invitations are only queued (mail.mail, sms.sms): Odoo's queues send them at their own
    pace, and the bulk send waits while these queues are longer than the setting
    ``digital_sign.bulk_max_queue``.

    Only the flow writes a bulk send (users read their own; managers read all).
    """

    _name = "digital.sign.bulk"
    _description = "Bulk Signature Send"
    _order = "id desc"

    # === FIELDS === #
    name = fields.Char(required=True, readonly=True)
    template_id = fields.Many2one(
        "digital.sign.template", required=True, readonly=True, ondelete="restrict"
    )
    res_model = fields.Char("Sent To", required=True, readonly=True)
    user_id = fields.Many2one(
        "res.users",
        string="Sender",
        required=True,
        readonly=True,
        index=True,
        default=lambda self: self.env.user,
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        readonly=True,
        index=True,
        default=lambda self: self.env.company,
    )
    state = fields.Selection(
        BULK_STATES, default="running", required=True, readonly=True, index=True
    )
    line_ids = fields.One2many(
        "digital.sign.bulk.line", "bulk_id", string="Recipients", readonly=True
    )
    total_count = fields.Integer("Recipients", compute="_compute_counts")
    sent_count = fields.Integer("Sent", compute="_compute_counts")
    refused_count = fields.Integer("Refused", compute="_compute_counts")
    pending_count = fields.Integer("To Send", compute="_compute_counts")
    progress = fields.Float(compute="_compute_counts")

    # === COMPUTE === #
    def _compute_counts(self):
        groups = (
            self.env["digital.sign.bulk.line"]
            .sudo()
            ._read_group([("bulk_id", "in", self.ids)], ["bulk_id", "state"], ["__count"])
        )
        counts = {(bulk.id, state): count for bulk, state, count in groups}
        for bulk in self:
            sent = counts.get((bulk.id, "sent"), 0)
            refused = counts.get((bulk.id, "refused"), 0)
            pending = counts.get((bulk.id, "pending"), 0)
            total = sent + refused + pending
            bulk.update(
                {
                    "total_count": total,
                    "sent_count": sent,
                    "refused_count": refused,
                    "pending_count": pending,
                    "progress": 100.0 * (sent + refused) / total if total else 100.0,
                }
            )

    # === ACTIONS === #
    def action_cancel(self):
        """Stop sending: the recipients not reached yet are not invited (the documents
        already sent stay out)."""
        for bulk in self:
            bulk.check_access("read")
            if bulk.user_id != self.env.user and not self.env.user.has_group(
                "digital_sign.group_manager"
            ):
                raise UserError(self.env._("Only the sender or a manager can stop it."))
            if bulk.state in ("running", "paused"):
                bulk.sudo().state = "cancelled"

    def action_view_requests(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "digital_sign.digital_sign_request_action"
        )
        action["domain"] = [("id", "in", self.line_ids.request_id.ids)]
        action["context"] = {"create": False}
        return action

    # === BUSINESS === #
    @api.model
    def _start(self, template, records):
        """Create the bulk send of ``template`` to ``records`` (as the current user, who must
        be able to send on them) and wake the scheduled action.

        :return: the new digital.sign.bulk
        """
        template.check_access("read")
        template._check_usable()
        records.check_access("write")
        manual = template.role_ids.filtered(lambda r: r.fill_from == "manual" and r.mandatory)
        if manual:
            raise UserError(
                self.env._(
                    "%(roles)s must be filled by the sender: send this template one by one.",
                    roles=", ".join(manual.mapped("name")),
                )
            )
        bulk = self.sudo().create(
            {
                "name": self.env._(
                    "%(template)s to %(count)s %(what)s",
                    template=template.name,
                    count=len(records),
                    what=self.env["ir.model"]._get(records._name).name,
                ),
                "template_id": template.id,
                "res_model": records._name,
                "user_id": self.env.user.id,
                "company_id": self.env.company.id,
                "line_ids": [
                    fields.Command.create({"res_id": res_id, "sequence": index})
                    for index, res_id in enumerate(records.ids)
                ],
            }
        )
        self.env.ref("digital_sign.ir_cron_bulk_send").sudo()._trigger()
        return bulk.sudo(False)

    def _get_batch_size(self):
        value = self.env["ir.config_parameter"].sudo().get_param("digital_sign.bulk_batch_size")
        return int(value) if value else DEFAULT_BATCH_SIZE

    def _queue_is_full(self):
        """Whether Odoo's outgoing mail or SMS queue holds more than the setting allows."""
        limit = self.env["ir.config_parameter"].sudo().get_param("digital_sign.bulk_max_queue")
        limit = int(limit) if limit else DEFAULT_MAX_QUEUE
        mails = (
            self.env["mail.mail"].sudo().search_count([("state", "=", "outgoing")], limit=limit + 1)
        )
        sms = self.env["sms.sms"].sudo().search_count([("state", "=", "outgoing")], limit=limit + 1)
        return max(mails, sms) > limit

    @api.model
    def _cron_process_bulk_sends(self):
        """Send the next recipients of running bulk sends, one committed step each."""
        Line = self.env["digital.sign.bulk.line"].sudo()
        domain = Domain("state", "=", "pending") & Domain(
            "bulk_id.state", "in", ("running", "paused")
        )
        if self._queue_is_full():
            self.sudo().search([("state", "=", "running")]).state = "paused"
            self.env["ir.cron"]._commit_progress(remaining=0)
            self.env.ref("digital_sign.ir_cron_bulk_send")._trigger(
                fields.Datetime.now() + timedelta(minutes=QUEUE_RETRY_MINUTES)
            )
            return
        self.sudo().search([("state", "=", "paused")]).state = "running"
        lines = Line.search(
            domain, order="bulk_id, sequence, id", limit=self._get_batch_size()
        ).try_lock_for_update()
        self.env["ir.cron"]._commit_progress(remaining=Line.search_count(domain))
        for batch in lines.grouped("bulk_id").values():
            batch._process_batch()
            # One commit a batch: its recipients are all sent, or none (then the next run
            # sends them), never one twice.
            if not self.env["ir.cron"]._commit_progress(len(batch)):
                break
        self._close_finished()

    def _close_finished(self):
        for bulk in self.sudo().search([("state", "in", ("running", "paused"))]):
            if not bulk.line_ids.filtered(lambda line: line.state == "pending"):
                bulk.state = "done"


class DigitalSignBulkLine(models.Model):
    _name = "digital.sign.bulk.line"
    _description = "Bulk Signature Send Recipient"
    _order = "bulk_id, sequence, id"

    # === FIELDS === #
    bulk_id = fields.Many2one(
        "digital.sign.bulk", required=True, index=True, ondelete="cascade", readonly=True
    )
    sequence = fields.Integer(readonly=True)
    res_id = fields.Integer("Record ID", required=True, readonly=True)
    res_name = fields.Char("Recipient", compute="_compute_res_name")
    state = fields.Selection(
        LINE_STATES, default="pending", required=True, readonly=True, index=True
    )
    reason = fields.Text(readonly=True)
    request_id = fields.Many2one(
        "digital.sign.request", readonly=True, index="btree_not_null", ondelete="set null"
    )

    # === SQL === #
    _record_uniq = models.Constraint(
        "UNIQUE(bulk_id, res_id)", "A record appears once in a bulk send."
    )

    # === COMPUTE === #
    @api.depends("bulk_id.res_model", "res_id")
    def _compute_res_name(self):
        for line in self:
            record = self.env[line.bulk_id.res_model].browse(line.res_id).exists()
            line.res_name = record.sudo().display_name if record else False

    # === BUSINESS === #
    def _process_batch(self):
        """Send these recipients (of one bulk send) their own requests, created and sent
        together, and mark the lines, all in one savepoint: both happen, or neither. Should
        anything stop the batch, each line is processed on its own (``_process``), so one
        recipient's problem refuses that recipient only.
        """
        if len(self) == 1:
            self._process()
            return
        try:
            with self.env.cr.savepoint():
                self._send_batch()
        except Exception as error:  # noqa: BLE001 - then one by one, each with its reason
            _logger.info(
                "Bulk send %s: a batch of %s stopped (%s); sending one by one",
                self.bulk_id.id,
                len(self),
                type(error).__name__,
            )
            for line in self:
                line._process()

    def _send_batch(self):
        """Create and send the requests of these lines (one bulk send) in one batch, with
        the sender's rights; a recipient who cannot be reached is refused with the reason.

        :raise Exception: whatever stopped the batch (the caller goes one by one)
        """
        bulk = self.bulk_id
        bulk.ensure_one()
        env = self._get_sender_env()
        template = bulk.template_id.with_env(env)
        records = {
            record.id: record
            for record in env[bulk.res_model].browse(self.mapped("res_id")).exists()
        }
        to_send, batch = [], []
        for line in self:
            record = records.get(line.res_id)
            problem = "" if record else self.env._("The record no longer exists.")
            participants = line._prepare_participants(template, record) if record else []
            for values in participants:
                problem = problem or template._get_contact_problem(values)
            if problem:
                line.write({"state": "refused", "reason": problem})
                continue
            to_send.append(line)
            batch.append((record, participants, None))
        if not batch:
            return
        requests = template._create_requests(batch)
        requests.action_send()
        for line, request in zip(to_send, requests, strict=True):
            line.write({"state": "sent", "request_id": request.id, "reason": False})

    def _process(self):
        """Send this recipient its own request, as the sender, and mark the line in the same
        savepoint: both happen, or neither (then the line is refused with the reason, or
        stays pending when the whole transaction is lost).

        Note: self.ensure_one()
        """
        self.ensure_one()
        bulk = self.bulk_id
        try:
            with self.env.cr.savepoint():
                request = self._send_as_sender()
                self.write({"state": "sent", "request_id": request.id, "reason": False})
        except (UserError, ValidationError) as error:
            self.write({"state": "refused", "reason": error.args[0]})
        except Exception as error:  # noqa: BLE001 - one bad record must not stop the others
            _logger.exception("Bulk send %s: recipient %s failed", bulk.id, self.res_id)
            self.write(
                {
                    "state": "refused",
                    "reason": self.env._(
                        "Unexpected error (%s): see the server log.", type(error).__name__
                    ),
                }
            )

    def _send_as_sender(self):
        """Create and send the request of this line with the sender's rights.

        :return: the sent digital.sign.request
        :raise UserError: the recipient cannot be reached (the message says why)
        """
        self.ensure_one()
        env = self._get_sender_env()
        record = env[self.bulk_id.res_model].browse(self.res_id).exists()
        if not record:
            raise UserError(self.env._("The record no longer exists."))
        template = self.bulk_id.template_id.with_env(env)
        participants = self._prepare_participants(template, record)
        for values in participants:
            problem = template._get_contact_problem(values)
            if problem:
                raise UserError(problem)
        request = template._create_request(record, participants)
        request.action_send()
        return request

    def _get_sender_env(self):
        """The environment of the bulk send's sender, in its company. The page images of
        each document are rendered when it is first opened, not here (the same pages for
        every recipient: the time goes to sending)."""
        bulk = self.bulk_id
        bulk.ensure_one()
        return self.env(
            user=bulk.user_id,
            su=False,
            context=dict(
                self.env.context,
                allowed_company_ids=[bulk.company_id.id],
                digital_sign_lazy_display=True,
            ),
        )

    @api.model
    def _prepare_participants(self, template, record):
        """The participants of ``record``'s request: the template's roles filled from the
        record, without the optional roles nobody fills."""
        return [
            values
            for values in template._prepare_participants(record)
            if values.get("name") or values["mandatory"]
        ]
