"""Benchmark: PAdES B-T sealing (local RFC 3161 server) and verification of 1, 5 and 20 MB PDFs.

Run from the repository root: ``.venv/bin/python bench/seal.py [--runs N] [--sizes 1,5,20]``.
Goals: p95 < 2 s per seal, p95 < 200 ms per validation. Prints figures, asserts nothing.
"""

import argparse
import logging
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pymupdf  # noqa: E402

from engine import pades, pades_verify, seal_identity  # noqa: E402
from engine.testing import pki  # noqa: E402

SEAL_GOAL = 2.0
VERIFY_GOAL = 0.2


def make_pdf(megabytes):
    """A few text pages plus an incompressible attachment, about ``megabytes`` MB."""
    doc = pymupdf.open()
    for n in range(5):
        doc.new_page().insert_text((72, 72), f"Benchmark page {n + 1}")
    target = int(megabytes * 1024 * 1024)
    base = len(doc.tobytes())
    doc.embfile_add("payload.bin", os.urandom(max(target - base - 4096, 0)))
    data = doc.tobytes(garbage=0)
    doc.close()
    return data


def percentile(values, pct):
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # nearest rank
    return ordered[int(rank) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--sizes", default="1,5,20", help="MB, comma-separated")
    parser.add_argument("--key-type", default="rsa2048", help="ec256 or rsa<bits>")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    ca = pki.Pki(key_type=args.key_type)
    identity = seal_identity.load_seal_identity(ca.pkcs12(ca.leaf, b"bench"), b"bench")
    print(f"PKI {args.key_type}, chain root+intermediate+leaf, B-T, {args.runs} runs each")
    print(
        f"{'size':>6} {'bytes':>10} | {'seal p50':>9} {'seal p95':>9} | "
        f"{'verify p50':>10} {'verify p95':>10} | goals"
    )
    with ca.timestamp_server() as tsa:
        server = tsa.server()
        pades.seal_pdf(make_pdf(0.01), identity, level="B-T", timestamp=server)  # warm-up
        for size in (float(s) for s in args.sizes.split(",") if s.strip()):
            data = make_pdf(size)
            seal_times, verify_times, sealed = [], [], None
            for _ in range(args.runs):
                started = time.perf_counter()
                sealed = pades.seal_pdf(data, identity, level="B-T", timestamp=server)
                seal_times.append(time.perf_counter() - started)
            for _ in range(args.runs):
                started = time.perf_counter()
                result = pades_verify.verify_pdf(sealed.pdf, trust_roots=ca.trust_roots)
                verify_times.append(time.perf_counter() - started)
            seal_p95, verify_p95 = percentile(seal_times, 95), percentile(verify_times, 95)
            goals = "ok" if seal_p95 < SEAL_GOAL and verify_p95 < VERIFY_GOAL else "MISSED"
            status = "" if result.status == "valid" else f" (status {result.status}!)"
            print(
                f"{size:>4g}MB {len(data):>10} | {percentile(seal_times, 50):>8.3f}s "
                f"{seal_p95:>8.3f}s | {percentile(verify_times, 50) * 1000:>8.1f}ms "
                f"{verify_p95 * 1000:>8.1f}ms | {goals}{status}"
            )


if __name__ == "__main__":
    main()
