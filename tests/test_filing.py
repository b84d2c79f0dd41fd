"""Filing signed copies in OCA dms folders, and sending them to more people (issue 14 §3).

Every document here goes through the real flow: sent, signed on the participant's behalf
through ``_submit``, then finalised (built, sealed, distributed) as the scheduled action
does. Folders are dms folders whose access groups say who may browse them."""

import base64
import hashlib
import json
from datetime import datetime, timedelta
from unittest.mock import patch
from xmlrpc.client import Fault

from psycopg2.errors import UniqueViolation

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.base.models.ir_mail_server import MailDeliveryException
from odoo.addons.mail.tests.common import MockEmail

from .common import DigitalSignHelpdeskCommon, signature_data_url
from .test_evidence import ExternalApiMixin

PNG_SIGNATURE = signature_data_url()

BOUNCE = """\
From: MAILER-DAEMON@mx.example.net
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-Id: <bounce-{nonce}@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
    boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

The mail system: <{recipient}>: host mx.example.com said: 550 5.1.1 mailbox unknown

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1

--BOUNDARY
Content-Type: text/rfc822-headers

Message-Id: {message_id}
Subject: Signed: Contract
To: {recipient}

--BOUNDARY--
"""


class FilingCommon(DigitalSignHelpdeskCommon, MockEmail):
    """A dms storage with folders; the sales folder is browsable by one access group (the
    archivist), not by the salespeople who own the documents."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.archivist = new_test_user(
            cls.env,
            login="dms_archivist",
            groups="dms.group_dms_user",
            name="Astrid Archivist",
            email="astrid@example.com",
        )
        cls.access_group = cls.env["dms.access.group"].create(
            {
                "name": "Signed documents (tests)",
                "explicit_user_ids": [Command.set(cls.archivist.ids)],
            }
        )
        cls.storage = cls.env["dms.storage"].create(
            {"name": "Signed documents (tests)", "save_type": "database"}
        )
        cls.root = cls.env["dms.directory"].create(
            {
                "name": "Signed",
                "is_root_directory": True,
                "storage_id": cls.storage.id,
                "group_ids": [Command.set(cls.access_group.ids)],
            }
        )
        Directory = cls.env["dms.directory"]
        cls.dir_quotes = Directory.create({"name": "Quotes", "parent_id": cls.root.id})
        cls.dir_tickets = Directory.create({"name": "Tickets", "parent_id": cls.root.id})
        cls.dir_other = Directory.create({"name": "Other", "parent_id": cls.root.id})
        cls.dir_acme = Directory.create({"name": "Acme", "parent_id": cls.root.id})
        cls.acme = cls.env["res.partner"].create({"name": "Acme AB", "is_company": True})
        cls.acme_contact = cls.env["res.partner"].create(
            {"name": "Anna Acme", "email": "anna@acme.example", "parent_id": cls.acme.id}
        )
        cls.Rule = cls.env["digital.sign.filing.rule"]
        cls.finalize_cron = cls.env.ref("digital_sign.ir_cron_finalize_documents")

    # === the flow === #
    def _signed(self, user=None, partner=None, **values):
        """A document owned by ``user`` (salesperson A), sent and signed by its customer;
        its final document is pending."""
        partner = partner or self.customer
        request = self._create_request(
            user_id=(user or self.user_a).id,
            partner_id=partner.id,
            participants=[
                {
                    "partner_id": partner.id,
                    "name": partner.name,
                    "email": partner.email,
                    "role": "Customer",
                }
            ],
            **values,
        )
        request.action_send()
        participant = request.participant_ids
        mine = request.field_ids.filtered(lambda f: f.participant_id == participant)
        result = participant._submit(
            {str(f.id): PNG_SIGNATURE for f in mine if f.kind in ("signature", "initials")},
            True,
            request.original_sha256,
            ip="198.51.100.21",
            user_agent="FilingTest/1.0",
        )
        self.assertEqual(result["status"], "ok", result)
        self.assertEqual(request.finalize_state, "pending")
        return request

    def _finalized(self, **values):
        request = self._signed(**values)
        self.assertTrue(request._finalize(), request.finalize_error)
        self.assertEqual(request.finalize_state, "done")
        return request

    def _events(self, request, event_type):
        return request.sudo().event_ids.filtered(lambda e: e.event_type == event_type)

    def _signed_bytes(self, request):
        return base64.b64decode(request.sudo().with_context(bin_size=False).signed_pdf)

    def _files_in(self, directory):
        return self.env["dms.file"].sudo().search([("directory_id", "child_of", directory.id)])


@tagged("post_install", "-at_install")
class TestFilingRules(FilingCommon):
    def test_rules_match_by_kind_team_helpdesk_team_and_customer(self):
        ticket_b = self._create_ticket(team=self.hd_team_b, name="Other team's ticket")
        rules = self.Rule.create(
            [
                {
                    "name": "Acme's documents",
                    "sequence": 1,
                    "partner_id": self.acme.id,
                    "directory_id": self.dir_acme.id,
                },
                {
                    "name": "Team B's tickets",
                    "sequence": 5,
                    "document_kind": "ticket",
                    "helpdesk_team_id": self.hd_team_b.id,
                    "directory_id": self.dir_other.id,
                },
                {
                    "name": "Tickets",
                    "sequence": 10,
                    "document_kind": "ticket",
                    "directory_id": self.dir_tickets.id,
                },
                {
                    "name": "Team A's quotes",
                    "sequence": 20,
                    "document_kind": "quote",
                    "team_id": self.team_a.id,
                    "directory_id": self.dir_quotes.id,
                },
                {"name": "Everything else", "sequence": 90, "directory_id": self.dir_other.id},
                {
                    "name": "Archived, would match first",
                    "sequence": 0,
                    "active": False,
                    "directory_id": self.dir_quotes.id,
                },
            ]
        )
        acme, team_b_tickets, tickets, team_a_quotes, other, _archived = rules

        def first(request):
            return self.Rule._get_matching(request)[:1]

        quote_a = self._create_request(
            name="Quote A", team_id=self.team_a.id, document_kind="quote"
        )
        upsell_a = self._create_request(
            name="Upsell A", team_id=self.team_a.id, document_kind="upsell"
        )
        quote_b = self._create_request(
            name="Quote B", team_id=self.team_b.id, document_kind="quote"
        )
        ticket = self._create_ticket()
        ticket_doc = self._create_request(
            name="Ticket doc",
            res_model="helpdesk.ticket",
            res_id=ticket.id,
            helpdesk_team_id=self.hd_team.id,
        )
        ticket_b_doc = self._create_request(
            name="Team B ticket doc",
            res_model="helpdesk.ticket",
            res_id=ticket_b.id,
            helpdesk_team_id=self.hd_team_b.id,
        )
        # A contact of Acme (commercial entity), in team A: the customer rule comes first.
        acme_quote = self._create_request(
            name="Acme quote",
            team_id=self.team_a.id,
            document_kind="quote",
            partner_id=self.acme_contact.id,
        )
        self.assertEqual(first(quote_a), team_a_quotes)
        self.assertEqual(first(upsell_a), other, "another kind: not the quotes' rule")
        self.assertEqual(first(quote_b), other, "another sales team: not the team A rule")
        self.assertEqual(ticket_doc._get_rule_kind(), "ticket")
        self.assertEqual(first(ticket_doc), tickets)
        self.assertEqual(first(ticket_b_doc), team_b_tickets)
        self.assertEqual(first(acme_quote), acme)
        # A quotation's document without a kind is a quote.
        order = self.env["sale.order"].create({"partner_id": self.customer.id})
        order_doc = self._create_request(
            name="Order doc", res_model="sale.order", res_id=order.id, team_id=self.team_a.id
        )
        self.assertEqual(order_doc._get_rule_kind(), "quote")
        self.assertEqual(first(order_doc), team_a_quotes)
        # Another company's rules never apply.
        other_company = self.env["res.company"].create({"name": "Other company"})
        other_company_rule = self.Rule.create(
            {
                "name": "Other company's",
                "sequence": 0,
                "company_id": other_company.id,
                "directory_id": self.env["dms.directory"]
                .create(
                    {
                        "name": "Other company's",
                        "is_root_directory": True,
                        "storage_id": self.env["dms.storage"]
                        .create({"name": "Theirs", "company_id": other_company.id})
                        .id,
                    }
                )
                .id,
            }
        )
        self.assertNotIn(other_company_rule, self.Rule._get_matching(quote_a))

    def test_signed_copy_filed_in_the_customer_subfolder_with_its_exact_bytes(self):
        rule = self.Rule.create(
            {
                "name": "Team A's quotes",
                "team_id": self.team_a.id,
                "directory_id": self.dir_quotes.id,
                "customer_subfolder": True,
            }
        )
        request = self._finalized(team_id=self.team_a.id, document_kind="quote")
        self.assertEqual(request.state, "signed")
        self.assertEqual(request.filing_state, "filed")
        dms_file = request.sudo().filed_file_ids
        self.assertEqual(len(dms_file), 1)
        subfolder = dms_file.directory_id
        self.assertEqual(subfolder.parent_id, self.dir_quotes)
        self.assertEqual(subfolder.name, self.customer.name)
        self.assertEqual((subfolder.res_model, subfolder.res_id), ("res.partner", self.customer.id))
        self.assertEqual(subfolder.complete_name, "Signed / Quotes / Ingrid Customer")
        self.assertEqual(dms_file.name, request.signed_filename)
        content = base64.b64decode(dms_file.with_context(bin_size=False).content)
        self.assertEqual(content, self._signed_bytes(request))
        self.assertEqual(hashlib.sha256(content).hexdigest(), request.signed_sha256)
        self.assertEqual(dms_file.mimetype, "application/pdf")
        # the audit trail says where, by which rule, and the filed bytes' hash
        filed = self._events(request, "filed")
        self.assertEqual(len(filed), 1)
        details = json.loads(filed.details)
        self.assertEqual(details["folder"], "Signed / Quotes / Ingrid Customer")
        self.assertEqual(details["rule"], rule.name)
        self.assertEqual(details["sha256"], request.signed_sha256)
        self.assertIn("folder: Signed / Quotes / Ingrid Customer", filed.summary)
        # The customer's next document goes to the same sub-folder; another customer of the
        # same name gets one of their own.
        second = self._finalized(team_id=self.team_a.id, name="Second contract")
        self.assertEqual(second.sudo().filed_file_ids.directory_id, subfolder)
        namesake = self.env["res.partner"].create(
            {"name": self.customer.name, "email": "other.ingrid@example.com"}
        )
        third = self._finalized(team_id=self.team_a.id, name="Namesake", partner=namesake)
        other_folder = third.sudo().filed_file_ids.directory_id
        self.assertNotEqual(other_folder, subfolder)
        self.assertEqual(other_folder.parent_id, self.dir_quotes)
        self.assertEqual(other_folder.res_id, namesake.id)
        self.assertEqual(self.dir_quotes.sudo().count_directories, 2)

    def test_filing_happens_once_whatever_reruns(self):
        self.Rule.create({"name": "All", "directory_id": self.dir_other.id})
        request = self._finalized()
        self.assertEqual(len(self._files_in(self.dir_other)), 1)
        # the final step again (a replay), the scheduled action, filing by hand
        self.assertFalse(request._finalize(), "already final: nothing to do")
        self.finalize_cron.method_direct_trigger()
        request._file_signed_copy()
        request.with_user(self.user_a).action_file_signed_copy()
        request.invalidate_recordset()
        self.assertEqual(len(self._files_in(self.dir_other)), 1)
        self.assertEqual(len(request.sudo().filed_file_ids), 1)
        self.assertEqual(len(self._events(request, "filed")), 1)
        # a failure in a later step of the final document rolls the filing back with it,
        # and the retry files once
        other = self._signed(name="Rolled back")
        with (
            patch.object(type(other), "_on_signed", side_effect=RuntimeError("linked record")),
            mute_logger("odoo.addons.digital_sign.models.digital_sign_request"),
        ):
            self.assertFalse(other._finalize_safely())
        self.assertEqual(other.finalize_state, "pending")
        self.assertEqual(other.filing_state, "none")
        self.assertEqual(len(self._files_in(self.dir_other)), 1)
        self.assertTrue(other._finalize_safely())
        self.assertEqual(len(self._files_in(self.dir_other)), 2)
        self.assertEqual(len(self._events(other, "filed")), 1)

    def test_no_rule_then_a_rule_added_files_by_hand(self):
        request = self._finalized()
        self.assertEqual(request.filing_state, "no_rule")
        self.assertFalse(self._events(request, "filed"))
        with self.assertRaises(UserError):
            request.with_user(self.user_a).action_file_signed_copy()
        self.Rule.create({"name": "All", "directory_id": self.dir_other.id})
        request.with_user(self.user_a).action_file_signed_copy()
        self.assertEqual(request.filing_state, "filed")
        # a document not signed yet cannot be filed
        pending = self._signed(name="Pending")
        with self.assertRaises(UserError):
            pending.with_user(self.user_a).action_file_signed_copy()

    @mute_logger("odoo.addons.digital_sign.models.digital_sign_request_filing")
    def test_a_failed_filing_leaves_the_document_signed_and_is_logged(self):
        folder = self.env["dms.directory"].create({"name": "Doomed", "parent_id": self.root.id})
        rule = self.Rule.create(
            {"name": "Doomed folder", "directory_id": folder.id, "customer_subfolder": True}
        )
        folder.unlink()  # someone deletes the folder in the Documents app
        self.assertFalse(rule.directory_id)
        request = self._finalized()
        self.assertEqual(request.state, "signed")
        self.assertEqual(request.finalize_state, "done")
        self.assertEqual(
            hashlib.sha256(self._signed_bytes(request)).hexdigest(), request.signed_sha256
        )
        self.assertEqual(request.filing_state, "failed")
        self.assertIn("Doomed folder", request.filing_error)
        self.assertIn("no folder", request.filing_error)
        failed = self._events(request, "filing_failed")
        self.assertEqual(len(failed), 1)
        self.assertIn("Doomed folder", failed.details)
        self.assertFalse(request.sudo().filed_file_ids)
        activity = request.activity_ids.filtered(lambda a: a.user_id == self.user_a)
        self.assertEqual(len(activity), 1)
        self.assertIn("filing failed", activity.summary)
        # the participants still got the signed document
        self.assertTrue(
            self.env["mail.mail"]
            .sudo()
            .search([("digital_sign_participant_id", "=", request.participant_ids.id)])
            .filtered(lambda m: m.digital_sign_purpose == "signed_document")
        )
        # the manager sets a folder; the owner files it again (no right on dms needed)
        rule.directory_id = self.dir_other
        request.with_user(self.user_a).action_file_signed_copy()
        self.assertEqual(request.filing_state, "filed")
        self.assertFalse(request.filing_error)
        self.assertEqual(request.sudo().filed_file_ids.directory_id.parent_id, self.dir_other)
        self.assertEqual(len(self._events(request, "filed")), 1)

    @mute_logger("odoo.addons.digital_sign.models.digital_sign_request_filing")
    def test_dms_refusing_the_file_rolls_back_the_filing_alone(self):
        self.Rule.create(
            {"name": "All", "directory_id": self.dir_other.id, "customer_subfolder": True}
        )
        self.env["ir.config_parameter"].sudo().set_param("dms.binary_max_size", 0)
        request = self._finalized()
        self.assertEqual(request.state, "signed")
        self.assertEqual(request.filing_state, "failed")
        self.assertIn("maximum upload size", request.filing_error)
        self.assertFalse(self._files_in(self.dir_other))
        self.assertFalse(self.dir_other.sudo().child_directory_ids, "the sub-folder too")
        self.assertEqual(len(self._events(request, "filing_failed")), 1)
        self.assertEqual(len(self._events(request, "finalized")), 1)

    def test_rule_folder_of_another_company_or_of_attachments_is_refused(self):
        other_company = self.env["res.company"].create({"name": "Other company"})
        foreign = self.env["dms.directory"].create(
            {
                "name": "Foreign",
                "is_root_directory": True,
                "storage_id": self.env["dms.storage"]
                .create({"name": "Foreign", "company_id": other_company.id})
                .id,
            }
        )
        with self.assertRaisesRegex(ValidationError, "another company"):
            self.Rule.create({"name": "Foreign", "directory_id": foreign.id})
        attachments = self.env["dms.storage"].create(
            {
                "name": "Attachments",
                "save_type": "attachment",
                "model_ids": [Command.set(self.env.ref("base.model_res_partner").ids)],
            }
        )
        records = self.env["dms.directory"].create(
            {
                "name": "Partners",
                "is_root_directory": True,
                "storage_id": attachments.id,
                "model_id": self.env.ref("base.model_res_partner").id,
            }
        )
        with self.assertRaisesRegex(ValidationError, "attachments of records"):
            self.Rule.create({"name": "Attachments", "directory_id": records.id})

    def test_dms_access_groups_decide_who_reads_the_filed_copy(self):
        self.Rule.create({"name": "All", "directory_id": self.dir_other.id})
        request = self._finalized()
        dms_file = request.sudo().filed_file_ids
        self.assertTrue(dms_file)
        # The owner (a salesperson without access to the folder) sees no filed copy...
        owner_request = request.with_user(self.user_a)
        self.assertEqual(owner_request.filed_file_count, 0)
        self.assertFalse(
            self.env["dms.file"].with_user(self.user_a).search([("id", "=", dms_file.id)])
        )
        with self.assertRaises(AccessError), mute_logger("odoo.models"):
            dms_file.with_user(self.user_a).read(["name", "content"])
        with self.assertRaises(UserError):
            owner_request.action_open_filed_copy()
        # ... the folder's access group does.
        self.assertEqual(
            dms_file.with_user(self.archivist).read(["name"])[0]["name"], dms_file.name
        )
        # A member of the group who may also read the document gets the smart button.
        self.user_a.group_ids = [Command.link(self.env.ref("dms.group_dms_user").id)]
        self.access_group.explicit_user_ids = [Command.link(self.user_a.id)]
        self.env.flush_all()  # dms checks its access groups in SQL
        owner_request.invalidate_recordset(["filed_file_count"])
        self.assertEqual(owner_request.filed_file_count, 1)
        action = owner_request.action_open_filed_copy()
        self.assertEqual((action["res_model"], action["res_id"]), ("dms.file", dms_file.id))


@tagged("post_install", "-at_install")
class TestOutboundCopies(FilingCommon):
    def _attachment(self, user, name, data):
        return (
            self.env["ir.attachment"]
            .with_user(user)
            .create(
                {"name": name, "raw": data, "res_model": "res.partner", "res_id": self.customer.id}
            )
        )

    def _copy_mails(self, request):
        return (
            self.env["mail.mail"]
            .sudo()
            .search(
                [("digital_sign_copy_recipient_id", "in", request.sudo().copy_recipient_ids.ids)]
            )
        )

    def test_sender_recipient_gets_the_copy_with_text_and_attachments(self):
        terms = self._attachment(self.user_a, "terms.txt", b"General terms of sale")
        draft = self._create_request(name="With copies", user=self.user_a)
        recipient = (
            self.env["digital.sign.copy.recipient"]
            .with_user(self.user_a)
            .create(
                {
                    "request_id": draft.id,
                    "partner_id": self.cosigner.id,
                    "message": "<p>Welcome aboard: here is your contract.</p>",
                    "attachment_ids": [Command.set(terms.ids)],
                }
            )
        )
        self.assertEqual(recipient.email, "carl@example.com", "the contact's address")
        self.assertEqual(recipient.state, "pending")
        draft.action_send()
        participant = draft.participant_ids
        mine = draft.field_ids.filtered(lambda f: f.participant_id == participant)
        participant._submit(
            {str(f.id): PNG_SIGNATURE for f in mine if f.kind == "signature"},
            True,
            draft.original_sha256,
        )
        self.assertTrue(draft._finalize())
        self.assertEqual(recipient.state, "queued")
        self.assertTrue(recipient.message_id)
        self.assertEqual(len(self._events(draft, "copy_queued")), 1)
        mail = self._copy_mails(draft)
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.email_to, "carl@example.com")
        with self.mock_mail_gateway():
            mail.send()
        sent = self._find_sent_email_wemail("carl@example.com")
        self.assertIn("Welcome aboard: here is your contract.", sent["body"])
        self.assertIn("With copies", sent["subject"])
        files = {name: content for name, content, _mimetype in sent["attachments"]}
        self.assertEqual(set(files), {draft.signed_filename, "terms.txt"})
        self.assertEqual(files[draft.signed_filename], self._signed_bytes(draft))
        self.assertEqual(files["terms.txt"], b"General terms of sale")
        self.assertEqual(recipient.state, "sent")
        self.assertTrue(recipient.sent_at)
        event = self._events(draft, "copy_sent")
        self.assertEqual(len(event), 1)
        self.assertEqual(event.channel, "email")
        self.assertIn("c•••l@example.com", event.details)
        # the original attachment is untouched by the mail queue's clean-up
        self.assertTrue(terms.exists())

    def test_rule_recipients_and_exactly_one_mail_each(self):
        accounting = self.env["res.partner"].create(
            {"name": "Accounting", "email": "Accounting <accounting@example.com>"}
        )
        pack = self.env["ir.attachment"].create({"name": "welcome.txt", "raw": b"Welcome pack"})
        rule = self.env["digital.sign.outbound.rule"].create(
            {
                "name": "Team A's signed documents",
                "team_id": self.team_a.id,
                "recipient_partner_ids": [Command.set(accounting.ids)],
                # the sender's recipient and the participant are not mailed twice
                "recipient_emails": "archive@example.com, CARL@example.com, ingrid@example.com",
                "message": "<p>For the archive.</p>",
                "attachment_ids": [Command.set(pack.ids)],
            }
        )
        self.env["digital.sign.outbound.rule"].create(
            {"name": "Team B only", "team_id": self.team_b.id, "recipient_emails": "b@example.com"}
        )
        request = self._create_request(
            name="Team A contract",
            team_id=self.team_a.id,
            user=self.user_a,
            copy_recipient_ids=[Command.create({"email": "carl@example.com"})],
        )
        request.action_send()
        participant = request.participant_ids
        mine = request.field_ids.filtered(lambda f: f.participant_id == participant)
        participant._submit(
            {str(f.id): PNG_SIGNATURE for f in mine if f.kind == "signature"},
            True,
            request.original_sha256,
        )
        self.assertTrue(request._finalize())
        recipients = request.sudo().copy_recipient_ids
        self.assertEqual(
            sorted(recipients.mapped("email")),
            ["accounting@example.com", "archive@example.com", "carl@example.com"],
        )
        by_email = {r.email: r for r in recipients}
        self.assertEqual(by_email["carl@example.com"].source, "sender")
        self.assertEqual(by_email["archive@example.com"].outbound_rule_id, rule)
        self.assertEqual(by_email["accounting@example.com"].partner_id, accounting)
        self.assertEqual(by_email["archive@example.com"].attachment_ids, pack)
        self.assertEqual(set(recipients.mapped("state")), {"queued"})
        # reruns: the final step, the scheduled action, the distribution itself
        self.assertFalse(request._finalize())
        self.finalize_cron.method_direct_trigger()
        request._send_signed_copies(self.env["ir.attachment"])
        mails = self._copy_mails(request)
        self.assertEqual(len(mails), 3)
        self.assertEqual(
            sorted(mails.mapped("email_to")),
            ["accounting@example.com", "archive@example.com", "carl@example.com"],
        )
        self.assertEqual(len(self._events(request, "copy_queued")), 3)
        with self.mock_mail_gateway():
            mails.send()
            mails.send()  # a second run of the mail queue
        self.assertEqual(len(self._mails), 3)
        archive = self._find_sent_email_wemail("archive@example.com")
        self.assertIn("For the archive.", archive["body"])
        self.assertIn("welcome.txt", [name for name, _c, _m in archive["attachments"]])
        self.assertEqual(set(recipients.mapped("state")), {"sent"})
        self.assertEqual(len(self._events(request, "copy_sent")), 3)

    @mute_logger("odoo.addons.mail.models.mail_thread", "odoo.addons.mail.models.mail_mail")
    def test_bounce_is_recorded_once_and_the_owner_told(self):
        request = self._create_request(
            name="Bouncing",
            user=self.user_a,
            copy_recipient_ids=[Command.create({"email": "nobody@example.com"})],
        )
        request.action_send()
        participant = request.participant_ids
        mine = request.field_ids.filtered(lambda f: f.participant_id == participant)
        participant._submit(
            {str(f.id): PNG_SIGNATURE for f in mine if f.kind == "signature"},
            True,
            request.original_sha256,
        )
        self.assertTrue(request._finalize())
        recipient = request.sudo().copy_recipient_ids
        mail = self._copy_mails(request)
        with self.mock_mail_gateway(mail_unlink_sent=True):
            mail.send()
        self.assertEqual(recipient.state, "sent")
        self.assertFalse(mail.exists(), "sent and deleted by the mail queue")
        sent = self._find_sent_email_wemail("nobody@example.com")
        self.assertEqual(sent["message_id"], recipient.message_id)
        bounce = BOUNCE.format(
            to="bounce.test@test.mycompany.com",
            nonce="1",
            recipient="nobody@example.com",
            message_id=recipient.message_id,
        )
        self.env["mail.thread"].sudo().message_process(False, bounce)
        self.assertEqual(recipient.state, "bounced")
        self.assertTrue(recipient.bounced_at)
        self.assertIn("mailbox unknown", recipient.failure_reason)
        bounced = self._events(request, "copy_bounced")
        self.assertEqual(len(bounced), 1)
        self.assertIn("mailbox unknown", bounced.details)
        activity = request.activity_ids.filtered(lambda a: a.user_id == self.user_a)
        self.assertIn("bounced", activity.summary)
        # the same bounce again, or one for another address, changes nothing
        self.env["mail.thread"].sudo().message_process(
            False, bounce.replace("bounce-1@", "bounce-2@")
        )
        self.env["mail.thread"].sudo().message_process(
            False,
            BOUNCE.format(
                to="bounce.test@test.mycompany.com",
                nonce="3",
                recipient="someone.else@example.com",
                message_id=recipient.message_id,
            ),
        )
        self.assertEqual(len(self._events(request, "copy_bounced")), 1)
        self.assertEqual(len(request.activity_ids.filtered(lambda a: a.user_id == self.user_a)), 1)

    @mute_logger("odoo.addons.mail.models.mail_mail")
    def test_a_mail_server_failure_is_recorded(self):
        request = self._create_request(
            name="Server down",
            user=self.user_a,
            copy_recipient_ids=[Command.create({"email": "later@example.com"})],
        )
        request.action_send()
        participant = request.participant_ids
        mine = request.field_ids.filtered(lambda f: f.participant_id == participant)
        participant._submit(
            {str(f.id): PNG_SIGNATURE for f in mine if f.kind == "signature"},
            True,
            request.original_sha256,
        )
        self.assertTrue(request._finalize())
        recipient = request.sudo().copy_recipient_ids
        mail = self._copy_mails(request)
        with (
            self.mock_mail_gateway(),
            patch(
                "odoo.addons.base.models.ir_mail_server.IrMail_Server.send_email",
                side_effect=MailDeliveryException("Connection refused"),
            ),
        ):
            mail.send(raise_exception=False)
        self.assertEqual(recipient.state, "failed")
        self.assertTrue(recipient.failure_reason)
        self.assertEqual(len(self._events(request, "copy_failed")), 1)
        # the administrator retries it from the mail queue
        with self.mock_mail_gateway():
            mail.mark_outgoing()
            mail.send()
        self.assertEqual(recipient.state, "sent")
        self.assertEqual(len(self._events(request, "copy_sent")), 1)

    def test_recipients_are_checked(self):
        request = self._create_request(name="Checked", user=self.user_a)
        Recipient = self.env["digital.sign.copy.recipient"].with_user(self.user_a)
        # a file the salesperson cannot read (on a teammate's document of another team) is
        # never mailed out in their name
        theirs = self._create_request(name="Theirs", user=self.user_b)
        secret = self.env["ir.attachment"].create(
            {
                "name": "salaries.txt",
                "raw": b"secret",
                "res_model": theirs._name,
                "res_id": theirs.id,
            }
        )
        self.assertFalse(secret.with_user(self.user_a).has_access("read"))
        with self.assertRaises(AccessError), mute_logger("odoo.models"):
            Recipient.create(
                {
                    "request_id": request.id,
                    "email": "x@example.com",
                    "attachment_ids": [Command.set(secret.ids)],
                }
            )
        with self.assertRaisesRegex(ValidationError, "Not an e-mail address"):
            Recipient.create({"request_id": request.id, "email": "not an address"})
        with self.assertRaisesRegex(ValidationError, "needs an e-mail address"):
            Recipient.create({"request_id": request.id})
        Recipient.create({"request_id": request.id, "email": "Twice@Example.com"})
        with self.assertRaises(UniqueViolation), mute_logger("odoo.sql_db"):
            Recipient.create({"request_id": request.id, "email": "twice@example.com"})

    def test_closed_document_recipients_are_frozen(self):
        request = self._finalized()
        Recipient = self.env["digital.sign.copy.recipient"].with_user(self.user_a)
        with self.assertRaisesRegex(UserError, "while the document is open"):
            Recipient.create({"request_id": request.id, "email": "late@example.com"})


@tagged("post_install", "-at_install")
class TestFilingEvidence(ExternalApiMixin, FilingCommon, HttpCase):
    """The filing's outcome and each delivery's fate are written by the flow only: the
    salesperson who owns the document cannot forge them through the external API."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Rule.create({"name": "All", "directory_id": cls.dir_other.id})
        cls.other_file = cls.env["dms.file"].create(
            {
                "name": "forged.pdf",
                "directory_id": cls.dir_quotes.id,
                "content": base64.b64encode(b"%PDF-1.4 forged"),
            }
        )
        cls.keys = {
            user: user.with_user(user)
            .env["res.users.apikeys"]
            ._generate(
                scope="rpc",
                name="filing tests",
                expiration_date=datetime.now() + timedelta(days=1),
            )
            for user in (cls.user_a, cls.manager)
        }

    def setUp(self):
        super().setUp()
        self.done = self._create_request(
            name="Done",
            user=self.user_a,
            copy_recipient_ids=[Command.create({"email": "copy@example.com"})],
        )
        self.done.action_send()
        participant = self.done.participant_ids
        mine = self.done.field_ids.filtered(lambda f: f.participant_id == participant)
        participant._submit(
            {str(f.id): PNG_SIGNATURE for f in mine if f.kind == "signature"},
            True,
            self.done.original_sha256,
        )
        self.assertTrue(self.done._finalize())
        self.assertEqual(self.done.filing_state, "filed")
        self.draft = self._create_request(
            name="Draft",
            user=self.user_a,
            copy_recipient_ids=[Command.create({"email": "d@example.com"})],
        )

    def snapshot(self):
        requests = (self.done | self.draft).sudo()
        requests.invalidate_recordset()
        recipients = requests.copy_recipient_ids
        recipients.invalidate_recordset()
        names = sorted(recipients._evidence_levels())
        return {
            "requests": [(r.filing_state, r.filing_error, r.filed_file_ids.ids) for r in requests],
            "recipients": [{n: str(r[n]) for n in names} for r in recipients],
            "events": len(requests.event_ids),
        }

    def refused(self, user, model, method, **params):
        with mute_logger("odoo.http", "odoo.addons.rpc.controllers.json2"):
            ok, body = self.json2(user, model, method, **params)
        self.assertFalse(ok, f"{user.login} could {model}.{method}({params})")
        self.assertRegex(body["name"], r"odoo\.exceptions\.(AccessError|UserError|ValidationError)")
        return body["message"]

    def test_salesperson_cannot_forge_the_filing_or_a_delivery(self):
        before = self.snapshot()
        flow = "only the signing flow writes them"
        done_recipient = self.done.sudo().copy_recipient_ids
        draft_recipient = self.draft.sudo().copy_recipient_ids
        for vals in (
            {"filing_state": "filed"},
            {"filing_state": "failed"},
            {"filing_error": "forged"},
            {"filed_file_ids": [[6, 0, self.other_file.ids]]},
            {"filed_file_ids": [[3, self.done.sudo().filed_file_ids.id]]},
        ):
            for request in (self.done, self.draft):
                with self.subTest(vals=vals, request=request.name):
                    message = self.refused(
                        self.user_a, "digital.sign.request", "write", ids=request.ids, vals=vals
                    )
                    self.assertIn(flow, message)
        for vals in (
            {"state": "sent"},
            {"state": "pending"},
            {"message_id": "<forged@example.com>"},
            {"sent_at": "2031-01-01 10:00:00"},
            {"bounced_at": "2031-01-01 10:00:00"},
            {"queued_at": "2031-01-01 10:00:00"},
            {"failure_reason": "forged"},
            {"source": "rule"},
            {"request_id": self.done.id},
        ):
            for recipient in (done_recipient, draft_recipient):
                with self.subTest(vals=vals, recipient=recipient.email):
                    message = self.refused(
                        self.user_a,
                        "digital.sign.copy.recipient",
                        "write",
                        ids=recipient.ids,
                        vals=vals,
                    )
                    self.assertIn(flow, message)
        # a closed document's recipients stay as they went out
        message = self.refused(
            self.user_a,
            "digital.sign.copy.recipient",
            "write",
            ids=done_recipient.ids,
            vals={"email": "elsewhere@example.com"},
        )
        self.assertIn("closed", message)
        self.refused(self.user_a, "digital.sign.copy.recipient", "unlink", ids=done_recipient.ids)
        self.refused(
            self.user_a,
            "digital.sign.copy.recipient",
            "create",
            vals_list=[{"request_id": self.done.id, "email": "late@example.com"}],
        )
        self.refused(
            self.user_a,
            "digital.sign.copy.recipient",
            "create",
            vals_list=[{"request_id": self.draft.id, "email": "x@example.com", "state": "sent"}],
        )
        # through the document's one2many, too
        self.refused(
            self.user_a,
            "digital.sign.request",
            "write",
            ids=self.draft.ids,
            vals={"copy_recipient_ids": [[1, draft_recipient.id, {"state": "bounced"}]]},
        )
        # rules are the managers' configuration
        self.refused(
            self.user_a,
            "digital.sign.filing.rule",
            "create",
            vals_list=[{"name": "Mine", "directory_id": self.dir_quotes.id}],
        )
        self.refused(
            self.user_a,
            "digital.sign.outbound.rule",
            "create",
            vals_list=[{"name": "Mine", "recipient_emails": "me@example.com"}],
        )
        # the manager is not the flow either
        message = self.refused(
            self.manager,
            "digital.sign.request",
            "write",
            ids=self.done.ids,
            vals={"filing_state": "none"},
        )
        self.assertIn(flow, message)
        self.assertEqual(self.snapshot(), before)
        # what the salesperson may do: add a recipient to an open document, and read them
        ok, result = self.json2(
            self.user_a,
            "digital.sign.copy.recipient",
            "create",
            vals_list=[{"request_id": self.draft.id, "email": "new@example.com"}],
        )
        self.assertTrue(ok, result)
        ok, result = self.json2(
            self.user_a,
            "digital.sign.copy.recipient",
            "search_read",
            domain=[("request_id", "=", self.done.id)],
            fields=["email", "state"],
        )
        self.assertTrue(ok, result)
        self.assertEqual(
            result, [{"id": done_recipient.id, "email": "copy@example.com", "state": "queued"}]
        )

    @mute_logger("odoo.http", "odoo.addons.rpc.controllers.xmlrpc")
    def test_salesperson_by_xmlrpc_too(self):
        before = self.snapshot()
        db = self.env.cr.dbname
        uid = self.xmlrpc_common.authenticate(db, "sign_user_a", "sign_user_a", {})
        for model, ids, vals in (
            ("digital.sign.request", self.done.ids, {"filing_state": "failed"}),
            (
                "digital.sign.copy.recipient",
                self.done.sudo().copy_recipient_ids.ids,
                {"state": "sent"},
            ),
        ):
            with self.subTest(model=model, vals=vals), self.assertRaises(Fault) as caught:
                self.xmlrpc_object.execute_kw(db, uid, "sign_user_a", model, "write", [ids, vals])
            self.assertIn("only the signing flow writes them", caught.exception.faultString)
        self.assertEqual(self.snapshot(), before)
