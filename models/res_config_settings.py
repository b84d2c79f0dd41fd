from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .. import const
from ..utils import decode_binary

SEAL_SECRET_FIELDS = (
    "digital_sign_seal_pkcs12",
    "digital_sign_seal_pkcs12_filename",
    "digital_sign_seal_password",
)


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # === FIELDS === #
    digital_sign_arrow_width = fields.Float(
        "Arrow Width",
        config_parameter="digital_sign.arrow_width",
        default=const.DEFAULTS["arrow_width"],
    )
    digital_sign_arrow_height = fields.Float(
        "Arrow Height",
        config_parameter="digital_sign.arrow_height",
        default=const.DEFAULTS["arrow_height"],
    )
    digital_sign_signature_width = fields.Float(
        "Signature Width",
        config_parameter="digital_sign.signature_width",
        default=const.DEFAULTS["signature_width"],
    )
    digital_sign_signature_height = fields.Float(
        "Signature Height",
        config_parameter="digital_sign.signature_height",
        default=const.DEFAULTS["signature_height"],
    )
    digital_sign_signature_offset_x = fields.Float(
        "Signature Offset X",
        config_parameter="digital_sign.signature_offset_x",
        default=const.DEFAULTS["signature_offset_x"],
    )
    digital_sign_signature_offset_y = fields.Float(
        "Signature Offset Y",
        config_parameter="digital_sign.signature_offset_y",
        default=const.DEFAULTS["signature_offset_y"],
    )
    digital_sign_single_signature_timeout = fields.Integer(
        "Single Signature Timeout (s)",
        config_parameter="digital_sign.single_signature_timeout",
        default=const.DEFAULTS["single_signature_timeout"],
    )
    digital_sign_default_validity_days = fields.Integer(
        "Default Validity (days)",
        config_parameter="digital_sign.default_validity_days",
        default=const.DEFAULTS["default_validity_days"],
    )
    digital_sign_audit_retention_years = fields.Integer(
        "Keep IP Addresses (years)",
        config_parameter="digital_sign.audit_retention_years",
        default=const.DEFAULTS["audit_retention_years"],
        help="Erase the IP address and user agent of audit events older than this; 0 keeps "
        "them. The audit trail still verifies; issued certificates are not changed.",
    )
    digital_sign_signed_link_days = fields.Integer(
        "Signed Copy by Link (days)",
        config_parameter="digital_sign.signed_link_days",
        default=const.DEFAULTS["signed_link_days"],
        help="After signing, the participant's link gives the signed copy for this many days; "
        "then the page first asks for a one-time code on the participant's channel "
        "(at least 1).",
    )
    digital_sign_max_upload_mb = fields.Integer(
        "Upload Limit (MB)",
        config_parameter="digital_sign.max_upload_mb",
        default=const.DEFAULTS["max_upload_mb"],
    )
    digital_sign_max_pages = fields.Integer(
        "Page Limit",
        config_parameter="digital_sign.max_pages",
        default=const.DEFAULTS["max_pages"],
    )

    digital_sign_consent_text = fields.Char(
        "Consent Text",
        config_parameter="digital_sign.consent_text",
        help="What participants accept before signing electronically (their acceptance is "
        "logged with the text's hash). Empty: the default text.",
    )
    digital_sign_otp_show_code = fields.Boolean(
        "Agents May See the Current Code",
        config_parameter="digital_sign.otp_show_code",
        help="Show the participant's current one-time code in the backend, for phone support. "
        "Off by default: codes are otherwise stored only as a hash.",
    )
    digital_sign_sms_enabled = fields.Boolean(
        related="company_id.digital_sign_sms_enabled", readonly=False
    )
    digital_sign_live_links_for_readers = fields.Boolean(
        "Links for Everyone Who Sees the Document",
        config_parameter="digital_sign.live_links_for_readers",
        help="Off: a live signing link (and the current code) is shown only to the document's "
        "owner and to the managers. On: to every user who can see the document, e.g. a "
        "contact centre that pastes links into a chat.",
    )
    digital_sign_reminder_first_days = fields.Integer(
        "First Reminder After (days)",
        config_parameter="digital_sign.reminder_first_days",
        default=const.DEFAULTS["reminder_first_days"],
    )
    digital_sign_reminder_interval_days = fields.Integer(
        "Then Every (days)",
        config_parameter="digital_sign.reminder_interval_days",
        default=const.DEFAULTS["reminder_interval_days"],
    )
    digital_sign_reminder_max = fields.Integer(
        "At Most (reminders)",
        config_parameter="digital_sign.reminder_max",
        default=const.DEFAULTS["reminder_max"],
    )
    digital_sign_poll_interval_minutes = fields.Integer(
        "Status Polling Interval (minutes)",
        config_parameter="digital_sign.poll_interval_minutes",
        default=const.DEFAULTS["poll_interval_minutes"],
    )
    digital_sign_sale_on_signed = fields.Selection(
        [
            ("confirm", "Confirm the quotation"),
            ("activity", "Mark it signed and leave an activity"),
        ],
        string="When a Quotation is Signed",
        config_parameter="digital_sign.sale_on_signed",
        default="confirm",
    )
    digital_sign_helpdesk_stage_signed_id = fields.Many2one(
        "helpdesk.ticket.stage",
        string="Ticket Stage When Signed",
        config_parameter="digital_sign.helpdesk_stage_signed_id",
        help="Move the ticket to this stage when its document is signed. Empty: no move.",
    )
    digital_sign_helpdesk_stage_rejected_id = fields.Many2one(
        "helpdesk.ticket.stage",
        string="Ticket Stage When Rejected",
        config_parameter="digital_sign.helpdesk_stage_rejected_id",
        help="Move the ticket to this stage when its document is rejected. Empty: no move.",
    )
    # Sealing (per company)
    # The certificate, its file and its password reach the company in ONE write (one inverse
    # for the four fields): related fields would write them one by one, and the company
    # checks the file with its password on every write.
    digital_sign_seal_source = fields.Selection(
        selection="_selection_digital_sign_seal_source",
        string="Seal Certificate",
        compute="_compute_digital_sign_seal_certificate",
        inverse="_inverse_digital_sign_seal_certificate",
    )
    digital_sign_seal_pkcs12 = fields.Binary(
        "Seal Certificate File",
        compute="_compute_digital_sign_seal_certificate",
        inverse="_inverse_digital_sign_seal_certificate",
        groups="base.group_system",
    )
    digital_sign_seal_pkcs12_filename = fields.Char(
        compute="_compute_digital_sign_seal_certificate",
        inverse="_inverse_digital_sign_seal_certificate",
        groups="base.group_system",
    )
    digital_sign_seal_password = fields.Char(
        "Seal Certificate Password",
        compute="_compute_digital_sign_seal_certificate",
        inverse="_inverse_digital_sign_seal_certificate",
        groups="base.group_system",
    )
    digital_sign_seal_certificate_info = fields.Text(
        related="company_id.digital_sign_seal_certificate_info"
    )
    digital_sign_seal_certificate_url = fields.Char(
        related="company_id.digital_sign_seal_certificate_url"
    )
    digital_sign_tsa_url = fields.Char(related="company_id.digital_sign_tsa_url", readonly=False)
    digital_sign_tsa_username = fields.Char(
        related="company_id.digital_sign_tsa_username", readonly=False
    )
    digital_sign_tsa_password = fields.Char(
        related="company_id.digital_sign_tsa_password", readonly=False
    )
    digital_sign_seal_lta = fields.Boolean(
        related="company_id.digital_sign_seal_lta", readonly=False
    )
    digital_sign_seal_fallback = fields.Selection(
        related="company_id.digital_sign_seal_fallback", readonly=False
    )
    digital_sign_seal_level = fields.Char(related="company_id.digital_sign_seal_level")
    digital_sign_company_seal = fields.Binary(
        related="company_id.digital_sign_company_seal", readonly=False
    )
    digital_sign_seal_keepers_summary = fields.Char(
        "Seal Keepers", compute="_compute_digital_sign_seal_keepers_summary"
    )
    digital_sign_anchor_status = fields.Char(
        "Audit Trail Anchoring", compute="_compute_digital_sign_anchor_status"
    )

    # === COMPUTE === #
    @api.depends("company_id")
    def _compute_digital_sign_seal_certificate(self):
        is_system = self.env.user.has_group("base.group_system")
        for settings in self:
            company_sudo = settings.company_id.sudo().with_context(bin_size=False)
            settings.digital_sign_seal_source = company_sudo.digital_sign_seal_source
            if is_system:
                settings.update({name: company_sudo[name] for name in SEAL_SECRET_FIELDS})

    @api.depends("company_id")
    def _compute_digital_sign_seal_keepers_summary(self):
        Request = self.env["digital.sign.request"]
        for settings in self:
            keepers = Request._get_seal_keepers(settings.company_id)
            settings.digital_sign_seal_keepers_summary = (
                self.env._("Applied by its seal keepers: %s.", ", ".join(keepers.mapped("name")))
                if keepers
                else self.env._('No user may apply it yet: add users to "Seal keepers".')
            )

    @api.depends("company_id", "digital_sign_tsa_url")
    def _compute_digital_sign_anchor_status(self):
        for settings in self:
            settings.digital_sign_anchor_status = self.env[
                "digital.sign.anchor"
            ]._describe_configuration(
                settings.company_id, tsa_url=settings.digital_sign_tsa_url or ""
            )

    def _inverse_digital_sign_seal_certificate(self):
        is_system = self.env.user.has_group("base.group_system")
        for settings in self:
            company_sudo = settings.company_id.sudo().with_context(bin_size=False)
            names = (
                ("digital_sign_seal_source", *SEAL_SECRET_FIELDS)
                if is_system
                else ("digital_sign_seal_source",)
            )
            vals = {}
            for name in names:
                new, old = settings[name], company_sudo[name]
                if name == "digital_sign_seal_pkcs12":
                    changed = decode_binary(new) != decode_binary(old)
                else:
                    changed = (new or False) != (old or False)
                if changed:
                    vals[name] = new
            if vals:
                settings.company_id.write(vals)

    def _selection_digital_sign_seal_source(self):
        return self.env["res.company"]._fields["digital_sign_seal_source"].selection

    # === CONSTRAINTS === #
    @api.constrains(
        "digital_sign_arrow_width",
        "digital_sign_arrow_height",
        "digital_sign_signature_width",
        "digital_sign_signature_height",
        "digital_sign_single_signature_timeout",
        "digital_sign_default_validity_days",
        "digital_sign_max_upload_mb",
        "digital_sign_max_pages",
    )
    def _check_digital_sign_positive(self):
        for settings in self:
            values = (
                settings.digital_sign_arrow_width,
                settings.digital_sign_arrow_height,
                settings.digital_sign_signature_width,
                settings.digital_sign_signature_height,
                settings.digital_sign_single_signature_timeout,
                settings.digital_sign_default_validity_days,
                settings.digital_sign_max_upload_mb,
                settings.digital_sign_max_pages,
            )
            if any(value <= 0 for value in values):
                raise ValidationError(
                    self.env._("Digital signing sizes and limits must be positive.")
                )

    @api.constrains("digital_sign_signed_link_days")
    def _check_digital_sign_signed_link_days(self):
        # At least 1: Odoo does not store 0 for an integer setting (it would mean the default).
        if any(settings.digital_sign_signed_link_days < 1 for settings in self):
            raise ValidationError(
                self.env._("The signed copy is given by link for at least 1 day.")
            )

    # === ACTIONS === #
    def action_digital_sign_seal_keepers(self):
        """The group "Seal keepers", to add or remove its users."""
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.groups",
            "res_id": self.env.ref("digital_sign.group_seal_keeper").id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }

    # === CRUD === #
    def set_values(self):
        super().set_values()
        cron = self.env.ref("digital_sign.ir_cron_poll_provider_status", raise_if_not_found=False)
        minutes = self.digital_sign_poll_interval_minutes
        if cron and minutes and (cron.interval_number, cron.interval_type) != (minutes, "minutes"):
            cron.sudo().write({"interval_number": minutes, "interval_type": "minutes"})
