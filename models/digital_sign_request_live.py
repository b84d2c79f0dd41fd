import logging

from odoo import api, models

from .. import const

_logger = logging.getLogger(__name__)


class DigitalSignRequest(models.Model):
    """Live status for the sender: whenever the audit trail records a step a participant or a
    service made (opened, signed, rejected, completed...), the internal users who follow the
    document get a bus notification, and their open views reload it. Once the signed document
    exists they also get a notification that opens it in one click.

    The notification carries ids and the event's type only: what the document says is read
    by the client through the ORM, with the reader's own rights. Bus notifications are
    written in the same transaction as the event, so a rolled-back step pushes nothing.
    """

    _inherit = "digital.sign.request"

    @api.model
    def _log_events(self, entries):
        events = super()._log_events(entries)
        for entry in entries:
            if entry["event_type"] in const.LIVE_EVENT_TYPES:
                entry["request"]._push_live_status(entry["event_type"])
        return events

    def _get_live_listeners(self):
        """The users told live about this document: its owner (or, without one, its creator)
        and the internal users among its followers. Portal users and customers never are.

        :return: res.users (internal only)
        Note: self.ensure_one()
        """
        self.ensure_one()
        self_sudo = self.sudo()
        users = self_sudo.user_id or self_sudo.create_uid
        users |= self_sudo.message_partner_ids.user_ids
        return users.filtered(lambda u: u.active and not u.share)

    def _push_live_status(self, event_type):
        """Tell the listeners that this document moved (and, on ``finalized``, that its
        signed document is ready).

        :param str event_type: the audit event that was just recorded
        Note: self.ensure_one()
        """
        self.ensure_one()
        payload = {
            "request_id": self.id,
            "res_model": self.res_model or False,
            "res_id": self.res_id or False,
            "event": event_type,
        }
        listeners = self._get_live_listeners()
        for user in listeners:
            user._bus_send(const.LIVE_STATUS_NOTIFICATION, payload)
        if event_type == "finalized":
            for user in listeners:
                # in the listener's language: the flow runs as the customer or the cron
                request = self.with_context(lang=user.lang)
                user._bus_send(
                    const.LIVE_COMPLETED_NOTIFICATION,
                    {
                        **payload,
                        "title": request.env._("Signed by everyone"),
                        "message": request.env._(
                            "%(ref)s: %(name)s is signed.", ref=self.reference, name=self.name
                        ),
                    },
                )
        _logger.debug(
            "Request %s: live status %s pushed to %s users",
            self.reference,
            event_type,
            len(listeners),
        )
