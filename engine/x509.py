"""X.509 helpers shared by sealing, verification, timestamps and the company's seal settings.

Certificates travel as bytes (DER, or PEM where said) and their SHA-256 fingerprint is
lower-case hex of the DER encoding. The helpers load and convert them, name them (RFC 4514
and a short label), tell self-signed ones, pick what to trust for a chain, and sort the
validation material (certificates, CRLs, OCSP responses) that long-term seals embed.
Nothing here judges a document or talks to the network.
"""

from dataclasses import dataclass
from datetime import datetime, timezone

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .errors import CertificateInvalid

KEY_USAGE_NAMES = (  # cryptography attribute -> RFC 5280 name
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "nonRepudiation"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)


def utc(moment=None):
    """``moment`` as an aware UTC datetime (a naive one is taken as UTC); now when None."""
    if moment is None:
        return datetime.now(timezone.utc)
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


# --- loading and encodings ----------------------------------------------------------------
def load_certificate(data):
    """A cryptography certificate from DER or PEM bytes (ValueError otherwise)."""
    data = bytes(data)
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def der(cert):
    """The DER bytes of a cryptography certificate."""
    return cert.public_bytes(serialization.Encoding.DER)


def pem_from_der(der_bytes):
    """The PEM text of a DER certificate."""
    return (
        x509.load_der_x509_certificate(der_bytes).public_bytes(serialization.Encoding.PEM).decode()
    )


def der_from_pem(pem):
    """The DER bytes of a PEM certificate (text)."""
    return der(x509.load_pem_x509_certificate(pem.encode()))


def fingerprint(cert):
    """SHA-256 fingerprint (lower-case hex) of a cryptography certificate or DER bytes."""
    if isinstance(cert, (bytes, bytearray, memoryview)):
        cert = x509.load_der_x509_certificate(bytes(cert))
    return cert.fingerprint(hashes.SHA256()).hex()


def asn1_certificates(blobs):
    """asn1crypto certificates of ``blobs`` (DER or PEM); an unreadable one is left out (it
    trusts or proves nothing)."""
    out = []
    for blob in blobs or ():
        try:
            out.append(asn1_x509.Certificate.load(der(load_certificate(blob))))
        except (ValueError, TypeError):
            continue
    return out


# --- what a certificate says --------------------------------------------------------------
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


def is_self_issued(cert):
    """Subject and issuer are the same name (the signature is not checked)."""
    return cert.subject == cert.issuer


def is_self_signed(cert):
    """Self-issued, and its signature verifies with its own key."""
    if not is_self_issued(cert):
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:  # noqa: BLE001 - any failure means "not self-signed"
        return False
    return True


def key_usage_names(cert):
    """The RFC 5280 names of the KeyUsage bits of ``cert`` (empty without the extension)."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return ()
    names = [name for attr, name in KEY_USAGE_NAMES if getattr(usage, attr)]
    if usage.key_agreement:
        if usage.encipher_only:
            names.append("encipherOnly")
        if usage.decipher_only:
            names.append("decipherOnly")
    return tuple(names)


def describe_certificate(cert):
    """``CertInfo`` of a cryptography certificate (validity is described, not judged)."""
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "X"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        self_signed=is_self_signed(cert),
        sha256_fingerprint=fingerprint(cert),
        key_usage=key_usage_names(cert),
    )


def check_valid_at(cert, moment):
    """Raise ``CertificateInvalid`` (``cert_not_yet_valid``, ``cert_expired``) unless
    ``cert`` is valid at ``moment`` (aware)."""
    if moment < cert.not_valid_before_utc:
        raise CertificateInvalid(
            "certificate not valid yet",
            code="cert_not_yet_valid",
            not_before=cert.not_valid_before_utc.isoformat(),
        )
    if moment > cert.not_valid_after_utc:
        raise CertificateInvalid(
            "certificate expired",
            code="cert_expired",
            not_after=cert.not_valid_after_utc.isoformat(),
        )


def dn_label(rfc4514):
    """ "Common name (organisation)" of an RFC 4514 name, or the name itself."""
    try:
        name = x509.Name.from_rfc4514_string(rfc4514 or "")
    except ValueError:
        return rfc4514 or ""
    common = [a.value for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)]
    organisation = [a.value for a in name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if common and organisation and organisation[0] not in common[0]:
        return f"{common[0]} ({organisation[0]})"
    return (common or organisation or [rfc4514])[0]


# --- keys ---------------------------------------------------------------------------------
def new_private_key(key_type):
    """A fresh private key: ``ec256``, ``ec384`` or ``rsa<bits>`` (``rsa3072``...).

    :raises ValueError: unknown key type
    """
    if key_type == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type.startswith("rsa") and key_type[3:].isdigit():
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
    raise ValueError(f"unknown key type {key_type!r}")


def same_public_key(key, cert):
    """Whether the private ``key`` belongs to the certificate ``cert``."""
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(*fmt) == cert.public_key().public_bytes(*fmt)


# --- chains -------------------------------------------------------------------------------
def chain_anchors(leaf_der, chain_ders):
    """The certificates (DER) to trust for a leaf certificate: the self-issued ones of its
    chain, else the top of the chain given, else (no chain) the leaf itself."""
    certs = [x509.load_der_x509_certificate(item) for item in chain_ders]
    roots = [cert for cert in certs if is_self_issued(cert)]
    if not roots:
        subjects = {cert.subject for cert in certs}
        if x509.load_der_x509_certificate(leaf_der).issuer in subjects:
            roots = [cert for cert in certs if cert.issuer not in subjects]
    return [der(cert) for cert in roots] or [leaf_der]


def chain_tops(ders):
    """The tops (PEM) of the chain ``ders`` (DER certificates, in any order): the self-issued
    ones and those whose issuer is not in the list."""
    certs = [x509.load_der_x509_certificate(item) for item in ders]
    subjects = {cert.subject for cert in certs}
    tops = [cert for cert in certs if is_self_issued(cert) or cert.issuer not in subjects]
    return [cert.public_bytes(serialization.Encoding.PEM).decode() for cert in tops]


# --- validation material ------------------------------------------------------------------
@dataclass(frozen=True)
class ValidationMaterial:
    """Extra validation data, all DER: certificates (intermediates, roots), CRLs, OCSP
    responses. Sealing and verification also accept a flat sequence of DER blobs and sort
    them out themselves (``coerce_material``)."""

    certs: tuple = ()
    crls: tuple = ()
    ocsps: tuple = ()


def classify_der(blob):
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


def coerce_material(material):
    """A ``ValidationMaterial`` from one, from DER blobs, or from None.

    :raises ValueError: a blob that is no certificate, CRL or OCSP response
    """
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
        sorted_out[classify_der(blob)].append(bytes(blob))
    return ValidationMaterial(
        certs=tuple(sorted_out["cert"]),
        crls=tuple(sorted_out["crl"]),
        ocsps=tuple(sorted_out["ocsp"]),
    )
