"""The certificate of completion appended to the signed PDF.

It lists the request (reference, title, company, SHA-256 and page count of the original, and
the SHA-256 of the file as uploaded when active content was removed from it at intake),
every participant (role, masked contacts, invitation and code channels, whether the code was
verified, IP address, user agent, consent / invited / viewed / signed or rejected times), the
full event log, and a QR code with the public verification address. Every heading and label
comes from ``CompletionData.labels`` (defaults: :data:`DEFAULT_LABELS`), so the Odoo side can
pass translations.

Layout is MuPDF's Story (HTML/CSS): text is real, extractable text, long tables flow over as
many pages as needed, and every value is untrusted: it is stripped of control characters and
bidi overrides, HTML-escaped, cut at :data:`~.pdf_stamp.MAX_VALUE_CHARS` characters, and
given break opportunities where a single token is wider than its column.
"""

import math
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import pymupdf

from . import qr
from .mupdf_lock import serialized
from .pdf_stamp import (
    Aux,
    StampValue,
    TextRun,
    breakable,
    compose,
    display_text,
    fonts,
    save,
    story_escape,
)

A4 = (595.28, 841.89)

DEFAULT_LABELS = types.MappingProxyType(
    {
        "title": "Certificate of completion",
        "interim": "INTERIM",
        "interim_notice": (
            "Interim certificate: the request is not complete yet. It is replaced by the final "
            "certificate when every participant has finished."
        ),
        "page": "Page",
        "section_document": "Document",
        "reference": "Reference",
        "document_title": "Title",
        "company": "Company",
        "original_sha256": "SHA-256 of the original document",
        "uploaded_sha256": "SHA-256 of the file as uploaded (active content removed since)",
        "original_pages": "Pages of the original document",
        "created_at": "Created",
        "completed_at": "Completed",
        "timezone": "Time zone",
        "section_verification": "Verification",
        "verify_hint": "Scan the code or open this address to verify the document:",
        "seal": "Seal",
        "section_participants": "Participants",
        "role": "Role",
        "email": "Email",
        "mobile": "Mobile",
        "invite_channel": "Invitation sent by",
        "otp_channel": "Verification code sent by",
        "otp_verified": "Verification code",
        "otp_yes": "Verified",
        "otp_no": "Not verified",
        "state": "Status",
        "ip": "IP address",
        "user_agent": "Browser (user agent)",
        "consent_at": "Consent to sign electronically",
        "consent_text": "Consent text accepted",
        "invited_at": "Invited",
        "viewed_at": "Viewed",
        "signed_at": "Signed",
        "rejected_at": "Rejected",
        "logged_in_as": "Opened while logged in as",
        "in_person": "In person, hosted by",
        "section_approvals": "Approval before sending",
        "approval_decision": "Decision",
        "approval_by": "By",
        "approval_at": "Time",
        "approval_reason": "Reason",
        "company_signatory": "Company seal applied by",
        "section_events": "Event log",
        "event_at": "Time",
        "event": "Event",
        "event_participant": "Participant",
        "event_ip": "IP address",
        "event_detail": "Detail",
        "no_events": "No events recorded.",
        "empty": "\u2014",
    }
)


@dataclass(frozen=True)
class CompletionParticipant:
    """One participant; times are already-formatted strings with their time zone, '' when
    absent."""

    name: str
    role: str
    email_masked: str
    mobile_masked: str
    invite_channel: str
    otp_channel: str
    otp_verified: bool
    state: str
    ip: str
    user_agent: str
    consent_at: str
    invited_at: str
    viewed_at: str
    signed_at: str
    rejected_at: str
    # Users of the sender's system whose browser session opened this participant's page
    # ("Alice Sender (alice)"), '' when none: the page was not opened by an anonymous visitor.
    logged_in_as: str = ""
    # Signed in person: the sender's user who handed their device over ("Sign now") and
    # opened the page for this participant in a fresh session ("Alice Sender (alice)").
    in_person_host: str = ""
    # The consent text as this participant saw and accepted it, in their language.
    consent_text: str = ""
    # The company itself as a participant (its seal image applied from the sender's system,
    # no contact, no link): ``company_seal_by`` names who applied the seal ("Sara Keeper
    # (sara)"), '' while it is not applied.
    is_company: bool = False
    company_seal_by: str = ""


@dataclass(frozen=True)
class CompletionApproval:
    """One decision of the internal approval before sending: the rule (tier), the decision's
    label, who decided, when (formatted) and the reason they gave."""

    tier: str
    decision: str
    by: str
    at: str
    reason: str = ""


@dataclass(frozen=True)
class CompletionEvent:
    at: str
    event: str
    participant: str
    ip: str
    detail: str


@dataclass(frozen=True)
class CompletionData:
    reference: str
    title: str
    company: str
    original_sha256: str
    original_pages: int
    created_at: str
    completed_at: str
    timezone: str
    participants: tuple[CompletionParticipant, ...]
    events: tuple[CompletionEvent, ...]
    verify_url: str = ""  # printed, linked and encoded as a QR code
    uploaded_sha256: str = ""  # printed when it differs from original_sha256
    seal_note: str = ""
    interim: bool = False
    approvals: tuple[CompletionApproval, ...] = ()  # oldest first; no section when empty
    # every heading/label text; keys missing here come from DEFAULT_LABELS
    labels: Mapping[str, str] = field(default_factory=lambda: DEFAULT_LABELS)


@serialized
def render_completion_certificate(data: CompletionData, *, page_size=A4) -> bytes:
    """Return the certificate of completion alone, as a PDF (bytes)."""
    pages = _CompletionPages(data, page_size)
    run = TextRun(fonts())
    pages.prepare(run)
    aux = Aux()
    pages.write(aux, run.story())
    doc = aux.finish()
    try:
        return save(doc)
    finally:
        doc.close()


@serialized
def build_final_document(
    original: bytes,
    values: Sequence[StampValue],
    completion: CompletionData,
    *,
    hide_rects: Sequence[tuple[int, float, float, float, float]] = (),
    page_size=A4,
) -> bytes:
    """Stamp ``values`` onto ``original`` (as :func:`~.pdf_stamp.stamp_document` does),
    append the pages of the certificate of completion, and return the result of ONE full
    save."""
    pages = _CompletionPages(completion, page_size)
    return compose(original, values, hide_rects=hide_rects, extra=pages)


# --- layout -------------------------------------------------------------------------------
MARGIN_X = 42.0
MARGIN_TOP = 58.0
MARGIN_BOTTOM = 46.0
BODY_PT = 8.5
EVENT_PT = 7.5
HASH_PT = 7.5  # 64 hex digits fit one line of the value column on A4 and Letter
CELL_PAD = 3.0
KEY_COL = 150.0  # pt, label column of the key/value tables
QR_PT = 86.0
EVENT_ROWS_PER_TABLE = 20  # the event log is cut into tables of this many rows (layout speed)
MAX_PAGES = 2000  # a guard: a Story that stops progressing must not loop forever
INK = "#1a1a1a"
ACCENT = "#0b2a66"
INTERIM_INK = "#b00020"
WATERMARK_INK = "#f4cdd3"

_mupdf = pymupdf.mupdf


class _CompletionPages:
    """Lays the certificate of completion out once (pages recorded as display lists, so the page count is
    known before anything is written), then writes the pages with header, footer and the
    INTERIM watermark."""

    def __init__(self, data, page_size):
        if not isinstance(data, CompletionData):
            raise TypeError("completion must be a CompletionData")
        self.data = data
        self.width, self.height = (float(v) for v in page_size)
        labels = dict(DEFAULT_LABELS)
        labels.update({k: v for k, v in dict(data.labels or {}).items() if isinstance(v, str)})
        self.labels = labels
        self.content = pymupdf.Rect(
            MARGIN_X, MARGIN_TOP, self.width - MARGIN_X, self.height - MARGIN_BOTTOM
        )
        self.pages = []  # display lists
        self.links = []  # (page index, rect, href)
        self.decor = []  # per page: ([watermark items], [header/footer items])

    def prepare(self, run):
        font_set = run.font_set
        url = _clean_url(self.data.verify_url)
        qr_png = _qr_png(url) if url else b""
        archive = font_set.archive()
        if qr_png:
            archive.add(qr_png, "verify-qr.png")
        body = _Body(font_set, self.labels, self.content.width).html(self.data, url, bool(qr_png))
        story = pymupdf.Story(body, user_css=_css(font_set, self.content.width), archive=archive)
        page_rect = _mupdf.FzRect(0, 0, self.width, self.height)
        more = 1
        while more and len(self.pages) < MAX_PAGES:
            display_list = _mupdf.FzDisplayList(page_rect)
            device = pymupdf.DeviceWrapper(display_list)
            more, _ = story.place(self.content)
            story.element_positions(_link_collector(self.links, len(self.pages)))
            story.draw(device)
            _mupdf.fz_close_device(device.this)
            self.pages.append(display_list)
        self.url = url
        self._decorations(run)

    def _decorations(self, run):
        data, labels, width, height = self.data, self.labels, self.width, self.height
        count = len(self.pages)
        watermark = None
        if data.interim:
            item = run.fit(
                pymupdf.Rect(0, 0, 480, 110),
                labels["interim"],
                max_font=90,
                color=WATERMARK_INK,
                align="center",
            )
            if item is not None:
                angle = -math.degrees(math.atan2(height, width))
                watermark = replace(
                    item,
                    matrix=item.matrix
                    * pymupdf.Matrix(1, 0, 0, 1, -240, -55)
                    * pymupdf.Matrix(angle)
                    * pymupdf.Matrix(1, 0, 0, 1, width / 2, height / 2),
                )
        head = pymupdf.Rect(MARGIN_X, 22, width - MARGIN_X, 36)
        title = display_text(labels["title"]) + " \u2014 " + display_text(data.reference, 200)
        if data.interim:
            header = run.fit(
                pymupdf.Rect(head.x0, head.y0, head.x1 - 110, head.y1),
                title,
                max_font=8,
                color=ACCENT,
            )
            interim = run.fit(
                pymupdf.Rect(head.x1 - 105, head.y0, head.x1, head.y1),
                labels["interim"],
                max_font=10,
                color=INTERIM_INK,
                align="right",
            )
        else:
            header = run.fit(head, title, max_font=8, color=ACCENT)
            interim = None
        page_label = display_text(labels["page"], 100)
        foot = pymupdf.Rect(MARGIN_X, height - 32, width - MARGIN_X, height - 20)
        # fitted once, for the widest text (the last page's); digits have equal widths
        footer = run.fit(
            foot,
            "%s %d / %d" % (page_label, count, count),
            max_font=7.5,
            color="#555555",
            align="center",
        )
        for index in range(count):
            marks = [run.add(watermark)] if watermark is not None else []
            rest = [run.add(header)] if header is not None else []
            if interim is not None:
                rest.append(run.add(interim))
            if footer is not None:
                text = "%s %d / %d" % (page_label, index + 1, count)
                rest.append(run.add(replace(footer, html=run.block(text, "#555555", "center"))))
            self.decor.append((marks, rest))

    def write(self, aux, story):  # pylint: disable=method-required-super  # not a model
        everywhere = _mupdf.FzRect(_mupdf.FzRect.Fixed_INFINITE)
        first = aux.page_count
        for index, display_list in enumerate(self.pages):
            marks, rest = self.decor[index]
            _, device = aux.begin_page(self.width, self.height)
            TextRun.draw(story, device, marks)  # behind the content
            _mupdf.fz_run_display_list(
                display_list, device.this, _mupdf.FzMatrix(), everywhere, _mupdf.FzCookie()
            )
            TextRun.draw(story, device, rest)
            aux.end_page()
        link_rects = _merge_links(self.links, self.url)
        if link_rects:
            url = self.url
            aux.later(
                lambda doc, cache: [
                    doc[first + index].insert_link(
                        {"kind": pymupdf.LINK_URI, "from": rect, "uri": url}
                    )
                    for index, rect in link_rects
                ]
            )


def _link_collector(links, page_index):
    """A Story.element_positions callback remembering where <a href> content lands."""

    def collect(position):
        href = getattr(position, "href", None)
        if href:
            links.append((page_index, pymupdf.Rect(position.rect), href))

    return collect


def _merge_links(links, url):
    """One rect per line of each link (Story reports one position per word or space)."""
    merged = {}
    for index, rect, href in links:
        if href != url or rect.width <= 0 or rect.height <= 0:
            continue
        key = (index, round(rect.y0, 1), round(rect.y1, 1))
        merged[key] = merged[key] | rect if key in merged else rect
    return [(key[0], rect) for key, rect in merged.items()]


def _clean_url(url):
    """Return ``url`` if it is a plain http(s) address fit for a link and a QR code."""
    return qr.clean_url(url)


def _qr_png(url):
    """The verification address as a QR code (engine.qr: 4 pixels per module)."""
    return qr.qr_png(url, scale=4)


def _css(font_set, content_width):
    value_col = max(content_width - KEY_COL - 2 * CELL_PAD, 20)
    return (
        font_set.css
        + """
body {margin: 0; padding: 0; font-family: %(family)s; font-size: %(body)spt; color: %(ink)s;
      line-height: 1.25;}
h1, h2, h3, b, strong, th {font-weight: normal;}
h1 {font-size: 17pt; margin: 0 0 6pt 0; color: %(accent)s;}
h2 {font-size: 11.5pt; margin: 12pt 0 4pt 0; color: %(accent)s;}
h3 {font-size: 10pt; margin: 9pt 0 3pt 0; color: %(accent)s;}
p {margin: 0 0 3pt 0;}
table {border-collapse: collapse; width: 100%%; margin: 0;}
th, td {border: 0.5pt solid #b9bec8; padding: 2pt %(pad)spt; vertical-align: top;
        text-align: left;}
th {color: #4a4a4a;}
table.kv th {width: %(key).2fpt;}
table.kv td {width: %(value).2fpt;}
table.ev td, table.ev th {font-size: %(event)spt;}
table.ev td {border-top: none;}
table.ev th {color: %(accent)s;}
table.qr td {border: none; padding: 0 6pt 0 0;}
.interim {color: %(interim)s; border: 1pt solid %(interim)s; padding: 4pt; margin: 0 0 8pt 0;}
.muted {color: #555555;}
.hash {font-size: %(hash)spt;}
a {color: %(accent)s; text-decoration: none;}
"""
        % {
            "family": font_set.family,
            "body": BODY_PT,
            "event": EVENT_PT,
            "hash": HASH_PT,
            "ink": INK,
            "accent": ACCENT,
            "interim": INTERIM_INK,
            "pad": CELL_PAD,
            "key": KEY_COL - 2 * CELL_PAD,
            "value": value_col,
        }
    )


class _Body:
    """Builds the HTML of the certificate of completion; every untrusted value goes through :meth:`text`."""

    # event log columns: label key and share of the content width
    EVENT_COLUMNS = (
        ("event_at", 0.19),
        ("event", 0.17),
        ("event_participant", 0.2),
        ("event_ip", 0.15),
        ("event_detail", 0.29),
    )

    def __init__(self, font_set, labels, content_width):
        self.font_set = font_set
        self.labels = labels
        self.width = content_width

    def label(self, key):
        return story_escape(display_text(self.labels.get(key, "")))

    def text(self, value, width, size=BODY_PT):
        """Escaped display text of an untrusted value, wrapping within ``width`` points."""
        shown = display_text(value)
        if not shown:
            return self.label("empty")
        return story_escape(breakable(shown, width - 2 * CELL_PAD - 1, size, self.font_set))

    def html(self, data, url, with_qr):
        value_width = self.width - KEY_COL
        parts = ["<h1>%s</h1>" % self.label("title")]
        if data.interim:
            parts.append(
                '<p class="interim">%s \u2014 %s</p>'
                % (self.label("interim"), self.label("interim_notice"))
            )
        parts.append("<h2>%s</h2>" % self.label("section_document"))
        rows = [
            ("reference", self.text(data.reference, value_width)),
            ("document_title", self.text(data.title, value_width)),
            ("company", self.text(data.company, value_width)),
            (
                "original_sha256",
                '<span class="hash">%s</span>'
                % self.text(str(data.original_sha256 or ""), value_width, HASH_PT),
            ),
        ]
        uploaded = str(data.uploaded_sha256 or "")
        if uploaded and uploaded != str(data.original_sha256 or ""):
            rows.append(
                (
                    "uploaded_sha256",
                    '<span class="hash">%s</span>' % self.text(uploaded, value_width, HASH_PT),
                )
            )
        rows += [
            ("original_pages", self.text(_int_text(data.original_pages), value_width)),
            ("created_at", self.text(data.created_at, value_width)),
            ("completed_at", self.text(data.completed_at, value_width)),
            ("timezone", self.text(data.timezone, value_width)),
        ]
        parts.append(self._kv(rows))
        parts.append(self._verification(data, url, with_qr))
        approvals = tuple(data.approvals or ())
        if approvals:
            parts.append("<h2>%s</h2>" % self.label("section_approvals"))
            for approval in approvals:
                parts.append(self._approval(approval, value_width))
        parts.append("<h2>%s</h2>" % self.label("section_participants"))
        for participant in tuple(data.participants or ()):
            parts.append(self._participant(participant, value_width))
        parts.append("<h2>%s</h2>" % self.label("section_events"))
        parts.append(self._events(tuple(data.events or ())))
        return "".join(parts)

    def _kv(self, rows):
        body = "".join(
            "<tr><th>%s</th><td>%s</td></tr>" % (self.label(key), value) for key, value in rows
        )
        return '<table class="kv">%s</table>' % body

    def _verification(self, data, url, with_qr):
        seal = display_text(data.seal_note)
        if not url and not seal:
            return ""
        text_width = self.width - (QR_PT + 8 if with_qr else 0)
        lines = []
        if url:
            lines.append('<p class="muted">%s</p>' % self.label("verify_hint"))
            lines.append(
                '<p><a href="%s">%s</a></p>'
                % (story_escape(url, quote=True), self.text(url, text_width))
            )
        if seal:
            lines.append(
                '<p><span class="muted">%s:</span> %s</p>'
                % (self.label("seal"), self.text(seal, text_width))
            )
        parts = ["<h2>%s</h2>" % self.label("section_verification")]
        if with_qr:
            parts.append(
                '<table class="qr"><tr><td style="width: %spt;">'
                '<a href="%s"><img src="verify-qr.png" style="width: %spt; height: %spt;"/></a>'
                "</td><td>%s</td></tr></table>"
                % (QR_PT + 2, story_escape(url, quote=True), QR_PT, QR_PT, "".join(lines))
            )
        else:
            parts.append("".join(lines))
        return "".join(parts)

    def _participant(self, p, value_width):
        name = display_text(p.name)
        role = display_text(p.role)
        heading = self.text(name, self.width) if name else self.label("empty")
        if role:
            heading += ' <span class="muted">(%s)</span>' % self.text(role, self.width)
        if p.is_company:
            return "<h3>%s</h3>%s" % (heading, self._kv(self._company_rows(p, value_width)))
        verified = self.label("otp_yes") if p.otp_verified else self.label("otp_no")
        rows = [
            ("role", self.text(role, value_width)),
            ("email", self.text(p.email_masked, value_width)),
            ("mobile", self.text(p.mobile_masked, value_width)),
            ("invite_channel", self.text(p.invite_channel, value_width)),
            ("otp_channel", self.text(p.otp_channel, value_width)),
            ("otp_verified", verified),
            ("state", self.text(p.state, value_width)),
            ("ip", self.text(p.ip, value_width)),
            ("user_agent", self.text(p.user_agent, value_width)),
            ("consent_at", self.text(p.consent_at, value_width)),
        ]
        if display_text(p.consent_text):
            rows.append(("consent_text", self.text(p.consent_text, value_width)))
        rows += self._time_rows(p, value_width)
        if display_text(p.logged_in_as):
            rows.append(("logged_in_as", self.text(p.logged_in_as, value_width)))
        if display_text(p.in_person_host):
            rows.append(("in_person", self.text(p.in_person_host, value_width)))
        return "<h3>%s</h3>%s" % (heading, self._kv(rows))

    def _company_rows(self, p, value_width):
        """The company as a participant: who applied its seal and when (no contact, code,
        consent or browser: a seal keeper applied it in the sender's system)."""
        return [
            ("role", self.text(p.role, value_width)),
            ("state", self.text(p.state, value_width)),
            ("company_signatory", self.text(p.company_seal_by, value_width)),
            ("ip", self.text(p.ip, value_width)),
            *self._time_rows(p, value_width),
        ]

    def _time_rows(self, p, value_width):
        """When the participant was invited, viewed, signed (shown empty until then,
        unless they rejected) and rejected (once they did)."""
        rejected = display_text(p.rejected_at)
        rows = [
            ("invited_at", self.text(p.invited_at, value_width)),
            ("viewed_at", self.text(p.viewed_at, value_width)),
        ]
        if display_text(p.signed_at) or not rejected:
            rows.append(("signed_at", self.text(p.signed_at, value_width)))
        if rejected:
            rows.append(("rejected_at", self.text(rejected, value_width)))
        return rows

    def _approval(self, approval, value_width):
        heading = self.text(approval.tier, self.width)
        rows = [
            ("approval_decision", self.text(approval.decision, value_width)),
            ("approval_by", self.text(approval.by, value_width)),
            ("approval_at", self.text(approval.at, value_width)),
        ]
        if display_text(approval.reason):
            rows.append(("approval_reason", self.text(approval.reason, value_width)))
        return "<h3>%s</h3>%s" % (heading, self._kv(rows))

    def _events(self, events):
        if not events:
            return '<p class="muted">%s</p>' % self.label("no_events")
        widths = [self.width * share for _, share in self.EVENT_COLUMNS]
        styles = ['style="width: %.1fpt;"' % (w - 2 * CELL_PAD - 1) for w in widths]
        head = "<tr>%s</tr>" % "".join(
            "<th %s>%s</th>" % (style, self.label(key))
            for (key, _), style in zip(self.EVENT_COLUMNS, styles, strict=True)
        )
        rows = []
        for event in events:
            cells = (event.at, event.event, event.participant, event.ip, event.detail)
            rows.append(
                "<tr>%s</tr>"
                % "".join(
                    "<td %s>%s</td>" % (style, self.text(value, w, EVENT_PT))
                    for value, w, style in zip(cells, widths, styles, strict=True)
                )
            )
        # several short tables lay out much faster than one long one
        tables = []
        for start in range(0, len(rows), EVENT_ROWS_PER_TABLE):
            chunk = "".join(rows[start : start + EVENT_ROWS_PER_TABLE])
            tables.append('<table class="ev">%s%s</table>' % (head if not start else "", chunk))
        return "".join(tables)


def _int_text(value):
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return ""


__all__ = [
    "A4",
    "DEFAULT_LABELS",
    "CompletionApproval",
    "CompletionEvent",
    "CompletionParticipant",
    "CompletionData",
    "build_final_document",
    "render_completion_certificate",
]
