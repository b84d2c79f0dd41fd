from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .. import const

REMINDER_FIELDS = ("reminder_mode", "reminder_first_days", "reminder_interval_days", "reminder_max")


class DigitalSignReminderMixin(models.AbstractModel):
    """A reminder plan: the one of the settings, a plan of its own (a first reminder after
    N days, then one every M days, at most K), or no reminders at all.

    A template holds one; a document sent from it gets a copy (``_prepare_reminder_values``),
    so a later change of the template never changes the reminders of a sent document. A
    document made otherwise follows the settings. The reminder cron reads each document's
    own plan (``_get_reminder_plan``).
    """

    _name = "digital.sign.reminder.mixin"
    _description = "Signature Reminder Plan"

    # === FIELDS === #
    reminder_mode = fields.Selection(
        const.REMINDER_MODES, string="Reminders", default="settings", required=True
    )
    reminder_first_days = fields.Integer(
        "First Reminder After (days)",
        default=lambda self: self._default_reminder_first_days(),
    )
    reminder_interval_days = fields.Integer(
        "Then Every (days)",
        default=lambda self: self._default_reminder_interval_days(),
    )
    reminder_max = fields.Integer(
        "At Most (reminders)",
        default=lambda self: self._default_reminder_max(),
    )

    # === DEFAULTS === #
    def _default_reminder_first_days(self):
        return self.env["digital.sign.request"]._get_setting("reminder_first_days")

    def _default_reminder_interval_days(self):
        return self.env["digital.sign.request"]._get_setting("reminder_interval_days")

    def _default_reminder_max(self):
        return self.env["digital.sign.request"]._get_setting("reminder_max")

    # === CONSTRAINTS === #
    @api.constrains(*REMINDER_FIELDS)
    def _check_reminder_plan(self):
        for record in self.filtered(lambda r: r.reminder_mode == "custom"):
            if (
                min(record.reminder_first_days, record.reminder_interval_days, record.reminder_max)
                < 1
            ):
                raise ValidationError(
                    self.env._(
                        "A reminder plan of its own needs at least one reminder, the first one "
                        "a day or more after the invitation, the next ones a day or more apart."
                    )
                )

    # === BUSINESS === #
    def _get_reminder_plan(self):
        """The reminder plan that applies to this record now.

        :return: ``(first_days, interval_days, max_count)``, or None for no reminders
        Note: self.ensure_one()
        """
        self.ensure_one()
        if self.reminder_mode == "none":
            return None
        if self.reminder_mode == "custom":
            return self.reminder_first_days, self.reminder_interval_days, self.reminder_max
        return self._get_settings_reminder_plan()

    @api.model
    def _get_settings_reminder_plan(self):
        """The settings' reminder plan: ``(first_days, interval_days, max_count)``."""
        get = self.env["digital.sign.request"]._get_setting
        return get("reminder_first_days"), get("reminder_interval_days"), get("reminder_max")

    def _prepare_reminder_values(self):
        """This record's reminder plan as values for another one (a document sent from a
        template gets a copy of the template's plan).

        Note: self.ensure_one()
        """
        self.ensure_one()
        return {name: self[name] for name in REMINDER_FIELDS}
