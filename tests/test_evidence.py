"""Evidence holds against insiders (issue 12, parts 1 and 2).

Every test attacks through the doors a real user has: Odoo's external API (JSON-2 with an
API key, XML-RPC with a password), as the salesperson and the helpdesk agent who own the
documents, a manager, an administrator and a portal user, on one record and on a batch.
Each refused call must leave the database exactly as it was."""

import base64
import hashlib
import json
from datetime import datetime, timedelta
from xmlrpc.client import Fault

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import DigitalSignHelpdeskCommon, b64, make_pdf, person, signature_data_url

PNG_SIGNATURE = signature_data_url()
FORGED_PDF = make_pdf([{"texts": [(72, 700, "Forged")]}])
FORGED_PNG = base64.b64encode(base64.b64decode(signature_data_url(100, 40).split(",")[1])).decode()
SOON = "2031-01-01 10:00:00"

# Forged values for every evidence field, per model.
REQUEST_FLOW = {
    "state": "signed",
    "reference": "FORGED/0001",
    "original_sha256": "0" * 64,
    "signed_pdf": base64.b64encode(FORGED_PDF).decode(),
    "signed_filename": "forged.pdf",
    "signed_sha256": "f" * 64,
    "page_count": 9,
    "page_geometry": [[1, 1]],
    "sent_on": SOON,
    "signed_on": SOON,
    "finalize_state": "done",
    "finalize_error": "none",
    "seal_state": "sealed",
    "cancel_reason": "forged",
    "reject_reason": "forged",
    "provider_reference": "forged",
    "provider_sync_state": "sent",
    "provider_status": "completed",
    "provider_failures": 7,
    "last_checked_at": SOON,
    "provider_next_check_at": SOON,
    "provider_refresh_requested": True,
    "state_message": "forged",
    "version": 9,
    "document_kind": "forged",
    "source_hash": "forged",
    "res_model": "res.partner",
    "res_id": 1,
}
REQUEST_SENT = {  # users may change these while the document is a draft only
    "name": "Renamed after sending",
    "original_pdf": base64.b64encode(FORGED_PDF).decode(),
    "original_filename": "other.pdf",
    "sending_mode": "conversation",
    "reminder_mode": "none",
    "reminder_first_days": 30,
    "reminder_interval_days": 30,
    "reminder_max": 1,
}
PARTICIPANT_FLOW = {
    "state": "signed",
    "invited_at": SOON,
    "viewed_at": SOON,
    "consent_at": SOON,
    "consent_text": "forged",
    "otp_verified_at": SOON,
    "signed_at": SOON,
    "rejected_at": SOON,
    "reject_reason": "forged",
    "reminder_count": 9,
    "last_reminder_at": SOON,
    "provider_recipient_id": "forged",
    "otp_sent_at": SOON,
    "otp_locked_until": SOON,
}
PARTICIPANT_MANAGER_ONLY = {"signed_ip": "203.0.113.66", "signed_user_agent": "forged"}
PARTICIPANT_SENT = {
    "name": "Mallory",
    "email": "mallory@example.com",
    "mobile": "+46701112299",
    "mandatory": False,
    "signing_order": 5,
    "role": "Witness",
    "invite_channel": "sms",
    "otp_channel": "sms",
    "to_be_named": True,
    "is_primary": False,
}
FIELD_FLOW = {
    "value": "forged",
    "value_image": FORGED_PNG,
    "filled_at": SOON,
    "source": "anchor",
    "marker": [0, 0, 500, 800],
}
FIELD_SENT = {
    "page": 1,
    "x0": 1.0,
    "y0": 1.0,
    "x1": 50.0,
    "y1": 20.0,
    "kind": "text",
    "mandatory": False,
    "role": "Witness",
    "participant_id": False,
}


class EvidenceCommon(DigitalSignHelpdeskCommon):
    """A salesperson's and an agent's documents out for signature (one participant has
    signed), a finished one, and an API key for each role."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("digital_sign.otp_show_code", "1")
        cls.manager.write({"group_ids": [Command.link(cls.env.ref("base.group_user").id)]})
        cls.admin = cls.env.ref("base.user_admin")
        cls.portal = cls.portal_user
        cls.orders = cls.env["sale.order"].create(
            [
                {
                    "partner_id": cls.customer.id,
                    "user_id": cls.user_a.id,
                    "team_id": cls.team_a.id,
                    "order_line": [Command.create({"product_id": cls._product().id})],
                }
                for _i in range(3)
            ]
        )
        cls.tickets = cls._create_ticket() | cls._create_ticket(name="Scanner")
        two = [person("Ingrid", "Customer", partner_id=cls.customer.id), person("Carl", "Cosigner")]
        pdf = make_pdf(
            [
                {
                    "texts": [
                        (72, 600, "Customer: {{sign:Customer}}"),
                        (320, 600, "Cosigner: {{sign:Cosigner}}"),
                    ]
                }
            ]
        )

        def out_for_signature(user, record, name):
            request = cls.env["digital.sign.request"].create(
                {
                    "name": name,
                    "partner_id": cls.customer.id,
                    "original_pdf": b64(pdf),
                    "original_filename": "contract.pdf",
                    "user_id": user.id,
                    "team_id": cls.team_a.id if record._name == "sale.order" else False,
                    "helpdesk_team_id": cls.hd_team.id
                    if record._name == "helpdesk.ticket"
                    else False,
                    "res_model": record._name,
                    "res_id": record.id,
                    "participant_ids": [Command.create(p) for p in two],
                }
            )
            request._detect_fields()
            request.action_send()
            cls._sign_as(request.participant_ids[0])
            return request

        cls.quote_docs = out_for_signature(
            cls.user_a, cls.orders[0], "Quote one"
        ) | out_for_signature(cls.user_a, cls.orders[1], "Quote two")
        cls.ticket_docs = out_for_signature(
            cls.agent, cls.tickets[0], "Ticket one"
        ) | out_for_signature(cls.agent, cls.tickets[1], "Ticket two")
        cls.done_doc = cls._finished(cls.orders[2], cls.user_a, team_id=cls.team_a.id)
        cls.done_ticket_doc = cls._finished(
            cls._create_ticket(name="Done"), cls.agent, helpdesk_team_id=cls.hd_team.id
        )
        cls.keys = {
            user: cls._api_key(user) for user in (cls.user_a, cls.agent, cls.manager, cls.admin)
        }

    @classmethod
    def _finished(cls, record, user, **values):
        request = cls._create_request(
            name=f"Finished {record.display_name}",
            user_id=user.id,
            res_model=record._name,
            res_id=record.id,
            **values,
        )
        request.action_send()
        cls._sign_as(request.participant_ids)
        request._finalize()
        assert request.finalize_state == "done", request.finalize_error
        return request

    @classmethod
    def _product(cls):
        return cls.env["product.product"].create({"name": "Service", "list_price": 100.0})

    @classmethod
    def _sign_as(cls, participant):
        request = participant.request_id
        mine = request.field_ids.filtered(lambda f: f.participant_id == participant)
        result = participant._submit(
            {str(f.id): PNG_SIGNATURE for f in mine if f.kind in ("signature", "initials")},
            True,
            request.original_sha256,
            ip="198.51.100.9",
            user_agent="EvidenceTest/1.0",
        )
        assert result["status"] == "ok", result

    @classmethod
    def _api_key(cls, user):
        return (
            user.with_user(user)
            .env["res.users.apikeys"]
            ._generate(
                scope="rpc",
                name="evidence tests",
                expiration_date=datetime.now() + timedelta(days=1),
            )
        )


class ExternalApiMixin:
    """Calls through Odoo's external API, as a real user would make them."""

    def json2(self, user, model, method, **params):
        """Call ``model.method`` through JSON-2 as ``user``: ``(ok, result or error dict)``."""
        response = self.url_open(
            f"/json/2/{model}/{method}",
            data=json.dumps(params),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.keys[user]}",
            },
        )
        body = response.json()
        if response.status_code == 200:
            return True, body
        self.assertNotIn("Traceback", body.get("message", ""))
        return False, body


@tagged("post_install", "-at_install")
class TestEvidenceExternalApi(ExternalApiMixin, EvidenceCommon, HttpCase):
    def assertRefused(self, user, model, method, expect=None, **params):
        with mute_logger("odoo.http", "odoo.addons.rpc.controllers.json2"):
            ok, body = self.json2(user, model, method, **params)
        self.assertFalse(ok, f"{user.login} could {model}.{method}({params})")
        self.assertRegex(body["name"], r"odoo\.exceptions\.(AccessError|UserError|ValidationError)")
        if expect:
            self.assertIn(expect, body["message"])
        return body

    def snapshot(self, requests):
        """Every evidence value of ``requests``, their participants, places, events and
        files, read by the superuser."""
        requests = requests.sudo().with_context(bin_size=False, active_test=False)
        requests.invalidate_recordset()
        requests.participant_ids.invalidate_recordset()
        requests.field_ids.invalidate_recordset()

        def values(records):
            names = sorted(set(records._evidence_levels()) - {"width", "height"})
            return [{name: str(record[name]) for name in names} for record in records]

        attachments = (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "in", ("digital.sign.request", "digital.sign.field")),
                    ("res_id", "in", requests.ids + requests.field_ids.ids),
                    "|",
                    ("res_field", "!=", False),
                    ("digital_sign_locked", "=", True),
                ]
            )
        )
        return {
            "requests": values(requests),
            "participants": values(requests.participant_ids),
            "fields": values(requests.field_ids),
            "events": [(e.id, e.hash) for e in requests.event_ids.sorted("id")],
            "files": sorted((a.id, a.res_field or "", a.checksum) for a in attachments),
            "orders": [
                (o.digital_sign_state, o.digital_sign_request_id.id) for o in self.orders.sudo()
            ],
        }

    # === 1. no one writes evidence by hand === #
    def _attack_each_field(self, user, model, records, values, reason):
        for name, value in values.items():
            for batch in (records[:1], records):
                with self.subTest(user=user.login, model=model, field=name, batch=len(batch)):
                    body = self.assertRefused(
                        user, model, "write", ids=batch.ids, vals={name: value}
                    )
                    if reason:
                        self.assertIn(reason, body["message"])

    def _attack_documents(self, user, docs):
        done = self.done_doc if docs[0].res_model == "sale.order" else self.done_ticket_doc
        before = self.snapshot(docs | done)
        flow = "only the signing flow writes them"
        sent = "cannot change once the document was sent"
        self._attack_each_field(user, "digital.sign.request", docs, REQUEST_FLOW, flow)
        self._attack_each_field(user, "digital.sign.request", docs, REQUEST_SENT, sent)
        self._attack_each_field(
            user, "digital.sign.participant", docs.participant_ids, PARTICIPANT_FLOW, flow
        )
        self._attack_each_field(
            user, "digital.sign.participant", docs.participant_ids, PARTICIPANT_MANAGER_ONLY, None
        )
        self._attack_each_field(
            user, "digital.sign.participant", docs.participant_ids, PARTICIPANT_SENT, sent
        )
        self._attack_each_field(
            user, "digital.sign.participant", docs.participant_ids, {"request_id": done.id}, flow
        )
        self._attack_each_field(user, "digital.sign.field", docs.field_ids, FIELD_FLOW, flow)
        self._attack_each_field(user, "digital.sign.field", docs.field_ids, FIELD_SENT, sent)
        self._attack_each_field(
            user, "digital.sign.field", docs.field_ids, {"request_id": done.id}, flow
        )
        # Through the document itself (one2many commands), and a closed document's deadline.
        self.assertRefused(
            user,
            "digital.sign.request",
            "write",
            ids=docs[:1].ids,
            vals={
                "participant_ids": [
                    Command.update(docs[0].participant_ids[1].id, {"state": "signed"})
                ]
            },
        )
        self.assertRefused(
            user,
            "digital.sign.request",
            "write",
            ids=docs[:1].ids,
            vals={"field_ids": [Command.update(docs[0].field_ids[0].id, {"value": "forged"})]},
        )
        self.assertRefused(
            user,
            "digital.sign.request",
            "write",
            ids=docs.ids,
            vals={"participant_ids": [Command.delete(docs[0].participant_ids[1].id)]},
        )
        self.assertRefused(
            user,
            "digital.sign.request",
            "write",
            ids=done.ids,
            vals={"deadline": SOON},
            expect="once the document is closed",
        )
        # Deleting evidence: documents, participants and places of sent documents, events.
        for batch in (docs[:1], docs, done):
            self.assertRefused(user, "digital.sign.request", "unlink", ids=batch.ids)
        self.assertRefused(user, "digital.sign.participant", "unlink", ids=docs.participant_ids.ids)
        self.assertRefused(user, "digital.sign.field", "unlink", ids=docs.field_ids.ids)
        events = docs.sudo().event_ids
        self.assertRefused(user, "digital.sign.event", "unlink", ids=events.ids)
        self.assertRefused(
            user, "digital.sign.event", "write", ids=events.ids, vals={"details": "forged"}
        )
        self.assertRefused(
            user,
            "digital.sign.event",
            "create",
            vals_list=[{"request_id": docs[0].id, "event_type": "signed", "event_date": SOON}],
        )
        # Import (the web client's import and `load`), one row and several.
        participants = docs.participant_ids
        for rows in ([participants[1]], participants):
            with mute_logger("odoo.http", "odoo.addons.rpc.controllers.json2"):
                ok, result = self.json2(
                    user,
                    "digital.sign.participant",
                    "load",
                    fields=[".id", "state", "signed_at"],
                    data=[[str(p.id), "signed", SOON] for p in rows],
                )
            self.assertTrue(not ok or result.get("messages"), result)
        # The linked documents' digital status.
        record = self.env[docs[0].res_model].browse(docs[0].res_id)
        self.assertRefused(
            user,
            record._name,
            "write",
            ids=record.ids,
            vals={"digital_sign_state": "signed"},
            expect=flow if record.with_user(user).has_access("write") else None,
        )
        self.assertEqual(self.snapshot(docs | done), before)

    @mute_logger("odoo.http")
    def test_salesperson_cannot_forge_evidence(self):
        self._attack_documents(self.user_a, self.quote_docs)

    @mute_logger("odoo.http")
    def test_helpdesk_agent_cannot_forge_evidence(self):
        self._attack_documents(self.agent, self.ticket_docs)

    @mute_logger("odoo.http")
    def test_manager_cannot_forge_evidence(self):
        self._attack_documents(self.manager, self.quote_docs)

    @mute_logger("odoo.http")
    def test_administrator_cannot_forge_evidence(self):
        self._attack_documents(self.admin, self.ticket_docs)

    @mute_logger("odoo.http", "odoo.addons.rpc.controllers.xmlrpc")
    def test_portal_user_cannot_forge_evidence_by_xmlrpc(self):
        before = self.snapshot(self.quote_docs | self.ticket_docs | self.done_doc)
        uid = self.xmlrpc_common.authenticate(self.env.cr.dbname, "hd_portal", "hd_portal", {})
        self.assertTrue(uid)
        docs = self.quote_docs | self.ticket_docs
        calls = [
            ("digital.sign.request", "write", [docs.ids, {"state": "cancelled"}]),
            ("digital.sign.participant", "write", [docs.participant_ids.ids, {"state": "signed"}]),
            ("digital.sign.field", "write", [docs.field_ids.ids, {"value": "forged"}]),
            ("digital.sign.request", "unlink", [docs.ids]),
            ("digital.sign.event", "unlink", [docs.sudo().event_ids.ids]),
            ("sale.order", "write", [self.orders.ids, {"digital_sign_state": "signed"}]),
        ]
        for model, method, args in calls:
            with self.subTest(model=model, method=method), self.assertRaises(Fault):
                self.xmlrpc_object.execute_kw(
                    self.env.cr.dbname, uid, "hd_portal", model, method, args
                )
        self.assertEqual(self.snapshot(self.quote_docs | self.ticket_docs | self.done_doc), before)

    @mute_logger("odoo.http", "odoo.addons.rpc.controllers.xmlrpc")
    def test_salesperson_by_xmlrpc_too(self):
        """XML-RPC is the same door: one field of each kind, one record and a batch."""
        before = self.snapshot(self.quote_docs)
        db = self.env.cr.dbname
        uid = self.xmlrpc_common.authenticate(db, "sign_user_a", "sign_user_a", {})
        docs = self.quote_docs
        for model, ids, vals in (
            ("digital.sign.request", docs.ids, {"state": "signed"}),
            ("digital.sign.request", docs[:1].ids, {"signed_sha256": "f" * 64}),
            ("digital.sign.participant", docs.participant_ids.ids, {"signed_at": SOON}),
            ("digital.sign.field", docs.field_ids[:1].ids, {"value_image": FORGED_PNG}),
        ):
            with self.subTest(model=model, vals=vals), self.assertRaises(Fault) as caught:
                self.xmlrpc_object.execute_kw(db, uid, "sign_user_a", model, "write", [ids, vals])
            self.assertIn("only the signing flow writes them", caught.exception.faultString)
        self.assertEqual(self.snapshot(docs), before)

    @mute_logger("odoo.http")
    def test_signed_files_cannot_be_replaced_through_attachments(self):
        before = self.snapshot(self.done_doc)
        Attachment = self.env["ir.attachment"].sudo()
        signed = Attachment.search(
            [
                ("res_model", "=", "digital.sign.request"),
                ("res_id", "=", self.done_doc.id),
                ("res_field", "=", "signed_pdf"),
            ]
        )
        self.assertEqual(len(signed), 1)
        copies = Attachment.search(
            [
                ("digital_sign_locked", "=", True),
                "|",
                "&",
                ("res_model", "=", "digital.sign.request"),
                ("res_id", "=", self.done_doc.id),
                "&",
                ("res_model", "=", "sale.order"),
                ("res_id", "=", self.orders[2].id),
            ]
        )
        self.assertEqual(set(copies.mapped("res_model")), {"digital.sign.request", "sale.order"})
        image = Attachment.search(
            [
                ("res_model", "=", "digital.sign.field"),
                ("res_field", "=", "value_image"),
                ("res_id", "in", self.done_doc.field_ids.ids),
            ],
            limit=1,
        )
        forged = base64.b64encode(FORGED_PDF).decode()
        evidence = "only the signing flow writes or removes it"
        for user in (self.user_a, self.manager, self.admin):
            own = self.json2(
                user,
                "ir.attachment",
                "create",
                vals_list=[
                    {
                        "name": "mine.pdf",
                        "datas": forged,
                        "res_model": "digital.sign.request",
                        "res_id": self.done_doc.id,
                    }
                ],
            )
            self.assertTrue(own[0], own)
            for target in (signed, signed | image, copies, image):
                with self.subTest(user=user.login, target=target.ids):
                    self.assertRefused(
                        user,
                        "ir.attachment",
                        "write",
                        ids=target.ids,
                        vals={"datas": forged},
                        expect=evidence,
                    )
                    self.assertRefused(
                        user, "ir.attachment", "unlink", ids=target.ids, expect=evidence
                    )
            self.assertRefused(
                user,
                "ir.attachment",
                "create",
                vals_list=[
                    {
                        "name": "signed.pdf",
                        "datas": forged,
                        "res_model": "digital.sign.request",
                        "res_id": self.done_doc.id,
                        "res_field": "signed_pdf",
                    }
                ],
                expect=evidence,
            )
            self.assertRefused(
                user,
                "ir.attachment",
                "write",
                ids=own[1],
                vals={"res_field": "signed_pdf"},
                expect=evidence,
            )
            self.assertRefused(
                user,
                "ir.attachment",
                "write",
                ids=own[1],
                vals={"digital_sign_locked": True},
                expect=evidence,
            )
        self.assertEqual(self.snapshot(self.done_doc), before)

    @mute_logger("odoo.http")
    def test_creating_with_evidence_is_refused_and_context_defaults_are_ignored(self):
        user = self.user_a
        count = self.env["digital.sign.request"].sudo().search_count([])
        for name, value in (
            ("state", "signed"),
            ("signed_sha256", "f" * 64),
            ("finalize_state", "done"),
            ("sent_on", SOON),
        ):
            with self.subTest(field=name):
                self.assertRefused(
                    user,
                    "digital.sign.request",
                    "create",
                    vals_list=[{"name": f"Forged {name}", name: value}],
                    expect="only the signing flow writes them",
                )
        self.assertEqual(self.env["digital.sign.request"].sudo().search_count([]), count)
        ok, ids = self.json2(
            user,
            "digital.sign.request",
            "create",
            vals_list=[{"name": "Context defaults"}],
            context={
                "default_state": "signed",
                "default_sent_on": SOON,
                "default_signed_sha256": "f" * 64,
            },
        )
        self.assertTrue(ok, ids)
        created = self.env["digital.sign.request"].browse(ids)
        self.assertRecordValues(
            created, [{"state": "draft", "sent_on": False, "signed_sha256": False}]
        )
        # A draft's participants and places are created without evidence too.
        self.assertRefused(
            user,
            "digital.sign.participant",
            "create",
            vals_list=[
                {"request_id": created.id, "name": "Mallory", "state": "signed", "signed_at": SOON}
            ],
        )
        self.assertRefused(
            user,
            "digital.sign.field",
            "create",
            vals_list=[
                {
                    "request_id": created.id,
                    "value": "forged",
                    "page": 1,
                    "x0": 1,
                    "y0": 1,
                    "x1": 9,
                    "y1": 9,
                }
            ],
        )
        # Nothing can be added to a sent document.
        self.assertRefused(
            user,
            "digital.sign.participant",
            "create",
            vals_list=[
                {"request_id": self.quote_docs[0].id, "name": "Mallory", "email": "m@example.com"}
            ],
        )
        self.assertRefused(
            user,
            "digital.sign.field",
            "create",
            vals_list=[
                {"request_id": self.quote_docs[0].id, "page": 1, "x0": 1, "y0": 1, "x1": 9, "y1": 9}
            ],
        )

    @mute_logger("odoo.http")
    def test_linked_record_must_carry_the_mixin_and_be_writable(self):
        user = self.user_a
        other_order = self.env["sale.order"].create(
            {"partner_id": self.customer.id, "user_id": self.user_b.id, "team_id": self.team_b.id}
        )
        self.assertRefused(
            user,
            "digital.sign.request",
            "create",
            vals_list=[
                {
                    "name": "Linked to a country",
                    "res_model": "res.country",
                    "res_id": self.env.ref("base.se").id,
                }
            ],
            expect="can only be linked to",
        )
        self.assertRefused(
            user,
            "digital.sign.request",
            "create",
            vals_list=[
                {
                    "name": "Linked to Bob's quotation",
                    "res_model": "sale.order",
                    "res_id": other_order.id,
                }
            ],
        )
        ok, ids = self.json2(
            user,
            "digital.sign.request",
            "create",
            vals_list=[
                {
                    "name": "Linked to my quotation",
                    "res_model": "sale.order",
                    "res_id": self.orders[0].id,
                }
            ],
        )
        self.assertTrue(ok, ids)

    def test_copy_carries_no_evidence(self):
        ok, new_id = self.json2(
            self.user_a,
            "digital.sign.request",
            "copy",
            ids=self.done_doc.ids,
            default={"name": "Second round"},
        )
        self.assertTrue(ok, new_id)
        copy = self.env["digital.sign.request"].browse(new_id)
        self.assertRecordValues(
            copy,
            [
                {
                    "state": "draft",
                    "sent_on": False,
                    "signed_on": False,
                    "signed_pdf": False,
                    "signed_sha256": False,
                    "finalize_state": "none",
                    "seal_state": "none",
                    "original_pdf": False,
                }
            ],
        )
        self.assertEqual(len(copy.participant_ids), len(self.done_doc.participant_ids))
        self.assertEqual(set(copy.participant_ids.mapped("state")), {"waiting"})
        self.assertFalse(any(copy.participant_ids.mapped("signed_at")))
        self.assertEqual(len(copy.field_ids), len(self.done_doc.field_ids))
        self.assertFalse(any(copy.field_ids.mapped("value_image")))
        self.assertFalse(any(copy.field_ids.mapped("filled_at")))
        # Each place goes to the copy of its participant.
        self.assertEqual(copy.field_ids.participant_id, copy.participant_ids)

    def test_no_name_leaks_through_the_linked_record(self):
        ticket_b = self._create_ticket(team=self.hd_team_b, name="Secret merger with ACME")
        request = self.env["digital.sign.request"].create(
            {
                "name": "Owned by Hanna",
                "user_id": self.agent.id,
                "helpdesk_team_id": self.hd_team.id,
                "res_model": "helpdesk.ticket",
                "res_id": ticket_b.id,
            }
        )
        ok, rows = self.json2(
            self.agent,
            "digital.sign.request",
            "read",
            ids=request.ids,
            fields=["res_name", "res_model_name", "display_name"],
        )
        self.assertTrue(ok, rows)
        self.assertNotIn("ACME", json.dumps(rows))
        self.assertEqual(rows[0]["res_name"], "(restricted)")


@tagged("post_install", "-at_install")
class TestLiveLinks(ExternalApiMixin, EvidenceCommon, HttpCase):
    """Who sees live signing links and codes (issue 12, part 2)."""

    def _linked(self, doc):
        return self.env[doc.res_model].browse(doc.res_id)

    def test_links_and_codes_are_for_the_owner_and_managers(self):
        doc = self.quote_docs[0]
        order = self._linked(doc)
        cosigner = doc.participant_ids[1]
        cosigner.sudo().otp_channel = "sms"
        cosigner.sudo().mobile = "+46701234567"
        cosigner._otp_send()
        teammate = new_test_user(
            self.env,
            login="sign_teammate",
            name="Tina Teammate",
            groups="sales_team.group_sale_salesman_all_leads",
        )
        self.team_a.member_ids = [Command.link(teammate.id)]
        sales_manager = new_test_user(
            self.env, login="sales_boss", name="Sam Boss", groups="sales_team.group_sale_manager"
        )
        self.team_a.member_ids = [Command.link(sales_manager.id)]
        self.assertTrue(doc.with_user(teammate).has_access("read"))
        for user, sees in (
            (self.user_a, True),
            (teammate, False),
            (self.manager, True),
            (sales_manager, True),
        ):
            with self.subTest(user=user.login):
                url = order.with_user(user).digital_sign_url
                code = cosigner.with_user(user).otp_agent_code
                self.assertEqual(bool(url), sees)
                self.assertEqual(bool(code), sees)
                if sees:
                    self.assertIn(f"/digital_sign/s/{cosigner.id}/", url)
                    self.assertRegex(code, r"^\d{6}$")
        # The setting widens it to every reader (contact centres).
        self.env["ir.config_parameter"].sudo().set_param("digital_sign.live_links_for_readers", "1")
        order.invalidate_recordset()
        cosigner.invalidate_recordset()
        self.assertTrue(order.with_user(teammate).digital_sign_url)
        self.assertTrue(cosigner.with_user(teammate).otp_agent_code)

    def test_tokens_are_read_by_no_user(self):
        doc = self.quote_docs[0]
        for user in (self.user_a, self.manager, self.admin):
            with self.subTest(user=user.login), mute_logger("odoo.http"):
                ok, body = self.json2(
                    user,
                    "digital.sign.participant",
                    "read",
                    ids=doc.participant_ids.ids,
                    fields=["access_token"],
                )
                self.assertFalse(ok)
                ok, body = self.json2(
                    user,
                    "digital.sign.participant",
                    "search_read",
                    domain=[("id", "in", doc.participant_ids.ids)],
                )
                self.assertTrue(ok, body)
                self.assertNotIn("access_token", body[0])
                self.assertNotIn("otp_visible_code", body[0])

    def test_invitation_and_code_messages_are_read_by_no_user(self):
        doc = self.quote_docs[0]
        cosigner = doc.participant_ids[1]
        cosigner._invite(reminder=True)
        # A code by e-mail (invited by SMS) too.
        cosigner.sudo().write(
            {"invite_channel": "sms", "mobile": "+46701234567", "otp_channel": "email"}
        )
        self.assertEqual(cosigner._otp_send()["status"], "ok")
        token = cosigner.sudo().access_token
        mails = (
            self.env["mail.mail"]
            .sudo()
            .search([("digital_sign_participant_id", "in", doc.participant_ids.ids)])
        )
        self.assertTrue(mails)
        self.assertTrue(any(token in (mail.body_html or "") for mail in mails))
        self.assertFalse(any(mails.mapped("model")))
        for user in (self.user_a, self.agent, self.manager, self.admin):
            with self.subTest(user=user.login):
                ok, found = self.json2(
                    user,
                    "mail.message",
                    "search_read",
                    domain=[("id", "in", mails.mail_message_id.ids)],
                    fields=["body"],
                )
                self.assertTrue(ok, found)
                self.assertEqual(found, [])
                ok, found = self.json2(
                    user,
                    "mail.message",
                    "search_read",
                    domain=[("body", "ilike", token)],
                    fields=["body"],
                )
                self.assertEqual(found, [])
                # The SMS queue is for administrators only.
                ok, found = self.json2(
                    user,
                    "sms.sms",
                    "search_read",
                    domain=[("body", "ilike", token)],
                    fields=["body"],
                )
                self.assertTrue(not ok or found == [] or user == self.admin)

    def test_conversation_link_is_for_the_customer_alone(self):
        ticket = self._create_ticket(name="Call in progress")
        follower = new_test_user(
            self.env,
            login="hd_follower",
            groups="base.group_portal",
            name="Fiona Follower",
            email="fiona@example.com",
        )
        ticket.message_subscribe(partner_ids=(follower.partner_id | self.portal_partner).ids)
        sign_request, action = self._send(ticket, mode="conversation")
        self.assertEqual(action["context"]["default_subtype_xmlid"], "mail.mt_note")
        composer = (
            self.env["mail.compose.message"]
            .with_user(self.agent)
            .with_context(**action["context"])
            .create({})
        )
        composer._action_send_mail()
        message = ticket.message_ids.filtered(lambda m: "/digital_sign/s/" in (m.body or ""))
        self.assertEqual(len(message), 1)
        self.assertTrue(message.subtype_id.internal)
        self.assertEqual(message.partner_ids, self.portal_partner)
        self.assertNotIn(follower.partner_id, message.notification_ids.res_partner_id)
        # The ticket's portal page (its customer and a follower) never shows it.
        for portal in (self.portal_user, follower):
            messages = (
                self.env["mail.message"]
                .with_user(portal)
                .search([("model", "=", "helpdesk.ticket"), ("res_id", "=", ticket.id)])
            )
            self.assertNotIn(message, messages)

    def test_a_page_opened_while_logged_in_says_by_whom(self):
        doc = self.quote_docs[0]
        cosigner = doc.participant_ids[1]
        self.authenticate("sign_user_a", "sign_user_a")
        for _i in range(2):
            response = self.url_open(cosigner._get_signing_path())
            self.assertEqual(response.status_code, 200)
        events = doc.sudo().event_ids.filtered(lambda e: e.event_type == "opened_logged_in")
        self.assertEqual(len(events), 1, "once per session")
        self.assertEqual(events.participant_id, cosigner)
        self.assertIn("Alice Sender (sign_user_a)", events.details)
        self.assertEqual(events.actor_id, self.user_a)
        data = doc._prepare_completion_data()
        row = next(p for p in data.participants if p.name == cosigner.name)
        self.assertEqual(row.logged_in_as, "Alice Sender (sign_user_a)")
        self.assertFalse(next(p for p in data.participants if p.name != cosigner.name).logged_in_as)
        # An anonymous visitor logs nothing of the kind.
        self.logout()
        self.url_open(doc.participant_ids[0]._get_signing_path())
        self.assertEqual(
            len(doc.sudo().event_ids.filtered(lambda e: e.event_type == "opened_logged_in")), 1
        )


@tagged("post_install", "-at_install")
class TestEvidenceFromTheFlowOnly(EvidenceCommon, HttpCase):
    """The final document is built only from evidence the flow wrote."""

    def _forge_signed(self, request, **sql_values):
        """What someone with database access (or a bug) could do: mark a request signed
        without its participants signing through the flow."""
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE digital_sign_participant SET state = 'signed', signed_at = now() "
            "WHERE request_id = %s",
            [request.id],
        )
        self.env.cr.execute(
            "UPDATE digital_sign_request SET state = 'signed', finalize_state = 'pending', "
            "signed_on = now() WHERE id = %s",
            [request.id],
        )
        self.env.invalidate_all()

    def test_finalize_refuses_a_request_whose_signatures_did_not_come_from_the_flow(self):
        request = self.quote_docs[0]
        self._forge_signed(request)
        cron = self.env.ref("digital_sign.ir_cron_finalize_documents")
        cron.method_direct_trigger()
        self.assertRecordValues(
            request, [{"finalize_state": "error", "signed_pdf": False, "seal_state": "none"}]
        )
        self.assertIn("Carl", request.finalize_error)
        self.assertIn(request.reference, request.finalize_error)
        refused = request.sudo().event_ids.filtered(lambda e: e.event_type == "finalize_refused")
        self.assertEqual(len(refused), 1)
        self.assertTrue(request.activity_ids.filtered(lambda a: a.user_id == self.user_a))
        self.assertIsNone(request._check_integrity())

    def test_finalize_refuses_empty_places_and_a_broken_trail(self):
        request = self.ticket_docs[0]
        carl = request.participant_ids[1]
        self._sign_as(carl)
        self.assertEqual(request.state, "signed")
        # A value erased behind the flow's back.
        self.env.flush_all()
        self.env.cr.execute(
            "DELETE FROM ir_attachment WHERE res_model = 'digital.sign.field' AND res_id IN %s",
            [tuple(request.field_ids.ids)],
        )
        self.env.invalidate_all()
        self.assertFalse(request._finalize())
        self.assertEqual(request.finalize_state, "error")
        self.assertIn("is empty", request.finalize_error)
        # And a request whose trail was cut.
        other = self.ticket_docs[1]
        self._sign_as(other.participant_ids[1])
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE digital_sign_event SET details = 'changed' WHERE id = %s",
            [other.sudo().event_ids.sorted("sequence")[2].id],
        )
        self.env.invalidate_all()
        self.assertFalse(other._finalize())
        self.assertIn("audit trail is broken", other.finalize_error)

    def test_signed_by_the_flow_is_finalized(self):
        request = self.quote_docs[1]
        self._sign_as(request.participant_ids[1])
        self.assertTrue(request._finalize())
        self.assertEqual(request.finalize_state, "done")
        digest = hashlib.sha256(
            base64.b64decode(request.sudo().with_context(bin_size=False).signed_pdf)
        ).hexdigest()
        self.assertEqual(digest, request.signed_sha256)

    def test_a_sent_document_is_archived_not_deleted_and_keeps_its_events(self):
        request = self.done_doc
        events = request.sudo().event_ids
        with self.assertRaises(Exception):  # noqa: B017 - whichever layer refuses
            with self.env.cr.savepoint():
                request.with_user(self.manager).unlink()
        request.with_user(self.user_a).action_archive()
        self.assertFalse(request.active)
        self.assertEqual(request.sudo().event_ids, events)
        with self.assertRaises(Exception):  # noqa: B017 - the database refuses a cascade on events
            with self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
                self.env.cr.execute("DELETE FROM digital_sign_request WHERE id = %s", [request.id])
        # A draft that was never sent goes, with its own events.
        draft = self._create_request(name="Never sent", user=self.user_a)
        draft.with_user(self.user_a).unlink()
        self.assertFalse(draft.exists())
        # An open document must be cancelled before it is archived.
        with self.assertRaises(Exception):  # noqa: B017 - whichever layer refuses
            self.quote_docs[0].with_user(self.user_a).action_archive()

    def test_reset_to_draft_never_erases_a_signature(self):
        request = self.quote_docs[0]
        self.env["digital.sign.request.cancel"].with_user(self.user_a).create(
            {"request_ids": request.ids, "reason": "Wrong price"}
        ).action_cancel()
        self.assertEqual(request.state, "cancelled")
        with self.assertRaisesRegex(Exception, "never erased"):
            request.with_user(self.user_a).action_reset_to_draft()
        self.assertEqual(request.participant_ids[0].state, "signed")


@tagged("post_install", "-at_install")
class TestFlowAsUsers(EvidenceCommon, HttpCase):
    """The flow itself still works for the people who use it: every backend step, run as
    the salesperson and the agent (not the superuser)."""

    def test_salesperson_runs_the_whole_backend_flow(self):
        Request = self.env["digital.sign.request"].with_user(self.user_a)
        request = Request.create(
            {
                "name": "Flow as Alice",
                "partner_id": self.customer.id,
                "original_pdf": b64(self.pdf_two_roles),
                "original_filename": "c.pdf",
                "participant_ids": [
                    Command.create(person("Ingrid", "Customer")),
                    Command.create(person("Carl", "Cosigner")),
                ],
            }
        )
        action = request.action_count_signatures()
        self.assertTrue(action)
        self.assertEqual(len(request.field_ids), 3)
        self.assertTrue(all(request.field_ids.mapped("participant_id")))
        data = (
            self.env["digital.sign.field"]
            .with_user(self.user_a)
            .save_places_editor_data(
                request.id,
                {
                    "create": [
                        {
                            "page": 1,
                            "kind": "text",
                            "x0": 72,
                            "y0": 100,
                            "width": 100,
                            "height": 20,
                            "participant_id": request.participant_ids[0].id,
                        }
                    ]
                },
            )
        )
        self.assertEqual(len(data["places"]), 4)
        self.assertEqual(request.field_ids.filtered(lambda f: f.kind == "text").source, "manual")
        request.action_detect_fields()
        request.participant_ids[1].email = "carl.cosigner@example.com"
        request.action_send()
        self.assertEqual(request.state, "sent")
        self.assertEqual(set(request.participant_ids.mapped("state")), {"sent"})
        # Re-engage a participant, extend the deadline, check the status.
        wizard = (
            self.env["digital.sign.participant.reengage"]
            .with_user(self.user_a)
            .create(
                {"participant_id": request.participant_ids[1].id, "email": "carl@elsewhere.example"}
            )
        )
        wizard.action_reengage()
        self.assertEqual(request.participant_ids[1].email, "carl@elsewhere.example")
        request.deadline = fields.Datetime.now() + timedelta(days=60)
        self.assertTrue(
            request.sudo().event_ids.filtered(lambda e: e.event_type == "deadline_changed")
        )
        request.action_check_status()
        # Cancel, reset and send again.
        self.env["digital.sign.request.cancel"].with_user(self.user_a).create(
            {"request_ids": request.ids, "reason": "New price"}
        ).action_cancel()
        self.assertEqual(request.state, "cancelled")
        request.action_reset_to_draft()
        self.assertEqual(request.state, "draft")
        request.name = "Flow as Alice, second round"
        request.action_send()
        self.assertEqual(request.state, "sent")
        request.action_verify_integrity()
        self.assertIsNone(request._check_integrity())

    def test_agent_sends_from_a_ticket_and_the_signature_is_finalized(self):
        ticket = self._create_ticket(name="Flow as Hanna")
        sign_request, _action = self._send(ticket, name="Repair quote")
        self.assertEqual(sign_request.state, "sent")
        self.assertEqual(sign_request.user_id, self.agent)
        self._sign(sign_request)
        self.finalize_cron.method_direct_trigger()
        self.assertEqual(sign_request.finalize_state, "done")
        self.assertEqual(ticket.digital_sign_state, "signed")
