"""Stamping the signed values onto the original PDF.

Coordinates (project convention): a box is ``(page, x0, y0, x1, y1)``, page 1-based, in PDF
points with a top-left origin, in the page AS DISPLAYED (after its /Rotate).

How it works: everything stamped on one page is first drawn upright, in displayed coordinates,
on a page of an auxiliary PDF ("overlay") the size of the displayed page: text through a MuPDF
Story (HTML layout: shaping, bidi and per-glyph font fallback for any script), images with
``insert_image``, check marks as vector paths. The auxiliary PDF's fonts are subset once, then
each overlay is placed on its target page as a Form XObject, rotated to undo the page's
/Rotate. Anchor text in ``hide_rects`` is removed first (redaction of text glyphs only: images
and vector graphics untouched, no fill), so a value stamped over its anchor survives; link
annotations pointing to :data:`~.anchors.ANCHOR_LINK_PREFIX` are deleted. The result is one
clean full save (a single classic xref table), ready for a PAdES seal appended incrementally.

Fonts: DejaVu Sans (Latin, Greek, Cyrillic, Hebrew, Arabic, ...) when found on the system
(its 'liga' feature disabled so "fi" stays two letters in extracted text), else MuPDF's
built-in sans-serif; glyphs missing from it (CJK, ...) come from MuPDF's built-in Noto / Droid
fallback fonts. Only the glyphs used are embedded (subset).

Thread safety: PyMuPDF is not thread-safe; callers running several documents at once in one
process (threaded Odoo workers) should serialise calls into this module.
"""

import functools
import hashlib
import html
import io
import math
import os
import re
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import pymupdf

from .anchors import ANCHOR_LINK_PREFIX, FIELD_KINDS
from .errors import PdfInvalid, StampInvalid
from .mupdf_lock import serialized

IMAGE_KINDS = ("signature", "initials")
TEXT_KINDS = ("date", "text")

VALUE_COLOR = "#0b2a66"  # stamped values: dark blue ink
LABEL_COLOR = "#3c3c3c"  # signer name / time under a signature
CHECK_COLOR = (0.043, 0.165, 0.4)
OUTLINE_COLOR = (0.69, 0.09, 0.15)  # frames of places still to fill (a reviewer's copy)
OUTLINE_INK = "#b0172a"

TEXT_MAX_FONT = 11.0  # pt, text/date values
LABEL_MAX_FONT = 6.5  # pt, one line of the name/time label
BOX_PADDING = 1.5  # pt kept free inside every box
MAX_VALUE_CHARS = 2000  # longer display values are cut (with an ellipsis)

# Where DejaVu Sans is looked for (Debian/Ubuntu, Fedora/RHEL, Arch, Alpine, /usr/local).
FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/dejavu-sans-fonts",
    "/usr/share/fonts/TTF",
    "/usr/share/fonts/ttf-dejavu",
    "/usr/local/share/fonts",
    "/usr/local/share/fonts/dejavu",
)
FONT_FILE = "DejaVuSans.ttf"
SANS = "dsSans"  # CSS family name of the text font

_NO_OVERFLOW = pymupdf.mupdf.FZ_PLACE_STORY_FLAG_NO_OVERFLOW
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass(frozen=True)
class StampValue:
    """One value to stamp: the field box (displayed coordinates, top-left origin) and content."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    kind: str  # 'signature' | 'initials' | 'date' | 'text' | 'checkbox'
    text: str = ""  # date/text, already formatted by the caller
    image: bytes = b""  # PNG (or JPEG) for signature/initials, see images.check_signature_image
    checked: bool = False
    signer_name: str = ""  # printed small beneath signature/initials images
    signed_at_label: str = ""  # e.g. "2026-11-23 14:05 CET", printed with the name
    # A place still to fill, for a reviewer's copy (never a final document): a dashed frame
    # with ``text`` as a small caption inside; no image, no value.
    outline: bool = False


@serialized
def stamp_document(
    original: bytes,
    values: Sequence[StampValue],
    *,
    hide_rects: Sequence[tuple[int, float, float, float, float]] = (),
) -> bytes:
    """Return a new PDF: ``original`` with ``values`` stamped inside their boxes, the TEXT in
    ``hide_rects`` (page, x0, y0, x1, y1; displayed coordinates) removed, link annotations to
    ANCHOR_LINK_PREFIX deleted; one clean full save. ``original`` is never modified.

    Raises PdfInvalid (unreadable/encrypted PDF) or StampInvalid (a value or rect that does
    not fit the document)."""
    return compose(original, values, hide_rects=hide_rects)


# --- text for display ---------------------------------------------------------------------
_SPACES_RE = re.compile("[\t\n\r\x0b\x0c\x1c-\x1f\x85\u2028\u2029]")
# C0/C1 controls, DEL, zero-width space/joiner marks used for spoofing, bidi embeddings,
# overrides and isolates, BOM, lone surrogates, interlinear annotation and noncharacters.
_DROP_RE = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e"
    "\u2066-\u2069\ufeff\ud800-\udfff\ufff9-\ufffb\ufffe\uffff]"
)


def display_text(value, limit=MAX_VALUE_CHARS):
    """Make an untrusted value safe to lay out: controls, bidi overrides and line breaks go,
    whitespace is collapsed, and the result is cut to ``limit`` characters."""
    if value is None or value is False:
        return ""
    text = _DROP_RE.sub("", _SPACES_RE.sub(" ", str(value)))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "\u2026"
    return text


def story_escape(text, quote=False):
    """HTML-escape plain ``text`` for a MuPDF Story. MuPDF 1.28 decodes character references
    twice (in text and attributes: "&amp;lt;" shows as "<"), so when it does, '&' is escaped
    twice too and the text shows literally."""
    escaped = html.escape(text, quote=quote)
    if "&" in text and _entities_decoded_twice():
        escaped = escaped.replace("&amp;", "&amp;amp;")
    return escaped


@functools.lru_cache(maxsize=1)
def _entities_decoded_twice():
    """Probe (once per process) whether this MuPDF decodes character references twice."""
    mupdf = pymupdf.mupdf
    story = pymupdf.Story("<p>&amp;amp;</p>")
    story.place(pymupdf.Rect(0, 0, 200, 50))
    display_list = mupdf.FzDisplayList(mupdf.FzRect(0, 0, 200, 50))
    device = pymupdf.DeviceWrapper(display_list)
    story.draw(device)
    mupdf.fz_close_device(device.this)
    page = pymupdf.DisplayList(display_list).get_textpage()
    text = mupdf.fz_new_buffer_from_stext_page(page).fz_buffer_extract()
    return b"amp" not in text


# --- fonts --------------------------------------------------------------------------------
@dataclass(frozen=True)
class FontSet:
    """The text font found on this system (read once per process) and its CSS."""

    data: bytes  # DejaVu Sans, ligatures off; b"" -> MuPDF's built-in sans-serif
    css: str  # @font-face rule ('' for the built-in)
    family: str  # CSS font-family value

    def archive(self):
        """A new Story archive holding the font file."""
        archive = pymupdf.Archive()
        if self.data:
            archive.add(self.data, FONT_FILE)
        return archive

    @functools.cached_property
    def measure(self):
        """A pymupdf.Font with the text font's metrics (for :func:`breakable`)."""
        if self.data:
            try:
                return pymupdf.Font(fontbuffer=self.data)
            except Exception:  # unreadable font: measure with the built-in instead
                pass
        return pymupdf.Font("helv")

    @functools.cached_property
    def _advances(self):
        return {}

    def advance(self, char):
        """Advance width of ``char`` in em (1.0 for glyphs the font lacks), memoised."""
        width = self._advances.get(char)
        if width is None:
            code = ord(char)
            font = self.measure
            width = font.glyph_advance(code) if font.has_glyph(code) else 1.0
            if len(self._advances) < 65536:
                self._advances[char] = width
        return width


@functools.lru_cache(maxsize=4)
def fonts(font_dirs=FONT_DIRS):
    """Find DejaVu Sans in ``font_dirs`` (cached per process); without it the built-in
    sans-serif is used."""
    for directory in font_dirs:
        try:
            with open(os.path.join(directory, FONT_FILE), "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        if data[:4] in (b"\x00\x01\x00\x00", b"true", b"OTTO"):
            return FontSet(
                data=without_ligatures(data),
                css="@font-face {font-family: %s; src: url(%s);}" % (SANS, FONT_FILE),
                family=f"{SANS}, sans-serif",
            )
    return FontSet(data=b"", css="", family="sans-serif")


def without_ligatures(data):
    """Return the TrueType/OpenType ``data`` with its GSUB 'liga' feature renamed, so shaping
    keeps "fi", "fl", "ff"... as separate glyphs: extracted and copied text then reads
    "Certificate", not "Certiﬁcate". Required ligatures ('rlig', Arabic) stay. On any
    surprise the font is returned unchanged."""
    try:
        out = bytearray(data)
        (num_tables,) = struct.unpack_from(">H", data, 4)
        for index in range(num_tables):
            record = 12 + 16 * index
            if data[record : record + 4] != b"GSUB":
                continue
            (table,) = struct.unpack_from(">I", data, record + 8)
            (feature_list,) = struct.unpack_from(">H", data, table + 6)
            feature_list += table
            (count,) = struct.unpack_from(">H", data, feature_list)
            for feature in range(count):
                tag = feature_list + 2 + 6 * feature
                if out[tag : tag + 4] == b"liga":
                    out[tag : tag + 4] = b"lig_"  # sorts where 'liga' did; unknown to shapers
        return bytes(out)
    except (struct.error, IndexError):
        return data


def breakable(text, max_width, font_size, font_set):
    """Insert zero-width spaces into runs too wide for ``max_width`` points at ``font_size``
    (MuPDF's layout never breaks inside a word), so very long tokens wrap instead of
    overflowing. Runs that fit are left untouched."""
    if not text or max_width <= 0:
        return text
    out = []
    limit = max_width * 0.9 / font_size  # in em
    for token in re.split(r"(\s+)", text):
        if not token or token.isspace() or len(token) * 1.05 <= limit:
            out.append(token)
            continue
        run, start, pieces = 0.0, 0, []
        for index, char in enumerate(token):
            width = font_set.advance(char)
            if run + width > limit and index > start and not _is_combining(char):
                pieces.append(token[start:index])
                start, run = index, 0.0
            run += width
        pieces.append(token[start:])
        out.append("\u200b".join(pieces))
    return "".join(out)


def _is_combining(char):
    return unicodedata.combining(char) != 0 or unicodedata.category(char) in ("Mn", "Mc", "Me")


# --- the auxiliary document ---------------------------------------------------------------
class Aux:
    """An auxiliary PDF written page by page (overlays, certificate), finished once."""

    def __init__(self):
        self._buffer = io.BytesIO()
        self._writer = pymupdf.DocumentWriter(self._buffer)
        self.page_count = 0
        self._later = []  # callables(aux_doc, cache), run after writing, before subsetting

    def begin_page(self, width, height):
        """Start a page and return (page index, device)."""
        device = self._writer.begin_page(pymupdf.Rect(0, 0, width, height))
        self.page_count += 1
        return self.page_count - 1, device

    def end_page(self):
        self._writer.end_page()

    def later(self, function):
        self._later.append(function)

    def finish(self):
        """Close the writer and return the auxiliary document (fonts subset), or None."""
        self._writer.close()
        if not self.page_count:
            return None
        doc = pymupdf.open("pdf", self._buffer.getvalue())
        cache = {}
        for function in self._later:
            function(doc, cache)
        if any(doc.get_page_fonts(pno) for pno in range(doc.page_count)):
            try:
                doc.subset_fonts()
            except Exception:  # keeps the whole fonts: a larger file, still correct
                pass
            fix_to_unicode(doc)
        return doc


_CMAP_BLOCK_RE = re.compile(rb"(\d+) begin(bfrange|bfchar)\s(.*?)end\2", re.S)
_CMAP_TOKEN_RE = re.compile(rb"<([0-9a-fA-F]+)>")


def fix_to_unicode(doc):
    """Repair the ToUnicode CMaps MuPDF writes for embedded fonts: it prints code points
    above U+FFFF as 5-6 hex digits (invalid: they must be UTF-16 surrogate pairs), which
    strict readers report as broken lines. Such entries are rewritten as bfchar pairs."""
    seen = set()
    for pno in range(doc.page_count):
        for font in doc.get_page_fonts(pno):
            xref = font[0]
            if xref in seen or font[2] != "Type0":
                continue
            seen.add(xref)
            kind, value = doc.xref_get_key(xref, "ToUnicode")
            if kind != "xref":
                continue
            cmap_xref = int(value.split()[0])
            cmap = doc.xref_stream(cmap_xref)
            fixed = _fixed_cmap(cmap)
            if fixed is not None:
                doc.update_stream(cmap_xref, fixed)


def _fixed_cmap(cmap):
    if not re.search(rb"<[0-9a-fA-F]{5,6}>", cmap or b""):
        return None
    moved = []  # (source code, utf-16 hex) for entries past the BMP

    def block(match):
        kind, content = match.group(2), match.group(3)
        size = 3 if kind == b"bfrange" else 2
        tokens = _CMAP_TOKEN_RE.findall(content)
        if b"[" in content or len(tokens) % size:
            return match.group(0)  # a form MuPDF does not write: leave it alone
        kept = []
        for start in range(0, len(tokens), size):
            entry = tokens[start : start + size]
            low, high, target = (entry[0], entry[0], entry[1]) if size == 2 else entry
            if len(target) <= 4:
                kept.append(b" ".join(b"<%s>" % token for token in entry))
                continue
            code = int(target, 16)
            for offset in range(int(high, 16) - int(low, 16) + 1):
                moved.append((int(low, 16) + offset, _utf16_hex(code + offset)))
        if not kept:
            return b""
        return b"%d begin%s\n%s\nend%s" % (len(kept), kind, b"\n".join(kept), kind)

    body = _CMAP_BLOCK_RE.sub(block, cmap)
    chunks = []
    for start in range(0, len(moved), 100):
        part = moved[start : start + 100]
        lines = b"\n".join(b"<%04x> <%s>" % (src, dst) for src, dst in part)
        chunks.append(b"%d beginbfchar\n%s\nendbfchar\n" % (len(part), lines))
    position = body.rfind(b"endcmap")
    if position < 0:
        return None
    return body[:position] + b"".join(chunks) + body[position:]


def _utf16_hex(code):
    if code <= 0xFFFF:
        return b"%04x" % code
    code -= 0x10000
    return b"%04x%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))


@dataclass(frozen=True)
class TextItem:
    """One text block: its HTML, the layout rect size, and the matrix placing it on a page."""

    html: str
    width: float
    height: float
    matrix: pymupdf.Matrix


class TextRun:
    """Text blocks drawn in order from ONE Story, so the font is parsed and embedded once.

    Each block is fitted alone first (a throw-away Story, layout only), then all blocks are
    concatenated with forced breaks between them: placing the combined Story into each
    block's rect in turn reproduces the fitted layout exactly. Blocks must be drawn in the
    order they were added.
    """

    BASE = 10.0  # pt; blocks are laid out at this size and scaled by their matrix

    def __init__(self, font_set):
        self.font_set = font_set
        self.archive = font_set.archive()
        self.css = (
            font_set.css
            + "\nbody {margin: 0; padding: 0;}"
            + "\n.blk {page-break-before: always; margin: 0; padding: 0;}"
            + "\n.blk p {margin: 0; padding: 0; line-height: 1.15; font-size: %spt;"
            " font-family: %s; font-weight: normal;}" % (self.BASE, font_set.family)
        )
        self.items = []

    @staticmethod
    def block(text, color, align="left"):
        """The HTML of one block of plain, already display-cleaned ``text``."""
        return '<div class="blk"><p style="color: %s; text-align: %s;">%s</p></div>' % (
            color,
            align,
            story_escape(text),
        )

    def fit(self, rect, text, *, max_font, color, align="left"):
        """Fit untrusted ``text`` into ``rect``: shrink until it fits (wrapping when the box
        is tall enough), at most ``max_font`` pt, vertically centred. Return a TextItem (not
        yet added) or None when there is nothing to draw or the box is too small for it."""
        text = display_text(text)
        if not text or rect.width <= 0 or rect.height <= 0:
            return None
        block = self.block(text, color, align)
        fitted = self._fit(block, rect.width, rect.height, max_font / self.BASE)
        if fitted is None:  # not even at 2 %: a degenerate box; drawing it would spill over
            return None
        scale, used = fitted
        top = rect.y0 + max((rect.height - used * scale) / 2, 0)
        return TextItem(
            block,
            rect.width / scale,
            rect.height / scale,
            pymupdf.Matrix(scale, 0, 0, scale, rect.x0, top),
        )

    def _fit(self, block, width, height, max_scale, min_scale=0.02):
        story = pymupdf.Story(block, user_css=self.css, archive=self.archive)

        def attempt(scale):
            story.reset()
            more, filled = story.place(
                pymupdf.Rect(0, 0, width / scale, height / scale), _NO_OVERFLOW
            )
            return more == 0, filled[3] - filled[1]

        fits, used = attempt(max_scale)
        if fits:
            return max_scale, used
        fits, used = attempt(min_scale)
        if not fits:
            return None
        low, high = min_scale, max_scale
        for _ in range(9):
            middle = math.sqrt(low * high)
            if attempt(middle)[0]:
                low = middle
            else:
                high = middle
        return low, attempt(low)[1]

    def add(self, item):
        if item is not None:
            self.items.append(item)
        return item

    def story(self):
        """The combined Story, or None when there is nothing to draw."""
        if not self.items:
            return None
        return pymupdf.Story(
            "".join(item.html for item in self.items), user_css=self.css, archive=self.archive
        )

    @staticmethod
    def draw(story, device, items):
        """Place and draw ``items`` (the next ones of ``story``, in order) on ``device``."""
        for item in items:
            story.place(pymupdf.Rect(0, 0, item.width, item.height))
            story.draw(device, item.matrix)


# --- validation ---------------------------------------------------------------------------
def open_pdf(original):
    """Open ``original`` (bytes-like, never modified) with pymupdf."""
    if isinstance(original, (bytearray, memoryview)):
        original = bytes(original)
    if not isinstance(original, bytes) or not original:
        raise PdfInvalid("no PDF bytes", code="pdf_empty")
    try:
        doc = pymupdf.open(stream=original, filetype="pdf")
    except Exception as exc:
        raise PdfInvalid(f"unreadable PDF: {exc}", code="pdf_damaged") from None
    if doc.needs_pass:
        doc.close()
        raise PdfInvalid("password protected", code="pdf_encrypted")
    if not doc.is_pdf or doc.page_count < 1:
        doc.close()
        raise PdfInvalid("no pages", code="pdf_no_pages")
    return doc


def _box(doc, page_rects, page, x0, y0, x1, y1):
    if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= doc.page_count:
        raise StampInvalid(
            f"page {page!r} of {doc.page_count}",
            code="stamp_bad_page",
            page=page,
            pages=doc.page_count,
        )
    try:
        coords = [float(v) for v in (x0, y0, x1, y1)]
    except (TypeError, ValueError):
        raise StampInvalid("non-numeric box", code="stamp_bad_box") from None
    if not all(math.isfinite(v) for v in coords):
        raise StampInvalid("non-finite box", code="stamp_bad_box")
    pno = page - 1
    if pno not in page_rects:
        page_rects[pno] = doc[pno].rect
    rect = pymupdf.Rect(*coords).normalize() & page_rects[pno]
    if rect.is_empty or rect.width < 0.5 or rect.height < 0.5:
        raise StampInvalid(f"empty box {coords} on page {page}", code="stamp_bad_box")
    return pno, rect


def _plan(doc, values, hide_rects):
    page_rects, by_page, hides = {}, {}, {}
    for value in values:
        if not isinstance(value, StampValue) or value.kind not in FIELD_KINDS:
            raise StampInvalid(f"bad value {value!r:.80}", code="stamp_bad_value")
        pno, rect = _box(doc, page_rects, value.page, value.x0, value.y0, value.x1, value.y1)
        if value.kind in IMAGE_KINDS and not value.outline:
            image = value.image
            if not isinstance(image, (bytes, bytearray)) or not (
                bytes(image[:8]) == _PNG_MAGIC or bytes(image[:3]) == _JPEG_MAGIC
            ):
                raise StampInvalid("signature without a PNG/JPEG image", code="stamp_bad_image")
        by_page.setdefault(pno, []).append((value, rect))
    for item in hide_rects:
        try:
            page, x0, y0, x1, y1 = item
        except (TypeError, ValueError):
            raise StampInvalid(f"bad hide rect {item!r:.80}", code="stamp_bad_box") from None
        pno, rect = _box(doc, page_rects, page, x0, y0, x1, y1)
        hides.setdefault(pno, []).append(rect)
    return page_rects, by_page, hides


# --- overlays -----------------------------------------------------------------------------
class _Overlays:
    """The values of each stamped page, drawn upright on auxiliary pages of the displayed
    page's size: text blocks through the shared TextRun, images and check marks afterwards on
    the finished auxiliary document."""

    def __init__(self, run, page_rects, by_page):
        self.page_rects = page_rects
        self.pages = []  # (pno, [TextItem], images, checks, frames)
        for pno in sorted(by_page):
            items, images, checks, frames = [], [], [], []
            for value, rect in by_page[pno]:
                inner = _inset(rect, BOX_PADDING)
                if value.outline:
                    frames.append(rect)
                    if value.text:
                        items.append(
                            run.add(
                                run.fit(
                                    inner,
                                    value.text,
                                    max_font=LABEL_MAX_FONT * 1.3,
                                    color=OUTLINE_INK,
                                    align="center",
                                )
                            )
                        )
                elif value.kind in TEXT_KINDS:
                    items.append(
                        run.add(
                            run.fit(inner, value.text, max_font=TEXT_MAX_FONT, color=VALUE_COLOR)
                        )
                    )
                elif value.kind == "checkbox":
                    if value.checked:
                        checks.append(rect)
                else:
                    image_rect, labels = _signature_label(run, inner, value)
                    items.extend(labels)
                    images.append((image_rect, bytes(value.image)))
            self.pages.append((pno, [i for i in items if i is not None], images, checks, frames))

    def write(self, aux, story):  # pylint: disable=method-required-super  # not a model
        """Write the overlay pages; return [(target pno, aux pno)]."""
        overlays = []
        for pno, items, images, checks, frames in self.pages:
            if not (items or images or checks or frames):  # only empty texts / unchecked boxes
                continue
            page_rect = self.page_rects[pno]
            aux_pno, device = aux.begin_page(page_rect.width, page_rect.height)
            TextRun.draw(story, device, items)
            aux.end_page()
            if images or checks or frames:
                aux.later(functools.partial(_decorate, aux_pno, images, checks, frames))
            overlays.append((pno, aux_pno))
        return overlays


def _inset(rect, amount):
    amount = min(amount, rect.width / 4, rect.height / 4)
    return pymupdf.Rect(rect.x0 + amount, rect.y0 + amount, rect.x1 - amount, rect.y1 - amount)


def _signature_label(run, inner, value):
    """Fit the name/time label at the bottom of ``inner``; return (rect left for the image,
    [TextItem])."""
    parts = [p for p in (display_text(value.signer_name), display_text(value.signed_at_label)) if p]
    if not parts:
        return inner, []
    lines = parts if len(parts) == 2 and inner.height >= 40 else [" \u00b7 ".join(parts)]
    band = min(max(inner.height * 0.28, 5.0), LABEL_MAX_FONT * 1.2 * len(lines), inner.height / 2)
    per_line = band / len(lines)
    top = inner.y1 - band
    items = []
    for index, line in enumerate(lines):
        line_rect = pymupdf.Rect(
            inner.x0, top + index * per_line, inner.x1, top + (index + 1) * per_line
        )
        item = run.fit(
            line_rect,
            line,
            max_font=min(LABEL_MAX_FONT, per_line / 1.2),
            color=LABEL_COLOR,
            align="center",
        )
        items.append(run.add(item))
    return pymupdf.Rect(inner.x0, inner.y0, inner.x1, top), items


def _decorate(aux_pno, images, checks, frames, aux_doc, image_xrefs):
    page = aux_doc[aux_pno]
    for rect, data in images:
        if rect.width < 1 or rect.height < 1:
            continue
        key = hashlib.sha256(data).digest()
        try:
            if key in image_xrefs:
                page.insert_image(rect, xref=image_xrefs[key], keep_proportion=True)
            else:
                image_xrefs[key] = page.insert_image(rect, stream=data, keep_proportion=True)
        except Exception as exc:
            raise StampInvalid(f"image not insertable: {exc}", code="stamp_bad_image") from None
    for rect in checks:
        _draw_check(page, rect)
    for rect in frames:
        shape = page.new_shape()
        shape.draw_rect(rect)
        shape.finish(color=OUTLINE_COLOR, width=0.9, dashes="[3 2] 0")
        shape.commit()


def _draw_check(page, rect):
    side = min(rect.width, rect.height) * 0.8
    centre = (rect.tl + rect.br) / 2
    origin = pymupdf.Point(centre.x - side / 2, centre.y - side / 2)
    points = [origin + (side * x, side * y) for x, y in ((0.12, 0.55), (0.4, 0.82), (0.9, 0.15))]
    shape = page.new_shape()
    shape.draw_polyline(points)
    shape.finish(
        color=CHECK_COLOR, width=max(side * 0.13, 0.6), lineCap=1, lineJoin=1, closePath=False
    )
    shape.commit()


def _show_rect(page):
    """The rect to give ``show_pdf_page`` so an overlay of the displayed page's size covers
    it exactly. PyMuPDF's ``transformation_matrix`` ignores the CropBox offset on rotated
    pages, so the PDF-space rect comes from MuPDF's own page transform (what rendering uses)
    and is expressed in the coordinates ``show_pdf_page`` expects."""
    mupdf = pymupdf.mupdf
    mediabox, ctm = mupdf.FzRect(), mupdf.FzMatrix()
    mupdf.pdf_page_transform(mupdf.pdf_page_from_fz_page(page.this), mediabox, ctm)
    ctm = pymupdf.Matrix(ctm.a, ctm.b, ctm.c, ctm.d, ctm.e, ctm.f)
    return page.rect * ~ctm * page.transformation_matrix


def _show_overlays(doc, aux_doc, overlays):
    for pno, aux_pno in overlays:
        page = doc[pno]
        page.show_pdf_page(
            _show_rect(page), aux_doc, aux_pno, keep_proportion=False, rotate=page.rotation
        )


# --- hiding anchors -----------------------------------------------------------------------
def _hide_text(doc, hides):
    for pno in sorted(hides):
        page = doc[pno]
        derotate = page.derotation_matrix
        for rect in hides[pno]:
            page.add_redact_annot(rect * derotate, fill=False)
        page.apply_redactions(
            images=pymupdf.PDF_REDACT_IMAGE_NONE,
            graphics=pymupdf.PDF_REDACT_LINE_ART_NONE,
            text=pymupdf.PDF_REDACT_TEXT_REMOVE,
        )


def _remove_anchor_links(doc):
    prefix = ANCHOR_LINK_PREFIX.lower()
    for pno in range(doc.page_count):
        if doc.xref_get_key(doc.page_xref(pno), "Annots")[0] == "null":
            continue
        page = doc[pno]
        for link in page.get_links():
            uri = link.get("uri") or ""
            if isinstance(uri, str) and uri.strip().lower().startswith(prefix):
                page.delete_link(link)


# --- composition --------------------------------------------------------------------------
def compose(original, values, *, hide_rects=(), extra=None):
    """Stamp ``values`` onto ``original``, hide anchors, append ``extra``'s pages; return the
    result of ONE full save.

    ``extra`` (the certificate) has ``prepare(run)``, which lays its pages out and adds its
    text blocks to the shared TextRun, and ``write(aux, story)``, which writes its pages into
    the auxiliary document after the overlays.
    """
    values = [values] if isinstance(values, StampValue) else list(values or ())
    doc = open_pdf(original)
    aux_doc = None
    try:
        page_rects, by_page, hides = _plan(doc, values, hide_rects)
        run = TextRun(fonts())
        overlays_plan = _Overlays(run, page_rects, by_page)
        if extra is not None:
            extra.prepare(run)
        story = run.story()
        aux = Aux()
        overlays = overlays_plan.write(aux, story)
        first_extra = aux.page_count
        if extra is not None:
            extra.write(aux, story)
        aux_doc = aux.finish()
        _hide_text(doc, hides)
        _remove_anchor_links(doc)
        _show_overlays(doc, aux_doc, overlays)
        if aux_doc is not None and aux_doc.page_count > first_extra:
            doc.insert_pdf(aux_doc, from_page=first_extra, to_page=aux_doc.page_count - 1)
        return save(doc)
    finally:
        if aux_doc is not None:
            aux_doc.close()
        doc.close()


def save(doc):
    """One clean full save: unused objects dropped, new streams compressed, one xref table.

    ``garbage=1`` only drops unreferenced objects: the duplicate-merging levels (3, 4) compare
    every object with every other and cost about 2 s on a 200-page document, for nothing we
    need (an image used twice is embedded once already)."""
    return doc.tobytes(garbage=1, deflate=True, use_objstms=0, encryption=pymupdf.PDF_ENCRYPT_KEEP)
