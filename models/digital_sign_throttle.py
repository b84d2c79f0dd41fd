import math
from datetime import datetime, timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from .. import const

OVERFLOW_SUFFIX = ":*"


class DigitalSignThrottle(models.Model):
    """Rate-limit counters kept in the database, so every worker sees the same counts.

    A limit is "at most N hits of a key in a window of S seconds". The window is cut in
    ``const.THROTTLE_BUCKETS`` slices, and each (key, window, slice) is ONE row with a hit
    counter, bumped by an UPSERT: a flood from one address adds no row after the first one
    of each slice. A count sums the slices that overlap the window (so it covers between S
    and S + S/buckets seconds: a limit is never under-counted).

    Threat: unauthenticated requests (bad signing links from many addresses) must not grow
    the table without bound. So each scope (the part of the key before the first ':') holds
    at most ``const.THROTTLE_MAX_ROWS_PER_SCOPE`` rows: past that, expired rows of the scope
    are removed, and if it is still full, new keys are counted together on the scope's
    overflow key ``<scope>:*``, which then limits every key of the scope (fail closed: under
    such a flood, bad links from new addresses get 429). The autovacuum removes expired
    rows every day.

    Callers record failures and return them, never raise: a raise would roll the count back.
    """

    _name = "digital.sign.throttle"
    _description = "Signature Rate Limit Counter"
    _log_access = False

    # === FIELDS === #
    key = fields.Char(required=True)
    scope = fields.Char(required=True, index=True)
    window_start = fields.Datetime("Slice Start", required=True)
    expires_at = fields.Datetime(
        required=True, index=True, help="After this, the row counts in no window."
    )
    hits = fields.Integer(required=True, default=0)

    # === SQL OBJECTS === #
    _key_window_uniq = models.UniqueIndex("(key, window_start)")

    # === BUSINESS === #
    @api.model
    def _row_key(self, key, seconds):
        # The window is part of the row's key: one key may be limited over several windows
        # (3 codes per 15 minutes and 10 per day), each with its own slices.
        return f"{key}@{int(seconds)}"

    @api.model
    def _scope(self, key):
        return key.split(":", 1)[0]

    @api.model
    def _slice(self, seconds, now):
        """Return (start of the current slice, slice length in seconds)."""
        length = max(1, math.ceil(seconds / const.THROTTLE_BUCKETS))
        epoch = int((now - datetime(1970, 1, 1)).total_seconds())
        return datetime(1970, 1, 1) + timedelta(seconds=epoch - epoch % length), length

    @api.model
    def _count(self, key, seconds):
        """Hits of ``key`` over the last ``seconds`` (and of its scope's overflow key, which
        applies to every key of a full scope)."""
        now = fields.Datetime.now()
        _start, length = self._slice(seconds, now)
        since = now - timedelta(seconds=seconds + length)
        keys = (
            self._row_key(key, seconds),
            self._row_key(self._scope(key) + OVERFLOW_SUFFIX, seconds),
        )
        # Raw SQL: one aggregate over at most a few rows, on every public request.
        self.env.cr.execute(
            SQL(
                "SELECT COALESCE(SUM(hits) FILTER (WHERE key = %s), 0), "
                "       COALESCE(SUM(hits) FILTER (WHERE key = %s), 0) "
                "FROM digital_sign_throttle WHERE key IN %s AND window_start > %s",
                keys[0],
                keys[1],
                keys,
                since,
            )
        )
        own, overflow = self.env.cr.fetchone()
        return max(own, overflow)

    @api.model
    def _is_limited(self, key, limit, seconds):
        return self._count(key, seconds) >= limit

    @api.model
    def _hit(self, key, seconds):
        """Count one hit of ``key`` for limits over ``seconds``.

        :param str key: ``<scope>:<what>``, e.g. ``bad_token:<ip>``
        :param int seconds: the window the key is limited over (the same as in
            ``_is_limited``)
        """
        now = fields.Datetime.now()
        start, length = self._slice(seconds, now)
        row_key = self._row_key(key, seconds)
        expires_at = start + timedelta(seconds=length + seconds)
        # Raw SQL: the ORM has no UPSERT; concurrent workers bump the same row.
        self.env.cr.execute(
            SQL(
                "UPDATE digital_sign_throttle SET hits = hits + 1 "
                "WHERE key = %s AND window_start = %s",
                row_key,
                start,
            )
        )
        if self.env.cr.rowcount:
            return
        scope = self._scope(key)
        if self._scope_is_full(scope, now):
            row_key = self._row_key(scope + OVERFLOW_SUFFIX, seconds)
        self.env.cr.execute(
            SQL(
                """INSERT INTO digital_sign_throttle (key, scope, window_start, expires_at, hits)
               VALUES (%s, %s, %s, %s, 1)
               ON CONFLICT (key, window_start) DO UPDATE SET hits = digital_sign_throttle.hits + 1""",
                row_key,
                scope,
                start,
                expires_at,
            )
        )

    @api.model
    def _scope_is_full(self, scope, now):
        """True when ``scope`` holds its maximum of rows, after removing its expired ones.
        The count stops at the cap, so it costs the same however large a flood is."""
        cap = const.THROTTLE_MAX_ROWS_PER_SCOPE

        def count():
            # Raw SQL: a count bounded by LIMIT (search_count would count every row).
            self.env.cr.execute(
                SQL(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM digital_sign_throttle WHERE scope = %s "
                    "LIMIT %s) AS capped",
                    scope,
                    cap,
                )
            )
            return self.env.cr.fetchone()[0]

        if count() < cap:
            return False
        self.env.cr.execute(
            SQL(
                "DELETE FROM digital_sign_throttle WHERE scope = %s AND expires_at < %s",
                scope,
                now,
            )
        )
        return count() >= cap

    @api.autovacuum
    def _gc_throttle(self):
        # Raw SQL: expired counters carry no information; no ORM hook applies to them.
        self.env.cr.execute(
            SQL(
                "DELETE FROM digital_sign_throttle WHERE expires_at < %s",
                fields.Datetime.now(),
            )
        )
