"""QR codes of web addresses (engine.qr): the verification link and the signing link."""

import base64
import io

import qrcode
from PIL import Image

from engine import qr

URL = "https://erp.example.com/digital_sign/s/42/Yk3mJq9xq1u0sQ_Z4vT5x9P2c8bLq7WmA1dE3fG6hJk"


def modules(text):
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=0, mask_pattern=2
    )
    code.add_data(text.encode())
    code.make(fit=True)
    return code.get_matrix()


def test_the_png_holds_the_code_of_the_address_with_its_quiet_zone():
    png = qr.url_qr_png(URL, scale=5)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "1"
    expected = modules(URL)
    side = len(expected) + 2 * qr.QUIET_ZONE
    assert image.size == (side * 5, side * 5)
    for row, line in enumerate(expected):
        for col, dark in enumerate(line):
            pixel = image.getpixel(((col + 4) * 5 + 2, (row + 4) * 5 + 2))
            assert (pixel == 0) == dark, (row, col)
    # the quiet zone is white all around
    assert all(image.getpixel((x, 2)) == 255 for x in range(image.size[0]))
    assert all(image.getpixel((2, y)) == 255 for y in range(image.size[1]))


def test_only_plain_web_addresses_get_a_code():
    for bad in ("", None, "javascript:alert(1)", "ftp://example.com/x", "https://a b/c"):
        assert qr.url_qr_png(bad) == b""
    assert qr.url_qr_png("https://example.com/" + "x" * qr.MAX_QR_CHARS) == b""
    assert qr.url_qr_png(URL).startswith(b"\x89PNG")


def test_text_too_long_for_any_code_gives_no_image():
    assert qr.qr_png("x" * 5000) == b""
    assert qr.qr_png("") == b""


def test_data_uri():
    png = qr.url_qr_png(URL)
    uri = qr.png_data_uri(png)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png
    assert qr.png_data_uri(b"") == ""
