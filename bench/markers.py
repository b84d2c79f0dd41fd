"""Benchmark: marker detection (and intake, hiding, rendering) on a 200-page document.

Run from the repository root: ``.venv/bin/python bench/markers.py [--pages 200] [--runs 5]``.
Intake is timed as it runs on upload: ``inspect_pdf``, then ``inspect_pdf`` + ``sanitize_pdf``
on the clean document (returned as is), and ``sanitize_pdf`` alone on a copy carrying one
specimen of every kind of active content (found, removed, saved and checked again).
The document is built with reportlab: every page carries ~45 lines of ordinary text, a table
of boxes and a footer; every 10th page a text anchor of each kind, an arrow glyph, an arrow
image and a link anchor; every 25th page is rotated 90 degrees. A second document is the same
with an initials anchor in EVERY page's footer (the worst common case: no page can be skipped).
Goal: detection at least 200 pages/s. Prints figures (median of the runs, peak RSS growth:
MuPDF allocates outside Python, so RSS from /proc, not tracemalloc), asserts nothing.
"""

import argparse
import os
import pathlib
import resource
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "engine" / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import pdfgen  # noqa: E402

from engine import anchors, pdf_intake, pdf_markers, pdf_render, pdf_sanitize  # noqa: E402
from engine.testing import active_pdf  # noqa: E402

GOAL_PAGES_PER_SECOND = 200
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud"
)


def build(pages, footer_anchor=False):
    specs = []
    for number in range(1, pages + 1):
        items = [
            pdfgen.Text(56, 40 + 15 * line, f"{number}.{line} {LOREM[: 60 + line]}", size=9)
            for line in range(45)
        ]
        items += [pdfgen.Box(56 + 60 * col, 730, 56 + 60 * col + 50, 745) for col in range(8)]
        footer = f"Page {number} of {pages} - contract 2026/0042"
        if footer_anchor:
            footer += " - initials: " + anchors.anchor_text("initials", "Customer")
        items.append(pdfgen.Text(56, 800, footer))
        if number % 10 == 0:
            items += [
                pdfgen.Text(300, 420, anchors.anchor_text("signature", "Customer")),
                pdfgen.Text(300, 450, anchors.anchor_text("initials", "Customer", True)),
                pdfgen.Text(300, 480, anchors.anchor_text("date", "Seller")),
                pdfgen.Text(300, 510, anchors.anchor_text("text", "Seller")),
                pdfgen.Text(300, 540, anchors.anchor_text("checkbox", "Customer")),
                pdfgen.Text(300, 570, "Sign \u2794", font="dejavu"),
                pdfgen.Image(300, 600, 318, 622),
                pdfgen.Link(400, 600, 480, 615, anchors.anchor_link("signature", "Witness")),
            ]
        rotation = 90 if number % 25 == 0 else 0
        specs.append(pdfgen.Page("A4", rotation=rotation, items=items))
    return pdfgen.make_pdf(specs, producer="reportlab")


def rss_kib():
    """Current resident set size (KiB) from /proc, else the peak from getrusage."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_kib():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak():
    """Reset VmHWM (Linux >= 4.0) so each phase reports its own peak; False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def timed(function, runs):
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def phase(name, function, runs, pages=None):
    reset_peak()
    before = rss_kib()
    median, best, result = timed(function, runs)
    growth = max(peak_kib() - before, 0)
    rate = f"{pages / median:8.0f} pages/s" if pages else " " * 14
    print(
        f"{name:<28} median {median * 1000:8.1f} ms  best {best * 1000:8.1f} ms  {rate}"
        f"  peak RSS +{growth / 1024:6.1f} MiB"
    )
    return median, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    start = time.perf_counter()
    data = build(args.pages)
    print(
        f"document: {args.pages} pages, {len(data) / 1024:.0f} KiB, built in "
        f"{time.perf_counter() - start:.1f} s; {os.cpu_count()} CPUs; {args.runs} runs each"
    )

    phase("inspect_pdf", lambda: pdf_intake.inspect_pdf(data), args.runs, args.pages)
    phase(
        "inspect + sanitize (clean)",
        lambda: pdf_intake.inspect_pdf(data) and pdf_sanitize.sanitize_pdf(data),
        args.runs,
        args.pages,
    )
    dirty = active_pdf.add_active_content(data, page=args.pages // 2)
    phase(
        "sanitize (active content)", lambda: pdf_sanitize.sanitize_pdf(dirty), args.runs, args.pages
    )
    median, found = phase(
        "detect_markers", lambda: pdf_markers.detect_markers(data), args.runs, args.pages
    )
    every = build(args.pages, footer_anchor=True)
    median_every, found_every = phase(
        "detect_markers (every page)",
        lambda: pdf_markers.detect_markers(every),
        args.runs,
        args.pages,
    )
    _m, hidden = phase(
        "hide_markers", lambda: pdf_markers.hide_markers(data), args.runs, args.pages
    )
    phase(
        "render_page (1000px jpeg)",
        lambda: pdf_render.render_page(hidden, 10, width_px=1000),
        args.runs,
    )
    phase(
        "render_page (1000px png)",
        lambda: pdf_render.render_page(hidden, 10, width_px=1000, fmt="png"),
        args.runs,
    )
    bomb = pdfgen.bomb_pdf()
    phase("inspect_pdf (300 MB bomb)", lambda: _refused(bomb), args.runs)

    by_source = {}
    for placement in found:
        by_source[placement.source] = by_source.get(placement.source, 0) + 1
    print(
        f"placements found: {len(found)} {dict(sorted(by_source.items()))}; "
        f"every-page document: {len(found_every)}"
    )
    for label, value in (
        ("anchors on every 10th page", median),
        ("anchor on every page", median_every),
    ):
        rate = args.pages / value
        print(
            f"detection, {label}: {rate:.0f} pages/s (goal >= {GOAL_PAGES_PER_SECOND}: "
            f"{'met' if rate >= GOAL_PAGES_PER_SECOND else 'NOT met'})"
        )


def _refused(data):
    try:
        pdf_intake.inspect_pdf(data)
    except pdf_intake.PdfInvalid as exc:
        return exc.code
    return None


if __name__ == "__main__":
    main()
