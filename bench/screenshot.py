"""Take screenshots of pages of a running Odoo in headless Chromium (README images).

Usage:
    python bench/screenshot.py BASE_URL OUT.png PATH [--phone] [--login admin:admin]
        [--wait SELECTOR] [--click SELECTOR] [--click-text "SELECTOR|TEXT"] [--height 900]
        [--full]

--phone emulates a 375x667 phone at 2x with touch. --login signs in to the backend first.
--click-text clicks the first element matching SELECTOR whose text is TEXT (a search panel's
folder, say), after the --click ones; both may be repeated.
Needs Chromium and websocket-client (both installed by scripts/test).
"""

import argparse
import base64
import json
import os
import time

import cdp
import requests


class Browser(cdp.Chromium):
    """A Chromium connected to its page, with the helpers the screenshots need."""

    def __init__(self, port=9345):
        super().__init__(port, page=True, flags=["--hide-scrollbars"])

    def evaluate(self, expression):
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        return result.get("result", {}).get("value")

    def wait_for(self, selector, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(f"!!document.querySelector({json.dumps(selector)})"):
                return True
            time.sleep(0.2)
        raise TimeoutError(selector)


def login(base_url, credentials):
    user, password = credentials.split(":", 1)
    session = requests.Session()
    page = session.get(f"{base_url}/web/login", timeout=30)
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    session.post(
        f"{base_url}/web/login",
        data={"login": user, "password": password, "csrf_token": token},
        timeout=30,
    )
    return session.cookies.get("session_id")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("out")
    parser.add_argument("path")
    parser.add_argument("--phone", action="store_true")
    parser.add_argument("--login")
    parser.add_argument("--wait", default="body")
    parser.add_argument("--click", action="append", default=[])
    parser.add_argument("--click-text", action="append", default=[])
    parser.add_argument("--scroll", help="scroll this element into view before the shot")
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument(
        "--cdp-port", type=int, default=9345, help="Chromium's DevTools port (one per run)"
    )
    args = parser.parse_args()
    browser = Browser(port=args.cdp_port)
    try:
        browser.call("Page.enable")
        browser.call("Network.enable")
        if args.phone:
            browser.call(
                "Emulation.setDeviceMetricsOverride",
                width=375,
                height=667,
                deviceScaleFactor=2,
                mobile=True,
            )
            browser.call("Emulation.setTouchEmulationEnabled", enabled=True)
        else:
            browser.call(
                "Emulation.setDeviceMetricsOverride",
                width=args.width,
                height=args.height,
                deviceScaleFactor=1,
                mobile=False,
            )
        if args.login:
            sid = login(args.base_url, args.login)
            host = args.base_url.split("//", 1)[1].split("/", 1)[0].split(":")[0]
            browser.call("Network.setCookie", name="session_id", value=sid, domain=host, path="/")
        browser.call("Page.navigate", url=args.base_url + args.path)
        browser.wait_for(args.wait)
        for selector in args.click:
            time.sleep(0.5)
            browser.wait_for(selector)
            browser.evaluate(f"document.querySelector({json.dumps(selector)}).click()")
        for spec in args.click_text:
            selector, text = spec.split("|", 1)
            find = (
                f"[...document.querySelectorAll({json.dumps(selector)})]"
                f".find((el) => el.textContent.trim() === {json.dumps(text)})"
            )
            deadline = time.time() + 30
            while not browser.evaluate(f"!!{find}"):
                if time.time() > deadline:
                    raise TimeoutError(spec)
                time.sleep(0.2)
            browser.evaluate(f"{find}.click()")
            time.sleep(0.8)
        if args.scroll:
            browser.wait_for(args.scroll)
            browser.evaluate(
                f"document.querySelector({json.dumps(args.scroll)})"
                ".scrollIntoView({block: 'center'})"
            )
        time.sleep(args.delay)
        shot = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=args.full)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "wb") as out:
            out.write(base64.b64decode(shot["data"]))
        print(args.out)
    finally:
        browser.close()


if __name__ == "__main__":
    main()
