"""Every engine entry point that uses MuPDF runs under the process-wide lock."""

import threading

import pdfgen  # noqa: F401 - engine/tests helpers on sys.path (conftest)
import pymupdf

from engine import (
    completion_certificate,
    mupdf_lock,
    pdf_intake,
    pdf_markers,
    pdf_render,
    pdf_stamp,
)


def _pdf():
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 100), "Sign: {{sign:Customer}}")
    data = doc.tobytes()
    doc.close()
    return data


def test_entry_points_hold_the_mupdf_lock(monkeypatch):
    seen = []

    class Spy:
        def __init__(self):
            self.lock = threading.RLock()

        def __enter__(self):
            seen.append(True)
            return self.lock.__enter__()

        def __exit__(self, *exc):
            return self.lock.__exit__(*exc)

    monkeypatch.setattr(mupdf_lock, "MUPDF_LOCK", Spy())
    data = _pdf()
    calls = [
        lambda: pdf_intake.inspect_pdf(data),
        lambda: pdf_markers.detect_markers(data),
        lambda: pdf_markers.hide_markers(data),
        lambda: pdf_render.render_page(data, 1, width_px=200),
        lambda: pdf_stamp.stamp_document(data, []),
        lambda: completion_certificate.render_completion_certificate(
            completion_certificate.CompletionData(
                reference="R",
                title="T",
                company="C",
                original_sha256="0" * 64,
                original_pages=1,
                created_at="",
                completed_at="",
                timezone="UTC",
                participants=(),
                events=(),
            )
        ),
    ]
    for call in calls:
        before = len(seen)
        call()
        assert len(seen) > before
