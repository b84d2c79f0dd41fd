"""Headless Chromium driven over the DevTools protocol (benchmarks and README screenshots).

Needs Debian's chromium and websocket-client (both installed by scripts/test).
"""

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket

FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    # Without these, Chromium's own connections are refused by this machine's closed network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Chromium:
    """One headless Chromium with a profile of its own, and a DevTools connection either to
    the browser (commands then name a ``session`` attached to a target) or, with
    ``page=True``, to its first page."""

    def __init__(self, port, page=False, flags=()):
        binary = (
            shutil.which("chromium")
            or shutil.which("chromium-browser")
            or shutil.which("google-chrome")
        )
        self.profile = tempfile.mkdtemp(prefix="ds-chromium-")
        self.process = subprocess.Popen(
            [
                binary,
                *FLAGS,
                *flags,
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = None
        for _ in range(100):
            try:
                if page:
                    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
                    url = next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"]
                else:
                    info = json.load(
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version")
                    )
                    url = info["webSocketDebuggerUrl"]
                break
            except (OSError, StopIteration):
                time.sleep(0.1)
        if not url:
            self.close()
            raise RuntimeError(f"Chromium did not open its DevTools port {port}")
        self.ws = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.counter = 0

    def call(self, method, session=None, **params):
        self.counter += 1
        message = {"id": self.counter, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.counter:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def close(self):
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)
