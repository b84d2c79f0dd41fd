"""Checking an uploaded PDF before anything is stored.

:func:`inspect_pdf` refuses, each with its own :class:`~.errors.PdfInvalid` code, in this order:

1. ``pdf_empty`` (no bytes), ``pdf_too_large`` (more than ``max_bytes``: checked first, on the
   length alone);
2. ``pdf_not_pdf``: no ``%PDF-`` header within the first 1024 bytes (a GIF renamed .pdf, ...);
3. ``pdf_bomb``: a stream that inflates to more than :data:`MAX_STREAM_BYTES`, or all streams
   together to more than :data:`MAX_TOTAL_BYTES`. This runs on the RAW bytes, before MuPDF
   sees the file (MuPDF inflates cross-reference and object streams while opening, fully and
   in memory), with ``zlib.decompressobj`` and ``max_length`` so that memory stays bounded
   whatever the ratio; FlateDecode (with ASCIIHex/ASCII85 in front), LZWDecode and
   RunLengthDecode are measured without keeping their output;
4. ``pdf_damaged``: MuPDF cannot open it, even with its repair; or it had to be repaired and
   its end is missing (no ``%%EOF`` near the end: a truncated upload), or repair found no
   page; or a page cannot be loaded. Anything unexpected from the parser lands here;
5. ``pdf_encrypted``: any encryption, with or without a user password;
6. ``pdf_no_pages``, ``pdf_too_many_pages``.
"""

import base64
import binascii
import hashlib
import re
import zlib
from dataclasses import dataclass

import pymupdf

from .errors import PdfInvalid
from .mupdf_lock import serialized

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PAGES = 500
MAX_STREAM_BYTES = 100 * 1024 * 1024  # one stream, decoded
MAX_TOTAL_BYTES = 250 * 1024 * 1024  # all streams together, decoded

HEADER_WINDOW = 1024
_CHUNK = 1024 * 1024  # inflate output per step

# "stream" keyword followed by its end of line, not the tail of "endstream"
_STREAM_RE = re.compile(rb"(?<![A-Za-z])stream(?:\r\n|\n|\r)")
_FILTER_RE = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[^\s/\[\]<>()%]+|\d+\s+\d+\s+R)")
_NAME_RE = re.compile(rb"/([^\s/\[\]<>()%]+)")
_HEX_ESCAPE_RE = re.compile(rb"#([0-9A-Fa-f]{2})")
_DICT_WINDOW = 4096  # how far back from "stream" its dictionary's "obj" is looked for

_FLATE = {b"FlateDecode", b"Fl"}
_LZW = {b"LZWDecode", b"LZW"}
_RUNLENGTH = {b"RunLengthDecode", b"RL"}
_ASCIIHEX = {b"ASCIIHexDecode", b"AHx"}
_ASCII85 = {b"ASCII85Decode", b"A85"}


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
        raise PdfInvalid(f"unreadable stream: {type(exc).__name__}: {exc}",
                         code="pdf_damaged") from None

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
            f"{count} pages > {max_pages}", code="pdf_too_many_pages", pages=count,
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
                number=pno + 1, width=float(rect.width), height=float(rect.height),
                rotation=int(page.rotation) % 360,
            )
        )
    producer = (doc.metadata or {}).get("producer") or ""
    return PdfInfo(
        page_count=count, pages=tuple(pages), sha256=hashlib.sha256(data).hexdigest(),
        size=size, producer=str(producer),
    )


def has_encryption(doc):
    """Whether the open pymupdf ``doc`` has an /Encrypt dictionary (an owner password alone
    included, which MuPDF opens without asking)."""
    try:
        kind, _value = doc.xref_get_key(-1, "Encrypt")
    except Exception:
        return False
    return kind not in ("null", "")


# --- decompression bombs ------------------------------------------------------------------
def check_streams(data, *, max_stream=MAX_STREAM_BYTES, max_total=MAX_TOTAL_BYTES):
    """Raise ``pdf_bomb`` if a stream of the raw PDF ``data`` decodes to more than
    ``max_stream`` bytes, or all of them to more than ``max_total``; return the decoded total.

    Streams are found by their ``stream`` keyword right after a dictionary's ``>>``, and their
    filters read from that dictionary (an indirect /Filter is treated as Flate when the data
    has a zlib header). The data handed to a decoder runs to the next ``endstream`` or the
    next ``stream`` keyword, whichever comes first, so the ranges never overlap and the work
    stays linear in the file size whatever it holds; decoders stop at their own end.
    """
    total = 0
    view = memoryview(data)
    for keyword, start, following in _stream_keywords(data):
        if not data[max(keyword - 32, 0) : keyword].rstrip().endswith(b">>"):
            continue  # the word "stream" somewhere else
        filters = _stream_filters(data, keyword)
        if not filters:
            continue
        end = data.find(b"endstream", start, following)
        if end < 0:
            end = following
        budget = min(max_stream, max_total - total)
        produced = _decoded_size(view[start:end], filters, budget)
        if produced is None:
            continue
        if produced > budget:
            which = "one stream" if budget == max_stream else "all streams"
            raise PdfInvalid(
                f"{which} inflate beyond {budget} bytes (stream at {keyword})",
                code="pdf_bomb",
            )
        total += produced
    return total


def _stream_keywords(data):
    """Yield ``(keyword position, data start, next keyword position or len(data))``."""
    previous = None
    for match in _STREAM_RE.finditer(data):
        if previous is not None:
            yield previous.start(), previous.end(), match.start()
        previous = match
    if previous is not None:
        yield previous.start(), previous.end(), len(data)


def _stream_filters(data, stream_pos):
    """The filter names of the stream whose keyword is at ``stream_pos`` ([] if none);
    ``[b"?"]`` for a /Filter that is an indirect reference."""
    obj = data.rfind(b"obj", max(stream_pos - _DICT_WINDOW, 0), stream_pos)
    if obj < 0:
        return []  # not an indirect object: no parser takes it for a stream
    head = data[obj:stream_pos]
    found = None
    for match in _FILTER_RE.finditer(head):  # the last /Filter before the data
        found = match
    if found is None:
        return []
    value = found.group(1)
    if value[:1] not in (b"/", b"["):
        return [b"?"]
    return [_HEX_ESCAPE_RE.sub(lambda m: bytes([int(m.group(1), 16)]), name)
            for name in _NAME_RE.findall(value)]


def _decoded_size(raw, filters, budget):
    """Decoded size of ``raw`` through ``filters`` (stops counting just past ``budget``);
    None when the stream cannot be measured (unknown or image-only filters, bad data)."""
    raw = bytes(raw) if len(filters) > 1 else raw
    for name in filters:
        if name in _ASCIIHEX or name in _ASCII85:
            raw = _ascii_decode(raw, name)
            if raw is None:
                return None
            continue
        if name in _FLATE:
            return _inflated_size(raw, budget)
        if name in _LZW:
            return _lzw_size(raw, budget)
        if name in _RUNLENGTH:
            return _runlength_size(raw, budget)
        if name == b"?":
            head = bytes(raw[:2])
            if len(head) == 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0:
                return _inflated_size(raw, budget)
            return None
        return None  # DCT, JPX, CCITT, JBIG2, Crypt...: bounded by the image, not measured
    return None


def _ascii_decode(raw, name):
    text = bytes(raw)
    try:
        if name in _ASCIIHEX:
            text = text.split(b">", 1)[0]
            text = bytes(c for c in text if c not in b" \t\r\n\x0c\x00")
            if len(text) % 2:
                text += b"0"
            return binascii.unhexlify(text)
        text = text.split(b"~>", 1)[0].strip()
        if text.startswith(b"<~"):
            text = text[2:]
        return base64.a85decode(text + b"~>", adobe=False, ignorechars=b" \t\r\n\x0c\x00~>")
    except (ValueError, binascii.Error):
        return None


def _inflated_size(raw, budget):
    inflater = zlib.decompressobj()
    produced = 0
    pending = raw
    step = 4 * _CHUNK
    try:
        for offset in range(0, len(raw), step):
            pending = raw[offset : offset + step]
            while pending:
                produced += len(inflater.decompress(pending, _CHUNK))
                if produced > budget:
                    return produced
                if inflater.eof:
                    return produced
                pending = inflater.unconsumed_tail
        while not inflater.eof:  # output still buffered inside zlib
            chunk = inflater.decompress(b"", _CHUNK)
            if not chunk:
                break
            produced += len(chunk)
            if produced > budget:
                return produced
    except zlib.error:
        return produced or None
    return produced


def _lzw_size(raw, budget):
    """Length of the LZW-decoded ``raw`` (PDF flavour, EarlyChange 1), computed from the code
    lengths only: nothing is materialised."""
    data = bytes(raw)
    lengths = [1] * 258  # 0..255 literals, 256 clear, 257 end
    size = bits = 9
    buffer = nbits = 0
    previous = -1
    produced = 0
    for byte in data:
        buffer = (buffer << 8) | byte
        nbits += 8
        while nbits >= bits:
            nbits -= bits
            code = (buffer >> nbits) & ((1 << bits) - 1)
            buffer &= (1 << nbits) - 1
            if code == 256:
                del lengths[258:]
                bits, previous = size, -1
                continue
            if code == 257:
                return produced
            if code < len(lengths):
                length = lengths[code]
            elif code == len(lengths) and previous >= 0:
                length = lengths[previous] + 1
            else:
                return produced or None  # corrupt
            produced += length
            if produced > budget:
                return produced
            if previous >= 0 and len(lengths) < 4096:
                lengths.append(lengths[previous] + 1)
            previous = code
            table = len(lengths) + 1  # EarlyChange
            bits = 12 if table >= 2048 else 11 if table >= 1024 else 10 if table >= 512 else 9
    return produced


def _runlength_size(raw, budget):
    data = bytes(raw)
    produced = index = 0
    end = len(data)
    while index < end:
        length = data[index]
        if length == 128:
            break
        if length < 128:
            produced += length + 1
            index += length + 2
        else:
            produced += 257 - length
            index += 2
        if produced > budget:
            break
    return produced


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
