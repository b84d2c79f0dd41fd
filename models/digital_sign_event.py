import json
import logging
import secrets
from datetime import UTC, datetime

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from .. import const
from ..engine import audit

_logger = logging.getLogger(__name__)


class DigitalSignEvent(models.Model):
    """The audit trail: append-only, hash-chained per request.

    Each row stores ``hash = sha256(prev_hash || canonical_json(row))``; the request keeps the
    head of its chain, so removing the last rows is detected too. Nobody, administrators
    included, can change or delete a row through the ORM.

    Personal data (IP address, user agent) enters the chain through a salted digest
    (``personal_digest``), so the retention job can erase it, salt included, after the
    configured number of years and the chain still verifies.
    """

    _name = "digital.sign.event"
    _description = "Signature Audit Event"
    _order = "request_id, sequence desc, id desc"
    _rec_name = "event_type"

    # === FIELDS === #
    request_id = fields.Many2one(
        "digital.sign.request", required=True, index=True, ondelete="restrict", readonly=True
    )
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    sequence = fields.Integer(readonly=True)
    event_type = fields.Selection(const.EVENT_TYPES, string="Event", required=True, readonly=True)
    event_date = fields.Datetime("Date", required=True, readonly=True, index=True)
    timestamp = fields.Char("UTC Timestamp", readonly=True, help="UTC time with milliseconds.")
    participant_id = fields.Many2one(
        "digital.sign.participant", readonly=True, ondelete="restrict", index="btree_not_null"
    )
    actor_id = fields.Many2one("res.users", string="By User", readonly=True)
    ip = fields.Char("IP Address", readonly=True, groups="digital_sign.group_manager")
    user_agent = fields.Char(readonly=True, groups="digital_sign.group_manager")
    personal_salt = fields.Char(readonly=True, groups="base.group_system", copy=False)
    personal_digest = fields.Char(
        readonly=True, help="Salted SHA-256 of the IP address and user agent, covered by the chain."
    )
    anonymized_on = fields.Datetime(
        "Personal Data Erased On",
        readonly=True,
        help="The IP address and user agent were erased at the end of the retention period.",
    )
    channel = fields.Char(readonly=True)
    details = fields.Text(readonly=True)
    document_sha256 = fields.Char("Document SHA-256", readonly=True)
    prev_hash = fields.Char("Previous Hash", readonly=True)
    hash = fields.Char(readonly=True)
    summary = fields.Char(compute="_compute_summary")

    # === SQL OBJECTS === #
    _request_sequence_uniq = models.UniqueIndex("(request_id, sequence)")

    # === COMPUTE === #
    @api.depends("details")
    def _compute_summary(self):
        for event in self:
            try:
                details = json.loads(event.details or "{}")
            except ValueError:
                details = {}
            event.summary = ", ".join(
                f"{key}: {value}" for key, value in details.items() if value not in (None, "")
            )

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        if not (self.env.su and self.env.context.get("digital_sign_event_append")):
            raise AccessError(self.env._("Audit events are written by the signature flow only."))
        return super().create(vals_list)

    def write(self, vals):  # pylint: disable=method-required-super  # append-only
        raise AccessError(self.env._("The audit trail is append-only: events cannot be changed."))

    def unlink(self):  # pylint: disable=method-required-super  # append-only
        # Deleting a never-sent draft removes its (non-evidential) events in SQL (see the
        # request's unlink); through the ORM an event can never be deleted.
        # pylint: disable=no-raise-unlink  # append-only evidence: refusing is the contract
        raise AccessError(self.env._("The audit trail is append-only: events cannot be deleted."))

    # === BUSINESS === #
    def _hash_values(self):
        """The values covered by the hash, as stored (read with sudo).

        Note: self.ensure_one()
        """
        self.ensure_one()
        event = self.sudo()
        return self._prepare_hash_values(
            {
                "request_id": event.request_id.id,
                "sequence": event.sequence,
                "event_type": event.event_type,
                "timestamp": event.timestamp,
                "participant_id": event.participant_id.id,
                "actor_id": event.actor_id.id,
                "channel": event.channel,
                "details": event.details,
                "document_sha256": event.document_sha256,
                "personal_digest": event.personal_digest,
                "ip": event.ip,
                "user_agent": event.user_agent,
            }
        )

    @api.model
    def _prepare_hash_values(self, vals):
        """The values covered by the hash of an event whose column values are ``vals``: the
        one definition used both to chain a new event (before it is inserted) and to verify
        a stored one (``_hash_values``)."""
        values = {
            "request": vals["request_id"],
            "sequence": vals["sequence"],
            "type": vals["event_type"],
            "timestamp": vals.get("timestamp") or "",
            "participant": vals.get("participant_id") or 0,
            "actor": vals.get("actor_id") or 0,
            "channel": vals.get("channel") or "",
            "details": vals.get("details") or "",
            "document_sha256": vals.get("document_sha256") or "",
        }
        if vals.get("personal_digest"):
            values["personal"] = vals["personal_digest"]
        else:  # rows written before personal data had its own digest
            values.update(ip=vals.get("ip") or "", user_agent=vals.get("user_agent") or "")
        return values

    def _personal_data_altered(self):
        """Whether the kept IP address or user agent differ from what the chain covers.

        Note: self.ensure_one()
        """
        self.ensure_one()
        event = self.sudo()
        if not event.personal_digest or not event.personal_salt:
            return False  # legacy row (its raw values are in the chain) or erased data
        return event.personal_digest != audit.personal_digest(
            event.personal_salt, event.ip, event.user_agent
        )

    @api.model
    def _append_batch(self, entries):
        """Append events to the chains of one or more requests, in the order given.

        Each event's hash is computed before it is inserted (it covers no database id), so a
        batch of events is one INSERT and the heads of the requests move in one UPDATE. The
        sequence that follows a head is remembered for the transaction (keyed by the request
        and the head's hash, which covers the sequence: a rolled-back step cannot mislead
        it); otherwise it is read once for all the requests of the batch.

        The request rows are locked first and the head of each chain is updated on its row in
        the same transaction: two concurrent appends to one request serialise, and Odoo
        retries the later one (an HTTP request is replayed; a background job locks the row
        before its work, see ``_try_lock_for_job``), so the chain never forks; a unique index
        on (request, sequence) makes a fork impossible whatever the path. A signature or
        completion anchors the new head outside the database (digital.sign.anchor).

        :param list entries: dicts with ``request`` (a digital.sign.request), ``event_type``
            and optionally ``participant``, ``channel``, ``details`` (JSON-serialisable,
            never secrets), ``ip``, ``user_agent``
        :return: the new events, in the order of ``entries``
        """
        if not entries:
            return self.browse()
        # An anchor covers the head right after its signature: the batch ends there.
        cut = next(
            (
                index
                for index, entry in enumerate(entries[:-1])
                if entry["event_type"] in const.ANCHOR_EVENT_TYPES
            ),
            None,
        )
        if cut is not None:
            return self._append_batch(entries[: cut + 1]) | self._append_batch(entries[cut + 1 :])
        requests_sudo = (
            self.env["digital.sign.request"]
            .sudo()
            .browse(list(dict.fromkeys(entry["request"].id for entry in entries)))
        )
        requests_sudo._lock_for_update()
        known = self.env.cr.cache.setdefault("digital_sign_event_heads", {})
        by_id = {request.id: request for request in requests_sudo}
        heads = {request.id: request.audit_head or "" for request in requests_sudo}
        unknown = [rid for rid, head in heads.items() if (rid, head) not in known]
        sequences = {rid: known.get((rid, head)) for rid, head in heads.items()}
        if unknown:
            self.env.cr.execute(
                SQL(
                    """SELECT request_id, MAX(sequence) FROM digital_sign_event
                        WHERE request_id IN %s GROUP BY request_id""",
                    tuple(unknown),
                )
            )
            found = dict(self.env.cr.fetchall())
            sequences.update({rid: found.get(rid) or 0 for rid in unknown})
        now = datetime.now(UTC)
        event_date = fields.Datetime.to_datetime(now.replace(tzinfo=None, microsecond=0))
        timestamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        actor_id = False if self.env.user._is_public() else self.env.user.id
        vals_list = []
        for entry in entries:
            request_sudo = by_id[entry["request"].id]
            event_type = entry["event_type"]
            participant, details = entry.get("participant"), entry.get("details")
            sequences[request_sudo.id] += 1
            vals = {
                "request_id": request_sudo.id,
                "company_id": request_sudo.company_id.id,
                "sequence": sequences[request_sudo.id],
                "event_type": event_type,
                "event_date": event_date,
                "timestamp": timestamp,
                "participant_id": participant.id if participant else False,
                "actor_id": actor_id,
                "ip": entry.get("ip") or "",
                "user_agent": (entry.get("user_agent") or "")[:512],
                "personal_salt": secrets.token_hex(16),
                "channel": entry.get("channel") or "",
                "details": json.dumps(details, sort_keys=True, default=str, ensure_ascii=False)
                if details
                else "",
                "document_sha256": request_sudo.signed_sha256
                if event_type in ("completed", "sealed") and request_sudo.signed_sha256
                else request_sudo.original_sha256 or "",
                "prev_hash": heads[request_sudo.id],
            }
            vals["personal_digest"] = audit.personal_digest(
                vals["personal_salt"], vals["ip"], vals["user_agent"]
            )
            vals["hash"] = audit.chain_hash(vals["prev_hash"], self._prepare_hash_values(vals))
            heads[request_sudo.id] = vals["hash"]
            vals_list.append(vals)
        events = self.sudo().with_context(digital_sign_event_append=True).create(vals_list)
        # Raw SQL: the heads are evidence written by the flow only, all in one statement
        # (see docstring); write() would run the request's whole write machinery per event.
        moved = {vals["request_id"]: vals["hash"] for vals in vals_list}
        self.env.cr.execute(
            SQL(
                """UPDATE digital_sign_request AS r SET audit_head = v.head
                     FROM (VALUES %s) AS v(id, head) WHERE r.id = v.id""",
                SQL(", ").join(SQL("(%s, %s)", rid, head) for rid, head in moved.items()),
            )
        )
        requests_sudo.invalidate_recordset(["audit_head"])
        known.update({(rid, heads[rid]): sequences[rid] for rid in moved})
        for vals in vals_list:
            if vals["event_type"] in const.ANCHOR_EVENT_TYPES:
                self.env["digital.sign.anchor"]._anchor_at_signing(
                    by_id[vals["request_id"]].with_env(self.env),
                    vals["event_type"],
                )
        return events

    # === RETENTION === #
    @api.model
    def _cron_erase_personal_data(self):
        """Erase the IP address and user agent of events older than the retention period
        (Settings; 0 keeps them). The chain keeps their salted digest and still verifies;
        the certificates of completion already issued are not touched."""
        years = self.env["digital.sign.request"]._get_setting("audit_retention_years")
        if years <= 0:
            return
        limit = fields.Datetime.now() - relativedelta(years=years)
        batch_size = self.env["digital.sign.request"]._get_setting("cron_batch_size") * 10
        domain = [
            ("event_date", "<", limit),
            ("anonymized_on", "=", False),
            ("personal_digest", "!=", False),
        ]
        events = self.sudo().search(domain, limit=batch_size, order="id")
        self.env["ir.cron"]._commit_progress(remaining=self.sudo().search_count(domain))
        if not events:
            return
        # Raw SQL: write() is forbidden on events (append-only); only the personal values,
        # which the chain covers through personal_digest, are erased.
        self.env.cr.execute(
            SQL(
                """UPDATE digital_sign_event
                  SET ip = NULL, user_agent = NULL, personal_salt = NULL, anonymized_on = %s
                WHERE id IN %s""",
                fields.Datetime.now(),
                tuple(events.ids),
            )
        )
        events.invalidate_recordset(["ip", "user_agent", "personal_salt", "anonymized_on"])
        _logger.info(
            "Personal data erased from %s audit events older than %s years", len(events), years
        )
        self.env["ir.cron"]._commit_progress(len(events))
