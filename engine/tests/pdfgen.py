"""PDF builders and visual probes for the engine tests (importable as ``import pdfgen``).

Pages are described in DISPLAYED coordinates (points, top-left origin, page as seen after its
/Rotate), and each producer writes the content so that it appears upright at that place on a
page whose MediaBox is the unrotated size and whose /Rotate is the one asked for, which is how
real rotated pages come out of scanners and office suites::

    data = make_pdf([Page("A4", rotation=90, items=[Text(72, 100, "{{sign:Customer}}")])],
                    producer="reportlab")

``producer`` is ``"reportlab"`` (one content stream per page, text objects with font switches)
or ``"pymupdf"`` (one ``insert_text`` per run, images and links through pymupdf's API). The
probes render with pymupdf, independently of text extraction: :func:`ink_bbox` tells where a
page is really inked.
"""

import io
import os
import zlib
from dataclasses import dataclass

import pymupdf
from PIL import Image as PILImage
from PIL import ImageDraw

from engine.testing.bombs import stored_block, xref_stream_bomb, zlib_data  # noqa: F401

PAGE_SIZES = {
    "A4": (595.28, 841.89),
    "A4L": (841.89, 595.28),
    "Letter": (612.0, 792.0),
    "A3L": (1190.55, 841.89),
    "A5": (419.53, 595.28),
}
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF")
_RL_FONTS = {
    "helv": "Helvetica",
    "bold": "Helvetica-Bold",
    "cour": "Courier",
    "dejavu": "DejaVuSans",
}
_MU_FONTS = {"helv": "helv", "bold": "hebo", "cour": "cour", "dejavu": "dejavu"}


def dejavu_path():
    """Path of DejaVuSans.ttf (has the arrow glyphs), or None."""
    for directory in FONT_DIRS:
        path = os.path.join(directory, "DejaVuSans.ttf")
        if os.path.exists(path):
            return path
    return None


# --- page description ---------------------------------------------------------------------
@dataclass
class Text:
    """Text whose first glyph starts at ``x`` with its baseline at ``y`` (displayed coords).
    ``text`` is a str, or a sequence of ``(str, font)`` runs drawn one after the other (font
    switches inside one text object for reportlab, one insert per run for pymupdf).
    ``each_char`` draws every character as its own, separately positioned, text object."""

    x: float
    y: float
    text: object
    size: float = 11.0
    font: str = "helv"  # helv | bold | cour | dejavu
    each_char: bool = False
    color: tuple = (0, 0, 0)

    def runs(self):
        if isinstance(self.text, str):
            return [(self.text, self.font)]
        return [(run, font) for run, font in self.text]

    def width(self):
        return sum(text_width(run, font, self.size) for run, font in self.runs())


@dataclass
class Image:
    """An image filling the displayed rect (default: a black arrow PNG)."""

    x0: float
    y0: float
    x1: float
    y1: float
    png: bytes = None


@dataclass
class Link:
    """A URI link annotation on the displayed rect (no border, no appearance)."""

    x0: float
    y0: float
    x1: float
    y1: float
    uri: str


@dataclass
class Box:
    """A filled rectangle (line art)."""

    x0: float
    y0: float
    x1: float
    y1: float
    fill: tuple = (0.25, 0.25, 0.25)


@dataclass
class Page:
    size: object = "A4"  # a PAGE_SIZES name or (width, height), as DISPLAYED
    rotation: int = 0
    items: tuple = ()

    def displayed_size(self):
        return PAGE_SIZES[self.size] if isinstance(self.size, str) else tuple(self.size)

    def mediabox_size(self):
        width, height = self.displayed_size()
        return (height, width) if self.rotation % 180 else (width, height)


# --- metrics ------------------------------------------------------------------------------
_registered = set()


def _rl_font(font):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = _RL_FONTS[font]
    if font == "dejavu" and name not in _registered:
        path = dejavu_path()
        if path is None:
            raise RuntimeError("DejaVuSans.ttf not found")
        pdfmetrics.registerFont(TTFont(name, path))
        _registered.add(name)
    return name


def text_width(text, font="helv", size=11.0):
    from reportlab.pdfbase import pdfmetrics

    return pdfmetrics.stringWidth(text, _rl_font(font), size)


def arrow_png(width_px=72, height_px=88, color=(0, 0, 0)):
    """A PNG of a right-pointing arrow on a transparent background."""
    image = PILImage.new("RGBA", (width_px, height_px), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    w, h = width_px, height_px
    draw.polygon(
        [
            (0, h * 0.35),
            (w * 0.55, h * 0.35),
            (w * 0.55, h * 0.1),
            (w - 1, h * 0.5),
            (w * 0.55, h * 0.9),
            (w * 0.55, h * 0.65),
            (0, h * 0.65),
        ],
        fill=color + (255,),
    )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# --- producers ----------------------------------------------------------------------------
def make_pdf(pages, producer="reportlab"):
    """Build a PDF from ``pages`` (Page objects) with ``producer``."""
    pages = [pages] if isinstance(pages, Page) else list(pages)
    if producer == "reportlab":
        return _reportlab(pages)
    if producer == "pymupdf":
        return _pymupdf(pages)
    raise ValueError(producer)


def _display_to_pdf(rotation, mediabox):
    """cm matrix (a, b, c, d, e, f) mapping displayed bottom-left coordinates (u, v) to PDF
    user space, for a page of ``mediabox`` (w, h) with /Rotate ``rotation``."""
    w0, h0 = mediabox
    return {
        0: (1, 0, 0, 1, 0, 0),
        90: (0, 1, -1, 0, w0, 0),
        180: (-1, 0, 0, -1, w0, h0),
        270: (0, -1, 1, 0, 0, h0),
    }[rotation % 360]


def _reportlab(pages):
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pageCompression=1)
    pdf.setTitle("pdfgen reportlab")
    for spec in pages:
        mediabox = spec.mediabox_size()
        pdf.setPageSize(spec.displayed_size())  # reportlab swaps it into the MediaBox itself
        pdf.setPageRotation(spec.rotation % 360)
        _w, disp_h = spec.displayed_size()
        pdf.saveState()
        pdf.transform(*_display_to_pdf(spec.rotation, mediabox))
        for item in spec.items:
            if isinstance(item, Text):
                pdf.setFillColorRGB(*item.color)
                u, v = item.x, disp_h - item.y
                if item.each_char:
                    for run, font in item.runs():
                        for char in run:
                            pdf.setFont(_rl_font(font), item.size)
                            pdf.drawString(u, v, char)
                            u += text_width(char, font, item.size)
                else:
                    text = pdf.beginText(u, v)
                    for run, font in item.runs():
                        text.setFont(_rl_font(font), item.size)
                        text.textOut(run)
                    pdf.drawText(text)
            elif isinstance(item, Image):
                reader = ImageReader(io.BytesIO(item.png or arrow_png()))
                pdf.drawImage(
                    reader,
                    item.x0,
                    disp_h - item.y1,
                    width=item.x1 - item.x0,
                    height=item.y1 - item.y0,
                    mask="auto",
                )
            elif isinstance(item, Box):
                pdf.setFillColorRGB(*item.fill)
                pdf.rect(
                    item.x0,
                    disp_h - item.y1,
                    item.x1 - item.x0,
                    item.y1 - item.y0,
                    fill=1,
                    stroke=0,
                )
            elif isinstance(item, Link):
                pdf.linkURL(
                    item.uri,
                    (item.x0, disp_h - item.y1, item.x1, disp_h - item.y0),
                    relative=1,
                    thickness=0,
                )
            else:
                raise TypeError(item)
        pdf.restoreState()
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _pymupdf(pages):
    doc = pymupdf.open()
    for spec in pages:
        width, height = spec.mediabox_size()
        page = doc.new_page(width=width, height=height)
        page.set_rotation(spec.rotation % 360)
        rotation = page.rotation
        derotate = page.derotation_matrix
        fonts = set()
        for item in spec.items:
            if isinstance(item, Text):
                x = item.x
                for run, font in item.runs():
                    if font == "dejavu" and font not in fonts:
                        page.insert_font(fontname="dejavu", fontfile=dejavu_path())
                        fonts.add(font)
                    pieces = list(run) if item.each_char else [run]
                    for piece in pieces:
                        page.insert_text(
                            pymupdf.Point(x, item.y) * derotate,
                            piece,
                            fontsize=item.size,
                            fontname=_MU_FONTS[font],
                            rotate=rotation,
                            color=item.color,
                        )
                        x += text_width(piece, font, item.size)
            elif isinstance(item, Image):
                page.insert_image(
                    pymupdf.Rect(item.x0, item.y0, item.x1, item.y1) * derotate,
                    stream=item.png or arrow_png(),
                    rotate=rotation,
                    keep_proportion=False,
                )
            elif isinstance(item, Box):
                page.draw_rect(
                    pymupdf.Rect(item.x0, item.y0, item.x1, item.y1) * derotate,
                    color=None,
                    fill=item.fill,
                )
            elif isinstance(item, Link):
                page.insert_link(
                    {
                        "kind": pymupdf.LINK_URI,
                        "uri": item.uri,
                        "from": pymupdf.Rect(item.x0, item.y0, item.x1, item.y1) * derotate,
                    }
                )
            else:
                raise TypeError(item)
    doc.set_metadata({"producer": "pdfgen pymupdf", "title": "pdfgen pymupdf"})
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return data


# --- hand-written and bad inputs ----------------------------------------------------------
def raw_pdf(objects, root=1, trailer_extra=b""):
    """A classic-xref PDF from ``objects`` (bodies of objects 1..n, bytes, without
    'n 0 obj'/'endobj')."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        trailer_extra,
        xref,
    )
    return bytes(out)


def stream_object(dictionary, data):
    return b"<< %s /Length %d >>\nstream\n" % (dictionary, len(data)) + data + b"\nendstream"


def zero_page_pdf():
    """A well-formed PDF whose page tree is empty."""
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def one_page_raw_pdf(content=b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET", extra_objects=()):
    """A minimal hand-written one-page PDF; ``extra_objects`` are appended as objects 5...."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >>"
        b" >> >>",
        stream_object(b"", content),
    ]
    return raw_pdf(objects + list(extra_objects))


def deflate_zeros(size, level=9, chunk=8 * 1024 * 1024):
    """zlib data of ``size`` zero bytes, compressed incrementally."""
    compressor = zlib.compressobj(level)
    parts = []
    block = bytes(min(chunk, size))
    left = size
    while left > 0:
        parts.append(compressor.compress(block[: min(chunk, left)]))
        left -= chunk
    parts.append(compressor.flush())
    return b"".join(parts)


def bomb_pdf(decoded_size=300 * 1000 * 1000, filters=b"/FlateDecode"):
    """A one-page PDF carrying an unreferenced FlateDecode stream of ``decoded_size`` zeros
    (300 MB by default, about 290 KiB compressed)."""
    return one_page_raw_pdf(
        extra_objects=[stream_object(b"/Filter %s" % filters, deflate_zeros(decoded_size))]
    )


def page_with_content(stream):
    """A one-page PDF whose page content is the stream object ``stream`` (as written by
    :func:`stream_object`, or by hand)."""
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            stream,
        ]
    )


def encrypted_pdf(user_pw="user", owner_pw="owner"):
    """A small PDF encrypted (AES-256) by pymupdf; ``user_pw=''`` gives an owner-only one."""
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret {{sign:Customer}}")
    data = doc.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256,
        owner_pw=owner_pw,
        user_pw=user_pw,
        permissions=int(pymupdf.PDF_PERM_PRINT),
    )
    doc.close()
    return data


def gif_bytes():
    """A valid 1x1 GIF (what a user uploads after renaming photo.gif to photo.pdf)."""
    out = io.BytesIO()
    PILImage.new("P", (1, 1)).save(out, "GIF")
    return out.getvalue()


# --- visual probes ------------------------------------------------------------------------
def render_gray(data, page=1, zoom=2.0):
    """The displayed page ``page`` (1-based) rendered by pymupdf as a PIL 'L' image."""
    doc = pymupdf.open(stream=data, filetype="pdf")
    try:
        pix = doc[page - 1].get_pixmap(
            matrix=pymupdf.Matrix(zoom, zoom), alpha=False, colorspace=pymupdf.csGRAY
        )
        return PILImage.frombytes("L", (pix.width, pix.height), pix.samples)
    finally:
        doc.close()


def ink_bbox(data, page=1, clip=None, zoom=2.0, threshold=160, image=None):
    """Bounding box (displayed points) of the pixels darker than ``threshold`` on the rendered
    page, within ``clip`` (displayed points) if given; None when nothing is inked."""
    gray = image if image is not None else render_gray(data, page, zoom)
    if clip is not None:
        box = tuple(int(round(v * zoom)) for v in clip)
        box = (max(box[0], 0), max(box[1], 0), min(box[2], gray.width), min(box[3], gray.height))
        if box[0] >= box[2] or box[1] >= box[3]:
            return None
        region = gray.crop(box)
        origin = box[:2]
    else:
        region, origin = gray, (0, 0)
    found = region.point(lambda v: 255 if v < threshold else 0).getbbox()
    if found is None:
        return None
    x0, y0, x1, y1 = found
    return (
        (x0 + origin[0]) / zoom,
        (y0 + origin[1]) / zoom,
        (x1 + origin[0]) / zoom,
        (y1 + origin[1]) / zoom,
    )


def inked_fraction(data, page, rect, zoom=2.0, threshold=160, image=None):
    """Share of the pixels of ``rect`` (displayed points) darker than ``threshold``."""
    gray = image if image is not None else render_gray(data, page, zoom)
    box = tuple(int(round(v * zoom)) for v in rect)
    region = gray.crop(box)
    pixels = region.width * region.height
    if not pixels:
        return 0.0
    dark = region.point(lambda v: 1 if v < threshold else 0).histogram()[1]
    return dark / pixels


def lzw_encode(data):
    """LZW-encode ``data`` the PDF way (9 to 12-bit codes, EarlyChange 1, clear at 4096)."""
    out = bytearray()
    acc = nacc = 0

    def emit(code, bits):
        nonlocal acc, nacc
        acc = (acc << bits) | code
        nacc += bits
        while nacc >= 8:
            nacc -= 8
            out.append((acc >> nacc) & 0xFF)
        acc &= (1 << nacc) - 1

    def fresh():
        return {bytes([i]): i for i in range(256)}, 258, 9

    table, next_code, bits = fresh()
    emit(256, bits)
    word = b""
    for value in data:
        candidate = word + bytes([value])
        if candidate in table:
            word = candidate
            continue
        emit(table[word], bits)
        table[candidate] = next_code
        next_code += 1
        if next_code + 1 > (1 << bits) and bits < 12:
            bits += 1
        if next_code + 1 >= 4096:
            emit(256, bits)
            table, next_code, bits = fresh()
        word = bytes([value])
    if word:
        emit(table[word], bits)
        next_code += 1
        if next_code + 1 > (1 << bits) and bits < 12:
            bits += 1
    emit(257, bits)
    if nacc:
        out.append((acc << (8 - nacc)) & 0xFF)
    return bytes(out)


def runlength_encode(data):
    """RunLengthDecode data for ``data`` (runs of equal bytes, else literals), with EOD."""
    out = bytearray()
    index = 0
    while index < len(data):
        run = 1
        while index + run < len(data) and run < 128 and data[index + run] == data[index]:
            run += 1
        if run > 1:
            out += bytes([257 - run, data[index]])
            index += run
        else:
            literal = data[index : index + 128]
            out += bytes([len(literal) - 1]) + literal
            index += len(literal)
    return bytes(out + b"\x80")


def embedded_fonts(doc):
    """``{font name: (xref, extension, stored size)}`` of every font used on ``doc``'s pages:
    the extension is "n/a" for a font that is not embedded; the stored size is the length
    of the font program as written in the file (compressed)."""
    fonts = {}
    for pno in range(doc.page_count):
        for xref, ext, _type, name, *_rest in doc.get_page_fonts(pno, full=True):
            fonts[name] = (xref, ext, font_program_size(doc, xref))
    return fonts


def font_program_size(doc, xref):
    """The stored length of the font program (FontFile, FontFile2 or FontFile3) of the font
    ``xref`` (of its descendant for a Type0 font), 0 when it has none."""
    kind, value = doc.xref_get_key(xref, "DescendantFonts")
    if kind == "array":
        xref = int(value.strip("[]").split()[0])
    kind, value = doc.xref_get_key(xref, "FontDescriptor")
    if kind != "xref":
        return 0
    descriptor = int(value.split()[0])
    for key in ("FontFile2", "FontFile", "FontFile3"):
        kind, value = doc.xref_get_key(descriptor, key)
        if kind == "xref":
            return len(doc.xref_stream_raw(int(value.split()[0])))
    return 0


def glyph_prints(page, chars, zoom=4.0):
    """``{char: grey samples}``: each of ``chars`` as the page renders it, clipped to the box
    the text layer gives it (its first occurrence). A glyph missing from the fonts renders as
    nothing or as the same ".notdef" box for every character; real glyphs differ."""
    boxes = {}
    for block in page.get_text("rawdict")["blocks"]:
        for line in block.get("lines", ()):
            for span in line["spans"]:
                for char in span["chars"]:
                    if char["c"] in chars and char["c"] not in boxes:
                        boxes[char["c"]] = pymupdf.Rect(char["bbox"])
    prints = {}
    for char, box in boxes.items():
        pix = page.get_pixmap(
            matrix=pymupdf.Matrix(zoom, zoom), clip=box, colorspace=pymupdf.csGRAY
        )
        prints[char] = bytes(pix.samples)
    return prints
