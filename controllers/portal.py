"""The documents of a ticket on its portal page (``/my/ticket/<id>``, helpdesk_mgmt's).

The page lists the ticket's documents out for signature and the signed ones. A signing
link is shown only to the person it belongs to: a participant whose contact is the portal
user's own contact. Colleagues of the same company may read the ticket, but never open
another person's link (that would sign in their name). Whoever may read the ticket (its
portal access rules, or its access token) downloads the signed documents through a route
that checks the ticket first and then that the document belongs to that ticket; anything
else gets a 404. The download is logged once per session.
"""

from odoo import fields, http
from odoo.exceptions import AccessError, MissingError
from odoo.http import Stream, request

from odoo.addons.helpdesk_mgmt.controllers.myaccount import CustomerPortalHelpdesk

from .. import const
from .signing import NO_STORE, log_download_once

TICKET_MODEL = "helpdesk.ticket"


class DigitalSignHelpdeskPortal(CustomerPortalHelpdesk):
    # === PAGE VALUES === #
    def _ticket_get_page_view_values(self, ticket, access_token, **kwargs):
        values = super()._ticket_get_page_view_values(ticket, access_token, **kwargs)
        values.update(self._digital_sign_ticket_values(ticket, access_token))
        return values

    def _digital_sign_own_partners(self):
        """The contacts whose signing links the current user may see: their own contact
        only (not the other contacts of their company). None for the public user (a ticket
        opened with its access token shows no signing link)."""
        user = request.env.user
        if user._is_public():
            return request.env["res.partner"]
        return user.partner_id

    def _digital_sign_ticket_values(self, ticket_sudo, access_token):
        """The ticket's documents for its portal page.

        :param ticket_sudo: the ticket, already checked by ``_document_check_access``
        :param str access_token: the ticket's token the page was opened with, if any
        :return: dict with ``digital_sign_to_sign`` (list of {request, links: [(name, path)]})
            and ``digital_sign_signed`` (list of {request, url})
        """
        requests_sudo = request.env["digital.sign.request"].sudo().search([
            ("res_model", "=", TICKET_MODEL), ("res_id", "=", ticket_sudo.id),
            ("state", "in", (*const.OPEN_REQUEST_STATES, "signed")),
        ], order="id desc")
        own_partners = self._digital_sign_own_partners()
        now = fields.Datetime.now()
        to_sign = []
        for sign_request_sudo in requests_sudo.filtered(
                lambda r: r.state in const.OPEN_REQUEST_STATES
                and not (r.deadline and r.deadline < now)):  # late: expires at the next check
            links = [
                (participant.name, participant._get_signing_path())
                for participant in sign_request_sudo.participant_ids
                if participant.partner_id and participant.partner_id in own_partners
                and participant._link_state() == "sign" and participant._get_signing_path()
            ]
            to_sign.append({"request": sign_request_sudo, "links": links})
        signed = [
            {
                "request": sign_request_sudo,
                "url": self._digital_sign_download_url(ticket_sudo, sign_request_sudo,
                                                       access_token)
                if sign_request_sudo.finalize_state == "done" else "",
            }
            for sign_request_sudo in requests_sudo.filtered(lambda r: r.state == "signed")
        ]
        return {"digital_sign_to_sign": to_sign, "digital_sign_signed": signed}

    def _digital_sign_download_url(self, ticket_sudo, sign_request_sudo, access_token):
        url = f"/my/ticket/{ticket_sudo.id}/signed/{sign_request_sudo.id}"
        return f"{url}?access_token={access_token}" if access_token else url

    # === ROUTES === #
    @http.route("/my/ticket/<int:ticket_id>/signed/<int:request_id>", type="http",
                auth="public", methods=["GET"], sitemap=False)
    def portal_ticket_signed_document(self, ticket_id, request_id, access_token=None, **kwargs):
        """Download the signed document ``request_id`` of the ticket ``ticket_id``."""
        try:
            ticket_sudo = self._document_check_access(TICKET_MODEL, ticket_id,
                                                      access_token=access_token)
        except (AccessError, MissingError):
            raise request.not_found() from None
        sign_request_sudo = request.env["digital.sign.request"].sudo().browse(request_id).exists()
        if (not sign_request_sudo or sign_request_sudo.res_model != TICKET_MODEL
                or sign_request_sudo.res_id != ticket_sudo.id
                or sign_request_sudo.state != "signed"
                or sign_request_sudo.finalize_state != "done"
                or not sign_request_sudo.signed_pdf):
            raise request.not_found()
        stream = Stream.from_binary_field(sign_request_sudo, "signed_pdf")
        stream.download_name = sign_request_sudo.signed_filename or "signed.pdf"
        stream.mimetype = "application/pdf"
        stream.public = False
        log_download_once(sign_request_sudo, f"t:{ticket_sudo.id}:{sign_request_sudo.id}",
                          channel="portal",
                          details={"document": "signed", "ticket": ticket_sudo.id})
        response = stream.get_response(as_attachment=True)
        response.headers.update(NO_STORE)
        return response
