"""PAdES sealing of the final signed PDF.

Sealing (``seal_pdf``) appends one pyHanko PAdES signature (SubFilter ``ETSI.CAdES.detached``)
as an incremental update: the input bytes are a prefix of the output and the seal covers the
whole file. It is made with a ``seal_identity.SealIdentity``. Levels:

* ``B-B``: signature only (no timestamp server needed).
* ``B-T``: plus an RFC 3161 signature timestamp from the configured
  ``timestamp.TimestampServer``.
* ``B-LT``: plus a DSS revision holding the certificates, CRLs and OCSP responses of the seal
  chain and of the TSA chain. Revocation data comes from ``validation_material`` (DER given by
  the caller) and, when ``allow_fetching`` is on, from the URLs in the certificates.
* ``B-LTA``: plus a document timestamp over all that.

When B-LT/B-LTA is asked for but the chains cannot be validated *with* revocation data (no
CRL/OCSP, no path to a root), the document is sealed at ``B-T`` and ``SealResult.level`` says
so; with ``strict_level=True`` a ``SealError(code="seal_revocation_unavailable")`` is raised
instead. A timestamp server failure is never papered over: ``TimestampUnavailable`` is raised
(retryable) and nothing is sealed; the local clock is never used as a timestamp. The
timestamp server's breaker (``timestamp.breaker``) guards the whole seal.

Verification is ``pades_verify.verify_pdf``.

Placeholder size: pyHanko sizes ``/Contents`` from an estimate, which a TSA returning a bigger
token than expected overflows ("Final ByteRange payload larger than expected", pyHanko #515).
Here the reservation is the certificates plus an allowance for the token (16 KiB for a TSA not
seen yet, else 125% of the largest token it produced in this process), and a seal whose
signature still does not fit is redone with the measured size (one more TSA request), so it
never fails for that reason.
"""

import contextlib
import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.general import SigningError, get_pyca_cryptography_hash
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, PdfTimeStamper, SimpleSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation.generic_cms import extract_tst_data
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathError, RevokedError, ValidationError
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleCertificateStore

from . import coroutines, x509
from .errors import CertificateInvalid, SealError, TimestampUnavailable
from .seal_identity import REQUIRED_KEY_USAGE, SealIdentity
from .timestamp import (
    TimestampClient,
    TimestampServer,
    breaker,
    token_certificates,
    token_time,
)

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
DEFAULT_FIELD_NAME = "DigitalSignSeal"

_MD = "sha256"
_QUIET_PYHANKO_WARNING = "fetching is not allowed"  # offline B-LT is deliberate here
_CMS_OVERHEAD = 2 * 1024  # signed attributes, signature value, ASN.1 framing
_MAX_SIZE_RETRIES = 3

_logger = logging.getLogger(__name__)


class _OfflineEmbeddingFilter(logging.Filter):
    """Drop pyHanko's "fetching is not allowed" warning, logged on every offline B-LT seal."""

    def filter(self, record):
        return _QUIET_PYHANKO_WARNING not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_OfflineEmbeddingFilter())


@dataclass(frozen=True)
class SealResult:
    pdf: bytes
    level: str  # the level achieved (see the module docstring for B-LT/B-LTA)
    sha256: str  # of ``pdf``
    timestamp_time: datetime | None  # genTime of the signature timestamp token (B-T and up)
    signed_revision_sha256: str = ""  # of the bytes up to the end of the seal's own revision
    timestamp_certificates: tuple = ()  # DER certificates the signature timestamp carried


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


class _NoRevocationInfo(Exception):
    pass


# Private keys as loaded by cryptography, by the SHA-256 of their DER: loading (and checking)
# an RSA-3072 key takes about 0.3 s, which pyHanko's SimpleSigner pays on every seal.
_LOADED_KEYS = {}
_LOADED_KEYS_MAX = 8


def _loaded_key(der):
    """The cryptography private key of PKCS#8 ``der``, loaded once per process."""
    digest = hashlib.sha256(der).digest()
    key = _LOADED_KEYS.get(digest)
    if key is None:
        key = serialization.load_der_private_key(der, password=None)
        if len(_LOADED_KEYS) >= _LOADED_KEYS_MAX:
            _LOADED_KEYS.clear()
        _LOADED_KEYS[digest] = key
    return key


class _MeasuringSigner(SimpleSigner):
    """SimpleSigner that remembers the last CMS it produced (to size a retry), and signs
    with a private key loaded once per process."""

    last_cms = None

    async def async_sign(self, *args, **kwargs):
        result = await super().async_sign(*args, **kwargs)
        if not kwargs.get("dry_run"):
            self.last_cms = result
        return result

    def sign_raw(self, data, digest_algorithm):
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if mechanism not in ("rsassa_pkcs1v15", "ecdsa", "ed25519", "ed448"):
            return super().sign_raw(data, digest_algorithm)  # PSS, DSA: pyHanko's own way
        key = _loaded_key(self.signing_key.dump())
        if mechanism in ("ed25519", "ed448"):
            return key.sign(data)
        hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "ecdsa":
            return key.sign(data, ec.ECDSA(hash_algorithm))
        return key.sign(data, padding.PKCS1v15(), hash_algorithm)


def _make_signer(identity):
    cert = asn1_x509.Certificate.load(identity.certificate)
    key = asn1_keys.PrivateKeyInfo.load(identity.private_key)
    registry = SimpleCertificateStore.from_certs(x509.asn1_certificates(identity.chain))
    return _MeasuringSigner(signing_cert=cert, signing_key=key, cert_registry=registry)


def _strict_revinfo_policy():
    rule = RevocationCheckingRule.CRL_OR_OCSP_REQUIRED
    return CertRevTrustPolicy(
        RevocationCheckingPolicy(ee_certificate_rule=rule, intermediate_ca_cert_rule=rule)
    )


def _sealing_context(identity, material, allow_fetching, moment):
    """Validation context for B-LT: roots = self-signed certificates among the identity chain
    and the material; every non-root certificate must have CRL or OCSP data."""
    candidates = [identity.certificate, *identity.chain, *material.certs]
    roots, others = [], []
    for der in candidates:
        try:
            cert = x509.load_certificate(der)
        except ValueError:
            continue
        (roots if x509.is_self_signed(cert) else others).append(
            asn1_x509.Certificate.load(x509.der(cert))
        )
    return ValidationContext(
        trust_roots=roots,
        other_certs=others,
        crls=list(material.crls),
        ocsps=list(material.ocsps),
        allow_fetching=allow_fetching,
        moment=moment,
        revinfo_policy=_strict_revinfo_policy(),
    )


def _is_encrypted(reader):
    # checked on the trailer: pyHanko's ``encrypted`` raises on a direct /Encrypt dictionary
    return "/Encrypt" in reader.trailer


def _probe_pdf(pdf, field_name):
    """Refuse what pyHanko cannot seal; return a free signature field name."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        if _is_encrypted(reader):
            raise SealError("encrypted PDF", code="seal_pdf_unsupported", reason="encrypted")
        if reader.xrefs.hybrid_xrefs_present:
            raise SealError(
                "hybrid-reference PDF", code="seal_pdf_unsupported", reason="hybrid_xref"
            )
        reader.root["/Pages"].get_object()  # noqa: B018 - must resolve
        taken = {name for name, value, _ref in enumerate_sig_fields(reader) if value is not None}
        existing = {name for name, _value, _ref in enumerate_sig_fields(reader)}
    except SealError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyHanko raises many types on bad files
        raise SealError(
            f"PDF cannot be sealed: {exc!r}", code="seal_pdf_unsupported", reason="damaged"
        ) from exc
    name, n = field_name, 1
    while name in taken:
        n += 1
        name = f"{field_name}_{n}"
    timestamp_name, n = f"{name}_Archive", 1
    while timestamp_name in existing:
        n += 1
        timestamp_name = f"{name}_Archive_{n}"
    return name, timestamp_name


def _initial_reservation(identity, tsa):
    """Hex digits to reserve for the signature CMS."""
    size = len(identity.certificate) + sum(len(c) for c in identity.chain) + _CMS_OVERHEAD
    if tsa is not None:
        size += tsa.token_allowance()
    return 2 * size


async def _sign_once(pdf, identity, level, tsa, context, meta_kwargs, moment):
    """One signing pass. Returns (output bytes, signed revision length, CMS)."""
    lt = level in ("B-LT", "B-LTA")
    signer = _make_signer(identity)
    reserve = _initial_reservation(identity, tsa)
    for _attempt in range(_MAX_SIZE_RETRIES + 1):
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=True)
        meta = PdfSignatureMetadata(
            md_algorithm=_MD,
            subfilter=SigSeedSubFilter.PADES,
            embed_validation_info=lt,
            validation_context=context if lt else None,
            signer_key_usage=set(REQUIRED_KEY_USAGE),
            use_pades_lta=False,
            **meta_kwargs,
        )
        pdf_signer = PdfSigner(meta, signer, timestamper=tsa if level != "B-B" else None)
        try:
            session = pdf_signer.init_signing_session(writer)
        except SigningError as exc:  # e.g. a certification signature that forbids changes
            raise SealError(
                f"PDF refuses a new signature: {exc}",
                code="seal_pdf_unsupported",
                reason="signing_refused",
            ) from exc
        session.system_time = moment
        validation_info = None
        if lt:
            try:
                validation_info = await session.perform_presign_validation(writer)
            except (SigningError, PathError, ValidationError) as exc:
                if tsa is not None and tsa.failure is not None:
                    raise
                if isinstance(exc, RevokedError):  # raised raw for the TSA chain
                    raise TimestampUnavailable(
                        f"timestamp server certificate revoked: {exc}",
                        reason="tsa_certificate_revoked",
                    ) from exc
                if isinstance(exc.__cause__, RevokedError):  # the seal chain
                    raise CertificateInvalid(
                        f"seal certificate revoked: {exc.__cause__}", code="cert_revoked"
                    ) from exc
                raise _NoRevocationInfo(f"{exc!r} <- {exc.__cause__!r}") from exc
            reserve = max(reserve, _initial_reservation(identity, tsa))
        tbs = session.prepare_tbs_document(validation_info, bytes_reserved=reserve)
        prepared, output = tbs.digest_tbs_document(output=io.BytesIO())
        signer.last_cms = None
        try:
            post = await tbs.perform_signature(
                prepared.document_digest, PdfCMSSignedAttributes(signing_time=moment)
            )
        except SigningError:
            produced = signer.last_cms
            if produced is not None and 2 * len(produced.dump()) > reserve:
                reserve = 2 * (len(produced.dump()) + _CMS_OVERHEAD)
                continue
            raise
        output.seek(0, io.SEEK_END)
        signed_length = output.tell()
        await post.post_signature_processing(output)
        return output.getvalue(), signed_length, signer.last_cms
    raise SealError("signature does not fit its placeholder", code="seal_failed")


async def _add_document_timestamp(pdf, tsa, context, field_name):
    reserve = 2 * (tsa.token_allowance() + _CMS_OVERHEAD)
    for _attempt in range(_MAX_SIZE_RETRIES + 1):
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=True)
        stamper = PdfTimeStamper(tsa, field_name=field_name)
        tsa.last_token_size = 0
        try:
            output = await stamper.async_timestamp_pdf(
                writer, _MD, context, bytes_reserved=reserve, output=io.BytesIO(), timestamper=tsa
            )
        except SigningError:
            if tsa.failure is None and 2 * tsa.last_token_size > reserve:
                reserve = 2 * (tsa.last_token_size + _CMS_OVERHEAD)
                continue
            raise
        return output.getvalue()
    raise SealError("document timestamp does not fit its placeholder", code="seal_failed")


async def _seal(pdf, identity, level, tsa, context, meta_kwargs, timestamp_field, moment):
    output, signed_length, produced = await _sign_once(
        pdf, identity, level, tsa, context, meta_kwargs, moment
    )
    if level == "B-LTA":
        output = await _add_document_timestamp(output, tsa, context, timestamp_field)
    return output, signed_length, produced


def _signature_timestamp(produced):
    """The token (its SignedData) of the signature timestamp in the CMS ``produced``, or
    None."""
    if produced is None:
        return None
    try:
        return extract_tst_data(produced["content"]["signer_infos"][0])
    except (KeyError, ValueError, TypeError, IndexError):
        return None


def _timestamp_of(produced):
    """``(genTime, certificates)`` of the signature timestamp in ``produced``, or
    ``(None, ())``."""
    token = _signature_timestamp(produced)
    if token is None:
        return None, ()
    try:
        gen_time = token_time(token)
    except (KeyError, ValueError, TypeError, IndexError):
        return None, ()
    try:
        return gen_time, token_certificates(token)
    except Exception:  # noqa: BLE001 - only what the caller trusts from now on: keep the seal
        _logger.warning("Could not read the timestamp token certificates", exc_info=True)
        return gen_time, ()


def seal_pdf(
    pdf,
    identity,
    *,
    level="B-B",
    timestamp=None,
    validation_material=None,
    allow_fetching=False,
    reason="",
    location="",
    contact="",
    field_name=DEFAULT_FIELD_NAME,
    now=None,
    strict_level=False,
):
    """Seal ``pdf`` with ``identity`` at ``level`` and return a ``SealResult``.

    :param timestamp: a ``timestamp.TimestampServer``; required for B-T and above, ignored
        for B-B. Its breaker (``TimestampServer.breaker_seconds``) guards the whole seal
    :param validation_material: ``x509.ValidationMaterial`` or DER blobs (certificates, CRLs, OCSP
        responses) for B-LT/B-LTA
    :param allow_fetching: let B-LT/B-LTA fetch CRLs/OCSP from the certificates' URLs
    :param field_name: signature field name; a taken name gets a ``_2``, ``_3``... suffix
    :param now: signing time (default: the current time); also the validity check time
    :param strict_level: for B-LT/B-LTA, raise instead of falling back to B-T
    :raises ValueError/TypeError: bad arguments (unknown level, field name with a dot...)
    :raises CertificateInvalid: ``cert_expired`` / ``cert_not_yet_valid`` at ``now``;
        ``cert_revoked`` when B-LT/B-LTA revocation data shows the seal chain revoked
    :raises SealError: ``seal_pdf_unsupported`` (params: reason = ``encrypted``,
        ``hybrid_xref``, ``damaged``, ``signing_refused`` e.g. locked by a certification),
        ``seal_timestamp_required`` (level needs a TimestampServer),
        ``seal_revocation_unavailable`` (strict_level), ``seal_failed``
    :raises TimestampUnavailable: the timestamp server failed (retryable; params: reason =
        ``timeout``, ``unreachable``, ``http_<status>``, ``bad_response``, ``rejected``,
        ``tsa_certificate_revoked``, ``recent_failure``: the breaker refused the call)
    :raises UnsafeUrl: the timestamp server URL is not allowed
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if not isinstance(identity, SealIdentity):
        raise TypeError("identity must be a SealIdentity")
    if not field_name or "." in field_name:
        raise ValueError("field_name must be non-empty and contain no '.'")
    if not isinstance(pdf, (bytes, bytearray, memoryview)):
        raise TypeError("pdf must be bytes")
    if level == "B-B" or timestamp is None:
        guard = contextlib.nullcontext()
    elif not isinstance(timestamp, TimestampServer):
        raise TypeError("timestamp must be a TimestampServer")
    else:
        guard = breaker(timestamp)
    with guard:
        return _seal_pdf(
            bytes(pdf),
            identity,
            level,
            timestamp,
            validation_material,
            allow_fetching,
            {
                "reason": reason or None,
                "location": location or None,
                "contact_info": contact or None,
            },
            field_name,
            now,
            strict_level,
        )


def _seal_pdf(
    pdf,
    identity,
    level,
    timestamp,
    validation_material,
    allow_fetching,
    metadata,
    field_name,
    now,
    strict_level,
):
    moment = x509.utc(now)
    x509.check_valid_at(x509.load_certificate(identity.certificate), moment)
    if level != "B-B" and timestamp is None:
        raise SealError(
            f"{level} needs a timestamp server", code="seal_timestamp_required", level=level
        )
    material = x509.coerce_material(validation_material)
    sig_field, timestamp_field = _probe_pdf(pdf, field_name)
    tsa = TimestampClient(timestamp) if level != "B-B" else None
    meta_kwargs = {"field_name": sig_field, **metadata}
    context_moment = moment if now is not None else None
    achieved = level
    try:
        context = None
        if level in ("B-LT", "B-LTA"):
            context = _sealing_context(identity, material, allow_fetching, context_moment)
        try:
            output, signed_length, produced = coroutines.run(
                _seal(pdf, identity, level, tsa, context, meta_kwargs, timestamp_field, moment)
            )
        except _NoRevocationInfo as exc:
            if strict_level:
                raise SealError(
                    f"no revocation data for {level}: {exc}",
                    code="seal_revocation_unavailable",
                    level=level,
                ) from exc
            achieved = "B-T"
            output, signed_length, produced = coroutines.run(
                _seal(pdf, identity, "B-T", tsa, None, meta_kwargs, timestamp_field, moment)
            )
    except (SealError, CertificateInvalid):  # TimestampUnavailable is a SealError
        raise
    except Exception as exc:  # noqa: BLE001 - pyHanko raises many types
        if tsa is not None and tsa.failure is not None:
            raise tsa.unavailable() from exc
        raise SealError(f"sealing failed: {exc!r}", code="seal_failed") from exc
    if tsa is not None and tsa.failure is not None:  # swallowed somewhere: never go on
        raise tsa.unavailable()
    if not output.startswith(pdf):
        raise SealError("the sealed file does not extend the input", code="seal_failed")
    timestamp_time, timestamp_certificates = (None, ())
    if achieved != "B-B":
        timestamp_time, timestamp_certificates = _timestamp_of(produced)
        if timestamp_time is None:
            raise SealError("the seal carries no timestamp", code="seal_failed")
    return SealResult(
        pdf=output,
        level=achieved,
        sha256=_sha256(output),
        timestamp_time=timestamp_time,
        signed_revision_sha256=_sha256(memoryview(output)[:signed_length]),
        timestamp_certificates=timestamp_certificates,
    )
