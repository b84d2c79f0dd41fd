"""MuPDF is not thread-safe: one process-wide lock around every engine call that uses it.

Odoo serves requests in threads (threaded server, tests) as well as in processes; two
threads inside MuPDF at once can corrupt its global context. Each public entry point that
touches PyMuPDF is wrapped with :func:`serialized`; the lock is re-entrant, so entry points
may call each other.
"""

import functools
import threading

MUPDF_LOCK = threading.RLock()


def serialized(function):
    """Run ``function`` while holding the process-wide MuPDF lock."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with MUPDF_LOCK:
            return function(*args, **kwargs)

    return wrapper
