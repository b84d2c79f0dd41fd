"""PAdES sealing (engine.pades), seal identities (engine.seal_identity), the timestamp client
(engine.timestamp) and verification (engine.pades_verify), with a PKI and a TSA
built at test time (validity relative to now: no fixed-date fixtures)."""

import asyncio
import hashlib
import io
from datetime import datetime, timedelta, timezone

import pymupdf
import pytest
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, NameObject, StreamObject

from engine import pades, pades_verify, seal_identity, timestamp, x509
from engine.errors import CertificateInvalid, SealError, TimestampUnavailable, UnsafeUrl
from engine.testing import pki

PASSWORD = b"correct horse"


def make_pdf(text="Hello world", pages=1):
    doc = pymupdf.open()
    for n in range(pages):
        doc.new_page().insert_text((72, 72), f"{text} {n}" if n else text)
    data = doc.tobytes()
    doc.close()
    return data


@pytest.fixture(scope="module")
def ca():
    return pki.Pki()


@pytest.fixture(scope="module")
def identity(ca):
    return seal_identity.load_seal_identity(ca.pkcs12(ca.leaf, PASSWORD), PASSWORD)


@pytest.fixture(scope="module")
def material(ca):
    return ca.validation_material()


@pytest.fixture
def tsa(ca):
    with ca.timestamp_server() as server:
        yield server


@pytest.fixture(scope="module")
def pdf():
    return make_pdf()


def verify(data, ca, **kwargs):
    kwargs.setdefault("trust_roots", ca.trust_roots)
    return pades_verify.verify_pdf(data, **kwargs)


def assert_valid(result, level):
    assert result.status == "valid", result
    assert result.intact and result.valid and result.trusted
    assert result.level == level
    assert result.signature_count == 1


def test_seal_without_non_repudiation_is_not_trusted(ca, pdf):
    leaf = ca.issue("No nonRepudiation", issuer=ca.intermediate, key_usage=("digital_signature",))
    forced = seal_identity.SealIdentity(  # bypassing load_seal_identity on purpose
        certificate=leaf.cert_der,
        chain=(ca.intermediate.cert_der, ca.root.cert_der),
        private_key=leaf.key_der,
    )
    sealed = pades.seal_pdf(pdf, forced)
    result = verify(sealed.pdf, ca)
    assert result.status == "untrusted"
    assert result.intact and result.valid and not result.trusted
    assert result.coverage == "ENTIRE_FILE"


# --- sealing levels -------------------------------------------------------------------
def test_b_b_seal_is_incremental_and_valid(ca, identity, pdf):
    sealed = pades.seal_pdf(
        pdf, identity, reason="Signed", location="Paris", contact="seal@example.com"
    )
    assert sealed.level == "B-B" and sealed.timestamp_time is None
    assert sealed.pdf.startswith(pdf) and len(sealed.pdf) > len(pdf)
    assert sealed.sha256 == hashlib.sha256(sealed.pdf).hexdigest()
    assert sealed.signed_revision_sha256 == sealed.sha256
    assert b"/ETSI.CAdES.detached" in sealed.pdf[len(pdf) :]
    result = verify(sealed.pdf, ca)
    assert_valid(result, "B-B")
    assert result.coverage == "ENTIRE_FILE" and result.modification_level == "NONE"
    assert result.signed_revision_sha256 == sealed.sha256
    assert result.revision_sha256s[-1] == sealed.sha256
    assert result.timestamp_time is None and not result.timestamp_trusted
    assert "CN=digital_sign test Seal" in result.signer_subject
    assert "Intermediate" in result.signer_issuer
    assert not result.self_signed


def test_b_t_seal_uses_tsa_time(ca, identity, pdf, tsa):
    tsa_time = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=7)
    tsa.clock = lambda: tsa_time
    sealed = pades.seal_pdf(pdf, identity, level="B-T", timestamp=tsa.server())
    assert sealed.level == "B-T"
    assert sealed.timestamp_time == tsa_time  # the TSA's time, never the local clock
    assert sealed.pdf.startswith(pdf)
    assert tsa.tokens_issued == 1  # no extra "dummy" request for B-T
    result = verify(sealed.pdf, ca)
    assert_valid(result, "B-T")
    assert result.coverage == "ENTIRE_FILE" and result.modification_level == "NONE"
    assert result.timestamp_trusted and result.timestamp_time == tsa_time


def test_injected_signing_time(ca, identity, pdf):
    when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=30)
    sealed = pades.seal_pdf(pdf, identity, now=when)
    result = verify(sealed.pdf, ca, now=when + timedelta(minutes=1))
    assert_valid(result, "B-B")
    assert result.signing_time == when


def test_b_t_with_basic_auth(ca, identity, pdf):
    with ca.timestamp_server(username="user", password="s3cret") as tsa:
        sealed = pades.seal_pdf(pdf, identity, level="B-T", timestamp=tsa.server())
        assert sealed.level == "B-T"
        assert tsa.last_headers["Authorization"].startswith("Basic ")
        with pytest.raises(TimestampUnavailable) as err:
            pades.seal_pdf(pdf, identity, level="B-T", timestamp=tsa.server(with_credentials=False))
        assert err.value.params["reason"] == "http_401"


def test_b_lt_validates_offline(ca, identity, pdf, tsa, material):
    sealed = pades.seal_pdf(
        pdf,
        identity,
        level="B-LT",
        timestamp=tsa.server(),
        validation_material=material,
        allow_fetching=False,
    )
    assert sealed.level == "B-LT"
    assert sealed.pdf.startswith(pdf)
    assert sealed.signed_revision_sha256 != sealed.sha256  # a DSS revision follows
    assert b"/DSS" in sealed.pdf[len(pdf) :]
    result = verify(sealed.pdf, ca, allow_fetching=False)
    assert_valid(result, "B-LT")
    assert result.coverage == "ENTIRE_REVISION" and result.modification_level == "LTA_UPDATES"
    assert result.signed_revision_sha256 == sealed.signed_revision_sha256
    assert sealed.sha256 in result.revision_sha256s
    assert result.timestamp_trusted


def test_b_lt_material_as_flat_der_list(ca, identity, pdf, tsa, material):
    flat = [*material.ocsps, *material.certs, *material.crls]
    sealed = pades.seal_pdf(
        pdf, identity, level="B-LT", timestamp=tsa.server(), validation_material=flat
    )
    assert sealed.level == "B-LT"
    assert_valid(verify(sealed.pdf, ca, validation_material=flat), "B-LT")


def test_b_lta_validates_offline(ca, identity, pdf, tsa, material):
    sealed = pades.seal_pdf(
        pdf, identity, level="B-LTA", timestamp=tsa.server(), validation_material=material
    )
    assert sealed.level == "B-LTA"
    assert sealed.pdf.startswith(pdf)
    assert b"/DocTimeStamp" in sealed.pdf and b"/ETSI.RFC3161" in sealed.pdf
    result = verify(sealed.pdf, ca)
    assert_valid(result, "B-LTA")
    assert result.modification_level == "LTA_UPDATES"
    assert result.revision_sha256s[-1] == sealed.sha256


def test_long_term_levels_survive_expiry(ca, identity, pdf, tsa, material):
    """Three years on (the seal certificate lasts two), offline: B-B is no longer trusted,
    B-T is trusted as of its timestamp, B-LT/B-LTA through their embedded validation data;
    fresh revocation data from the caller works too."""
    later = datetime.now(timezone.utc) + timedelta(days=3 * 365)
    fresh = x509.ValidationMaterial(
        crls=(
            ca.crl(ca.root, this_update=later - timedelta(hours=1)),
            ca.crl(ca.intermediate, this_update=later - timedelta(hours=1)),
        )
    )
    sealed_bb = pades.seal_pdf(pdf, identity)
    assert verify(sealed_bb.pdf, ca, now=later).status == "untrusted"
    for level in ("B-T", "B-LT", "B-LTA"):
        sealed = pades.seal_pdf(
            pdf, identity, level=level, timestamp=tsa.server(), validation_material=material
        )
        for extra in (None, fresh):
            result = verify(sealed.pdf, ca, now=later, validation_material=extra)
            assert result.status == "valid", (level, result)
            assert result.level == level and result.timestamp_trusted


def test_revoked_seal_certificate(ca, identity, pdf, tsa, material):
    crl = ca.crl(ca.intermediate, revoked=[ca.leaf])
    sealed = pades.seal_pdf(pdf, identity)
    result = verify(sealed.pdf, ca, validation_material=[crl])
    assert result.status == "untrusted" and result.intact
    with pytest.raises(CertificateInvalid) as err:
        pades.seal_pdf(
            pdf,
            identity,
            level="B-LT",
            timestamp=tsa.server(),
            validation_material=x509.ValidationMaterial(
                certs=material.certs, crls=(material.crls[0], crl)
            ),
        )
    assert err.value.code == "cert_revoked"


def test_b_lt_without_revocation_data_falls_back_to_b_t(ca, identity, pdf, tsa):
    sealed = pades.seal_pdf(pdf, identity, level="B-LT", timestamp=tsa.server())
    assert sealed.level == "B-T"
    assert b"/DSS" not in sealed.pdf[len(pdf) :]
    assert_valid(verify(sealed.pdf, ca), "B-T")
    sealed = pades.seal_pdf(pdf, identity, level="B-LTA", timestamp=tsa.server())
    assert sealed.level == "B-T"
    with pytest.raises(SealError) as err:
        pades.seal_pdf(pdf, identity, level="B-LT", timestamp=tsa.server(), strict_level=True)
    assert err.value.code == "seal_revocation_unavailable"
    assert not err.value.retryable


@pytest.mark.parametrize(
    "keep",
    [
        {"crls": slice(0, 1), "ocsps": slice(0, 0)},  # nothing for the seal certificate
        {"crls": slice(0, 1), "ocsps": slice(0, 1)},  # the seal is covered, the TSA is not
        {"crls": slice(1, 2), "ocsps": slice(0, 2)},  # nothing for the intermediate CA
    ],
)
def test_b_lt_needs_revocation_data_for_both_chains(ca, identity, pdf, tsa, material, keep):
    partial = x509.ValidationMaterial(
        certs=material.certs, crls=material.crls[keep["crls"]], ocsps=material.ocsps[keep["ocsps"]]
    )
    sealed = pades.seal_pdf(
        pdf, identity, level="B-LT", timestamp=tsa.server(), validation_material=partial
    )
    assert sealed.level == "B-T"
    assert_valid(verify(sealed.pdf, ca), "B-T")


def test_self_signed_identity_reaches_b_lt(ca, pdf, tsa, material):
    p12 = seal_identity.generate_self_signed_pkcs12(
        "Company seal", "ACME", password=b"pw", key_type="ec256"
    )
    identity = seal_identity.load_seal_identity(p12, b"pw")
    sealed = pades.seal_pdf(
        pdf, identity, level="B-LT", timestamp=tsa.server(), validation_material=material
    )
    assert sealed.level == "B-LT"  # the only revocation data needed is the TSA's
    result = pades_verify.verify_pdf(
        sealed.pdf, trust_roots=[identity.certificate, ca.root.cert_der]
    )
    assert_valid(result, "B-LT")
    assert result.self_signed


@pytest.mark.parametrize("key_type", ["rsa2048", "ec256"])
def test_the_private_key_is_loaded_once_per_process(monkeypatch, pdf, key_type):
    """Loading (and checking) an RSA-3072 key takes about 0.3 s: a worker that seals one
    document after another loads its seal key once, and every seal still verifies."""
    p12 = seal_identity.generate_self_signed_pkcs12(
        "Company seal", "ACME", password=b"pw", key_type=key_type
    )
    identity = seal_identity.load_seal_identity(p12, b"pw")
    loads = []
    real_load = pades.serialization.load_der_private_key

    def counting_load(*args, **kwargs):
        loads.append(1)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(pades.serialization, "load_der_private_key", counting_load)
    monkeypatch.setattr(pades, "_LOADED_KEYS", {})
    sealed = [pades.seal_pdf(pdf, identity) for _ in range(3)]
    assert len(loads) == 1
    for result in sealed:
        assert_valid(pades_verify.verify_pdf(result.pdf, trust_roots=[identity.certificate]), "B-B")


def test_level_needs_timestamp_server(identity, pdf):
    with pytest.raises(SealError) as err:
        pades.seal_pdf(pdf, identity, level="B-T")
    assert err.value.code == "seal_timestamp_required"
    with pytest.raises(ValueError):
        pades.seal_pdf(pdf, identity, level="B-X")
    with pytest.raises(ValueError):
        pades.seal_pdf(pdf, identity, field_name="a.b")


def test_seal_from_inside_an_event_loop(ca, identity, pdf):
    async def main():
        return pades.seal_pdf(pdf, identity), verify(pades.seal_pdf(pdf, identity).pdf, ca)

    sealed, result = asyncio.run(main())
    assert sealed.level == "B-B" and result.status == "valid"


# --- timestamp server failures ----------------------------------------------------------
@pytest.mark.parametrize(
    "mode,reason",
    [
        ("unavailable", "http_503"),
        ("garbage", "bad_response"),
        ("reject", "rejected"),
        ("wrong_imprint", "bad_response"),
        ("wrong_content_type", "bad_response"),
    ],
)
def test_tsa_failures_raise_then_recover(identity, pdf, tsa, mode, reason):
    tsa.set_mode(mode)
    with pytest.raises(TimestampUnavailable) as err:
        pades.seal_pdf(pdf, identity, level="B-T", timestamp=tsa.server())
    assert err.value.retryable and err.value.code == "tsa_unavailable"
    assert err.value.params["reason"] == reason
    tsa.set_mode("ok")
    sealed = pades.seal_pdf(pdf, identity, level="B-T", timestamp=tsa.server())
    assert sealed.level == "B-T" and sealed.timestamp_time is not None


def test_tsa_timeout_then_recovery(identity, pdf, tsa):
    tsa.set_mode("hang")
    with pytest.raises(TimestampUnavailable) as err:
        pades.seal_pdf(pdf, identity, level="B-T", timestamp=tsa.server(timeout=0.3))
    assert err.value.params["reason"] == "timeout"
    tsa.set_mode("ok")
    assert pades.seal_pdf(pdf, identity, level="B-T", timestamp=tsa.server()).level == "B-T"


def test_tsa_connection_refused_then_recovery(identity, pdf, tsa):
    server = timestamp.TimestampServer(url=pki.refused_url(), timeout=2, allow_loopback=True)
    with pytest.raises(TimestampUnavailable) as err:
        pades.seal_pdf(pdf, identity, level="B-T", timestamp=server)
    assert err.value.params["reason"] == "unreachable"
    server = tsa.server()
    tsa.stop()  # the same URL now refuses connections
    with pytest.raises(TimestampUnavailable) as err:
        pades.seal_pdf(pdf, identity, level="B-T", timestamp=server)
    assert err.value.params["reason"] == "unreachable"
    tsa.start()
    assert tsa.server().url == server.url
    assert pades.seal_pdf(pdf, identity, level="B-T", timestamp=server).level == "B-T"


def test_tsa_failure_during_long_term_sealing(identity, pdf, tsa, material):
    tsa.set_mode("unavailable")
    for level in ("B-LT", "B-LTA"):
        with pytest.raises(TimestampUnavailable):
            pades.seal_pdf(
                pdf, identity, level=level, timestamp=tsa.server(), validation_material=material
            )


def test_tsa_url_goes_through_the_ssrf_guard(identity, pdf, tsa):
    server = timestamp.TimestampServer(url=tsa.url, allow_loopback=False)
    with pytest.raises(UnsafeUrl):
        pades.seal_pdf(pdf, identity, level="B-T", timestamp=server)
    assert tsa.requests == 0


# --- placeholder size (pyHanko #515) ----------------------------------------------------
def test_twenty_consecutive_seals_with_growing_tokens(ca, identity, tsa):
    tsa.pad_step = 1500  # every token is 1.5 kB bigger than the previous one...
    data = make_pdf("Twenty seals")
    for n in range(20):
        if n in (5, 12):
            tsa.pad_bytes += 40_000  # ... and twice it suddenly grows by 40 kB
        sealed = pades.seal_pdf(data, identity, level="B-T", timestamp=tsa.server())
        assert sealed.pdf.startswith(data)
        assert sealed.level == "B-T"
        data = sealed.pdf
    assert tsa.tokens_issued == 22  # the two oversized tokens were retried, not fatal
    result = verify(data, ca)
    assert result.status == "valid", result
    assert result.signature_count == 20 and result.level == "B-T"
    assert len(result.revision_sha256s) == 20


def test_consecutive_seals_get_distinct_fields(ca, identity, pdf):
    first = pades.seal_pdf(pdf, identity)
    second = pades.seal_pdf(first.pdf, identity)
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(second.pdf))
    assert [s.field_name for s in reader.embedded_signatures] == [
        "DigitalSignSeal",
        "DigitalSignSeal_2",
    ]
    result = verify(second.pdf, ca)
    assert result.status == "valid" and result.signature_count == 2
    assert first.sha256 in result.revision_sha256s


@pytest.mark.parametrize(
    "big_token,expected_tokens",
    [
        (2, 4),  # the signature timestamp (after the size probe) is oversized: redone
        (3, 4),  # the document timestamp is oversized: redone
    ],
)
def test_oversized_tokens_during_b_lta(
    ca, identity, pdf, tsa, material, big_token, expected_tokens
):
    # B-LTA asks for: 1 a probe token (TSA chain), 2 the signature timestamp, 3 the document
    # timestamp
    tsa.pad_fn = lambda n: 60_000 if n == big_token else 0
    sealed = pades.seal_pdf(
        pdf, identity, level="B-LTA", timestamp=tsa.server(), validation_material=material
    )
    assert sealed.level == "B-LTA"
    assert tsa.tokens_issued == expected_tokens
    assert_valid(verify(sealed.pdf, ca), "B-LTA")


# --- tampering ----------------------------------------------------------------------------
def test_flipped_byte_breaks_the_seal(ca, identity, pdf, tsa):
    sealed = pades.seal_pdf(pdf, identity, level="B-T", timestamp=tsa.server())
    assert sealed.pdf.count(b"48656c6c6f") == 1  # "Hello" in the page content
    tampered = sealed.pdf.replace(b"48656c6c6f", b"49656c6c6f")
    result = verify(tampered, ca)
    assert result.status == "seal_broken"
    assert not result.intact
    assert result.signed_revision_sha256 != sealed.sha256


def test_incremental_content_change_is_detected(ca, identity, pdf):
    sealed = pades.seal_pdf(pdf, identity)
    writer = PdfWriter(io.BytesIO(sealed.pdf), incremental=True)
    stream = StreamObject()
    stream.set_data(b"BT /helv 24 Tf 72 700 Td (Tampered) Tj ET")
    writer.pages[0][NameObject("/Contents")] = ArrayObject([writer._add_object(stream)])
    out = io.BytesIO()
    writer.write(out)
    modified = out.getvalue()
    assert modified.startswith(sealed.pdf)
    result = verify(modified, ca)
    assert result.status == "modified_after_sealing"
    assert result.intact and result.valid
    assert result.coverage == "ENTIRE_REVISION" and result.modification_level == "OTHER"
    assert result.signed_revision_sha256 == sealed.sha256  # still recognisable


@pytest.mark.parametrize("level", ["B-B", "B-LT"])
def test_appended_bytes_are_reported(ca, identity, pdf, tsa, material, level):
    sealed = pades.seal_pdf(
        pdf, identity, level=level, timestamp=tsa.server(), validation_material=material
    )
    result = verify(sealed.pdf + b"\n%junk\n", ca)
    assert result.status == "bytes_appended"
    assert result.intact and result.valid and result.trusted
    assert result.coverage == "ENTIRE_REVISION"
    assert result.signed_revision_sha256 == sealed.signed_revision_sha256
    assert result.revision_sha256s[-1] == sealed.sha256  # the sealed file, without the junk


def test_untrusted_root(identity, pdf):
    result = pades_verify.verify_pdf(
        pades.seal_pdf(pdf, identity).pdf, trust_roots=[pki.Pki().root.cert_der]
    )
    assert result.status == "untrusted" and result.intact and not result.trusted
    result = pades_verify.verify_pdf(pades.seal_pdf(pdf, identity).pdf, trust_roots=[b"junk"])
    assert result.status == "untrusted"
    result = pades_verify.verify_pdf(pades.seal_pdf(pdf, identity).pdf, trust_roots=[])
    assert result.status == "untrusted"  # never the operating system's store


def test_pem_trust_root(ca, identity, pdf):
    from cryptography.hazmat.primitives.serialization import Encoding

    pem = ca.root.cert.public_bytes(Encoding.PEM)
    sealed = pades.seal_pdf(pdf, identity).pdf
    assert_valid(pades_verify.verify_pdf(sealed, trust_roots=[pem]), "B-B")


# --- inputs -------------------------------------------------------------------------------
def test_unsigned_pdf_has_no_signature(ca):
    result = verify(make_pdf("Unsigned", pages=3), ca)
    assert result.status == "no_signature" and result.signature_count == 0


@pytest.mark.parametrize(
    "blob", [b"", b"garbage", b"%PDF-1.7\n1 0 obj\n<<>>\n", b"\x00" * 64, None]
)
def test_garbage_is_damaged(ca, blob):
    assert verify(blob, ca).status == "damaged"


def test_truncated_seal_is_damaged(ca, identity, pdf):
    sealed = pades.seal_pdf(pdf, identity)
    assert verify(sealed.pdf[: len(sealed.pdf) // 2], ca).status in ("damaged", "no_signature")


def test_broken_cms_is_seal_broken(ca, identity, pdf):
    sealed = pades.seal_pdf(pdf, identity).pdf
    start = sealed.index(b"/Contents <", len(pdf)) + len(b"/Contents <")
    tampered = sealed[:start] + b"FF" + sealed[start + 2 :]
    assert verify(tampered, ca).status == "seal_broken"


def test_encrypted_pdf_is_refused(identity):
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret")
    data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o", user_pw="")
    with pytest.raises(SealError) as err:
        pades.seal_pdf(data, identity)
    assert err.value.code == "seal_pdf_unsupported" and err.value.params["reason"] == "encrypted"
    assert verify(data, pki.Pki()).status == "damaged"


def _hybrid_pdf():
    """A hybrid-reference file: classic xref table plus /XRefStm in the trailer."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Count 1/Kids[3 0 R]>>",
        b"<</Type/Page/MediaBox[0 0 200 200]/Parent 2 0 R>>",
    ]
    out = bytearray(b"%PDF-1.5\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref_stm_offset = len(out)
    entries = b"".join(bytes([1]) + o.to_bytes(4, "big") + b"\x00" for o in offsets)
    out += (
        (b"4 0 obj\n<</Type/XRef/Size 5/W[1 4 1]/Index[1 3]/Length %d>>\nstream\n" % len(entries))
        + entries
        + b"\nendstream\nendobj\n"
    )
    xref_offset = len(out)
    out += b"xref\n0 4\n0000000000 65535 f \n"
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<</Size 5/Root 1 0 R/XRefStm %d>>\nstartxref\n%d\n%%%%EOF\n" % (
        xref_stm_offset,
        xref_offset,
    )
    return bytes(out)


@pytest.mark.parametrize(
    "make,reason",
    [
        (lambda: b"%PDF-1.7\ngarbage\n%%EOF\n", "damaged"),
        (lambda: make_pdf()[:300], "damaged"),
        (lambda: b"not a pdf at all", "damaged"),
        (_hybrid_pdf, "hybrid_xref"),
    ],
)
def test_unsupported_inputs_are_refused(identity, make, reason):
    with pytest.raises(SealError) as err:
        pades.seal_pdf(make(), identity)
    assert err.value.code == "seal_pdf_unsupported"
    assert err.value.params["reason"] == reason


def test_pdf_locked_by_a_certification_signature_is_refused(ca, identity, pdf):
    from asn1crypto import keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import MDPPerm
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(ca.leaf.cert_der),
        signing_key=keys.PrivateKeyInfo.load(ca.leaf.key_der),
        cert_registry=SimpleCertificateStore(),
    )
    locked = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)),
        signers.PdfSignatureMetadata(
            field_name="Author", certify=True, docmdp_permissions=MDPPerm.NO_CHANGES
        ),
        signer=signer,
    ).getvalue()
    with pytest.raises(SealError) as err:
        pades.seal_pdf(locked, identity)
    assert err.value.code == "seal_pdf_unsupported"
    assert err.value.params["reason"] == "signing_refused"
