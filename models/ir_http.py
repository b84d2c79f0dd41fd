from odoo import models
from odoo.http import request

from .. import const


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _get_translation_frontend_modules_name(cls):
        """The public pages' script speaks the page's language: its terms are served with
        the frontend's translations (``/website/translations``)."""
        return [*super()._get_translation_frontend_modules_name(), "digital_sign"]

    @classmethod
    def _handle_error(cls, exception):
        """The last guard of the signing page's JSON calls: a call Odoo could not even hand
        to the route (``params`` not an object, arrays nested deeper than the JSON parser
        goes, a reserved parameter name) gets a refusal in the routes' shape instead of
        Odoo's JSON-RPC error, whose ``debug`` member carries the traceback. The server log
        keeps the exception (Odoo logs it before answering)."""
        dispatcher = request.dispatcher if request else None
        if (
            dispatcher is not None
            and dispatcher.routing_type == "jsonrpc"
            and request.httprequest.path.startswith(const.SIGNING_PATH_PREFIX)
        ):
            return dispatcher._response(result={"error": "bad_request"})
        return super()._handle_error(exception)
