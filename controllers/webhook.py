"""Webhooks from e-signature services: ``POST /digital_sign/webhook/<code>``.

This controller only bounds the body. The provider does the rest
(``digital.sign.provider._verify_webhook`` then ``_process_webhook``): verification comes
first and fails closed (a provider without a configured secret refuses every call; its
engine client checks the signature: DocuSign's HMAC of the raw body, GetAccept's secret
token in the URL), and each event is applied once, whatever the number of deliveries.
"""

from werkzeug.exceptions import Forbidden, RequestEntityTooLarge

from odoo import http
from odoo.http import request

MAX_WEBHOOK_BYTES = 1024 * 1024


class DigitalSignWebhookController(http.Controller):
    @http.route(
        "/digital_sign/webhook/<string:code>",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def webhook(self, code, **kwargs):
        httprequest = request.httprequest
        if (httprequest.content_length or 0) > MAX_WEBHOOK_BYTES:
            raise RequestEntityTooLarge()
        body = httprequest.get_data(cache=True)
        if len(body) > MAX_WEBHOOK_BYTES:
            raise RequestEntityTooLarge()
        provider, event = (
            request.env["digital.sign.provider"]
            .sudo()
            ._verify_webhook(code, dict(httprequest.headers), body, dict(httprequest.args))
        )
        if not provider:
            raise Forbidden()
        return request.make_json_response({"status": provider._process_webhook(event)})
