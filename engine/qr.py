"""QR codes of web addresses: the certificate of completion's verification link, and a
participant's signing link (in the invitation e-mail and on the sender's form, for the
customer's phone).

One drawing for all: error correction M, a fixed mask (qrcode's mask search is slow and
buys nothing for a screen or a printed page), a 4-module quiet zone, a 1-bit PNG.
"""

import base64
import io

import qrcode
from PIL import Image

from .pdf_stamp import display_text

MAX_QR_CHARS = 1200  # an address longer than this gets no code (and is no plain link anyway)
QUIET_ZONE = 4  # modules of white around the code, as the standard asks


def clean_url(url):
    """Return ``url`` if it is a plain http(s) address fit for a link and a QR code, else
    ''."""
    url = display_text(url, limit=MAX_QR_CHARS + 1)
    if not url or len(url) > MAX_QR_CHARS or " " in url:
        return ""
    if not url.lower().startswith(("https://", "http://")):
        return ""
    return url


def qr_matrix(text):
    """The modules of the QR code of ``text`` (rows of booleans, True = dark), without the
    quiet zone; None when ``text`` does not fit a QR code."""
    try:
        code = qrcode.QRCode(
            error_correction=qrcode.constants.ERROR_CORRECT_M,
            box_size=1,
            border=0,
            mask_pattern=2,
        )
        code.add_data(text.encode("utf-8"))
        code.make(fit=True)
        return code.get_matrix()
    except Exception:  # noqa: BLE001 - DataOverflowError & co: no code for this text
        return None


def qr_png(text, scale=4):
    """The QR code of ``text`` as a 1-bit PNG, ``scale`` pixels per module, with its quiet
    zone; b'' when ``text`` is empty or does not fit a QR code."""
    matrix = qr_matrix(text) if text else None
    if not matrix:
        return b""
    scale = max(1, int(scale))
    size = len(matrix) + 2 * QUIET_ZONE
    blank = [1] * size
    pixels = blank * QUIET_ZONE
    for row in matrix:
        pixels += [1] * QUIET_ZONE + [0 if dark else 1 for dark in row] + [1] * QUIET_ZONE
    pixels += blank * QUIET_ZONE
    image = Image.new("1", (size, size), 1)
    image.putdata(pixels)
    if scale > 1:
        image = image.resize((size * scale, size * scale), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def url_qr_png(url, scale=4):
    """The QR code of a web address (see :func:`clean_url`) as a PNG, b'' for anything else."""
    url = clean_url(url)
    return qr_png(url, scale=scale) if url else b""


def png_data_uri(png):
    """A PNG as a ``data:`` URI (for an ``<img>`` of an e-mail), '' for no image."""
    return f"data:image/png;base64,{base64.b64encode(png).decode()}" if png else ""
