"""The certificate of completion (engine.completion_certificate)."""

import dataclasses
import hashlib
import io
import re

import pdfgen
import pymupdf
import pytest
import qrcode
from PIL import Image

from engine import anchors, completion_certificate
from engine.completion_certificate import (
    DEFAULT_LABELS,
    CompletionData,
    CompletionEvent,
    CompletionParticipant,
    build_final_document,
    render_completion_certificate,
)
from engine.pdf_stamp import StampValue

SHA = hashlib.sha256(b"the original").hexdigest()
LONG_UA = "Mozilla/5.0 " + "".join(f"Token{i:04d}/" for i in range(120))  # 1212 chars, no space
URL = "https://erp.example.com/digital_sign/verify/3f9a1c2b?token=Yk3mJq9&lang=sv"


def participant(**changes):
    values = dict(
        name="Łukasz Żółć",
        role="Customer",
        email_masked="ł•••z@example.com",
        mobile_masked="+48•••••789",
        invite_channel="email",
        otp_channel="sms",
        otp_verified=True,
        state="signed",
        ip="203.0.113.7",
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/120.0.0.0 Safari/537.36",
        consent_at="2026-11-23 14:01 CET",
        invited_at="2026-11-22 09:00 CET",
        viewed_at="2026-11-23 14:00 CET",
        signed_at="2026-11-23 14:05 CET",
        rejected_at="",
    )
    values.update(changes)
    return CompletionParticipant(**values)


def events(count):
    return tuple(
        CompletionEvent(
            at=f"2026-11-23 {10 + i // 60:02d}:{i % 60:02d} CET",
            event="viewed",
            participant="Łukasz Żółć",
            ip=f"198.51.100.{i % 250}",
            detail=f"detail-{i:03d}",
        )
        for i in range(count)
    )


def completion_data(**changes):
    values = dict(
        reference="SIGN/2026/00042",
        title="Sales contract Ærøskøbing",
        company="ACME AB",
        original_sha256=SHA,
        original_pages=3,
        created_at="2026-11-22 09:00 CET",
        completed_at="2026-11-23 14:07 CET",
        timezone="Europe/Stockholm",
        participants=(
            participant(),
            participant(
                name="Ελένη Παπαδοπούλου",
                role="Witness",
                email_masked="e•••i@example.gr",
                mobile_masked="+30•••••111",
                invite_channel="sms",
                otp_channel="email",
                otp_verified=False,
                state="rejected",
                ip="2001:db8:85a3::8a2e:370:7334",
                user_agent=LONG_UA,
                signed_at="",
                rejected_at="2026-11-23 14:07 CET",
            ),
        ),
        events=events(12),
        verify_url=URL,
        seal_note="This document is sealed with a self-signed certificate of ACME AB",
    )
    values.update(changes)
    return CompletionData(**values)


def pages_text(doc, start=0):
    return [doc[pno].get_text() for pno in range(start, doc.page_count)]


def squeezed(text):
    return re.sub(r"\s+", "", text)


def original_pdf(pages=3, rotation=0):
    doc = pymupdf.open()
    for number in range(1, pages + 1):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 72), f"Original page {number}", fontsize=12)
        if number == pages:
            page.insert_text((72, 700), anchors.anchor_text("signature", "customer"), fontsize=11)
            page.insert_link(
                {
                    "kind": pymupdf.LINK_URI,
                    "from": pymupdf.Rect(72, 720, 200, 735),
                    "uri": anchors.anchor_link("date", "customer"),
                }
            )
        page.set_rotation(rotation)
    return doc.tobytes()


def signature_png():
    out = io.BytesIO()
    Image.new("RGBA", (300, 100), (10, 30, 90, 255)).save(out, format="PNG")
    return out.getvalue()


# --- content ------------------------------------------------------------------------------
def test_certificate_lists_the_request_participants_and_events():
    doc = pymupdf.open("pdf", render_completion_certificate(completion_data()))
    assert not doc.is_repaired
    text = "\n".join(pages_text(doc))
    flat = " ".join(text.split())  # labels may wrap in their column
    for expected in (
        "SIGN/2026/00042",
        "Sales contract Ærøskøbing",
        "ACME AB",
        SHA,
        "Europe/Stockholm",
        "2026-11-22 09:00 CET",
        "2026-11-23 14:07 CET",
        "Łukasz Żółć",
        "Customer",
        "ł•••z@example.com",
        "+48•••••789",
        "Ελένη Παπαδοπούλου",
        "Witness",
        "e•••i@example.gr",
        "+30•••••111",
        "203.0.113.7",
        "2001:db8:85a3::8a2e:370:7334",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
        "2026-11-23 14:01 CET",
        "2026-11-23 14:00 CET",
        "2026-11-23 14:05 CET",
        "Verified",
        "Not verified",
        "Rejected",
        "Signed",
        "This document is sealed with a self-signed certificate of ACME AB",
        DEFAULT_LABELS["original_sha256"],
        DEFAULT_LABELS["user_agent"],
        DEFAULT_LABELS["invite_channel"],
        DEFAULT_LABELS["otp_channel"],
        DEFAULT_LABELS["consent_at"],
    ):
        assert expected in flat, expected
    assert "Certiﬁcate" not in text and "Certificate of completion" in text  # no ligatures
    for i in range(12):
        assert f"detail-{i:03d}" in text and f"198.51.100.{i}\n" in text
    assert squeezed(LONG_UA) in squeezed(text)  # the long user agent is all there
    assert f"{DEFAULT_LABELS['original_pages']} 3 " in flat


def test_long_values_wrap_inside_the_page():
    data = completion_data(
        events=(
            CompletionEvent(
                "2026-11-23 10:00 CET",
                "x" * 300,
                "y" * 200,
                "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
                "z" * 500,
            ),
        )
    )
    doc = pymupdf.open("pdf", render_completion_certificate(data))
    for page in doc:
        for x0, _y0, x1, _y1, *_ in page.get_text("words"):
            assert 40 <= x0 and x1 <= page.rect.width - 40, (x0, x1)
    text = squeezed("".join(pages_text(doc)))
    assert squeezed(LONG_UA) in text and "z" * 500 in text and "x" * 300 in text


def test_qr_code_encodes_the_verify_url_and_is_linked():
    doc = pymupdf.open("pdf", render_completion_certificate(completion_data()))
    page = doc[0]
    (info,) = page.get_image_info(xrefs=True)
    assert info["bbox"][2] - info["bbox"][0] > 70  # printed large enough to scan
    embedded = Image.open(io.BytesIO(doc.extract_image(info["xref"])["image"])).convert("1")
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=0, mask_pattern=2
    )
    code.add_data(URL.encode())
    code.make(fit=True)
    modules = code.get_matrix()
    scale = embedded.size[0] // (len(modules) + 8)
    for row, line in enumerate(modules):
        for col, dark in enumerate(line):
            pixel = embedded.getpixel(((col + 4) * scale + 1, (row + 4) * scale + 1))
            assert (pixel == 0) == dark
    assert URL in page.get_text()
    links = [link for link in page.get_links() if link.get("uri") == URL]
    assert links and any(pymupdf.Rect(link["from"]).intersects(info["bbox"]) for link in links)


def test_unsafe_verify_url_gets_no_link_and_no_code():
    doc = pymupdf.open(
        "pdf", render_completion_certificate(completion_data(verify_url="javascript:alert(1)"))
    )
    assert not doc[0].get_image_info() and not doc[0].get_links()
    assert "javascript" not in doc[0].get_text()


def test_untrusted_values_are_shown_literally_and_cleaned():
    data = completion_data(
        title="<script>alert('x')</script> &amp; &lt;b&gt;",
        participants=(
            participant(
                name="Eve\u202e\u2066gnp.exe\x07\x1b[31m Mallory\u0000",
                user_agent="UA\r\nInjected: header",
            ),
        ),
        events=(CompletionEvent("t", "<img src=x onerror=alert(1)>", "p", "1.2.3.4", "a\tb\nc"),),
    )
    text = " ".join(
        "\n".join(pages_text(pymupdf.open("pdf", render_completion_certificate(data)))).split()
    )
    assert "<script>alert('x')</script> &amp; &lt;b&gt;" in text
    assert "<img src=x onerror=alert(1)>" in text
    assert "Evegnp.exe[31m Mallory" in text
    assert "UA Injected: header" in text and "a b c" in text
    for bad in ("\u202e", "\u2066", "\x07", "\x1b", "\x00", "\r"):
        assert bad not in text


def test_many_events_flow_over_several_pages():
    data = completion_data(events=events(300))
    doc = pymupdf.open("pdf", render_completion_certificate(data))
    assert doc.page_count >= 5
    texts = pages_text(doc)
    joined = "\n".join(texts)
    for i in range(300):
        assert joined.count(f"detail-{i:03d}") == 1, i
    count = doc.page_count
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} / {count}" in text
        assert "SIGN/2026/00042" in text  # the header repeats the reference
    for page in doc:  # nothing spills into the margins
        for _, y0, _, y1, *_ in page.get_text("words"):
            assert 15 <= y0 and y1 <= page.rect.height - 15


def test_interim_marks_every_page():
    interim = pymupdf.open(
        "pdf", render_completion_certificate(completion_data(interim=True, events=events(120)))
    )
    assert interim.page_count >= 2
    for text in pages_text(interim):
        assert "INTERIM" in text
    assert DEFAULT_LABELS["interim_notice"][:40] in pages_text(interim)[0].replace("\n", " ")
    final = pymupdf.open("pdf", render_completion_certificate(completion_data(events=events(120))))
    assert all("INTERIM" not in text for text in pages_text(final))


def test_labels_come_from_the_caller_with_defaults_for_missing_keys():
    labels = {
        "title": "Intyg om slutförande",
        "reference": "Referens",
        "interim": "PRELIMINÄR",
        "page": "Sida",
        "otp_yes": "Verifierad",
    }
    data = completion_data(labels=labels, interim=True)
    text = "\n".join(pages_text(pymupdf.open("pdf", render_completion_certificate(data))))
    for expected in (
        "Intyg om slutförande",
        "Referens",
        "PRELIMINÄR",
        "Sida 1 /",
        "Verifierad",
        DEFAULT_LABELS["company"],
    ):
        assert expected in text
    assert "Certificate of completion" not in text and "INTERIM" not in text


def test_no_events_and_a_letter_page_size():
    doc = pymupdf.open(
        "pdf", render_completion_certificate(completion_data(events=()), page_size=(612, 792))
    )
    assert doc[0].rect == pymupdf.Rect(0, 0, 612, 792)
    assert DEFAULT_LABELS["no_events"] in "".join(pages_text(doc))


def test_render_certificate_refuses_other_types():
    with pytest.raises(TypeError):
        render_completion_certificate({"reference": "x"})


# --- the final document -------------------------------------------------------------------
def test_final_document_appends_the_certificate_after_the_stamped_original():
    original = original_pdf(pages=3, rotation=90)
    digest = hashlib.sha256(original).hexdigest()
    data = completion_data(events=events(80))
    alone = pymupdf.open("pdf", render_completion_certificate(data))
    anchor = anchors.anchor_text("signature", "customer")
    with pymupdf.open("pdf", original) as source:
        page = source[2]
        (word,) = [w for w in page.get_text("words") if w[4] == anchor]
        hide = pymupdf.Rect(word[:4]) * page.rotation_matrix
    box = pymupdf.Rect(hide.x0, hide.y0 - 40, hide.x0 + 150, hide.y0 + 10)
    values = [
        StampValue(
            3,
            *box,
            "signature",
            image=signature_png(),
            signer_name="Łukasz Żółć",
            signed_at_label="2026-11-23 14:05 CET",
        )
    ]
    out = build_final_document(original, values, data, hide_rects=[(3, *hide)])

    assert hashlib.sha256(original).hexdigest() == digest
    assert out.count(b"%%EOF") == 1 and b"/Prev" not in out  # ONE full save
    doc = pymupdf.open("pdf", out)
    assert not doc.is_repaired
    assert doc.page_count == 3 + alone.page_count
    for number in (1, 2, 3):
        assert f"Original page {number}" in doc[number - 1].get_text()
    final = doc[2]
    assert anchor not in final.get_text() and "Łukasz Żółć" in final.get_text()
    assert not final.get_links()  # the anchor link is gone
    (image,) = final.get_image_info()
    assert pymupdf.Rect(image["bbox"]) * final.rotation_matrix in box + (-1, -1, 1, 1)
    cert_pages = pages_text(doc, start=3)
    assert cert_pages == pages_text(alone)
    assert "Certificate of completion" in cert_pages[0] and SHA in cert_pages[0]
    assert all(doc[pno].rotation == 0 for pno in range(3, doc.page_count))
    assert any(link.get("uri") == URL for link in doc[3].get_links())


def test_the_uploaded_hash_is_printed_beside_the_original_one_when_they_differ():
    uploaded = hashlib.sha256(b"the upload, scripts included").hexdigest()
    original = original_pdf(pages=1)
    for given, shown in ((uploaded, True), (SHA, False), ("", False)):
        out = pymupdf.open(
            "pdf", build_final_document(original, [], completion_data(uploaded_sha256=given))
        )
        text = squeezed("".join(pages_text(out, start=1)))
        assert SHA in text
        assert (uploaded in text) is shown
        assert ("SHA-256ofthefileasuploaded" in text) is shown


def test_final_document_without_values_still_gets_its_certificate():
    original = original_pdf(pages=1)
    out = pymupdf.open("pdf", build_final_document(original, [], completion_data(interim=True)))
    assert "Original page 1" in out[0].get_text()
    assert all("INTERIM" in out[pno].get_text() for pno in range(1, out.page_count))


def test_dataclasses_are_frozen():
    data = completion_data()
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.reference = "other"
    assert completion_certificate.CompletionData.__dataclass_params__.frozen


def test_approvals_before_sending_get_their_own_section():
    approvals = (
        completion_certificate.CompletionApproval(
            tier="Quote above 50,000: sales manager",
            decision="Approved",
            by="Mona Manager",
            at="2026-11-22 08:30 CET",
            reason="Discount agreed with CFO",
        ),
        completion_certificate.CompletionApproval(
            tier="Legal review", decision="Rejected", by="Lena Lawyer", at="2026-11-21 16:00 CET"
        ),
    )
    flat = " ".join(
        " ".join(
            pages_text(
                pymupdf.open(
                    "pdf", render_completion_certificate(completion_data(approvals=approvals))
                )
            )
        ).split()
    )
    for expected in (
        "Approval before sending",
        "Quote above 50,000: sales manager",
        "Approved",
        "Mona Manager",
        "2026-11-22 08:30 CET",
        "Discount agreed with CFO",
        "Legal review",
        "Lena Lawyer",
    ):
        assert expected in flat, expected
    # without decisions there is no such section
    plain = " ".join(
        " ".join(
            pages_text(pymupdf.open("pdf", render_completion_certificate(completion_data())))
        ).split()
    )
    assert "Approval before sending" not in plain


def test_each_participant_keeps_the_consent_text_they_accepted():
    """Labels stay in the document's language; each participant's consent is the text they
    saw, in their own language, Chinese included (real, extractable text)."""
    consent_sv = "Jag samtycker till att signera detta dokument elektroniskt."
    consent_zh = "我同意以电子方式签署本文件。"
    data = completion_data(
        participants=(
            participant(name="Ingrid", consent_text=consent_sv),
            participant(name="王芳", consent_text=consent_zh),
            participant(name="No consent yet"),
        ),
        labels={"consent_text": "Texte de consentement accepté"},
    )
    text = squeezed("".join(pages_text(pymupdf.open("pdf", render_completion_certificate(data)))))
    assert squeezed(consent_sv) in text
    assert squeezed(consent_zh) in text and "王芳" in text
    assert text.count(squeezed("Texte de consentement accepté")) == 2


def test_the_company_signatory_says_who_applied_its_seal():
    """The company as a participant: its name, who applied its seal and when; none of a
    person's rows (contact, code, consent, browser), which it does not have."""
    company = participant(
        name="ACME AB",
        role="Company",
        email_masked="",
        mobile_masked="",
        invite_channel="E-mail",
        otp_channel="None",
        otp_verified=False,
        ip="192.0.2.44",
        user_agent="KeeperBrowser/1.0",
        consent_at="",
        consent_text="",
        signed_at="2026-11-23 15:10 CET",
        is_company=True,
        company_seal_by="Sara Keeper (sara)",
    )
    data = completion_data(participants=(participant(), company))
    doc = pymupdf.open("pdf", render_completion_certificate(data))
    flat = " ".join(" ".join(pages_text(doc)).split())
    section = flat[flat.index("ACME AB (Company)") :]
    section = section[: section.index(DEFAULT_LABELS["section_events"])]
    for expected in (
        DEFAULT_LABELS["company_signatory"] + " Sara Keeper (sara)",
        DEFAULT_LABELS["signed_at"] + " 2026-11-23 15:10 CET",
        "192.0.2.44",
    ):
        assert expected in section, expected
    for absent in ("email", "mobile", "otp_channel", "otp_verified", "consent_at", "user_agent"):
        assert DEFAULT_LABELS[absent] not in section, absent
    assert "KeeperBrowser" not in section
    # the person before it keeps every row
    assert flat.count(DEFAULT_LABELS["consent_at"]) == 1
    # a person is never shown as applying a seal
    plain = " ".join(
        " ".join(
            pages_text(pymupdf.open("pdf", render_completion_certificate(completion_data())))
        ).split()
    )
    assert DEFAULT_LABELS["company_signatory"] not in plain


def test_signing_in_person_names_the_host_beside_the_participant():
    """Signed in person ("Sign now"): the certificate says who hosted the signing, and only
    for that participant."""
    data = completion_data(
        participants=(
            participant(name="Ingrid", in_person_host="Alice Sender (alice)"),
            participant(name="Carl"),
        ),
    )
    text = " ".join(
        " ".join(pages_text(pymupdf.open("pdf", render_completion_certificate(data)))).split()
    )
    assert f"{DEFAULT_LABELS['in_person']} Alice Sender (alice)" in text
    assert text.count(DEFAULT_LABELS["in_person"]) == 1


def test_a_chinese_certificate_embeds_its_glyphs_as_a_subset():
    """A certificate whose labels, participant and consent are Chinese: the text extracts
    back as written, each glyph is really drawn, from an embedded font subset to the
    glyphs used (the file stays small)."""
    consent_zh = "我同意以电子方式签署本文件。"
    labels = {"title": "完成证书", "reference": "参考编号", "consent_text": "已接受的同意文本"}
    data = completion_data(
        title="销售合同",
        participants=(participant(name="王芳", role="客户", consent_text=consent_zh),),
        labels=labels,
    )
    pdf = render_completion_certificate(data)
    doc = pymupdf.open("pdf", pdf)
    text = squeezed("".join(pages_text(doc)))
    for expected in ("完成证书", "参考编号", "已接受的同意文本", "销售合同", "王芳", consent_zh):
        assert squeezed(expected) in text, expected
    chars = set("完成证书王芳同意签署")
    prints = pdfgen.glyph_prints(doc[0], chars)
    assert set(prints) == chars
    assert all(any(value < 128 for value in pixels) for pixels in prints.values())
    assert len(set(prints.values())) == len(prints), "each character has its own glyph"
    fonts = pdfgen.embedded_fonts(doc)
    cjk = [font for font in fonts if "Droid Sans Fallback" in font]
    assert cjk
    for font in cjk:
        assert re.match(r"[A-Z]{6}\+", font) and fonts[font][1] == "ttf"
        assert fonts[font][2] < 20_000, fonts[font]
    latin = render_completion_certificate(completion_data())
    assert len(pdf) - len(latin) < 40_000, (len(pdf), len(latin))
