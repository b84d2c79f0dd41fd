from odoo import api, fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    # === FIELDS === #
    digital_sign_seal_source = fields.Selection(
        [("auto", "Self-signed certificate made by Odoo"), ("upload", "Certificate from a CA (PKCS#12)")],
        string="Seal Certificate", default="auto", required=True,
    )
    digital_sign_seal_pkcs12 = fields.Binary(
        "Seal Certificate File", attachment=True, groups="base.group_system", copy=False)
    digital_sign_seal_pkcs12_filename = fields.Char(groups="base.group_system", copy=False)
    digital_sign_seal_password = fields.Char(
        "Seal Certificate Password", groups="base.group_system", copy=False)
    digital_sign_seal_certificate_info = fields.Text(
        "Seal Certificate Details", compute="_compute_digital_sign_seal_certificate_info")
    digital_sign_tsa_url = fields.Char(
        "Timestamp Server", help="RFC 3161 timestamp server (https). Empty: seals carry no "
        "trusted time (PAdES B-B).")
    digital_sign_tsa_username = fields.Char("Timestamp Server User", groups="base.group_system")
    digital_sign_tsa_password = fields.Char("Timestamp Server Password", groups="base.group_system")
    digital_sign_seal_lta = fields.Boolean(
        "Archive Timestamp (B-LTA)", help="Add a document timestamp over the validation data.")
    digital_sign_seal_fallback = fields.Selection(
        [("wait", "Keep waiting for the timestamp server"),
         ("unsealed_time", "Seal without a timestamp")],
        string="After 24 Hours Without Timestamp Server", default="wait", required=True,
    )
    digital_sign_seal_level = fields.Char(
        "Documents Get", compute="_compute_digital_sign_seal_level")

    # === COMPUTE === #
    @api.depends("digital_sign_seal_source")
    def _compute_digital_sign_seal_certificate_info(self):
        for company in self:
            company.digital_sign_seal_certificate_info = False

    @api.depends("digital_sign_tsa_url", "digital_sign_seal_lta")
    def _compute_digital_sign_seal_level(self):
        for company in self:
            company.digital_sign_seal_level = "PAdES B-B"

    # === BUSINESS === #
    def _digital_sign_seal_document(self, sign_request, pdf):
        """Seal the final PDF of ``sign_request`` (sealing lands in its own change).

        :return: the bytes to keep, or None when sealing must wait
        Note: self.ensure_one()
        """
        self.ensure_one()
        return pdf

    def _digital_sign_seal_note(self):
        self.ensure_one()
        return ""
