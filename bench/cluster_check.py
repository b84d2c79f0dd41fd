"""The checks of bench/cluster.py, read back from the database (run inside `odoo-bin shell`
once both servers stopped).

For every request of the run (the load set and the idle set): the final document and its seal
exist exactly once (one signed PDF attached, one ``finalized`` and one ``sealed`` event);
each invitation, reminder and signed-copy e-mail was queued exactly once (``mail.mail`` per
participant and purpose) and delivered exactly once (the SMTP fake's log); every event of the
flow is there exactly once and nothing else happened (no failure event); the audit chain
verifies (``_check_integrity``); and both servers' logs hold no ERROR or CRITICAL line.
Prints each check with its count of problems: the goal is 0 everywhere.
"""

# ruff: noqa: F821 - `env` is given by odoo-bin shell
import collections
import json
import os
import re

setup = json.load(open(os.environ["BENCH_SETUP"]))
entries = setup["load"] + setup["idle"]
Request = env["digital.sign.request"].sudo()
requests = Request.browse([e["request"] for e in entries])
participants = requests.participant_ids
by_email = {e["email"]: e for e in entries}

problems = collections.Counter()
examples = collections.defaultdict(list)


def problem(check, text):
    problems[check] += 1
    if len(examples[check]) < 3:
        examples[check].append(text)


# --- documents: finalised and sealed exactly once --------------------------------------------
attachments = collections.Counter(
    a.res_id
    for a in env["ir.attachment"]
    .sudo()
    .search(
        [
            ("res_model", "=", "digital.sign.request"),
            ("res_id", "in", requests.ids),
            ("digital_sign_locked", "=", True),
            ("name", "=like", "%(signed).pdf"),
        ]
    )
)
events = env["digital.sign.event"].sudo().search([("request_id", "in", requests.ids)])
per_request = collections.defaultdict(collections.Counter)
per_participant = collections.defaultdict(collections.Counter)
for event in events:
    per_request[event.request_id.id][event.event_type] += 1
    if event.participant_id:
        per_participant[event.participant_id.id][event.event_type] += 1
        if event.event_type in ("message_sent", "message_failed"):
            what = json.loads(event.details or "{}").get("what", "")
            per_participant[event.participant_id.id][f"{event.event_type}:{what}"] += 1

ONCE = (
    "created",
    "sent",
    "invited",
    "viewed",
    "consent",
    "signed",
    "completed",
    "sealed",
    "finalized",
)
# A filing rule (the demo data has a catch-all one) files the signed copy: once, when the
# request says it is filed, never otherwise.
ALLOWED = set(ONCE) | {"reminded", "message_sent", "filed"}
for request in requests:
    if request.state != "signed" or request.finalize_state != "done":
        problem("finalised", f"{request.reference}: {request.state}/{request.finalize_state}")
    if request.seal_state != "sealed":
        problem("sealed", f"{request.reference}: seal {request.seal_state}")
    if attachments[request.id] != 1:
        problem("one signed PDF", f"{request.reference}: {attachments[request.id]} signed PDFs")
    counts = per_request[request.id]
    for kind in ONCE:
        if counts[kind] != 1:
            problem(f"event {kind} once", f"{request.reference}: {counts[kind]}")
    if request.filing_state in ("none", "failed"):  # a signed copy is filed or has no rule
        problem("filed once", f"{request.reference}: filing {request.filing_state}")
    filed = 1 if request.filing_state == "filed" else 0
    if counts["filed"] != filed:
        problem(
            "filed once", f"{request.reference}: {counts['filed']} x filed, {request.filing_state}"
        )
    for kind, count in counts.items():
        if kind not in ALLOWED:
            problem("no other event", f"{request.reference}: {count} x {kind}")
    broken = request._check_integrity()
    if broken:
        problem("audit chain verifies", f"{request.reference}: {broken[1]}")

# --- e-mails: queued once, delivered once, logged once ----------------------------------------
mails = env["mail.mail"].sudo().search([("digital_sign_participant_id", "in", participants.ids)])
queued = collections.defaultdict(collections.Counter)
for mail in mails:
    queued[mail.digital_sign_participant_id.id][mail.digital_sign_purpose] += 1
    if mail.state != "sent":
        problem("e-mail sent", f"mail {mail.id} ({mail.digital_sign_purpose}): {mail.state}")
delivered = collections.Counter()
smtp_log = os.environ.get("BENCH_SMTP_LOG")
for line in open(smtp_log) if smtp_log and os.path.exists(smtp_log) else ():
    for address in json.loads(line)["to"]:
        if address in by_email:
            delivered[by_email[address]["participant"]] += 1
reminded = 0
for participant in participants:
    mine = queued[participant.id]
    counts = per_participant[participant.id]
    for purpose in ("invitation", "signed_document"):
        if mine[purpose] != 1:
            problem(f"{purpose} queued once", f"participant {participant.id}: {mine[purpose]}")
    if mine["reminder"] != participant.reminder_count or mine["reminder"] > 1:
        problem(
            "reminder queued once",
            f"participant {participant.id}: {mine['reminder']} mails, "
            f"count {participant.reminder_count}",
        )
    if counts["reminded"] != mine["reminder"]:
        problem(
            "reminder logged once",
            f"participant {participant.id}: {counts['reminded']} events, {mine['reminder']} mails",
        )
    reminded += mine["reminder"]
    total = sum(mine.values())
    if delivered[participant.id] != total:
        problem(
            "delivered once",
            f"participant {participant.id}: {delivered[participant.id]} delivered, {total} queued",
        )
    if counts["message_sent"] != total:
        problem(
            "delivery logged once",
            f"participant {participant.id}: {counts['message_sent']} events, {total} mails",
        )

# --- both servers' logs -----------------------------------------------------------------------
error_lines = []
met = collections.Counter()  # conflicts met, and handled as designed (INFO lines)
for path in os.environ.get("BENCH_LOGS", "").split():
    for line in open(path, errors="replace"):
        if re.search(r" (ERROR|CRITICAL) ", line):
            error_lines.append(f"{os.path.basename(path)}: {line.strip()[:300]}")
        elif "tries left, try again" in line:
            met["requests replayed after a serialization failure"] += 1
        elif "is busy in another transaction" in line:
            met["documents left by a job for its next run"] += 1
        elif "wait for their document" in line:
            met["e-mails left in the queue for its next run"] += 1
for line in error_lines:
    problem("server errors", line)

print(f"\n== Checks read back from the database ({len(requests)} requests) ==")
print(
    f"e-mails queued: {len(mails)} ({reminded} reminders), delivered to the SMTP fake: "
    f"{sum(delivered.values())}; events: {len(events)}"
)
print(
    "conflicts met and handled: "
    + ", ".join(
        f"{met[kind]} {kind}"
        for kind in (
            "requests replayed after a serialization failure",
            "documents left by a job for its next run",
            "e-mails left in the queue for its next run",
        )
    )
)
CHECKS = (
    "finalised",
    "sealed",
    "one signed PDF",
    *(f"event {kind} once" for kind in ONCE),
    "filed once",
    "no other event",
    "invitation queued once",
    "reminder queued once",
    "reminder logged once",
    "signed_document queued once",
    "e-mail sent",
    "delivered once",
    "delivery logged once",
    "audit chain verifies",
    "server errors",
)
for check in CHECKS:
    print(f"{check:32s} {'ok' if not problems[check] else f'{problems[check]} problems'}")
    for text in examples[check]:
        print(f"    {text}")
total = sum(problems.values())
print(f"duplicates + losses + errors: {total} (goal 0)")
