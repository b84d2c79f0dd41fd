"""Page images for the backend places editor (logged-in users with read access only)."""

from odoo import http
from odoo.exceptions import AccessError
from odoo.http import request

from .. import const


class DigitalSignPlacesController(http.Controller):
    @http.route(
        const.PLACES_PAGE_PATH.format(request_id="<int:request_id>", page="<int:page>"),
        type="http",
        auth="user",
        methods=["GET"],
        sitemap=False,
    )
    def backend_page_image(self, request_id, page, **kwargs):
        return self._page_image("digital.sign.request", request_id, page)

    @http.route(
        const.TEMPLATE_PAGE_PATH.format(template_id="<int:template_id>", page="<int:page>"),
        type="http",
        auth="user",
        methods=["GET"],
        sitemap=False,
    )
    def backend_template_page_image(self, template_id, page, **kwargs):
        return self._page_image("digital.sign.template", template_id, page)

    def _page_image(self, model, record_id, page):
        """The image of page ``page`` (1-based) of the ``model`` record ``record_id`` (a
        request or a template), for a user who may read the record; a 404 otherwise."""
        record = request.env[model].browse(record_id).exists()
        try:
            record.check_access("read")
        except AccessError:
            record = None
        if not record or not 1 <= page <= record.page_count:
            raise request.not_found()
        # The rendering cache is private to administrators: read it as superuser once the
        # user's own read access is established above.
        data, mimetype = record.sudo()._get_page_image(page)
        return request.make_response(
            data,
            headers=[
                ("Content-Type", mimetype),
                # The URL carries the document's SHA-256: the image for it never changes.
                ("Cache-Control", "private, max-age=604800"),
            ],
        )
