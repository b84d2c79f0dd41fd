from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..utils import CheckedPdf

# Models whose file fields (original, signed and sealed PDFs, signature images, the page
# images participants are shown) are evidence.
EVIDENCE_MODELS = ("digital.sign.request", "digital.sign.participant", "digital.sign.field")


class IrAttachment(models.Model):
    """The files behind evidence are written by the signing flow only.

    A Binary field stored as an attachment is written by the ORM through ``sudo()``; a user
    with write access on their own document could otherwise change the signed PDF, the
    original or a signature image by writing the ``ir.attachment`` itself (or pointing
    another attachment at the field) through the external API. The same holds for the
    copies of the signed document the flow posts in chatters (``digital_sign_locked``).
    """

    _inherit = "ir.attachment"

    # === FIELDS === #
    digital_sign_locked = fields.Boolean(
        "Signed Document Copy",
        readonly=True,
        copy=False,
        help="A copy of a signed document posted by the signing flow: it cannot be changed.",
    )

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                self._digital_sign_check_target(
                    vals.get("res_model"), vals.get("res_field"), vals.get("digital_sign_locked")
                )
        checked = self._digital_sign_get_checked_pdf()
        if checked:
            # Documents copying one checked PDF (a template sent to many): its bytes are
            # decoded once, not once per copy (see _get_datas_related_values).
            for vals in vals_list:
                if checked.matches(vals.get("datas")):
                    del vals["datas"]
                    vals["raw"] = checked.raw()
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._digital_sign_check_unlocked()
            for attachment in self.sudo():
                self._digital_sign_check_target(
                    vals.get("res_model", attachment.res_model),
                    vals.get("res_field", attachment.res_field),
                    vals.get("digital_sign_locked"),
                )
        return super().write(vals)

    def unlink(self):
        if not self.env.su:
            self._digital_sign_check_unlocked()
        return super().unlink()

    # === BUSINESS === #
    def _get_datas_related_values(self, data, mimetype):
        checked = self._digital_sign_get_checked_pdf()
        if checked and data is checked.raw():
            # One checksum (and one file in the store) for all the copies of a checked PDF.
            return checked.related_values(
                mimetype,
                lambda: super(IrAttachment, self)._get_datas_related_values(data, mimetype),
            )
        return super()._get_datas_related_values(data, mimetype)

    def _digital_sign_get_checked_pdf(self):
        """The PDF checked once for the documents being created (utils.CheckedPdf), or None."""
        checked = self.env.context.get("digital_sign_checked_pdf")
        return checked if isinstance(checked, CheckedPdf) else None

    def _digital_sign_is_evidence(self):
        self.ensure_one()
        return self.digital_sign_locked or (
            self.res_model in EVIDENCE_MODELS and bool(self.res_field)
        )

    def _digital_sign_check_unlocked(self):
        if any(attachment._digital_sign_is_evidence() for attachment in self.sudo()):
            raise AccessError(
                self.env._(
                    "This file is evidence of a signature document: only the signing flow writes "
                    "or removes it."
                )
            )

    def _digital_sign_check_target(self, res_model, res_field, locked):
        if locked or (res_model in EVIDENCE_MODELS and res_field):
            raise AccessError(
                self.env._(
                    "This file is evidence of a signature document: only the signing flow writes "
                    "or removes it."
                )
            )
