"""PDF intake: what inspect_pdf accepts and describes, and every way it refuses."""

import hashlib
import json
import os
import subprocess
import sys
import zlib
from unittest.mock import patch

import pdfgen
import pymupdf
import pytest

from engine import pdf_intake, pdf_streams
from engine.errors import PdfInvalid
from engine.pdf_intake import PageInfo, PdfInfo, check_streams, inspect_pdf

SAMPLES = os.path.join(os.path.dirname(__file__), "samples")
PRODUCERS = ("reportlab", "pymupdf")


def sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as handle:
        return handle.read()


def refused(data, **kwargs):
    with pytest.raises(PdfInvalid) as caught:
        inspect_pdf(data, **kwargs)
    return caught.value


def simple_pdf(pages=1, producer="reportlab"):
    return pdfgen.make_pdf(
        [
            pdfgen.Page("A4", items=[pdfgen.Text(72, 72, f"Page {n + 1} " * 20)])
            for n in range(pages)
        ],
        producer=producer,
    )


@pytest.fixture(scope="module")
def bomb():
    return pdfgen.bomb_pdf()  # 300 MB of zeros in a ~285 KiB FlateDecode stream


# --- accepted -----------------------------------------------------------------------------
@pytest.mark.parametrize("producer", PRODUCERS)
def test_mixed_sizes_and_rotations_are_described_as_displayed(producer):
    specs = [
        pdfgen.Page("A4", 0),
        pdfgen.Page("Letter", 90),
        pdfgen.Page("A3L", 0),
        pdfgen.Page("A5", 270),
        pdfgen.Page("A4L", 180),
    ]
    for spec in specs:
        spec.items = (pdfgen.Text(40, 60, "content"),)
    data = pdfgen.make_pdf(specs, producer=producer)
    info = inspect_pdf(data)
    assert isinstance(info, PdfInfo)
    assert info.page_count == 5 and len(info.pages) == 5
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.producer == (
        "ReportLab PDF Library - www.reportlab.com" if producer == "reportlab" else "pdfgen pymupdf"
    )
    for number, (spec, page) in enumerate(zip(specs, info.pages), start=1):
        assert isinstance(page, PageInfo)
        assert page.number == number
        assert page.rotation == spec.rotation
        width, height = spec.displayed_size()
        assert page.width == pytest.approx(width, abs=0.01)
        assert page.height == pytest.approx(height, abs=0.01)
    # the unrotated MediaBox really is the other way round on the 90/270 pages
    doc = pymupdf.open(stream=data, filetype="pdf")
    assert doc[1].mediabox.width == pytest.approx(792.0)
    assert doc[3].mediabox.width == pytest.approx(595.28, abs=0.01)


def test_cropbox_is_the_displayed_size():
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=800)
    page.set_cropbox(pymupdf.Rect(50, 60, 550, 760))
    page.set_rotation(90)
    info = inspect_pdf(doc.tobytes())
    assert (info.pages[0].width, info.pages[0].height, info.pages[0].rotation) == (700, 500, 90)


def test_samples_are_accepted():
    office = inspect_pdf(sample("libreoffice_anchors.pdf"))
    assert office.producer.startswith("LibreOffice")
    assert office.page_count == 2
    assert office.pages[0].width < office.pages[0].height  # A4 portrait
    assert office.pages[1].width > office.pages[1].height  # A4 landscape
    report = inspect_pdf(sample("wkhtmltopdf_links.pdf"))
    assert report.producer.startswith("Qt")
    assert report.page_count == 1


def test_bytes_like_input_and_limits_at_the_edge():
    data = simple_pdf(3)
    assert inspect_pdf(bytearray(data)).sha256 == hashlib.sha256(data).hexdigest()
    assert inspect_pdf(data, max_bytes=len(data), max_pages=3).page_count == 3


def test_junk_before_the_header_within_1024_bytes_is_tolerated():
    data = b"\x00" * 200 + simple_pdf(2)
    assert inspect_pdf(data).page_count == 2


def test_legitimate_streams_are_measured_exactly():
    payload = os.urandom(3 * 1024 * 1024) + bytes(6 * 1024 * 1024)  # spans several input steps
    data = pdfgen.one_page_raw_pdf(
        extra_objects=[pdfgen.stream_object(b"/Filter /FlateDecode", zlib.compress(payload, 6))]
    )
    content = len(b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET")
    assert check_streams(data) == len(payload)  # the page content is not compressed
    assert content  # (unfiltered streams are not counted)
    assert inspect_pdf(data).page_count == 1


# --- refused ------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [b"", None, "a string"])
def test_empty(data):
    assert refused(data).code == "pdf_empty"


def test_too_large_is_checked_first_and_cheaply():
    data = pdfgen.gif_bytes() * 100  # not even a PDF: the size is what counts first
    error = refused(data, max_bytes=1000)
    assert error.code == "pdf_too_large"
    assert error.params == {"size": len(data), "limit": 1000}
    assert refused(simple_pdf(), max_bytes=100).code == "pdf_too_large"
    # the default limit
    huge = b"%PDF-1.7\n" + bytes(pdf_intake.DEFAULT_MAX_BYTES)
    assert refused(huge).params["limit"] == 20 * 1024 * 1024


@pytest.mark.parametrize(
    "data",
    [
        pdfgen.gif_bytes(),
        b"GIF89a" + b"\x00" * 2000,
        b"hello, this is not a PDF at all",
        b" " * 1024 + b"%PDF-1.7\n",  # header too late
    ],
)
def test_not_a_pdf(data):
    assert refused(data).code == "pdf_not_pdf"


@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_truncated_is_damaged(producer, fraction):
    data = simple_pdf(5, producer)
    assert refused(data[: int(len(data) * fraction)]).code == "pdf_damaged"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n" + bytes(range(256)) * 8,
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",  # no page tree, no end
        b"%PDF-",
    ],
)
def test_garbage_after_the_header_is_damaged(data):
    assert refused(data).code == "pdf_damaged"


def test_unexpected_parser_error_becomes_damaged(monkeypatch):
    def explode(self, *args, **kwargs):
        raise RuntimeError("parser exploded")

    monkeypatch.setattr(pymupdf.Document, "load_page", explode)
    error = refused(simple_pdf())
    assert error.code == "pdf_damaged"
    assert "parser exploded" in error.detail


@pytest.mark.parametrize("user_pw", ["user", ""])
def test_encrypted_with_or_without_user_password(user_pw):
    data = pdfgen.encrypted_pdf(user_pw=user_pw)
    doc = pymupdf.open(stream=data, filetype="pdf")
    assert doc.needs_pass or (doc.metadata or {}).get("encryption")  # really encrypted
    assert refused(data).code == "pdf_encrypted"


def test_no_pages():
    data = pdfgen.zero_page_pdf()
    assert pymupdf.open(stream=data, filetype="pdf").page_count == 0
    assert refused(data).code == "pdf_no_pages"


def test_too_many_pages():
    error = refused(simple_pdf(3), max_pages=2)
    assert error.code == "pdf_too_many_pages"
    assert error.params == {"pages": 3, "limit": 2}
    assert pdf_intake.DEFAULT_MAX_PAGES == 500


def test_flate_bomb_is_refused(bomb):
    assert 250 * 1024 < len(bomb) < 320 * 1024
    assert refused(bomb).code == "pdf_bomb"


def run_bounded(tmp_path, data, call):
    """Run ``call`` (source text of an expression using ``data``) in a child process, so
    that its peak RSS is its own; return its PdfInvalid code (or None) and how much its peak
    RSS grew, in KiB."""
    path = tmp_path / "input.pdf"
    path.write_bytes(data)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    script = (
        "import json, resource, sys\n"
        f"sys.path.insert(0, {root!r})\n"
        "from engine import pades, pdf_intake\n"
        "from engine.errors import PdfInvalid\n"
        f"data = open({str(path)!r}, 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        f"    outcome = {call}; code = getattr(outcome, 'refusal', None)\n"
        "except PdfInvalid as exc:\n"
        "    code = exc.code\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'code': code, 'growth_kib': after - before}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["code"], report["growth_kib"]


def test_flate_bomb_memory_stays_bounded(tmp_path, bomb):
    """Inflating 300 MB would need 300 MB; the bounded inflater stays far below."""
    code, growth_kib = run_bounded(tmp_path, bomb, "pdf_intake.inspect_pdf(data)")
    assert code == "pdf_bomb"
    assert growth_kib < 48 * 1024


def test_gigabyte_cross_reference_stream_is_refused_in_bounded_memory(tmp_path):
    """A 4 MB file whose cross-reference stream inflates to 4 GiB: every parser inflates it
    on opening (pyHanko all of it, in memory), so a check that let it through would need
    gigabytes here."""
    bomb = pdfgen.xref_stream_bomb(4 << 30)
    assert len(bomb) < 5 * 1024 * 1024
    code, growth_kib = run_bounded(tmp_path, bomb, "pdf_intake.inspect_pdf(data)")
    assert code == "pdf_bomb"
    assert growth_kib < 64 * 1024


def test_many_streams_together_are_a_bomb():
    stream = pdfgen.stream_object(b"/Filter /FlateDecode", pdfgen.deflate_zeros(1_000_000))
    data = pdfgen.one_page_raw_pdf(extra_objects=[stream] * 3)
    assert check_streams(data) == 3_000_000
    with pytest.raises(PdfInvalid) as caught:
        check_streams(data, max_stream=2_000_000, max_total=2_500_000)
    assert caught.value.code == "pdf_bomb"
    with pytest.raises(PdfInvalid):
        check_streams(data, max_stream=999_999)


@pytest.mark.parametrize(
    "filters, encode",
    [
        (b"/FlateDecode", lambda raw: zlib.compress(raw, 9)),
        (
            b"[/ASCIIHexDecode /FlateDecode]",
            lambda raw: zlib.compress(raw, 9).hex().encode() + b">",
        ),
        (
            b"[/ASCII85Decode /FlateDecode]",
            lambda raw: __import__("base64").a85encode(zlib.compress(raw, 9)) + b"~>",
        ),
        (b"/LZWDecode", pdfgen.lzw_encode),
        (b"/RunLengthDecode", pdfgen.runlength_encode),
        (b"/Fl", lambda raw: zlib.compress(raw, 9)),  # abbreviated name
        (b"/Flate#44ecode", lambda raw: zlib.compress(raw, 9)),  # '#44' is 'D'
    ],
)
def test_every_expanding_filter_is_measured(filters, encode):
    raw = bytes(200_000) + b"tail" * 1000
    stream = pdfgen.stream_object(b"/Filter " + filters, encode(raw))
    data = pdfgen.one_page_raw_pdf(extra_objects=[stream])
    doc = pymupdf.open(stream=data, filetype="pdf")
    assert doc.xref_stream(5) == raw  # MuPDF agrees on what the stream holds
    assert check_streams(data) == len(raw)
    with pytest.raises(PdfInvalid) as caught:
        check_streams(data, max_stream=len(raw) - 1)
    assert caught.value.code == "pdf_bomb"


def test_indirect_filter_with_zlib_data_is_measured():
    stream = (
        b"<< /Filter 6 0 R /Length 7 0 R >>\nstream\n"
        + pdfgen.deflate_zeros(500_000)
        + b"\nendstream"
    )
    data = pdfgen.one_page_raw_pdf(extra_objects=[stream, b"/FlateDecode", b"0"])
    assert check_streams(data) == 500_000
    with pytest.raises(PdfInvalid):
        check_streams(data, max_stream=100_000)


def test_unmeasurable_streams_are_skipped():
    jpeg_like = pdfgen.stream_object(b"/Filter /DCTDecode", b"\xff\xd8\xff" + bytes(1000))
    broken = pdfgen.stream_object(b"/Filter /FlateDecode", b"not zlib at all")
    data = pdfgen.one_page_raw_pdf(extra_objects=[jpeg_like, broken])
    assert check_streams(data) == 0
    assert inspect_pdf(data).page_count == 1


def test_bomb_in_an_object_stream_is_caught_before_mupdf_opens_it():
    """MuPDF inflates object and cross-reference streams while opening: the raw scan must run
    first."""
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "hello")
    data = doc.tobytes(use_objstms=1, garbage=1)
    assert b"/ObjStm" in data
    assert inspect_pdf(data).page_count == 1
    # the same file with a monstrous object stream appended as an extra object
    bomb_stream = (
        b"99 0 obj\n"
        + pdfgen.stream_object(
            b"/Type /ObjStm /N 1 /First 5 /Filter /FlateDecode",
            pdfgen.deflate_zeros(120 * 1024 * 1024),
        )
        + b"\nendobj\n"
    )
    cut = data.rindex(b"startxref")
    with pytest.raises(PdfInvalid) as caught:
        inspect_pdf(data[:cut] + bomb_stream + data[cut:])
    assert caught.value.code == "pdf_bomb"


# --- bombs that hide from a naive scan ----------------------------------------------------
HIDDEN = 2 * 1024 * 1024  # what the hidden payloads inflate to; the limit is set below it


def flate_stream(dictionary, data, between=b" "):
    return (
        b"<< /Length %d %s >>%sstream\n" % (len(data), dictionary, between) + data + b"\nendstream"
    )


def padding(size=70 * 1024):
    return b"/Padding [" + b" " * size + b"]"


ZEROS = pdfgen.zlib_data(zeros=HIDDEN)

HIDDEN_BOMBS = {
    "two Flate filters": flate_stream(
        b"/Filter [/FlateDecode /FlateDecode]", zlib.compress(pdfgen.zlib_data(zeros=HIDDEN))
    ),
    "a comment between the dictionary and its data": flate_stream(
        b"/Filter /FlateDecode", ZEROS, between=b" % " + b"a long comment " * 5 + b"\n"
    ),
    "a dictionary padded beyond the window": flate_stream(
        b"/Filter /FlateDecode " + padding(), ZEROS
    ),
    "the filter behind a comment, and a decoy": flate_stream(
        b"/Filter %c\n/FlateDecode /Decoy (/Filter /DCTDecode)", ZEROS
    ),
    "a hex-escaped key": flate_stream(b"/Fil#74er /FlateDecode", ZEROS),
    "an endstream keyword inside the compressed data": flate_stream(
        b"/Filter /FlateDecode", pdfgen.zlib_data(b"\nendstream\nendobj\n", HIDDEN)
    ),
    "a stream keyword inside the compressed data": flate_stream(
        b"/Filter /FlateDecode", pdfgen.zlib_data(b">>\nstream\n", HIDDEN)
    ),
    "hexadecimal text with a padded dictionary": flate_stream(
        b"/Filter [/AHx /Fl] " + padding(), ZEROS.hex().encode() + b">"
    ),
    "ASCII85 text with a padded dictionary": flate_stream(
        b"/Filter [/A85 /Fl] " + padding(), __import__("base64").a85encode(ZEROS) + b"~>"
    ),
}


@pytest.mark.parametrize("name", sorted(HIDDEN_BOMBS))
def test_hidden_bombs_are_measured_before_any_parser(name):
    data = pdfgen.page_with_content(HIDDEN_BOMBS[name])
    doc = pymupdf.open(stream=data, filetype="pdf")
    assert len(doc.xref_stream(4)) >= HIDDEN, "MuPDF does inflate it"
    doc.close()
    with pytest.raises(PdfInvalid) as caught:
        check_streams(data, max_stream=HIDDEN // 2)
    assert caught.value.code == "pdf_bomb"


@pytest.mark.parametrize(
    "filters, encode",
    [
        (b"/LZWDecode", pdfgen.lzw_encode),
        (b"/RunLengthDecode", pdfgen.runlength_encode),
        (b"[/FlateDecode /LZWDecode]", lambda raw: zlib.compress(pdfgen.lzw_encode(raw))),
    ],
)
def test_streams_as_mupdf_reads_them_are_measured(filters, encode):
    """What a raw scan cannot see (an LZW or RunLength stream whose dictionary is padded
    beyond its window) is measured once MuPDF opened the file, before anything decodes it."""
    raw = bytes(HIDDEN // 8)  # LZW-encoded in Python: kept small
    data = pdfgen.page_with_content(
        flate_stream(b"/Filter " + filters + b" " + padding(), encode(raw))
    )
    doc = pymupdf.open(stream=data, filetype="pdf")
    try:
        assert doc.xref_stream(4) == raw
        with pytest.raises(PdfInvalid) as caught:
            pdf_streams.check_document_streams(doc, max_stream=len(raw) // 2)
        assert caught.value.code == "pdf_bomb"
        assert pdf_streams.check_document_streams(doc) == len(raw)
    finally:
        doc.close()


def test_inspect_pdf_runs_the_document_check():
    raw = bytes(HIDDEN // 8)
    data = pdfgen.page_with_content(
        flate_stream(b"/Filter /LZWDecode " + padding(), pdfgen.lzw_encode(raw))
    )
    with patch.object(pdf_streams, "MAX_STREAM_BYTES", len(raw) // 2):
        assert refused(data).code == "pdf_bomb"
    assert inspect_pdf(data).page_count == 1


@pytest.mark.parametrize(
    "name, stream",
    [
        (
            "Flate output that starts like zlib data",
            flate_stream(
                b"/Filter /FlateDecode", pdfgen.zlib_data(b"\x78\x9cnot zlib after all", HIDDEN)
            ),
        ),
        (
            "a second filter that stops at once",
            flate_stream(
                b"/Filter [/FlateDecode /ASCIIHexDecode]", pdfgen.zlib_data(b"<not hex>", HIDDEN)
            ),
        ),
        (
            "a second filter that ends early",
            flate_stream(
                b"/Filter [/FlateDecode /RunLengthDecode]", pdfgen.zlib_data(b"\x00a\x80", HIDDEN)
            ),
        ),
    ],
)
def test_every_filter_is_measured_to_its_end(name, stream):
    """pyHanko decodes each filter's data in full before the next filter: a later filter (or
    a guess about the decoded data) that stops early does not stop the measure."""
    with pytest.raises(PdfInvalid) as caught:
        check_streams(pdfgen.page_with_content(stream), max_stream=HIDDEN - 1)
    assert caught.value.code == "pdf_bomb"


def test_too_many_filters_on_one_stream():
    data = b"x" * 100
    for _i in range(17):
        data = zlib.compress(data)
    stream = flate_stream(b"/Filter [" + b"/Fl " * 17 + b"]", data)
    with pytest.raises(PdfInvalid) as caught:
        check_streams(pdfgen.page_with_content(stream))
    assert caught.value.code == "pdf_bomb"


def test_too_many_filter_chains_near_one_stream():
    decoys = b" ".join(b"/Filter [%s]" % (b"/Fl " * n) for n in range(1, 12))
    stream = flate_stream(decoys, zlib.compress(b"q Q"))
    with pytest.raises(PdfInvalid) as caught:
        check_streams(pdfgen.page_with_content(stream))
    assert caught.value.code == "pdf_bomb"


def test_overlapping_streams_cost_linear_work():
    """Each "stream" keyword below starts zlib data that runs through all the following ones
    (their keywords sit in stored blocks): measuring each to its end would take quadratic
    time. The scan stops when the decoders have read a few times the file."""
    segment = b"stream\n\x78\x01" + b"\x00\x00\x00\xff\xff" * 100 + b"\x00\x09\x00\xf6\xff"
    data = pdfgen.page_with_content(flate_stream(b"", b"q Q")) + segment * 20000
    with pytest.raises(PdfInvalid) as caught:
        check_streams(data)
    assert caught.value.code == "pdf_bomb"
    assert "over and over" in caught.value.detail


def test_many_small_streams_are_not_a_bomb():
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        pdfgen.stream_object(b"/Filter /FlateDecode", zlib.compress(b"BT ET")),
    ]
    for n in range(20000):
        objects.append(
            pdfgen.stream_object(b"", b"q 1 0 0 1 0 0 cm Q")
            if n % 2
            else pdfgen.stream_object(b"/Filter /FlateDecode", zlib.compress(b"q Q" * 10))
        )
    data = pdfgen.raw_pdf(objects)
    assert check_streams(data) == 5 + 10000 * 30
    assert inspect_pdf(data).page_count == 1
