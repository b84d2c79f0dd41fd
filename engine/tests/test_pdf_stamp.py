"""Stamping values onto the original PDF (engine.pdf_stamp).

Boxes are in displayed coordinates (top-left origin, after /Rotate). pymupdf reports image
and text positions in unrotated page space, so every check converts with
``page.rotation_matrix`` first; rendering checks look at the pixels a viewer shows.
"""

import hashlib
import io
import logging
import re

import pdfgen
import pymupdf
import pytest
from PIL import Image

from engine import anchors, pdf_stamp
from engine.errors import PdfInvalid, StampInvalid
from engine.pdf_stamp import StampValue, stamp_document

RED, GREEN, BLUE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (0, 0, 0)


# --- helpers ------------------------------------------------------------------------------
def quadrant_png(width=200, height=100):
    """Top-left red, top-right green, bottom-left blue, bottom-right black."""
    image = Image.new("RGBA", (width, height), RED + (255,))
    image.paste(GREEN + (255,), (width // 2, 0, width, height // 2))
    image.paste(BLUE + (255,), (0, height // 2, width // 2, height))
    image.paste(BLACK + (255,), (width // 2, height // 2, width, height))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def make_pdf(pages):
    """``pages``: list of dicts (width, height, rotation, cropbox, texts [(x, y, text)] in
    unrotated coordinates, links [(rect, uri)], box (filled rect drawn first), image rect)."""
    doc = pymupdf.open()
    for spec in pages:
        page = doc.new_page(width=spec.get("width", 400), height=spec.get("height", 600))
        if "box" in spec:
            page.draw_rect(spec["box"], color=(0, 0.6, 0), fill=(0.8, 1, 0.8))
        if "image" in spec:
            page.insert_image(spec["image"], stream=quadrant_png(40, 20))
        for x, y, text in spec.get("texts", ()):
            page.insert_text((x, y), text, fontsize=11)
        for rect, uri in spec.get("links", ()):
            page.insert_link({"kind": pymupdf.LINK_URI, "from": pymupdf.Rect(rect), "uri": uri})
        if "mediabox" in spec:
            page.set_mediabox(pymupdf.Rect(spec["mediabox"]))
        if "cropbox" in spec:
            page.set_cropbox(pymupdf.Rect(spec["cropbox"]))
        page.set_rotation(spec.get("rotation", 0))
    return doc.tobytes()


def displayed(page, rect):
    return pymupdf.Rect(rect) * page.rotation_matrix


def images_on(page):
    return [displayed(page, info["bbox"]) for info in page.get_image_info(xrefs=True)]


def words_on(page):
    return [(w[4], displayed(page, w[:4])) for w in page.get_text("words")]


def inside(inner, outer, tolerance=0.6):
    return (
        inner.x0 >= outer.x0 - tolerance
        and inner.y0 >= outer.y0 - tolerance
        and inner.x1 <= outer.x1 + tolerance
        and inner.y1 <= outer.y1 + tolerance
    )


def word_rect(page, text):
    """The displayed rect of ``text`` (one word) on ``page``."""
    matches = [rect for word, rect in words_on(page) if word == text]
    assert len(matches) == 1, (text, words_on(page))
    return matches[0]


def anchor_in_displayed_coords(original, pno, text):
    """The displayed rect of the first ``text`` (in unrotated reading order) on a page."""
    with pymupdf.open("pdf", original) as doc:
        page = doc[pno]
        first = min((w for w in page.get_text("words") if w[4] == text), key=lambda w: w[1])
        rect = displayed(page, first[:4])
    return (pno + 1, rect.x0, rect.y0, rect.x1, rect.y1)


ROTATED = [
    {"rotation": 0},
    {"rotation": 90},
    {"rotation": 180},
    {"rotation": 270},
    {"rotation": 90, "width": 500, "height": 700, "cropbox": (30, 40, 430, 640)},
    {"rotation": 0, "width": 500, "height": 700, "cropbox": (30, 40, 430, 640)},
    {"rotation": 270, "width": 300, "height": 800, "cropbox": (10, 100, 290, 700)},
    {"rotation": 90, "width": 500, "height": 700, "mediabox": (50, 80, 450, 680)},
    {
        "rotation": 180,
        "width": 500,
        "height": 700,
        "mediabox": (50, 80, 450, 680),
        "cropbox": (60, 90, 400, 600),
    },
]


def spec_id(spec):
    boxes = "".join(key[0] for key in ("mediabox", "cropbox") if key in spec) or "full"
    return f"rot{spec['rotation']}-{boxes}"


# --- images -------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ROTATED, ids=spec_id)
def test_signature_image_lies_inside_its_box_and_renders_upright(spec):
    original = make_pdf([{"texts": [(50, 50, "Page one")]}, dict(spec)])
    box = pymupdf.Rect(40, 60, 240, 160)  # 2:1 like the image: fills the box width
    value = StampValue(2, *box, kind="signature", image=quadrant_png())
    out = pymupdf.open("pdf", stamp_document(original, [value]))
    assert images_on(out[0]) == []
    (bbox,) = images_on(out[1])
    assert inside(bbox, box)
    assert bbox.width > box.width - 8  # scaled to the box (small padding), aspect kept
    assert abs(bbox.width / bbox.height - 2) < 0.05
    # rendered as a viewer shows it: the red quadrant top-left, etc.
    pix = out[1].get_pixmap(dpi=72)

    def colour(fx, fy):
        return pix.pixel(int(bbox.x0 + fx * bbox.width), int(bbox.y0 + fy * bbox.height))

    assert colour(0.25, 0.25) == RED
    assert colour(0.75, 0.25) == GREEN
    assert colour(0.25, 0.75) == BLUE
    assert colour(0.75, 0.75) == BLACK


def test_image_is_centred_and_aspect_kept_in_a_wide_box():
    original = make_pdf([{}])
    box = pymupdf.Rect(50, 100, 350, 150)  # 6:1, the image is 2:1
    out = pymupdf.open(
        "pdf", stamp_document(original, [StampValue(1, *box, "initials", image=quadrant_png())])
    )
    (bbox,) = images_on(out[0])
    assert inside(bbox, box)
    assert abs(bbox.width / bbox.height - 2) < 0.05
    assert abs((bbox.x0 + bbox.x1) / 2 - (box.x0 + box.x1) / 2) < 1


def test_name_and_time_are_printed_beneath_the_image_inside_the_box():
    original = make_pdf([{"rotation": 90}])
    box = pymupdf.Rect(100, 100, 300, 180)
    value = StampValue(
        1,
        *box,
        "signature",
        image=quadrant_png(),
        signer_name="Łukasz Żółć",
        signed_at_label="2026-11-23 14:05 CET",
    )
    out = pymupdf.open("pdf", stamp_document(original, [value]))
    page = out[0]
    (image,) = images_on(page)
    words = dict(words_on(page))
    for word in ("Łukasz", "Żółć", "2026-11-23", "14:05", "CET"):
        assert inside(words[word], box), word
        assert words[word].y0 >= image.y1 - 0.6, word  # beneath the image
    assert inside(image, box)


def test_the_same_image_is_embedded_once():
    original = make_pdf([{}, {}])
    png = quadrant_png()
    values = [
        StampValue(p, 40, 40 + 100 * k, 240, 120 + 100 * k, "signature", image=png)
        for p in (1, 2)
        for k in range(3)
    ]
    out = pymupdf.open("pdf", stamp_document(original, values))
    images = [
        x for x in range(1, out.xref_length()) if out.xref_get_key(x, "Subtype")[1] == "/Image"
    ]
    assert len(images) == 2  # the picture and its alpha mask (SMask)
    assert sum(len(page.get_image_info()) for page in out) == 6


# --- text ---------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ROTATED, ids=spec_id)
def test_text_values_are_inside_their_boxes_and_upright(spec):
    original = make_pdf([dict(spec)])
    date_box = pymupdf.Rect(30, 40, 200, 62)
    text_box = pymupdf.Rect(30, 80, 260, 104)
    values = [
        StampValue(1, *date_box, "date", text="2026-11-23"),
        StampValue(1, *text_box, "text", text="Ærøskøbing Ελληνικά"),
    ]
    out = pymupdf.open("pdf", stamp_document(original, values))
    page = out[0]
    assert inside(word_rect(page, "2026-11-23"), date_box)
    assert inside(word_rect(page, "Ærøskøbing"), text_box)
    assert inside(word_rect(page, "Ελληνικά"), text_box)
    # upright: the writing direction, taken to displayed space, runs left to right
    rotate = page.rotation_matrix
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", ()):
            if "2026-11-23" in "".join(span["text"] for span in line["spans"]):
                dx, dy = line["dir"]
                direction = pymupdf.Point(dx, dy) * pymupdf.Matrix(
                    rotate.a, rotate.b, rotate.c, rotate.d, 0, 0
                )
                assert abs(direction.x - 1) < 1e-3 and abs(direction.y) < 1e-3


def test_text_glyphs_render_inside_the_box_on_a_rotated_page():
    original = make_pdf([{"rotation": 270}])
    box = pymupdf.Rect(50, 50, 250, 80)
    out = pymupdf.open(
        "pdf", stamp_document(original, [StampValue(1, *box, "text", text="MMMMMMMM")])
    )
    pix = out[0].get_pixmap(dpi=72)
    ink = [
        (x, y) for y in range(pix.height) for x in range(pix.width) if sum(pix.pixel(x, y)) < 600
    ]
    assert ink
    assert all(box.x0 - 1 <= x <= box.x1 + 1 and box.y0 - 1 <= y <= box.y1 + 1 for x, y in ink)
    xs, ys = [x for x, _ in ink], [y for _, y in ink]
    assert max(xs) - min(xs) > 3 * (max(ys) - min(ys))  # a horizontal line of letters


@pytest.mark.parametrize(
    "text",
    ["Łukasz Żółć", "Ærøskøbing", "Ελληνικά Ευχαριστώ", "Жанна Дарк", "שלום עולם", "中文姓名"],
)
def test_non_latin_text_is_stamped_and_extractable(text):
    original = make_pdf([{}])
    box = pymupdf.Rect(40, 40, 300, 64)
    out = pymupdf.open("pdf", stamp_document(original, [StampValue(1, *box, "text", text=text)]))
    page = out[0]
    words = [word for word, rect in words_on(page) if inside(rect, box)]
    assert sorted(words) == sorted(text.split())


def test_this_pymupdf_has_its_cjk_font():
    """Chinese, Japanese and Korean glyphs come from MuPDF's built-in Droid Sans Fallback: a
    PyMuPDF built without it would stamp boxes instead of characters."""
    font = pymupdf.Font("cjk")
    assert "Droid Sans Fallback" in font.name
    assert all(font.has_glyph(ord(char)) for char in "王芳签署合同北京")


def test_chinese_text_and_name_are_stamped_with_an_embedded_subset_font():
    """Chinese typed in a text place and a Chinese name under a signature: extracted back
    as typed, every glyph really drawn (a missing glyph renders as nothing, or as the same
    box for every character), from an embedded font subset to the glyphs used."""
    text = "北京市朝阳区建国路88号"
    name = "王芳"
    original = make_pdf([{}])
    box = pymupdf.Rect(40, 40, 300, 64)
    values = [
        StampValue(1, *box, "text", text=text),
        StampValue(
            1,
            40,
            100,
            240,
            180,
            "signature",
            image=quadrant_png(),
            signer_name=name,
            signed_at_label="2026/11/23 21:05 (中国标准时间)",
        ),
    ]
    data = stamp_document(original, values)
    out = pymupdf.open("pdf", data)
    page = out[0]
    assert "".join(word for word, rect in words_on(page) if inside(rect, box)) == text
    assert name in page.get_text() and "中国标准时间" in page.get_text()
    prints = pdfgen.glyph_prints(page, set(text + name))
    assert set(prints) == set(text + name)
    assert all(any(value < 128 for value in pixels) for pixels in prints.values())
    assert len(set(prints.values())) == len(prints), "each character has its own glyph"
    fonts = pdfgen.embedded_fonts(out)
    (cjk,) = [font for font in fonts if "Droid Sans Fallback" in font]
    _xref, extension, stored = fonts[cjk]
    assert extension == "ttf", "embedded"
    assert re.match(r"[A-Z]{6}\+", cjk), "a subset"
    # 17 glyphs of a 3.5 MB font: a few kilobytes
    assert stored < 16_000, stored
    assert len(pymupdf.Font("cjk").buffer) > 3_000_000


def test_fallback_fonts_when_dejavu_is_missing(monkeypatch):
    real = pdf_stamp.fonts
    monkeypatch.setattr(pdf_stamp, "fonts", lambda: real(("/nonexistent",)))
    assert pdf_stamp.fonts().data == b""
    original = make_pdf([{}])
    box = pymupdf.Rect(40, 40, 360, 64)
    text = "Łukasz Żółć Ελληνικά Ærø"
    out = pymupdf.open("pdf", stamp_document(original, [StampValue(1, *box, "text", text=text)]))
    words = [word for word, rect in words_on(out[0]) if inside(rect, box)]
    assert sorted(words) == sorted(text.split())


def test_long_text_shrinks_to_fit_its_box():
    original = make_pdf([{}])
    box = pymupdf.Rect(40, 40, 160, 56)
    text = "A rather long company name that cannot fit at eleven points Aktiebolag"
    out = pymupdf.open("pdf", stamp_document(original, [StampValue(1, *box, "text", text=text)]))
    words = words_on(out[0])
    assert [w for w, _ in words] == text.split()
    assert all(inside(rect, box) for _, rect in words)


def test_a_tall_box_wraps_instead_of_shrinking_to_nothing():
    original = make_pdf([{}])
    box = pymupdf.Rect(40, 40, 160, 140)
    text = " ".join(["word"] * 30)
    out = pymupdf.open("pdf", stamp_document(original, [StampValue(1, *box, "text", text=text)]))
    words = words_on(out[0])
    assert len(words) == 30 and all(inside(rect, box) for _, rect in words)
    assert len({round(rect.y0) for _, rect in words}) > 2  # several lines
    assert min(rect.height for _, rect in words) > 5  # still legible


def test_a_box_too_small_for_its_text_does_not_disturb_the_next_values():
    original = make_pdf([{}])
    values = [
        StampValue(1, 40, 40, 41, 41, "text", text="x" * 400),  # hopeless: left out
        StampValue(1, 40, 100, 200, 122, "date", text="2026-11-23"),
        StampValue(1, 40, 150, 200, 172, "text", text="Second value"),
    ]
    out = pymupdf.open("pdf", stamp_document(original, values))
    page = out[0]
    assert inside(word_rect(page, "2026-11-23"), pymupdf.Rect(40, 100, 200, 122))
    assert inside(word_rect(page, "Second"), pymupdf.Rect(40, 150, 200, 172))
    assert "xxxx" not in page.get_text()


def test_untrusted_text_is_shown_literally_without_controls():
    original = make_pdf([{}])
    box = pymupdf.Rect(40, 40, 380, 64)
    text = "<b>x</b> &amp; &lt;i&gt; & \u202eevil\u202c\x07\x00 Certificate office"
    out = pymupdf.open("pdf", stamp_document(original, [StampValue(1, *box, "text", text=text)]))
    extracted = out[0].get_text()
    # shown literally (no entity decoding), and no ligature glyphs ("ﬁ", "ﬀ") either
    assert "<b>x</b> &amp; &lt;i&gt; & evil Certificate office" in extracted
    assert "\u202e" not in extracted and "\x07" not in extracted


def test_checkbox_draws_a_check_mark_only_when_checked():
    original = make_pdf([{"rotation": 90}])
    box = pymupdf.Rect(100, 100, 116, 116)

    def paths(checked):
        out = pymupdf.open(
            "pdf", stamp_document(original, [StampValue(1, *box, "checkbox", checked=checked)])
        )
        page = out[0]
        return [
            displayed(page, d["rect"])
            for d in page.get_drawings()
            if d.get("color")
            and tuple(round(c, 2) for c in d["color"])
            == tuple(round(c, 2) for c in pdf_stamp.CHECK_COLOR)
        ]

    (mark,) = paths(True)
    assert inside(mark, box) and mark.width > 6 and mark.height > 6
    assert paths(False) == []


@pytest.mark.parametrize("spec", ROTATED, ids=spec_id)
def test_an_outline_frames_a_place_still_to_fill_without_a_value(spec):
    """A reviewer's copy: a dashed frame around the place and its caption inside, upright on
    every rotation and box; no image, even for a signature place."""
    original = make_pdf([spec])
    with pymupdf.open("pdf", original) as doc:
        page_rect = doc[0].rect
    box = pymupdf.Rect(
        page_rect.width * 0.2, page_rect.height * 0.3, page_rect.width * 0.7, page_rect.height * 0.4
    )
    out = pymupdf.open(
        "pdf",
        stamp_document(original, [StampValue(1, *box, "signature", text="Seal", outline=True)]),
    )
    page = out[0]
    frames = [
        displayed(page, d["rect"])
        for d in page.get_drawings()
        if d.get("color")
        and tuple(round(c, 2) for c in d["color"])
        == tuple(round(c, 2) for c in pdf_stamp.OUTLINE_COLOR)
    ]
    assert len(frames) == 1
    (frame,) = frames
    assert abs(frame.x0 - box.x0) < 1 and abs(frame.y1 - box.y1) < 1, (frame, box)
    assert abs(frame.width - box.width) < 1 and abs(frame.height - box.height) < 1
    assert inside(word_rect(page, "Seal"), box)
    assert images_on(page) == []


# --- hiding anchors -----------------------------------------------------------------------
@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_hidden_anchor_text_goes_neighbours_images_and_graphics_stay(rotation):
    anchor = anchors.anchor_text("signature", "client")
    original = make_pdf(
        [
            {
                "rotation": rotation,
                "box": (40, 80, 360, 120),
                "image": (250, 85, 290, 105),
                "texts": [(50, 100, f"Before {anchor} after"), (50, 200, f"Again {anchor} here")],
            }
        ]
    )
    hide = anchor_in_displayed_coords(original, 0, anchor)
    out = pymupdf.open("pdf", stamp_document(original, [], hide_rects=[hide]))
    words = [w for w, _ in words_on(out[0])]
    assert words.count(anchor) == 1  # only the anchor inside the rect went
    for kept in ("Before", "after", "Again", "here"):
        assert kept in words
    assert len(images_on(out[0])) == 1
    fills = [d for d in out[0].get_drawings() if d.get("fill")]
    assert len(fills) == 1 and tuple(round(c, 1) for c in fills[0]["fill"]) == (0.8, 1, 0.8)
    # no fill painted over the hidden place: the green box still shows there
    pix = out[0].get_pixmap(dpi=72)
    centre = (pymupdf.Rect(hide[1:]).tl + pymupdf.Rect(hide[1:]).br) / 2
    assert pix.pixel(int(centre.x), int(centre.y)) == (204, 255, 204)


def test_value_stamped_over_its_hidden_anchor_survives():
    anchor = anchors.anchor_text("date", "client")
    original = make_pdf([{"rotation": 90, "texts": [(50, 100, f"Date: {anchor}")]}])
    hide = anchor_in_displayed_coords(original, 0, anchor)
    box = pymupdf.Rect(hide[1] - 2, hide[2] - 4, hide[3] + 20, hide[4] + 4)
    out = pymupdf.open(
        "pdf",
        stamp_document(
            original, [StampValue(1, *box, "date", text="2026-11-23")], hide_rects=[hide]
        ),
    )
    words = [w for w, _ in words_on(out[0])]
    assert anchor not in words and "2026-11-23" in words and "Date:" in words


def test_anchor_link_annotations_are_deleted_others_kept():
    link = anchors.anchor_link("signature", "client")
    original = make_pdf(
        [
            {
                "links": [
                    ((50, 50, 150, 70), link),
                    ((50, 90, 150, 110), "https://example.com/terms"),
                ]
            },
            {
                "rotation": 90,
                "links": [((50, 50, 150, 70), link.upper().replace("HTTPS", "https"))],
            },
            {"links": [((50, 50, 150, 70), anchors.anchor_link("date", "x", optional=True))]},
        ]
    )
    out = pymupdf.open("pdf", stamp_document(original, []))
    uris = [[lnk.get("uri") for lnk in page.get_links()] for page in out]
    assert uris == [["https://example.com/terms"], [], []]


# --- the output document ------------------------------------------------------------------
def test_original_is_unchanged_and_output_is_a_clean_full_save(caplog):
    anchor = anchors.anchor_text("signature", "client")
    original = make_pdf([{"texts": [(50, 100, anchor)]}, {"rotation": 90}])
    digest = hashlib.sha256(original).hexdigest()
    values = [
        StampValue(
            2,
            40,
            40,
            240,
            140,
            "signature",
            image=quadrant_png(),
            signer_name="Ελένη Παπαδοπούλου",
            signed_at_label="2026-11-23 14:05",
        )
    ]
    hide = anchor_in_displayed_coords(original, 0, anchor)
    out = stamp_document(original, values, hide_rects=[hide])
    assert hashlib.sha256(original).hexdigest() == digest
    mutable = bytearray(original)
    assert stamp_document(mutable, values, hide_rects=[hide]).startswith(b"%PDF-")
    assert mutable == original
    assert out.count(b"%%EOF") == 1 and out.count(b"startxref") == 1
    assert b"/Prev" not in out and out.count(b"\nxref") == 1  # one classic xref table
    doc = pymupdf.open("pdf", out)
    assert not doc.is_repaired and doc.page_count == 2

    import pypdf

    with caplog.at_level(logging.WARNING):
        reader = pypdf.PdfReader(io.BytesIO(out), strict=True)
        text = "".join(page.extract_text() for page in reader.pages)
    assert "Ελένη" in text and "Παπαδοπούλου" in text
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(out), strict=True)
    assert writer.prev.xrefs.total_revisions == 1
    appended = io.BytesIO()
    writer.write(appended)  # an incremental update goes after the untouched bytes
    assert appended.getvalue().startswith(out)


def test_to_unicode_maps_outside_the_bmp_are_valid_utf16():
    # MuPDF writes code points above U+FFFF as 5 hex digits; the fix rewrites them
    cmap = (
        b"/CIDInit /ProcSet findresource begin\n1 begincodespacerange\n<0000> <FFFF>\n"
        b"endcodespacerange\n2 beginbfrange\n<0003> <0005> <0041>\n<0010> <0011> <1d400>\n"
        b"endbfrange\n2 beginbfchar\n<0020> <1f600>\n<0021> <00e9>\nendbfchar\nendcmap\n"
    )
    fixed = pdf_stamp._fixed_cmap(cmap)
    assert b"<1d400>" not in fixed and b"<1f600>" not in fixed
    assert b"1 beginbfrange\n<0003> <0005> <0041>\nendbfrange" in fixed
    assert b"<0010> <d835dc00>" in fixed and b"<0011> <d835dc01>" in fixed
    assert b"<0020> <d83dde00>" in fixed and b"<0021> <00e9>" in fixed
    assert pdf_stamp._fixed_cmap(b"1 beginbfchar\n<0001> <0041>\nendbfchar\nendcmap") is None


# --- refusals -----------------------------------------------------------------------------
def test_bad_values_are_refused_with_codes():
    original = make_pdf([{}])

    def code(values=(), hide=()):
        with pytest.raises(StampInvalid) as info:
            stamp_document(original, values, hide_rects=hide)
        return info.value.code

    png = quadrant_png()
    assert code([StampValue(2, 10, 10, 50, 50, "signature", image=png)]) == "stamp_bad_page"
    assert code([StampValue(0, 10, 10, 50, 50, "signature", image=png)]) == "stamp_bad_page"
    assert code([StampValue(1, 10, 10, 10, 50, "text", text="x")]) == "stamp_bad_box"
    assert code([StampValue(1, 500, 700, 600, 800, "text", text="x")]) == "stamp_bad_box"
    assert code([StampValue(1, 10, 10, float("nan"), 50, "text", text="x")]) == "stamp_bad_box"
    assert code([StampValue(1, 10, 10, 50, 50, "stamp")]) == "stamp_bad_value"
    assert code(["not a value"]) == "stamp_bad_value"
    assert code([StampValue(1, 10, 10, 50, 50, "signature")]) == "stamp_bad_image"
    assert code([StampValue(1, 10, 10, 50, 50, "signature", image=b"<svg/>")]) == (
        "stamp_bad_image"
    )
    assert code(hide=[(3, 1, 1, 5, 5)]) == "stamp_bad_page"
    assert code(hide=[(1, 1, 1)]) == "stamp_bad_box"


def test_unreadable_or_protected_pdfs_are_refused():
    with pytest.raises(PdfInvalid) as info:
        stamp_document(b"", [])
    assert info.value.code == "pdf_empty"
    with pytest.raises(PdfInvalid) as info:
        stamp_document(b"not a pdf at all", [])
    assert info.value.code in ("pdf_damaged", "pdf_no_pages")
    doc = pymupdf.open()
    doc.new_page()
    locked = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    with pytest.raises(PdfInvalid) as info:
        stamp_document(locked, [])
    assert info.value.code == "pdf_encrypted"


def test_display_text_strips_controls_and_bidi_overrides():
    assert pdf_stamp.display_text("a\u202eb\u2066c\u200fd\x00e\x1bf\x85g\u2028h\ufeff") == (
        "abcdef g h"
    )
    assert pdf_stamp.display_text("  many   \n\t spaces ") == "many spaces"
    assert pdf_stamp.display_text("x" * 50, limit=10) == "x" * 9 + "\u2026"
    assert pdf_stamp.display_text(None) == "" and pdf_stamp.display_text(False) == ""
