from datetime import timedelta

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from .common import DigitalSignCommon, b64, make_pdf, person


@tagged("post_install", "-at_install")
class TestRequest(DigitalSignCommon):
    # === PDF intake === #
    def test_upload_keeps_the_pdf_byte_for_byte_with_its_hash(self):
        request = self._create_request()
        self.assertEqual(request._get_original_bytes(), self.pdf_one_signature)
        import hashlib

        self.assertEqual(
            request.original_sha256, hashlib.sha256(self.pdf_one_signature).hexdigest()
        )
        self.assertEqual(request.page_count, 1)
        self.assertEqual(request.page_geometry, [[595.0, 842.0]])
        self.assertTrue(request.reference.startswith("SIGN/"))

    def test_bad_pdfs_are_refused_with_a_clear_message_and_nothing_is_kept(self):
        Request = self.env["digital.sign.request"]
        count = Request.search_count([])
        cases = {
            b"GIF89a" + b"\0" * 100: "not a PDF",
            self.pdf_one_signature[: len(self.pdf_one_signature) // 3]: "damaged",
        }
        for data, expected in cases.items():
            with self.subTest(expected=expected), self.assertRaises(UserError) as error:
                Request.create({"name": "Bad", "original_pdf": b64(data)})
            self.assertIn(expected, str(error.exception))
        self.env["ir.config_parameter"].sudo().set_param("digital_sign.max_pages", 2)
        with self.assertRaises(UserError) as error:
            Request.create({"name": "Long", "original_pdf": b64(make_pdf([{}] * 3))})
        self.assertIn("too many pages (3; the limit is 2)", str(error.exception))
        self.assertEqual(Request.search_count([]), count)

    def test_original_cannot_change_after_sending(self):
        request = self._create_request()
        request.action_send()
        with self.assertRaises(UserError):
            request.original_pdf = b64(make_pdf())

    # === Markers === #
    def test_places_come_from_markers_and_go_to_their_roles(self):
        request = self._create_request(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer"),
                person("Carl", "cosigner", mandatory=False),
            ],
        )
        by_role = {(f.role, f.kind): f for f in request.field_ids}
        self.assertEqual(
            set(by_role),
            {("Customer", "signature"), ("Customer", "date"), ("Cosigner", "signature")},
        )
        self.assertEqual(by_role["Customer", "signature"].participant_id.name, "Ingrid")
        self.assertEqual(by_role["Cosigner", "signature"].participant_id.name, "Carl")
        self.assertFalse(by_role["Cosigner", "signature"].mandatory)
        self.assertTrue(by_role["Customer", "date"].mandatory)

    # === Uniqueness === #
    def test_live_name_is_unique_per_customer_and_the_message_names_the_existing_one(self):
        first = self._create_request(name="Lease")
        with self.assertRaises(ValidationError) as error:
            self._create_request(name="Lease")
        self.assertIn(first.reference, str(error.exception))
        # another customer may use the name; and once the first is cancelled, so may this one
        self._create_request(name="Lease", partner_id=self.cosigner.id)
        first._set_cancelled("replaced")
        self._create_request(name="Lease")

    # === Send checks === #
    def test_send_invites_with_a_fresh_link_and_logs(self):
        request = self._create_request()
        mails_before = self.env["mail.mail"].sudo().search_count([])
        request.action_send()
        participant = request.participant_ids
        self.assertEqual(request.state, "sent")
        self.assertEqual(participant.state, "sent")
        self.assertGreaterEqual(len(participant.sudo().access_token), 43)
        self.assertEqual(self.env["mail.mail"].sudo().search_count([]), mails_before + 1)
        mail = self.env["mail.mail"].sudo().search([], order="id desc", limit=1)
        self.assertIn(participant._get_signing_path(), str(mail.body_html))
        self.assertEqual(mail.email_to, "ingrid@example.com")
        self.assertEqual(
            request.event_ids.sorted("sequence").mapped("event_type")[:3],
            ["created", "sent", "invited"],
        )
        self.assertGreater(request.deadline, fields.Datetime.now() + timedelta(days=29))
        # the link never reaches the chatter
        self.assertFalse(
            request.message_ids.filtered(lambda m: participant.sudo().access_token in str(m.body))
        )

    def test_send_by_sms_queues_an_sms_to_the_stored_number(self):
        request = self._create_request(
            participants=[
                {
                    "name": "Ingrid",
                    "mobile": "070-123 45 67",
                    "invite_channel": "sms",
                    "role": "Customer",
                    "partner_id": self.customer.id,
                }
            ]
        )
        self.assertEqual(request.participant_ids.mobile, "+46701234567")
        request.action_send()
        sms = self.env["sms.sms"].sudo().search([("number", "=", "+46701234567")])
        self.assertEqual(len(sms), 1)
        self.assertIn(request.participant_ids._get_signing_path(), sms.body)

    def test_send_refuses_what_cannot_be_delivered(self):
        cases = [
            ([], "Add at least one participant"),
            ([{"name": "No mail", "role": "Customer"}], "has no e-mail address"),
            (
                [
                    {
                        "name": "No phone",
                        "email": "x@example.com",
                        "role": "Customer",
                        "otp_channel": "sms",
                    }
                ],
                "has no mobile number",
            ),
            (
                [{"name": "Other role", "email": "x@example.com", "role": "Lawyer"}],
                "mandatory places have no participant",
            ),
        ]
        for participants, message in cases:
            with self.subTest(message=message):
                request = self._create_request(participants=participants, name=message)
                with self.assertRaises(UserError) as error:
                    request.action_send()
                self.assertIn(message, str(error.exception))
                self.assertEqual(request.state, "draft")
        no_places = self._create_request(
            pdf=make_pdf([{"texts": [(72, 300, "no markers")]}]), name="No places"
        )
        with self.assertRaises(UserError) as error:
            no_places.action_send()
        self.assertIn("no mandatory signature place", str(error.exception))

    def test_participant_contact_checks(self):
        request = self._create_request()
        Participant = self.env["digital.sign.participant"]
        with self.assertRaises(ValidationError) as error:
            Participant.create({"request_id": request.id, "name": "X", "mobile": "12 ab 34"})
        self.assertIn("not a usable mobile number", str(error.exception))
        with self.assertRaises(ValidationError):
            Participant.create({"request_id": request.id, "name": "X", "email": "not-an-email"})
        with self.assertRaises(ValidationError) as error:
            Participant.create(
                {
                    "request_id": request.id,
                    "name": "X",
                    "email": "x@example.com",
                    "invite_channel": "email",
                    "otp_channel": "email",
                }
            )
        self.assertIn("another channel", str(error.exception))

    def test_deadline_in_conversation_mode_is_signatures_times_timeout(self):
        pdf = make_pdf(
            [{"texts": [(72, 500, "{{sign:Customer}}"), (72, 700, "{{sign:Customer}}")]}]
        )
        request = self._create_request(pdf=pdf, sending_mode="conversation")
        with freeze_time("2026-11-23 10:00:00"):
            request.action_send()
        self.assertEqual(request.deadline, fields.Datetime.to_datetime("2026-11-23 10:20:00"))

    # === Cancel / reset === #
    def test_cancel_kills_every_link_and_reset_brings_back_a_draft(self):
        request = self._create_request()
        request.action_send()
        participant = request.participant_ids
        self.assertTrue(participant.sudo().access_token)
        wizard = self.env["digital.sign.request.cancel"].create(
            {"request_ids": [Command.set(request.ids)], "reason": "Accepted by phone"}
        )
        wizard.action_cancel()
        self.assertEqual(request.state, "cancelled")
        self.assertEqual(request.cancel_reason, "Accepted by phone")
        self.assertFalse(participant.sudo().access_token)
        self.assertEqual(participant._get_signing_path(), "")
        request.action_reset_to_draft()
        self.assertEqual(request.state, "draft")
        self.assertEqual(participant.state, "waiting")
        with self.assertRaises(UserError):
            request.action_reset_to_draft()

    # === Audit trail === #
    def test_events_are_append_only_even_for_the_superuser(self):
        request = self._create_request()
        request.action_send()
        event = request.event_ids[:1]
        for env in (self.env, self.env(su=True)):
            with self.assertRaises(UserError):
                event.with_env(env).write({"details": "forged"})
            with self.assertRaises(UserError):
                event.with_env(env).unlink()
            with self.assertRaises(UserError):
                env["digital.sign.event"].create(
                    {
                        "request_id": request.id,
                        "event_type": "signed",
                        "event_date": fields.Datetime.now(),
                    }
                )
        with self.assertRaises(UserError):
            event.with_user(self.user_a).write({"details": "forged"})

    def test_integrity_names_the_first_broken_link(self):
        request = self._create_request()
        request.action_send()
        request._log_event("viewed", participant=request.participant_ids)
        request._log_event("consent", participant=request.participant_ids)
        self.assertIsNone(request._check_integrity())
        params = request.action_verify_integrity()["params"]
        self.assertIn("is intact", params["message"])
        # no anchor key nor timestamp server in these tests: intact, but never "anchored"
        self.assertEqual(params["type"], "warning")
        events = request.event_ids.sorted("sequence")  # created, sent, invited, viewed, consent
        cr = self.env.cr

        def tampered(query, *args):
            """Run ``query`` in a savepoint and return what the check says, then undo it."""
            with cr.savepoint(flush=False) as savepoint:
                cr.execute(SQL(query, *args))
                self.env.invalidate_all()
                result = request._check_integrity()
                savepoint.rollback()
            self.assertTrue(result, f"tampering went unnoticed: {query}")
            return result

        cases = [
            (
                "UPDATE digital_sign_event SET ip = '6.6.6.6' WHERE id = %s",
                events[2],
                events[2],
                "IP address or user agent was changed",
            ),
            (
                "UPDATE digital_sign_event SET personal_digest = repeat('0', 64) WHERE id = %s",
                events[2],
                events[2],
                "content was changed",
            ),
            (
                "UPDATE digital_sign_event SET details = '{}' WHERE id = %s",
                events[1],
                events[1],
                "content was changed",
            ),
            (
                "DELETE FROM digital_sign_event WHERE id = %s",
                events[1],
                events[2],
                "removed or inserted",
            ),
        ]
        for query, target, first_bad, reason_part in cases:
            with self.subTest(query=query):
                event, reason = tampered(query, target.id)
                self.assertEqual(event, first_bad)
                self.assertIn(reason_part, reason)
        _event, reason = tampered("DELETE FROM digital_sign_event WHERE id = %s", events[-1].id)
        self.assertIn("last events were removed", reason)
        # The database refuses a second event with one sequence number: someone with access
        # to it drops that index first.
        event, _reason = tampered(
            """DROP INDEX digital_sign_event_request_sequence_uniq;
               INSERT INTO digital_sign_event (request_id, company_id, sequence, event_type,
               event_date, timestamp, prev_hash, hash)
               SELECT request_id, company_id, 3, 'signed', event_date, timestamp, hash,
                      repeat('0', 64) FROM digital_sign_event WHERE id = %s""",
            events[1].id,
        )
        self.assertTrue(event)
        self.assertNotIn(event, events[:2])
        self.env.invalidate_all()
        self.assertIsNone(request._check_integrity())
        self.assertIn("intact (5 events)", request.action_verify_integrity()["params"]["message"])

    def test_personal_data_is_erased_after_the_retention_period_and_the_chain_holds(self):
        with freeze_time("2020-03-01 10:00:00"):
            old = self._create_request(name="Old")
            old.action_send()
            old._log_event(
                "viewed",
                participant=old.participant_ids,
                ip="192.0.2.10",
                user_agent="Mozilla/5.0 (old)",
            )
        recent = self._create_request(name="Recent")
        recent.action_send()
        recent._log_event(
            "viewed",
            participant=recent.participant_ids,
            ip="192.0.2.20",
            user_agent="Mozilla/5.0 (recent)",
        )
        cron = self.env.ref("digital_sign.ir_cron_erase_personal_data")
        self.registry_enter_test_mode()  # the scheduled action's cursor sees this test's data

        cron.method_direct_trigger()  # retention 0: nothing is erased
        self.assertIn("192.0.2.10", old.event_ids.mapped("ip"))

        self.env["ir.config_parameter"].sudo().set_param("digital_sign.audit_retention_years", 5)
        cron.method_direct_trigger()
        self.env.invalidate_all()
        old_viewed = old.event_ids.filtered(lambda e: e.event_type == "viewed")
        self.assertFalse(old_viewed.ip or old_viewed.user_agent)
        self.assertFalse(old_viewed.sudo().personal_salt, "the salt goes with the values")
        self.assertTrue(old_viewed.anonymized_on)
        self.assertTrue(all(old.event_ids.mapped("anonymized_on")))
        self.assertIsNone(old._check_integrity(), "the chain still verifies after erasure")
        recent_viewed = recent.event_ids.filtered(lambda e: e.event_type == "viewed")
        self.assertEqual(
            (recent_viewed.ip, recent_viewed.user_agent),
            ("192.0.2.20", "Mozilla/5.0 (recent)"),
            "younger events keep theirs",
        )
        self.assertFalse(recent_viewed.anonymized_on)
        self.assertIsNone(recent._check_integrity())

    # === Access rights === #
    def test_users_see_their_own_and_their_teams_documents_only(self):
        doc_a = self._create_request(name="Team A doc", user=self.user_a)
        doc_b = self._create_request(name="Team B doc", user=self.user_b)
        self.assertEqual(doc_a.team_id, self.team_a)
        Request_a = self.env["digital.sign.request"].with_user(self.user_a)
        self.assertIn(doc_a, Request_a.search([]))
        self.assertNotIn(doc_b, Request_a.search([]))
        with self.assertRaises(AccessError):
            doc_b.with_user(self.user_a).read(["name"])
        with self.assertRaises(AccessError):
            doc_b.participant_ids.with_user(self.user_a).read(["email"])
        with self.assertRaises(AccessError):
            doc_b.event_ids.with_user(self.user_a).read(["event_type"])
        # a teammate of A sees A's document
        teammate = self.env["res.users"].create(
            {
                "name": "Teammate",
                "login": "sign_teammate",
                "group_ids": [Command.link(self.env.ref("digital_sign.group_user").id)],
            }
        )
        self.team_a.member_ids = [Command.link(teammate.id)]
        self.assertIn(doc_a, self.env["digital.sign.request"].with_user(teammate).search([]))
        # the manager sees both
        self.assertLessEqual(
            doc_a | doc_b, self.env["digital.sign.request"].with_user(self.manager).search([])
        )

    def test_other_company_documents_are_invisible(self):
        other = self.env["res.company"].create({"name": "Other Co"})
        self.manager.company_ids = [Command.link(other.id)]
        doc = self._create_request(name="Here")
        doc_other = (
            self.env["digital.sign.request"]
            .with_company(other)
            .create(
                {
                    "name": "There",
                    "company_id": other.id,
                }
            )
        )
        Request = self.env["digital.sign.request"].with_user(self.manager)
        found = Request.with_context(allowed_company_ids=[self.company.id]).search([])
        self.assertIn(doc, found)
        self.assertNotIn(doc_other, found)

    def test_secrets_are_not_readable_by_users(self):
        request = self._create_request()
        request.action_send()
        participant = request.participant_ids.with_user(self.user_a)
        with self.assertRaises(AccessError):
            participant.read(["access_token"])
        with self.assertRaises(AccessError):
            participant.read(["otp_hash"])
        with self.assertRaises(AccessError):
            request.event_ids.with_user(self.user_a).read(["ip"])
        # the manager sees IPs in the audit trail
        request.event_ids.with_user(self.manager).read(["ip", "user_agent"])

    def test_partner_signatures_smart_button(self):
        request = self._create_request(user=self.user_a)
        self.assertEqual(self.customer.with_user(self.user_a).digital_sign_request_count, 1)
        action = self.customer.action_view_digital_sign_requests()
        self.assertEqual(self.env["digital.sign.request"].search(action["domain"]), request)

    @mute_logger("odoo.models.unlink")
    def test_sent_documents_cannot_be_deleted(self):
        request = self._create_request()
        request.action_send()
        with self.assertRaises(UserError):
            request.unlink()
        draft = self._create_request(name="Draft")
        draft.unlink()
        self.assertFalse(draft.exists())

    def test_owner_reengages_a_participant_from_the_form(self):
        request = self._create_request()
        request.action_send()
        participant = request.participant_ids
        old_path = participant._get_signing_path()
        action = participant.action_open_reengage()
        # pylint: disable=context-overridden  # the action's context, as the client uses it
        wizard = (
            self.env[action["res_model"]]
            .with_context(action["context"])
            .create({"email": "ingrid.new@example.com"})
        )
        wizard.action_reengage()
        self.assertEqual(participant.email, "ingrid.new@example.com")
        self.assertNotEqual(participant._get_signing_path(), old_path)
        mail = self.env["mail.mail"].sudo().search([], order="id desc", limit=1)
        self.assertEqual(mail.email_to, "ingrid.new@example.com")
        event = request.event_ids.filtered(lambda e: e.event_type == "contact_changed")
        self.assertIn("ingrid@example.com", event.details)
        participant._mark_viewed()
        with self.assertRaises(UserError):
            participant.action_open_reengage()


@tagged("post_install", "-at_install")
class TestRemindersAndExpiry(DigitalSignCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry_enter_test_mode_cls()  # the scheduled actions' cursors see this test

    def test_reminders_count_spacing_limit_and_deadline(self):
        start = fields.Datetime.now().replace(microsecond=0)
        with freeze_time(start):
            request = self._create_request(name="Reminded", deadline=start + timedelta(days=25))
            request.action_send()
        participant = request.participant_ids
        cron = self.env.ref("digital_sign.ir_cron_send_reminders")
        mails = self.env["mail.mail"].sudo()

        def run(days):
            with freeze_time(start + timedelta(days=days)):
                cron.method_direct_trigger()
            return participant.reminder_count

        before = mails.search_count([])
        self.assertEqual(run(2.9), 0, "nothing before N days")
        self.assertEqual(run(3.01), 1)
        self.assertEqual(run(4), 1, "spaced by M days")
        self.assertEqual(run(6.02), 2)
        self.assertEqual(run(9.03), 3)
        self.assertEqual(run(12.04), 4)
        self.assertEqual(run(15.05), 5)
        self.assertEqual(run(18.06), 5, "at most 5")
        self.assertEqual(mails.search_count([]), before + 5)
        self.assertEqual(len(request.event_ids.filtered(lambda e: e.event_type == "reminded")), 5)

    def test_no_reminder_after_the_deadline_or_a_final_state(self):
        start = fields.Datetime.now().replace(microsecond=0)
        with freeze_time(start):
            late = self._create_request(name="Late", deadline=start + timedelta(days=2))
            late.action_send()
            done = self._create_request(name="Done")
            done.action_send()
            done._set_cancelled("stop")
        with freeze_time(start + timedelta(days=3, hours=1)):
            self.env.ref("digital_sign.ir_cron_send_reminders").method_direct_trigger()
        self.assertEqual(late.participant_ids.reminder_count, 0)
        self.assertEqual(done.participant_ids.reminder_count, 0)

    def test_expiry_cron_expires_participants_and_tells_the_owner(self):
        request = self._create_request(name="Expiring")
        request.action_send()
        with freeze_time(request.deadline + timedelta(minutes=1)):
            self.env.ref("digital_sign.ir_cron_expire_requests").method_direct_trigger()
        self.assertEqual(request.state, "expired")
        self.assertEqual(request.participant_ids.state, "expired")
        self.assertTrue(
            request.activity_ids.filtered(lambda a: "expired" in (a.summary or "").lower())
        )
        self.assertIn("expired", request.event_ids.mapped("event_type"))
