"""Signing page figures against Odoo's own quotation page, in one run.

Run through scripts/bench (it starts Odoo with --workers=2 and prepares the documents):
    ./scripts/bench portal

Prints, for the signing page GET, the submit POST, OCA sign_oca's signing page (when the bench
installed it) and Odoo's /my/orders/<id> page: median and p95 server time with 1 and 10
concurrent clients, as the clients see it and as the server logs it (``--server-log``: the
time from the request's start in a worker until its answer, without the wait for a free
worker, which with 10 clients on 2 workers is most of what a client sees); the time until the
first document page is
visible in headless Chromium (a fresh browser context each run) for a 10- and a 200-page
document beside the quotation page's HTML; and the final-PDF time (certificate included) for
10 and 200 pages measured on real records by bench/portal_setup.py; and, in Chromium, the time
from the click on Sign until the signed page shows (10 and 200 pages). Goals (issue 3 and
figures-to-beat): signing page median at most half of the quotation page's; first page
visible under 1 s; final PDF under 0.15 s (10 pages) and 3 s (200 pages); the signed page
within 0.5 s of the click whatever the page count; issue 17: the signing page's server time at
most sign_oca's with 1 and 10 clients, and the first page visible within half the quotation
page's time; the ratios are printed. Figures, not assertions.
"""

import argparse
import base64
import concurrent.futures
import http.client
import json
import re
import statistics
import threading
import time
import urllib.parse

import cdp
import requests


def percentile(values, pct):
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values):
    return f"median {statistics.median(values) * 1000:7.1f} ms   p95 {percentile(values, 95) * 1000:7.1f} ms   (n={len(values)})"


class KeepAlive:
    """A bare HTTP/1.1 keep-alive client: the load generator shares the server's two cores,
    so it must cost as little CPU as possible (requests costs several ms per call)."""

    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.cookie = ""

    def get(self):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        self.connection.request("GET", self.path, headers=headers)
        response = self.connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {self.path}: {response.status}")
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]


def timed_get(client):
    started = time.perf_counter()
    client.get()
    return time.perf_counter() - started


def measure_gets(url, clients, per_client):
    def worker(_n):
        client = KeepAlive(url)
        client.get()  # warm: session cookie, first view
        return [timed_get(client) for _ in range(per_client)]

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(worker, range(clients)))
    return [t for chunk in results for t in chunk]


def measure_pair(url_a, url_b, clients, per_client):
    """GETs of two pages alternated by every client, so that both meet the same load (the
    machine may be shared): ``(times of a, times of b)``."""

    def worker(_n):
        client_a, client_b = KeepAlive(url_a), KeepAlive(url_b)
        client_a.get()  # warm: session cookie, first view
        client_b.get()
        times_a, times_b = [], []
        for _ in range(per_client):
            times_a.append(timed_get(client_a))
            times_b.append(timed_get(client_b))
        return times_a, times_b

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(worker, range(clients)))
    return (
        [t for chunk, _other in results for t in chunk],
        [t for _other, chunk in results for t in chunk],
    )


# Odoo's own figures for each request, at the end of its access log line: "GET <path>
# HTTP/1.1" 200 - <queries> <query time> <remaining time> (seconds, from the request's start
# in the worker until the answer; the time a request waits for a free worker is not in it).
ACCESS_LINE = re.compile(r'"GET (\S+) HTTP/[\d.]+" 200 - \d+ ([\d.]+) ([\d.]+)')


def server_times(log_path, offset):
    """Server time of each GET logged in ``log_path`` after byte ``offset``: ``{path: [s]}``."""
    times = {}
    with open(log_path, encoding="utf-8", errors="replace") as log:
        log.seek(offset)
        for line in log:
            match = ACCESS_LINE.search(line)
            if match:
                times.setdefault(match.group(1), []).append(
                    float(match.group(2)) + float(match.group(3))
                )
    return times


def log_size(log_path):
    try:
        with open(log_path, "rb") as log:
            return log.seek(0, 2)
    except OSError:
        return 0


def submit_once(base, path, field_id, signature):
    session = requests.Session()
    page = session.get(base + path, timeout=60)
    csrf = re.search(r'csrf_token: "([^"]+)"', page.text).group(1)
    sha = re.search(r'data-document-sha256="([0-9a-f]+)"', page.text).group(1)
    payload = {
        "jsonrpc": "2.0",
        "method": "call",
        "id": 1,
        "params": {
            "csrf_token": csrf,
            "consent": True,
            "document_sha256": sha,
            "values": {str(field_id): signature},
        },
    }
    started = time.perf_counter()
    response = session.post(f"{base}{path}/submit", json=payload, timeout=60)
    elapsed = time.perf_counter() - started
    result = response.json().get("result", {})
    if result.get("status") != "ok":
        raise RuntimeError(f"submit failed: {response.text[:300]}")
    return elapsed


def measure_submits(base, links, clients, signature):
    lock = threading.Lock()
    queue = list(links)

    def worker(_n):
        times = []
        while True:
            with lock:
                if not queue:
                    return times
                path, field_id = queue.pop()
            times.append(submit_once(base, path, field_id, signature))

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(worker, range(clients)))
    return [t for chunk in results for t in chunk]


# --- first paint in Chromium ----------------------------------------------------------------
DETECT = r"""
(() => {
  if (window !== window.top) return;
  const visible = (r) => r.width >= 300 && r.height >= 300 && r.bottom > 0 && r.top < innerHeight;
  const tick = () => {
    if (window.__firstDoc === undefined) {
      const selector = window.__docSelector;
      let done = false;
      if (selector) {
        const el = document.querySelector(selector);
        done = !!el && visible(el.getBoundingClientRect());
      } else {
        for (const img of document.images) {
          if (img.complete && img.naturalWidth > 0 && visible(img.getBoundingClientRect())) { done = true; break; }
        }
      }
      if (done) window.__firstDoc = performance.now();
    }
    if (window.__firstDoc === undefined) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


# --- submitting in Chromium: from the click on Sign until the signed page is shown -----------
# Stamped on every document the browser loads: the wall-clock time (ms since the epoch, the
# browser's clock) of the first frame where the signed state is on screen.
DONE_DETECT = r"""
(() => {
  if (window !== window.top) return;
  const tick = () => {
    const done = document.querySelector(".o_ds_done");
    if (done && done.getBoundingClientRect().height > 0) {
      window.__doneAt = performance.timeOrigin + performance.now();
    } else {
      requestAnimationFrame(tick);
    }
  };
  requestAnimationFrame(tick);
})();
"""

# Fill the signature place as a customer does (open the pad, draw, adopt) and consent.
FILL_AND_CONSENT = r"""
(async () => {
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const wait = async (selector) => {
    for (let i = 0; i < 1500; i++) {
      const el = document.querySelector(selector);
      if (el) return el;
      await pause(20);
    }
    throw new Error("not found: " + selector);
  };
  (await wait(".o_ds_field_signature:not(.o_ds_filled)")).click();
  (await wait(".modal .o_web_sign_draw_button")).click();
  const canvas = await wait(".modal canvas.o_web_sign_signature");
  await pause(50);
  const rect = canvas.getBoundingClientRect();
  const pointer = (type, x, y, buttons) => canvas.dispatchEvent(new PointerEvent(type, {
    bubbles: true, cancelable: true, pointerId: 1, pointerType: "mouse", isPrimary: true,
    button: 0, buttons, pressure: buttons ? 0.5 : 0,
    clientX: rect.left + x * rect.width, clientY: rect.top + y * rect.height,
  }));
  pointer("pointerdown", 0.1, 0.6, 1);
  for (let step = 1; step <= 16; step++) {
    await pause(10);
    pointer("pointermove", 0.1 + (0.8 * step) / 16, step % 2 ? 0.3 : 0.7, 1);
  }
  pointer("pointerup", 0.9, 0.5, 0);
  (await wait(".modal .modal-footer .btn-primary:enabled")).click();
  await wait(".o_ds_field_signature.o_ds_filled");
  const consent = await wait(".o_ds_consent_input");
  if (!consent.checked) consent.click();
  await wait(".o_ds_submit:enabled");
  return true;
})()
"""


class Chromium(cdp.Chromium):
    """A Chromium connected to the browser: each measure runs in a fresh context."""

    def __init__(self, port=9361):
        super().__init__(port, flags=["--disable-quic"])

    def first_paint(self, url, selector=None, phone=False):
        context = self.call("Target.createBrowserContext")["browserContextId"]
        target = self.call("Target.createTarget", url="about:blank", browserContextId=context)[
            "targetId"
        ]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        try:
            self.call("Page.enable", session)
            if phone:
                self.call(
                    "Emulation.setDeviceMetricsOverride",
                    session,
                    width=375,
                    height=667,
                    deviceScaleFactor=2,
                    mobile=True,
                )
            else:
                self.call(
                    "Emulation.setDeviceMetricsOverride",
                    session,
                    width=1280,
                    height=900,
                    deviceScaleFactor=1,
                    mobile=False,
                )
            prefix = f"window.__docSelector = {json.dumps(selector)};" if selector else ""
            self.call("Page.addScriptToEvaluateOnNewDocument", session, source=prefix + DETECT)
            self.call("Page.navigate", session, url=url)
            deadline = time.time() + 30
            while time.time() < deadline:
                value = self.call(
                    "Runtime.evaluate", session, expression="window.__firstDoc", returnByValue=True
                )["result"].get("value")
                if value is not None:
                    return value / 1000
                time.sleep(0.02)
            raise TimeoutError(url)
        finally:
            self.call("Target.closeTarget", targetId=target)
            self.call("Target.disposeBrowserContext", browserContextId=context)

    def submit(self, url):
        """Open ``url`` in a fresh context, fill and consent, click Sign; return the seconds
        from the click until the signed page is on screen."""
        context = self.call("Target.createBrowserContext")["browserContextId"]
        target = self.call("Target.createTarget", url="about:blank", browserContextId=context)[
            "targetId"
        ]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        try:
            self.call("Page.enable", session)
            self.call(
                "Emulation.setDeviceMetricsOverride",
                session,
                width=1280,
                height=900,
                deviceScaleFactor=1,
                mobile=False,
            )
            self.call("Page.addScriptToEvaluateOnNewDocument", session, source=DONE_DETECT)
            self.call("Page.navigate", session, url=url)
            deadline = time.time() + 30
            while not self.call(
                "Runtime.evaluate",
                session,
                returnByValue=True,
                expression="document.body?.getAttribute('is-ready') === 'true'",
            )["result"].get("value"):
                if time.time() > deadline:
                    raise TimeoutError(url)
                time.sleep(0.05)
            filled = self.call(
                "Runtime.evaluate",
                session,
                expression=FILL_AND_CONSENT,
                awaitPromise=True,
                returnByValue=True,
            )
            if "exceptionDetails" in filled:
                raise RuntimeError(f"filling {url} failed: {filled['exceptionDetails']}")
            clicked = self.call(
                "Runtime.evaluate",
                session,
                returnByValue=True,
                expression=(
                    "(() => { const t = Date.now(); document.querySelector('.o_ds_submit').click(); "
                    "return t; })()"
                ),
            )["result"]["value"]
            deadline = time.time() + 60
            while time.time() < deadline:
                try:
                    done = self.call(
                        "Runtime.evaluate",
                        session,
                        expression="window.__doneAt",
                        returnByValue=True,
                    )["result"].get("value")
                except RuntimeError:  # the page is being replaced
                    done = None
                if done:
                    return (done - clicked) / 1000
                time.sleep(0.02)
            shown = self.call(
                "Runtime.evaluate",
                session,
                returnByValue=True,
                expression=("document.body && document.body.innerText.slice(0, 300)"),
            )["result"].get("value")
            raise TimeoutError(f"no signed page after submitting {url}; the page shows: {shown!r}")
        finally:
            self.call("Target.closeTarget", targetId=target)
            self.call("Target.disposeBrowserContext", browserContextId=context)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("setup_json")
    parser.add_argument("signature_png")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--server-log", help="Odoo's log file: the server's own time per request is read from it"
    )
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    setup = json.load(open(args.setup_json))
    signature = (
        "data:image/png;base64," + base64.b64encode(open(args.signature_png, "rb").read()).decode()
    )
    page_url = base + setup["page10"]
    quote_url = base + setup["quote"] if setup.get("quote") else None

    oca_url = base + setup["sign_oca"] if setup.get("sign_oca") else None
    ratios = {}
    print("== Server time per request (Odoo --workers=2, loopback) ==")
    if not oca_url:
        print("(OCA sign_oca is not installed in this database: no comparison with it)")
    for clients, per_client in ((1, 60), (10, 12)):
        print(f"-- {clients} client(s)")
        offset = log_size(args.server_log) if args.server_log else 0
        if oca_url:  # alternated with sign_oca's page, request by request
            ours, oca = measure_pair(page_url, oca_url, clients, per_client)
        else:
            ours = measure_gets(page_url, clients, per_client)
        print(f"signing page GET       {summary(ours)}   (client side)")
        if oca_url:
            print(f"sign_oca page GET      {summary(oca)}   (client side)")
            ratios[f"signing page / sign_oca's, client side, {clients} client(s)"] = (
                statistics.median(ours) / statistics.median(oca)
            )
        if oca_url and args.server_log:
            time.sleep(1)  # the workers' last lines
            logged = server_times(args.server_log, offset)
            ours_server = logged.get(setup["page10"], [])
            oca_server = logged.get(setup["sign_oca"], [])
            if ours_server and oca_server:
                print(f"signing page, server   {summary(ours_server)}   (Odoo's log)")
                print(f"sign_oca page, server  {summary(oca_server)}   (Odoo's log)")
                ratios[
                    f"signing page / sign_oca's, server time, {clients} client(s) (goal <= 1)"
                ] = statistics.median(ours_server) / statistics.median(oca_server)
        if quote_url:
            quote = measure_gets(quote_url, clients, per_client)
            print(f"quotation page GET     {summary(quote)}")
            print(
                f"  ratio of medians (goal <= 0.5): {statistics.median(ours) / statistics.median(quote):.2f}"
            )
    links = setup["submits"]
    half = len(links) // 3
    print(f"submit POST, 1 client  {summary(measure_submits(base, links[:half], 1, signature))}")
    print(f"submit POST, 10 clients{summary(measure_submits(base, links[half:], 10, signature))}")

    print("\n== First document page visible in headless Chromium (fresh context each run) ==")
    browser = Chromium()
    try:
        targets = [
            ("signing page, 10 pages", base + setup["page10"], None),
            ("signing page, 200 pages", base + setup["page200"], None),
        ]
        if quote_url:
            targets.append(("quotation page #quote_content", quote_url, "#quote_content"))
        for phone in (False, True):
            print("-- phone 375x667" if phone else "-- desktop 1280x900")
            results = {name: [] for name, _url, _sel in targets}
            for _run in range(args.runs):
                for name, url, selector in targets:  # interleaved
                    results[name].append(browser.first_paint(url, selector, phone=phone))
            for name, values in results.items():
                print(
                    f"{name:32s} median {statistics.median(values) * 1000:6.0f} ms   "
                    f"min {min(values) * 1000:6.0f}   max {max(values) * 1000:6.0f}"
                )
            if quote_url:
                device = "phone" if phone else "desktop"
                ratios[f"first page (10 pages) / quotation HTML, {device} (goal <= 0.5)"] = (
                    statistics.median(results["signing page, 10 pages"])
                    / statistics.median(results["quotation page #quote_content"])
                )
        print("\n== Submitting in headless Chromium: click on Sign until the signed page shows ==")
        for pages in ("10", "200"):
            values = [browser.submit(base + path) for path in setup["browser_submits"][pages]]
            print(
                f"signing page, {pages:>3} pages          median {statistics.median(values) * 1000:6.0f} ms   "
                f"min {min(values) * 1000:6.0f}   max {max(values) * 1000:6.0f}   (goal < 500 ms)"
            )
    finally:
        browser.close()

    print("\n== Ratios (medians of this run) ==")
    for name, ratio in ratios.items():
        print(f"{name:58s} {ratio:5.2f}")

    print("\n== Final document (values + certificate of completion), on real records ==")
    for pages, figures in sorted(setup["final"].items(), key=lambda item: int(item[0])):
        goal = 0.15 if int(pages) == 10 else 3.0
        print(
            f"{pages:>3} pages: median {figures['median_s'] * 1000:7.1f} ms   max "
            f"{figures['max_s'] * 1000:7.1f} ms   (goal < {goal * 1000:.0f} ms)"
        )


if __name__ == "__main__":
    main()
