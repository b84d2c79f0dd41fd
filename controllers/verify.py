"""The verification page: anyone uploads a PDF and learns whether this database sealed it,
whether it changed since (and what changed), with which certificate and timestamp, and who
signed it (names only). The file is read into memory, checked and dropped: it is never
stored. It goes through the same intake checks as every PDF (size, decompression bombs, page
count) before any parser reads it; any input, however hostile, gets a page with a verdict.

``?ref=`` (the link printed under the QR code of the certificate of completion) only names
the document expected: references are sequential, so the page reveals nothing about a
document to someone who does not hold the file.

Managers check the stored signed document of a request from the backend
(``/digital_sign/verify/request/<id>``), with the full detail.
"""

import hashlib
import logging
import re

from werkzeug.exceptions import NotFound

from odoo import http
from odoo.http import content_disposition, request

from .. import const
from ..engine import pades_verify, x509
from ..utils import client_info, decode_binary, format_local_time, html_lang
from . import public_page

_logger = logging.getLogger(__name__)

# Room for the other form fields and the multipart framing around the file: a file a little
# over the limit gets a clear message from the page; a much bigger body is refused by
# werkzeug (413) before it is read (the page's script refuses it before sending).
MULTIPART_MARGIN = 1024 * 1024
THROTTLE_WINDOW = 600  # seconds
LANG_KEY = "verify"  # the verification page's key among the languages chosen in a session


def _max_request_bytes(controller):
    return controller._max_verify_bytes() + MULTIPART_MARGIN


class DigitalSignVerifyController(http.Controller):
    # === HELPERS === #
    def _max_verify_bytes(self):
        """The size limit of uploads, plus room for what signing and sealing add to a
        document uploaded at that limit: every signed document we produce can be checked."""
        return (
            int(request.env["digital.sign.request"]._get_setting("max_upload_mb")) * 1024 * 1024
            + pades_verify.VERIFY_EXTRA_BYTES
        )

    def _max_pages(self):
        """The page limit of uploads, plus room for the certificate of completion."""
        return (
            int(request.env["digital.sign.request"]._get_setting("max_pages"))
            + pades_verify.VERIFY_EXTRA_PAGES
        )

    def _page_lang(self, lang=None):
        """The language of the page, which becomes the request's: the one chosen on it in
        this browser session (``lang``, a ``?lang=`` value or the form's, is validated and
        remembered; an invalid one is ignored), else the logged-in user's, else the
        browser's preferred languages (Accept-Language) that the pages offer, else the
        company's, else English."""
        user = request.env.user
        code = (
            public_page.chosen_lang(LANG_KEY, lang)
            or (not user._is_public() and public_page.valid_lang(user.lang))
            or self._accepted_lang()
            or public_page.valid_lang(request.env.company.sudo().partner_id.lang)
            or public_page.valid_lang("en_US")
            or request.env.lang
        )
        public_page.use_lang(code)
        return code

    def _accepted_lang(self):
        """The first of the browser's preferred languages the pages offer (``sv-SE``, else
        any Swedish for ``sv``), or None."""
        offered = [
            option["code"] for option in request.env["digital.sign.participant"]._get_page_langs()
        ]
        for tag, _quality in request.httprequest.accept_languages:
            code = public_page.valid_lang(tag)
            if code:
                return code
            prefix = tag.replace("-", "_").split("_")[0].lower()
            for candidate in offered:
                if candidate.split("_")[0] == prefix:
                    return candidate
        return None

    def _format_time(self, value, sign_request=None):
        """An aware UTC datetime as text in the page's language, in the request's time zone
        when there is one (else UTC), the zone named."""
        if not value:
            return ""
        tz = sign_request._get_timezone() if sign_request else "UTC"
        return format_local_time(request.env, value, tz=tz, lang=request.env.lang)

    def _page_values(self, ref=None, lang=None, **extra):
        ref = (ref or "").strip()[:64] if isinstance(ref, str) else ""
        page_lang = self._page_lang(lang)
        return {
            "ref": ref,
            "page_lang": page_lang,
            "html_lang": html_lang(page_lang),
            "langs": request.env["digital.sign.participant"]._get_page_langs(),
            "company": request.env.company,
            "max_upload_bytes": self._max_verify_bytes(),
            "max_upload_mb": self._max_verify_bytes() // (1024 * 1024),
            "max_pages": self._max_pages(),
            "outcome": False,
            "status": "",
            "backend": False,
            "full": False,
            "sign_request": False,
            "expected_request": False,
            "signers": [],
            "seal": None,
            "result": None,
            "changes": [],
            "refusal": "",
            "ref_mismatch": False,
            **extra,
        }

    def _render(self, values, status=200):
        return public_page.render("digital_sign.verify_page", values, status=status)

    def _check(self, data, max_bytes, full=False):
        """Check the PDF ``data`` (``digital.sign.request._verify_signed_document``, within
        ``max_bytes`` and the pages' limit).

        :return: (the check, what the page shows about it: see ``_result_values``)
        """
        check = (
            request.env["digital.sign.request"]
            .sudo()
            ._verify_signed_document(data, max_bytes=max_bytes, max_pages=self._max_pages())
        )
        return check, self._result_values(check, data, full=full)

    def _result_values(self, check, data, full=False):
        """What the page shows about one check (``digital.sign.request._verify_signed_document``).
        The public sees names and times; ``full`` adds the technical detail for managers."""
        result = check["result"]
        request_sudo = check["request"]
        seal_company = check["seal_company"]
        signers = []
        if request_sudo:
            for participant in request_sudo.participant_ids.filtered(
                lambda p: p.state == "signed"
            ).sorted(lambda p: (p.signed_at, p.id)):
                signers.append(
                    {
                        "name": participant.name or "",
                        "role": participant.role or "",
                        "signed_at": self._format_time(participant.signed_at, request_sudo),
                        "email": (participant.email or "") if full else "",
                    }
                )
        seal = None
        if result.cert_fingerprint:
            seal = {
                "subject": x509.dn_label(result.signer_subject),
                "issuer": x509.dn_label(result.signer_issuer),
                "self_signed": result.self_signed,
                "fingerprint": result.cert_fingerprint,
                "company": seal_company.name if seal_company else "",
                "certificate_url": f"/digital_sign/verify/certificate/{result.cert_fingerprint}.pem"
                if seal_company
                else "",
                "level": result.level,
                "timestamp": self._format_time(result.timestamp_time, request_sudo),
                "signing_time": self._format_time(result.signing_time, request_sudo),
            }
        values = {
            "outcome": check["outcome"],
            "status": result.status,
            "refusal": result.refusal,
            "changes": request.env["digital.sign.request"]._describe_seal_changes(result.changes),
            "sign_request": request_sudo,
            "completed_at": self._format_time(request_sudo.signed_on, request_sudo)
            if request_sudo
            else "",
            "signers": signers,
            "seal": seal,
        }
        if full:
            values.update(result=result, file_sha256=hashlib.sha256(data).hexdigest())
        return values

    # === PAGES === #
    @http.route(
        "/digital_sign/verify",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        sitemap=False,
        max_content_length=_max_request_bytes,
    )
    def verify_page(self, ref=None, document=None, lang=None, **kwargs):
        """GET: the upload form. POST (CSRF checked by Odoo): check the uploaded file."""
        values = self._page_values(ref, lang)
        if request.httprequest.method != "POST":
            return self._render(values)
        ip = client_info()[0]
        Throttle = request.env["digital.sign.throttle"]
        key = f"verify:{ip}"
        if ip and Throttle._is_limited(key, const.THROTTLE_VERIFY_PER_IP, THROTTLE_WINDOW):
            values["outcome"] = "throttled"
            return self._render(values, status=429)
        if ip:
            Throttle._hit(key, THROTTLE_WINDOW)
        if not document or not hasattr(document, "read"):
            values["outcome"] = "no_file"
            return self._render(values)
        limit = self._max_verify_bytes()
        data = document.read(limit + 1)
        if len(data) > limit:
            values["outcome"] = "too_large"
            return self._render(values, status=413)
        if not data:
            values["outcome"] = "no_file"
            return self._render(values)
        check, result_values = self._check(data, limit)
        values.update(result_values)
        values["ref_mismatch"] = bool(
            values["ref"] and check["request"] and check["request"].reference != values["ref"]
        )
        _logger.info(
            "Verification page: %s (request %s)", check["outcome"], check["request"].id or "-"
        )
        return self._render(values)

    @http.route(
        "/digital_sign/verify/request/<int:request_id>",
        type="http",
        auth="user",
        methods=["GET"],
        sitemap=False,
    )
    def verify_request(self, request_id, **kwargs):
        """The same check on the stored signed document of a request (backend button); the
        full detail for managers."""
        sign_request = request.env["digital.sign.request"].browse(request_id).exists()
        if not sign_request:
            raise NotFound()
        sign_request.check_access("read")
        full = request.env.user.has_group("digital_sign.group_manager")
        values = self._page_values(
            sign_request.reference, backend=True, full=full, expected_request=sign_request
        )
        data = decode_binary(sign_request.sudo().with_context(bin_size=False).signed_pdf)
        if not data:
            values["outcome"] = "no_document"
            return self._render(values)
        check, result_values = self._check(
            data, max(len(data), self._max_verify_bytes()), full=full
        )
        values.update(result_values)
        values["ref_mismatch"] = check["request"] != sign_request.sudo()
        return self._render(values)

    @http.route(
        "/digital_sign/verify/certificate/<string:filename>",
        type="http",
        auth="public",
        methods=["GET"],
        sitemap=False,
    )
    def seal_certificate(self, filename, **kwargs):
        """The public part of a seal certificate of this database: ``<sha256>.pem`` gives what
        to trust for it (the root of its chain, or the certificate itself when self-signed)
        followed by the certificate; ``<sha256>.cer`` gives the root alone, in DER, for PDF
        readers that import one certificate."""
        match = re.fullmatch(r"([0-9a-f]{64})\.(pem|cer)", filename or "")
        if not match:
            raise NotFound()
        fingerprint, extension = match.groups()
        company_sudo, entry = (
            request.env["res.company"].sudo()._digital_sign_find_seal_certificate(fingerprint)
        )
        if not entry:
            raise NotFound()
        anchors = list(entry.get("anchors") or ())
        pems = list(dict.fromkeys([*anchors, entry["certificate"]]))
        if extension == "pem":
            body = "".join(pems).encode()
            mimetype = "application/x-pem-file"
        else:
            body = x509.der_from_pem(pems[0])
            mimetype = "application/pkix-cert"
        name = re.sub(r"[^A-Za-z0-9]+", "-", company_sudo.name or "company").strip("-") or "company"
        return request.make_response(
            body,
            headers=[
                ("Content-Type", mimetype),
                (
                    "Content-Disposition",
                    content_disposition(f"{name}-seal-{fingerprint[:8]}.{extension}"),
                ),
                ("Cache-Control", "public, max-age=86400"),
            ],
        )
