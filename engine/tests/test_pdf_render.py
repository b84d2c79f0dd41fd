"""Page rendering: the displayed page, at the asked width, in the asked format."""

import io

import pdfgen
import pytest
from pdfgen import Box, Page, Text
from PIL import Image as PILImage

from engine import pdf_render
from engine.errors import PdfInvalid, RenderInvalid
from engine.pdf_markers import detect_markers, hide_markers
from engine.pdf_render import render_page

ROTATIONS = (0, 90, 180, 270)


def decoded(data):
    image = PILImage.open(io.BytesIO(data))
    image.load()
    return image


def marked_page(rotation, size="A4"):
    """A black square in the displayed top-left corner and a grey bar along the bottom."""
    width, height = pdfgen.PAGE_SIZES[size]  # as displayed
    return Page(
        size,
        rotation,
        items=[
            Box(20, 20, 80, 80, fill=(0, 0, 0)),
            Box(20, height - 40, width - 20, height - 20, fill=(0.5, 0.5, 0.5)),
            Text(100, 60, "{{sign:Customer}}", size=14),
        ],
    )


@pytest.mark.parametrize("producer", ["reportlab", "pymupdf"])
@pytest.mark.parametrize("rotation", ROTATIONS)
def test_renders_the_page_as_displayed(producer, rotation):
    spec = marked_page(rotation)
    data = pdfgen.make_pdf([spec], producer=producer)
    image = decoded(render_page(data, 1, width_px=600, fmt="png")).convert("L")
    width, height = spec.displayed_size()
    assert image.width == 600
    assert image.height == pytest.approx(600 * height / width, abs=1)
    scale = 600 / width
    # the square is in the displayed top-left corner, whatever the /Rotate
    assert image.getpixel((int(50 * scale), int(50 * scale))) < 40
    assert image.getpixel((int((width - 50) * scale), int(50 * scale))) > 230
    assert image.getpixel((int(50 * scale), int((height - 50) * scale))) > 230
    # the bar along the displayed bottom
    assert 100 < image.getpixel((int(width / 2 * scale), int((height - 30) * scale))) < 160


def test_formats_sizes_and_quality():
    data = pdfgen.make_pdf([marked_page(0)])
    jpeg = render_page(data, 1)
    assert jpeg[:3] == b"\xff\xd8\xff"
    image = decoded(jpeg)
    assert (image.format, image.width, image.mode) == ("JPEG", 1000, "RGB")
    assert render_page(data, 1, fmt="jpg")[:3] == b"\xff\xd8\xff"
    png = render_page(data, 1, width_px=320, fmt="PNG")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and decoded(png).width == 320
    low, high = render_page(data, 1, quality=10), render_page(data, 1, quality=95)
    assert len(low) < len(high)
    assert pdf_render.FORMATS[:2] == ("jpeg", "png")
    if "webp" in pdf_render.FORMATS:
        webp = render_page(data, 1, width_px=400, fmt="webp")
        assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP"
        assert decoded(webp).width == 400


def test_mixed_sizes_each_page_at_the_asked_width():
    specs = [Page("A4", 0), Page("Letter", 90), Page("A3L", 0), Page("A5", 270)]
    data = pdfgen.make_pdf(specs)
    for number, spec in enumerate(specs, start=1):
        image = decoded(render_page(data, number, width_px=500, fmt="png"))
        width, height = spec.displayed_size()
        assert image.width == 500
        assert image.height == pytest.approx(500 * height / width, abs=1)


def test_hidden_copy_shows_no_anchor():
    data = pdfgen.make_pdf([marked_page(90)])
    (anchor,) = detect_markers(data)
    scale = 1000 / pdfgen.PAGE_SIZES["A4"][0]
    x0, y0, x1, y1 = (round(v * scale) for v in anchor.marker)
    band = (x0, y0 + (y1 - y0) // 3, x1, y1 - (y1 - y0) // 3)

    def darkest(pdf):
        image = decoded(render_page(pdf, 1, fmt="png")).convert("L")
        return image.crop(band).getextrema()[0]

    assert darkest(data) < 80
    assert darkest(hide_markers(data)) > 240


def test_very_tall_page_is_capped_in_pixels():
    data = pdfgen.make_pdf([Page((60, 14000), items=[Box(5, 5, 55, 55)])])
    image = decoded(render_page(data, 1, width_px=4000, fmt="png"))
    assert image.width * image.height <= pdf_render.MAX_PIXELS * 1.01
    assert image.height / image.width == pytest.approx(14000 / 60, rel=0.01)


@pytest.mark.parametrize("page", [0, 2, -1, "1", 1.0, True, None])
def test_bad_page(page):
    data = pdfgen.make_pdf([marked_page(0)])
    with pytest.raises(RenderInvalid) as caught:
        render_page(data, page)
    assert caught.value.code == "render_bad_page"
    assert caught.value.params == {"page": page, "pages": 1}


@pytest.mark.parametrize(
    "kwargs, option",
    [
        ({"fmt": "gif"}, "fmt"),
        ({"fmt": "tiff"}, "fmt"),
        ({"width_px": 0}, "width_px"),
        ({"width_px": 15}, "width_px"),
        ({"width_px": 4001}, "width_px"),
        ({"width_px": 800.0}, "width_px"),
        ({"quality": 0}, "quality"),
        ({"quality": 101}, "quality"),
    ],
)
def test_bad_options(kwargs, option):
    data = pdfgen.make_pdf([marked_page(0)])
    with pytest.raises(RenderInvalid) as caught:
        render_page(data, 1, **kwargs)
    assert caught.value.code == "render_bad_option"
    assert caught.value.params["option"] == option


def test_bad_documents():
    for data, code in (
        (b"", "pdf_empty"),
        (pdfgen.gif_bytes(), "pdf_not_pdf"),
        (pdfgen.encrypted_pdf(), "pdf_encrypted"),
    ):
        with pytest.raises(PdfInvalid) as caught:
            render_page(data, 1)
        assert caught.value.code == code


def test_auto_format_picks_a_palette_png_for_text_and_a_jpeg_for_photos():
    import io

    import pymupdf
    from PIL import Image

    from engine import pdf_render

    doc = pymupdf.open()
    page = doc.new_page()
    for line in range(40):
        page.insert_text((50, 60 + line * 18), "Text page with plenty of words " * 3, fontsize=10)
    text_pdf = doc.tobytes()
    photo = doc.new_page()
    noise = Image.effect_noise((600, 800), 80).convert("RGB")
    buffer = io.BytesIO()
    noise.save(buffer, "JPEG", quality=90)
    photo.insert_image(photo.rect, stream=buffer.getvalue())
    both = doc.tobytes()
    text_image = pdf_render.render_page(text_pdf, 1, width_px=800, fmt="auto")
    assert pdf_render.image_mimetype(text_image) == "image/png"
    assert len(text_image) < len(pdf_render.render_page(text_pdf, 1, width_px=800, fmt="jpeg"))
    photo_image = pdf_render.render_page(both, 2, width_px=800, fmt="auto")
    assert pdf_render.image_mimetype(photo_image) == "image/jpeg"
    assert Image.open(io.BytesIO(text_image)).size[0] == 800
