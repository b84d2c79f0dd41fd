"""Finding where fields go in an uploaded PDF, and hiding the markers that said so.

Markers (grammar in :mod:`.anchors`):

* text anchors such as ``{{sign:Customer}}`` typed in the document;
* link anchors: link annotations to ``https://digital-sign.invalid/anchor/<kind>/<ROLE>``
  (wkhtmltopdf reports draw their text as outlines, only the links survive);
* arrows, with no role: an arrow glyph (:data:`.anchors.ARROW_GLYPHS`) in the text, or an
  image whose displayed size is :attr:`MarkerOptions.arrow_size` (within the tolerance).

Coordinates (project convention): PDF points, TOP-LEFT origin, in the page AS DISPLAYED (its
/Rotate applied). MuPDF gives text and images in the unrotated page space (relative to the
CropBox) and links already in the displayed space; ``page.rotation_matrix`` maps the former.

Cost: every page gets ONE MuPDF text extraction (text blocks plus image blocks); a page whose
text holds neither ``{`` nor an arrow glyph costs nothing more. Otherwise the grammar runs on
the page text and MuPDF's own search locates each match exactly (across spans and fonts, even
inside a word); when text and search cannot be paired one to one (an anchor broken over
lines, a stray ``{{``, adjacent arrows), the page is read per character (``rawdict``) and the
lines sharing a baseline are joined geometrically. Links are read from the page's link list.
"""

import math
import re
from dataclasses import dataclass, field
from types import MappingProxyType

import pymupdf

from . import anchors
from .mupdf_lock import serialized
from .pdf_intake import open_document

DEFAULT_FIELD_SIZES = MappingProxyType(
    {
        "signature": (100.0, 50.0),
        "initials": (60.0, 30.0),
        "date": (90.0, 16.0),
        "text": (160.0, 16.0),
        "checkbox": (12.0, 12.0),
    }
)
BOTTOM_ANCHORED = ("signature", "initials")  # the box grows upward from the anchor's line

_TEXT_FLAGS = (
    pymupdf.TEXT_PRESERVE_LIGATURES
    | pymupdf.TEXT_PRESERVE_WHITESPACE
    | pymupdf.TEXT_PRESERVE_IMAGES
    | pymupdf.TEXT_MEDIABOX_CLIP
)
_ARROWS = frozenset(anchors.ARROW_GLYPHS)


@dataclass(frozen=True)
class MarkerOptions:
    arrow_size: tuple = (18.0, 22.0)  # width x height (points) of an arrow IMAGE marker
    arrow_tolerance: float = 0.2  # relative tolerance on each dimension
    signature_size: tuple = (100.0, 50.0)  # box placed beside an arrow
    signature_offset: tuple = (2.0, 0.0)  # x, y from the arrow's right edge / top
    field_sizes: object = field(default_factory=lambda: DEFAULT_FIELD_SIZES, hash=False)

    def __post_init__(self):
        sizes = dict(DEFAULT_FIELD_SIZES)
        for kind, size in dict(self.field_sizes).items():
            sizes[kind] = tuple(float(v) for v in size)
        object.__setattr__(self, "field_sizes", MappingProxyType(sizes))
        for name in ("arrow_size", "signature_size", "signature_offset"):
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))


@dataclass(frozen=True)
class Placement:
    page: int  # 1-based
    x0: float  # the FIELD box: points, top-left origin, page as displayed
    y0: float
    x1: float
    y1: float
    kind: str  # one of anchors.FIELD_KINDS
    role: str  # "" for arrows
    mandatory: bool  # False for ':optional'
    source: str  # 'anchor' | 'link' | 'arrow_glyph' | 'arrow_image'
    marker: tuple  # (x0, y0, x1, y1) of the marker itself, same coordinates

    @property
    def box(self):
        return (self.x0, self.y0, self.x1, self.y1)


@serialized
def detect_markers(data, options=MarkerOptions()):  # noqa: B008 - frozen dataclass
    """Return the field placements found in the PDF ``data``, sorted by page, then top to
    bottom, then left to right. Raises :class:`~.errors.PdfInvalid` for unreadable input."""
    doc = open_document(data)
    try:
        found = []
        for pno in range(doc.page_count):
            found.extend(_reading_order(_page_placements(doc.load_page(pno), options)))
        return tuple(found)
    finally:
        doc.close()


@serialized
def hide_markers(data):
    """Return a copy of ``data`` where the glyphs of every TEXT anchor are removed (redaction
    of text only: no fill, images and line art untouched, other text on the line kept) and
    every anchor link annotation is deleted; arrows stay. ``data`` itself (the same object)
    when there is nothing to hide."""
    doc = open_document(data)
    try:
        changed = False
        for pno in range(doc.page_count):
            page = doc.load_page(pno)
            links = [_link_dict(link) for link in _links(page) if _is_anchor_uri(link.uri)]
            scan = _scan_text(page)
            if not links and not scan.anchors:
                continue
            changed = True
            for link in links:
                page.delete_link(link)
            if scan.anchors:
                for found in scan.anchors:
                    page.add_redact_annot(found.hide, fill=False)
                page.apply_redactions(
                    images=pymupdf.PDF_REDACT_IMAGE_NONE,
                    graphics=pymupdf.PDF_REDACT_LINE_ART_NONE,
                    text=pymupdf.PDF_REDACT_TEXT_REMOVE,
                )
        if not changed:
            return data
        return doc.tobytes(garbage=1, deflate=True)
    finally:
        doc.close()


# --- one page -----------------------------------------------------------------------------
def _reading_order(placements):
    """Top to bottom, then left to right within a line: markers whose vertical centre falls
    inside the span of the line being built share it (a link box and a text anchor on the same
    line rarely share their top edge)."""
    lines = []
    for item in sorted(placements, key=lambda p: (p.marker[1], p.marker[0])):
        centre = (item.marker[1] + item.marker[3]) / 2
        if lines and lines[-1][0] <= centre <= lines[-1][1]:
            line = lines[-1]
            line[1] = max(line[1], item.marker[3])
            line[2].append(item)
        else:
            lines.append([item.marker[1], item.marker[3], [item]])
    ordered = []
    for _top, _bottom, items in lines:
        ordered.extend(sorted(items, key=lambda p: (p.marker[0], p.marker[1], p.kind, p.role)))
    return ordered


def _page_placements(page, options):
    number = page.number + 1
    page_rect = page.rect
    to_display = page.rotation_matrix
    result = []

    for link in _links(page):
        parsed = anchors.parse_anchor_link(link.uri)
        if parsed:
            kind, role, optional = parsed
            result.append(
                _anchor_placement(
                    number,
                    page_rect,
                    pymupdf.Rect(link.rect),
                    kind,
                    role,
                    optional,
                    "link",
                    options,
                )
            )

    scan = _scan_text(page)
    for found in scan.anchors:
        result.append(
            _anchor_placement(
                number,
                page_rect,
                found.rect * to_display,
                found.kind,
                found.role,
                found.optional,
                "anchor",
                options,
            )
        )
    for raw_rect in scan.arrows:
        result.append(
            _arrow_placement(number, page_rect, raw_rect * to_display, "arrow_glyph", options)
        )
    for raw_rect in scan.images:
        rect = raw_rect * to_display
        if _arrow_sized(rect, options):
            result.append(_arrow_placement(number, page_rect, rect, "arrow_image", options))
    return _dedupe([item for item in result if item is not None])


def _links(page):
    links = []
    link = page.first_link
    while link:
        if link.uri:
            links.append(link)
        link = link.next
    return links


def _is_anchor_uri(uri):
    return isinstance(uri, str) and uri.strip().lower().startswith(anchors.ANCHOR_LINK_PREFIX)


def _link_dict(link):
    return {"kind": pymupdf.LINK_URI, "xref": link.xref, "from": link.rect, "uri": link.uri}


# --- text ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Anchor:
    kind: str
    role: str
    optional: bool
    rect: object  # pymupdf.Rect, unrotated page space: the anchor's glyphs
    hide: object  # pymupdf.Rect, unrotated: what to redact (touches these glyphs only)


@dataclass(frozen=True)
class _Scan:
    anchors: tuple = ()
    arrows: tuple = ()  # Rects of arrow glyphs, unrotated
    images: tuple = ()  # Rects of images, unrotated


def _scan_text(page):
    """Anchors, arrow glyphs and images of ``page``, in unrotated page space.

    One text extraction with images (``blocks``) per page; nothing more for a page whose text
    holds neither ``{`` nor an arrow glyph. Otherwise the grammar is applied to the page text
    and each anchor (and arrow glyph) is located by MuPDF's own search, which matches across
    spans and fonts and gives the exact extent of the match, even inside a word. When the text
    and the search do not line up one to one (an anchor broken over lines, a ``{{`` left
    unmatched, two arrows in a row, ...), the page is read per character instead and lines
    sharing a baseline are joined geometrically (:func:`_char_rows`)."""
    textpage = page.get_textpage(flags=_TEXT_FLAGS)
    blocks = textpage.extractBLOCKS()
    images = tuple(pymupdf.Rect(b[:4]) for b in blocks if b[6] == 1)
    text = "".join(b[4] for b in blocks if b[6] == 0)
    if not _maybe_marker(text):
        return _Scan(images=images)
    located = _search(textpage, text)
    if located is None:
        found, arrows = _match_chars(_char_rows(textpage.extractRAWDICT()))
    else:
        found, arrows = located
    return _Scan(anchors=tuple(found), arrows=tuple(arrows), images=images)


def _maybe_marker(text):
    return "{" in text or not _ARROWS.isdisjoint(text)


_OPENINGS_RE = re.compile(r"\{\s*\{")


def _search(textpage, text):
    """``(anchors, arrow rects)`` located with ``textpage.search``, or None when the search
    hits cannot be paired one to one with what the grammar found in ``text``."""
    matches = list(anchors.ANCHOR_RE.finditer(text))
    if len(_OPENINGS_RE.findall(text)) != len(matches):
        return None  # an opening the grammar did not take: maybe an anchor split over lines
    groups = {}
    for match in matches:
        needle = match.group(0)
        if "\n" in needle:
            return None
        # MuPDF's search ignores ASCII case and treats any whitespace run alike
        groups.setdefault(" ".join(needle.casefold().split()), []).append(match)
    found = []
    for group in groups.values():
        quads = textpage.search(group[0].group(0), quads=1)
        if len(quads) != len(group):
            return None
        for match, quad in zip(group, quads):
            kind, role, optional = anchors.parse_anchor(match.group(0))
            found.append(_Anchor(kind, role, optional, pymupdf.Rect(quad.rect), _band(quad)))
    arrows = []
    for glyph in anchors.ARROW_GLYPHS:
        count = text.count(glyph)
        if not count:
            continue
        quads = textpage.search(glyph, quads=1)
        if len(quads) != count:
            return None  # adjacent arrows come back as one hit
        arrows.extend(pymupdf.Rect(quad.rect) for quad in quads)
    return found, arrows


def _band(quad):
    """A thin band along the middle of the text run ``quad``, short of its ends by a little:
    redacting it removes the run's glyphs (MuPDF removes a glyph the rect overlaps enough), not
    the neighbours touching it on the line nor the lines above and below."""
    left = (quad.ul + quad.ll) / 2
    right = (quad.ur + quad.lr) / 2
    length = abs(right - left)
    if length <= 0:
        return pymupdf.Rect(quad.rect)
    unit = (right - left) / length
    inset = min(0.25, length / 4)
    start, end = left + unit * inset, right - unit * inset
    half = max(abs(quad.ul - quad.ll) * 0.1, 0.1)
    normal = pymupdf.Point(-unit.y, unit.x) * half
    return pymupdf.Quad(start - normal, end - normal, start + normal, end + normal).rect


def _join_rows(items):
    """``items``: (direction key, across, start, end, thickness, payload list). Items of the
    same direction whose centre lines are within a quarter of their thickness form a cluster;
    within a cluster, items closer than 3 thicknesses along the direction join one row."""
    items.sort(key=lambda item: (item[0], item[1]))
    clusters, cluster = [], []
    for item in items:
        if cluster and (
            item[0] != cluster[-1][0]
            or item[1] - cluster[-1][1] > 0.25 * max(item[4], cluster[-1][4])
        ):
            clusters.append(cluster)
            cluster = []
        cluster.append(item)
    if cluster:
        clusters.append(cluster)
    rows = []
    for cluster in clusters:
        cluster.sort(key=lambda item: item[2])
        row, row_end = None, None
        for _key, _across, start, end, thick, payload in cluster:
            if row is None or start - row_end > 3 * thick:
                row, row_end = [], end
                rows.append(row)
            row.extend(payload)
            row_end = max(row_end, end)
    return rows


def _bounds(rects):
    return (
        min(r[0] for r in rects),
        min(r[1] for r in rects),
        max(r[2] for r in rects),
        max(r[3] for r in rects),
    )


def _union(rects):
    return pymupdf.Rect(_bounds(rects))


def _char_rows(raw):
    """Rows of characters from a ``rawdict``: the lines sharing a direction and a baseline,
    joined in reading order. ``[[(char, Rect or None), ...], ...]``; a gap wider than a third
    of the font size between two joined lines becomes a space (``None`` bbox)."""
    items = []
    for block in raw.get("blocks", ()):
        if block.get("type", 0) != 0:
            continue
        for line in block.get("lines", ()):
            chars = [
                (char["c"], pymupdf.Rect(char["bbox"]))
                for span in line.get("spans", ())
                for char in span.get("chars", ())
            ]
            if not chars:
                continue
            size = max(span["size"] for span in line["spans"]) or 1.0
            dx, dy = line.get("dir", (1.0, 0.0))
            ox, oy = line["spans"][0]["origin"]
            first, last = chars[0][1], chars[-1][1]
            start = min(first.x0 * dx + first.y0 * dy, first.x1 * dx + first.y1 * dy)
            end = max(last.x0 * dx + last.y0 * dy, last.x1 * dx + last.y1 * dy)
            items.append(
                (
                    (round(dx, 2), round(dy, 2)),
                    -ox * dy + oy * dx,
                    start,
                    end,
                    size,
                    [(start, end, size, chars)],
                )
            )
    rows = []
    for joined in _join_rows(items):
        row, row_end = [], None
        for start, end, size, chars in joined:
            if row_end is not None and start - row_end > 0.3 * size:
                row.append((" ", None))
            row.extend(chars)
            row_end = end if row_end is None else max(row_end, end)
        rows.append(row)
    return rows


def _match_chars(rows):
    """Anchors and arrow glyphs of rows of characters: ``(anchors, arrows)``."""
    found, arrows = [], []
    for row in rows:
        text = "".join(char for char, _bbox in row)
        for match in anchors.ANCHOR_RE.finditer(text):
            boxes = [
                bbox
                for char, bbox in row[match.start() : match.end()]
                if bbox is not None and not char.isspace() and not bbox.is_empty
            ]
            if not boxes:
                continue
            kind, role, optional = anchors.parse_anchor(match.group(0))
            found.append(_Anchor(kind, role, optional, _union(boxes), _hide_chars(boxes)))
        for char, bbox in row:
            if char in _ARROWS and bbox is not None and not bbox.is_empty:
                arrows.append(pymupdf.Rect(bbox))
    return found, arrows


def _hide_chars(boxes):
    """A thin rect through the centres of the anchor's glyphs: the redaction removes exactly
    those glyphs, not the neighbours on the same line nor on the lines above and below."""
    xs = [(b.x0 + b.x1) / 2 for b in boxes]
    ys = [(b.y0 + b.y1) / 2 for b in boxes]
    pad = max(min(min(b.width, b.height) for b in boxes) * 0.1, 0.2)
    return pymupdf.Rect(min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)


def _arrow_sized(rect, options):
    width, height = options.arrow_size
    tolerance = options.arrow_tolerance
    return (
        abs(rect.width - width) <= tolerance * width
        and abs(rect.height - height) <= tolerance * height
    )


# --- field boxes --------------------------------------------------------------------------
def _anchor_placement(number, page_rect, rect, kind, role, optional, source, options):
    rect = pymupdf.Rect(rect).normalize()
    width, height = options.field_sizes.get(kind, DEFAULT_FIELD_SIZES[kind])
    if kind in BOTTOM_ANCHORED:
        box = pymupdf.Rect(rect.x0, rect.y1 - height, rect.x0 + width, rect.y1)
    else:
        box = pymupdf.Rect(rect.x0, rect.y0, rect.x0 + width, rect.y0 + max(rect.height, height))
    return _placement(number, page_rect, box, rect, kind, role, not optional, source)


def _arrow_placement(number, page_rect, rect, source, options):
    width, height = options.signature_size
    off_x, off_y = options.signature_offset
    x0, y0 = rect.x1 + off_x, rect.y0 + off_y
    box = pymupdf.Rect(x0, y0, x0 + width, y0 + height)
    return _placement(number, page_rect, box, rect, "signature", "", True, source)


def _placement(number, page_rect, box, marker, kind, role, mandatory, source):
    marker = pymupdf.Rect(marker)
    clipped = box & page_rect
    if clipped.is_empty or (marker & page_rect).is_empty:
        return None
    if not all(math.isfinite(v) for v in (*clipped, *marker)):
        return None
    return Placement(
        page=number,
        x0=_r(clipped.x0),
        y0=_r(clipped.y0),
        x1=_r(clipped.x1),
        y1=_r(clipped.y1),
        kind=kind,
        role=role,
        mandatory=mandatory,
        source=source,
        marker=(_r(marker.x0), _r(marker.y0), _r(marker.x1), _r(marker.y1)),
    )


def _r(value):
    return round(float(value), 2)


def _dedupe(placements):
    """One marker found twice is kept once: a link anchor whose text also survived as a text
    anchor (the text one is kept), or text drawn twice (fake bold). Same kind and role, and
    overlapping marker rects."""
    rank = {"anchor": 0, "arrow_glyph": 0, "arrow_image": 1, "link": 2}
    kept = []
    for item in sorted(placements, key=lambda p: rank[p.source]):
        if any(
            k.kind == item.kind
            and k.role.casefold() == item.role.casefold()
            and _overlap(k.marker, item.marker)
            for k in kept
        ):
            continue
        kept.append(item)
    return kept


def _overlap(a, b):
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])
