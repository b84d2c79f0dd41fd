"""Sign now: signing in person on the sender's device.

The sender (a user who may see the document's live links: its owner or a manager) clicks
*Sign now* on the document, the quotation or the ticket; the backend answers with a
one-time hand-over link (``const.HOSTED_PATH``), issued to that user for
``HOSTED_LINK_TTL_SECONDS`` (only its HMAC is stored, on the participant).

- ``GET`` of the link shows the sender what happens next (nothing changes on a GET): the
  page of the customer opens in a fresh session and the sender is logged out.
- ``POST`` (CSRF-checked, from that page, in the session of the user the link was issued
  to) burns the link, logs the hand-over in the audit trail (event ``in_person``, actor =
  the sender), then **ends the sender's session**: the session is logged out and rotated,
  and every file of the sender's session (the soft-rotated ones too) is deleted, its device
  log revoked, so the old session cookie gives nothing of ``/web`` or ``/json/2`` any more.
  The browser gets a new, anonymous session, which only remembers who hosted the signing,
  and is sent to the participant's own signing page: the one-time code, if the sender
  required one, is asked as usual.

Why a logout and not "a new window with its own session": a browser shares its cookies
between the windows of one site, so a second session in a new window replaces the first one
anyway; and a window left logged in next to the customer is what must not happen. Odoo
Enterprise's *Sign Now* opens the signing inside the sender's backend session (meant for the
sender signing themselves); here the customer signs, so nothing of the sender's session may
remain usable, and the sender logs in again afterwards.

Every failure (unknown participant, wrong, used or expired link, another user's link, a
visitor who is not logged in) gets the one not-found page of the public pages.
"""

import logging

from odoo import http
from odoo.http import request

from .. import const
from ..engine import params as P
from . import public_page

_logger = logging.getLogger(__name__)

BASE = const.HOSTED_PATH.format(participant_id="<int:participant_id>", token="<string:token>")
# In the fresh session of a hand-over: {participant id (str): the host's display label}
SESSION_HOSTED_KEY = "digital_sign_hosted"


class DigitalSignHostedController(http.Controller):
    def _get_hosted_participant_sudo(self, participant_id, token):
        """The participant whose live hand-over link this is, issued to the logged-in user,
        when the signing can still be handed over; else an empty recordset."""
        Participant = request.env["digital.sign.participant"].sudo()
        user = request.env.user
        if user._is_public() or user.share or not P.Id().fits(participant_id):
            return Participant
        participant_sudo = Participant.browse(participant_id).exists()
        if not participant_sudo or not participant_sudo._hosted_token_matches(token, user):
            return Participant
        # The rights and the state are checked again as the user, as when the link was made.
        if participant_sudo.with_user(user)._get_sign_now_problem():
            return Participant
        return participant_sudo

    @http.route(BASE, type="http", auth="public", methods=["GET"], sitemap=False)
    def hosted_page(self, participant_id, token, **kwargs):
        participant_sudo = self._get_hosted_participant_sudo(participant_id, token)
        if not participant_sudo:
            return public_page.not_found()
        sign_request_sudo = participant_sudo.request_id
        name = participant_sudo.name
        texts = {
            "title": request.env._("Hand this device to %s", name),
            "intro": request.env._(
                "%(name)s signs %(document)s here, in a fresh session.",
                name=name,
                document=sign_request_sudo.name,
            ),
            "logout": request.env._(
                "When you continue, %(user)s is logged out of Odoo: nothing of your session "
                "stays open on this device. Log in again once %(name)s has finished.",
                user=request.env.user.name,
                name=name,
            ),
        }
        if participant_sudo.otp_channel in ("email", "sms"):
            texts["code"] = request.env._(
                "A one-time code will be sent to %s first.",
                participant_sudo._get_contact_label(participant_sudo._get_code_channel()),
            )
        return public_page.render(
            "digital_sign.hosted_page",
            {
                "sign_request": sign_request_sudo,
                "company": sign_request_sudo.company_id,
                "texts": texts,
                "action": const.HOSTED_PATH.format(participant_id=participant_id, token=token)
                + "/start",
            },
        )

    @http.route(
        BASE + "/start", type="http", auth="public", methods=["POST"], sitemap=False, csrf=True
    )
    def hand_over(self, participant_id, token, **kwargs):
        host = request.env.user
        participant_sudo = self._get_hosted_participant_sudo(participant_id, token)
        if not participant_sudo or not participant_sudo._consume_hosted_token(token, host):
            return public_page.not_found()
        participant_sudo._log_in_person(host)
        _logger.info(
            "Signing in person: user %s handed participant %s over; their session ends",
            host.id,
            participant_sudo.id,
        )
        self._end_backend_session()
        request.session[SESSION_HOSTED_KEY] = {str(participant_sudo.id): host.name}
        response = request.redirect(participant_sudo._get_signing_path(), code=303, local=True)
        return public_page.no_store(response)

    def _end_backend_session(self):
        """Log the current user out for good: the session is cleared and gets a new id, and
        every stored file of it (with its soft-rotated predecessors, which share the first
        ``STORED_SESSION_BYTES`` of the id) is deleted, its device log revoked."""
        session = request.session
        identifier = session.sid[: http.STORED_SESSION_BYTES]
        request.env["res.device.log"].sudo().search(
            [("session_identifier", "=", identifier)]
        ).write({"revoked": True})
        session.logout(keep_db=True)
        http.root.session_store.delete_from_identifiers([identifier])
