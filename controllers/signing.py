"""The public signing page, reached by each participant's own token.

Access: the participant is resolved from *its own* token (constant-time compare against the
value read with sudo); every failure (unknown id, wrong token, another participant's token,
a revoked token, the quotation's portal token) gets the same 404 from one helper, which also
counts the failure per IP in the database. State-changing calls are POSTs (JSON-RPC) that
carry the CSRF token and are refused when the browser says they come from another site.

A GET changes nothing: mail systems' link scanners open links, so the participant becomes
"viewed" only when the rendered page's script reports it (``/viewed``). Every JSON call goes
through ``_public_call``, which checks the CSRF token, the link and the parameters' types
before any code reads them, and answers a refusal in the route's own shape (never a
traceback): ``{"error": "forbidden" | "not_found"}`` or ``{"status": "invalid"}``. Limits
answer ``{"status": "limited"}``.
"""

import hashlib
import logging

from odoo import fields, http
from odoo.http import Stream, request
from odoo.tools import consteq

from .. import const
from ..engine import images as engine_images
from ..engine import params as P
from ..utils import client_info
from . import public_page
from .hosted import SESSION_HOSTED_KEY

# Until controllers/portal.py imports them from the page kit (public_page) itself:
from .public_page import NO_STORE, log_download_once  # noqa: F401

_logger = logging.getLogger(__name__)

BASE = const.SIGNING_PATH.format(participant_id="<int:participant_id>", token="<string:token>")
SESSION_KEY = "digital_sign_verified"
SESSION_OPENED_KEY = "digital_sign_opened_as"
# A signature image as the page sends it: a data URL of at most engine_images' limit.
MAX_IMAGE_TEXT = 2 * engine_images.MAX_IMAGE_BYTES
CONTACT = {"name": P.Text(256), "email": P.Text(320), "mobile": P.Text(64)}


class DigitalSignController(http.Controller):
    # === ACCESS === #
    def _client_ip(self):
        return client_info()[0]

    def _client(self):
        """The client's address and browser, as the audit trail records them with what the
        participant did: ``{"ip": ..., "user_agent": ...}``."""
        ip, user_agent = client_info()
        return {"ip": ip, "user_agent": user_agent}

    def _is_throttled(self):
        ip = self._client_ip()
        return bool(ip) and request.env["digital.sign.throttle"]._is_limited(
            f"bad_token:{ip}", const.THROTTLE_BAD_TOKENS_PER_IP, 600
        )

    def _get_participant_sudo(self, participant_id, token):
        """Return the participant whose own token this is, or an empty recordset.

        Every caller answers an empty recordset the same way, whatever failed.
        """
        Participant = request.env["digital.sign.participant"].sudo()
        # An id beyond PostgreSQL's integer would crash the query: it is simply unknown. One
        # query finds the participant and reads it (every page needs it).
        participant_sudo = (
            Participant.search_fetch(
                [("id", "=", participant_id)], const.PAGE_PARTICIPANT_FIELDS, limit=1, order="id"
            )
            if P.Id().fits(participant_id)
            else Participant
        )
        if participant_sudo and participant_sudo._token_matches(token):
            participant_sudo.request_id.fetch(const.PAGE_REQUEST_FIELDS)
            return participant_sudo
        # Wrong guesses are counted per IP in the database (every worker sees them); past
        # the limit, every bad link from that IP gets a 429 instead of the 404.
        ip = self._client_ip()
        if ip:
            request.env["digital.sign.throttle"]._hit(f"bad_token:{ip}", 600)
        return Participant

    def _not_found(self):
        """The one answer to any bad link. Returned, not raised, so the failure counter of
        this IP is committed."""
        return public_page.not_found(429 if self._is_throttled() else 404)

    def _json_not_found(self):
        return {"error": "not_found"}

    def _is_own_page_post(self, csrf_token):
        """True when a state-changing call comes from our own page: a valid CSRF token (a
        short ASCII str: Odoo's check expects one), and not a cross-site request according
        to the browser (Fetch Metadata)."""
        if request.httprequest.headers.get("Sec-Fetch-Site") == "cross-site":
            return False
        return (
            P.Text(256, ascii=True).fits(csrf_token)
            and bool(csrf_token)
            and request.validate_csrf(csrf_token)
        )

    def _public_call(self, participant_id, token, params, allowed=None, **shape):
        """The entrance of every JSON call of the page: the call must come from our page,
        the link must be the participant's own, and the parameters must have ``shape``
        (see ``engine.params``) before any code reads them.

        :param dict params: the call's parameters, as Odoo passed them
        :param allowed: ``allowed(participant_sudo)`` is true when the page offers the call
            at the link's step; otherwise the call gets the "not found" answer
        :return: ``(participant_sudo, values, None)``, or ``(None, None, refusal)`` where
            the refusal is the answer to return, in the routes' shape
        """
        if not self._is_own_page_post(params.get("csrf_token")):
            return None, None, {"error": "forbidden"}
        participant_sudo = self._get_participant_sudo(participant_id, token)
        if not participant_sudo:
            return None, None, self._json_not_found()
        participant_sudo = self._in_page_lang(participant_sudo)
        values, bad = P.check(params, shape)
        if bad:
            return (
                None,
                None,
                {
                    "status": "invalid",
                    "errors": {
                        bad: request.env._(
                            "The page sent a value the server cannot accept. Reload the page and try "
                            "again."
                        )
                    },
                },
            )
        if allowed and not allowed(participant_sudo):
            return None, None, self._json_not_found()
        return participant_sudo, values, None

    def _in_page_lang(self, participant_sudo, lang=None):
        """``participant_sudo`` in the language and time zone of their page, which become
        those of the whole request (template, messages, answers): the language chosen on
        the page in this browser session (``lang``, a ``?lang=`` value, is validated and
        remembered; an invalid one is ignored), else the participant's own
        (``_get_lang``: the sender's choice, the contact's...); the participant's time zone
        (``_get_tz``)."""
        preferred = public_page.chosen_lang(f"participant:{participant_sudo.id}", lang)
        participant_sudo = participant_sudo._with_page_locale(preferred)
        public_page.use_lang(participant_sudo.env.lang, participant_sudo.env.context["tz"])
        return participant_sudo

    def _session_verified(self, participant_sudo):
        """True when this browser session verified the participant's one-time code for the
        current link (a new link needs a new code), or when the link needs no code now: none
        is due, or the browser is logged in as this participant and the sender required no
        code (see ``_login_waives_code``)."""
        if not participant_sudo._otp_required() or participant_sudo._login_waives_code(
            request.env.user
        ):
            return True
        verified = request.session.get(SESSION_KEY) or {}
        expected = verified.get(str(participant_sudo.id))
        return isinstance(expected, str) and consteq(expected, self._token_digest(participant_sudo))

    def _token_digest(self, participant_sudo):
        return hashlib.sha256((participant_sudo.access_token or "").encode()).hexdigest()

    def _mark_session_verified(self, participant_sudo):
        verified = dict(request.session.get(SESSION_KEY) or {})
        verified[str(participant_sudo.id)] = self._token_digest(participant_sudo)
        request.session[SESSION_KEY] = verified

    def _note_logged_in_user(self, participant_sudo):
        """A browser logged in (as one of the sender's users, or as a portal user: the
        participant from their portal, or someone else holding the link) opened this page:
        the audit trail says so (once per session), and so does the certificate of
        completion."""
        user = request.env.user
        if user._is_public():
            return
        opened = list(request.session.get(SESSION_OPENED_KEY) or [])
        if participant_sudo.id in opened:
            return
        participant_sudo._log_opened_logged_in(user)
        request.session[SESSION_OPENED_KEY] = [*opened, participant_sudo.id][-50:]

    def _hosted_by(self, participant_sudo):
        """The name of the sender who handed their device over to this participant in this
        browser session ("Sign now", controllers/hosted.py), '' otherwise."""
        hosted = request.session.get(SESSION_HOSTED_KEY)
        name = hosted.get(str(participant_sudo.id)) if isinstance(hosted, dict) else ""
        return name if isinstance(name, str) else ""

    def _at_code_step(self, participant_sudo):
        """True when the link shows the one-time code form: to sign, or to see the signed
        copy again after the link's window."""
        return (
            participant_sudo._link_state() in ("sign", "signed")
            and participant_sudo._otp_required()
        )

    def _shows_document(self, participant_sudo):
        """True when the page shows the document to sign (after the code and the naming of
        missing participants)."""
        return (
            participant_sudo._link_state() == "sign"
            and self._session_verified(participant_sudo)
            and not participant_sudo._get_missing_participants()
        )

    # === PAGES === #
    @http.route(BASE, type="http", auth="public", methods=["GET"], sitemap=False)
    def signing_page(self, participant_id, token, **kwargs):
        participant_sudo = self._get_participant_sudo(participant_id, token)
        if not participant_sudo:
            return self._not_found()
        participant_sudo._expire_if_late()
        self._note_logged_in_user(participant_sudo)
        participant_sudo = self._in_page_lang(participant_sudo, kwargs.get("lang"))
        link_state = participant_sudo._link_state()
        values = participant_sudo._prepare_page_values(link_state)
        values["hosted_by"] = self._hosted_by(participant_sudo)
        if link_state in ("sign", "signed") and not self._session_verified(participant_sudo):
            values["step"] = "otp"
        elif link_state == "sign":
            values["step"] = "name" if participant_sudo._get_missing_participants() else "sign"
        public_page.use_company(values["company"])
        return public_page.render("digital_sign.signing_page", values)

    @http.route(
        BASE + "/page/<int:page>", type="http", auth="public", methods=["GET"], sitemap=False
    )
    def page_image(self, participant_id, token, page, **kwargs):
        participant_sudo = self._get_participant_sudo(participant_id, token)
        if not participant_sudo or not self._can_see_document(participant_sudo):
            return self._not_found()
        sign_request = participant_sudo.request_id
        if page < 1 or page > sign_request.page_count:
            return self._not_found()
        data, mimetype = sign_request._get_page_image(page)
        response = request.make_response(data, headers=[("Content-Type", mimetype)])
        return public_page.no_store(response)

    def _can_see_document(self, participant_sudo):
        return participant_sudo._link_state() in ("sign", "signed") and self._session_verified(
            participant_sudo
        )

    @http.route(
        BASE + "/download/<string:which>",
        type="http",
        auth="public",
        methods=["GET"],
        sitemap=False,
    )
    def download(self, participant_id, token, which, **kwargs):
        participant_sudo = self._get_participant_sudo(participant_id, token)
        if not participant_sudo or not self._can_see_document(participant_sudo):
            return self._not_found()
        sign_request = participant_sudo.request_id
        if which == "signed":
            if sign_request.finalize_state != "done" or not sign_request.signed_pdf:
                return self._not_found()
            stream = Stream.from_binary_field(sign_request, "signed_pdf")
            stream.download_name = sign_request.signed_filename or "signed.pdf"
            public_page.log_download_once(
                sign_request, f"s:{participant_sudo.id}", participant_sudo=participant_sudo
            )
        elif which == "original":
            stream = Stream(
                type="data",
                data=sign_request._get_display_pdf(),
                download_name=f"{sign_request.name}.pdf",
            )
        else:
            return self._not_found()
        stream.mimetype = "application/pdf"
        stream.public = False
        return public_page.no_store(stream.get_response(as_attachment=True))

    # === ACTIONS (JSON-RPC, POST) === #
    @http.route(BASE + "/viewed", type="jsonrpc", auth="public", methods=["POST"])
    def viewed(self, participant_id, token, **params):
        """The page's script reports that it showed the document: the participant (and
        the request) become viewed. Only this call does it, never the GET of the link."""
        participant_sudo, _values, refusal = self._public_call(participant_id, token, params)
        if refusal:
            return refusal
        if not self._shows_document(participant_sudo):
            return {"status": "closed"}
        participant_sudo._mark_viewed()
        return {"status": "ok"}

    @http.route(BASE + "/otp/send", type="jsonrpc", auth="public", methods=["POST"])
    def otp_send(self, participant_id, token, **params):
        participant_sudo, _values, refusal = self._public_call(
            participant_id, token, params, self._at_code_step
        )
        if refusal:
            return refusal
        result = participant_sudo._otp_send(ip=self._client_ip())
        return self._jsonable(result, participant_sudo)

    @http.route(BASE + "/otp/verify", type="jsonrpc", auth="public", methods=["POST"])
    def otp_verify(self, participant_id, token, **params):
        participant_sudo, values, refusal = self._public_call(
            participant_id, token, params, self._at_code_step, code=P.Text(32)
        )
        if refusal:
            return refusal
        if not values["code"]:
            return {
                "status": "invalid",
                "errors": {"code": request.env._("Enter the code you received.")},
            }
        result = participant_sudo._otp_verify(values["code"])
        if result["status"] == "ok":
            self._mark_session_verified(participant_sudo)
        return self._jsonable(result, participant_sudo)

    @http.route(BASE + "/submit", type="jsonrpc", auth="public", methods=["POST"])
    def submit(self, participant_id, token, **params):
        participant_sudo, values, refusal = self._public_call(
            participant_id,
            token,
            params,
            values=P.Mapping(
                P.Text(16, ascii=True), P.AnyOf((P.Text(MAX_IMAGE_TEXT), P.Flag())), max_items=500
            ),
            consent=P.Flag(),
            document_sha256=P.Text(64, ascii=True),
            lang=P.Text(16, ascii=True),
        )
        if refusal:
            return refusal
        if values["lang"] is not None:
            # The language the page was shown in: the consent is recorded in the words the
            # participant read, whatever another tab chose since.
            shown = public_page.valid_lang(values["lang"])
            if not shown:
                return {
                    "status": "invalid",
                    "errors": {"lang": request.env._("Reload the page and try again.")},
                }
            participant_sudo = participant_sudo.with_context(
                lang=shown, digital_sign_page_lang=shown
            )
        if participant_sudo.state == "signed":
            return {"status": "already_signed"}
        if (
            not self._session_verified(participant_sudo)
            or participant_sudo._get_missing_participants()
        ):
            return {"status": "closed"}
        if not values["document_sha256"]:
            # What you see is what you sign: the page says which document it showed.
            return {
                "status": "invalid",
                "errors": {"document_sha256": request.env._("Reload the page and try again.")},
            }
        result = participant_sudo._submit(
            values["values"] or {},
            bool(values["consent"]),
            values["document_sha256"],
            **self._client(),
        )
        return self._jsonable(result)

    @http.route(BASE + "/reject", type="jsonrpc", auth="public", methods=["POST"])
    def reject(self, participant_id, token, **params):
        participant_sudo, values, refusal = self._public_call(
            participant_id, token, params, self._session_verified, reason=P.Text(2000)
        )
        if refusal:
            return refusal
        return self._jsonable(participant_sudo._reject(values["reason"], **self._client()))

    @http.route(BASE + "/name", type="jsonrpc", auth="public", methods=["POST"])
    def name_participants(self, participant_id, token, **params):
        participant_sudo, values, refusal = self._public_call(
            participant_id,
            token,
            params,
            lambda p: p._link_state() == "sign" and self._session_verified(p),
            participants=P.Items(
                P.Record({"id": P.Id(), "include": P.Flag(), **CONTACT}), max_items=50
            ),
        )
        if refusal:
            return refusal
        result = participant_sudo._name_participants(values["participants"] or [], **self._client())
        return self._jsonable(result)

    @http.route(BASE + "/reengage", type="jsonrpc", auth="public", methods=["POST"])
    def reengage(self, participant_id, token, **params):
        participant_sudo, values, refusal = self._public_call(
            participant_id,
            token,
            params,
            self._can_see_document,
            other_id=P.Id(),
            email=CONTACT["email"],
            mobile=CONTACT["mobile"],
        )
        if refusal:
            return refusal
        other_sudo = participant_sudo.request_id.participant_ids.filtered(
            lambda p: p.id == values["other_id"] and p.named_by_id == participant_sudo
        )
        if not other_sudo:
            return self._json_not_found()
        result = other_sudo._reengage(
            email=values["email"], mobile=values["mobile"], by=participant_sudo, **self._client()
        )
        return self._jsonable(result)

    @http.route(BASE + "/new_link", type="jsonrpc", auth="public", methods=["POST"])
    def ask_new_link(self, participant_id, token, **params):
        participant_sudo, _values, refusal = self._public_call(
            participant_id, token, params, lambda p: p._link_state() == "expired"
        )
        if refusal:
            return refusal
        return self._jsonable(participant_sudo._ask_new_link(ip=self._client_ip()))

    @http.route(BASE + "/status", type="jsonrpc", auth="public", methods=["POST"])
    def status(self, participant_id, token, **params):
        """Poll while the final document is being prepared."""
        participant_sudo, _values, refusal = self._public_call(participant_id, token, params)
        if refusal:
            return refusal
        sign_request = participant_sudo.request_id
        return {
            "link_state": participant_sudo._link_state(),
            "request_state": sign_request.state,
            "document_ready": sign_request.finalize_state == "done",
        }

    def _jsonable(self, result, participant_sudo=None):
        """``result`` for JSON: times as UTC text; with ``participant_sudo``, each time also
        as the participant reads it (``<key>_text``: their language and time zone)."""
        answer = {}
        for key, value in result.items():
            if hasattr(value, "isoformat"):
                answer[key] = fields.Datetime.to_string(value)
                if participant_sudo:
                    answer[f"{key}_text"] = participant_sudo._format_page_time(value)
            else:
                answer[key] = value
        return answer
