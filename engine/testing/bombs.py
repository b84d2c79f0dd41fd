"""Decompression bombs, for tests only: zlib data of gigabytes built in milliseconds, and a
PDF whose cross-reference stream (which every parser inflates on opening) is one."""

import zlib


def stored_block(data, final=False):
    """A raw deflate "stored" block carrying ``data`` verbatim (at most 65535 bytes)."""
    return (
        bytes([1 if final else 0])
        + len(data).to_bytes(2, "little")
        + (0xFFFF ^ len(data)).to_bytes(2, "little")
        + data
    )


def zlib_data(prefix=b"", zeros=0, piece=1024 * 1024):
    """zlib data that inflates to ``prefix`` (kept verbatim in the compressed bytes, in a
    stored block) then ``zeros`` zero bytes. Built in milliseconds even for gigabytes: one
    fully flushed deflate piece of zeros, repeated (it refers to nothing before it)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = compressor.compress(bytes(piece)) + compressor.flush(zlib.Z_FULL_FLUSH)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    rest = compressor.compress(bytes(zeros % piece)) + compressor.flush(zlib.Z_FULL_FLUSH)
    adler = zlib.adler32(prefix)
    a, b = adler & 0xFFFF, adler >> 16
    b = (b + zeros * a) % 65521  # zeros leave a alone and add it to b once per byte
    blocks = b"".join(stored_block(prefix[i : i + 65535]) for i in range(0, len(prefix), 65535))
    return (
        b"\x78\xda"
        + blocks
        + one * (zeros // piece)
        + rest
        + stored_block(b"", final=True)
        + (b << 16 | a).to_bytes(4, "big")
    )


def xref_stream_bomb(decoded_size):
    """A one-page PDF whose cross-reference stream inflates to ``decoded_size`` bytes (its
    entries, then zeros): every parser inflates it on opening, pyHanko all of it."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    rows = b"\x00\x00\x00\x00\x00\xff"
    for number, body in enumerate(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        ],
        start=1,
    ):
        rows += b"\x01" + len(out).to_bytes(4, "big") + b"\x00"
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    rows += b"\x01" + xref.to_bytes(4, "big") + b"\x00"
    data = zlib_data(rows, decoded_size - len(rows))
    out += (
        b"4 0 obj\n<< /Type /XRef /Size 5 /W [1 4 1] /Root 1 0 R /Filter /FlateDecode"
        b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream\nendobj\n"
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
