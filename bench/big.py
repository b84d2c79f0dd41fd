"""Benchmark: a 500-page, ~50 MB scanned PDF through every step a document takes.

Run from the repository root: ``.venv/bin/python bench/big.py [--pages 500] [--mb 50]``
(``./scripts/bench big``). Builds a scan-like PDF (one grey JPEG of noise and text per page),
then runs each step in a fresh Python process, as a worker would, and prints its time and the
process's peak resident memory: intake (checks and active-content removal), page images (the
first page and ten pages spread through the document, as the signing page asks for them), the
final document (stamped signature and date on the last page, the certificate of completion)
and the PAdES seal (B-T, local timestamp server). Goal: each step under 300 MB resident.
Prints figures; asserts nothing.
"""

import argparse
import io
import json
import pathlib
import random
import resource
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MEMORY_GOAL_MB = 300
STEPS = ("intake", "page_images", "final_document", "seal")


def make_scan_pdf(path, pages, megabytes):
    """Pages of A4 holding one JPEG each, sized so the file is about ``megabytes`` MB."""
    import pymupdf
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(500)
    per_page = megabytes * 1024 * 1024 / pages
    # A few distinct page images (noise compresses badly, like a real scan's grain).
    images = []
    for n in range(8):
        image = Image.effect_noise((1240, 1754), 40 + 4 * n).convert("RGB")
        draw = ImageDraw.Draw(image)
        for line in range(60):
            draw.text(
                (120, 120 + line * 25),
                f"Scanned agreement, page part {n}, line {line} " + "x" * rng.randint(20, 60),
                fill=(10, 10, 10),
            )
        image = image.filter(ImageFilter.GaussianBlur(0.6))
        quality, data = 85, b""
        while True:
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=quality)
            data = out.getvalue()
            if len(data) <= per_page:
                break
            if quality > 30:
                quality -= 10
            else:  # a coarser scan
                image = image.resize((image.width * 9 // 10, image.height * 9 // 10))
        images.append(data)
    doc = pymupdf.open()
    for n in range(pages):
        page = doc.new_page(width=595, height=842)
        # distinct bytes per page: a scan never repeats a page exactly
        page.insert_image(page.rect, stream=images[n % len(images)] + n.to_bytes(4, "big"))
    doc.save(path, garbage=0, deflate=False)
    doc.close()


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step(name, path, workdir):
    """One step, in this (fresh) process; prints one JSON line."""
    import logging

    logging.basicConfig(level=logging.ERROR)
    data = pathlib.Path(path).read_bytes()
    work = pathlib.Path(workdir)
    started = time.perf_counter()
    detail = ""
    if name == "intake":
        from engine import pdf_intake, pdf_sanitize

        info = pdf_intake.inspect_pdf(data, max_bytes=len(data) + 1, max_pages=1000)
        sanitized = pdf_sanitize.sanitize_pdf(data)
        (work / "clean.pdf").write_bytes(sanitized.data)
        detail = f"{info.page_count} pages, {len(sanitized.removed)} active items removed"
    elif name == "page_images":
        import pymupdf

        from engine import pdf_render

        with pymupdf.open(stream=data) as doc:
            count = doc.page_count
        pages = sorted({1, count, *range(1, count + 1, max(1, count // 10))})[:11]
        first = None
        sizes = []
        for page in pages:
            t0 = time.perf_counter()
            sizes.append(len(pdf_render.render_page(data, page)))
            first = first if first is not None else time.perf_counter() - t0
        detail = f"first page {first:.2f} s, {len(sizes)} pages, {sum(sizes) // 1024} KiB of images"
    elif name == "final_document":
        sys.path.insert(0, str(ROOT / "bench"))
        import pymupdf
        from final_pdf import completion_data, signature_png, values_for

        from engine.completion_certificate import build_final_document

        with pymupdf.open(stream=data) as doc:
            pages = doc.page_count
        final = build_final_document(
            data, values_for(pages, signature_png()), completion_data(pages)
        )
        (work / "final.pdf").write_bytes(final)
        detail = f"{len(final) / 1024 / 1024:.1f} MB out"
    elif name == "seal":
        from engine import pades, seal_identity
        from engine.testing import pki

        final = (work / "final.pdf").read_bytes()
        ca = pki.Pki(key_type="rsa2048")
        identity = seal_identity.load_seal_identity(ca.pkcs12(ca.leaf, b"bench"), b"bench")
        with ca.timestamp_server() as tsa:
            started = time.perf_counter()  # the PKI's keys are not the seal's work
            sealed = pades.seal_pdf(final, identity, level="B-T", timestamp=tsa.server())
        detail = f"{len(sealed.pdf) / 1024 / 1024:.1f} MB sealed"
    seconds = time.perf_counter() - started
    print(
        json.dumps({"step": name, "seconds": seconds, "peak_mb": peak_rss_mb(), "detail": detail})
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--mb", type=float, default=50)
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        return step(args.step, args.file, args.workdir)
    with tempfile.TemporaryDirectory(prefix="ds-big-") as workdir:
        path = pathlib.Path(workdir) / "scan.pdf"
        started = time.perf_counter()
        make_scan_pdf(path, args.pages, args.mb)
        size = path.stat().st_size / 1024 / 1024
        print(
            f"{args.pages} pages, {size:.1f} MB scan-like PDF (made in "
            f"{time.perf_counter() - started:.1f} s); each step in a fresh process"
        )
        print(f"{'step':16s} {'time':>8s} {'peak RSS':>9s}  goal < {MEMORY_GOAL_MB} MB")
        for name in STEPS:
            source = path
            if (
                name in ("final_document", "page_images")
                and (pathlib.Path(workdir) / "clean.pdf").exists()
            ):
                source = pathlib.Path(workdir) / "clean.pdf"
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--step",
                    name,
                    "--file",
                    str(source),
                    "--workdir",
                    workdir,
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=False,
            )
            if out.returncode:
                print(f"{name:16s} FAILED: {out.stderr.strip().splitlines()[-1:]}")
                continue
            result = json.loads(out.stdout.strip().splitlines()[-1])
            flag = "ok" if result["peak_mb"] < MEMORY_GOAL_MB else "OVER"
            print(
                f"{name:16s} {result['seconds']:7.2f}s {result['peak_mb']:7.0f}MB  {flag}  "
                f"{result['detail']}"
            )


if __name__ == "__main__":
    main()
