"""Marker detection and hiding, checked against what a renderer really draws.

Every page is built so that its content appears upright at known DISPLAYED positions, then
rendered by MuPDF; a marker rect is right when the ink of the anchor (or arrow, or the box
drawn under a link) lies inside it and fills it horizontally, on all four rotations.
"""

import os

import pdfgen
import pymupdf
import pytest
from pdfgen import Box, Image, Link, Page, Text

from engine import anchors
from engine.errors import PdfInvalid
from engine.pdf_markers import MarkerOptions, Placement, detect_markers, hide_markers

SAMPLES = os.path.join(os.path.dirname(__file__), "samples")
PRODUCERS = ("reportlab", "pymupdf")
ROTATIONS = (0, 90, 180, 270)
ZOOM = 3.0
LINK_URL = anchors.anchor_link

needs_dejavu = pytest.mark.skipif(pdfgen.dejavu_path() is None, reason="DejaVuSans.ttf missing")


def sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as handle:
        return handle.read()


def rendered(data, page=1):
    return pdfgen.render_gray(data, page, ZOOM)


def ink_near(data, rect, page=1, image=None, margin=4.0):
    x0, y0, x1, y1 = rect
    return pdfgen.ink_bbox(
        data,
        page,
        clip=(x0 - margin, y0 - margin, x1 + margin, y1 + margin),
        zoom=ZOOM,
        image=image,
    )


def assert_marker_on_ink(data, placement, image, slack=1.0, hug=2.0, fill=0.5, axis=None):
    """The ink around the marker lies inside it, spans it along the text (the longer side:
    text on a rotated page may run vertically) and fills ``fill`` of it across."""
    x0, y0, x1, y1 = placement.marker
    ink = ink_near(data, placement.marker, placement.page, image)
    assert ink is not None, f"nothing drawn at {placement}"
    assert ink[0] >= x0 - slack and ink[2] <= x1 + slack, (ink, placement.marker)
    assert ink[1] >= y0 - slack and ink[3] <= y1 + slack, (ink, placement.marker)
    if axis == "x" or (axis is None and x1 - x0 >= y1 - y0):
        along, across = (0, 2), (1, 3)
    else:
        along, across = (1, 3), (0, 2)
    marker = placement.marker
    assert abs(ink[along[0]] - marker[along[0]]) <= hug, (ink, marker)
    assert abs(ink[along[1]] - marker[along[1]]) <= hug, (ink, marker)
    thickness = marker[across[1]] - marker[across[0]]
    assert ink[across[1]] - ink[across[0]] >= fill * thickness, (ink, marker)


def core(rect):
    """The middle band of a marker (a third of its height off the top and the bottom): free
    of the descenders and ascenders of tightly packed neighbouring lines."""
    x0, y0, x1, y1 = rect
    return (x0 + 0.5, y0 + (y1 - y0) * 0.3, x1 - 0.5, y1 - (y1 - y0) * 0.3)


def assert_text_marker(placement, item):
    """The marker starts where the text starts and is as wide as the text (font metrics)."""
    x0, y0, x1, y1 = placement.marker
    assert x0 == pytest.approx(item.x, abs=0.6)
    assert x1 - x0 == pytest.approx(item.width(), abs=0.8)
    assert y0 < item.y <= y1 + 0.01  # the baseline is inside the glyph box


def by_role(found):
    return {(p.kind, p.role): p for p in found}


# --- every kind, every rotation, two producers ----------------------------------------------
KIND_ITEMS = [
    Text(72, 100, "{{sign:Customer}}"),
    Text(72, 160, "{{initials:Customer:optional}}"),
    Text(72, 220, "{{date:Seller}}"),
    Text(72, 280, "{{text:Seller-2_b}}"),
    Text(72, 340, "{{check:Customer}}"),
]


def kinds_page(rotation, size="A4"):
    return Page(
        size,
        rotation,
        items=[
            *KIND_ITEMS,
            Text(72, 420, "\u2794", size=14, font="dejavu"),
            Image(300, 400, 318, 422),  # arrow-sized image
            Image(300, 480, 340, 520),  # a bigger image: not an arrow
            Box(300, 600, 380, 615),
            Link(300, 600, 380, 615, LINK_URL("signature", "Witness", optional=True)),
            Link(300, 650, 380, 665, "https://www.example.com/terms"),  # ordinary link
        ],
    )


@needs_dejavu
@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("rotation", ROTATIONS)
def test_every_kind_on_every_rotation(producer, rotation):
    data = pdfgen.make_pdf([kinds_page(rotation)], producer=producer)
    doc = pymupdf.open(stream=data, filetype="pdf")
    assert doc[0].rotation == rotation
    found = detect_markers(data)
    assert all(isinstance(p, Placement) for p in found)
    assert [(p.source, p.kind, p.role, p.mandatory) for p in found] == [
        ("anchor", "signature", "Customer", True),
        ("anchor", "initials", "Customer", False),
        ("anchor", "date", "Seller", True),
        ("anchor", "text", "Seller-2_b", True),
        ("anchor", "checkbox", "Customer", True),
        ("arrow_glyph", "signature", "", True),  # same line as the image, further left
        ("arrow_image", "signature", "", True),
        ("link", "signature", "Witness", False),
    ]
    image = rendered(data)
    for placement, item in zip(found[:5], KIND_ITEMS):
        assert placement.page == 1
        assert_text_marker(placement, item)
        assert_marker_on_ink(data, placement, image)
    arrow_glyph, arrow_image, link = found[5:]
    assert arrow_image.marker == pytest.approx((300, 400, 318, 422), abs=0.05)
    assert_marker_on_ink(data, arrow_image, image, hug=1.0, axis="x")
    assert arrow_glyph.marker[0] == pytest.approx(72, abs=0.6)
    assert_marker_on_ink(data, arrow_glyph, image, hug=2.5, fill=0.3, axis="x")
    assert link.marker == pytest.approx((300, 600, 380, 615), abs=0.05)
    ink = ink_near(data, link.marker, image=image)  # the box drawn under the link
    assert ink == pytest.approx((300, 600, 380, 615), abs=0.5)


@pytest.mark.parametrize("rotation", ROTATIONS)
def test_marker_rect_is_where_the_renderer_draws_with_a_cropbox(rotation):
    """Text coordinates are relative to the CropBox, which may not start at the origin."""
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=800)
    page.insert_text((150, 200), "{{sign:Customer}}", fontsize=14)
    page.set_cropbox(pymupdf.Rect(40, 70, 560, 760))
    page.set_rotation(rotation)
    data = doc.tobytes()
    (found,) = detect_markers(data)
    assert_marker_on_ink(data, found, rendered(data))


# --- field boxes --------------------------------------------------------------------------
def test_field_box_rules():
    data = pdfgen.make_pdf([Page("A4", items=KIND_ITEMS)])
    found = by_role(detect_markers(data))
    sign = found[("signature", "Customer")]
    mx0, my0, mx1, my1 = sign.marker
    # signature/initials: bottom-left on the anchor's bottom-left, growing upward
    assert (sign.x0, sign.y0, sign.x1, sign.y1) == pytest.approx((mx0, my1 - 50, mx0 + 100, my1))
    initials = found[("initials", "Customer")]
    mx0, my0, mx1, my1 = initials.marker
    assert (initials.x0, initials.y0, initials.x1, initials.y1) == pytest.approx(
        (mx0, my1 - 30, mx0 + 60, my1)
    )
    # date/text/checkbox: top-left on the anchor's top-left, height max(anchor, kind)
    for kind, (width, height) in (("date", (90, 16)), ("text", (160, 16)), ("checkbox", (12, 12))):
        placement = next(p for p in found.values() if p.kind == kind)
        mx0, my0, mx1, my1 = placement.marker
        assert (placement.x0, placement.y0, placement.x1) == pytest.approx((mx0, my0, mx0 + width))
        assert placement.y1 == pytest.approx(my0 + max(my1 - my0, height))
    check = found[("checkbox", "Customer")]
    assert check.y1 - check.y0 > 12  # the anchor is taller than the kind
    assert sign.box == (sign.x0, sign.y0, sign.x1, sign.y1)


@needs_dejavu
@pytest.mark.parametrize("glyph", anchors.ARROW_GLYPHS)
def test_every_arrow_glyph_places_a_signature_beside_it(glyph):
    data = pdfgen.make_pdf(
        [Page("Letter", items=[Text(100, 300, f"Sign here {glyph}", font="dejavu")])]
    )
    (arrow,) = detect_markers(data)
    assert (arrow.source, arrow.kind, arrow.role, arrow.mandatory) == (
        "arrow_glyph",
        "signature",
        "",
        True,
    )
    x0, y0, x1, y1 = arrow.marker
    assert x0 == pytest.approx(100 + pdfgen.text_width("Sign here ", "dejavu", 11), abs=0.6)
    assert (arrow.x0, arrow.y0, arrow.x1, arrow.y1) == pytest.approx(
        (x1 + 2, y0, x1 + 102, y0 + 50)
    )
    assert_marker_on_ink(data, arrow, rendered(data), hug=2.5, fill=0.3, axis="x")


def test_arrow_image_size_and_tolerance():
    items = [
        Image(50, 100, 68, 122),  # exact 18 x 22
        Image(50, 200, 70, 225),  # 20 x 25: within 20 %
        Image(50, 300, 90, 340),  # 40 x 40: a logo
        Image(50, 400, 80, 422),  # 30 x 22: too wide
        Image(50, 500, 72, 518),  # 22 x 18: lying down
        Image(50, 600, 60, 612),  # 10 x 12: too small
    ]
    data = pdfgen.make_pdf([Page("A4", items=items)])
    found = detect_markers(data)
    assert [p.marker for p in found] == [(50, 100, 68, 122), (50, 200, 70, 225)]
    assert all(p.source == "arrow_image" for p in found)
    first = found[0]
    assert (first.x0, first.y0, first.x1, first.y1) == (70, 100, 170, 150)
    # other sizes through the options
    options = MarkerOptions(
        arrow_size=(40, 40),
        arrow_tolerance=0.05,
        signature_size=(120, 40),
        signature_offset=(5, -3),
    )
    (logo,) = detect_markers(data, options)
    assert logo.marker == (50, 300, 90, 340)
    assert (logo.x0, logo.y0, logo.x1, logo.y1) == (95, 297, 215, 337)


@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("rotation", ROTATIONS)
def test_arrow_image_is_measured_as_displayed(producer, rotation):
    """On a rotated page the image is drawn rotated in the unrotated space: its displayed size
    is what counts."""
    items = [Image(200, 300, 218, 322), Image(200, 400, 222, 418)]
    data = pdfgen.make_pdf([Page("A4", rotation, items=items)], producer=producer)
    (arrow,) = detect_markers(data)
    assert arrow.marker == pytest.approx((200, 300, 218, 322), abs=0.05)
    assert_marker_on_ink(data, arrow, rendered(data), hug=1.0, axis="x")


def test_custom_field_sizes_and_clipping_to_the_page():
    width = pdfgen.PAGE_SIZES["A4"][0]
    items = [
        Text(width - 60, 30, "{{sign:A}}", size=9),
        Text(width - 60, 800, "{{text:B}}", size=9),
    ]
    data = pdfgen.make_pdf([Page("A4", items=items)])
    found = by_role(detect_markers(data))
    sign, text = found[("signature", "A")], found[("text", "B")]
    assert sign.x1 == pytest.approx(width) and sign.y0 == 0  # clipped right and top
    assert text.x1 == pytest.approx(width)
    options = MarkerOptions(field_sizes={"text": (30, 40)})
    assert options.field_sizes["signature"] == (100.0, 50.0)  # the others keep their default
    text = by_role(detect_markers(data, options))[("text", "B")]
    assert (text.x1 - text.x0, text.y1 - text.y0) == pytest.approx((30, 40))
    assert hash(options) == hash(MarkerOptions(field_sizes={"text": (30, 40)}))
    with pytest.raises(TypeError):
        options.field_sizes["text"] = (1, 1)  # read-only


# --- grammar corners ----------------------------------------------------------------------
@pytest.mark.parametrize("producer", PRODUCERS)
def test_roles_optional_and_case(producer):
    items = [
        Text(72, 100, "{{SIGN:Buyer_1}}"),
        Text(72, 140, "{{ sign : co-signer : optional }}"),
        Text(72, 180, "{{Check:K\u00e4ufer:OPTIONAL}}"),
        Text(72, 220, "{{sign:}} {{unknown:Role}} {sign:Single} {{sign:bad role}}"),
        Text(72, 260, "{{date:" + "r" * 64 + "}}", size=5),
        Text(72, 300, "{{date:" + "r" * 65 + "}}", size=5),
    ]
    found = detect_markers(pdfgen.make_pdf([Page("A4", items=items)], producer=producer))
    assert [(p.kind, p.role, p.mandatory) for p in found] == [
        ("signature", "Buyer_1", True),
        ("signature", "co-signer", False),
        ("checkbox", "K\u00e4ufer", False),
        ("date", "r" * 64, True),
    ]


def test_link_anchor_grammar_and_rotations():
    pages = []
    for rotation in ROTATIONS:
        pages.append(
            Page(
                "A4",
                rotation,
                items=[
                    Box(100, 100, 200, 130),
                    Link(100, 100, 200, 130, LINK_URL("initials", "Customer")),
                    Link(
                        100, 200, 200, 230, anchors.ANCHOR_LINK_PREFIX + "date/Customer/optional/"
                    ),
                    Link(100, 300, 200, 330, anchors.ANCHOR_LINK_PREFIX + "bogus/Customer"),
                    Link(100, 400, 200, 430, "https://digital-sign.invalid/other/sign/Customer"),
                ],
            )
        )
    for producer in PRODUCERS:
        data = pdfgen.make_pdf(pages, producer=producer)
        found = detect_markers(data)
        assert [(p.page, p.kind, p.role, p.mandatory, p.source) for p in found] == [
            (n, kind, "Customer", mandatory, "link")
            for n in range(1, 5)
            for kind, mandatory in (("initials", True), ("date", False))
        ]
        for placement in found[::2]:
            assert placement.marker == pytest.approx((100, 100, 200, 130), abs=0.05)
            ink = ink_near(data, placement.marker, placement.page, rendered(data, placement.page))
            assert ink == pytest.approx((100, 100, 200, 130), abs=0.5)
            assert (placement.x0, placement.y0, placement.x1, placement.y1) == pytest.approx(
                (100, 100, 160, 130)
            )


def test_many_anchors_on_one_page_in_reading_order():
    items, expected = [], []
    for row in range(20):
        for col in range(4):
            role = f"R{row:02d}C{col}"
            items.append(Text(40 + col * 140, 60 + row * 36, "{{text:%s}}" % role, size=10))
            expected.append(role)
    data = pdfgen.make_pdf([Page("A4", items=items)])
    found = detect_markers(data)
    assert [p.role for p in found] == expected
    image = rendered(data)
    for placement in found[::7]:
        assert_marker_on_ink(data, placement, image)


@pytest.mark.parametrize("producer", PRODUCERS)
def test_anchors_split_across_spans_fonts_and_glyph_runs(producer):
    items = [
        Text(72, 100, [("{{si", "bold"), ("gn:Cust", "helv"), ("omer}}", "cour")]),
        Text(72, 150, "{{date:Seller}}", each_char=True),
        Text(
            72, 200, [("Label:", "helv"), ("{{text:", "bold"), ("Seller}}", "helv"), (",", "helv")]
        ),
        Text(72, 250, [("{{check:", "cour"), ("Customer}}", "cour")], each_char=True),
    ]
    data = pdfgen.make_pdf([Page("A4", items=items)], producer=producer)
    found = detect_markers(data)
    assert [(p.kind, p.role) for p in found] == [
        ("signature", "Customer"),
        ("date", "Seller"),
        ("text", "Seller"),
        ("checkbox", "Customer"),
    ]
    image = rendered(data)
    assert_text_marker(found[0], items[0])
    assert_text_marker(found[1], items[1])
    label = pdfgen.text_width("Label:", "helv", 11)
    assert found[2].marker[0] == pytest.approx(72 + label, abs=0.6)  # starts inside the word
    for placement in (found[0], found[1], found[3]):
        assert_marker_on_ink(data, placement, image, hug=3.0)  # Courier's '}' is narrow


@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("rotation", ROTATIONS)
def test_anchor_drawn_out_of_order_is_joined_by_position(producer, rotation):
    """A producer may draw the end of a line first: MuPDF then sees two lines, which are joined
    back because they share a baseline (the per-character path, also taken because of the
    stray opening)."""
    head = "{{sign:"
    width = pdfgen.text_width(head, "helv", 12)
    data = pdfgen.make_pdf(
        [
            Page(
                "A4",
                rotation,
                items=[
                    Text(72 + width, 300, "Customer}}", size=12),
                    Text(72, 300, head, size=12),
                    Text(250, 300, "after", size=12),
                    Text(72, 330, "{{ date", size=12),  # an opening the grammar does not take
                ],
            )
        ],
        producer=producer,
    )
    (found,) = detect_markers(data)
    assert_marker_on_ink(data, found, rendered(data))
    assert (found.kind, found.role) == ("signature", "Customer")
    assert found.marker[0] == pytest.approx(72, abs=0.6)
    full = pdfgen.text_width("{{sign:Customer}}", "helv", 12)
    assert found.marker[2] == pytest.approx(72 + full, abs=0.8)
    hidden = hide_markers(data)
    left = pymupdf.open(stream=hidden, filetype="pdf")[0].get_text().split()
    assert sorted(left) == ["after", "date", "{{"]
    # hiding on that path spares glued and close neighbours too
    crowded = pdfgen.make_pdf(
        [
            Page(
                "A4",
                rotation,
                items=[
                    Text(72 + width, 300, "Customer}},", size=12),
                    Text(72 - pdfgen.text_width("Label:", "helv", 12), 300, "Label:", size=12),
                    Text(72, 300, head, size=12),
                    Text(72, 311, "close below", size=12),
                    Text(72, 289, "close above", size=12),
                ],
            )
        ],
        producer=producer,
    )
    text = pymupdf.open(stream=hide_markers(crowded), filetype="pdf")[0].get_text()
    assert sorted(text.split()) in (
        sorted(["Label:", ",", "above", "below", "close", "close"]),
        sorted(["Label:,", "above", "below", "close", "close"]),
    )


@needs_dejavu
def test_adjacent_arrows_are_each_found():
    data = pdfgen.make_pdf([Page("A4", items=[Text(72, 300, "\u2794\u2794 sign", font="dejavu")])])
    found = detect_markers(data)
    assert [p.source for p in found] == ["arrow_glyph", "arrow_glyph"]
    assert found[0].marker[2] <= found[1].marker[0] + 0.01


@needs_dejavu
@pytest.mark.parametrize("producer", PRODUCERS)
def test_mixed_page_sizes_and_rotations_in_one_file(producer):
    specs = [
        Page("A4", 0, items=[Text(60, 700, "{{sign:A}}")]),
        Page(
            "Letter",
            90,
            items=[Text(60, 500, "{{sign:B}}"), Text(400, 100, "\u2794", font="dejavu")],
        ),
        Page("A3L", 0, items=[Text(1000, 700, "{{date:C}}")]),
        Page("A5", 270, items=[Text(300, 560, "{{initials:D}}", size=8)]),
        Page("A4L", 180, items=[Image(700, 40, 718, 62)]),
    ]
    data = pdfgen.make_pdf(specs, producer=producer)
    found = detect_markers(data)
    assert [(p.page, p.kind, p.role, p.source) for p in found] == [
        (1, "signature", "A", "anchor"),
        (2, "signature", "", "arrow_glyph"),
        (2, "signature", "B", "anchor"),
        (3, "date", "C", "anchor"),
        (4, "initials", "D", "anchor"),
        (5, "signature", "", "arrow_image"),
    ]
    for placement in found:
        width, height = specs[placement.page - 1].displayed_size()
        assert 0 <= placement.x0 < placement.x1 <= width + 0.01
        assert 0 <= placement.y0 < placement.y1 <= height + 0.01
        image = rendered(data, placement.page)
        assert_marker_on_ink(data, placement, image, hug=2.5, fill=0.3, axis="x")
    # the A3 landscape anchor is where it was put, far right
    assert found[3].marker[0] == pytest.approx(1000, abs=0.6)


def test_a_text_anchor_that_is_also_a_link_anchor_counts_once():
    width = pdfgen.text_width("{{sign:Customer}}", "helv", 11)
    data = pdfgen.make_pdf(
        [
            Page(
                "A4",
                items=[
                    Text(72, 300, "{{sign:Customer}}"),
                    Link(70, 288, 74 + width, 304, LINK_URL("signature", "Customer")),
                    Link(
                        300, 288, 380, 304, LINK_URL("signature", "Customer")
                    ),  # elsewhere: a second one
                ],
            )
        ]
    )
    found = detect_markers(data)
    assert [(p.source, p.role) for p in found] == [("anchor", "Customer"), ("link", "Customer")]


def test_no_markers_and_bad_input():
    plain = pdfgen.make_pdf([Page("A4", items=[Text(72, 72, "Nothing { here }")])])
    assert detect_markers(plain) == ()
    for data, code in (
        (b"", "pdf_empty"),
        (pdfgen.gif_bytes(), "pdf_not_pdf"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 4, "pdf_damaged"),
        (pdfgen.encrypted_pdf(), "pdf_encrypted"),
        (pdfgen.zero_page_pdf(), "pdf_no_pages"),
    ):
        with pytest.raises(PdfInvalid) as caught:
            detect_markers(data)
        assert caught.value.code == code
        if code != "pdf_no_pages":
            with pytest.raises(PdfInvalid):
                hide_markers(data)


# --- committed samples ----------------------------------------------------------------------
def test_libreoffice_sample():
    data = sample("libreoffice_anchors.pdf")
    found = detect_markers(data)
    assert [(p.page, p.source, p.kind, p.role, p.mandatory) for p in found] == [
        (1, "anchor", "signature", "Customer", True),
        (1, "anchor", "signature", "Seller", False),
        (1, "anchor", "initials", "Customer", True),  # split over a bold and an italic serif span
        (1, "anchor", "date", "Customer", True),
        (1, "anchor", "text", "Customer", True),
        (1, "anchor", "checkbox", "Customer", True),
        (1, "anchor", "checkbox", "Customer", False),
        (1, "arrow_glyph", "signature", "", True),
        (1, "arrow_image", "signature", "", True),  # the 18 x 22 pt image, not the 40 pt logo
        (2, "anchor", "signature", "Witness", True),
    ]
    for page in (1, 2):
        image = rendered(data, page)
        for placement in (p for p in found if p.page == page):
            assert_marker_on_ink(data, placement, image, hug=2.5, fill=0.3, axis="x")
    image_arrow = found[8]
    assert (
        image_arrow.marker[2] - image_arrow.marker[0],
        image_arrow.marker[3] - image_arrow.marker[1],
    ) == pytest.approx((18, 22), abs=0.1)


def test_wkhtmltopdf_sample_links_survive_with_exact_rects():
    data = sample("wkhtmltopdf_links.pdf")
    doc = pymupdf.open(stream=data, filetype="pdf")
    assert doc[0].get_text().strip() == ""  # text drawn as outlines: nothing to search
    assert doc[0].get_fonts() == []
    found = detect_markers(data)
    assert [(p.kind, p.role, p.mandatory) for p in found] == [
        ("signature", "Customer", True),
        ("signature", "Seller", False),
        ("initials", "Customer", True),
        ("date", "Customer", True),
        ("text", "Customer", False),
        ("checkbox", "Customer", True),
    ]
    assert {p.source for p in found} == {"link"}
    image = rendered(data)
    for placement in found[:5]:  # each link is a bordered block: the border is the link rect
        ink = ink_near(data, placement.marker, image=image)
        assert ink == pytest.approx(placement.marker, abs=1.0)
    sign = found[0]
    assert (sign.x0, sign.y1) == (sign.marker[0], sign.marker[3])


# --- hiding -------------------------------------------------------------------------------
@needs_dejavu
@pytest.mark.parametrize("producer", PRODUCERS)
@pytest.mark.parametrize("rotation", ROTATIONS)
def test_hide_markers_removes_anchor_glyphs_only(producer, rotation):
    items = [
        Text(72, 100, "Signature: {{sign:Customer}} done"),
        Text(72, 111, "Close line just below the anchor line"),
        Text(72, 89, "Close line just above the anchor line"),
        Text(
            72,
            200,
            [("Label:", "helv"), ("{{text:", "bold"), ("Seller}}", "helv"), ("after", "helv")],
        ),
        Text(72, 300, "{{date:Seller}}", each_char=True),
        Text(72, 400, "Sign \u2794 here", font="dejavu"),
        Image(300, 400, 318, 422),
        Box(300, 500, 400, 520),
        Link(300, 500, 400, 520, LINK_URL("checkbox", "Customer")),
        Link(300, 600, 400, 620, "https://www.example.com/terms"),
    ]
    data = pdfgen.make_pdf([Page("A4", rotation, items=items)], producer=producer)
    before = detect_markers(data)
    hidden = hide_markers(data)
    assert hidden != data
    doc = pymupdf.open(stream=hidden, filetype="pdf")
    page = doc[0]
    text = page.get_text()
    assert "{{" not in text and "}}" not in text
    assert text.split("\n")[:0] == []
    words = page.get_text().split()
    assert "Signature:" in words and "done" in words
    assert "Close line just below the anchor line" in text
    assert "Close line just above the anchor line" in text
    assert "Label:after" in text.replace("\n", "")
    assert "\u2794" in text  # arrows stay
    assert len(page.get_images()) == 1
    assert page.get_image_info()[0]["bbox"] == pytest.approx(
        pymupdf.open(stream=data, filetype="pdf")[0].get_image_info()[0]["bbox"], abs=0.01
    )
    original = pymupdf.open(stream=data, filetype="pdf")[0]
    assert len(page.get_drawings()) == len(original.get_drawings())
    assert [link.get("uri") for link in page.get_links()] == ["https://www.example.com/terms"]
    assert page.rotation == rotation
    # visually: the anchors' pixels are blank now, the rest still drawn
    image_before, image_after = rendered(data), rendered(hidden)
    for placement in before:
        fraction = pdfgen.inked_fraction(hidden, 1, core(placement.marker), ZOOM, image=image_after)
        if placement.source == "anchor":
            inked = pdfgen.inked_fraction(data, 1, core(placement.marker), ZOOM, image=image_before)
            assert inked > 0.05
            assert fraction == 0.0, placement
        else:
            assert fraction > 0.05, placement  # arrows, and the box under the link
    neighbour = (72, 89, 72 + pdfgen.text_width("Signature:", "helv", 11), 100)
    assert pdfgen.inked_fraction(hidden, 1, neighbour, ZOOM, image=image_after) > 0.05
    # what is left to find: the arrows only
    assert sorted(p.source for p in detect_markers(hidden)) == ["arrow_glyph", "arrow_image"]


def test_hide_markers_returns_the_same_object_when_there_is_nothing_to_hide():
    data = pdfgen.make_pdf(
        [
            Page(
                "A4",
                items=[
                    Text(72, 72, "No anchor {here}"),
                    Image(72, 100, 90, 122),
                    Link(72, 200, 100, 220, "https://www.example.com"),
                ],
            )
        ]
    )
    assert hide_markers(data) is data


def test_hide_markers_on_the_samples():
    office = hide_markers(sample("libreoffice_anchors.pdf"))
    doc = pymupdf.open(stream=office, filetype="pdf")
    text = "".join(page.get_text() for page in doc)
    assert "{{" not in text and "}}" not in text and ":Customer" not in text
    assert "Service agreement between the Seller and the Customer." in text
    assert "Initials:" in text and "on every page." in text
    assert "\u2794" in text and len(doc[0].get_images()) == 2
    assert [p.source for p in detect_markers(office)] == ["arrow_glyph", "arrow_image"]

    original = sample("wkhtmltopdf_links.pdf")
    report = hide_markers(original)
    doc = pymupdf.open(stream=report, filetype="pdf")
    assert [link["uri"] for link in doc[0].get_links()] == ["https://www.example.com/terms"]
    assert detect_markers(report) == ()
    # only annotations went: the page looks the same
    assert list(rendered(report).getdata()) == list(rendered(original).getdata())


def test_hidden_copy_is_a_valid_pdf_for_intake():
    from engine.pdf_intake import inspect_pdf

    data = pdfgen.make_pdf(
        [kinds_page(90)] if pdfgen.dejavu_path() else [Page("A4", 90, items=KIND_ITEMS)]
    )
    info = inspect_pdf(hide_markers(data))
    assert info.page_count == 1 and info.pages[0].rotation == 90
