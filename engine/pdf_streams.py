"""Decompression bombs: how much a PDF's streams decode to, measured without keeping it.

A PDF parser inflates what a stream's filters say, fully and in memory (pyHanko applies each
filter to the whole stream; MuPDF inflates cross-reference and object streams while opening
a file). A 20 MB upload can hold terabytes that way. Two checks bound that before a parser
sees the file, with decoders that count their output in chunks (memory stays bounded
whatever the ratio) and stop past a budget:

* :func:`check_streams` reads the RAW bytes, before any parser. It measures the data after
  every ``stream`` keyword (whatever precedes it: a comment between ``>>`` and ``stream``
  changes nothing for a parser) through every filter chain named by a ``/Filter`` (hex
  escapes such as ``/Fil#74er`` included) in the 64 KiB before it, decoys included, and
  through what the data itself looks like (a zlib header, hexadecimal or ASCII85 text that
  decodes to one), so that a dictionary padded beyond that window or a ``/Filter`` hidden
  behind a comment does not hide a Flate bomb. The data runs to the end of the file, not to
  the next ``endstream`` or ``stream`` (either can be planted inside compressed data); the
  decoders stop at their own end, and the input they consume is counted against a budget
  proportional to the file, so that overlapping guesses never cost more than linear time.
  Decoded output is itself sniffed (a Flate stream inside a Flate stream).
* :func:`check_document_streams` runs once MuPDF opened the file: it measures, as MuPDF
  reads them, the streams that chain several filters or use LZW or RunLength (those a raw
  scan could misjudge); single-filter Flate streams are always caught by the raw scan.

What is left: an LZW or RunLength object stream (which MuPDF inflates while opening) whose
dictionary hides its ``/Filter`` more than 64 KiB before its data. Image codecs (DCT, JPX,
JBIG2, CCITT) are bounded by the image's size and not measured here.

The size of a stream is the largest output of any of its filters (pyHanko holds each in
memory); the total adds up every measurement.
"""

import base64
import binascii
import re
import zlib

import pymupdf

from .errors import PdfInvalid

MAX_STREAM_BYTES = 100 * 1024 * 1024  # one stream, decoded
MAX_TOTAL_BYTES = 250 * 1024 * 1024  # all streams together, decoded
MAX_FILTERS = 16  # filters chained on one stream (declared or found inside)
MAX_CHAINS = 8  # different filter chains that can be measured, within 64 KiB

_DICT_WINDOW = 64 * 1024  # how far before its data a stream's /Filter is looked for
_WORK_FACTOR = 4  # input the decoders may consume: this many times the file...
_WORK_MINIMUM = 16 * 1024 * 1024  # ...plus this
_FIRST_FEED = 64  # decoders get the data in pieces that double, from this size, up to
_MAX_FEED = 1024 * 1024
_CHUNK = 1024 * 1024  # decoded output per step
_SNIFF_BYTES = 64  # non-blank bytes looked at to guess an encoding
_ATTEMPT_COST = 256  # work charged for each measurement started (on top of the bytes read)

_FILTER_KEY = rb"/((?:[A-Za-z]|#[0-9A-Fa-f]{2}){6,18})"
_FILTER_RE = re.compile(_FILTER_KEY + rb"\s*(\[[^\]]{0,512}\]|/[^\s/\[\]<>()%]+|\d+\s+\d+\s+R)")
_NAME_RE = re.compile(rb"/([^\s/\[\]<>()%]+)")
_HEX_ESCAPE_RE = re.compile(rb"#([0-9A-Fa-f]{2})")
_BLANKS = b" \t\r\n\x0c\x00"
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_NOT_HEX_RE = re.compile(rb"[^0-9A-Fa-f]")
_NOT_ASCII85_RE = re.compile(rb"[^!-uz]")

_FLATE = frozenset({b"FlateDecode", b"Fl"})
_LZW = frozenset({b"LZWDecode", b"LZW"})
_RUNLENGTH = frozenset({b"RunLengthDecode", b"RL"})
_ASCIIHEX = frozenset({b"ASCIIHexDecode", b"AHx"})
_ASCII85 = frozenset({b"ASCII85Decode", b"A85"})
_SNIFF = b"?"  # a filter we cannot read: guessed from the data


class _OverBudget(Exception):
    pass


def _bomb(detail):
    return PdfInvalid(detail, code="pdf_bomb")


def _unescape(name):
    return _HEX_ESCAPE_RE.sub(lambda m: bytes([int(m.group(1), 16)]), name)


def _filter_names(value):
    """The filter names of a /Filter value (bytes); ``(_SNIFF,)`` for an indirect one."""
    if value[:1] not in (b"/", b"["):
        return (_SNIFF,)
    return tuple(_unescape(name) for name in _NAME_RE.findall(value))


def _is_zlib_header(head):
    return (
        len(head) >= 2
        and head[0] & 0x0F == 8
        and head[0] >> 4 <= 7
        and (head[0] << 8 | head[1]) % 31 == 0
    )


# --- the work budget and the raw data ----------------------------------------------------
class _Work:
    """Input bytes the decoders may still consume in this scan."""

    def __init__(self, allowed):
        self.left = allowed

    def spend(self, size):
        self.left -= size
        if self.left < 0:
            raise _bomb("decoding the streams would read the file over and over")


class _Source:
    """``data[start:]`` in growing pieces, each counted against the work budget; the first
    decoder gives back what it did not consume."""

    def __init__(self, data, start, work, end=None):
        self.view = memoryview(data)
        self.position = start
        self.end = len(data) if end is None else end
        self.work = work
        work.spend(_ATTEMPT_COST)

    def __iter__(self):
        size = _FIRST_FEED
        end_of_data = self.end
        while self.position < end_of_data:
            end = min(self.position + size, end_of_data)
            self.work.spend(end - self.position)
            piece = self.view[self.position : end]
            self.position = end
            yield piece
            size = min(size * 2, _MAX_FEED)

    def give_back(self, size):
        self.work.left += size


def _ignore(_size):
    return None


# --- decoders: each yields its output in chunks and stops at its own end -----------------
def _flate(pieces, give_back):
    inflater = zlib.decompressobj()
    for piece in pieces:
        data = piece
        while data:
            try:
                out = inflater.decompress(data, _CHUNK)
            except zlib.error:
                return
            if out:
                yield out
            if inflater.eof:
                give_back(len(inflater.unused_data))
                return
            data = inflater.unconsumed_tail
    while True:  # the input ended: output still buffered inside zlib
        try:
            out = inflater.decompress(b"", _CHUNK)
        except zlib.error:
            return
        if not out:
            return
        yield out


def _lzw(pieces, give_back):
    """PDF's LZW (EarlyChange 1)."""
    table = [bytes([code]) for code in range(256)] + [b"", b""]  # 256 clear, 257 end
    bits, buffer, nbits, previous = 9, 0, 0, None
    out = bytearray()
    for piece in pieces:
        piece = bytes(piece)
        for index, byte in enumerate(piece):
            buffer = (buffer << 8) | byte
            nbits += 8
            while nbits >= bits:
                nbits -= bits
                code = (buffer >> nbits) & ((1 << bits) - 1)
                buffer &= (1 << nbits) - 1
                if code == 256:
                    del table[258:]
                    bits, previous = 9, None
                    continue
                if code == 257:
                    give_back(len(piece) - index - 1)
                    if out:
                        yield bytes(out)
                    return
                if code < len(table):
                    entry = table[code]
                elif code == len(table) and previous is not None:
                    entry = previous + previous[:1]
                else:  # corrupt: decoders stop here
                    if out:
                        yield bytes(out)
                    return
                out += entry
                if previous is not None and len(table) < 4096:
                    table.append(previous + entry[:1])
                previous = entry
                size = len(table) + 1  # EarlyChange
                bits = 12 if size >= 2048 else 11 if size >= 1024 else 10 if size >= 512 else 9
                if len(out) >= _CHUNK:
                    yield bytes(out)
                    out.clear()
    if out:
        yield bytes(out)


def _runlength(pieces, give_back):
    pending = b""
    out = bytearray()
    for piece in pieces:
        data = pending + bytes(piece)
        index, end = 0, len(data)
        while index < end:
            length = data[index]
            if length == 128:
                give_back(end - index - 1)
                if out:
                    yield bytes(out)
                return
            if length < 128:
                if index + length + 2 > end:
                    break
                out += data[index + 1 : index + length + 2]
                index += length + 2
            else:
                if index + 2 > end:
                    break
                out += data[index + 1 : index + 2] * (257 - length)
                index += 2
            if len(out) >= _CHUNK:
                yield bytes(out)
                out.clear()
        pending = data[index:]
    if out:
        yield bytes(out)


def _asciihex(pieces, give_back):
    odd = b""
    for piece in pieces:
        data = bytes(piece)
        end = data.find(b">")
        digits = (data if end < 0 else data[:end]).translate(None, _BLANKS)
        invalid = _NOT_HEX_RE.search(digits)
        if invalid:
            digits = digits[: invalid.start()]
        digits = odd + digits
        odd = digits[len(digits) - len(digits) % 2 :]
        if len(digits) > 1:
            yield binascii.unhexlify(digits[: len(digits) - len(odd)])
        if end >= 0 or invalid:
            if end >= 0:
                give_back(len(data) - end - 1)
            if odd:
                yield binascii.unhexlify(odd + b"0")
            return
    if odd:
        yield binascii.unhexlify(odd + b"0")


def _ascii85(pieces, give_back):
    group = b""
    first = True
    for piece in pieces:
        data = bytes(piece)
        end = data.find(b"~")
        text = (data if end < 0 else data[:end]).translate(None, _BLANKS)
        if first and text.startswith(b"<~"):
            text = text[2:]
        first = first and not text
        invalid = _NOT_ASCII85_RE.search(text)
        if invalid:
            text = text[: invalid.start()]
        text = group + text.replace(b"z", b"!!!!!")
        whole = len(text) - len(text) % 5
        group = text[whole:]
        if whole:
            try:
                yield base64.a85decode(text[:whole])
            except ValueError:  # a group over 2**32: decoders stop
                return
        if end >= 0 or invalid:
            if end >= 0:
                give_back(len(data) - end - 1)
            break
    if len(group) > 1:
        try:
            yield base64.a85decode(group + b"u" * (5 - len(group)))[: len(group) - 1]
        except ValueError:
            return


_DECODERS = {}
_DECODERS.update(dict.fromkeys(_FLATE, _flate))
_DECODERS.update(dict.fromkeys(_LZW, _lzw))
_DECODERS.update(dict.fromkeys(_RUNLENGTH, _runlength))
_DECODERS.update(dict.fromkeys(_ASCIIHEX, _asciihex))
_DECODERS.update(dict.fromkeys(_ASCII85, _ascii85))


_NON_BLANK_RE = re.compile(rb"[^ \t\r\n\x0c\x00]")


def _sniff(first, text):
    """The decoder that data starting with the bytes ``first`` (its first non-blank bytes
    being ``text``) looks encoded with, or None. Hexadecimal and ASCII85 text count only when
    they hide zlib data."""
    if _is_zlib_header(first):
        return _flate
    if len(text) < 4:
        return None
    if all(c in _HEX_DIGITS for c in text[:4]):
        if _is_zlib_header(int(text[:4], 16).to_bytes(2, "big")) and all(
            c in _HEX_DIGITS for c in text.split(b">", 1)[0][:_SNIFF_BYTES]
        ):
            return _asciihex
        return None
    a85 = text[2:] if text.startswith(b"<~") else text
    if len(a85) >= 5 and not _NOT_ASCII85_RE.search(a85[:5]):
        value = 0
        for c in a85[:5]:
            value = value * 85 + c - 33
        if value < 1 << 32 and _is_zlib_header(value.to_bytes(4, "big")):
            return _ascii85
    return None


_TEXT_START = frozenset(range(ord("!"), ord("u") + 1)) | frozenset(b"z<")


def _sniff_data(data, start):
    """:func:`_sniff` on ``data[start:]`` (blanks skipped for at most one feed)."""
    first = data[start : start + 2]
    if _is_zlib_header(first):
        return _flate
    found = _NON_BLANK_RE.search(data, start, start + _MAX_FEED)
    if not found or data[found.start()] not in _TEXT_START:
        return None
    text = data[found.start() : found.start() + 4 * _SNIFF_BYTES].translate(None, _BLANKS)
    return _sniff(first, text[:_SNIFF_BYTES])


_SNIFFED_NAMES = {_flate: _FLATE, _asciihex: _ASCIIHEX, _ascii85: _ASCII85}


class _Measure:
    """Runs one filter chain over one stream and keeps the largest output of its stages."""

    def __init__(self, budget):
        self.budget = budget
        self.largest = 0
        self.stages = []  # each stage's counted output, in order

    def count(self, pieces):
        produced = 0
        for piece in pieces:
            produced += len(piece)
            self.largest = max(self.largest, produced)
            if produced > self.budget:
                raise _OverBudget()
            yield piece

    def stage(self, decoder, pieces, give_back=_ignore):
        if len(self.stages) >= MAX_FILTERS:
            raise _bomb(f"more than {MAX_FILTERS} filters on one stream")
        self.stages.append(self.count(decoder(pieces, give_back)))
        return self.stages[-1]

    def sniffed(self, pieces, give_back=_ignore, *, inner=True):
        """Decode ``pieces`` as they look; ``inner``: they are the output of a filter, and
        pass unchanged when they look like nothing (already counted)."""
        pieces = iter(pieces)
        held, first, text, size = [], b"", b"", 0
        for piece in pieces:
            held.append(piece)
            size += len(piece)
            if len(first) < 2:
                first += bytes(piece[: 2 - len(first)])
            if len(text) < _SNIFF_BYTES:
                found = None if text else _NON_BLANK_RE.search(piece)
                begin = found.start() if found else (0 if text else len(piece))
                text += bytes(piece[begin : begin + 4 * _SNIFF_BYTES]).translate(None, _BLANKS)
            if len(text) >= _SNIFF_BYTES or size >= _MAX_FEED:
                break
        decoder = _sniff(first, text[:_SNIFF_BYTES])
        if decoder is None:
            if inner:
                yield from held
                yield from pieces
            return
        yield from self.sniffed(self.stage(decoder, _chain(held, pieces), give_back))

    def run(self, source, names):
        """Measure ``source`` through ``names``; None when its first filter cannot be
        measured (an image codec, or data the decoder refuses at once)."""
        pieces = iter(source)
        if names == (_SNIFF,):
            stream = self.sniffed(pieces, source.give_back, inner=False)
        else:
            stream = pieces
            for position, name in enumerate(names):
                decoder = _DECODERS.get(name)
                if decoder is None:
                    if position == 0:
                        return None
                    break
                stream = self.stage(decoder, stream, source.give_back if position == 0 else _ignore)
            else:
                stream = self.sniffed(stream)
        for _piece in stream:
            pass
        # A filter that stops early (bad data, its end marker) does not stop the ones before
        # it: parsers decode each filter's data to its end, pyHanko all of it in memory.
        for stage in reversed(self.stages):
            for _piece in stage:
                pass
        return self.largest if self.stages else None


def _chain(held, rest):
    yield from held
    yield from rest


def _measure(source, names, budget):
    """``(size, over)``: the largest decoded stage of ``source`` through ``names`` (None when
    not measurable) and whether it went past ``budget``."""
    measure = _Measure(budget)
    try:
        return measure.run(source, names), False
    except _OverBudget:
        return measure.largest, True


class _Tally:
    def __init__(self, max_stream, max_total):
        self.max_stream = MAX_STREAM_BYTES if max_stream is None else max_stream
        self.max_total = MAX_TOTAL_BYTES if max_total is None else max_total
        self.total = 0

    def measure(self, source, names, where):
        """Measure one stream through ``names``, add it up; True if it was measurable."""
        budget = min(self.max_stream, self.max_total - self.total)
        size, over = _measure(source, names, budget)
        if size is None:
            return False
        self.total += size
        if over:
            which = "one stream" if budget == self.max_stream else "all streams"
            raise _bomb(f"{which} inflate beyond {budget} bytes ({where})")
        return True


# --- the checks ---------------------------------------------------------------------------
_LETTERS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _stream_keywords(data):
    """``(keyword, data start)`` of every ``stream`` keyword followed by its end of line (not
    the tail of ``endstream`` or ``upstream``). ``bytes.find`` is much faster than a regex."""
    position = data.find(b"stream")
    while position >= 0:
        after = position + 6
        if position == 0 or data[position - 1] not in _LETTERS:
            if data[after : after + 2] == b"\r\n":
                yield position, after + 2
            elif data[after : after + 1] in (b"\n", b"\r"):
                yield position, after + 1
        position = data.find(b"stream", after)


class _Window:
    """The distinct filter chains named in the 64 KiB before each keyword (keywords come in
    increasing order), cut after their last filter that can be measured."""

    def __init__(self, filters):
        self.filters = filters  # (position, names), in file order
        self.first = self.next = 0
        self.counts = {}

    def _key(self, names):
        for index, name in enumerate(names):
            if name not in _DECODERS and name != _SNIFF:
                return names[:index]
        return names

    def chains(self, keyword):
        while self.next < len(self.filters) and self.filters[self.next][0] < keyword:
            key = self._key(self.filters[self.next][1])
            self.counts[key] = self.counts.get(key, 0) + 1
            self.next += 1
        while self.first < self.next and self.filters[self.first][0] < keyword - _DICT_WINDOW:
            key = self._key(self.filters[self.first][1])
            self.counts[key] -= 1
            if not self.counts[key]:
                del self.counts[key]
            self.first += 1
        chains = [key for key in self.counts if key]
        if len(chains) > MAX_CHAINS:
            raise _bomb(f"more than {MAX_CHAINS} different filter chains near one stream")
        return chains


def check_streams(data, *, max_stream=None, max_total=None):
    """Raise ``PdfInvalid(code="pdf_bomb")`` if a stream of the raw PDF ``data`` decodes to
    more than ``max_stream`` bytes (default :data:`MAX_STREAM_BYTES`), all of them to more
    than ``max_total`` (:data:`MAX_TOTAL_BYTES`), or measuring them would take more than
    linear work; return the decoded total (see the module docstring)."""
    tally = _Tally(max_stream, max_total)
    work = _Work(len(data) * _WORK_FACTOR + _WORK_MINIMUM)
    filters = [
        (match.start(), _filter_names(match.group(2)))
        for match in _FILTER_RE.finditer(data)
        if _unescape(match.group(1)) == b"Filter"
    ]
    window = _Window(filters)
    for keyword, start in _stream_keywords(data):
        where = f"stream at {keyword}"
        zlib_data = _is_zlib_header(data[start : start + 2])
        measured = set()
        for names in window.chains(keyword):
            if names[0] in _FLATE and not zlib_data:
                continue  # MuPDF and pyHanko inflate nothing either
            end = None
            if names[0] in _LZW or names[0] in _RUNLENGTH:
                # these decode any byte: stop at the next "endstream" (check_document_streams
                # measures these streams exactly once MuPDF opened the file)
                end = data.find(b"endstream", start)
                end = len(data) if end < 0 else end
            if tally.measure(_Source(data, start, work, end), names, where):
                measured.add(names[0])
        guess = _sniff_data(data, start)
        if guess is not None and not measured & (_SNIFFED_NAMES[guess] | {_SNIFF}):
            tally.measure(_Source(data, start, work), (_SNIFF,), where)
    return tally.total


def _mupdf_filters(mu, obj):
    """The filter names of the stream ``obj`` as MuPDF reads them (names unescaped)."""
    value = mu.pdf_dict_get(obj, mu.PDF_ENUM_NAME_Filter)
    if mu.pdf_is_name(value):
        return (mu.pdf_to_name(value).encode("latin-1", "replace"),)
    if mu.pdf_is_array(value):
        return tuple(
            mu.pdf_to_name(mu.pdf_array_get(value, index)).encode("latin-1", "replace")
            for index in range(mu.pdf_array_len(value))
        )
    return ()


def check_document_streams(doc, *, max_stream=None, max_total=None):
    """Raise ``pdf_bomb`` if a stream of the open pymupdf ``doc`` that chains filters or
    uses LZW or RunLength decodes, as MuPDF reads it, to more than ``max_stream`` bytes, or
    those together to more than ``max_total``; return their decoded total."""
    # PyMuPDF's own low-level binding: about five times faster per object than
    # Document.xref_is_stream/xref_get_key, which matters for files of many objects.
    mu = pymupdf.mupdf
    pdf = pymupdf._as_pdf_document(doc)
    tally = _Tally(max_stream, max_total)
    work = _Work(1 << 62)  # each stream is read once
    for xref in range(1, mu.pdf_xref_len(pdf)):
        obj = mu.pdf_new_indirect(pdf, xref, 0)
        if not mu.pdf_is_stream(obj):
            continue
        names = _mupdf_filters(mu, obj)
        if len(names) < 2 and not set(names) & (_LZW | _RUNLENGTH):
            continue
        raw = doc.xref_stream_raw(xref) or b""
        tally.measure(_Source(raw, 0, work), names, f"object {xref}")
    return tally.total
