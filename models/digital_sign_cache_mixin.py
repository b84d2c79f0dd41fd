from odoo import models

from ..engine import pdf_render

PAGE_IMAGE_WIDTH = 1100
CACHE_RES_FIELD = "digital_sign_cache"


class DigitalSignCacheMixin(models.AbstractModel):
    """What a record renders from its PDF (the PDF shown, the images of its pages), kept as
    private attachments of the record, each under a name that carries the hash of the PDF
    it comes from."""

    _name = "digital.sign.cache.mixin"
    _description = "Renderings Cached as Private Attachments"

    # Cache attachments carry a res_field that is no field: hidden from the chatter, and
    # refused to everyone but administrators by ir.attachment's access check.
    def _get_cache_attachment(self, name):
        return (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "=", self.id),
                    ("res_field", "=", CACHE_RES_FIELD),
                    ("name", "=", name),
                ],
                limit=1,
            )
        )

    def _store_cache_attachment(self, name, data, mimetype):
        return (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": name,
                    "raw": data,
                    "mimetype": mimetype,
                    "res_model": self._name,
                    "res_id": self.id,
                    "res_field": CACHE_RES_FIELD,
                    "public": False,
                }
            )
        )

    def _get_cached_page_image(self, name, page, get_pdf):
        """Page ``page`` of the PDF ``get_pdf()`` returns, as an image (a palette PNG for
        text, a JPEG for scans), cached under ``name`` (the PDF is read on a miss only).

        :return: ``(bytes, mimetype)``
        Note: self.ensure_one()
        """
        self.ensure_one()
        attachment = self._get_cache_attachment(name)
        if attachment:
            return attachment.raw, attachment.mimetype
        data = pdf_render.render_page(
            get_pdf(), page, width_px=PAGE_IMAGE_WIDTH, fmt="auto", quality=75
        )
        mimetype = pdf_render.image_mimetype(data)
        self._store_cache_attachment(name, data, mimetype)
        return data, mimetype
