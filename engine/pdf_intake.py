"""Checking an uploaded PDF before anything is stored.

:func:`inspect_pdf` refuses, each with its own :class:`~.errors.PdfInvalid` code, in this order:

1. ``pdf_empty`` (no bytes), ``pdf_too_large`` (more than ``max_bytes``: checked first, on the
   length alone);
2. ``pdf_not_pdf``: no ``%PDF-`` header within the first 1024 bytes (a GIF renamed .pdf, ...);
3. ``pdf_bomb``: a stream that inflates to more than :data:`MAX_STREAM_BYTES`, or all streams
   together to more than :data:`MAX_TOTAL_BYTES` (``pdf_streams.check_streams``). This runs
   on the RAW bytes, before MuPDF sees the file (MuPDF inflates cross-reference and object
   streams while opening, fully and in memory), with decoders that count their output
   without keeping it, so that memory stays bounded whatever the ratio;
4. ``pdf_damaged``: MuPDF cannot open it, even with its repair; or it had to be repaired and
   its end is missing (no ``%%EOF`` near the end: a truncated upload), or repair found no
   page; or a page cannot be loaded. Anything unexpected from the parser lands here;
5. ``pdf_encrypted``: any encryption, with or without a user password;
6. ``pdf_bomb`` again, for the streams that chain filters or use LZW or RunLength, measured
   as MuPDF reads them (``pdf_streams.check_document_streams``) before anything decodes them;
7. ``pdf_no_pages``, ``pdf_too_many_pages``.

Every PDF that comes from outside (an upload, a file to verify, a document a signature
service sends back) goes through :func:`inspect_pdf` (or at least :func:`check_streams`)
before any other parser reads it.
"""

import hashlib
from dataclasses import dataclass

import pymupdf

from .errors import PdfInvalid
from .mupdf_lock import serialized
from .pdf_streams import MAX_STREAM_BYTES, MAX_TOTAL_BYTES, check_document_streams, check_streams

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PAGES = 500

HEADER_WINDOW = 1024

__all__ = [  # check_streams and the limits live in pdf_streams; callers find them here too
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PAGES",
    "MAX_STREAM_BYTES",
    "MAX_TOTAL_BYTES",
    "PageInfo",
    "PdfInfo",
    "check_streams",
    "inspect_pdf",
    "open_document",
]


@dataclass(frozen=True)
class PageInfo:
    number: int  # 1-based
    width: float  # points, as displayed (after /Rotate)
    height: float
    rotation: int  # 0, 90, 180 or 270


@dataclass(frozen=True)
class PdfInfo:
    page_count: int
    pages: tuple  # of PageInfo
    sha256: str  # hex digest of the exact input bytes
    size: int  # bytes
    producer: str


@serialized
def inspect_pdf(data, *, max_bytes=DEFAULT_MAX_BYTES, max_pages=DEFAULT_MAX_PAGES):
    """Validate ``data`` (bytes) as an acceptable PDF and describe it; raise
    :class:`~.errors.PdfInvalid` (see the module docstring for the codes) otherwise."""
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes) or not data:
        raise PdfInvalid("no bytes", code="pdf_empty")
    size = len(data)
    if size > max_bytes:
        raise PdfInvalid(
            f"{size} bytes > {max_bytes}", code="pdf_too_large", size=size, limit=max_bytes
        )
    if data.find(b"%PDF-", 0, HEADER_WINDOW) < 0:
        raise PdfInvalid("no %PDF- header", code="pdf_not_pdf")
    try:
        check_streams(data)
    except PdfInvalid:
        raise
    except Exception as exc:  # a stream no decoder expected
        raise PdfInvalid(
            f"unreadable stream: {type(exc).__name__}: {exc}", code="pdf_damaged"
        ) from None

    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:
        raise PdfInvalid(f"not openable: {exc}", code="pdf_damaged") from None
    try:
        return _describe(doc, data, size, max_pages)
    except PdfInvalid:
        raise
    except Exception as exc:  # anything the parser throws at us
        raise PdfInvalid(f"unreadable: {type(exc).__name__}: {exc}", code="pdf_damaged") from None
    finally:
        doc.close()


def _describe(doc, data, size, max_pages):
    if not doc.is_pdf:
        raise PdfInvalid("not a PDF document", code="pdf_not_pdf")
    if doc.needs_pass or doc.is_encrypted or has_encryption(doc):
        raise PdfInvalid("encrypted", code="pdf_encrypted")
    check_document_streams(doc)
    count = doc.page_count
    if doc.is_repaired:
        if data.rfind(b"%%EOF", max(size - HEADER_WINDOW, 0)) < 0:
            raise PdfInvalid("repaired and no %%EOF at the end: truncated", code="pdf_damaged")
        if count < 1:
            raise PdfInvalid("repaired, no page found", code="pdf_damaged")
    if count < 1:
        raise PdfInvalid("no pages", code="pdf_no_pages")
    if count > max_pages:
        raise PdfInvalid(
            f"{count} pages > {max_pages}",
            code="pdf_too_many_pages",
            pages=count,
            limit=max_pages,
        )
    pages = []
    for pno in range(count):
        page = doc.load_page(pno)
        rect = page.rect
        if not (rect.width >= 1 and rect.height >= 1):
            raise PdfInvalid(f"page {pno + 1} has an empty box", code="pdf_damaged")
        pages.append(
            PageInfo(
                number=pno + 1,
                width=float(rect.width),
                height=float(rect.height),
                rotation=int(page.rotation) % 360,
            )
        )
    producer = (doc.metadata or {}).get("producer") or ""
    return PdfInfo(
        page_count=count,
        pages=tuple(pages),
        sha256=hashlib.sha256(data).hexdigest(),
        size=size,
        producer=str(producer),
    )


def has_encryption(doc):
    """Whether the open pymupdf ``doc`` has an /Encrypt dictionary (an owner password alone
    included, which MuPDF opens without asking)."""
    try:
        kind, _value = doc.xref_get_key(-1, "Encrypt")
    except Exception:
        return False
    return kind not in ("null", "")


@serialized
def open_document(data):
    """Open ``data`` (a PDF already accepted by :func:`inspect_pdf`) with pymupdf, raising
    :class:`~.errors.PdfInvalid` (``pdf_empty``, ``pdf_not_pdf``, ``pdf_damaged``,
    ``pdf_encrypted``, ``pdf_no_pages``) instead of the parser's own errors. No bomb check
    here: that is inspect_pdf's job, once, on upload. The caller closes the document."""
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes) or not data:
        raise PdfInvalid("no bytes", code="pdf_empty")
    if data.find(b"%PDF-", 0, HEADER_WINDOW) < 0:
        raise PdfInvalid("no %PDF- header", code="pdf_not_pdf")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:
        raise PdfInvalid(f"not openable: {exc}", code="pdf_damaged") from None
    if not doc.is_pdf:
        doc.close()
        raise PdfInvalid("not a PDF document", code="pdf_not_pdf")
    if doc.needs_pass or doc.is_encrypted:
        doc.close()
        raise PdfInvalid("encrypted", code="pdf_encrypted")
    if doc.page_count < 1:
        doc.close()
        raise PdfInvalid("no pages", code="pdf_no_pages")
    return doc
