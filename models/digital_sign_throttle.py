from datetime import timedelta

from odoo import api, fields, models


class DigitalSignThrottle(models.Model):
    """Rate-limit counters kept in the database, so every worker sees the same counts.

    One row per attempt, keyed by what is limited (an IP and an action); counted over a
    time window and purged by the autovacuum.
    """

    _name = "digital.sign.throttle"
    _description = "Signature Rate Limit Log"
    _log_access = False

    # === FIELDS === #
    key = fields.Char(required=True, index=True)
    attempt_at = fields.Datetime(required=True, index=True, default=fields.Datetime.now)

    # === BUSINESS === #
    @api.model
    def _count(self, key, seconds):
        since = fields.Datetime.now() - timedelta(seconds=seconds)
        return self.sudo().search_count([("key", "=", key), ("attempt_at", ">=", since)])

    @api.model
    def _hit(self, key):
        self.sudo().create({"key": key})

    @api.model
    def _is_limited(self, key, limit, seconds):
        return self._count(key, seconds) >= limit

    @api.autovacuum
    def _gc_throttle(self):
        self.sudo().search([("attempt_at", "<", fields.Datetime.now() - timedelta(days=2))]).unlink()
