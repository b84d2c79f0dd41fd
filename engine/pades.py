"""PAdES sealing of the final signed PDF, seal certificates, and seal verification.

Sealing (``seal_pdf``) appends one pyHanko PAdES signature (SubFilter ``ETSI.CAdES.detached``)
as an incremental update: the input bytes are a prefix of the output and the seal covers the
whole file. Levels:

* ``B-B``: signature only (no timestamp server needed).
* ``B-T``: plus an RFC 3161 signature timestamp from the configured ``TimestampServer``.
* ``B-LT``: plus a DSS revision holding the certificates, CRLs and OCSP responses of the seal
  chain and of the TSA chain. Revocation data comes from ``validation_material`` (DER given by
  the caller) and, when ``allow_fetching`` is on, from the URLs in the certificates.
* ``B-LTA``: plus a document timestamp over all that.

When B-LT/B-LTA is asked for but the chains cannot be validated *with* revocation data (no
CRL/OCSP, no path to a root), the document is sealed at ``B-T`` and ``SealResult.level`` says
so; with ``strict_level=True`` a ``SealError(code="seal_revocation_unavailable")`` is raised
instead. A timestamp server failure is never papered over: ``TimestampUnavailable`` is raised
(retryable) and nothing is sealed; the local clock is never used as a timestamp.

Verification (``verify_pdf``) never raises on bad input; it reports one status (``STATUSES``)
and the details. It validates against the explicit ``trust_roots`` only (never the OS store).
The file first goes through the intake checks (size, decompression bombs, page count:
``pdf_intake.inspect_pdf``): no parser reads a file they refuse. Then it finds OUR seal: the
signature in the part of the file we issued (the longest revision prefix whose SHA-256 the
caller knows, ``issued``), made with one of our own seal certificates (``pinned``, by
SHA-256 fingerprint and period of use: a certificate from the same CA is not our seal).
Everything after that seal must be what PAdES allows after a signature (a DSS, document
timestamps: pyHanko's ``ModificationLevel.LTA_UPDATES``); anything more (a page, content, an
annotation, a form value, another signature by anyone) is ``modified_after_sealing``, with
what changed (``engine.pdf_changes``).

Placeholder size: pyHanko sizes ``/Contents`` from an estimate, which a TSA returning a bigger
token than expected overflows ("Final ByteRange payload larger than expected", pyHanko #515).
Here the reservation is the certificates plus an allowance for the token (16 KiB for a TSA not
seen yet, else 125% of the largest token it produced in this process), and a seal whose
signature still does not fit is redone with the measured size (one more TSA request), so it
never fails for that reason.
"""

import asyncio
import concurrent.futures
import hashlib
import hmac
import io
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import requests
from asn1crypto import cms, core, tsp
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.general import SigningError, extract_certificate_info
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, PdfTimeStamper, SimpleSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import (
    KeyUsageConstraints,
    RevocationInfoValidationType,
    async_validate_pdf_ltv_signature,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.generic_cms import (
    extract_tst_data,
    validate_sig_integrity,
    validate_tst_signed_data,
)
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathError, RevokedError, ValidationError
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleCertificateStore

from . import pdf_intake
from .errors import CertificateInvalid, PdfInvalid, SealError, TimestampUnavailable
from .netguard import check_outbound_url, is_loopback_address
from .pdf_changes import Change, describe_changes

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
STATUSES = (
    "valid",  # intact, covers the file (or only a DSS and document timestamps follow), trusted
    "no_signature",  # a readable PDF without any signature
    "seal_broken",  # digest mismatch, bad signature value, unreadable CMS, odd byte range
    "not_our_seal",  # intact, but not made with a pinned certificate (another one, same CA...)
    "modified_after_sealing",  # a later update does more than add a DSS or document timestamps
    "bytes_appended",  # bytes after the last revision that are not a PDF revision
    "untrusted",  # intact and unmodified, but the chain (or key usage) is not trusted
    "damaged",  # not a readable PDF
    "refused",  # refused before any parser read it (``refusal``: the intake's error code)
)
SEAL_PIN_GRACE = timedelta(days=1)  # clock skew around a pin's period of use
VERIFY_EXTRA_PAGES = 100  # a sealed file has the certificate of completion after the pages
_DAMAGED_CODES = frozenset({"pdf_empty", "pdf_not_pdf", "pdf_damaged", "pdf_encrypted",
                            "pdf_no_pages"})  # the other intake refusals are "refused"
_ALLOWED_AFTER_SEAL = ("NONE", "LTA_UPDATES")  # pyHanko ModificationLevel names
DEFAULT_FIELD_NAME = "DigitalSignSeal"
REQUIRED_KEY_USAGE = frozenset({"digital_signature", "non_repudiation"})  # asn1crypto names
REQUIRED_KEY_USAGE_NAMES = frozenset({"digitalSignature", "nonRepudiation"})  # RFC 5280

_MD = "sha256"
_QUIET_PYHANKO_WARNING = "fetching is not allowed"  # offline B-LT is deliberate here
_TOKEN_ALLOWANCE = 16 * 1024  # bytes kept for a token from a TSA not seen yet
_CMS_OVERHEAD = 2 * 1024  # signed attributes, signature value, ASN.1 framing
_TOKEN_SIZES = {}  # TSA URL -> largest token seen (bytes): sizes later reservations
_TOKEN_SIZES_MAX = 64
_MAX_SIZE_RETRIES = 3
_MAX_TSA_RESPONSE = 1 << 20
_TSA_CONTENT_TYPES = ("application/timestamp-reply", "application/timestamp-response")
_KEY_USAGE_NAMES = (  # cryptography attribute -> RFC 5280 name
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "nonRepudiation"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)


class _OfflineEmbeddingFilter(logging.Filter):
    """Drop pyHanko's "fetching is not allowed" warning, logged on every offline B-LT seal."""

    def filter(self, record):
        return _QUIET_PYHANKO_WARNING not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_OfflineEmbeddingFilter())


class _NoTracebackFilter(logging.Filter):
    """Keep pyHanko's warning about a file changed after a signature, or a certificate
    without a trusted path, to one line: ``verify_pdf`` reports both, and the public
    verification page must not let anyone fill the logs with tracebacks."""

    def filter(self, record):
        record.exc_info = record.exc_text = None
        return True


for _name in ("pyhanko.sign.diff_analysis.policies", "pyhanko.sign.validation.generic_cms"):
    logging.getLogger(_name).addFilter(_NoTracebackFilter())


# --- plain-value types ----------------------------------------------------------------
@dataclass(frozen=True)
class SealIdentity:
    """A seal key and certificate, as returned by ``load_seal_identity``. ``private_key`` is
    unencrypted PKCS#8 DER: keep the object in memory only."""

    certificate: bytes  # DER
    chain: tuple = ()  # DER certificates shipped with it (intermediates, root)
    private_key: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class CertInfo:
    subject: str  # RFC 4514
    issuer: str
    serial: str  # upper-case hex
    not_before: datetime  # aware, UTC
    not_after: datetime
    self_signed: bool
    sha256_fingerprint: str  # lower-case hex of the DER certificate
    key_usage: tuple  # RFC 5280 names: ("digitalSignature", "nonRepudiation", ...)


@dataclass(frozen=True)
class TimestampServer:
    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 10.0
    allow_loopback: bool = False  # only for local test servers


@dataclass(frozen=True)
class ValidationMaterial:
    """Extra validation data, all DER: certificates (intermediates, roots), CRLs, OCSP
    responses. ``seal_pdf``/``verify_pdf`` also accept a flat sequence of DER blobs and sort
    them out themselves."""

    certs: tuple = ()
    crls: tuple = ()
    ocsps: tuple = ()


@dataclass(frozen=True)
class SealResult:
    pdf: bytes
    level: str  # the level achieved (see the module docstring for B-LT/B-LTA)
    sha256: str  # of ``pdf``
    timestamp_time: datetime | None  # genTime of the signature timestamp token (B-T and up)
    signed_revision_sha256: str = ""  # of the bytes up to the end of the seal's own revision


@dataclass(frozen=True)
class SealPin:
    """A certificate that sealed this database's documents, and when it was the one in use.

    ``since``/``until`` are aware datetimes (None: open); a seal made with it outside that
    period (give or take ``SEAL_PIN_GRACE``) is not ours."""

    fingerprint: str  # SHA-256 of the DER certificate, lower-case hex
    since: datetime | None = None
    until: datetime | None = None

    def covers(self, fingerprint, moment):
        if (fingerprint or "").lower() != self.fingerprint.lower():
            return False
        if moment is None:
            return True
        moment = _utc(moment)
        return ((self.since is None or moment >= _utc(self.since) - SEAL_PIN_GRACE)
                and (self.until is None or moment <= _utc(self.until) + SEAL_PIN_GRACE))


_HISTORY_TIME = "%Y-%m-%d %H:%M:%S"  # UTC, as the caller stores datetimes


def _history_time(value):
    return _utc(datetime.strptime(value[:19], _HISTORY_TIME)) if value else None


def seal_periods(entry):
    """``[[since, until or None], ...]`` (UTC text) of one entry of a seal certificate
    history (a dict with ``fingerprint``, ``added`` and ``periods``); an entry written before
    periods existed is in use since it was added."""
    periods = entry.get("periods")
    if periods is not None:
        return [list(period) for period in periods]
    return [[entry.get("added"), None]]


def is_current_seal(history, fingerprint):
    """Whether ``fingerprint`` is the only certificate of ``history`` in use (open period)."""
    in_use = [entry.get("fingerprint") for entry in history or ()
              if (seal_periods(entry) or [[None, "closed"]])[-1][1] is None]
    return in_use == [fingerprint]


def use_seal_certificate(history, fingerprint, now):
    """``history`` (a list of dicts, one per certificate, left unchanged) once
    ``fingerprint`` (which must have an entry) is the seal certificate from ``now`` on: its
    period opens, the open period of any other closes.

    :return: a new list of new dicts, each with its ``periods``
    """
    moment = _utc(now).strftime(_HISTORY_TIME)
    updated = []
    for entry in history:
        entry, periods = dict(entry), seal_periods(entry)
        if entry.get("fingerprint") == fingerprint:
            if not periods or periods[-1][1] is not None:
                periods.append([moment, None])
        elif periods and periods[-1][1] is None:
            periods[-1][1] = moment
        entry["periods"] = periods
        updated.append(entry)
    return updated


def seal_pins(history):
    """The ``SealPin`` of each period of each certificate of a seal certificate history."""
    return tuple(
        SealPin(entry["fingerprint"], since=_history_time(since), until=_history_time(until))
        for entry in history or () if entry.get("fingerprint")
        for since, until in seal_periods(entry))


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of ``verify_pdf`` for the seal of the file: with ``issued``, the last
    signature of the part we issued; else with ``pinned``, the last signature made with a
    pinned certificate; else (or when none is) the last signature (``/Sig``)."""

    status: str  # one of STATUSES
    refusal: str = ""  # status "refused" or "damaged" by the intake: its PdfInvalid code
    issued_sha256: str = ""  # the revision prefix that ``issued`` recognised
    pinned: bool = False  # the seal certificate matches a pin (and its period)
    changes: tuple = ()  # status modified_after_sealing: engine.pdf_changes.Change, in order
    signature_count: int = 0  # /Sig signatures (document timestamps not counted)
    signed_revision_sha256: str = ""  # SHA-256 of the file up to the end of the sealed revision
    revision_sha256s: tuple = ()  # SHA-256 of the file cut at each revision end, from the
    #   first signed revision on, in file order (the last one excludes appended junk)
    signer_subject: str = ""
    signer_issuer: str = ""
    cert_fingerprint: str = ""  # SHA-256, lower-case hex
    self_signed: bool = False
    signing_time: datetime | None = None  # claimed by the signer
    timestamp_time: datetime | None = None  # from a valid and trusted signature timestamp
    timestamp_trusted: bool = False
    level: str = ""  # detected: B-B / B-T / B-LT / B-LTA
    coverage: str = ""  # pyHanko SignatureCoverageLevel name, e.g. ENTIRE_FILE
    modification_level: str = ""  # pyHanko ModificationLevel name, e.g. NONE, LTA_UPDATES
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    detail: str = ""  # for logs only


# --- small helpers --------------------------------------------------------------------
def _utc(now=None):
    if now is None:
        return datetime.now(timezone.utc)
    if now.tzinfo is None or now.utcoffset() is None:
        return now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc)


def _run(coro):
    """Run a coroutine to completion, even when called from a thread with a running loop.

    The result travels outside the task: on Python 3.11, ``asyncio.run`` in the main thread
    formats ``repr(main_task)`` (result included) while restoring the SIGINT handler, which
    for a sealed 20 MB PDF means building an 80 MB string, twice, on every call.
    """
    box = []

    async def main():
        box.append(await coro)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, main()).result()
    return box[0]


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _load_cert(data):
    """A cryptography certificate from DER or PEM bytes (ValueError otherwise)."""
    data = bytes(data)
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def _der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def _cert_not_before(cert):
    return cert.not_valid_before_utc


def _cert_not_after(cert):
    return cert.not_valid_after_utc


def _is_self_signed(cert):
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:  # noqa: BLE001 - any failure means "not self-signed"
        return False
    return True


def _key_usage_names(cert):
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return ()
    names = [name for attr, name in _KEY_USAGE_NAMES if getattr(usage, attr)]
    if usage.key_agreement:
        if usage.encipher_only:
            names.append("encipherOnly")
        if usage.decipher_only:
            names.append("decipherOnly")
    return tuple(names)


def _cert_info(cert):
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "X"),
        not_before=_cert_not_before(cert),
        not_after=_cert_not_after(cert),
        self_signed=_is_self_signed(cert),
        sha256_fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        key_usage=_key_usage_names(cert),
    )


def _check_cert_time(cert, moment):
    if moment < _cert_not_before(cert):
        raise CertificateInvalid(
            "certificate not valid yet", code="cert_not_yet_valid",
            not_before=_cert_not_before(cert).isoformat())
    if moment > _cert_not_after(cert):
        raise CertificateInvalid(
            "certificate expired", code="cert_expired",
            not_after=_cert_not_after(cert).isoformat())


def _check_key_usage(cert):
    missing = REQUIRED_KEY_USAGE_NAMES - set(_key_usage_names(cert))
    if missing:
        raise CertificateInvalid(
            f"key usage lacks {sorted(missing)}", code="cert_key_usage",
            missing=",".join(sorted(missing)))


# --- seal certificates ----------------------------------------------------------------
def _clip(text, limit=64):
    """Stripped text cut to ``limit`` UTF-8 bytes (the X.520 upper bound cryptography applies)
    without splitting a character."""
    return str(text).strip().encode()[:limit].decode("utf-8", "ignore").strip()


def generate_self_signed_pkcs12(
    common_name, organization="", country="", *, password, valid_days=3650, now=None,
    key_type="rsa3072",
):
    """A new key and a self-signed certificate for it, as PKCS#12 bytes (AES-256, PBKDF2).

    The certificate is an end-entity certificate whose KeyUsage (critical) carries
    digitalSignature and nonRepudiation: a per-company default seal identity, trusted by
    whoever adds it to their trust roots.

    :param password: non-empty bytes protecting the PKCS#12
    :param key_type: ``rsa3072`` (default), ``rsa2048``, ``rsa4096``, ``ec256`` or ``ec384``
    :raises ValueError: empty name or password, bad country code, unknown key type
    """
    if not common_name or not str(common_name).strip():
        raise ValueError("common_name is required")
    if not password:
        raise ValueError("a password is required")
    if isinstance(password, str):
        password = password.encode()
    if valid_days < 1:
        raise ValueError("valid_days must be positive")
    if key_type == "ec256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif key_type == "ec384":
        key = ec.generate_private_key(ec.SECP384R1())
    elif key_type in ("rsa2048", "rsa3072", "rsa4096"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
    else:
        raise ValueError(f"unknown key type {key_type!r}")
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, _clip(common_name))]
    if organization and str(organization).strip():
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, _clip(organization)))
    if country:
        country = str(country).strip().upper()
        if len(country) != 2 or not country.isalpha() or not country.isascii():
            raise ValueError(f"country must be a 2-letter code, got {country!r}")
        attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    name = x509.Name(attrs)
    moment = _utc(now)
    public_key = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - timedelta(minutes=5))
        .not_valid_after(moment + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        _clip(common_name).encode(), key, cert, None,
        serialization.BestAvailableEncryption(password),
    )


def _bmp_password(password):
    """PKCS#12 password encoding (RFC 7292 B.1): BMPString with a two-byte terminator;
    ``None`` (no password) is the empty string of bytes."""
    if password is None:
        return b""
    text = password.decode("utf-8") if isinstance(password, bytes) else str(password)
    return text.encode("utf-16-be") + b"\x00\x00"


def _pkcs12_kdf(hash_name, password, salt, iterations, purpose, length):
    """RFC 7292 appendix B.2 key derivation (purpose 3 = MAC key)."""
    u = hashlib.new(hash_name).digest_size
    v = hashlib.new(hash_name).block_size

    def stretch(data):
        if not data:
            return b""
        size = v * ((len(data) + v - 1) // v)
        return (data * (size // len(data) + 1))[:size]

    diversifier = bytes([purpose]) * v
    block = bytearray(stretch(salt) + stretch(password))
    out = b""
    while True:
        digest = hashlib.new(hash_name, diversifier + bytes(block)).digest()
        for _ in range(iterations - 1):
            digest = hashlib.new(hash_name, digest).digest()
        out += digest
        if len(out) >= length:
            return out[:length]
        b_int = int.from_bytes((digest * (v // u + 1))[:v], "big")
        for start in range(0, len(block), v):
            value = (int.from_bytes(block[start:start + v], "big") + b_int + 1) % (1 << (8 * v))
            block[start:start + v] = value.to_bytes(v, "big")


def _pkcs12_mac_verdict(pfx, password):
    """True/False when the PKCS#12 MAC can be checked with ``password``, None when the file
    has no MAC or uses a MAC scheme not handled here (PBMAC1...)."""
    mac_data = pfx["mac_data"]
    if not mac_data.native:
        return None
    algorithm = mac_data["mac"]["digest_algorithm"]["algorithm"].native
    if algorithm not in ("sha1", "sha224", "sha256", "sha384", "sha512"):
        return None
    try:
        content = pfx["auth_safe"]["content"].native
        salt = mac_data["mac_salt"].native
        iterations = mac_data["iterations"].native or 1
        expected = mac_data["mac"]["digest"].native
        if not isinstance(content, bytes) or iterations > 1_000_000:
            return None
        key = _pkcs12_kdf(algorithm, _bmp_password(password), salt, iterations, 3,
                          hashlib.new(algorithm).digest_size)
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    return hmac.compare_digest(hmac.new(key, content, algorithm).digest(), expected)


def _open_pkcs12(data, password):
    """(key, cert, additional certs) from PKCS#12 bytes, or a CertificateInvalid."""
    if isinstance(password, str):
        password = password.encode()
    if not isinstance(data, (bytes, bytearray, memoryview)) or not data:
        raise CertificateInvalid("empty PKCS#12", code="cert_pkcs12_invalid")
    data = bytes(data)
    try:
        pfx = asn1_pkcs12.Pfx.load(data)
        if pfx["version"].native != "v3":
            raise ValueError("not PKCS#12 v3")
        if pfx["auth_safe"]["content_type"].native not in ("data", "signed_data"):
            raise ValueError("unexpected authSafe content type")
        pfx["mac_data"].native  # noqa: B018 - parse it: garbage raises here
    except Exception as exc:  # noqa: BLE001 - asn1crypto raises many types
        raise CertificateInvalid(f"not a PKCS#12 file: {exc}", code="cert_pkcs12_invalid") from exc
    # an absent and an empty password encode differently: when none is given try both
    candidates = [password] if password else [None, b""]
    verdicts = {i: _pkcs12_mac_verdict(pfx, pw) for i, pw in enumerate(candidates)}
    if all(v is False for v in verdicts.values()):
        raise CertificateInvalid("wrong PKCS#12 password", code="cert_bad_password")
    mac_ok = any(v is True for v in verdicts.values())
    ordered = [pw for i, pw in enumerate(candidates) if verdicts[i] is not False]
    last_error = None
    for pw in ordered:
        try:
            return pkcs12.load_key_and_certificates(data, pw)
        except Exception as exc:  # noqa: BLE001 - ValueError, UnsupportedAlgorithm...
            last_error = exc
    if mac_ok:  # the password is right, the content is not something we can read
        raise CertificateInvalid(
            f"unreadable PKCS#12: {last_error}", code="cert_pkcs12_invalid") from last_error
    raise CertificateInvalid(
        f"cannot decrypt PKCS#12: {last_error}", code="cert_bad_password") from last_error


def _same_public_key(key, cert):
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(*fmt) == cert.public_key().public_bytes(*fmt)


def load_seal_identity(pkcs12_bytes, password, *, now=None):
    """Open a PKCS#12 seal identity and check it can seal now.

    :param password: bytes (or str), or None for an unprotected file
    :raises CertificateInvalid: ``cert_pkcs12_invalid`` (not PKCS#12, unreadable, no
        certificate, unsupported key type), ``cert_bad_password``, ``cert_no_key`` (no private
        key, or none matching the certificate), ``cert_expired``, ``cert_not_yet_valid``,
        ``cert_key_usage`` (KeyUsage must include digitalSignature and nonRepudiation)
    """
    key, cert, extra = _open_pkcs12(pkcs12_bytes, password)
    if key is None:
        raise CertificateInvalid("no private key in the PKCS#12", code="cert_no_key")
    if cert is None:  # some tools do not tie the certificate to the key: look for it
        cert = next((c for c in extra or () if _same_public_key(key, c)), None)
    if cert is None:
        raise CertificateInvalid("no certificate in the PKCS#12", code="cert_pkcs12_invalid")
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey,
                            ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        raise CertificateInvalid(
            f"unsupported key type {type(key).__name__}", code="cert_pkcs12_invalid")
    if not _same_public_key(key, cert):
        raise CertificateInvalid(
            "the private key does not belong to the certificate", code="cert_no_key")
    _check_cert_time(cert, _utc(now))
    _check_key_usage(cert)
    leaf = _der(cert)
    chain = []
    for other in extra or ():
        der = _der(other)
        if der != leaf and der not in chain:
            chain.append(der)
    return SealIdentity(
        certificate=leaf,
        chain=tuple(chain),
        private_key=key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()),
    )


def describe(source, password=None):
    """``CertInfo`` for a ``SealIdentity``, a certificate (DER or PEM bytes) or PKCS#12 bytes
    (then ``password`` is needed). Does not judge validity: an expired certificate is
    described like any other.

    :raises CertificateInvalid: ``cert_pkcs12_invalid`` / ``cert_bad_password`` for PKCS#12
    """
    if isinstance(source, SealIdentity):
        return _cert_info(_load_cert(source.certificate))
    try:
        return _cert_info(_load_cert(source))
    except (ValueError, TypeError):
        pass
    key, cert, extra = _open_pkcs12(source, password)
    if cert is None and key is not None:
        cert = next((c for c in extra or () if _same_public_key(key, c)), None)
    if cert is None:
        raise CertificateInvalid("no certificate in the PKCS#12", code="cert_pkcs12_invalid")
    return _cert_info(cert)


# --- validation material ----------------------------------------------------------------
def _classify_der(blob):
    """'cert', 'crl' or 'ocsp' for one DER blob (ValueError when it is none of them)."""
    blob = bytes(blob)
    try:
        response = asn1_ocsp.OCSPResponse.load(blob)
        if response["response_status"].native:
            response.native  # noqa: B018
            return "ocsp"
    except Exception:  # noqa: BLE001, S110 - try the next type
        pass
    try:
        cert = asn1_x509.Certificate.load(blob)
        cert.native  # noqa: B018
        return "cert"
    except Exception:  # noqa: BLE001, S110
        pass
    try:
        crl_obj = asn1_crl.CertificateList.load(blob)
        crl_obj.native  # noqa: B018
        return "crl"
    except Exception as exc:  # noqa: BLE001
        raise ValueError("not a DER certificate, CRL or OCSP response") from exc


def _coerce_material(material):
    if material is None:
        return ValidationMaterial()
    if isinstance(material, ValidationMaterial):
        return ValidationMaterial(
            certs=tuple(bytes(c) for c in material.certs),
            crls=tuple(bytes(c) for c in material.crls),
            ocsps=tuple(bytes(c) for c in material.ocsps),
        )
    if isinstance(material, (bytes, bytearray, memoryview)):
        material = [material]
    sorted_out = {"cert": [], "crl": [], "ocsp": []}
    for blob in material:
        sorted_out[_classify_der(blob)].append(bytes(blob))
    return ValidationMaterial(
        certs=tuple(sorted_out["cert"]), crls=tuple(sorted_out["crl"]),
        ocsps=tuple(sorted_out["ocsp"]))


def _asn1_certs(ders):
    out = []
    for der in ders:
        try:
            out.append(asn1_x509.Certificate.load(_der(_load_cert(der))))
        except (ValueError, TypeError):
            continue
    return out


# --- timestamp client -----------------------------------------------------------------
class _TsaFailure(Exception):
    def __init__(self, reason, detail):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class _TimeStampResp(core.Sequence):
    """RFC 3161 TimeStampResp; asn1crypto's version wants a token even in a rejection."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class _TsaClient(TimeStamper):
    """RFC 3161 client for one seal: SSRF-checked URL, no redirects, bounded response, and a
    token checked (status, nonce, imprint, signature) before pyHanko embeds it."""

    def __init__(self, server):
        super().__init__(include_nonce=True)
        if not isinstance(server, TimestampServer):
            raise TypeError("timestamp must be a TimestampServer")
        parsed = check_outbound_url(server.url, allow_loopback=server.allow_loopback)
        host = (parsed.hostname or "").strip("[]")
        try:
            self._loopback = host == "localhost" or is_loopback_address(host)
        except ValueError:
            self._loopback = False
        self.server = server
        self.failure = None
        self.largest_token = 0
        self.last_token_size = 0

    def _fail(self, reason, detail):
        self.failure = _TsaFailure(reason, detail)
        raise self.failure

    def token_allowance(self):
        """Bytes to reserve for one token: a margin over the largest token this server has
        produced in this process (a smaller placeholder keeps verification fast), or a
        generous default for a server not seen yet. An overflow is retried anyway."""
        known = max(self.largest_token, _TOKEN_SIZES.get(self.server.url, 0))
        if not known:
            return _TOKEN_ALLOWANCE
        return int(known * 1.25) + 1024

    def _post(self, body):
        server = self.server
        timeout = float(server.timeout) if server.timeout and server.timeout > 0 else 10.0
        auth = None
        if server.username or server.password:
            auth = requests.auth.HTTPBasicAuth(server.username, server.password)
        deadline = time.monotonic() + timeout
        with requests.Session() as session:
            # no proxies/.netrc from the environment for a local server; public TSAs may need
            # the configured proxy
            session.trust_env = not self._loopback
            try:
                response = session.post(
                    server.url, data=body, auth=auth, timeout=(timeout, timeout),
                    allow_redirects=False, stream=True,
                    headers={"Content-Type": "application/timestamp-query",
                             "Accept": "application/timestamp-reply"},
                )
                with response:
                    if response.status_code != 200:
                        self._fail(f"http_{response.status_code}",
                                   f"timestamp server answered HTTP {response.status_code}")
                    content_type = (response.headers.get("Content-Type") or "")
                    content_type = content_type.split(";")[0].strip().lower()
                    if content_type not in _TSA_CONTENT_TYPES:
                        self._fail("bad_response", f"unexpected content type {content_type!r}")
                    chunks, size = [], 0
                    for chunk in response.iter_content(64 * 1024):
                        size += len(chunk)
                        if size > _MAX_TSA_RESPONSE:
                            self._fail("bad_response", "timestamp response too large")
                        if time.monotonic() > deadline:
                            self._fail("timeout", "timestamp server too slow")
                        chunks.append(chunk)
            except requests.Timeout as exc:
                self._fail("timeout", f"timestamp server timed out: {exc}")
            except requests.RequestException as exc:
                self._fail("unreachable", f"timestamp server unreachable: {exc}")
        return b"".join(chunks)

    def _check(self, raw, nonce, digest, md_algorithm):
        try:
            response = _TimeStampResp.load(raw)
            status = response["status"]["status"].native
            if status not in ("granted", "granted_with_mods"):
                strings = response["status"]["status_string"].native or []
                self._fail("rejected", f"timestamp refused: {status} {'; '.join(strings)}")
            token = response["time_stamp_token"]
            if token["content_type"].native != "signed_data":
                raise ValueError("token is not SignedData")
            signed_data = token["content"]
            eci = signed_data["encap_content_info"]
            if eci["content_type"].native != "tst_info":
                raise ValueError("token does not hold a TSTInfo")
            tst_der = eci["content"].contents
            tst_info = eci["content"].parsed
            imprint = tst_info["message_imprint"]
            if (imprint["hash_algorithm"]["algorithm"].native != md_algorithm
                    or imprint["hashed_message"].native != digest):
                raise ValueError("token is for another digest")
            if nonce is not None and tst_info["nonce"].native != nonce:
                raise ValueError("token nonce does not match")
            tst_info["gen_time"].native  # noqa: B018 - must parse
            signer_info = signed_data["signer_infos"][0]
            signer_cert = extract_certificate_info(signed_data).signer_cert
            tst_digest = hashlib.new(
                signer_info["digest_algorithm"]["algorithm"].native, tst_der).digest()
            intact, valid = validate_sig_integrity(signer_info, signer_cert, "tst_info", tst_digest)
            if not (intact and valid):
                raise ValueError("token signature does not verify")
        except _TsaFailure:
            raise
        except Exception as exc:  # noqa: BLE001 - any decoding problem is a bad response
            self._fail("bad_response", f"unusable timestamp response: {exc!r}")
        return token

    async def async_request_tsa_response(self, req):  # pragma: no cover - not used
        raise NotImplementedError

    async def async_timestamp(self, message_digest, md_algorithm):
        nonce, request = self.request_cms(message_digest, md_algorithm)
        token = self._check(self._post(request.dump()), nonce, message_digest, md_algorithm)
        size = len(token.dump())
        self.last_token_size = size
        self.largest_token = max(self.largest_token, size)
        if size > _TOKEN_SIZES.get(self.server.url, 0):
            if len(_TOKEN_SIZES) >= _TOKEN_SIZES_MAX:
                _TOKEN_SIZES.clear()
            _TOKEN_SIZES[self.server.url] = size
        return token


@dataclass(frozen=True)
class TimestampCheck:
    """Outcome of ``check_timestamp_token``. ``status``: ``valid`` (imprint, signature and
    trust hold), ``imprint_mismatch`` (a sound token, for other data), ``signature_invalid``
    (the token or its signature was altered), ``untrusted`` (sound, but its certificate does
    not chain to a trusted one), ``damaged`` (not a readable token); ``unchecked`` from
    ``describe_timestamp_token``."""

    status: str
    gen_time: datetime | None = None  # the TSA's time (when readable)
    tsa_subject: str = ""  # RFC 4514 subject of the TSA certificate
    tsa_fingerprint: str = ""  # SHA-256 of the TSA certificate, lower-case hex
    certificates: tuple = ()  # DER certificates carried by the token
    detail: str = ""  # for logs only


def request_timestamp_token(server, digest, md_algorithm="sha256"):
    """Ask ``server`` (a ``TimestampServer``) for an RFC 3161 token over ``digest``.

    The answer is checked (status, nonce, imprint, signature) before it is returned.

    :return: the token (a CMS ``ContentInfo``) as DER bytes
    :raises TimestampUnavailable: the server failed or answered something unusable
        (params: reason)
    :raises UnsafeUrl: the server URL is not allowed
    """
    tsa = _TsaClient(server)
    try:
        token = _run(tsa.async_timestamp(bytes(digest), md_algorithm))
    except _TsaFailure as exc:
        raise TimestampUnavailable(exc.detail, reason=exc.reason) from None
    return token.dump()


def _read_timestamp_token(token_der):
    """``(signed_data, tst_info, fields for a TimestampCheck)`` of a DER token.

    :raises ValueError: not a readable token
    """
    try:
        token = cms.ContentInfo.load(bytes(token_der))
        if token["content_type"].native != "signed_data":
            raise ValueError("token is not SignedData")
        signed_data = token["content"]
        tst_info = signed_data["encap_content_info"]["content"].parsed
        gen_time = _utc(tst_info["gen_time"].native)
        certificates = tuple(choice.chosen.dump() for choice in signed_data["certificates"] or ()
                             if choice.name == "certificate")
        cert = x509.load_der_x509_certificate(
            extract_certificate_info(signed_data).signer_cert.dump())
    except Exception as exc:  # noqa: BLE001 - any decoding problem: not a usable token
        raise ValueError(f"unreadable token: {exc!r}") from None
    return signed_data, tst_info, {
        "gen_time": gen_time,
        "tsa_subject": cert.subject.rfc4514_string(),
        "tsa_fingerprint": cert.fingerprint(hashes.SHA256()).hex(),
        "certificates": certificates,
    }


def describe_timestamp_token(token_der):
    """What a token says (its time, its TSA certificate, the chain it carries), unchecked:
    for a token ``request_timestamp_token`` just checked.

    :return: a ``TimestampCheck`` with status ``unchecked`` (or ``damaged``)
    """
    try:
        return TimestampCheck(status="unchecked", **_read_timestamp_token(token_der)[2])
    except ValueError as exc:
        return TimestampCheck(status="damaged", detail=str(exc))


def check_timestamp_token(token_der, digest, *, trust_roots, md_algorithm="sha256"):
    """Check an RFC 3161 token: its imprint is ``digest``, its signature verifies with the
    TSA certificate it carries, and that certificate chains to one of ``trust_roots`` (valid
    at the token's own time). Never raises on bad input.

    :return: a ``TimestampCheck``
    """
    try:
        signed_data, tst_info, base = _read_timestamp_token(token_der)
    except ValueError as exc:
        return TimestampCheck(status="damaged", detail=str(exc))
    gen_time, certificates = base["gen_time"], base["certificates"]
    imprint = tst_info["message_imprint"]
    if (imprint["hash_algorithm"]["algorithm"].native != md_algorithm
            or not hmac.compare_digest(imprint["hashed_message"].native, bytes(digest))):
        return TimestampCheck(status="imprint_mismatch", detail="token is for other data", **base)
    context = ValidationContext(
        trust_roots=_parse_roots(trust_roots), other_certs=_asn1_certs(certificates),
        allow_fetching=False, moment=gen_time, retroactive_revinfo=True)
    try:
        status = TimestampSignatureStatus(
            **_run(validate_tst_signed_data(signed_data, context, bytes(digest))))
    except Exception as exc:  # noqa: BLE001 - a signature that cannot be checked is invalid
        return TimestampCheck(status="signature_invalid", detail=f"{exc!r}", **base)
    if not (status.intact and status.valid):
        return TimestampCheck(status="signature_invalid", detail="signature does not verify",
                              **base)
    if not status.trusted:
        return TimestampCheck(status="untrusted", detail="TSA certificate not trusted", **base)
    return TimestampCheck(status="valid", **base)


# --- sealing ------------------------------------------------------------------------------
class _NoRevocationInfo(Exception):
    pass


class _MeasuringSigner(SimpleSigner):
    """SimpleSigner that remembers the last CMS it produced (to size a retry)."""

    last_cms = None

    async def async_sign(self, *args, **kwargs):
        result = await super().async_sign(*args, **kwargs)
        if not kwargs.get("dry_run"):
            self.last_cms = result
        return result


def _make_signer(identity):
    cert = asn1_x509.Certificate.load(identity.certificate)
    key = asn1_keys.PrivateKeyInfo.load(identity.private_key)
    registry = SimpleCertificateStore.from_certs(_asn1_certs(identity.chain))
    return _MeasuringSigner(signing_cert=cert, signing_key=key, cert_registry=registry)


def _strict_revinfo_policy():
    rule = RevocationCheckingRule.CRL_OR_OCSP_REQUIRED
    return CertRevTrustPolicy(RevocationCheckingPolicy(
        ee_certificate_rule=rule, intermediate_ca_cert_rule=rule))


def _sealing_context(identity, material, allow_fetching, moment):
    """Validation context for B-LT: roots = self-signed certificates among the identity chain
    and the material; every non-root certificate must have CRL or OCSP data."""
    candidates = [identity.certificate, *identity.chain, *material.certs]
    roots, others = [], []
    for der in candidates:
        try:
            cert = _load_cert(der)
        except ValueError:
            continue
        (roots if _is_self_signed(cert) else others).append(
            asn1_x509.Certificate.load(_der(cert)))
    return ValidationContext(
        trust_roots=roots, other_certs=others, crls=list(material.crls),
        ocsps=list(material.ocsps), allow_fetching=allow_fetching, moment=moment,
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
            raise SealError("hybrid-reference PDF", code="seal_pdf_unsupported",
                            reason="hybrid_xref")
        reader.root["/Pages"].get_object()  # noqa: B018 - must resolve
        taken = {name for name, value, _ref in enumerate_sig_fields(reader) if value is not None}
        existing = {name for name, _value, _ref in enumerate_sig_fields(reader)}
    except SealError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyHanko raises many types on bad files
        raise SealError(f"PDF cannot be sealed: {exc!r}", code="seal_pdf_unsupported",
                        reason="damaged") from exc
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
            md_algorithm=_MD, subfilter=SigSeedSubFilter.PADES,
            embed_validation_info=lt, validation_context=context if lt else None,
            signer_key_usage=set(REQUIRED_KEY_USAGE), use_pades_lta=False, **meta_kwargs,
        )
        pdf_signer = PdfSigner(meta, signer, timestamper=tsa if level != "B-B" else None)
        try:
            session = pdf_signer.init_signing_session(writer)
        except SigningError as exc:  # e.g. a certification signature that forbids changes
            raise SealError(f"PDF refuses a new signature: {exc}", code="seal_pdf_unsupported",
                            reason="signing_refused") from exc
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
                        reason="tsa_certificate_revoked") from exc
                if isinstance(exc.__cause__, RevokedError):  # the seal chain
                    raise CertificateInvalid(
                        f"seal certificate revoked: {exc.__cause__}",
                        code="cert_revoked") from exc
                raise _NoRevocationInfo(f"{exc!r} <- {exc.__cause__!r}") from exc
            reserve = max(reserve, _initial_reservation(identity, tsa))
        tbs = session.prepare_tbs_document(validation_info, bytes_reserved=reserve)
        prepared, output = tbs.digest_tbs_document(output=io.BytesIO())
        signer.last_cms = None
        try:
            post = await tbs.perform_signature(
                prepared.document_digest, PdfCMSSignedAttributes(signing_time=moment))
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
                writer, _MD, context, bytes_reserved=reserve, output=io.BytesIO(),
                timestamper=tsa)
        except SigningError:
            if tsa.failure is None and 2 * tsa.last_token_size > reserve:
                reserve = 2 * (tsa.last_token_size + _CMS_OVERHEAD)
                continue
            raise
        return output.getvalue()
    raise SealError("document timestamp does not fit its placeholder", code="seal_failed")


async def _seal(pdf, identity, level, tsa, context, meta_kwargs, timestamp_field, moment):
    output, signed_length, produced = await _sign_once(
        pdf, identity, level, tsa, context, meta_kwargs, moment)
    if level == "B-LTA":
        output = await _add_document_timestamp(output, tsa, context, timestamp_field)
    return output, signed_length, produced


def _token_time(produced):
    if produced is None:
        return None
    try:
        signer_info = produced["content"]["signer_infos"][0]
        tst = extract_tst_data(signer_info)
        if tst is None:
            return None
        return _utc(tst["encap_content_info"]["content"].parsed["gen_time"].native)
    except (KeyError, ValueError, TypeError, IndexError):
        return None


def seal_pdf(
    pdf, identity, *, level="B-B", timestamp=None, validation_material=None,
    allow_fetching=False, reason="", location="", contact="", field_name=DEFAULT_FIELD_NAME,
    now=None, strict_level=False,
):
    """Seal ``pdf`` with ``identity`` at ``level`` and return a ``SealResult``.

    :param timestamp: a ``TimestampServer``; required for B-T and above, ignored for B-B
    :param validation_material: ``ValidationMaterial`` or DER blobs (certificates, CRLs, OCSP
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
        ``tsa_certificate_revoked``)
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
    pdf = bytes(pdf)
    moment = _utc(now)
    cert = _load_cert(identity.certificate)
    _check_cert_time(cert, moment)
    if level != "B-B" and timestamp is None:
        raise SealError(f"{level} needs a timestamp server", code="seal_timestamp_required",
                        level=level)
    material = _coerce_material(validation_material)
    sig_field, timestamp_field = _probe_pdf(pdf, field_name)
    tsa = _TsaClient(timestamp) if level != "B-B" else None
    meta_kwargs = {
        "field_name": sig_field,
        "reason": reason or None,
        "location": location or None,
        "contact_info": contact or None,
    }
    context_moment = moment if now is not None else None
    achieved = level
    try:
        context = None
        if level in ("B-LT", "B-LTA"):
            context = _sealing_context(identity, material, allow_fetching, context_moment)
        try:
            output, signed_length, produced = _run(_seal(
                pdf, identity, level, tsa, context, meta_kwargs, timestamp_field, moment))
        except _NoRevocationInfo as exc:
            if strict_level:
                raise SealError(f"no revocation data for {level}: {exc}",
                                code="seal_revocation_unavailable", level=level) from exc
            achieved = "B-T"
            output, signed_length, produced = _run(_seal(
                pdf, identity, "B-T", tsa, None, meta_kwargs, timestamp_field, moment))
    except (SealError, CertificateInvalid):  # TimestampUnavailable is a SealError
        raise
    except Exception as exc:  # noqa: BLE001 - pyHanko raises many types
        if tsa is not None and tsa.failure is not None:
            raise TimestampUnavailable(
                tsa.failure.detail, reason=tsa.failure.reason) from exc
        raise SealError(f"sealing failed: {exc!r}", code="seal_failed") from exc
    if tsa is not None and tsa.failure is not None:  # swallowed somewhere: never go on
        raise TimestampUnavailable(tsa.failure.detail, reason=tsa.failure.reason)
    if not output.startswith(pdf):
        raise SealError("the sealed file does not extend the input", code="seal_failed")
    timestamp_time = _token_time(produced) if achieved != "B-B" else None
    if achieved != "B-B" and timestamp_time is None:
        raise SealError("the seal carries no timestamp", code="seal_failed")
    return SealResult(
        pdf=output,
        level=achieved,
        sha256=_sha256(output),
        timestamp_time=timestamp_time,
        signed_revision_sha256=_sha256(memoryview(output)[:signed_length]),
    )


# --- verification -------------------------------------------------------------------------
def _parse_roots(trust_roots):
    roots = []
    for blob in trust_roots or ():
        try:
            roots.append(asn1_x509.Certificate.load(_der(_load_cert(blob))))
        except (ValueError, TypeError):
            continue  # an unreadable root trusts nothing
    return roots


def _read_dss(handler):
    try:
        dss = DocumentSecurityStore.read_dss(handler)
    except NoDSSFoundError:
        return [], [], [], {}
    certs = list(dss.load_certs())
    crls = [ref.get_object().data for ref in dss.crls]
    ocsps = [ref.get_object().data for ref in dss.ocsps]
    return certs, crls, ocsps, dict(dss.vri_entries or {})


def _revision_end(pdf, reader, revision):
    """Offset just past ``%%EOF`` (and one EOL) that closes ``revision``, or None."""
    info = reader.xrefs.get_xref_container_info(revision)
    position = pdf.find(b"%%EOF", info.end_location)
    if position < 0:
        return None
    end = position + 5
    if pdf[end:end + 2] == b"\r\n":
        end += 2
    elif pdf[end:end + 1] in (b"\n", b"\r"):
        end += 1
    return end


def _prefix_hashes(pdf, ends):
    """SHA-256 of pdf[:end] for each end (ascending), in one pass."""
    digest, position, out = hashlib.sha256(), 0, []
    view = memoryview(pdf)
    for end in sorted(set(ends)):
        digest.update(view[position:end])
        position = end
        out.append(digest.copy().hexdigest())
    return tuple(out)


def _byte_range_end(sig):
    byte_range = [int(x) for x in sig.byte_range]
    return byte_range[2] + byte_range[3]


def _usage_constraints():
    return KeyUsageConstraints(key_usage=set(REQUIRED_KEY_USAGE), match_all_key_usages=True)


def _detect_level(sig, later_dts_ok, dss_vri, dss_changed):
    if sig.attached_timestamp_data is None:
        return "B-B"
    identifier = DocumentSecurityStore.sig_content_identifier(sig.pkcs7_content)
    has_lt = identifier in dss_vri or dss_changed
    if not has_lt:
        return "B-T"
    return "B-LTA" if later_dts_ok else "B-LT"


def _dss_changed_after(reader, revision):
    """True when the DSS gained certificates or revocation data after ``revision``."""
    now_certs, now_crls, now_ocsps, _vri = _read_dss(reader)
    if not (now_certs or now_crls or now_ocsps):
        return False
    try:
        then = _read_dss(reader.get_historical_resolver(revision))
    except Exception:  # noqa: BLE001 - no usable history: judge by the current DSS
        return True
    then_certs = {c.dump() for c in then[0]}
    return (
        any(c.dump() not in then_certs for c in now_certs)
        or bool(set(now_crls) - set(then[1]))
        or bool(set(now_ocsps) - set(then[2]))
    )


def _signer_certificate(sig):
    """The signer's certificate (cryptography), or None when it cannot be read."""
    try:
        return x509.load_der_x509_certificate(sig.signer_cert.dump())
    except Exception:  # noqa: BLE001 - reported by the validation that follows
        return None


def _fingerprint_of(sig):
    cert = _signer_certificate(sig)
    return cert.fingerprint(hashes.SHA256()).hex() if cert is not None else ""


def _issued_prefixes(issued, digests):
    """``{digest: pins or None}`` of the ``digests`` that ``issued`` recognises (a callable
    returning such a mapping, or a collection of digests)."""
    if callable(issued):
        found = issued(tuple(digests)) or {}
        return {digest: found[digest] for digest in digests if digest in found}
    return {digest: None for digest in digests if digest in issued}


def _pick_seal(signatures, ends, issued, pinned):
    """``(seal, pins, issued digest, issued revision)``: the signature to validate, the pins
    it must match (None: no pinning) and the revision prefix we issued (or "" and None)."""
    candidates, pins, digest, revision = signatures, pinned, "", None
    if issued is not None:
        known = _issued_prefixes(issued, [sha for _revision, _end, sha in ends])
        for end_revision, end, sha in reversed(ends):
            if sha in known:
                digest, revision = sha, end_revision
                candidates = [s for s in signatures if _byte_range_end(s) <= end] or signatures
                if known[sha] is not None:
                    pins = tuple(known[sha])
                break
    seal = candidates[-1]
    if pins is not None:
        fingerprints = {pin.fingerprint.lower() for pin in pins}
        ours = [s for s in candidates if _fingerprint_of(s) in fingerprints]
        seal = ours[-1] if ours else seal
    return seal, pins, digest, revision


def _what_changed(reader, signatures, base_revision):
    """The changes after ``base_revision``, for the page; "other" when none is recognised."""
    described = []
    for signature in signatures:
        cert = _signer_certificate(signature)
        described.append((signature.signed_revision,
                          cert.subject.rfc4514_string() if cert is not None else ""))
    try:
        changes = describe_changes(reader, base_revision, signatures=described)
    except Exception:  # noqa: BLE001 - a structure too odd to describe is still a change
        changes = ()
    return changes or (Change("other"),)


async def _verify(pdf, roots, ts_roots, material, allow_fetching, now, pinned, issued):  # noqa: C901 - one flat list of checks, each its own verdict
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        if _is_encrypted(reader):
            return VerifyResult(status="damaged", detail="encrypted PDF")
        reader.root["/Pages"].get_object()  # noqa: B018
    except Exception as exc:  # noqa: BLE001
        return VerifyResult(status="damaged", detail=f"unreadable PDF: {exc!r}")
    try:
        embedded = reader.embedded_signatures
    except Exception as exc:  # noqa: BLE001 - a signature dictionary or CMS that won't parse
        try:
            filled = [v for _n, v, _r in enumerate_sig_fields(reader) if v is not None]
        except Exception:  # noqa: BLE001
            filled = []
        status = "seal_broken" if filled else "damaged"
        return VerifyResult(status=status, signature_count=len(filled),
                            detail=f"unreadable signature: {exc!r}")
    signatures = [s for s in embedded if s.sig_object_type == "/Sig"]
    if not signatures:
        return VerifyResult(status="no_signature", detail=f"{len(embedded)} document timestamps")
    count = len(signatures)

    # hashes of the file as it stood at the end of each revision since the first signature
    total = reader.xrefs.total_revisions
    revision_ends = []  # (revision, end offset)
    for revision in range(signatures[0].signed_revision, total):
        end = _revision_end(pdf, reader, revision)
        if end is not None and 0 < end <= len(pdf):
            revision_ends.append((revision, end))
    last_end = revision_ends[-1][1] if revision_ends else None
    ends = {end for _revision, end in revision_ends}
    ends |= {e for e in (_byte_range_end(s) for s in signatures) if 0 < e <= len(pdf)}
    prefix_sha256 = dict(zip(sorted(ends), _prefix_hashes(pdf, ends)))
    revision_sha256s = tuple(prefix_sha256[e] for e in sorted(ends))

    sig, pins, issued_sha256, issued_revision = _pick_seal(
        signatures, [(r, e, prefix_sha256[e]) for r, e in revision_ends], issued, pinned)
    signed_end = _byte_range_end(sig)
    signer_cert = _signer_certificate(sig)
    base = {
        "signature_count": count,
        "signed_revision_sha256": prefix_sha256.get(signed_end, ""),
        "revision_sha256s": revision_sha256s,
        "issued_sha256": issued_sha256,
    }
    if signer_cert is not None:
        base.update(
            signer_subject=signer_cert.subject.rfc4514_string(),
            signer_issuer=signer_cert.issuer.rfc4514_string(),
            cert_fingerprint=signer_cert.fingerprint(hashes.SHA256()).hex(),
            self_signed=_is_self_signed(signer_cert),
        )

    dss_certs, _dss_crls, _dss_ocsps, dss_vri = _read_dss(reader)
    extra_certs = _asn1_certs(material.certs) + dss_certs
    moment = _utc(now) if now is not None else None

    def context(at=moment, retroactive=False, trusted=roots):
        # DSS revocation data dates from sealing: it serves the long-term validation (at the
        # timestamp's time) only. Stale data in a "now" context would fail where no data
        # passes (soft-fail), so "now" uses the caller's material and fetching only.
        return ValidationContext(
            trust_roots=trusted, other_certs=list(extra_certs), crls=list(material.crls),
            ocsps=list(material.ocsps), allow_fetching=allow_fetching, moment=at,
            retroactive_revinfo=retroactive)

    try:
        status = await async_validate_pdf_signature(
            sig, signer_validation_context=context(),
            ts_validation_context=context(trusted=ts_roots),
            key_usage_settings=_usage_constraints())
    except Exception as exc:  # noqa: BLE001 - broken CMS, unsupported algorithm...
        return VerifyResult(status="seal_broken", detail=f"validation failed: {exc!r}", **base)

    coverage = status.coverage
    mod_level = status.modification_level
    ts_status = status.timestamp_validity
    ts_ok = bool(ts_status is not None and ts_status.intact and ts_status.valid)
    timestamp_trusted = bool(ts_ok and ts_status.trusted)
    timestamp_time = _utc(ts_status.timestamp) if timestamp_trusted else None
    signing_time = status.signer_reported_dt
    result = dict(
        base,
        signing_time=_utc(signing_time) if signing_time else None,
        timestamp_time=timestamp_time,
        timestamp_trusted=timestamp_trusted,
        coverage=coverage.name if coverage is not None else "",
        modification_level=mod_level.name if mod_level is not None else "",
        intact=bool(status.intact),
        valid=bool(status.valid),
    )

    # level: structure, with timestamps that are at least cryptographically sound
    later_dts = [s for s in embedded if s.sig_object_type == "/DocTimeStamp"
                 and s.signed_revision > sig.signed_revision]
    later_dts_ok = False
    for dts in later_dts:
        try:
            dts_status = await async_validate_pdf_timestamp(
                dts, validation_context=context(trusted=ts_roots), skip_diff=True)
            later_dts_ok = later_dts_ok or bool(dts_status.intact and dts_status.valid)
        except Exception:  # noqa: BLE001, S112 - a broken DTS just does not count
            continue
    level = "B-B"
    if ts_ok:
        level = _detect_level(sig, later_dts_ok, dss_vri,
                              _dss_changed_after(reader, sig.signed_revision))
    result["level"] = level

    # trust: now; else long-term (DSS + timestamps); else at the trusted timestamp's time
    trusted = bool(status.trusted)
    if not trusted and status.intact and status.valid and level in ("B-LT", "B-LTA"):
        try:
            ltv_kwargs = {
                "trust_roots": list({r.dump(): r for r in roots + ts_roots}.values()),
                "other_certs": _asn1_certs(material.certs),
                "crls": list(material.crls), "ocsps": list(material.ocsps),
                "allow_fetching": allow_fetching,
            }
            if moment is not None:
                ltv_kwargs["moment"] = moment
            ltv = await async_validate_pdf_ltv_signature(
                sig,
                RevocationInfoValidationType.PADES_LTA if level == "B-LTA"
                else RevocationInfoValidationType.PADES_LT,
                validation_context_kwargs=ltv_kwargs,
                bootstrap_validation_context=context(trusted=ts_roots),
                key_usage_settings=_usage_constraints(), skip_diff=True,
            )
            trusted = bool(ltv.trusted)
        except Exception:  # noqa: BLE001, S110 - not long-term valid: keep the first verdict
            pass
    if not trusted and status.intact and status.valid and timestamp_trusted:
        try:
            at_time = await async_validate_pdf_signature(
                sig, signer_validation_context=context(at=timestamp_time, retroactive=True),
                ts_validation_context=context(trusted=ts_roots),
                key_usage_settings=_usage_constraints(), skip_diff=True)
            trusted = bool(at_time.trusted)
        except Exception:  # noqa: BLE001, S110
            pass
    # pyHanko rebuilds the constraints without match_all_key_usages ("any of"): check here
    key_usage_ok = signer_cert is not None and REQUIRED_KEY_USAGE_NAMES <= set(
        _key_usage_names(signer_cert))
    trusted = trusted and key_usage_ok
    result["trusted"] = trusted

    # ours: the certificate is pinned, and was in use when the seal was made
    seal_time = timestamp_time or result["signing_time"]
    pinned_ok = pins is None or any(pin.covers(base.get("cert_fingerprint"), seal_time)
                                    for pin in pins)
    result["pinned"] = pins is not None and pinned_ok

    # verdict, worst first
    if not (status.intact and status.valid) or coverage is None or coverage.name == "UNCLEAR":
        verdict = "seal_broken"
    elif not pinned_ok:
        verdict = "not_our_seal"
    elif (coverage.name not in ("ENTIRE_FILE", "ENTIRE_REVISION")
          or mod_level is None or mod_level.name not in _ALLOWED_AFTER_SEAL
          or status.docmdp_ok is False):
        verdict = "modified_after_sealing"
        base_revision = sig.signed_revision if issued_revision is None else issued_revision
        result["changes"] = _what_changed(reader, signatures, base_revision)
    elif coverage.name != "ENTIRE_FILE" and (last_end is None or len(pdf) > last_end):
        verdict = "bytes_appended"
    elif not trusted:
        verdict = "untrusted"
    else:
        verdict = "valid"
    return VerifyResult(status=verdict, **result)


def verify_pdf(pdf, *, trust_roots, timestamp_roots=None, pinned=None, issued=None,
               validation_material=None, allow_fetching=False, now=None, max_bytes=None,
               max_pages=None):
    """Verify the seal of ``pdf`` (see the module docstring); never raises on bad input.

    :param trust_roots: DER/PEM certificates trusted as roots of seal certificates (the only
        trust source)
    :param timestamp_roots: roots trusted for timestamps (default: ``trust_roots``)
    :param pinned: the ``SealPin`` of every seal certificate of ours; the seal must match
        one (None: no pinning, any certificate chaining to ``trust_roots`` will do)
    :param issued: which revision prefixes of the file (SHA-256, hex) we issued: a callable
        taking the candidates (a tuple) and returning ``{digest: pins}`` for those it knows
        (pins: the ``SealPin`` of the issuer, or None for ``pinned``), or a collection of
        digests. The seal is then looked for in the longest such prefix
    :param validation_material: extra certificates/CRLs/OCSP responses (DER), as for sealing
    :param allow_fetching: fetch missing revocation data online
    :param now: validation time (default: the current time)
    :param max_bytes: size limit of the intake (default ``pdf_intake.DEFAULT_MAX_BYTES``)
    :param max_pages: page limit of the intake (default ``pdf_intake.DEFAULT_MAX_PAGES``
        plus ``VERIFY_EXTRA_PAGES`` for the certificate of completion)
    :return: a ``VerifyResult`` (``status`` in ``STATUSES``)
    """
    if not isinstance(pdf, (bytes, bytearray, memoryview)) or not len(pdf):
        return VerifyResult(status="damaged", refusal="pdf_empty", detail="no bytes")
    pdf = bytes(pdf)
    try:
        pdf_intake.inspect_pdf(
            pdf, max_bytes=pdf_intake.DEFAULT_MAX_BYTES if max_bytes is None else max_bytes,
            max_pages=pdf_intake.DEFAULT_MAX_PAGES + VERIFY_EXTRA_PAGES if max_pages is None
            else max_pages)
    except PdfInvalid as error:
        return VerifyResult(status="damaged" if error.code in _DAMAGED_CODES else "refused",
                            refusal=error.code, detail=f"intake: {error.detail}")
    except Exception as exc:  # noqa: BLE001 - verification must never raise on input
        return VerifyResult(status="damaged", refusal="pdf_damaged", detail=f"intake: {exc!r}")
    try:
        material = _coerce_material(validation_material)
    except (ValueError, TypeError):
        material = ValidationMaterial()
    roots = _parse_roots(trust_roots)
    ts_roots = roots if timestamp_roots is None else _parse_roots(timestamp_roots)
    pins = None if pinned is None else tuple(pinned)
    try:
        return _run(_verify(pdf, roots, ts_roots, material, allow_fetching, now, pins, issued))
    except Exception as exc:  # noqa: BLE001 - verification must never raise on input
        return VerifyResult(status="damaged", detail=f"verification failed: {exc!r}")
