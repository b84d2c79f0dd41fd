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
        sign_request = request.env["digital.sign.request"].browse(request_id).exists()
        try:
            sign_request.check_access("read")
        except AccessError:
            sign_request = None
        if not sign_request or not 1 <= page <= sign_request.page_count:
            raise request.not_found()
        # The rendering cache is private to administrators: read it as superuser once the
        # user's own read access is established above.
        data, mimetype = sign_request.sudo()._get_page_image(page)
        return request.make_response(
            data,
            headers=[
                ("Content-Type", mimetype),
                # The URL carries the document's SHA-256: the image for it never changes.
                ("Cache-Control", "private, max-age=604800"),
            ],
        )

    @http.route(
        const.TEMPLATE_PAGE_PATH.format(template_id="<int:template_id>", page="<int:page>"),
        type="http",
        auth="user",
        methods=["GET"],
        sitemap=False,
    )
    def backend_template_page_image(self, template_id, page, **kwargs):
        template = request.env["digital.sign.template"].browse(template_id).exists()
        try:
            template.check_access("read")
        except AccessError:
            template = None
        if not template or not 1 <= page <= template.page_count:
            raise request.not_found()
        data, mimetype = template.sudo()._get_page_image(page)
        return request.make_response(
            data,
            headers=[
                ("Content-Type", mimetype),
                ("Cache-Control", "private, max-age=604800"),
            ],
        )
