"""Signature image checks.

A signature (or initials) image arrives from a browser as raw bytes, as base64, or as a data URL
(``data:image/png;base64,...``, what Odoo's portal signature widget sends). It is untrusted:
only PNG and JPEG are accepted, identified by their magic bytes AND by Pillow (a declared media
type is never trusted, SVG is refused), the pixel dimensions are read from the file header and
checked BEFORE any pixel is decoded (decompression bombs), and the accepted image is re-encoded
as a metadata-free RGBA PNG no larger than :data:`OUTPUT_MAX_SIDE` on either side.

Every refusal is an :class:`~.errors.ImageInvalid` with one of the codes ``image_empty``,
``image_format``, ``image_too_large``, ``image_dimensions`` or ``image_damaged``.
"""

import base64
import binascii
import io
import re
import struct
import urllib.parse

from PIL import Image, ImageOps

from .errors import ImageInvalid

MAX_IMAGE_BYTES = 1024 * 1024  # decoded size limit
MIN_WIDTH = 16
MIN_HEIGHT = 8
MAX_SIDE = 4096
MAX_PIXELS = 16_000_000
OUTPUT_MAX_SIDE = 1024

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"

# base64 of MAX_IMAGE_BYTES plus some slack for padding; checked before decoding
_MAX_BASE64_CHARS = (MAX_IMAGE_BYTES + 2) // 3 * 4 + 4
_WHITESPACE_RE = re.compile(rb"\s+")
_TEXT_RE = re.compile(rb"^[\x09-\x0d\x20-\x7e]*\Z")
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic...): not C4/C8/CC
_JPEG_SOF = frozenset(
    (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
)
_JPEG_STANDALONE = frozenset((0x01, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8))


def check_signature_image(data):
    """Check an untrusted signature image and return it as a clean PNG (bytes).

    ``data`` is raw bytes, base64 (``str`` or ASCII ``bytes``, as Odoo stores binaries) or a
    ``data:`` URL. Raises :class:`ImageInvalid` when the image is refused.
    """
    raw = _raw_bytes(data)
    kind = _sniff(raw)
    width, height = _header_size(raw, kind)
    _check_dimensions(width, height)
    image = _decode(raw, kind, width, height)
    return _reencode(image)


# --- input ------------------------------------------------------------------------------
def _raw_bytes(data):
    """Return the decoded image bytes of ``data`` (size-checked, not yet identified)."""
    if data is None or data is False:
        raise ImageInvalid("no image", code="image_empty")
    if isinstance(data, (bytes, bytearray, memoryview, str)) and len(data) > 2 * _MAX_BASE64_CHARS:
        # far beyond the limit in any encoding: refused before copying or decoding anything
        raise ImageInvalid(
            f"{len(data)} bytes or characters", code="image_too_large", limit=MAX_IMAGE_BYTES
        )
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if isinstance(data, bytes):
        if data.startswith(PNG_MAGIC) or data.startswith(JPEG_MAGIC):
            return _size_checked(data)
        text = data.strip()
        if not text:
            raise ImageInvalid("empty bytes", code="image_empty")
        if _looks_like_markup(text):
            raise ImageInvalid("markup (SVG/XML/HTML), not an image", code="image_format")
        if _TEXT_RE.match(text):  # base64 or a data URL stored as bytes (Odoo binaries)
            return _from_text(text)
        return _size_checked(data)  # some other binary: refused as a format by _sniff()
    if isinstance(data, str):
        try:
            text = data.strip().encode("ascii")
        except UnicodeEncodeError:
            if _looks_like_markup(data.strip().encode("utf-8", "replace")):
                raise ImageInvalid("markup, not an image", code="image_format") from None
            raise ImageInvalid("text is not base64", code="image_damaged") from None
        if not text:
            raise ImageInvalid("empty text", code="image_empty")
        if _looks_like_markup(text):
            raise ImageInvalid("markup (SVG/XML/HTML), not an image", code="image_format")
        return _from_text(text)
    raise ImageInvalid(f"unsupported input type {type(data).__name__}", code="image_damaged")


def _from_text(text):
    """Decode base64 or a data URL given as stripped ASCII bytes."""
    if text[:5].lower() == b"data:":
        header, sep, payload = text[5:].partition(b",")
        if not sep:
            raise ImageInvalid("data URL without a comma", code="image_damaged")
        params = [part.strip().lower() for part in header.split(b";")]
        if b"svg" in params[0]:
            raise ImageInvalid("SVG data URL", code="image_format")
        if b"base64" in params[1:]:
            return _b64decode(payload)
        if len(payload) > 3 * MAX_IMAGE_BYTES:
            raise ImageInvalid("data URL too long", code="image_too_large", limit=MAX_IMAGE_BYTES)
        return _size_checked(urllib.parse.unquote_to_bytes(payload))
    return _b64decode(text)


def _b64decode(text):
    compact = _WHITESPACE_RE.sub(b"", text)
    if not compact:
        raise ImageInvalid("empty base64", code="image_empty")
    if len(compact) > _MAX_BASE64_CHARS:
        raise ImageInvalid(
            "base64 longer than the size limit", code="image_too_large", limit=MAX_IMAGE_BYTES
        )
    if b"-" in compact or b"_" in compact:  # URL-safe alphabet
        compact = compact.translate(bytes.maketrans(b"-_", b"+/"))
    compact = compact.rstrip(b"=")
    if len(compact) % 4 == 1:
        raise ImageInvalid("base64 of impossible length", code="image_damaged")
    compact += b"=" * (-len(compact) % 4)
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ImageInvalid("not base64", code="image_damaged") from None
    return _size_checked(decoded)


def _size_checked(raw):
    if not raw:
        raise ImageInvalid("empty image", code="image_empty")
    if len(raw) > MAX_IMAGE_BYTES:
        raise ImageInvalid(
            f"{len(raw)} bytes", code="image_too_large", size=len(raw), limit=MAX_IMAGE_BYTES
        )
    return raw


def _looks_like_markup(head):
    """True for SVG, XML or HTML text (possibly with a BOM), and for gzip (SVGZ)."""
    head = head[:1024]
    if head.startswith(b"\x1f\x8b"):
        return True
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        if head.startswith(bom):
            head = head[len(bom) :]
    head = head.replace(b"\x00", b"").lstrip()
    return head.startswith(b"<") or b"<svg" in head.lower()


# --- identification ----------------------------------------------------------------------
def _sniff(raw):
    """Return 'PNG' or 'JPEG' from the magic bytes, or refuse the format."""
    if raw.startswith(PNG_MAGIC):
        return "PNG"
    if raw.startswith(JPEG_MAGIC):
        return "JPEG"
    if _looks_like_markup(raw):
        detail = "SVG" if b"<svg" in raw[:4096].lower() else "markup"
        raise ImageInvalid(detail, code="image_format")
    if raw[:6] in (b"GIF87a", b"GIF89a"):
        raise ImageInvalid("GIF", code="image_format")
    raise ImageInvalid("not PNG or JPEG", code="image_format")


def _header_size(raw, kind):
    """Read (width, height) from the file header without decoding any pixel."""
    if kind == "PNG":
        if len(raw) < 33 or raw[12:16] != b"IHDR":
            raise ImageInvalid("PNG without IHDR", code="image_damaged")
        return struct.unpack(">II", raw[16:24])
    return _jpeg_size(raw)


def _jpeg_size(raw):
    pos, end = 2, len(raw)
    while pos < end:
        if raw[pos] != 0xFF:
            raise ImageInvalid("JPEG marker expected", code="image_damaged")
        while pos < end and raw[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= end:
            break
        marker = raw[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            break
        if pos + 2 > end:
            break
        (length,) = struct.unpack(">H", raw[pos : pos + 2])
        if length < 2 or pos + length > end:
            break
        if marker in _JPEG_SOF:
            if length < 7:
                break
            height, width = struct.unpack(">HH", raw[pos + 3 : pos + 7])
            return width, height
        pos += length
    raise ImageInvalid("JPEG without a frame header", code="image_damaged")


def _check_dimensions(width, height):
    if (
        width < MIN_WIDTH
        or height < MIN_HEIGHT
        or width > MAX_SIDE
        or height > MAX_SIDE
        or width * height > MAX_PIXELS
    ):
        raise ImageInvalid(
            f"{width}x{height} px", code="image_dimensions", width=width, height=height
        )


# --- decoding ----------------------------------------------------------------------------
def _decode(raw, kind, width, height):
    """Fully decode the image with Pillow (dimensions already checked)."""
    try:
        if kind == "PNG":
            with Image.open(io.BytesIO(raw), formats=("PNG",)) as probe:
                probe.verify()  # walks every chunk and checks its CRC
        image = Image.open(io.BytesIO(raw), formats=(kind,))
        if image.format not in (kind, "MPO") or image.size != (width, height):
            raise ValueError(f"Pillow disagrees: {image.format} {image.size}")
        image.load()
        image = ImageOps.exif_transpose(image)
        return _to_rgba(image)
    except ImageInvalid:
        raise
    except Exception as exc:  # Pillow raises many kinds (OSError, SyntaxError, zlib.error...)
        raise ImageInvalid(f"undecodable {kind}: {exc}", code="image_damaged") from None


def _to_rgba(image):
    mode = image.mode
    if mode == "RGBA":
        return image
    if mode in ("I", "F") or mode.startswith("I;16"):
        # 16-bit / float greyscale: scale to 8 bits instead of clipping to white
        image = image.convert("I") if mode != "F" else image
        scale = 1 / 256 if mode != "F" else 1.0
        image = image.point(lambda value: value * scale).convert("L")
    elif mode not in ("1", "L", "LA", "P", "PA", "RGB", "RGBa", "La"):
        image = image.convert("RGB")  # CMYK, YCbCr, LAB, HSV...
    return image.convert("RGBA")


def _reencode(image):
    if max(image.size) > OUTPUT_MAX_SIDE:
        image.thumbnail((OUTPUT_MAX_SIDE, OUTPUT_MAX_SIDE), Image.Resampling.LANCZOS)
    clean = Image.new("RGBA", image.size)
    clean.paste(image)  # fresh image: no info, no ICC profile, no EXIF, no text chunks
    out = io.BytesIO()
    clean.save(out, format="PNG", compress_level=6)
    return out.getvalue()
