"""Active content (engine.pdf_sanitize): found, reported where it is, removed at intake, and
never in the final sealed document; clean files come back as the very same bytes.

Dirty PDFs are made at test time (engine/testing/active_pdf.py, and hand-written ones here);
what is left is read back with pypdf (active_pdf.active_names), a parser independent of the
MuPDF the engine uses."""

import os
import re
import zlib

import pdfgen
import pymupdf
import pytest

from engine import anchors, pades, pades_verify, pdf_markers, seal_identity
from engine.completion_certificate import CompletionData, build_final_document
from engine.errors import PdfInvalid
from engine.pdf_sanitize import (
    ACTIVE_KINDS,
    ActiveContent,
    find_active_content,
    refuse_active_content,
    sanitize_pdf,
    summarize,
)
from engine.testing import active_pdf, pki

SAMPLES = os.path.join(os.path.dirname(__file__), "samples")
PASSWORD = b"seal"

# what each specimen of active_pdf is found as (a Rendition can run JavaScript, an opening
# action and additional actions here run scripts, the RichMedia asset is an embedded file)
EXPECTED = {
    "javascript": {"javascript"},
    "open_action": {"open_action", "javascript"},
    "additional_actions": {"additional_actions", "javascript"},
    "launch": {"launch"},
    "embedded_file": {"embedded_file"},
    "xfa": {"xfa"},
    "rich_media": {"rich_media", "embedded_file"},
    "multimedia": {"multimedia", "javascript"},
    "form_submission": {"form_submission"},
    "remote_goto": {"remote_goto"},
    "unsafe_link": {"unsafe_link"},
}
# where each specimen is: on the catalog, on the page (2 below), or on both
WHERE = {
    "open_action": {None},
    "xfa": {None},
    "javascript": {None, 2},
    "additional_actions": {None, 2},
    "embedded_file": {None, 2},
}


def sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as handle:
        return handle.read()


def three_pages(producer="reportlab"):
    return pdfgen.make_pdf(
        [pdfgen.Page("A4", items=[pdfgen.Text(72, 72, f"Page {n}")]) for n in (1, 2, 3)],
        producer=producer,
    )


def kinds_of(items):
    return {item.kind for item in items}


def stream_bytes(data):
    """Every stream of ``data``, decoded, concatenated."""
    doc = pymupdf.open(stream=data, filetype="pdf")
    try:
        return b"".join(
            doc.xref_stream(xref) or b""
            for xref in range(1, doc.xref_length())
            if doc.xref_is_stream(xref)
        )
    finally:
        doc.close()


def page_texts(data):
    doc = pymupdf.open(stream=data, filetype="pdf")
    try:
        return [page.get_text() for page in doc]
    finally:
        doc.close()


def raw_one_page(catalog_extra=b"", page_extra=b"", extra_objects=()):
    """A hand-written PDF: 1 catalog, 2 pages, 3 the page, 4 its content, then
    ``extra_objects`` as 5, 6..."""
    return pdfgen.raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
            b" /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
            b" >> >> " + page_extra + b" >>",
            pdfgen.stream_object(b"", b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET"),
            *extra_objects,
        ]
    )


def link(uri_or_action, rect=b"[72 600 200 620]"):
    action = (
        uri_or_action
        if uri_or_action.startswith(b"<<")
        else b"<< /S /URI /URI (" + uri_or_action + b") >>"
    )
    return (
        b"<< /Type /Annot /Subtype /Link /Rect " + rect + b" /Border [0 0 0] /A " + action + b" >>"
    )


def assert_clean(result_data):
    assert find_active_content(result_data) == ()
    assert active_pdf.active_names(result_data) == []


# --- clean files: the same bytes --------------------------------------------------------
@pytest.mark.parametrize("name", ["libreoffice_anchors.pdf", "wkhtmltopdf_links.pdf"])
def test_clean_samples_come_back_as_the_same_bytes(name):
    data = sample(name)
    assert find_active_content(data) == ()
    result = sanitize_pdf(data)
    assert result.data is data and not result.changed and result.removed == ()


@pytest.mark.parametrize("producer", ["reportlab", "pymupdf"])
def test_generated_clean_files_come_back_as_the_same_bytes(producer):
    data = three_pages(producer)
    assert sanitize_pdf(data).data is data
    assert sanitize_pdf(bytearray(data)).data == data


def test_a_destination_to_open_at_and_plain_links_are_not_active():
    # LibreOffice writes /OpenAction [page /XYZ ...]: a view, not an action
    assert b"/OpenAction" in sample("libreoffice_anchors.pdf")
    data = raw_one_page(
        catalog_extra=b"/OpenAction [3 0 R /Fit] /Names << /Dests << /Names [(top) [3 0 R /Fit]]"
        b" >> >>",
        page_extra=b"/Annots [5 0 R 6 0 R 7 0 R 8 0 R 9 0 R 10 0 R]",
        extra_objects=[
            link(b"https://www.example.com/terms"),
            link(b"HTTP://EXAMPLE.COM/UPPER", b"[72 560 200 580]"),
            link(b"mailto:sales@example.com", b"[72 520 200 540]"),
            link(b"tel:+46701234567", b"[72 400 200 420]"),
            link(b"<< /S /GoTo /D [3 0 R /Fit] >>", b"[72 480 200 500]"),
            link(b"<< /S /Named /N /NextPage >>", b"[72 440 200 460]"),
        ],
    )
    assert find_active_content(data) == ()
    assert sanitize_pdf(data).data is data


# --- each kind: found, reported where it is, removed ------------------------------------
@pytest.mark.parametrize("kind", ACTIVE_KINDS)
def test_each_kind_is_found_where_it_is_and_removed(kind):
    clean = three_pages()
    dirty = active_pdf.add_active_content(clean, (kind,), page=2)
    assert active_pdf.active_names(dirty), "the specimen is really there"
    found = find_active_content(dirty)
    assert kinds_of(found) == EXPECTED[kind]
    pages = {item.page for item in found if item.kind == kind}
    assert pages == WHERE.get(kind, {2})

    result = sanitize_pdf(dirty)
    assert result.changed and result.removed == found
    assert_clean(result.data)
    assert page_texts(result.data) == page_texts(clean)
    again = sanitize_pdf(result.data)
    assert again.data is result.data and again.removed == (), "idempotent"


def test_everything_at_once_and_nothing_of_it_survives_in_any_stream():
    clean = three_pages()
    dirty = active_pdf.add_active_content(clean, page=3)
    found = find_active_content(dirty)
    assert kinds_of(found) == set(ACTIVE_KINDS)
    for raw in (active_pdf.SCRIPT, active_pdf.PAYLOAD):
        assert raw in stream_bytes(dirty) or raw in dirty
    result = sanitize_pdf(dirty)
    assert_clean(result.data)
    assert active_pdf.SCRIPT not in stream_bytes(result.data)
    assert active_pdf.PAYLOAD not in stream_bytes(result.data), "embedded files are gone"
    assert active_pdf.SCRIPT not in result.data and active_pdf.PAYLOAD not in result.data
    doc = pymupdf.open(stream=result.data, filetype="pdf")
    assert doc.embfile_count() == 0
    assert [annot.type[1] for annot in doc[2].annots()] == []
    assert [link for link in doc[2].get_links() if link["kind"] != pymupdf.LINK_NONE] == [], (
        "the links keep no action"
    )
    doc.close()


def test_content_hidden_in_compressed_object_streams_is_found():
    dirty = active_pdf.add_active_content(
        three_pages(), ("launch", "form_submission"), page=1, use_objstms=True
    )
    assert b"/Launch" not in dirty and b"/SubmitForm" not in dirty, "compressed away"
    assert kinds_of(find_active_content(dirty)) == {"launch", "form_submission"}
    assert_clean(sanitize_pdf(dirty).data)


def test_report_anchors_and_plain_links_survive_and_are_still_found():
    report = sample("wkhtmltopdf_links.pdf")
    dirty = active_pdf.add_active_content(report, page=1)
    result = sanitize_pdf(dirty)
    assert_clean(result.data)
    assert pdf_markers.detect_markers(result.data) == pdf_markers.detect_markers(report)
    doc = pymupdf.open(stream=result.data, filetype="pdf")
    uris = sorted(link["uri"] for link in doc[0].get_links() if link.get("uri"))
    doc.close()
    assert "https://www.example.com/terms" in uris
    assert sum(uri.startswith(anchors.ANCHOR_LINK_PREFIX) for uri in uris) == 6


# --- hand-written structures ------------------------------------------------------------
def test_an_indirect_action_type_and_escaped_names_are_seen_through():
    indirect = raw_one_page(
        catalog_extra=b"/OpenAction 5 0 R",
        extra_objects=[b"<< /S 6 0 R /JS (app.alert\\(1\\)) >>", b"/JavaScript"],
    )
    assert b"/S /JavaScript" not in indirect
    assert kinds_of(find_active_content(indirect)) == {"open_action", "javascript"}
    assert_clean(sanitize_pdf(indirect).data)

    escaped = raw_one_page(catalog_extra=b"/Open#41ction << /S /Java#53cript /J#53 (x) >>")
    assert b"/OpenAction" not in escaped and b"/JavaScript" not in escaped
    assert kinds_of(find_active_content(escaped)) == {"open_action", "javascript"}
    assert_clean(sanitize_pdf(escaped).data)


def test_a_type_or_a_missing_rectangle_does_not_hide_anything():
    data = raw_one_page(
        catalog_extra=b"/OpenAction << /Type /StructElem /S /JavaScript /JS (x) >>",
        page_extra=b"/Annots [5 0 R]",
        extra_objects=[b"<< /Type /Annot /Subtype /FileAttachment /FS << /F (a.exe) >> >>"],
    )
    assert kinds_of(find_active_content(data)) == {"open_action", "javascript", "embedded_file"}
    assert_clean(sanitize_pdf(data).data)


def test_bookmarks_keep_their_destination_and_lose_their_scripts():
    data = raw_one_page(
        catalog_extra=b"/Outlines 5 0 R",
        extra_objects=[
            b"<< /Type /Outlines /First 6 0 R /Last 6 0 R /Count 1 >>",
            b"<< /Title (Go) /Parent 5 0 R /A << /S /GoTo /D [3 0 R /Fit] /Next [ << /S"
            b" /JavaScript /JS (x) >> << /S /Named /N /NextPage >> ] >> >>",
        ],
    )
    assert find_active_content(data) == (ActiveContent("javascript", None),)
    result = sanitize_pdf(data)
    assert_clean(result.data)
    doc = pymupdf.open(stream=result.data, filetype="pdf")
    assert doc.get_toc() == [[1, "Go", 1]]
    first = int(doc.xref_get_key(doc.pdf_catalog(), "Outlines/First")[1].split()[0])
    item = doc.xref_object(first, compressed=True)
    doc.close()
    assert "/S/GoTo" in item and "/NextPage" in item and "JavaScript" not in item


def test_form_fields_stay_and_lose_their_actions():
    data = raw_one_page(
        catalog_extra=b"/AcroForm << /Fields [5 0 R 7 0 R] >>",
        page_extra=b"/Annots [5 0 R 7 0 R]",
        extra_objects=[
            b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) /Rect [72 500 200 520]"
            b" /P 3 0 R /AA << /K << /S /JavaScript /JS (AFNumber_Keystroke\\(2\\)) >>"
            b" /F 6 0 R >> >>",
            b"<< /S /JavaScript /JS (AFNumber_Format\\(2\\)) >>",
            b"<< /Type /Annot /Subtype /Widget /FT /Btn /Ff 65536 /T (send)"
            b" /Rect [72 450 200 470] /P 3 0 R /A << /S /SubmitForm /F << /FS /URL"
            b" /F (https://collect.example/) >> >> >>",
        ],
    )
    found = find_active_content(data)
    assert found == (
        ActiveContent("javascript", 1),
        ActiveContent("additional_actions", 1),
        ActiveContent("form_submission", 1),
    )
    result = sanitize_pdf(data)
    assert_clean(result.data)
    doc = pymupdf.open(stream=result.data, filetype="pdf")
    assert sorted(widget.field_name for widget in doc[0].widgets()) == ["amount", "send"]
    doc.close()


def test_an_unreferenced_script_is_reported_on_the_document_and_dropped():
    data = raw_one_page(extra_objects=[b"<< /S /JavaScript /JS (orphan\\(\\)) >>"])
    assert find_active_content(data) == (ActiveContent("javascript", None),)
    result = sanitize_pdf(data)
    assert_clean(result.data)
    assert b"orphan" not in result.data and b"orphan" not in stream_bytes(result.data)


def test_content_added_by_an_incremental_update_is_found():
    base = raw_one_page()
    previous = int(re.search(rb"startxref\s+(\d+)", base).group(1))
    update = (
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /Launch /F (calc.exe)"
        b" >> >>\nendobj\n"
    )
    offset = len(base)
    xref = offset + len(update)
    data = (
        base
        + update
        + (
            b"xref\n1 1\n%010d 00000 n \ntrailer\n<< /Size 5 /Root 1 0 R /Prev %d >>\n"
            b"startxref\n%d\n%%%%EOF\n" % (offset, previous, xref)
        )
    )
    assert kinds_of(find_active_content(data)) == {"open_action", "launch"}
    assert_clean(sanitize_pdf(data).data)


@pytest.mark.parametrize(
    "uri",
    [
        b"javascript:app.alert\\(1\\)",
        b" JavaScript:x",
        b"file:///etc/passwd",
        b"data:text/html,x",
        b"evil.pdf",
        b"\\\\\\\\server\\\\share",
    ],
)
def test_links_other_than_http_https_mailto_are_unsafe(uri):
    data = raw_one_page(
        page_extra=b"/Annots [5 0 R 6 0 R]",
        extra_objects=[link(uri), link(b"https://example.com/", b"[1 1 9 9]")],
    )
    assert find_active_content(data) == (ActiveContent("unsafe_link", 1),)
    result = sanitize_pdf(data)
    assert_clean(result.data)
    doc = pymupdf.open(stream=result.data, filetype="pdf")
    assert [found.get("uri") for found in doc[0].get_links()] == ["https://example.com/"]
    doc.close()


def test_a_structure_element_named_like_an_action_is_not_one():
    data = raw_one_page(
        catalog_extra=b"/StructTreeRoot 5 0 R",
        extra_objects=[
            b"<< /Type /StructTreeRoot /K 6 0 R >>",
            b"<< /Type /StructElem /S /Sound /P 5 0 R /K 0 /Pg 3 0 R >>",
        ],
    )
    assert find_active_content(data) == ()
    assert sanitize_pdf(data).data is data


# --- refusals ---------------------------------------------------------------------------
@pytest.mark.parametrize("function", [find_active_content, sanitize_pdf])
def test_unreadable_inputs_keep_their_clear_refusals(function):
    cases = {
        b"": "pdf_empty",
        pdfgen.gif_bytes(): "pdf_not_pdf",
        pdfgen.encrypted_pdf(): "pdf_encrypted",
    }
    if function is sanitize_pdf:  # readable, but an upload is never kept encrypted
        cases[pdfgen.encrypted_pdf(user_pw="")] = "pdf_encrypted"
    for data, code in cases.items():
        with pytest.raises(PdfInvalid) as caught:
            function(data)
        assert caught.value.code == code


# --- the final document -----------------------------------------------------------------
def completion_data():
    return CompletionData(
        reference="SIGN/1",
        title="Contract",
        company="ACME",
        original_sha256="0" * 64,
        original_pages=1,
        created_at="",
        completed_at="",
        timezone="UTC",
        participants=(),
        events=(),
        verify_url="https://erp.example.com/digital_sign/verify",
    )


def test_a_dirty_upload_gives_a_clean_sealed_document():
    report = sample("wkhtmltopdf_links.pdf")
    dirty = active_pdf.add_active_content(report, page=1)
    clean = sanitize_pdf(dirty).data
    hide = [(p.page, *p.marker) for p in pdf_markers.detect_markers(clean)]
    final = build_final_document(clean, [], completion_data(), hide_rects=hide)
    ca = pki.Pki()
    identity = seal_identity.load_seal_identity(ca.pkcs12(ca.leaf, PASSWORD), PASSWORD)
    sealed = pades.seal_pdf(final, identity, level="B-B").pdf
    assert_clean(sealed)
    for name in (
        b"/JS",
        b"/JavaScript",
        b"/OpenAction",
        b"/AA",
        b"/Launch",
        b"/EmbeddedFiles",
        b"/XFA",
        b"/RichMedia",
    ):
        assert not re.search(re.escape(name) + rb"[\s/<>\[\]()]", sealed), name
    assert pades_verify.verify_pdf(sealed, trust_roots=ca.trust_roots).intact
    assert refuse_active_content(sealed) is None
    # what the last check before sealing is for: built from a dirty original, it is not clean
    unsafe = build_final_document(dirty, [], completion_data(), hide_rects=hide)
    with pytest.raises(PdfInvalid) as caught:
        refuse_active_content(unsafe)
    assert caught.value.code == "final_active_content"
    assert {"javascript", "open_action", "launch"} <= set(caught.value.params["kinds"])
    assert len(set(caught.value.params["kinds"])) == len(caught.value.params["kinds"])


# --- the summary ------------------------------------------------------------------------
def test_summary_groups_by_kind_in_a_stable_order():
    items = (
        ActiveContent("unsafe_link", 3),
        ActiveContent("javascript", 2),
        ActiveContent("javascript", None),
        ActiveContent("javascript", 1),
        ActiveContent("open_action", None),
    )
    assert summarize(items) == [
        {"kind": "javascript", "document": True, "pages": [1, 2]},
        {"kind": "open_action", "document": True, "pages": []},
        {"kind": "unsafe_link", "document": False, "pages": [3]},
    ]
    assert summarize(()) == []


def test_raw_streams_are_not_decoded_for_the_check():
    # a script's text inside a content stream is only text: nothing active
    content = zlib.compress(b"BT /F1 12 Tf 72 720 Td (/JavaScript /OpenAction /AA) Tj ET")
    data = pdfgen.raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            pdfgen.stream_object(b"/Filter /FlateDecode", content),
        ]
    )
    assert sanitize_pdf(data).data is data
