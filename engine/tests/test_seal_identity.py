"""The seal identity (engine.seal_identity): PKCS#12 files opened and checked, the
self-signed identity a company gets by default, and the history of the seal certificates,
with a PKI built at test time (validity relative to now: no fixed-date fixtures)."""

import hashlib
from datetime import datetime, timedelta, timezone

import pymupdf
import pytest

from engine import pades, pades_verify, seal_identity
from engine.errors import CertificateInvalid
from engine.testing import pki

PASSWORD = b"correct horse"


@pytest.fixture(scope="module")
def ca():
    return pki.Pki()


@pytest.fixture(scope="module")
def identity(ca):
    return seal_identity.load_seal_identity(ca.pkcs12(ca.leaf, PASSWORD), PASSWORD)


@pytest.fixture(scope="module")
def pdf():
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Hello world")
    data = doc.tobytes()
    doc.close()
    return data


# --- opening and checking a seal identity ------------------------------------------
def test_self_signed_identity_round_trip(pdf):
    p12 = seal_identity.generate_self_signed_pkcs12(
        "ACME Seal", "ACME", "fr", password=b"pw", key_type="ec256"
    )
    identity = seal_identity.load_seal_identity(p12, b"pw")
    info = seal_identity.describe(identity)
    assert info.self_signed
    assert info.key_usage == ("digitalSignature", "nonRepudiation")
    assert "CN=ACME Seal" in info.subject and "O=ACME" in info.subject and "C=FR" in info.subject
    assert info.subject == info.issuer
    assert info.not_after - info.not_before > timedelta(days=3649)
    assert info.sha256_fingerprint == hashlib.sha256(identity.certificate).hexdigest()
    assert seal_identity.describe(p12, b"pw") == info
    assert seal_identity.describe(identity.certificate) == info
    from cryptography import x509 as crypto_x509

    cert = crypto_x509.load_der_x509_certificate(identity.certificate)
    assert cert.extensions.get_extension_for_class(crypto_x509.KeyUsage).critical
    assert "private_key" not in repr(identity)

    sealed = pades.seal_pdf(pdf, identity)
    ok = pades_verify.verify_pdf(sealed.pdf, trust_roots=[identity.certificate])
    assert ok.status == "valid" and ok.trusted and ok.level == "B-B", ok
    assert ok.self_signed and ok.cert_fingerprint == info.sha256_fingerprint
    other = pades_verify.verify_pdf(sealed.pdf, trust_roots=[pki.Pki().root.cert_der])
    assert other.status == "untrusted" and other.intact and not other.trusted


def test_default_self_signed_key_is_rsa3072():
    p12 = seal_identity.generate_self_signed_pkcs12("Default", password=b"pw", valid_days=30)
    identity = seal_identity.load_seal_identity(p12, b"pw")
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    assert load_der_private_key(identity.private_key, None).key_size == 3072
    info = seal_identity.describe(identity)
    assert info.not_after - info.not_before < timedelta(days=31)


def test_unicode_names_and_password():
    name = "Société Générale d'Électricité — Siège social Paris Île-de-France et Outre-mer"
    p12 = seal_identity.generate_self_signed_pkcs12(
        name, "Ünïcode", "de", password="pässwörd", key_type="ec256"
    )
    info = seal_identity.describe(seal_identity.load_seal_identity(p12, "pässwörd".encode()))
    assert "CN=Société Générale" in info.subject and "C=DE" in info.subject
    with pytest.raises(CertificateInvalid) as err:
        seal_identity.load_seal_identity(p12, "passwörd")
    assert err.value.code == "cert_bad_password"


def test_generate_refuses_bad_arguments():
    with pytest.raises(ValueError):
        seal_identity.generate_self_signed_pkcs12("", password=b"pw")
    with pytest.raises(ValueError):
        seal_identity.generate_self_signed_pkcs12("x", password=b"")
    with pytest.raises(ValueError):
        seal_identity.generate_self_signed_pkcs12("x", country="France", password=b"pw")


def test_identity_keeps_chain(ca, identity):
    assert identity.certificate == ca.leaf.cert_der
    assert set(identity.chain) == {ca.intermediate.cert_der, ca.root.cert_der}
    info = seal_identity.describe(identity)
    assert not info.self_signed
    assert info.serial == format(ca.leaf.serial, "X")


def test_wrong_password(ca):
    with pytest.raises(CertificateInvalid) as err:
        seal_identity.load_seal_identity(ca.pkcs12(ca.leaf, PASSWORD), b"wrong")
    assert err.value.code == "cert_bad_password"
    with pytest.raises(CertificateInvalid) as err:
        seal_identity.load_seal_identity(ca.pkcs12(ca.leaf, PASSWORD), None)
    assert err.value.code == "cert_bad_password"
    with pytest.raises(CertificateInvalid) as err:
        seal_identity.describe(ca.pkcs12(ca.leaf, PASSWORD), b"wrong")
    assert err.value.code == "cert_bad_password"


def test_unprotected_pkcs12_loads_without_password(ca):
    identity = seal_identity.load_seal_identity(ca.pkcs12(ca.leaf, None), None)
    assert identity.certificate == ca.leaf.cert_der


@pytest.mark.parametrize("blob", [b"", b"not a pkcs12", b"\x30\x03\x02\x01\x03", b"%PDF-1.7\n"])
def test_not_pkcs12(blob):
    with pytest.raises(CertificateInvalid) as err:
        seal_identity.load_seal_identity(blob, b"pw")
    assert err.value.code == "cert_pkcs12_invalid"


def test_pkcs12_without_key(ca):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    blob = pkcs12.serialize_key_and_certificates(
        b"no key",
        None,
        ca.leaf.cert,
        [ca.intermediate.cert],
        serialization.BestAvailableEncryption(PASSWORD),
    )
    with pytest.raises(CertificateInvalid) as err:
        seal_identity.load_seal_identity(blob, PASSWORD)
    assert err.value.code == "cert_no_key"


def test_pkcs12_with_foreign_key(ca):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    blob = pkcs12.serialize_key_and_certificates(  # a key, and only someone else's cert
        b"mismatch",
        ca.tsa.key,
        None,
        [ca.leaf.cert],
        serialization.BestAvailableEncryption(PASSWORD),
    )
    with pytest.raises(CertificateInvalid) as err:
        seal_identity.load_seal_identity(blob, PASSWORD)
    assert err.value.code == "cert_pkcs12_invalid"
    # a key stored apart from its own certificate is found
    blob = pkcs12.serialize_key_and_certificates(
        b"apart",
        ca.leaf.key,
        None,
        [ca.intermediate.cert, ca.leaf.cert],
        serialization.BestAvailableEncryption(PASSWORD),
    )
    assert seal_identity.load_seal_identity(blob, PASSWORD).certificate == ca.leaf.cert_der


def test_expired_and_not_yet_valid(ca, identity, pdf):
    now = datetime.now(timezone.utc)
    expired = ca.issue(
        "Expired",
        issuer=ca.intermediate,
        not_before=now - timedelta(days=400),
        not_after=now - timedelta(days=1),
    )
    with pytest.raises(CertificateInvalid) as err:
        seal_identity.load_seal_identity(ca.pkcs12(expired, PASSWORD), PASSWORD)
    assert err.value.code == "cert_expired"
    future = ca.issue(
        "Future",
        issuer=ca.intermediate,
        not_before=now + timedelta(days=2),
        not_after=now + timedelta(days=400),
    )
    with pytest.raises(CertificateInvalid) as err:
        seal_identity.load_seal_identity(ca.pkcs12(future, PASSWORD), PASSWORD)
    assert err.value.code == "cert_not_yet_valid"
    # ... and the clock is injectable: the same file is fine three days later
    later = seal_identity.load_seal_identity(
        ca.pkcs12(future, PASSWORD), PASSWORD, now=now + timedelta(days=3)
    )
    assert later.certificate == future.cert_der
    # sealing re-checks validity at its own `now`
    with pytest.raises(CertificateInvalid) as err:
        pades.seal_pdf(pdf, identity, now=now + timedelta(days=5 * 365))
    assert err.value.code == "cert_expired"
    # describe() does not judge
    assert seal_identity.describe(expired.cert_der).not_after < now


@pytest.mark.parametrize("usage", [("digital_signature",), ("content_commitment",), ()])
def test_key_usage_must_have_both_bits(ca, usage):
    leaf = ca.issue("Weak usage", issuer=ca.intermediate, key_usage=usage)
    with pytest.raises(CertificateInvalid) as err:
        seal_identity.load_seal_identity(ca.pkcs12(leaf, PASSWORD), PASSWORD)
    assert err.value.code == "cert_key_usage"


# --- the history of our seal certificates -------------------------------------------------
def test_seal_history_records_each_period_of_use():
    utc = timezone.utc
    first_use, rotated, back = (
        datetime(2025, 3, 1, 9, 0, tzinfo=utc),
        datetime(2025, 6, 1, 12, 30, tzinfo=utc),
        datetime(2025, 9, 1, 8, 0, tzinfo=utc),
    )
    # an entry written before periods existed is in use since it was added
    history = [{"fingerprint": "a" * 64, "added": "2025-03-01 09:00:00"}]
    assert seal_identity.is_current_seal(history, "a" * 64)
    assert seal_identity.seal_pins(history) == (seal_identity.SealPin("a" * 64, since=first_use),)
    # a new certificate takes over: the old one's period closes, the new one's opens
    history.append({"fingerprint": "b" * 64, "added": "2025-06-01 12:30:00"})
    assert not seal_identity.is_current_seal(history, "b" * 64)
    rotated_history = seal_identity.use_seal_certificate(history, "b" * 64, rotated)
    assert "periods" not in history[0], "the input is left unchanged"
    assert rotated_history[0]["periods"] == [["2025-03-01 09:00:00", "2025-06-01 12:30:00"]]
    assert rotated_history[1]["periods"] == [["2025-06-01 12:30:00", None]]
    assert seal_identity.is_current_seal(rotated_history, "b" * 64)
    assert not seal_identity.is_current_seal(rotated_history, "a" * 64)
    # going back to the first one opens a second period for it
    final = seal_identity.use_seal_certificate(rotated_history, "a" * 64, back)
    assert seal_identity.use_seal_certificate(final, "a" * 64, back) == final  # already in use
    assert seal_identity.seal_pins(final) == (
        seal_identity.SealPin("a" * 64, since=first_use, until=rotated),
        seal_identity.SealPin("a" * 64, since=back),
        seal_identity.SealPin("b" * 64, since=rotated, until=back),
    )
    in_between = rotated + timedelta(days=30)
    assert not any(pin.covers("a" * 64, in_between) for pin in seal_identity.seal_pins(final))
    assert any(pin.covers("b" * 64, in_between) for pin in seal_identity.seal_pins(final))
