"""Bulk send: one 3-page template to 1,000 contacts, then a worker killed halfway.

Run through scripts/bench (inside `odoo-bin shell` on a scratch database):
    ./scripts/bench bulk            (BENCH_RECIPIENTS=200 ./scripts/bench bulk for a quick run)

Prints, for the measured run: the total time, the SQL queries per recipient (goal: at most
10), the invitations queued per second and the resident set of the process. Then a second
bulk send is run by a forked worker that is killed (SIGKILL) once half of its recipients are
sent; a fresh run resumes it, and the bench counts the duplicates (a recipient with two
documents or two invitations) and the missing (a recipient without a document): both must be
0. The peak Python heap (tracemalloc) is taken during that restart run: tracing every
allocation slows Python down about threefold, so the measured run goes without it.
Everything it creates is named "bench bulk ..." (it stays in the scratch database).
"""

# ruff: noqa: F821 - `env` is given by odoo-bin shell
import base64
import os
import resource
import signal
import time
import tracemalloc

import pymupdf

import odoo
from odoo import sql_db

COUNT = int(os.environ.get("BENCH_RECIPIENTS", "1000"))
DBNAME = env.cr.dbname


def three_page_pdf():
    doc = pymupdf.open()
    for number in range(1, 4):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 72), f"bench bulk agreement, page {number}", fontsize=16)
        for line in range(30):
            page.insert_text((72, 110 + 18 * line), f"Clause {number}.{line}: terms.", fontsize=9)
    doc[2].insert_text((72, 720), "Customer: {{sign:Customer}}", fontsize=10)
    doc[2].insert_text((320, 720), "Date: {{date:Customer}}", fontsize=10)
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return data


def setup(cr, label):
    """A template and COUNT contacts, committed; returns (template id, contact ids)."""
    e = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
    template = e["digital.sign.template"].search([("name", "=", "bench bulk template")], limit=1)
    if not template:
        template = e["digital.sign.template"].create(
            {
                "name": "bench bulk template",
                "pdf": base64.b64encode(three_page_pdf()),
                "pdf_filename": "bench.pdf",
            }
        )
    contacts = e["res.partner"].create(
        [
            {"name": f"bench bulk {label} {n}", "email": f"bench.{label}.{n}@example.com"}
            for n in range(COUNT)
        ]
    )
    cr.commit()
    return template.id, contacts.ids


def start(cr, template_id, contact_ids):
    e = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
    admin = e.ref("base.user_admin")
    e = e(user=admin, su=False)
    bulk = e["digital.sign.bulk"]._start(
        e["digital.sign.template"].browse(template_id), e["res.partner"].browse(contact_ids)
    )
    cr.commit()
    return bulk.id


def run_until_done(cr):
    """What the scheduled action does, run after run, until nothing is left (each line is
    committed by _commit_progress, as in a cron)."""
    e = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
    Line = e["digital.sign.bulk.line"]
    while Line.search_count([("state", "=", "pending"), ("bulk_id.state", "=", "running")]):
        e["digital.sign.bulk"]._cron_process_bulk_sends()
        cr.commit()


def count(cr, sql, *args):
    cr.execute(sql, args)
    return cr.fetchone()[0]


def check(cr, bulk_id, contact_ids):
    """(sent, duplicates, missing, invitations) of a bulk send."""
    cr.execute(
        """
        SELECT r.res_id, count(DISTINCT r.id), count(m.id)
          FROM digital_sign_request r
          JOIN digital_sign_participant p ON p.request_id = r.id
          LEFT JOIN mail_mail m ON m.digital_sign_participant_id = p.id
         WHERE r.res_model = 'res.partner' AND r.res_id = ANY(%s)
         GROUP BY r.res_id
    """,
        (contact_ids,),
    )
    rows = cr.fetchall()
    duplicates = sum(1 for _res_id, requests, mails in rows if requests > 1 or mails > 1)
    missing = len(set(contact_ids) - {row[0] for row in rows})
    invitations = sum(row[2] for row in rows)
    sent = count(
        cr,
        "SELECT count(*) FROM digital_sign_bulk_line WHERE bulk_id = %s AND state = 'sent'",
        bulk_id,
    )
    return sent, duplicates, missing, invitations


env.cr.commit()
registry = env.registry

# === 1. measured run === #
with registry.cursor() as cr:
    template_id, contact_ids = setup(cr, "measured")
    bulk_id = start(cr, template_id, contact_ids)
with registry.cursor() as cr:
    queries_before = sql_db.sql_counter
    started = time.perf_counter()
    run_until_done(cr)
    wall = time.perf_counter() - started
    queries = sql_db.sql_counter - queries_before
    sent, duplicates, missing, invitations = check(cr, bulk_id, contact_ids)
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"bulk send of one 3-page template to {COUNT} contacts")
print(f"  total time           {wall:8.1f} s ({1000 * wall / COUNT:.0f} ms per recipient)")
print(f"  SQL queries          {queries / COUNT:8.1f} per recipient (goal <= 10)")
print(f"  invitations queued   {invitations / wall:8.1f} per second ({invitations} in all)")
print(f"  memory               {rss_mb:8.0f} MB resident")
print(f"  sent {sent}, duplicates {duplicates}, missing {missing}")

# === 2. a worker killed halfway, then a restart === #
with registry.cursor() as cr:
    _template_id, crash_ids = setup(cr, "killed")
    crash_bulk_id = start(cr, template_id, crash_ids)
sql_db.close_all()  # the child opens its own connections
child = os.fork()
if child == 0:  # the worker
    try:
        with odoo.modules.registry.Registry(DBNAME).cursor() as cr:
            run_until_done(cr)
    finally:
        os._exit(0)
killed_at = None
while killed_at is None:
    time.sleep(0.2)
    with registry.cursor() as cr:
        done = count(
            cr,
            "SELECT count(*) FROM digital_sign_bulk_line WHERE bulk_id = %s AND state != 'pending'",
            crash_bulk_id,
        )
    if done >= COUNT // 2:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        killed_at = done
with registry.cursor() as cr:
    before = check(cr, crash_bulk_id, crash_ids)
    tracemalloc.start()
    run_until_done(cr)  # the restart
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sent, duplicates, missing, invitations = check(cr, crash_bulk_id, crash_ids)
print(
    f"worker killed (SIGKILL) after {killed_at} of {COUNT} recipients "
    f"({before[0]} committed), then restarted:"
)
print(f"  sent {sent}, duplicates {duplicates}, missing {missing}, invitations {invitations}")
print(f"  peak Python heap of the restart run (tracemalloc): {peak / 1024 / 1024:.1f} MB")
ok = (duplicates, missing, sent) == (0, 0, COUNT)
print("RESULT", "ok" if ok else "FAILED", flush=True)
# The shell's own cursor went with sql_db.close_all() before the fork: leave without it.
os._exit(0 if ok else 1)
