from datetime import timedelta

from odoo import api, fields, models


class DigitalSignWebhookEvent(models.Model):
    """Webhook deliveries already applied, so a repeated delivery changes nothing."""

    _name = "digital.sign.webhook.event"
    _description = "Signature Service Webhook Event"
    _order = "id desc"

    # === FIELDS === #
    provider_id = fields.Many2one(
        "digital.sign.provider", required=True, ondelete="cascade", index=True
    )
    event_id = fields.Char(required=True)
    event = fields.Char("Event Type")
    provider_reference = fields.Char(index=True)
    request_id = fields.Many2one(
        "digital.sign.request", ondelete="set null", index="btree_not_null"
    )

    # === SQL === #
    _event_uniq = models.Constraint(
        "UNIQUE(provider_id, event_id)", "This webhook event was already received."
    )

    # === BUSINESS === #
    @api.model
    def _record_delivery(self, provider, event):
        """Record ``event`` once. Returns the new record, or an empty recordset when the same
        event was already received (a duplicate delivery)."""
        # Raw SQL: an INSERT ... ON CONFLICT DO NOTHING is the race-free "first delivery wins"
        # (two deliveries of one event may arrive at the same time on two workers).
        self.env.cr.execute(
            """INSERT INTO digital_sign_webhook_event
                   (provider_id, event_id, event, provider_reference, create_date, write_date,
                    create_uid, write_uid)
               VALUES (%s, %s, %s, %s, now() at time zone 'UTC', now() at time zone 'UTC', %s, %s)
               ON CONFLICT (provider_id, event_id) DO NOTHING RETURNING id""",
            (
                provider.id,
                event.event_id[:255],
                (event.event or "")[:64],
                (event.provider_reference or "")[:255],
                self.env.uid,
                self.env.uid,
            ),
        )
        row = self.env.cr.fetchone()
        return self.browse(row[0]) if row else self.browse()

    @api.autovacuum
    def _gc_webhook_events(self):
        self.sudo().search(
            [("create_date", "<", fields.Datetime.now() - timedelta(days=30))]
        ).unlink()
