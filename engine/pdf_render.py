"""Rendering one page of a PDF as an image for the signing screen.

The page is rendered by MuPDF as displayed (its /Rotate applied, annotations with an
appearance included, on white), scaled to ``width_px`` pixels wide. JPEG and WEBP are encoded
by Pillow (libjpeg-turbo: about 8x faster than MuPDF's own JPEG writer on a 1000 px page), PNG
by MuPDF (faster than Pillow at a similar size); WEBP only when Pillow has it. Callers pass
the copy returned by :func:`.pdf_markers.hide_markers`, so anchors never show.
"""

import io
import math

import pymupdf
from PIL import Image

from .errors import RenderInvalid
from .mupdf_lock import serialized
from .pdf_intake import open_document

MIN_WIDTH_PX = 16
MAX_WIDTH_PX = 4000
MAX_PIXELS = 24_000_000  # a very tall page is rendered narrower rather than huge


def _webp_supported():
    try:
        from PIL import features

        return bool(features.check("webp"))
    except Exception:  # a Pillow built without the codec: no WEBP
        return False


FORMATS = ("jpeg", "png", "auto") + (("webp",) if _webp_supported() else ())
# 'auto': a page of text and line art becomes a 32-colour PNG (sharp, a third of the JPEG's
# size), a photo or scan stays a JPEG: whichever palette PNG is clearly smaller wins.
AUTO_PALETTE_COLORS = 32
AUTO_PNG_RATIO = 0.8
_ALIASES = {"jpg": "jpeg"}


@serialized
def render_page(data, page, *, width_px=1000, fmt="jpeg", quality=80):
    """Return page ``page`` (1-based) of the PDF ``data`` as image bytes in ``fmt`` ('jpeg',
    'png', 'auto' (palette PNG for text pages, JPEG for photos) or, when supported, 'webp'), ``width_px`` wide, ``quality`` 1-100 (JPEG/WEBP).

    Raises :class:`~.errors.RenderInvalid` for a page out of range or a bad option, and
    :class:`~.errors.PdfInvalid` for unreadable input."""
    fmt = _ALIASES.get(str(fmt).lower(), str(fmt).lower())
    if fmt not in FORMATS:
        raise RenderInvalid(f"format {fmt!r}", code="render_bad_option", option="fmt", value=fmt)
    if not _is_int(width_px) or not MIN_WIDTH_PX <= width_px <= MAX_WIDTH_PX:
        raise RenderInvalid(
            f"width {width_px!r}", code="render_bad_option", option="width_px", value=width_px
        )
    if not _is_int(quality) or not 1 <= quality <= 100:
        raise RenderInvalid(
            f"quality {quality!r}", code="render_bad_option", option="quality", value=quality
        )
    doc = open_document(data)
    try:
        if not _is_int(page) or not 1 <= page <= doc.page_count:
            raise RenderInvalid(
                f"page {page!r} of {doc.page_count}",
                code="render_bad_page",
                page=page,
                pages=doc.page_count,
            )
        pix = _pixmap(doc.load_page(page - 1), width_px)
        if fmt == "png":
            return pix.tobytes("png")
        if fmt == "auto":
            return _encode_auto(pix, quality)
        return _encode(pix, fmt, quality)
    finally:
        doc.close()


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _pixmap(page, width_px):
    rect = page.rect
    zoom = width_px / rect.width
    if rect.width * rect.height * zoom * zoom > MAX_PIXELS:
        zoom = math.sqrt(MAX_PIXELS / (rect.width * rect.height))
    return page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False, annots=True)


def _encode(pix, fmt, quality):
    image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    out = io.BytesIO()
    if fmt == "jpeg":
        image.save(out, "JPEG", quality=quality)
    else:
        image.save(out, "WEBP", quality=quality, method=2)
    return out.getvalue()


def _encode_auto(pix, quality):
    image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG", quality=quality)
    palette = image.quantize(
        colors=AUTO_PALETTE_COLORS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    png = io.BytesIO()
    palette.save(png, "PNG", compress_level=6)
    if png.tell() < AUTO_PNG_RATIO * jpeg.tell():
        return png.getvalue()
    return jpeg.getvalue()


def image_mimetype(data):
    """The MIME type of image bytes produced by :func:`render_page`."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"
