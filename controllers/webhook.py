"""Webhooks from e-signature services: ``POST /digital_sign/webhook/<code>``.

Verification comes first and fails closed: a provider without a configured secret refuses
every call. DocuSign Connect messages must carry a valid HMAC of the raw body; GetAccept
signs nothing, so its calls (authenticated by a secret token in the URL) only schedule a
status fetch through the API. Each event is applied once, whatever the number of deliveries.
"""

import logging

from werkzeug.exceptions import Forbidden, RequestEntityTooLarge

from odoo import http
from odoo.http import request

from ..engine.errors import WebhookRejected

_logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 1024 * 1024


class DigitalSignWebhookController(http.Controller):
    @http.route("/digital_sign/webhook/<string:code>", type="http", auth="public",
                methods=["POST"], csrf=False, save_session=False)
    def webhook(self, code, **kwargs):
        httprequest = request.httprequest
        if (httprequest.content_length or 0) > MAX_WEBHOOK_BYTES:
            raise RequestEntityTooLarge()
        body = httprequest.get_data(cache=True)
        if len(body) > MAX_WEBHOOK_BYTES:
            raise RequestEntityTooLarge()
        Provider = request.env["digital.sign.provider"].sudo()
        candidates = Provider.search([("code", "=", code), ("code", "!=", "portal"),
                                      ("state", "in", ("enabled", "test"))])
        provider, event = Provider, None
        for candidate in candidates:
            secrets = candidate._get_webhook_secrets()
            if not secrets:
                continue  # fail closed: no secret, no webhook
            try:
                event = candidate._get_client().parse_webhook(
                    dict(httprequest.headers), body, secrets, params=dict(httprequest.args))
            except WebhookRejected as error:
                _logger.info("Webhook refused for provider %s: %s", candidate.id, error.code)
                continue
            provider = candidate
            break
        if not provider:
            raise Forbidden()
        registered = request.env["digital.sign.webhook.event"].sudo()._record_delivery(provider, event)
        if not registered:
            _logger.info("Duplicate webhook event for provider %s ignored", provider.id)
            return request.make_json_response({"status": "duplicate"})
        sign_request = request.env["digital.sign.request"].sudo().search([
            ("provider_id", "=", provider.id), ("provider_reference", "=", event.provider_reference),
        ], limit=1)
        if not sign_request:
            _logger.info("Webhook for an unknown envelope of provider %s", provider.id)
            return request.make_json_response({"status": "unknown"})
        registered.request_id = sign_request
        provider._dispatch("apply_webhook", sign_request, event)
        return request.make_json_response({"status": "ok"})
