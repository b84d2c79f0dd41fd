"""The company's seal: its certificate (self-signed by default, or uploaded), its timestamp
server and the level of its seals, and what this database trusts for the documents it
sealed. The request seals its own final document with them (``digital.sign.request``); the
engine does the work (engine/seal_identity.py, engine/timestamp.py, engine/pades.py).

Secrets (the PKCS#12 files and their passwords, the timestamp server's credentials) live in
fields restricted to ``base.group_system``, are read with sudo and never logged.

Trust: a document verifies as trusted against the seal certificates of this database (every
certificate a company ever sealed with, kept in ``digital_sign_seal_certificates``, with the
roots of uploaded chains) and the certificates of the timestamp servers that answered our
own requests (``digital_sign_tsa_certificates``: the top of the chain each token carried,
kept on first use so the timestamps of our documents can be checked years later).

Ours: trusting a CA is not enough. Each entry of ``digital_sign_seal_certificates`` records
when it was the company's seal certificate (``periods``, UTC); the verification accepts as
our seal only a signature by one of those certificates, made within its period
(``_digital_sign_seal_pins``), over the bytes of a request we issued.

Loopback timestamp servers (tests, a local TSA) are refused unless the system parameter
``digital_sign.allow_loopback_tsa`` is set (the tests set it).
"""

import base64
import logging
import secrets

from odoo import api, fields, models, modules
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from .. import const
from ..engine import images, seal_identity, timestamp, x509
from ..engine.errors import CertificateInvalid, ImageInvalid, UnsafeUrl
from ..engine.netguard import check_outbound_url
from ..utils import decode_binary, engine_error_message

_logger = logging.getLogger(__name__)

AUTO_SEAL_VALID_DAYS = 3650
TSA_TIMEOUT = 10.0  # seconds, per timestamp request
# A timestamp server that just failed is not called again for a few minutes by this worker:
# a cron run with many waiting documents must not wait for a dead server once per document.
TSA_BREAKER_SECONDS = 300
MAX_TSA_CERTIFICATES = 20
_SEAL_SECRET_FIELDS = (
    "digital_sign_seal_source",
    "digital_sign_seal_pkcs12",
    "digital_sign_seal_password",
)


class ResCompany(models.Model):
    _inherit = "res.company"

    # === FIELDS === #
    digital_sign_seal_source = fields.Selection(
        [
            ("auto", "Self-signed certificate made by Odoo"),
            ("upload", "Certificate from a CA (PKCS#12)"),
        ],
        string="Seal Certificate",
        default="auto",
        required=True,
    )
    digital_sign_seal_pkcs12 = fields.Binary(
        "Seal Certificate File", attachment=True, groups="base.group_system", copy=False
    )
    digital_sign_seal_pkcs12_filename = fields.Char(groups="base.group_system", copy=False)
    digital_sign_seal_password = fields.Char(
        "Seal Certificate Password", groups="base.group_system", copy=False
    )
    digital_sign_seal_auto_pkcs12 = fields.Binary(
        "Self-Signed Seal Key",
        attachment=True,
        groups="base.group_system",
        copy=False,
        readonly=True,
        help="Made by Odoo at the first seal: key and self-signed certificate.",
    )
    digital_sign_seal_auto_password = fields.Char(
        "Self-Signed Seal Key Password", groups="base.group_system", copy=False, readonly=True
    )
    digital_sign_seal_certificates = fields.Json(
        "Seal Certificates Used",
        readonly=True,
        copy=False,
        help="Public part of every certificate this company sealed with (PEM), with what to "
        "trust for it: documents sealed before a change of certificate keep verifying.",
    )
    digital_sign_tsa_certificates = fields.Json(
        "Timestamp Server Certificates",
        readonly=True,
        copy=False,
        help="Top certificates of the chains the timestamp server sent with its tokens (PEM).",
    )
    digital_sign_seal_certificate_info = fields.Text(
        "Seal Certificate Details", compute="_compute_digital_sign_seal_certificate_info"
    )
    digital_sign_seal_certificate_url = fields.Char(
        "Seal Certificate Download", compute="_compute_digital_sign_seal_certificate_info"
    )
    digital_sign_tsa_url = fields.Char(
        "Timestamp Server",
        help="RFC 3161 timestamp server (https). Empty: seals carry no trusted time (PAdES B-B).",
    )
    digital_sign_tsa_username = fields.Char("Timestamp Server User", groups="base.group_system")
    digital_sign_tsa_password = fields.Char("Timestamp Server Password", groups="base.group_system")
    digital_sign_seal_lta = fields.Boolean(
        "Archive Timestamp (B-LTA)", help="Add a document timestamp over the validation data."
    )
    digital_sign_seal_fallback = fields.Selection(
        [
            ("wait", "Keep waiting for the timestamp server"),
            ("unsealed_time", "Seal without a timestamp"),
        ],
        string="After 24 Hours Without Timestamp Server",
        default="wait",
        required=True,
    )
    digital_sign_seal_level = fields.Char(
        "Documents Get", compute="_compute_digital_sign_seal_level"
    )
    # Not the PAdES seal above: the image a seal keeper stamps on the places of the company
    # as a participant ("the company signs too"). Written only as the clean PNG the upload
    # check makes of it (see write).
    digital_sign_company_seal = fields.Binary(
        "Company Seal Image",
        attachment=True,
        copy=False,
        help="Stamped on the signature places of the company when a seal keeper applies "
        "the company seal (PNG or JPEG, at most 1 MB and 4096 pixels a side).",
    )
    digital_sign_sms_enabled = fields.Boolean(
        "Text Messages (SMS) for Signatures",
        default=True,
        help="Off: no invitation, reminder or one-time code of this company's documents is "
        "sent by SMS; e-mail only.",
    )

    # === COMPUTE === #
    @api.depends(
        "digital_sign_seal_source",
        "digital_sign_seal_pkcs12",
        "digital_sign_seal_password",
        "digital_sign_seal_auto_pkcs12",
        "digital_sign_seal_certificates",
    )
    def _compute_digital_sign_seal_certificate_info(self):
        for company in self:
            company_sudo = company.sudo().with_context(bin_size=False)
            info, problem = None, ""
            try:
                if company_sudo.digital_sign_seal_source == "upload":
                    data = decode_binary(company_sudo.digital_sign_seal_pkcs12)
                    if data:
                        info = seal_identity.describe(
                            data, company_sudo.digital_sign_seal_password or None
                        )
                    else:
                        problem = company.env._("Upload the certificate file (.p12 or .pfx).")
                else:
                    data = decode_binary(company_sudo.digital_sign_seal_auto_pkcs12)
                    if data:
                        info = seal_identity.describe(
                            data, company_sudo.digital_sign_seal_auto_password
                        )
                    else:
                        problem = company.env._(
                            "The key and its self-signed certificate are made at the first seal."
                        )
            except CertificateInvalid as error:
                problem = engine_error_message(company.env, error)
            if info is None:
                company.digital_sign_seal_certificate_info = problem
                company.digital_sign_seal_certificate_url = False
                continue
            company.digital_sign_seal_certificate_info = company._digital_sign_describe(info)
            known = {
                entry.get("fingerprint") for entry in company.digital_sign_seal_certificates or ()
            }
            company.digital_sign_seal_certificate_url = (
                f"/digital_sign/verify/certificate/{info.sha256_fingerprint}.pem"
                if info.sha256_fingerprint in known
                else False
            )

    @api.depends("digital_sign_tsa_url", "digital_sign_seal_lta")
    def _compute_digital_sign_seal_level(self):
        for company in self:
            if not company.digital_sign_tsa_url:
                company.digital_sign_seal_level = company.env._(
                    "PAdES B-B (no trusted time: configure a timestamp server)"
                )
            elif company.digital_sign_seal_lta:
                company.digital_sign_seal_level = company.env._(
                    "PAdES B-LTA (B-T when revocation data cannot be fetched)"
                )
            else:
                company.digital_sign_seal_level = company.env._(
                    "PAdES B-LT (B-T when revocation data cannot be fetched)"
                )

    # === CONSTRAINTS === #
    @api.constrains(*_SEAL_SECRET_FIELDS)
    def _check_digital_sign_seal_certificate(self):
        """An uploaded certificate must open with its password, hold its key, be valid now
        and allow digitalSignature and nonRepudiation."""
        for company in self:
            company_sudo = company.sudo().with_context(bin_size=False)
            if company_sudo.digital_sign_seal_source != "upload":
                continue
            data = decode_binary(company_sudo.digital_sign_seal_pkcs12)
            if not data:
                raise ValidationError(
                    company.env._(
                        "Upload the seal certificate (a PKCS#12 file, .p12 or .pfx), or choose the "
                        "self-signed certificate made by Odoo."
                    )
                )
            try:
                seal_identity.load_seal_identity(
                    data, company_sudo.digital_sign_seal_password or None
                )
            except CertificateInvalid as error:
                raise ValidationError(
                    company.env._(
                        "The seal certificate was refused: %(reason)s",
                        reason=engine_error_message(company.env, error),
                    )
                ) from error

    @api.constrains("digital_sign_tsa_url")
    def _check_digital_sign_tsa_url(self):
        for company in self.filtered("digital_sign_tsa_url"):
            try:
                check_outbound_url(
                    company.digital_sign_tsa_url,
                    allow_loopback=company._digital_sign_allow_loopback_tsa(),
                )
            except UnsafeUrl as error:
                raise ValidationError(
                    company.env._(
                        "Timestamp server: %(reason)s",
                        reason=engine_error_message(company.env, error),
                    )
                ) from error

    # === CRUD === #
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._digital_sign_clean_company_seal_vals(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._digital_sign_clean_company_seal_vals(vals)
        result = super().write(vals)
        if any(name in vals for name in _SEAL_SECRET_FIELDS):
            # an uploaded certificate (checked by the constraint) is trusted from now on
            for company in self.filtered(lambda c: c.digital_sign_seal_source == "upload"):
                company.sudo()._digital_sign_get_seal_identity()
        return result

    @api.model
    def _digital_sign_clean_company_seal_vals(self, vals):
        """Check an uploaded company seal image as the signing page checks a signature
        (PNG or JPEG by their bytes, size and dimensions read before any pixel is decoded)
        and put the clean PNG the check makes of it in ``vals``.

        Threat: an image that is no image (SVG with scripts, a decompression bomb) reaching
        every signed document of the company.

        :raise ValidationError: the image is refused (the message says why)
        """
        if not vals.get("digital_sign_company_seal"):
            return
        try:
            clean = images.check_signature_image(vals["digital_sign_company_seal"])
        except ImageInvalid as error:
            message = const.COMPANY_SEAL_IMAGE_MESSAGES.get(error.code)
            try:
                text = message._translate(self.env.lang) % dict(error.params or {})
            except (AttributeError, KeyError, TypeError, ValueError):
                text = engine_error_message(self.env, error)
            raise ValidationError(text) from error
        vals["digital_sign_company_seal"] = base64.b64encode(clean)

    # === BUSINESS: company seal === #
    def _digital_sign_get_company_seal(self):
        """The company seal image as PNG bytes (checked when it was uploaded), b'' when
        there is none.

        Note: self.ensure_one()
        """
        self.ensure_one()
        return decode_binary(self.sudo().with_context(bin_size=False).digital_sign_company_seal)

    # === BUSINESS: seal identity === #
    def _digital_sign_describe(self, info):
        """Several lines describing an engine.x509.CertInfo, for the settings."""
        self.ensure_one()
        lines = [self.env._("Subject: %s", x509.dn_label(info.subject))]
        if info.self_signed:
            lines.append(
                self.env._(
                    "Self-signed: PDF readers trust it only once you add it to "
                    "their trusted certificates."
                )
            )
        else:
            lines.append(self.env._("Issued by: %s", x509.dn_label(info.issuer)))
        lines.append(
            self.env._(
                "Valid from %(start)s to %(end)s",
                start=info.not_before.strftime("%Y-%m-%d"),
                end=info.not_after.strftime("%Y-%m-%d"),
            )
        )
        lines.append(self.env._("SHA-256 fingerprint: %s", info.sha256_fingerprint))
        return "\n".join(lines)

    def _digital_sign_seal_note(self):
        """The sentence the certificate of completion prints about the seal: who seals, with
        which certificate, and whether it is self-signed.

        Note: self.ensure_one()
        """
        self.ensure_one()
        try:
            identity = self._digital_sign_get_seal_identity()
        except CertificateInvalid:
            return ""
        info = seal_identity.describe(identity)
        if info.self_signed:
            return self.env._(
                'Sealed by %(company)s with its own self-signed certificate "%(subject)s" '
                "(SHA-256 %(fingerprint)s). No certification authority vouches for it: PDF "
                "readers show the seal as trusted only once you trust this certificate, which "
                "the verification page offers for download.",
                company=self.name,
                subject=x509.dn_label(info.subject),
                fingerprint=info.sha256_fingerprint,
            )
        return self.env._(
            'Sealed by %(company)s with the certificate "%(subject)s" issued by '
            "%(issuer)s (SHA-256 %(fingerprint)s).",
            company=self.name,
            subject=x509.dn_label(info.subject),
            issuer=x509.dn_label(info.issuer),
            fingerprint=info.sha256_fingerprint,
        )

    def _digital_sign_get_seal_identity(self):
        """The key and certificate that seal this company's documents: the uploaded PKCS#12,
        or the self-signed one, made on first use. The certificate is added to the
        certificates this database trusts.

        :return: engine.seal_identity.SealIdentity (keep it in memory only)
        :raise CertificateInvalid: the uploaded certificate cannot seal (now)
        Note: self.ensure_one()
        """
        self.ensure_one()
        company_sudo = self.sudo().with_context(bin_size=False)
        if company_sudo.digital_sign_seal_source == "upload":
            data = decode_binary(company_sudo.digital_sign_seal_pkcs12)
            if not data:
                raise CertificateInvalid("no certificate uploaded", code="cert_pkcs12_invalid")
            identity = seal_identity.load_seal_identity_cached(
                data, company_sudo.digital_sign_seal_password or None
            )
        else:
            identity = company_sudo._digital_sign_get_auto_identity()
        company_sudo._digital_sign_remember_seal_certificate(identity)
        return identity

    def _digital_sign_lock(self):
        # Raw SQL: the ORM has no row lock. Two workers making the first seal of a company
        # must not make two keys, nor lose one of two certificates added to the trusted list.
        self.env.cr.execute(
            SQL("SELECT id FROM res_company WHERE id = %s FOR NO KEY UPDATE", self.id)
        )
        self.invalidate_recordset(
            [
                "digital_sign_seal_auto_pkcs12",
                "digital_sign_seal_auto_password",
                "digital_sign_seal_certificates",
                "digital_sign_tsa_certificates",
            ]
        )

    def _digital_sign_load_auto_identity(self):
        data = decode_binary(self.digital_sign_seal_auto_pkcs12)
        if not data:
            return None
        try:
            return seal_identity.load_seal_identity_cached(
                data, self.digital_sign_seal_auto_password
            )
        except CertificateInvalid as error:
            if error.code != "cert_expired":
                raise
            _logger.info(
                "The self-signed seal certificate of company %s expired: making a new one", self.id
            )
            return None

    def _digital_sign_get_auto_identity(self):
        """The self-signed identity (sudo), made on first use or when it expired."""
        self.ensure_one()
        identity = self._digital_sign_load_auto_identity()
        if identity:
            return identity
        self._digital_sign_lock()
        identity = self._digital_sign_load_auto_identity()
        if identity:
            return identity
        password = secrets.token_urlsafe(32)
        country = (
            self.country_id.code if self.country_id.code and len(self.country_id.code) == 2 else ""
        )
        p12 = seal_identity.generate_self_signed_pkcs12(
            f"{self.name} Document Seal",
            self.name,
            country,
            password=password.encode(),
            valid_days=AUTO_SEAL_VALID_DAYS,
        )
        self.write(
            {
                "digital_sign_seal_auto_pkcs12": base64.b64encode(p12),
                "digital_sign_seal_auto_password": password,
            }
        )
        identity = seal_identity.load_seal_identity(p12, password.encode())
        _logger.info(
            "Made the self-signed seal certificate of company %s (SHA-256 %s)",
            self.id,
            x509.fingerprint(identity.certificate),
        )
        return identity

    def _digital_sign_remember_seal_certificate(self, identity):
        """Record the certificate of ``identity`` as this company's seal from now on: add it
        (and what to trust for it) to the certificates this database trusts, once, and open
        its period of use, closing the period of the certificate it replaces."""
        self.ensure_one()
        fingerprint = x509.fingerprint(identity.certificate)
        if seal_identity.is_current_seal(self.digital_sign_seal_certificates, fingerprint):
            return
        self._digital_sign_lock()
        known = list(self.digital_sign_seal_certificates or ())
        if seal_identity.is_current_seal(known, fingerprint):
            return
        now = fields.Datetime.now()
        if not any(entry.get("fingerprint") == fingerprint for entry in known):
            info = seal_identity.describe(identity)
            known.append(
                {
                    "fingerprint": fingerprint,
                    "certificate": x509.pem_from_der(identity.certificate),
                    "anchors": [
                        x509.pem_from_der(der)
                        for der in x509.chain_anchors(identity.certificate, identity.chain)
                    ],
                    "subject": info.subject,
                    "issuer": info.issuer,
                    "self_signed": info.self_signed,
                    "added": fields.Datetime.to_string(now),
                }
            )
        self.write(
            {
                "digital_sign_seal_certificates": seal_identity.use_seal_certificate(
                    known, fingerprint, now
                )
            }
        )

    # === BUSINESS: what this database trusts === #
    def _digital_sign_remember_tsa_chain(self, ders):
        """Trust, from now on, the top of ``ders``: the chain (DER certificates) the
        timestamp server sent with a token we just asked it for."""
        self.ensure_one()
        if not ders:
            return
        pems = x509.chain_tops(ders)
        known = list(self.digital_sign_tsa_certificates or ())
        if all(pem in known for pem in pems):
            return
        self._digital_sign_lock()
        known = list(self.digital_sign_tsa_certificates or ())
        known += [pem for pem in pems if pem not in known]
        self.write({"digital_sign_tsa_certificates": known[-MAX_TSA_CERTIFICATES:]})

    def _digital_sign_tsa_trust_roots(self):
        """The certificates (DER) trusted for this company's timestamp tokens: the tops of
        the chains its timestamp servers sent with the tokens we asked for."""
        self.ensure_one()
        return [x509.der_from_pem(pem) for pem in self.sudo().digital_sign_tsa_certificates or ()]

    @api.model
    def _digital_sign_trust_roots(self):
        """Every certificate a document of this database may chain to (DER): the seal
        certificates ever used, the roots of their chains, the timestamp servers' roots."""
        return list(
            dict.fromkeys(self._digital_sign_seal_roots() + self._digital_sign_timestamp_roots())
        )

    @api.model
    def _digital_sign_seal_roots(self):
        """The seal certificates ever used and the roots of their chains (DER)."""
        ders = []
        for company_sudo in self._digital_sign_sealing_companies():
            for entry in company_sudo.digital_sign_seal_certificates or ():
                for pem in [entry.get("certificate"), *(entry.get("anchors") or ())]:
                    if pem:
                        ders.append(x509.der_from_pem(pem))
        return list(dict.fromkeys(ders))

    @api.model
    def _digital_sign_timestamp_roots(self):
        """The roots of the timestamp servers that answered our requests (DER)."""
        ders = []
        for company_sudo in self._digital_sign_sealing_companies():
            ders += [
                x509.der_from_pem(pem) for pem in company_sudo.digital_sign_tsa_certificates or ()
            ]
        return list(dict.fromkeys(ders))

    @api.model
    def _digital_sign_sealing_companies(self):
        return (
            self.env["res.company"]
            .sudo()
            .with_context(active_test=False)
            .search([("digital_sign_seal_source", "!=", False)])
        )

    def _digital_sign_seal_pins(self):
        """The certificates this company sealed with, each with its period of use.

        :return: tuple of engine.seal_identity.SealPin
        """
        return tuple(
            pin
            for company_sudo in self.sudo()
            for pin in seal_identity.seal_pins(company_sudo.digital_sign_seal_certificates)
        )

    @api.model
    def _digital_sign_find_seal_certificate(self, fingerprint):
        """``(company, entry)`` of a seal certificate of this database by its SHA-256
        fingerprint (lower-case hex), or ``(empty recordset, None)``."""
        companies_sudo = (
            self.env["res.company"]
            .sudo()
            .with_context(active_test=False)
            .search([("digital_sign_seal_source", "!=", False)])
        )
        fingerprint = (fingerprint or "").lower()
        for company_sudo in companies_sudo:
            for entry in company_sudo.digital_sign_seal_certificates or ():
                if fingerprint and entry.get("fingerprint") == fingerprint:
                    return company_sudo, entry
        return self.env["res.company"], None

    # === BUSINESS: timestamp server and level === #
    def _digital_sign_allow_loopback_tsa(self):
        return bool(
            self.env["ir.config_parameter"].sudo().get_param("digital_sign.allow_loopback_tsa")
        )

    def _digital_sign_get_timestamp_server(self):
        """The configured timestamp server (sudo for its credentials), or None. A server
        that failed is rested for ``TSA_BREAKER_SECONDS`` by the engine's timestamp client,
        for seals and audit-trail anchors alike."""
        self.ensure_one()
        company_sudo = self.sudo()
        if not company_sudo.digital_sign_tsa_url:
            return None
        return timestamp.TimestampServer(
            url=company_sudo.digital_sign_tsa_url.strip(),
            username=company_sudo.digital_sign_tsa_username or "",
            password=company_sudo.digital_sign_tsa_password or "",
            timeout=TSA_TIMEOUT,
            allow_loopback=self._digital_sign_allow_loopback_tsa(),
            breaker_seconds=TSA_BREAKER_SECONDS,
        )

    def _digital_sign_get_validation_options(self):
        """Revocation data for B-LT/B-LTA seals.

        Override to hand over CRLs and OCSP responses (the tests do). In production, the
        data is fetched from the URLs in the certificates; tests never fetch.

        :return: ``(engine.x509.ValidationMaterial, allow_fetching)``
        Note: self.ensure_one()
        """
        self.ensure_one()
        tsa_certs = tuple(
            x509.der_from_pem(pem) for pem in self.sudo().digital_sign_tsa_certificates or ()
        )
        return x509.ValidationMaterial(certs=tsa_certs), not modules.module.current_test

    def _digital_sign_seal_level(self):
        self.ensure_one()
        if not self.sudo().digital_sign_tsa_url:
            return "B-B"
        return "B-LTA" if self.digital_sign_seal_lta else "B-LT"

    # === BUSINESS: text messages === #
    def _digital_sign_sms_allowed(self):
        """Whether this company's documents may send text messages (invitations, reminders,
        one-time codes): the administrator can switch them off (Settings)."""
        return all(company.sudo().digital_sign_sms_enabled for company in self)

    def _digital_sign_sms_off_message(self):
        """The message that says text messages are switched off for this company."""
        return self.env._(
            "Text messages (SMS) are switched off for %s: invite and send codes by e-mail.",
            ", ".join(self.mapped("name")) or self.env.company.name,
        )
