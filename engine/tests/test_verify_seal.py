"""Verification against insiders (engine.pades_verify.verify_pdf with ``pinned`` and ``issued``):
the seal must be the one we made, with our own certificate (not merely one from the same
CA), over the bytes we issued; after it, only what PAdES allows (a DSS, document
timestamps). Anything else is "modified after sealing", with what changed. And no parser
sees a file the intake refuses."""

import hashlib
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

import pdfgen
import pytest

from engine import pades, pades_verify, pdf_intake, seal_identity
from engine.pdf_changes import Change
from engine.testing import pki, tamper

PASSWORD = b"seal password"


def make_pdf(pages=1):
    import pymupdf

    doc = pymupdf.open()
    for number in range(pages):
        doc.new_page().insert_text((72, 72), f"The contract, page {number + 1}")
    data = doc.tobytes()
    doc.close()
    return data


@pytest.fixture(scope="module")
def ca():
    return pki.Pki(label="verify test")


@pytest.fixture(scope="module")
def identity(ca):
    return seal_identity.load_seal_identity(ca.pkcs12(ca.leaf, PASSWORD), PASSWORD)


@pytest.fixture(scope="module")
def colleague(ca):
    """Another certificate from the same CA, fit for signing: what an employee holds."""
    return ca.issue("verify test Colleague", issuer=ca.intermediate)


@pytest.fixture(scope="module")
def pin(identity):
    return seal_identity.SealPin(seal_identity.describe(identity).sha256_fingerprint)


@pytest.fixture(scope="module")
def sealed(identity):
    return pades.seal_pdf(make_pdf(), identity)


@pytest.fixture
def tsa(ca):
    with ca.timestamp_server() as server:
        yield server


def check(pdf, ca, pin, issued, **kwargs):
    kwargs.setdefault("trust_roots", ca.trust_roots)
    return pades_verify.verify_pdf(pdf, pinned=[pin], issued=issued, **kwargs)


def issued_by_us(*results):
    return {result.sha256 for result in results}


# --- what PAdES allows after the seal ------------------------------------------------------
def test_our_seal_as_issued_is_valid(ca, pin, sealed):
    result = check(sealed.pdf, ca, pin, issued_by_us(sealed))
    assert result.status == "valid", result
    assert result.pinned and result.issued_sha256 == sealed.sha256
    assert result.changes == ()


def test_dss_added_later_keeps_it_valid(ca, pin, sealed):
    """What Acrobat's "add verification information" does."""
    updated = tamper.append_dss(sealed.pdf, [ca.root.cert_der, ca.intermediate.cert_der])
    assert updated.startswith(sealed.pdf) and b"/DSS" in updated[len(sealed.pdf) :]
    result = check(updated, ca, pin, issued_by_us(sealed))
    assert result.status == "valid", result
    assert result.modification_level == "LTA_UPDATES"
    assert result.issued_sha256 == sealed.sha256


def test_document_timestamp_added_later_keeps_it_valid(ca, identity, pin, tsa):
    sealed = pades.seal_pdf(make_pdf(), identity, level="B-T", timestamp=tsa.server())
    updated = tamper.append_document_timestamp(sealed.pdf, tsa.url)
    assert updated.startswith(sealed.pdf) and b"/DocTimeStamp" in updated[len(sealed.pdf) :]
    result = check(updated, ca, pin, issued_by_us(sealed))
    assert result.status == "valid", result
    assert result.modification_level == "LTA_UPDATES"
    assert result.signature_count == 1  # document timestamps are not signatures


def test_our_own_long_term_revisions_are_part_of_what_we_issued(ca, identity, pin, tsa):
    sealed = pades.seal_pdf(
        make_pdf(),
        identity,
        level="B-LTA",
        timestamp=tsa.server(),
        validation_material=ca.validation_material(),
    )
    assert sealed.level == "B-LTA"
    result = check(
        sealed.pdf, ca, pin, issued_by_us(sealed), validation_material=ca.validation_material()
    )
    assert result.status == "valid", result
    assert result.issued_sha256 == sealed.sha256
    assert result.signed_revision_sha256 == sealed.signed_revision_sha256 != sealed.sha256


# --- what it does not allow ----------------------------------------------------------------
def test_signature_appended_by_a_colleague_of_the_same_ca_is_a_change(ca, pin, sealed, colleague):
    updated = tamper.append_signature(sealed.pdf, colleague, [ca.intermediate])
    # the colleague's signature itself is flawless and chains to the same trusted root...
    alone = pades_verify.verify_pdf(updated, trust_roots=ca.trust_roots)
    assert alone.intact and alone.valid and alone.trusted
    assert "Colleague" in alone.signer_subject
    # ...but it comes after our seal: the document is no longer the one we sealed
    result = check(updated, ca, pin, issued_by_us(sealed))
    assert result.status == "modified_after_sealing", result
    assert result.pinned and "Seal" in result.signer_subject  # our seal was the one checked
    assert result.issued_sha256 == sealed.sha256
    assert result.changes == (
        Change("signature_added", signer=colleague.cert.subject.rfc4514_string()),
    )


def test_signature_by_our_own_certificate_after_the_seal_is_a_change(ca, identity, pin, sealed):
    updated = pades.seal_pdf(sealed.pdf, identity).pdf  # a second seal, on a copy
    result = check(updated, ca, pin, issued_by_us(sealed))
    assert result.status == "modified_after_sealing"
    assert [change.kind for change in result.changes] == ["signature_added"]


def test_page_added_is_a_change(ca, pin, sealed):
    result = check(tamper.append_page(sealed.pdf), ca, pin, issued_by_us(sealed))
    assert result.status == "modified_after_sealing"
    assert result.changes == (Change("page_added", count=1),)


def test_page_content_replaced_is_a_change(ca, pin, sealed):
    result = check(tamper.replace_page_content(sealed.pdf), ca, pin, issued_by_us(sealed))
    assert result.status == "modified_after_sealing"
    assert result.changes == (Change("page_content", page=1),)


def test_annotation_added_is_a_change(ca, pin, sealed):
    result = check(tamper.append_annotation(sealed.pdf), ca, pin, issued_by_us(sealed))
    assert result.status == "modified_after_sealing"
    assert result.changes == (Change("annotations", page=1),)


def test_empty_signature_field_over_the_page_is_a_change(ca, pin, sealed):
    result = check(tamper.append_signature_field(sealed.pdf), ca, pin, issued_by_us(sealed))
    assert result.status == "modified_after_sealing"
    assert result.modification_level == "FORM_FILLING"  # pyHanko calls that form filling
    assert result.changes == (Change("form_fields"),)


def test_several_updates_are_all_described(ca, pin, sealed, colleague):
    updated = tamper.append_signature(
        tamper.append_page(tamper.replace_page_content(sealed.pdf)), colleague, [ca.intermediate]
    )
    result = check(updated, ca, pin, issued_by_us(sealed))
    assert result.status == "modified_after_sealing"
    assert {change.kind for change in result.changes} == {
        "signature_added",
        "page_added",
        "page_content",
    }


# --- our certificate, not the CA's ---------------------------------------------------------
def test_seal_by_another_certificate_of_the_same_ca_is_not_ours(ca, identity, pin, colleague):
    p12 = ca.pkcs12(colleague, PASSWORD)
    forged = pades.seal_pdf(make_pdf(), seal_identity.load_seal_identity(p12, PASSWORD))
    assert pades_verify.verify_pdf(forged.pdf, trust_roots=ca.trust_roots).status == "valid", (
        "without pinning, the CA alone would vouch for it"
    )
    result = check(forged.pdf, ca, pin, issued_by_us())
    assert result.status == "not_our_seal"
    assert not result.pinned and "Colleague" in result.signer_subject
    # even over bytes we issued (a signed_sha256 planted by someone), it is not our seal
    result = check(forged.pdf, ca, pin, issued_by_us(forged))
    assert result.status == "not_our_seal"


def test_the_seal_is_the_pinned_signature_within_what_we_issued(ca, identity, pin, colleague):
    """A signature by someone else before ours (a signature service's) is part of what we
    sealed; the seal is ours, the last signature of the bytes we issued."""
    signed_before = tamper.append_signature(make_pdf(), colleague, [ca.intermediate])
    sealed = pades.seal_pdf(signed_before, identity)
    result = check(sealed.pdf, ca, pin, issued_by_us(sealed))
    assert result.status == "valid", result
    assert result.signature_count == 2 and "Seal" in result.signer_subject


def test_pins_of_the_issuing_company_apply(ca, pin, sealed):
    """``issued`` may name the pins of the company that issued the document: another
    company's certificate is not that company's seal."""
    other_company = seal_identity.SealPin("ab" * 32)
    result = check(
        sealed.pdf,
        ca,
        pin,
        lambda digests: {digest: (other_company,) for digest in digests if digest == sealed.sha256},
    )
    assert result.status == "not_our_seal"
    result = check(
        sealed.pdf,
        ca,
        pin,
        lambda digests: {digest: (pin,) for digest in digests if digest == sealed.sha256},
    )
    assert result.status == "valid"


def test_pin_applies_to_its_period_of_use():
    when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=30)
    ca = pki.Pki(now=when - timedelta(days=30), label="verify test, last month")
    identity = seal_identity.load_seal_identity(ca.pkcs12(ca.leaf, PASSWORD), PASSWORD)
    pin = seal_identity.SealPin(seal_identity.describe(identity).sha256_fingerprint)
    sealed = pades.seal_pdf(make_pdf(), identity, now=when)
    used_then = seal_identity.SealPin(
        pin.fingerprint, since=when - timedelta(days=10), until=when + timedelta(days=10)
    )
    used_later = seal_identity.SealPin(pin.fingerprint, since=when + timedelta(days=5))
    retired_before = seal_identity.SealPin(pin.fingerprint, until=when - timedelta(days=5))
    grace = seal_identity.SealPin(pin.fingerprint, since=when + timedelta(hours=2))
    for pins, status in (
        ([used_then], "valid"),
        ([used_later], "not_our_seal"),
        ([retired_before], "not_our_seal"),
        ([grace], "valid"),
        ([used_later, used_then], "valid"),
    ):
        result = pades_verify.verify_pdf(
            sealed.pdf, trust_roots=ca.trust_roots, pinned=pins, issued=issued_by_us(sealed)
        )
        assert result.status == status, (pins, result)


def test_unknown_document_by_our_seal(ca, identity, pin, sealed):
    result = check(sealed.pdf, ca, pin, issued_by_us())
    assert result.status == "valid" and result.pinned and result.issued_sha256 == ""


def test_issued_is_asked_about_revision_prefixes_only(ca, pin, sealed):
    updated = tamper.append_page(sealed.pdf)
    asked = []

    def issued(digests):
        asked.extend(digests)
        return {}

    check(updated, ca, pin, issued)
    assert sealed.sha256 in asked
    assert hashlib.sha256(updated).hexdigest() in asked
    assert all(len(digest) == 64 for digest in asked)


# --- intake before any parser ----------------------------------------------------------------
def test_a_bomb_is_refused_before_any_parser(ca, pin):
    bomb = pdfgen.xref_stream_bomb(300 * 1024 * 1024)

    def no_parser(*args, **kwargs):
        raise AssertionError("a parser was given a refused file")

    with (
        patch.object(pades_verify, "PdfFileReader", no_parser),
        patch.object(pdf_intake.pymupdf, "open", no_parser),
    ):
        result = check(bomb, ca, pin, issued_by_us())
    assert result.status == "refused" and result.refusal == "pdf_bomb"


def test_gigabyte_bomb_is_refused_in_bounded_memory(tmp_path):
    """4 GiB of cross-reference stream in a 4 MB file: pyHanko would inflate all of it while
    opening the file, so a verification that let it through needs gigabytes here."""
    bomb = pdfgen.xref_stream_bomb(4 << 30)
    path = tmp_path / "bomb.pdf"
    path.write_bytes(bomb)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = (
        "import json, resource, sys\n"
        f"sys.path.insert(0, {root!r})\n"
        "from engine import pades_verify\n"
        f"data = open({str(path)!r}, 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "result = pades_verify.verify_pdf(data, trust_roots=[])\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'refusal': result.refusal, 'growth_kib': after - before}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["refusal"] == "pdf_bomb"
    assert report["growth_kib"] < 64 * 1024


@pytest.mark.parametrize(
    "data, kwargs, status, refusal",
    [
        (make_pdf(pages=3), {"max_pages": 2}, "refused", "pdf_too_many_pages"),
        (make_pdf(), {"max_bytes": 100}, "refused", "pdf_too_large"),
        (b"GIF89a not a pdf", {}, "damaged", "pdf_not_pdf"),
        (b"%PDF-1.7\n%%EOF", {}, "damaged", "pdf_damaged"),
        (b"", {}, "damaged", "pdf_empty"),
    ],
)
def test_intake_refusals(ca, pin, data, kwargs, status, refusal):
    result = check(data, ca, pin, issued_by_us(), **kwargs)
    assert (result.status, result.refusal) == (status, refusal)


def test_sealed_documents_may_exceed_the_page_limit_by_their_certificate(ca, identity, pin):
    sealed = pades.seal_pdf(make_pdf(pages=pdf_intake.DEFAULT_MAX_PAGES + 2), identity)
    assert check(sealed.pdf, ca, pin, issued_by_us(sealed)).status == "valid"


def test_a_document_uploaded_at_the_size_limit_still_verifies_once_sealed(ca, identity, pin):
    """Signing and sealing add bytes: a file the intake accepted at its limit must not be
    refused by the verification's own limit once sealed (it was, up to 2026-12-03)."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "The contract")
    # an incompressible stream that brings the file to just under the intake's limit
    padding = os.urandom(pdf_intake.DEFAULT_MAX_BYTES - 4 * 1024)
    xref = doc.get_new_xref()
    doc.update_object(xref, "<< /Length 0 >>")
    doc.update_stream(xref, padding, compress=False)
    doc.xref_set_key(doc.pdf_catalog(), "DSPadding", f"{xref} 0 R")
    data = doc.tobytes()
    doc.close()
    assert len(data) <= pdf_intake.DEFAULT_MAX_BYTES
    pdf_intake.inspect_pdf(data)  # accepted at upload
    sealed = pades.seal_pdf(data, identity)
    assert len(sealed.pdf) > pdf_intake.DEFAULT_MAX_BYTES
    result = check(sealed.pdf, ca, pin, issued_by_us(sealed))
    assert result.status == "valid", result
