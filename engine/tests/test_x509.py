"""X.509 helpers (engine.x509): encodings, fingerprints, names, self-signed certificates,
what to trust for a chain, and the validation material, with a PKI built at test time."""

import hashlib
from datetime import timedelta

import pytest
from cryptography import x509 as crypto_x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from engine import x509
from engine.errors import CertificateInvalid
from engine.testing import pki


@pytest.fixture(scope="module")
def ca():
    return pki.Pki(label="x509 test")


def test_der_and_pem_round_trip_with_one_fingerprint(ca):
    pem = x509.pem_from_der(ca.leaf.cert_der)
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    assert x509.der_from_pem(pem) == ca.leaf.cert_der
    assert x509.der(x509.load_certificate(pem.encode())) == ca.leaf.cert_der
    assert x509.der(x509.load_certificate(ca.leaf.cert_der)) == ca.leaf.cert_der
    fingerprint = hashlib.sha256(ca.leaf.cert_der).hexdigest()
    assert x509.fingerprint(ca.leaf.cert_der) == fingerprint
    assert x509.fingerprint(ca.leaf.cert) == fingerprint
    with pytest.raises(ValueError):
        x509.load_certificate(b"not a certificate")


def test_unreadable_certificates_are_left_out(ca):
    certs = x509.asn1_certificates(
        [b"junk", ca.root.cert_der, x509.pem_from_der(ca.leaf.cert_der).encode()]
    )
    assert [c.dump() for c in certs] == [ca.root.cert_der, ca.leaf.cert_der]
    assert x509.asn1_certificates(None) == []


@pytest.mark.parametrize(
    "name,label",
    [
        ("CN=ACME Seal,O=ACME Corp,C=FR", "ACME Seal (ACME Corp)"),
        ("CN=ACME Document Seal,O=ACME", "ACME Document Seal"),  # the organisation is in the name
        ("O=ACME Corp,C=FR", "ACME Corp"),
        ("C=FR", "C=FR"),
        ("not = a name ,,", "not = a name ,,"),
        ("", ""),
    ],
)
def test_dn_label(name, label):
    assert x509.dn_label(name) == label


def test_describe_and_self_signed(ca):
    info = x509.describe_certificate(ca.leaf.cert)
    assert not info.self_signed and info.key_usage == ("digitalSignature", "nonRepudiation")
    assert info.serial == format(ca.leaf.serial, "X")
    assert x509.is_self_signed(ca.root.cert) and x509.is_self_issued(ca.root.cert)
    # the same name as subject and issuer, signed by another key: self-issued, not self-signed
    key, other = x509.new_private_key("ec256"), x509.new_private_key("ec256")
    name = crypto_x509.Name([crypto_x509.NameAttribute(NameOID.COMMON_NAME, "Mirror")])
    mirror = (
        crypto_x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(ca.now - timedelta(days=1))
        .not_valid_after(ca.now + timedelta(days=1))
        .sign(other, hashes.SHA256())
    )
    assert x509.is_self_issued(mirror) and not x509.is_self_signed(mirror)
    assert x509.same_public_key(key, mirror) and not x509.same_public_key(other, mirror)


def test_validity_is_checked_at_the_moment_given(ca):
    cert = ca.leaf.cert
    x509.check_valid_at(cert, ca.now)
    with pytest.raises(CertificateInvalid) as err:
        x509.check_valid_at(cert, cert.not_valid_after_utc + timedelta(seconds=1))
    assert err.value.code == "cert_expired"
    with pytest.raises(CertificateInvalid) as err:
        x509.check_valid_at(cert, cert.not_valid_before_utc - timedelta(seconds=1))
    assert err.value.code == "cert_not_yet_valid"


def test_what_to_trust_for_a_chain(ca):
    leaf, intermediate, root = ca.leaf.cert_der, ca.intermediate.cert_der, ca.root.cert_der
    assert x509.chain_anchors(leaf, [intermediate, root]) == [root]
    assert x509.chain_anchors(leaf, [intermediate]) == [intermediate]  # the top given
    assert x509.chain_anchors(leaf, []) == [leaf]
    foreign_root = pki.Pki(label="x509 test, elsewhere").root.cert_der
    assert x509.chain_anchors(leaf, [intermediate, foreign_root]) == [foreign_root]
    tops = x509.chain_tops([ca.tsa.cert_der, intermediate])
    assert tops == [x509.pem_from_der(intermediate)]
    assert x509.chain_tops([ca.tsa.cert_der, intermediate, root]) == [x509.pem_from_der(root)]


def test_validation_material_is_sorted_out(ca):
    material = ca.validation_material()
    flat = [*material.ocsps, *material.certs, *material.crls]
    sorted_out = x509.coerce_material(flat)
    assert sorted_out == material
    assert x509.coerce_material(None) == x509.ValidationMaterial()
    assert x509.coerce_material(material.certs[0]).certs == (material.certs[0],)
    with pytest.raises(ValueError):
        x509.coerce_material([b"junk"])
