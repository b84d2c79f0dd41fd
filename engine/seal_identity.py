"""The seal identity: the key and certificate that seal the final documents, and the history
of the certificates that sealed.

A seal identity comes from a PKCS#12 file (``load_seal_identity``, or
``load_seal_identity_cached`` which keeps it per process), uploaded by the company or made
by ``generate_self_signed_pkcs12``. It must be valid now and its KeyUsage must allow
digitalSignature and nonRepudiation (``REQUIRED_KEY_USAGE_NAMES``).

The history (a list of dicts, one per certificate, as the company stores it) records when
each certificate was the one in use (``periods``, UTC text). Verification accepts a seal as
ours only when it was made with one of them within its period (``SealPin``).
"""

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509 as crypto_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from . import x509
from .errors import CertificateInvalid

REQUIRED_KEY_USAGE = frozenset({"digital_signature", "non_repudiation"})  # asn1crypto names
REQUIRED_KEY_USAGE_NAMES = frozenset({"digitalSignature", "nonRepudiation"})  # RFC 5280
SELF_SIGNED_KEY_TYPES = ("rsa2048", "rsa3072", "rsa4096", "ec256", "ec384")
SEAL_PIN_GRACE = timedelta(days=1)  # clock skew around a pin's period of use
# Opening a PKCS#12 runs its key derivation (about 0.14 s): each process keeps the identities
# it opened, keyed by a digest of the file and password, until their certificate expires.
_IDENTITIES = {}
_IDENTITIES_MAX = 32


@dataclass(frozen=True)
class SealIdentity:
    """A seal key and certificate, as returned by ``load_seal_identity``. ``private_key`` is
    unencrypted PKCS#8 DER: keep the object in memory only."""

    certificate: bytes  # DER
    chain: tuple = ()  # DER certificates shipped with it (intermediates, root)
    private_key: bytes = field(default=b"", repr=False)


def check_key_usage(cert):
    """Raise ``CertificateInvalid`` (``cert_key_usage``) unless the KeyUsage of ``cert``
    allows digitalSignature and nonRepudiation."""
    missing = REQUIRED_KEY_USAGE_NAMES - set(x509.key_usage_names(cert))
    if missing:
        raise CertificateInvalid(
            f"key usage lacks {sorted(missing)}",
            code="cert_key_usage",
            missing=",".join(sorted(missing)),
        )


# --- a new self-signed identity ---------------------------------------------------------
def _clip(text, limit=64):
    """Stripped text cut to ``limit`` UTF-8 bytes (the X.520 upper bound cryptography applies)
    without splitting a character."""
    return str(text).strip().encode()[:limit].decode("utf-8", "ignore").strip()


def generate_self_signed_pkcs12(
    common_name,
    organization="",
    country="",
    *,
    password,
    valid_days=3650,
    now=None,
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
    if key_type not in SELF_SIGNED_KEY_TYPES:
        raise ValueError(f"unknown key type {key_type!r}")
    key = x509.new_private_key(key_type)
    attrs = [crypto_x509.NameAttribute(NameOID.COMMON_NAME, _clip(common_name))]
    if organization and str(organization).strip():
        attrs.append(crypto_x509.NameAttribute(NameOID.ORGANIZATION_NAME, _clip(organization)))
    if country:
        country = str(country).strip().upper()
        if len(country) != 2 or not country.isalpha() or not country.isascii():
            raise ValueError(f"country must be a 2-letter code, got {country!r}")
        attrs.append(crypto_x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    name = crypto_x509.Name(attrs)
    moment = x509.utc(now)
    public_key = key.public_key()
    cert = (
        crypto_x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(crypto_x509.random_serial_number())
        .not_valid_before(moment - timedelta(minutes=5))
        .not_valid_after(moment + timedelta(days=valid_days))
        .add_extension(crypto_x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            crypto_x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(crypto_x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            crypto_x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        _clip(common_name).encode(),
        key,
        cert,
        None,
        serialization.BestAvailableEncryption(password),
    )


# --- opening a PKCS#12 --------------------------------------------------------------------
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
            value = (int.from_bytes(block[start : start + v], "big") + b_int + 1) % (1 << (8 * v))
            block[start : start + v] = value.to_bytes(v, "big")


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
        key = _pkcs12_kdf(
            algorithm,
            _bmp_password(password),
            salt,
            iterations,
            3,
            hashlib.new(algorithm).digest_size,
        )
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
            f"unreadable PKCS#12: {last_error}", code="cert_pkcs12_invalid"
        ) from last_error
    raise CertificateInvalid(
        f"cannot decrypt PKCS#12: {last_error}", code="cert_bad_password"
    ) from last_error


def _certificate_of_key(key, cert, extra):
    """The certificate of ``key``: ``cert``, or (some tools do not tie the certificate to the
    key) the one of ``extra`` that matches it."""
    if cert is None and key is not None:
        cert = next((c for c in extra or () if x509.same_public_key(key, c)), None)
    if cert is None:
        raise CertificateInvalid("no certificate in the PKCS#12", code="cert_pkcs12_invalid")
    return cert


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
    cert = _certificate_of_key(key, cert, extra)
    if not isinstance(
        key,
        (
            rsa.RSAPrivateKey,
            ec.EllipticCurvePrivateKey,
            ed25519.Ed25519PrivateKey,
            ed448.Ed448PrivateKey,
        ),
    ):
        raise CertificateInvalid(
            f"unsupported key type {type(key).__name__}", code="cert_pkcs12_invalid"
        )
    if not x509.same_public_key(key, cert):
        raise CertificateInvalid(
            "the private key does not belong to the certificate", code="cert_no_key"
        )
    x509.check_valid_at(cert, x509.utc(now))
    check_key_usage(cert)
    leaf = x509.der(cert)
    chain = []
    for other in extra or ():
        der = x509.der(other)
        if der != leaf and der not in chain:
            chain.append(der)
    return SealIdentity(
        certificate=leaf,
        chain=tuple(chain),
        private_key=key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def load_seal_identity_cached(pkcs12_bytes, password):
    """``load_seal_identity`` (now), kept by this process until the certificate expires.

    :param password: str or bytes, or None for an unprotected file
    """
    secret = password.encode() if isinstance(password, str) else (password or b"")
    key = hashlib.sha256(bytes(pkcs12_bytes) + b"\0" + secret).hexdigest()
    cached = _IDENTITIES.get(key)
    now = time.time()
    if cached and cached[1] > now:
        return cached[0]
    identity = load_seal_identity(pkcs12_bytes, password)
    not_after = describe(identity).not_after.timestamp()
    if len(_IDENTITIES) > _IDENTITIES_MAX:
        _IDENTITIES.clear()
    _IDENTITIES[key] = (identity, not_after)
    return identity


def describe(source, password=None):
    """``x509.CertInfo`` for a ``SealIdentity``, a certificate (DER or PEM bytes) or PKCS#12
    bytes (then ``password`` is needed). Does not judge validity: an expired certificate is
    described like any other.

    :raises CertificateInvalid: ``cert_pkcs12_invalid`` / ``cert_bad_password`` for PKCS#12
    """
    if isinstance(source, SealIdentity):
        return x509.describe_certificate(x509.load_certificate(source.certificate))
    try:
        return x509.describe_certificate(x509.load_certificate(source))
    except (ValueError, TypeError):
        pass
    key, cert, extra = _open_pkcs12(source, password)
    return x509.describe_certificate(_certificate_of_key(key, cert, extra))


# --- the history of the seal certificates -------------------------------------------------
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
        moment = x509.utc(moment)
        return (self.since is None or moment >= x509.utc(self.since) - SEAL_PIN_GRACE) and (
            self.until is None or moment <= x509.utc(self.until) + SEAL_PIN_GRACE
        )


_HISTORY_TIME = "%Y-%m-%d %H:%M:%S"  # UTC, as the caller stores datetimes


def _history_time(value):
    return x509.utc(datetime.strptime(value[:19], _HISTORY_TIME)) if value else None


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
    in_use = [
        entry.get("fingerprint")
        for entry in history or ()
        if (seal_periods(entry) or [[None, "closed"]])[-1][1] is None
    ]
    return in_use == [fingerprint]


def use_seal_certificate(history, fingerprint, now):
    """``history`` (a list of dicts, one per certificate, left unchanged) once
    ``fingerprint`` (which must have an entry) is the seal certificate from ``now`` on: its
    period opens, the open period of any other closes.

    :return: a new list of new dicts, each with its ``periods``
    """
    moment = x509.utc(now).strftime(_HISTORY_TIME)
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
        for entry in history or ()
        if entry.get("fingerprint")
        for since, until in seal_periods(entry)
    )
