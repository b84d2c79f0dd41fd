import base64
import logging
from datetime import UTC

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, config

from .. import const
from ..engine import audit_anchor
from ..engine.errors import EngineError
from ..utils import engine_error_message

_logger = logging.getLogger(__name__)


class DigitalSignAnchor(models.Model):
    """Anchors of the audit trail outside the database's reach: append-only, like events.

    The hash chain of the events shows tampering by someone who does not recompute it; whoever
    can write the database can rewrite a chain consistently (every hash recomputed, the head
    moved). An anchor binds the head at one event to what such a person cannot produce
    (engine/audit_anchor.py):

    * ``hmac``: an HMAC with a key kept in the server's configuration file (option
      ``digital_sign_anchor_key``, or a file named by ``digital_sign_anchor_key_file``), never
      in the database;
    * ``tsa``: an RFC 3161 token over the head from the company's timestamp server.

    Heads are anchored at each signature and completion (HMAC at once, the timestamp right
    after the transaction) and daily for every chain that moved since its last anchor.
    Nobody, administrators included, can change or delete an anchor through the ORM; a
    deleted anchor leaves its events unanchored, which *Verify integrity* says.
    """

    _name = "digital.sign.anchor"
    _description = "Audit Trail Anchor"
    _order = "request_id, sequence desc, id desc"
    _log_access = False
    _rec_name = "head_hash"

    # === FIELDS === #
    request_id = fields.Many2one(
        "digital.sign.request", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    sequence = fields.Integer("Up to Event", readonly=True)
    head_hash = fields.Char("Anchored Hash", readonly=True)
    mode = fields.Selection(const.ANCHOR_MODES, required=True, readonly=True)
    trigger = fields.Selection(const.ANCHOR_TRIGGERS, readonly=True)
    anchored_at = fields.Datetime(
        readonly=True,
        help="HMAC: this server's time, covered by the HMAC. Timestamp: the "
        "timestamp authority's time.",
    )
    key_id = fields.Char("Key ID", readonly=True, help="Names the anchor key (not the key).")
    value = fields.Char("HMAC", readonly=True)
    token = fields.Text("Timestamp Token", readonly=True, help="RFC 3161 token (DER, base64).")
    tsa_url = fields.Char("Timestamp Server", readonly=True)
    tsa_subject = fields.Char("Timestamp Authority", readonly=True)

    # === SQL === #
    _request_head_idx = models.Index("(request_id, head_hash, mode)")

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.context.get("digital_sign_anchor_append"):
            raise UserError(self.env._("Anchors are made by the signature flow only."))
        return super().create(vals_list)

    def write(self, vals):  # pylint: disable=method-required-super  # append-only
        raise UserError(self.env._("Anchors of the audit trail cannot be changed."))

    def unlink(self):  # pylint: disable=method-required-super  # append-only
        # A draft request's anchors go with it through ON DELETE CASCADE; through the ORM an
        # anchor can never be deleted.
        # pylint: disable=no-raise-unlink  # append-only evidence: refusing is the contract
        raise UserError(self.env._("Anchors of the audit trail cannot be deleted."))

    # === BUSINESS: configuration === #
    @api.model
    def _get_keys(self):
        """The anchor keys of the server's configuration, current one first.

        :return: tuple of bytes (empty when none is configured)
        :raise AnchorKeyInvalid: a configured key is too short
        """
        text = config.get(const.ANCHOR_KEY_OPTION) or ""
        path = config.get(const.ANCHOR_KEY_FILE_OPTION) or ""
        if path and not text:
            try:
                with open(path, encoding="utf-8") as key_file:
                    text = key_file.read()
            except OSError as error:
                _logger.warning("The anchor key file %s cannot be read: %s", path, error.strerror)
                raise audit_anchor.AnchorKeyInvalid(
                    "anchor key file unreadable", minimum=audit_anchor.MIN_KEY_LENGTH
                ) from None
        return audit_anchor.parse_keys(text)

    @api.model
    def _get_configuration(self, company, tsa_url=None):
        """What anchors the audit trails of ``company``: the HMAC key (by its id) and the
        timestamp server (``tsa_url`` when given: a setting not saved yet).

        :return: dict with ``key_id`` (or ''), ``key_error`` (a message, or ''), ``tsa_url``
            (or '')
        """
        try:
            keys = self._get_keys()
            key_error = ""
        except audit_anchor.AnchorKeyInvalid as error:
            keys, key_error = (), engine_error_message(self.env, error)
        return {
            "key_id": audit_anchor.key_id(keys[0]) if keys else "",
            "key_error": key_error,
            "tsa_url": (company.sudo().digital_sign_tsa_url if tsa_url is None else tsa_url) or "",
        }

    @api.model
    def _describe_configuration(self, company, tsa_url=None):
        """One sentence for the settings: how audit trails are anchored outside the
        database, or what to configure."""
        conf = self._get_configuration(company, tsa_url=tsa_url)
        ways = []
        if conf["key_id"]:
            ways.append(
                self.env._(
                    "an HMAC with the key %(key)s of the server's configuration", key=conf["key_id"]
                )
            )
        if conf["tsa_url"]:
            ways.append(self.env._("a timestamp from %(url)s", url=conf["tsa_url"]))
        if ways:
            text = self.env._(
                "Audit trails are anchored outside the database with %(ways)s, "
                "at each signature and daily.",
                ways=self.env._(" and ").join(ways),
            )
        else:
            text = self.env._(
                "Audit trails are not anchored outside the database: set "
                "%(option)s in the Odoo configuration file, or configure a timestamp server.",
                option=const.ANCHOR_KEY_OPTION,
            )
        if conf["key_error"]:
            text = f"{text} {conf['key_error']}"
        return text

    # === BUSINESS: anchoring === #
    def _get_head(self, request):
        """``(sequence, hash)`` of the last event of ``request``, when it is the head the
        request records (a chain whose head is off is not anchored: Verify integrity reports
        it), else None."""
        # Raw SQL: one indexed row, read without loading the chain.
        self.env.cr.execute(
            SQL(
                """SELECT sequence, hash FROM digital_sign_event WHERE request_id = %s
               ORDER BY sequence DESC, id DESC LIMIT 1""",
                request.id,
            )
        )
        row = self.env.cr.fetchone()
        head = request.sudo().audit_head
        if not row or not row[1] or row[1] != head:
            if row:
                _logger.warning(
                    "Audit trail of request %s: its head is not its last event, not anchored",
                    request.id,
                )
            return None
        return row

    def _has_anchor(self, request, head_hash, mode):
        return bool(
            self.sudo().search_count(
                [
                    ("request_id", "=", request.id),
                    ("head_hash", "=", head_hash),
                    ("mode", "=", mode),
                ],
                limit=1,
            )
        )

    @api.model
    def _anchor_request(self, request, trigger, modes=("hmac", "tsa")):
        """Anchor the current head of ``request``'s audit trail with each configured mode in
        ``modes`` that has not anchored this head yet.

        :return: the anchors made
        """
        Anchor = self.sudo().with_context(digital_sign_anchor_append=True)
        made = Anchor.browse()
        head = self._get_head(request)
        if not head:
            return made
        sequence, head_hash = head
        request_sudo = request.sudo()
        common = {
            "request_id": request.id,
            "company_id": request_sudo.company_id.id,
            "sequence": sequence,
            "head_hash": head_hash,
            "trigger": trigger,
        }
        if "hmac" in modes and not self._has_anchor(request, head_hash, "hmac"):
            try:
                keys = self._get_keys()
            except audit_anchor.AnchorKeyInvalid:
                _logger.warning("The anchor key is unusable: audit trails are not HMAC-anchored")
                keys = ()
            if keys:
                now = fields.Datetime.now()
                made |= Anchor.create(
                    {
                        **common,
                        "mode": "hmac",
                        "anchored_at": now,
                        "key_id": audit_anchor.key_id(keys[0]),
                        "value": audit_anchor.hmac_anchor(
                            keys[0], request.id, sequence, head_hash, self._format_time(now)
                        ),
                    }
                )
        if "tsa" in modes and not self._has_anchor(request, head_hash, "tsa"):
            made |= self._timestamp_head(request_sudo, common)
        for anchor in made:
            # A copy outside the database (the server log): anchors deleted from the
            # database can still be told from it.
            _logger.info(
                "Audit trail of request %s anchored: event %s, head %s, %s %s",
                request.id,
                anchor.sequence,
                anchor.head_hash,
                anchor.mode,
                anchor.value or anchor.tsa_subject,
            )
        return made

    def _timestamp_head(self, request_sudo, values):
        """An RFC 3161 anchor of the head in ``values`` from the company's timestamp server,
        or nothing when there is none or it fails (the next run tries again). The engine's
        timestamp client asks it, as it does for seals (a server that just failed rests)."""
        company_sudo = request_sudo.company_id.sudo()
        server = company_sudo._digital_sign_get_timestamp_server()
        if server is None:
            return self.browse()
        try:
            token, info = audit_anchor.timestamp_head(server, values["head_hash"])
        except EngineError as error:
            _logger.warning(
                "Timestamp of the audit trail of request %s failed: %s", request_sudo.id, error.code
            )
            return self.browse()
        company_sudo._digital_sign_remember_tsa_chain(info.certificates)
        return (
            self.sudo()
            .with_context(digital_sign_anchor_append=True)
            .create(
                {
                    **values,
                    "mode": "tsa",
                    "anchored_at": info.gen_time.astimezone(UTC).replace(
                        tzinfo=None, microsecond=0
                    ),
                    "token": base64.b64encode(token).decode(),
                    "tsa_url": server.url,
                    "tsa_subject": info.tsa_subject,
                }
            )
        )

    @api.model
    def _anchor_at_signing(self, request, event_type):
        """A signature or completion was just logged: HMAC-anchor the head now; the
        timestamp, a network call, follows right after this transaction."""
        self._anchor_request(request, event_type, modes=("hmac",))
        if request.sudo().company_id.digital_sign_tsa_url:
            self.env.ref("digital_sign.ir_cron_anchor_signatures").sudo()._trigger()

    @api.model
    def _cron_anchor_signatures(self):
        """Anchor (timestamp included) the heads of chains with a signature or completion
        that no anchor covers yet, with every configured mode."""
        self._anchor_batch(self._select_unanchored(signatures_only=True), "signed")

    @api.model
    def _cron_anchor_audit_trails(self):
        """Daily: anchor the head of every chain that moved since its last anchor."""
        self._anchor_batch(self._select_unanchored(signatures_only=False), "daily")

    def _select_unanchored(self, signatures_only):
        """``(ids, total)``: requests (sent at least once) lacking an anchor of a mode
        configured for their company, in id order, at most one batch. Daily: their head has
        no such anchor. Signatures: a signature or completion event has none at or after it.
        """
        try:
            hmac_on = bool(self._get_keys())
        except audit_anchor.AnchorKeyInvalid:
            hmac_on = False
        conditions = []
        if hmac_on:
            conditions.append(self._missing_anchor_sql("hmac", signatures_only))
        companies = self.env["res.company"].sudo().search([("digital_sign_tsa_url", "!=", False)])
        if companies:
            conditions.append(
                SQL(
                    "(r.company_id IN %s AND %s)",
                    tuple(companies.ids),
                    self._missing_anchor_sql("tsa", signatures_only),
                )
            )
        if not conditions:
            return [], 0
        where = SQL(
            "r.sent_on IS NOT NULL AND r.audit_head IS NOT NULL AND (%s)",
            SQL(" OR ").join(conditions),
        )
        # Raw SQL: "no anchor of this mode covers the head (or a signature)" is a correlated
        # NOT EXISTS, which a domain cannot say.
        self.env.cr.execute(SQL("SELECT COUNT(*) FROM digital_sign_request r WHERE %s", where))
        total = self.env.cr.fetchone()[0]
        batch_size = self.env["digital.sign.request"]._get_setting("cron_batch_size")
        self.env.cr.execute(
            SQL(
                "SELECT r.id FROM digital_sign_request r WHERE %s ORDER BY r.id LIMIT %s",
                where,
                batch_size,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()], total

    def _missing_anchor_sql(self, mode, signatures_only):
        if signatures_only:
            return SQL(
                """EXISTS (SELECT 1 FROM digital_sign_event e
                WHERE e.request_id = r.id AND e.event_type IN %s AND NOT EXISTS (
                    SELECT 1 FROM digital_sign_anchor a WHERE a.request_id = r.id
                    AND a.mode = %s AND a.sequence >= e.sequence))""",
                const.ANCHOR_EVENT_TYPES,
                mode,
            )
        return SQL(
            """NOT EXISTS (SELECT 1 FROM digital_sign_anchor a
            WHERE a.request_id = r.id AND a.head_hash = r.audit_head AND a.mode = %s)""",
            mode,
        )

    def _anchor_batch(self, selection, trigger):
        """Anchor the requests of ``selection``, each in its own savepoint. A chain whose
        existing anchors no longer hold is not anchored again: that would vouch for a
        rewritten trail."""
        ids, total = selection
        self.env["ir.cron"]._commit_progress(remaining=total)
        requests = self.env["digital.sign.request"].sudo().browse(ids).try_lock_for_update()
        for request in requests:
            try:
                with self.env.cr.savepoint():
                    if request._check_anchors()["rewritten"]:
                        _logger.warning(
                            "Audit trail of request %s does not match its anchors: "
                            "not anchored again (Verify integrity says more)",
                            request.id,
                        )
                    else:
                        self._anchor_request(request, trigger)
            except Exception:  # noqa: BLE001 - one bad chain must not block the others
                _logger.warning(
                    "Anchoring the audit trail of request %s failed", request.id, exc_info=True
                )
            if not self.env["ir.cron"]._commit_progress(1):
                break

    # === BUSINESS: verification === #
    @api.model
    def _format_time(self, value):
        """The anchor time as the HMAC covers it (ISO 8601, UTC, seconds)."""
        return fields.Datetime.to_datetime(value).strftime("%Y-%m-%dT%H:%M:%SZ")

    @api.model
    def _check_request(self, request, hashes):
        """Check every anchor of ``request`` against its chain as it is now.

        :param hashes: {event sequence: hash} of the chain now
        :return: dict with ``rewritten``: the first anchor that no longer holds (or an empty
            recordset) and its ``AnchorCheck``; ``valid``: the anchors that hold;
            ``unchecked``: ``[(anchor, AnchorCheck)]`` that cannot be checked here (a key
            not configured, a timestamp authority not trusted)
        """
        anchors = self.sudo().search([("request_id", "=", request.id)], order="sequence, id")
        try:
            keys = self._get_keys()
        except audit_anchor.AnchorKeyInvalid:
            keys = ()
        trust_roots = (
            request.company_id.sudo()._digital_sign_tsa_trust_roots()
            if "tsa" in anchors.mapped("mode")
            else ()
        )
        result = {
            "rewritten": self.browse(),
            "check": None,
            "valid": self.browse(),
            "unchecked": [],
        }
        for anchor in anchors:
            check = audit_anchor.check_anchor(
                {
                    "mode": anchor.mode,
                    "request_id": anchor.request_id.id,
                    "sequence": anchor.sequence,
                    "head_hash": anchor.head_hash or "",
                    "anchored_at": self._format_time(anchor.anchored_at)
                    if anchor.anchored_at
                    else "",
                    "key_id": anchor.key_id,
                    "value": anchor.value,
                    "token": base64.b64decode(anchor.token or ""),
                },
                hashes.get(anchor.sequence),
                keys=keys,
                tsa_trust_roots=trust_roots,
            )
            if check.status == "valid":
                result["valid"] |= anchor
            elif check.status in ("unknown_key", "untrusted"):
                result["unchecked"].append((anchor, check))
            elif not result["rewritten"]:
                result["rewritten"], result["check"] = anchor, check
        return result
