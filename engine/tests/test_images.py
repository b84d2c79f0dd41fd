"""Signature image checks (engine.images)."""

import base64
import io
import os
import struct
import zlib

import pytest
from PIL import Image

from engine import images
from engine.errors import ImageInvalid
from engine.images import MAX_IMAGE_BYTES, check_signature_image


def png_bytes(size=(300, 100), mode="RGBA", color=(10, 20, 30, 255), **save):
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format="PNG", **save)
    return out.getvalue()


def jpeg_bytes(size=(300, 100), **save):
    out = io.BytesIO()
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste((200, 0, 0), (0, 0, size[0] // 2, size[1]))  # left half red
    image.save(out, format="JPEG", **save)
    return out.getvalue()


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width, height):
    """A PNG whose IHDR claims width x height, with a tiny (wrong) pixel stream."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        images.PNG_MAGIC
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def png_chunks(data):
    kinds, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kinds.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return kinds


def refused(data):
    with pytest.raises(ImageInvalid) as info:
        check_signature_image(data)
    return info.value.code


def opened(data):
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


SVG = (
    '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="200" height="80">'
    '<path d="M0 0L200 80"/></svg>'
)


# --- accepted -----------------------------------------------------------------------------
def test_png_is_reencoded_as_clean_rgba_png():
    source = png_bytes(mode="RGB", color=(1, 2, 3), pnginfo=_text_info(), icc_profile=b"x" * 64)
    assert b"tEXt" in source and b"iCCP" in source
    out = check_signature_image(source)
    image = opened(out)
    assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (300, 100))
    assert image.getpixel((5, 5)) == (1, 2, 3, 255)
    assert set(png_chunks(out)) == {b"IHDR", b"IDAT", b"IEND"}  # metadata stripped


def _text_info():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "someone")
    return info


def test_base64_text_bytes_and_data_url_are_accepted():
    source = png_bytes()
    encoded = base64.b64encode(source)
    expected = check_signature_image(source)
    assert check_signature_image(encoded.decode()) == expected
    assert check_signature_image(encoded) == expected  # Odoo stores binaries as base64 bytes
    assert check_signature_image("data:image/png;base64," + encoded.decode()) == expected
    wrapped = b"\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    assert check_signature_image(b"  " + wrapped + b"\n") == expected
    assert check_signature_image(base64.urlsafe_b64encode(source).decode().rstrip("=")) == expected


def test_jpeg_is_accepted_raw_and_as_data_url_and_returned_as_png():
    source = jpeg_bytes()
    for data in (source, "data:image/jpeg;base64," + base64.b64encode(source).decode()):
        image = opened(check_signature_image(data))
        assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (300, 100))
        red, green, blue, alpha = image.getpixel((20, 50))
        assert red > 150 and green < 60 and alpha == 255


def test_declared_type_is_not_trusted():
    # a PNG declared as JPEG is still a PNG; a GIF declared as PNG is still refused
    assert opened(
        check_signature_image("data:image/jpeg;base64," + base64.b64encode(png_bytes()).decode())
    ).size == (300, 100)
    gif = io.BytesIO()
    Image.new("P", (100, 40)).save(gif, format="GIF")
    assert refused("data:image/png;base64," + base64.b64encode(gif.getvalue()).decode()) == (
        "image_format"
    )


def test_exif_orientation_is_applied_before_stripping():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    image = opened(check_signature_image(jpeg_bytes(size=(300, 100), exif=exif.tobytes())))
    assert image.size == (100, 300)


def test_transparency_and_16_bit_images_survive():
    palette = Image.new("P", (100, 40), 0)
    palette.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    palette.paste(1, (0, 0, 50, 40))
    out = io.BytesIO()
    palette.save(out, format="PNG", transparency=0)
    image = opened(check_signature_image(out.getvalue()))
    assert image.getpixel((10, 10))[3] == 255 and image.getpixel((90, 10))[3] == 0

    deep = Image.new("I;16", (100, 40), 30000)
    out = io.BytesIO()
    deep.save(out, format="PNG")
    grey = opened(check_signature_image(out.getvalue())).getpixel((5, 5))
    assert 100 < grey[0] < 130 and grey[3] == 255  # scaled to 8 bits, not clipped to white


def test_large_images_are_downscaled_to_fit_1024():
    image = opened(check_signature_image(png_bytes(size=(2048, 512))))
    assert image.size == (1024, 256)
    image = opened(check_signature_image(png_bytes(size=(300, 3000))))
    assert image.size == (102, 1024)


# --- refused ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        SVG,
        SVG.encode(),
        "  \ufeff" + SVG,
        base64.b64encode(SVG.encode()).decode(),
        base64.b64encode(SVG.encode()),
        "data:image/svg+xml;base64," + base64.b64encode(SVG.encode()).decode(),
        "data:image/svg+xml;utf8," + SVG,
        "data:image/png;base64," + base64.b64encode(SVG.encode()).decode(),
        "<svg><script>alert(1)</script></svg>",
    ],
)
def test_svg_is_refused_as_a_format(data):
    assert refused(data) == "image_format"


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_formats_are_refused(fmt):
    out = io.BytesIO()
    Image.new("RGB", (100, 40)).save(out, format=fmt)
    assert refused(out.getvalue()) == "image_format"
    assert refused(base64.b64encode(out.getvalue()).decode()) == "image_format"


@pytest.mark.parametrize("data", [b"", "", "   ", None, False, "data:image/png;base64,"])
def test_empty_input(data):
    assert refused(data) == "image_empty"


@pytest.mark.parametrize(
    "data",
    ["this is not base64!", b"hello, world", "data:image/png;base64,@@@@", "QUJD*RA==", "A"],
)
def test_non_base64_text_is_damaged(data):
    assert refused(data) == "image_damaged"


def test_truncated_and_corrupt_files_are_damaged():
    source = png_bytes(size=(400, 200), mode="RGB", color=(9, 9, 9))
    noisy = png_bytes(size=(400, 200))
    assert refused(source[: len(source) // 2]) == "image_damaged"
    assert refused(source[:20]) == "image_damaged"  # cut inside the IHDR
    flipped = bytearray(noisy)
    flipped[40] ^= 0xFF  # inside IDAT: CRC mismatch
    assert refused(bytes(flipped)) == "image_damaged"
    jpeg = jpeg_bytes(size=(400, 200))
    assert refused(jpeg[: len(jpeg) // 2]) == "image_damaged"
    assert refused(images.JPEG_MAGIC + b"\xe0\x00\x10garbage") == "image_damaged"
    assert refused(12345) == "image_damaged"


def test_dimensions_are_checked_from_the_header_before_decoding(monkeypatch):
    def no_decoding(*args, **kwargs):
        raise AssertionError("pixels must not be decoded")

    monkeypatch.setattr(images.Image, "open", no_decoding)
    for width, height in [
        (20000, 20000),
        (5000, 100),
        (100, 5000),
        (4000, 4001),
        (10, 10),
        (15, 100),
        (100, 7),
        (0, 0),
    ]:
        data = png_header_only(width, height)
        assert refused(data) == "image_dimensions", (width, height)
        assert refused(base64.b64encode(data).decode()) == "image_dimensions"


def test_jpeg_dimensions_are_read_from_the_frame_header(monkeypatch):
    big = jpeg_bytes(size=(300, 100))
    # patch the SOF0 height/width fields to 30000 x 30000 without touching the pixels
    sof = big.index(b"\xff\xc0")
    patched = big[: sof + 5] + struct.pack(">HH", 30000, 30000) + big[sof + 9 :]
    monkeypatch.setattr(images.Image, "open", lambda *a, **k: pytest.fail("decoded"))
    assert refused(patched) == "image_dimensions"


def test_more_than_one_mebibyte_is_too_large():
    noise = io.BytesIO()
    Image.frombytes("RGB", (1024, 1024), os.urandom(1024 * 1024 * 3)).save(noise, format="PNG")
    data = noise.getvalue()
    assert len(data) > 3 * 1000 * 1000
    assert refused(data) == "image_too_large"
    assert refused(base64.b64encode(data).decode()) == "image_too_large"
    assert refused("data:image/png;base64," + base64.b64encode(data).decode()) == (
        "image_too_large"
    )
    assert refused(images.PNG_MAGIC + b"\0" * MAX_IMAGE_BYTES) == "image_too_large"


def test_errors_carry_no_user_text_but_a_code():
    with pytest.raises(ImageInvalid) as info:
        check_signature_image(png_header_only(20000, 20000))
    assert info.value.code == "image_dimensions"
    assert info.value.params == {"width": 20000, "height": 20000}
