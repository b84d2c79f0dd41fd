"""The marker grammar shared by detection (pdf_markers) and stamping (pdf_stamp).

Text anchors typed into a document::

    {{sign:ROLE}}  {{sign:ROLE:optional}}  {{initials:ROLE}}  {{date:ROLE}}
    {{text:ROLE}}  {{check:ROLE}}          (every kind accepts ``:optional``)

Reports rendered by wkhtmltopdf keep no findable text (glyphs are drawn as outlines), but each
``<a href>`` survives as a link annotation with its exact rectangle, so Odoo reports carry
their anchors as links to ``https://digital-sign.invalid/anchor/<kind>/<ROLE>[/optional]``
(``.invalid`` never resolves). Arrow markers (a glyph or an arrow-sized image) carry no role.
"""

import re

# anchor keyword -> field kind
ANCHOR_KINDS = {
    "sign": "signature",
    "initials": "initials",
    "date": "date",
    "text": "text",
    "check": "checkbox",
}
KIND_TO_KEYWORD = {kind: keyword for keyword, kind in ANCHOR_KINDS.items()}
FIELD_KINDS = tuple(ANCHOR_KINDS.values())

ROLE_PATTERN = r"[^\W]{1}[\w-]{0,63}"  # letters/digits/_ first, then also '-', at most 64
ANCHOR_RE = re.compile(
    r"\{\{\s*(?P<keyword>sign|initials|date|text|check)\s*:\s*(?P<role>"
    + ROLE_PATTERN
    + r")\s*(?::\s*(?P<optional>optional)\s*)?\}\}",
    re.IGNORECASE,
)

ANCHOR_LINK_PREFIX = "https://digital-sign.invalid/anchor/"
ANCHOR_LINK_RE = re.compile(
    re.escape(ANCHOR_LINK_PREFIX)
    + r"(?P<keyword>sign|initials|date|text|check)/(?P<role>"
    + ROLE_PATTERN
    + r")(?:/(?P<optional>optional))?/?$",
    re.IGNORECASE,
)

# Arrow glyphs that mark a signature place (the contact-centre convention uses U+2794).
ARROW_GLYPHS = ("\u2794", "\u27a1", "\u279c", "\u2192")


def anchor_text(kind, role, optional=False):
    """Return the text anchor for a field ``kind`` (a FIELD_KINDS value) and ``role``."""
    return "{{%s:%s%s}}" % (KIND_TO_KEYWORD[kind], role, ":optional" if optional else "")


def anchor_link(kind, role, optional=False):
    """Return the link-anchor URL for a field ``kind`` and ``role`` (used in QWeb reports)."""
    return f"{ANCHOR_LINK_PREFIX}{KIND_TO_KEYWORD[kind]}/{role}{'/optional' if optional else ''}"


def parse_anchor(text):
    """Return ``(kind, role, optional)`` for a text anchor, or None."""
    match = ANCHOR_RE.fullmatch(text.strip())
    if not match:
        return None
    return _parsed(match)


def parse_anchor_link(uri):
    """Return ``(kind, role, optional)`` for a link-anchor URI, or None."""
    match = ANCHOR_LINK_RE.match(uri or "")
    if not match:
        return None
    return _parsed(match)


def _parsed(match):
    return (
        ANCHOR_KINDS[match.group("keyword").lower()],
        match.group("role"),
        bool(match.group("optional")),
    )
