"""Count results for scripts/test; prints "PASSED FAILED" and details to stderr.

  test_summary.py junit FILE          pytest's JUnit XML
  test_summary.py odoo LOGFILE RC     Odoo's test log and its exit code

Skipped tests count as failures: in this project a skip means something the suite needs
(Chromium, websocket-client, a service) was missing, and a green run must mean it ran.
"""

import re
import sys
import xml.etree.ElementTree as ET


def junit(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        print(f"no pytest report ({exc})", file=sys.stderr)
        return 0, 1
    # Count test cases, not the suite's "tests" attribute: pytest adds unittest subtests there
    # (pytest-odoo), and Odoo's runner counts one test per method.
    cases = root.iter("testcase")
    total = failed = 0
    for case in cases:
        total += 1
        failed += any(case.find(key) is not None for key in ("failure", "error", "skipped"))
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    reported = sum(
        int(suite.get(key, 0)) for suite in suites for key in ("failures", "errors", "skipped")
    )
    if reported and not failed:  # a failure pytest did not attach to a test case (a subtest)
        failed = 1
    return total - failed, failed


LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (?P<level>\w+) \S+ (?P<logger>\S+): (?P<msg>.*)"
)


def odoo(path, rc):
    started, failures, skipped, errors_outside = set(), set(), set(), []
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError as exc:
        print(f"no Odoo log ({exc})", file=sys.stderr)
        return 0, 1
    for line in lines:
        match = LINE.match(line)
        if not match:
            continue
        msg = match["msg"].rstrip()
        if msg.startswith("Starting ") and msg.endswith(" ..."):
            started.add(msg[len("Starting ") : -4])
        elif msg.startswith(("FAIL: ", "ERROR: ")):
            failures.add(msg.split(": ", 1)[1].split("\n")[0])
            print(f"  {msg.splitlines()[0]}", file=sys.stderr)
        elif msg.startswith("skipped "):
            skipped.add(msg)
            print(f"  SKIPPED (counted as a failure): {msg[:200]}", file=sys.stderr)
        elif match["level"] in ("ERROR", "CRITICAL") and "tests" not in match["logger"]:
            errors_outside.append(msg[:300])
    if not started:
        print("  no Odoo test ran (install failed? see the log)", file=sys.stderr)
        for msg in errors_outside[:10]:
            print(f"  {msg}", file=sys.stderr)
        return 0, 1
    failed = len(failures) + len(skipped)
    if int(rc) != 0 and not failed:
        print(f"  Odoo exited with {rc}: counted as one failure", file=sys.stderr)
        for msg in errors_outside[:10]:
            print(f"  {msg}", file=sys.stderr)
        failed = 1
    return max(len(started) - len(failures) - len(skipped), 0), failed


if __name__ == "__main__":
    kind = sys.argv[1]
    result = junit(sys.argv[2]) if kind == "junit" else odoo(sys.argv[2], sys.argv[3])
    print(*result)
