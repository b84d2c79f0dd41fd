"""Benchmark: the final signed document (stamping + certificate of completion, one save).

Run from the repository root: ``.venv/bin/python bench/final_pdf.py [--runs 15]``.
Builds 10- and 200-page documents with reportlab (45 lines of text, a ruled table and a small
raster logo on every page; the last page holds two signature anchors and one link anchor),
then times ``build_final_document`` with two signatures (name and time printed beneath), a
date, the hidden anchors, and a certificate with two participants and 24 events.
Goals: under 0.15 s for 10 pages, under 3 s for 200 pages. Prints the median, the 95th
percentile and the peak RSS; asserts nothing.
"""

import argparse
import functools
import io
import pathlib
import resource
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.utils import ImageReader  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

from engine import anchors  # noqa: E402
from engine.completion_certificate import (  # noqa: E402
    CompletionData,
    CompletionEvent,
    CompletionParticipant,
    build_final_document,
    render_completion_certificate,
)
from engine.images import check_signature_image  # noqa: E402
from engine.pdf_stamp import StampValue, stamp_document  # noqa: E402

GOALS = {10: 0.15, 200: 3.0}
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud"
)
PAGE_W, PAGE_H = A4


def _logo():
    image = Image.new("RGB", (240, 80), (235, 240, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((6, 6, 74, 74), fill=(20, 60, 140))
    draw.text((90, 30), "ACME AB", fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return ImageReader(io.BytesIO(out.getvalue()))


def build_document(pages):
    """A reportlab PDF; returns (bytes, hide_rects) with the anchors' boxes (top-left)."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    logo = _logo()
    hide = []
    for number in range(1, pages + 1):
        pdf.drawImage(logo, 56, PAGE_H - 60, width=90, height=30)
        pdf.setFont("Helvetica", 9)
        for line in range(45):
            pdf.drawString(56, PAGE_H - 90 - 13 * line, f"{number}.{line} {LOREM[: 60 + line]}")
        for col in range(8):
            pdf.rect(56 + 60 * col, 90, 50, 15)
        pdf.drawString(56, 40, f"Page {number} of {pages} - contract 2026/0042")
        if number == pages:
            pdf.setFont("Helvetica", 10)
            for x, role in ((70, "Customer"), (320, "Seller")):
                text = anchors.anchor_text("signature", role)
                pdf.drawString(x, 170, text)
                width = pdf.stringWidth(text, "Helvetica", 10)
                hide.append((number, x, PAGE_H - 180, x + width, PAGE_H - 166))
            pdf.linkURL(
                anchors.anchor_link("date", "Customer"),
                (70, 140, 200, 152),
                relative=0,
            )
        pdf.showPage()
    pdf.save()
    return out.getvalue(), hide


def signature_png():
    image = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.line(
        [(10, 150), (120, 40), (220, 160), (360, 50), (590, 120)], fill=(10, 30, 90, 255), width=7
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return check_signature_image(out.getvalue())


def completion_data(pages):
    people = (
        ("Łukasz Żółć", "Customer", "203.0.113.7"),
        ("Ελένη Παπαδοπούλου", "Seller", "2001:db8:85a3::8a2e:370:7334"),
    )
    participants = tuple(
        CompletionParticipant(
            name=name,
            role=role,
            email_masked="l•••z@example.com",
            mobile_masked="+46•••••4567",
            invite_channel="email",
            otp_channel="sms",
            otp_verified=True,
            state="signed",
            ip=ip,
            user_agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            consent_at="2026-11-23 14:01 CET",
            invited_at="2026-11-22 09:00 CET",
            viewed_at="2026-11-23 14:00 CET",
            signed_at="2026-11-23 14:05 CET",
            rejected_at="",
        )
        for name, role, ip in people
    )
    events = tuple(
        CompletionEvent(
            at=f"2026-11-23 14:{minute:02d} CET",
            event=("sent", "viewed", "code sent", "code verified", "consented", "signed")[
                minute % 6
            ],
            participant=people[minute % 2][0],
            ip=people[minute % 2][2],
            detail=f"event {minute}",
        )
        for minute in range(24)
    )
    return CompletionData(
        reference="SIGN/2026/00042",
        title="Sales contract 2026/0042",
        company="ACME AB",
        original_sha256="9f" * 32,
        original_pages=pages,
        created_at="2026-11-22 09:00 CET",
        completed_at="2026-11-23 14:05 CET",
        timezone="Europe/Stockholm",
        participants=participants,
        events=events,
        verify_url="https://erp.example.com/digital_sign/verify/3f9a1c2b7d?token=Yk3mJq9",
        seal_note="This document is sealed with a self-signed certificate of ACME AB",
    )


def values_for(pages, signature):
    return [
        StampValue(
            pages,
            66,
            600,
            250,
            670,
            "signature",
            image=signature,
            signer_name="Łukasz Żółć",
            signed_at_label="2026-11-23 14:05 CET",
        ),
        StampValue(
            pages,
            316,
            600,
            500,
            670,
            "signature",
            image=signature,
            signer_name="Ελένη Παπαδοπούλου",
            signed_at_label="2026-11-23 14:07 CET",
        ),
        StampValue(pages, 66, 690, 250, 708, "date", text="2026-11-23"),
    ]


def timed(function, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def p95(times):
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    signature = signature_png()
    print(f"peak RSS before: {peak_rss_mib():.0f} MiB")
    for pages, goal in GOALS.items():
        original, hide = build_document(pages)
        values = values_for(pages, signature)
        data = completion_data(pages)
        runs = args.runs if pages <= 10 else max(5, args.runs // 3)
        build = functools.partial(build_final_document, original, values, data, hide_rects=hide)
        cold = timed(build, 1)[0]
        final = timed(build, runs)
        stamp = timed(functools.partial(stamp_document, original, values, hide_rects=hide), runs)
        cert = timed(functools.partial(render_completion_certificate, data), runs)
        size = len(build_final_document(original, values, data, hide_rects=hide))
        median = statistics.median(final)
        print(
            f"{pages:>3} pages ({len(original) // 1024} KiB in, {size // 1024} KiB out, "
            f"{runs} runs)\n"
            f"    final document: median {median:.3f} s, p95 {p95(final):.3f} s, "
            f"first call {cold:.3f} s  [goal < {goal} s: {'met' if median < goal else 'MISSED'}]"
            f"\n    stamping only:  median {statistics.median(stamp):.3f} s, "
            f"p95 {p95(stamp):.3f} s\n"
            f"    certificate:    median {statistics.median(cert):.3f} s, "
            f"p95 {p95(cert):.3f} s\n"
            f"    peak RSS so far: {peak_rss_mib():.0f} MiB"
        )


if __name__ == "__main__":
    main()
