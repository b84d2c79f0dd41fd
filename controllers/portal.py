"""The customer's portal: ``/my/signatures`` (every document to sign or already signed), the
entries of the portal home, and the documents of a quotation or a ticket on their own portal
pages (``/my/orders/<id>``, ``/my/ticket/<id>``).

Who sees what. Portal users have no access right on digital_sign's models: the external API
stays closed to them (a read right would expose the other participants' contacts, the
request's internal texts and its chatter). The portal record rules
(``security/digital_sign_security.xml``) are the portal's policy all the same: this
controller evaluates them for the logged-in user, whatever their groups
(``_digital_sign_rule_domain``), and reads with sudo only what the pages show. A document is
shown to a user whose own contact is one of its participants, or to whom it is addressed (its
customer is the user's contact or a contact under it). Participants appear by name, role and
state only: never their contacts, links, codes or IP addresses. Any other document, an
unknown id or a draft gets a 404.

Signing. *Sign* is offered only for a participant that is the user (the participant rule:
their own contact), at their turn, on our own signing page (a document out with an external
service is signed at the service). ``/my/signatures/<id>/sign`` re-checks all of it and
redirects to that participant's signing page: no second token, no e-mail. A colleague of the
same company never gets another person's link (a link signs in its holder's name).

Quotations and tickets. Whoever may read the record (its portal rules, or its access token)
sees the status of its documents and downloads the signed ones through a route that checks the
record first and then that the document belongs to it. Every download is logged once per
browser session.
"""

from odoo import fields, http
from odoo.exceptions import AccessError, MissingError
from odoo.fields import Domain
from odoo.http import Stream, request
from odoo.tools.safe_eval import safe_eval

from odoo.addons.helpdesk_mgmt.controllers.myaccount import CustomerPortalHelpdesk
from odoo.addons.portal.controllers.portal import pager as portal_pager
from odoo.addons.sale.controllers.portal import CustomerPortal as SaleCustomerPortal

from .. import const
from ..engine import params as P
from .signing import NO_STORE, log_download_once

REQUEST_RULE = "digital_sign.digital_sign_request_rule_portal"
PARTICIPANT_RULE = "digital_sign.digital_sign_participant_rule_portal"
MY_SIGNATURES = "/my/signatures"
# The records whose portal pages show their documents, where those pages download the signed
# ones (for whoever may read the record), and the name of the record in the audit trail.
RECORD_PORTALS = {
    "sale.order": {"download": "/my/orders/{record}/signed/{request}", "key": "order"},
    "helpdesk.ticket": {"download": "/my/ticket/{record}/signed/{request}", "key": "ticket"},
}
# What the document's page tells of its audit trail: the steps (and each invitation), by
# participant name.
TIMELINE_EVENTS = frozenset({*const.STEP_EVENT_TYPES, "invited"})
CLOSED_STATES = ("rejected", "cancelled", "expired")
MAX_SEARCH = 256


class DigitalSignPortal(SaleCustomerPortal, CustomerPortalHelpdesk):
    # === ACCESS === #
    def _digital_sign_rule_domain(self, xmlid):
        """The domain of the portal record rule ``xmlid`` for the logged-in user, whatever
        their groups (an internal user who signs sees the same documents in the portal as a
        customer would). Nothing for the public user, or when the rule is gone or inactive
        (fail closed).

        :return: odoo.fields.Domain
        """
        rule = request.env.ref(xmlid, raise_if_not_found=False)
        if not rule or request.env.user._is_public():
            return Domain.FALSE
        rule_sudo = rule.sudo()
        if not rule_sudo.active:
            return Domain.FALSE
        return Domain(
            safe_eval(rule_sudo.domain_force or "[]", request.env["ir.rule"]._eval_context())
        )

    def _digital_sign_get_document_sudo(self, request_id):
        """The document ``request_id`` if the portal shows it to the logged-in user, else an
        empty recordset (every caller answers it with the same 404)."""
        Request = request.env["digital.sign.request"].sudo()
        if not P.Id().fits(request_id):
            return Request
        return Request.search(
            self._digital_sign_rule_domain(REQUEST_RULE) & Domain("id", "=", request_id), limit=1
        )

    def _digital_sign_own_participants(self, requests_sudo):
        """The participants of ``requests_sudo`` that are the logged-in user (the
        participant rule): the only ones they may sign as."""
        Participant = request.env["digital.sign.participant"].sudo()
        if not requests_sudo or request.env.user._is_public():
            return Participant
        return Participant.search(
            self._digital_sign_rule_domain(PARTICIPANT_RULE)
            & Domain("request_id", "in", requests_sudo.ids)
        )

    def _digital_sign_can_sign(self, participant_sudo):
        """True when ``participant_sudo`` signs now on our signing page: it is their turn,
        they have a live link, and the document is not out with an external service (whose
        participants sign at the service)."""
        provider = participant_sudo.request_id.provider_id
        return (
            participant_sudo._link_state() == "sign"
            and not (provider and provider.support_remote_signing)
            and bool(participant_sudo._get_signing_path())
        )

    # === VALUES === #
    def _digital_sign_is_ready(self, sign_request_sudo):
        """True when the signed document can be downloaded."""
        return (
            sign_request_sudo.state == "signed"
            and sign_request_sudo.finalize_state == "done"
            and bool(sign_request_sudo.signed_sha256)
        )

    def _digital_sign_has_certificate(self, sign_request_sudo):
        """True when the signed PDF ends with our certificate of completion (built here: a
        service's signed copy carries the service's own)."""
        provider = sign_request_sudo.provider_id
        return bool(sign_request_sudo.page_count) and not (
            provider and provider.support_remote_signing
        )

    def _digital_sign_status(self, sign_request_sudo, own_sudo):
        """The state of a document as the portal says it to the user.

        :return: (label, Bootstrap colour of its badge)
        """
        env = request.env
        state = sign_request_sudo.state
        if state in const.OPEN_REQUEST_STATES:
            deadline = sign_request_sudo.deadline
            if deadline and deadline < fields.Datetime.now():  # expires at the next check
                return env._("Expired"), "secondary"
            if own_sudo.filtered(lambda p: p.state in ("sent", "viewed")):
                return env._("Waiting for your signature"), "warning"
            if own_sudo.filtered(lambda p: p.state == "signed"):
                return env._("Signed by you, waiting for others"), "info"
            return env._("Waiting for signatures"), "info"
        labels = dict(sign_request_sudo._fields["state"]._description_selection(env))
        colour = {"signed": "success", "rejected": "danger"}.get(state, "secondary")
        return labels.get(state, state), colour

    def _digital_sign_sign_links(self, sign_request_sudo, own_sudo):
        """The user's *Sign* links on this document: ``[(participant name, url)]``, one per
        participant that is the user and may sign now (usually one)."""
        signable = own_sudo.filtered(self._digital_sign_can_sign)
        url = f"{MY_SIGNATURES}/{sign_request_sudo.id}/sign"
        if len(signable) == 1:
            return [(signable.name, url)]
        return [
            (participant.name, f"{url}?participant={participant.id}") for participant in signable
        ]

    def _digital_sign_downloads(self, sign_request_sudo):
        """The downloads of a document in ``/my/signatures``: {'signed': url,
        'certificate': url}, empty until the signed document exists.

        The certificate of completion is the last pages of the signed PDF, under its seal: it
        is offered as the signed PDF itself, opened at its first certificate page (an
        extracted copy would carry no seal, and could not be verified)."""
        if not self._digital_sign_is_ready(sign_request_sudo):
            return {}
        base = f"{MY_SIGNATURES}/{sign_request_sudo.id}"
        downloads = {"signed": f"{base}/signed"}
        if self._digital_sign_has_certificate(sign_request_sudo):
            downloads["certificate"] = f"{base}/certificate#page={sign_request_sudo.page_count + 1}"
        return downloads

    def _digital_sign_prepare_row(self, sign_request_sudo, own_sudo):
        """What the list and the document's page show of one document.

        :param own_sudo: the participants of the document that are the user
        """
        label, colour = self._digital_sign_status(sign_request_sudo, own_sudo)
        return {
            "request": sign_request_sudo,
            "url": f"{MY_SIGNATURES}/{sign_request_sudo.id}",
            "status": label,
            "status_colour": colour,
            "sender": sign_request_sudo.user_id.name or sign_request_sudo.company_id.name,
            "sign_links": self._digital_sign_sign_links(sign_request_sudo, own_sudo),
            "downloads": self._digital_sign_downloads(sign_request_sudo),
            "is_participant": bool(own_sudo),
        }

    def _digital_sign_prepare_rows(self, requests_sudo):
        own_sudo = self._digital_sign_own_participants(requests_sudo)
        return [
            self._digital_sign_prepare_row(
                sign_request_sudo,
                own_sudo.filtered(lambda p, r=sign_request_sudo: p.request_id == r),
            )
            for sign_request_sudo in requests_sudo
        ]

    def _digital_sign_participant_rows(self, sign_request_sudo, own_sudo):
        """The participants as the document's page shows them: names, roles and states only."""
        env = request.env
        states = dict(
            sign_request_sudo.participant_ids._fields["state"]._description_selection(env)
        )
        return [
            {
                "name": participant.name if not participant.to_be_named else env._("(to be named)"),
                "role": participant.role,
                "state": states.get(participant.state, participant.state),
                "state_code": participant.state,
                "signed_at": participant.signed_at,
                "is_me": participant in own_sudo,
            }
            for participant in sign_request_sudo.participant_ids
        ]

    def _digital_sign_timeline(self, sign_request_sudo):
        """The steps of the audit trail the customer sees: sent, invited, viewed, signed...
        with their times and the participant's name (no contacts, IPs or details)."""
        events_sudo = sign_request_sudo.event_ids.filtered(
            lambda e: e.event_type in TIMELINE_EVENTS
        ).sorted("sequence")
        labels = dict(events_sudo._fields["event_type"]._description_selection(request.env))
        return [
            {
                "at": event.event_date,
                "label": labels.get(event.event_type, event.event_type),
                "who": event.participant_id.name or "",
            }
            for event in events_sudo
        ]

    def _digital_sign_linked_record(self, sign_request_sudo):
        """The portal page of the quotation or ticket the document belongs to, when the user
        may read it: {'name', 'url'}, or {}."""
        record = sign_request_sudo._get_linked_record()
        if (
            not record
            or record._name not in RECORD_PORTALS
            or not record.with_user(request.env.user).has_access("read")
        ):
            return {}
        record_sudo = record.sudo()
        return {"name": record_sudo.display_name, "url": record_sudo.access_url}

    # === /my/signatures: list === #
    def _digital_sign_searchbar_sortings(self):
        env = request.env
        return {
            "date": {"label": env._("Newest"), "order": "sent_on desc, id desc"},
            "deadline": {"label": env._("Deadline"), "order": "deadline asc, id desc"},
            "name": {"label": env._("Name"), "order": "name asc, id desc"},
            "reference": {"label": env._("Reference"), "order": "reference desc, id desc"},
        }

    def _digital_sign_searchbar_filters(self):
        """The filters of ``/my/signatures``; besides *All*, each document is in one of
        them. *To sign*: the user has a participant invited and not yet signed, before the
        deadline."""
        env = request.env
        now = fields.Datetime.now()
        in_time = Domain("deadline", "=", False) | Domain("deadline", ">=", now)
        is_open = Domain("state", "in", const.OPEN_REQUEST_STATES) & in_time
        waits_for_me = Domain(
            "participant_ids",
            "any",
            self._digital_sign_rule_domain(PARTICIPANT_RULE)
            & Domain("state", "in", ("sent", "viewed")),
        )
        late = Domain("state", "in", const.OPEN_REQUEST_STATES) & Domain("deadline", "<", now)
        return {
            "all": {"label": env._("All"), "domain": Domain.TRUE},
            "to_sign": {"label": env._("To sign"), "domain": is_open & waits_for_me},
            "waiting": {"label": env._("Waiting for others"), "domain": is_open & ~waits_for_me},
            "signed": {"label": env._("Signed"), "domain": Domain("state", "=", "signed")},
            "closed": {
                "label": env._("Rejected, cancelled or expired"),
                "domain": Domain("state", "in", CLOSED_STATES) | late,
            },
        }

    def _digital_sign_searchbar_inputs(self):
        return {"all": {"input": "all", "label": request.env._("Name or reference")}}

    def _digital_sign_documents_domain(self, filterby="all"):
        """The documents of the logged-in user in ``/my/signatures``, with a filter."""
        filters = self._digital_sign_searchbar_filters()
        return (
            self._digital_sign_rule_domain(REQUEST_RULE)
            & filters.get(filterby, filters["all"])["domain"]
        )

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        Request = request.env["digital.sign.request"].sudo()
        for counter, filterby in (
            ("digital_sign_to_sign_count", "to_sign"),
            ("digital_sign_signed_count", "signed"),
        ):
            if counter in counters:
                values[counter] = Request.search_count(
                    self._digital_sign_documents_domain(filterby)
                )
        return values

    @http.route(
        [MY_SIGNATURES, f"{MY_SIGNATURES}/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
        methods=["GET"],
        sitemap=False,
    )
    def portal_my_signatures(
        self, page=1, sortby=None, filterby=None, search=None, search_in="all", **kwargs
    ):
        sortings = self._digital_sign_searchbar_sortings()
        filters = self._digital_sign_searchbar_filters()
        sortby = sortby if sortby in sortings else "date"
        filterby = filterby if filterby in filters else "all"
        search = search[:MAX_SEARCH] if isinstance(search, str) else ""
        domain = self._digital_sign_documents_domain(filterby)
        if search:
            domain &= Domain("name", "ilike", search) | Domain("reference", "ilike", search)
        Request = request.env["digital.sign.request"].sudo()
        pager = portal_pager(
            url=MY_SIGNATURES,
            url_args={"sortby": sortby, "filterby": filterby, "search": search, "search_in": "all"},
            total=Request.search_count(domain),
            page=page,
            step=self._items_per_page,
        )
        requests_sudo = Request.search(
            domain,
            order=sortings[sortby]["order"],
            limit=self._items_per_page,
            offset=pager["offset"],
        )
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "digital_sign",
                "default_url": MY_SIGNATURES,
                "pager": pager,
                "documents": self._digital_sign_prepare_rows(requests_sudo),
                "searchbar_sortings": sortings,
                "sortby": sortby,
                "searchbar_filters": filters,
                "filterby": filterby,
                "searchbar_inputs": self._digital_sign_searchbar_inputs(),
                "search_in": "all",
                "search": search,
            }
        )
        return request.render("digital_sign.portal_my_signatures", values)

    # === /my/signatures/<id> === #
    @http.route(
        f"{MY_SIGNATURES}/<int:request_id>",
        type="http",
        auth="user",
        website=True,
        methods=["GET"],
        sitemap=False,
    )
    def portal_my_signature(self, request_id, **kwargs):
        sign_request_sudo = self._digital_sign_get_document_sudo(request_id)
        if not sign_request_sudo:
            raise request.not_found()
        own_sudo = self._digital_sign_own_participants(sign_request_sudo)
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "digital_sign",
                "sign_request": sign_request_sudo,
                "document": self._digital_sign_prepare_row(sign_request_sudo, own_sudo),
                "participants": self._digital_sign_participant_rows(sign_request_sudo, own_sudo),
                "timeline": self._digital_sign_timeline(sign_request_sudo),
                "linked_record": self._digital_sign_linked_record(sign_request_sudo),
            }
        )
        return request.render("digital_sign.portal_my_signature", values)

    @http.route(
        f"{MY_SIGNATURES}/<int:request_id>/sign",
        type="http",
        auth="user",
        methods=["GET"],
        sitemap=False,
    )
    def portal_my_signature_sign(self, request_id, participant=None, **kwargs):
        """*Sign* from the portal: straight to the signing page of the participant that is
        the logged-in user, when it is their turn. Anything else goes back to the document's
        page (or gets the 404 of a document the user does not see)."""
        sign_request_sudo = self._digital_sign_get_document_sudo(request_id)
        if not sign_request_sudo:
            raise request.not_found()
        signable = self._digital_sign_own_participants(sign_request_sudo).filtered(
            self._digital_sign_can_sign
        )
        if participant:
            signable = signable.filtered(lambda p: str(p.id) == participant)
        if not signable:
            return request.redirect(f"{MY_SIGNATURES}/{sign_request_sudo.id}")
        response = request.redirect(signable[:1]._get_signing_path())
        response.headers.update(NO_STORE)
        return response

    @http.route(
        f"{MY_SIGNATURES}/<int:request_id>/<any(signed,certificate):which>",
        type="http",
        auth="user",
        methods=["GET"],
        sitemap=False,
    )
    def portal_my_signature_download(self, request_id, which, **kwargs):
        """The signed PDF of a document the user sees, once it is ready: ``signed`` as an
        attachment, ``certificate`` in the browser (the page links to the certificate of
        completion at its end)."""
        sign_request_sudo = self._digital_sign_get_document_sudo(request_id)
        if (
            not sign_request_sudo
            or not self._digital_sign_is_ready(sign_request_sudo)
            or not sign_request_sudo.signed_pdf
            or (
                which == "certificate" and not self._digital_sign_has_certificate(sign_request_sudo)
            )
        ):
            raise request.not_found()
        own_sudo = self._digital_sign_own_participants(sign_request_sudo)[:1]
        return self._digital_sign_signed_response(
            sign_request_sudo,
            f"my:{sign_request_sudo.id}:{which}",
            details={"document": which},
            participant_sudo=own_sudo or None,
            as_attachment=which == "signed",
        )

    def _digital_sign_signed_response(
        self, sign_request_sudo, log_key, details, participant_sudo=None, as_attachment=True
    ):
        """The signed PDF of ``sign_request_sudo`` (already checked by the caller), its
        download logged once per session."""
        stream = Stream.from_binary_field(sign_request_sudo, "signed_pdf")
        stream.download_name = sign_request_sudo.signed_filename or "signed.pdf"
        stream.mimetype = "application/pdf"
        stream.public = False
        log_download_once(
            sign_request_sudo,
            log_key,
            participant_sudo=participant_sudo,
            channel="portal",
            details=details,
        )
        response = stream.get_response(as_attachment=as_attachment)
        response.headers.update(NO_STORE)
        return response

    # === QUOTATIONS AND TICKETS === #
    def _prepare_quotations_domain(self, partner):
        # A quotation out for digital signature is the customer's to review even while it
        # is a draft (Odoo lists only quotations marked as sent).
        domain = Domain(super()._prepare_quotations_domain(partner))
        out_for_signature = (
            Domain("partner_id", "child_of", [partner.commercial_partner_id.id])
            & Domain("state", "=", "draft")
            & Domain("digital_sign_state", "in", const.OPEN_REQUEST_STATES)
        )
        return list(domain | out_for_signature)

    def _get_page_view_values(
        self, document, access_token, values, session_history, no_breadcrumbs, **kwargs
    ):
        values = super()._get_page_view_values(
            document, access_token, values, session_history, no_breadcrumbs, **kwargs
        )
        if document._name in RECORD_PORTALS:
            values.update(self._digital_sign_record_values(document, access_token))
        return values

    def _digital_sign_record_values(self, record_sudo, access_token):
        """The documents of a quotation or ticket for its portal page.

        :param record_sudo: the record, already checked by ``_document_check_access``
        :param str access_token: the record's token the page was opened with, if any
        :return: dict with ``digital_sign_to_sign`` (list of {request, status, links:
            [(name, url)]}: links only for participants that are the logged-in user) and
            ``digital_sign_signed`` (list of {request, url})
        """
        requests_sudo = (
            request.env["digital.sign.request"]
            .sudo()
            .search(
                [
                    ("res_model", "=", record_sudo._name),
                    ("res_id", "=", record_sudo.id),
                    ("state", "in", (*const.OPEN_REQUEST_STATES, "signed")),
                ],
                order="id desc",
            )
        )
        own_sudo = self._digital_sign_own_participants(requests_sudo)
        now = fields.Datetime.now()
        to_sign = []
        for sign_request_sudo in requests_sudo.filtered(
            lambda r: r.state in const.OPEN_REQUEST_STATES and not (r.deadline and r.deadline < now)
        ):  # late: expires at the next check
            mine = own_sudo.filtered(lambda p, r=sign_request_sudo: p.request_id == r)
            to_sign.append(
                {
                    "request": sign_request_sudo,
                    "status": self._digital_sign_status(sign_request_sudo, mine)[0],
                    "links": self._digital_sign_sign_links(sign_request_sudo, mine),
                }
            )
        signed = [
            {
                "request": sign_request_sudo,
                "url": self._digital_sign_record_download_url(
                    record_sudo, sign_request_sudo, access_token
                )
                if self._digital_sign_is_ready(sign_request_sudo)
                else "",
            }
            for sign_request_sudo in requests_sudo.filtered(lambda r: r.state == "signed")
        ]
        return {"digital_sign_to_sign": to_sign, "digital_sign_signed": signed}

    def _digital_sign_record_download_url(self, record_sudo, sign_request_sudo, access_token):
        url = RECORD_PORTALS[record_sudo._name]["download"].format(
            record=record_sudo.id, request=sign_request_sudo.id
        )
        return f"{url}?access_token={access_token}" if access_token else url

    def _digital_sign_record_download(self, model, record_id, request_id, access_token):
        """The signed document ``request_id`` of the record ``record_id``: for whoever may
        read the record (its rules, or its access token); anything else is a 404."""
        if not (P.Id().fits(record_id) and P.Id().fits(request_id)):
            raise request.not_found()
        try:
            record_sudo = self._document_check_access(model, record_id, access_token=access_token)
        except (AccessError, MissingError):
            raise request.not_found() from None
        sign_request_sudo = request.env["digital.sign.request"].sudo().browse(request_id).exists()
        if (
            not sign_request_sudo
            or sign_request_sudo.res_model != model
            or sign_request_sudo.res_id != record_sudo.id
            or not self._digital_sign_is_ready(sign_request_sudo)
            or not sign_request_sudo.signed_pdf
        ):
            raise request.not_found()
        key = RECORD_PORTALS[model]["key"]
        return self._digital_sign_signed_response(
            sign_request_sudo,
            f"{key}:{record_sudo.id}:{sign_request_sudo.id}",
            details={"document": "signed", key: record_sudo.id},
        )

    @http.route(
        "/my/orders/<int:order_id>/signed/<int:request_id>",
        type="http",
        auth="public",
        methods=["GET"],
        sitemap=False,
    )
    def portal_order_signed_document(self, order_id, request_id, access_token=None, **kwargs):
        """Download the signed document ``request_id`` of the quotation ``order_id``."""
        return self._digital_sign_record_download("sale.order", order_id, request_id, access_token)

    @http.route(
        "/my/ticket/<int:ticket_id>/signed/<int:request_id>",
        type="http",
        auth="public",
        methods=["GET"],
        sitemap=False,
    )
    def portal_ticket_signed_document(self, ticket_id, request_id, access_token=None, **kwargs):
        """Download the signed document ``request_id`` of the ticket ``ticket_id``."""
        return self._digital_sign_record_download(
            "helpdesk.ticket", ticket_id, request_id, access_token
        )
