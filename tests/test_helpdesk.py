import base64
from datetime import datetime, timedelta

import pymupdf
from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import DigitalSignHelpdeskCommon, b64, make_arrow_pdf

NOW = datetime(2026, 3, 2, 10, 0, 0)


@tagged("post_install", "-at_install")
class TestHelpdesk(DigitalSignHelpdeskCommon, HttpCase):
    # === the wizard === #
    def test_wizard_defaults_come_from_the_ticket(self):
        ticket = self._create_ticket()
        wizard_form = self._open_wizard(ticket)
        self.assertEqual(wizard_form.name, ticket.display_name)
        self.assertEqual(wizard_form.pdf_source, "upload", "a ticket without PDF: upload one")
        self.assertTrue(wizard_form.show_sending_mode, "tickets offer the conversation mode")
        self.assertFalse(wizard_form.show_document_kind)
        self.assertEqual(wizard_form.sending_mode, "standard")
        self.assertEqual(len(wizard_form.line_ids), 1)
        line = wizard_form.line_ids.edit(0)
        self.assertEqual(line.partner_id, self.portal_partner)
        self.assertEqual(line.role, "Customer")
        line.save()
        wizard_form.pdf_file = b64(make_arrow_pdf(2))
        self.assertIn("Page 1: 2 ×", wizard_form.marker_summary)
        # a ticket holding a PDF proposes it
        attachment = self.env["ir.attachment"].create(
            {
                "name": "arrow_contract.pdf",
                "raw": self.arrow_pdf,
                "mimetype": "application/pdf",
                "res_model": "helpdesk.ticket",
                "res_id": ticket.id,
            }
        )
        wizard_form = self._open_wizard(ticket)
        self.assertEqual(wizard_form.pdf_source, "attachment")
        wizard_form.attachment_id = attachment
        self.assertIn("Page 1: 1 ×", wizard_form.marker_summary)
        wizard = wizard_form.save()
        wizard.action_send()
        sign_request = ticket.digital_sign_request_id
        self.assertEqual(sign_request.original_filename, "arrow_contract.pdf")
        self.assertEqual(base64.b64decode(sign_request.original_pdf), self.arrow_pdf)
        # a ticket from an unknown sender proposes its name and address
        anonymous = self.env["helpdesk.ticket"].create(
            {
                "name": "Anonymous",
                "description": "x",
                "team_id": self.hd_team.id,
                "partner_name": "Nora Nobody",
                "partner_email": "nora@example.com",
            }
        )
        line = self._open_wizard(anonymous).line_ids.edit(0)
        self.assertEqual((line.name, line.email), ("Nora Nobody", "nora@example.com"))
        line.save()

    def test_standard_mode_has_the_default_validity(self):
        ticket = self._create_ticket()
        with freeze_time(NOW):
            sign_request, action = self._send(ticket, mode="standard")
        self.assertEqual(action["tag"], "display_notification", "no composer in standard mode")
        self.assertEqual(sign_request.state, "sent")
        self.assertEqual(sign_request.sending_mode, "standard")
        self.assertEqual(sign_request.deadline, NOW + timedelta(days=30))
        self.assertEqual(
            (sign_request.res_model, sign_request.res_id), ("helpdesk.ticket", ticket.id)
        )
        self.assertEqual(sign_request.partner_id, self.portal_partner)
        self.assertEqual(sign_request.helpdesk_team_id, self.hd_team)
        self.assertEqual(sign_request.user_id, self.agent)
        self.assertFalse(sign_request.team_id, "a ticket's document has no sales team")
        self.assertEqual(sign_request.field_ids.source, "arrow_glyph")
        self.assertEqual(ticket.digital_sign_state, "sent")
        self.assertEqual(ticket.digital_sign_request_id, sign_request)
        self.assertEqual(ticket.digital_sign_request_count, 1)

    def test_conversation_mode_lasts_one_timeout_per_signature(self):
        cases = [(1, None, 600), (2, None, 1200), (3, 300, 900)]
        for arrows, timeout, seconds in cases:
            with self.subTest(arrows=arrows, timeout=timeout):
                if timeout:
                    self.ICP.set_param("digital_sign.single_signature_timeout", timeout)
                ticket = self._create_ticket()
                with freeze_time(NOW):
                    sign_request, action = self._send(
                        ticket, pdf=make_arrow_pdf(arrows), mode="conversation"
                    )
                self.assertEqual(sign_request.sending_mode, "conversation")
                places = sign_request.field_ids.filtered(lambda f: f.kind == "signature")
                self.assertEqual(len(places), arrows)
                self.assertEqual(sign_request.deadline, NOW + timedelta(seconds=seconds))
                self.assertEqual(action["res_model"], "mail.compose.message")

    def test_conversation_mode_puts_the_link_in_the_ticket_composer(self):
        ticket = self._create_ticket()
        with freeze_time(NOW):
            sign_request, action = self._send(ticket, name="Repair quote", mode="conversation")
            participant = sign_request.participant_ids
            url = participant._get_signing_url()
            self.assertTrue(url)
            self.assertEqual(action["type"], "ir.actions.act_window")
            self.assertEqual(action["target"], "new")
            context = action["context"]
            self.assertEqual(context["default_model"], "helpdesk.ticket")
            self.assertEqual(context["default_res_ids"], ticket.ids)
            self.assertEqual(context["default_composition_mode"], "comment")
            composer_form = Form(
                self.env["mail.compose.message"].with_user(self.agent).with_context(**context)
            )
            self.assertIn(f'href="{url}"', str(composer_form.body))
            self.assertIn("10 minutes", str(composer_form.body))
            self.assertEqual(composer_form.partner_ids[:], self.portal_partner)
            composer_form.save().action_send_mail()
        message = ticket.message_ids.filtered(lambda m: url in str(m.body))
        self.assertEqual(len(message), 1, "the agent's reply carries the link")
        self.assertEqual(message.message_type, "comment")
        self.assertEqual(message.subtype_id, self.env.ref("mail.mt_note"))
        self.assertEqual(message.author_id, self.agent.partner_id)
        self.assertIn(self.portal_partner, message.partner_ids)

    def test_review_first_opens_the_count_and_sending_it_opens_the_composer(self):
        ticket = self._create_ticket()
        wizard = self._wizard(ticket, pdf=make_arrow_pdf(2), mode="conversation")
        action = wizard.action_review()
        self.assertEqual(
            (action["res_model"], action["view_mode"]), ("digital.sign.request", "form")
        )
        Request = self.env["digital.sign.request"].with_user(self.agent)
        sign_request = Request.browse(action["res_id"])
        self.assertEqual(sign_request.state, "draft")
        self.assertEqual(ticket.digital_sign_state, "draft")
        count = sign_request.action_count_signatures()
        self.assertEqual(count["res_model"], "digital.sign.field")
        self.assertEqual(
            count["views"][0][0], self.env.ref("digital_sign.digital_sign_field_view_list_count").id
        )
        places = self.env["digital.sign.field"].with_user(self.agent).search(count["domain"])
        self.assertEqual(len(places), 2)
        places[1].mandatory = False  # the agent makes the second place optional
        with freeze_time(NOW):
            result = sign_request.action_send()
        self.assertEqual(
            result["res_model"],
            "mail.compose.message",
            "sent from its own form, the document still goes into the conversation",
        )
        self.assertIn(
            sign_request.participant_ids._get_signing_url(), str(result["context"]["default_body"])
        )
        self.assertEqual(sign_request.deadline, NOW + timedelta(seconds=1200))
        self.assertEqual(ticket.digital_sign_state, "sent")

    # === names === #
    def test_a_live_document_name_is_refused_on_the_same_ticket(self):
        ticket = self._create_ticket()
        first, _action = self._send(ticket, name="Repair quote")
        with self.assertRaises(UserError) as refused:
            self._send(ticket, name="  repair QUOTE ")
        self.assertIn(first.reference, str(refused.exception))
        self.assertIn("Repair quote", str(refused.exception))
        self.assertEqual(ticket.digital_sign_request_count, 1)
        # another name coexists: nothing is replaced
        annex, _action = self._send(ticket, name="Annex")
        self.assertEqual(first.state, "sent")
        self.assertEqual(annex.state, "sent")
        self.assertFalse(annex.previous_request_id)
        # a draft left by "Review places first" is live too
        self._wizard(ticket, name="Draft terms").action_review()
        with self.assertRaises(UserError):
            self._send(ticket, name="Draft terms")
        # once cancelled, the name is free again
        first._set_cancelled("Wrong amount")
        again, _action = self._send(ticket, name="Repair quote")
        self.assertEqual(again.state, "sent")
        self.assertEqual(ticket.digital_sign_request_count, 4)
        self.assertEqual(first.state, "cancelled")
        wizard_form = self._open_wizard(ticket)
        self.assertTrue(wizard_form.live_request_id)
        self.assertFalse(wizard_form.live_request_replaced, "tickets never replace a document")

    def test_the_ticket_shows_the_document_waiting_for_a_signature(self):
        ticket = self._create_ticket()
        quote, _action = self._send(ticket, name="Repair quote")
        annex, _action = self._send(ticket, name="Annex")
        self.assertEqual(ticket.digital_sign_request_id, annex)
        self._sign(annex)
        self.assertEqual(ticket.digital_sign_state, "sent", "the quote still waits")
        self.assertEqual(ticket.digital_sign_request_id, quote)
        Ticket = self.env["helpdesk.ticket"].with_user(self.agent)
        self.assertIn(ticket, Ticket.search([("digital_sign_state", "in", ("sent", "viewed"))]))
        self._sign(quote)
        self.assertEqual(ticket.digital_sign_state, "signed")
        self.assertEqual(ticket.digital_sign_request_id, annex, "the newest one")

    # === signed and rejected === #
    def test_signed_moves_the_ticket_posts_the_pdf_and_tells_the_agent(self):
        ticket = self._create_ticket()
        sign_request, _action = self._send(ticket, name="Repair quote", mode="conversation")
        self._sign(sign_request)
        self.assertEqual(sign_request.state, "signed")
        self.assertEqual(ticket.stage_id, self.stage_new, "not before the signed PDF exists")
        self.finalize_cron.method_direct_trigger()
        self.assertEqual(sign_request.finalize_state, "done")
        self.assertEqual(ticket.stage_id, self.stage_signed)
        self.assertEqual(ticket.digital_sign_state, "signed")
        signed = ticket.message_ids.attachment_ids.filtered(lambda a: "(signed)" in a.name)
        self.assertEqual(len(signed), 1, "the signed PDF is in the ticket's chatter")
        self.assertEqual(signed.mimetype, "application/pdf")
        self.assertEqual(signed.raw, base64.b64decode(sign_request.signed_pdf))
        self.assertEqual((signed.res_model, signed.res_id), ("helpdesk.ticket", ticket.id))
        activity = self._agent_activities(ticket)
        self.assertEqual(len(activity), 1)
        self.assertIn("Repair quote", activity.summary)
        # the agent can open the preview from the chatter
        self.assertTrue(signed.with_user(self.agent).has_access("read"))

    def test_rejected_moves_the_ticket_and_tells_the_agent(self):
        ticket = self._create_ticket()
        sign_request, _action = self._send(ticket, name="Repair quote")
        participant = sign_request.participant_ids
        self.assertEqual(participant._reject("Too expensive"), {"status": "ok"})
        self.assertEqual(sign_request.state, "rejected")
        self.assertEqual(ticket.stage_id, self.stage_rejected)
        self.assertEqual(ticket.digital_sign_state, "rejected")
        self.assertTrue(ticket.message_ids.filtered(lambda m: "Too expensive" in str(m.body)))
        self.assertIn("Repair quote", self._agent_activities(ticket).summary)

    def test_an_empty_setting_moves_nothing(self):
        self.ICP.set_param("digital_sign.helpdesk_stage_signed_id", False)
        self.ICP.set_param("digital_sign.helpdesk_stage_rejected_id", False)
        signed_ticket, rejected_ticket = self._create_ticket(), self._create_ticket()
        sign_request, _action = self._send(signed_ticket)
        self._sign(sign_request)
        self.finalize_cron.method_direct_trigger()
        self.assertEqual(sign_request.finalize_state, "done")
        self.assertEqual(signed_ticket.stage_id, self.stage_new)
        self.assertEqual(signed_ticket.digital_sign_state, "signed")
        self.assertTrue(self._agent_activities(signed_ticket), "the agent is told anyway")
        sign_request, _action = self._send(rejected_ticket)
        sign_request.participant_ids._reject("No")
        self.assertEqual(rejected_ticket.stage_id, self.stage_new)
        self.assertEqual(rejected_ticket.digital_sign_state, "rejected")

    def test_a_stage_of_another_team_is_not_used(self):
        self.stage_signed.team_ids = [Command.set(self.hd_team_b.ids)]
        ticket = self._create_ticket()
        sign_request, _action = self._send(ticket)
        self._sign(sign_request)
        self.finalize_cron.method_direct_trigger()
        self.assertEqual(ticket.stage_id, self.stage_new)
        self.assertTrue(
            ticket.message_ids.filtered(lambda m: "Signed (signing tests)" in str(m.body)),
            "the ticket says why",
        )

    # === the portal === #
    def _portal_page(self, ticket, token=None):
        url = f"/my/ticket/{ticket.id}" + (f"?access_token={token}" if token else "")
        return self.url_open(url, allow_redirects=False)

    def test_portal_lists_only_the_customers_own_documents_and_links(self):
        ticket = self._create_ticket()
        other_ticket = self._create_ticket(
            partner=self.other_portal_user.partner_id, name="Someone else's ticket"
        )
        wizard_form = self._open_wizard(ticket)
        wizard_form.name = "Repair quote"
        wizard_form.pdf_file = b64(self.pdf_two_roles)
        with wizard_form.line_ids.new() as line:
            line.partner_id = self.cosigner
            line.role = "Cosigner"
            line.mandatory = False
        wizard_form.save().action_send()
        quote = ticket.digital_sign_request_id
        petra = quote.participant_ids.filtered(lambda p: p.partner_id == self.portal_partner)
        carl = quote.participant_ids.filtered(lambda p: p.partner_id == self.cosigner)
        other, _action = self._send(other_ticket, name="Other quote")
        other_link = other.participant_ids._get_signing_path()

        sign = f"/my/signatures/{quote.id}/sign"
        self.authenticate(self.portal_user.login, self.portal_user.login)
        page = self._portal_page(ticket)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Repair quote", page.text)
        self.assertIn(sign, page.text)
        self.assertNotIn("/digital_sign/s/", page.text, "no signing link in the page")
        self.assertTrue(
            self.url_open(sign, allow_redirects=False)
            .headers["Location"]
            .endswith(petra._get_signing_path()),
            "Sign leads to her own page",
        )
        self.assertNotIn(carl._get_signing_path(), page.text, "never another person's link")
        self.assertNotIn("Other quote", page.text)
        self.assertNotIn(other_link, page.text)
        # another customer's ticket shows nothing
        page = self._portal_page(other_ticket)
        self.assertIn(page.status_code, (302, 303), "helpdesk_mgmt sends them back to /my")
        self.assertNotIn("Other quote", page.text)
        self.assertNotIn(other_link, page.text)

        # signed: the page offers the download; only that ticket's documents come through it
        self._sign(quote)
        self.finalize_cron.method_direct_trigger()
        self._sign(other)
        self.finalize_cron.method_direct_trigger()
        page = self._portal_page(ticket)
        self.assertNotIn("/digital_sign/s/", page.text)
        download = f"/my/ticket/{ticket.id}/signed/{quote.id}"
        self.assertIn(download, page.text)
        response = self.url_open(download)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, base64.b64decode(quote.signed_pdf))
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
        self.assertIn("no-store", response.headers["Cache-Control"])
        self.assertEqual(self.url_open(download).status_code, 200)
        quote.invalidate_recordset()
        self.assertEqual(
            len(quote.event_ids.filtered(lambda e: e.event_type == "downloaded")),
            1,
            "logged once per session, not per GET",
        )
        not_found = [
            f"/my/ticket/{other_ticket.id}/signed/{other.id}",  # another customer's ticket
            f"/my/ticket/{ticket.id}/signed/{other.id}",  # a document of another ticket
            f"/my/ticket/{other_ticket.id}/signed/{quote.id}",  # own document, other ticket
            f"/my/ticket/{ticket.id}/signed/999999",
            f"/my/ticket/{other_ticket.id}/signed/{other.id}?access_token=x",
        ]
        with mute_logger("odoo.http"):
            for url in not_found:
                self.assertEqual(self.url_open(url).status_code, 404, url)

        # the ticket's access token lets anyone download, but shows no signing link
        self.logout()
        token = other_ticket._portal_ensure_token()
        page = self._portal_page(other_ticket, token)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Other quote", page.text)
        response = self.url_open(
            f"/my/ticket/{other_ticket.id}/signed/{other.id}?access_token={token}"
        )
        self.assertEqual(response.status_code, 200)
        with mute_logger("odoo.http"):
            self.assertEqual(
                self.url_open(
                    f"/my/ticket/{ticket.id}/signed/{quote.id}?access_token={token}"
                ).status_code,
                404,
            )

    def test_portal_shows_no_link_to_a_token_holder(self):
        ticket = self._create_ticket()
        sign_request, _action = self._send(ticket, name="Repair quote")
        link = sign_request.participant_ids._get_signing_path()
        token = ticket._portal_ensure_token()
        page = self._portal_page(ticket, token)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Repair quote", page.text)
        self.assertNotIn(link, page.text)

    def test_portal_shows_each_colleague_only_their_own_link(self):
        company = self.env["res.partner"].create({"name": "Petra's company", "is_company": True})
        self.portal_partner.parent_id = company
        colleague = new_test_user(
            self.env,
            login="hd_portal_colleague",
            groups="base.group_portal",
            name="Per Colleague",
            email="per@example.com",
        )
        colleague.partner_id.parent_id = company
        ticket = self._create_ticket()
        wizard_form = self._open_wizard(ticket)
        wizard_form.name = "Repair quote"
        wizard_form.pdf_file = b64(self.pdf_two_roles)
        with wizard_form.line_ids.new() as line:
            line.partner_id = colleague.partner_id
            line.role = "Cosigner"
        wizard_form.save().action_send()
        quote = ticket.digital_sign_request_id
        petra = quote.participant_ids.filtered(lambda p: p.partner_id == self.portal_partner)
        per = quote.participant_ids.filtered(lambda p: p.partner_id == colleague.partner_id)
        self.assertTrue(petra._get_signing_path() and per._get_signing_path())
        # Per reads the ticket of his company, and sees his own link only
        sign = f"/my/signatures/{quote.id}/sign"
        self.authenticate(colleague.login, colleague.login)
        page = self._portal_page(ticket)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Repair quote", page.text)
        self.assertIn(sign, page.text)
        self.assertNotIn("/digital_sign/s/", page.text, "no signing link in the page")
        self.assertTrue(
            self.url_open(sign, allow_redirects=False)
            .headers["Location"]
            .endswith(per._get_signing_path()),
            "never a colleague's link",
        )
        # and Petra hers only
        self.authenticate(self.portal_user.login, self.portal_user.login)
        page = self._portal_page(ticket)
        self.assertIn(sign, page.text)
        self.assertTrue(
            self.url_open(sign, allow_redirects=False)
            .headers["Location"]
            .endswith(petra._get_signing_path())
        )
        # a colleague who signs nothing on this document sees it without any link
        other = new_test_user(
            self.env,
            login="hd_portal_colleague2",
            groups="base.group_portal",
            name="Pia Colleague",
            email="pia@example.com",
        )
        other.partner_id.parent_id = company
        self.authenticate(other.login, other.login)
        page = self._portal_page(ticket)
        self.assertIn("Repair quote", page.text)
        self.assertNotIn("/digital_sign/s/", page.text)
        self.assertNotIn(sign, page.text)
        with mute_logger("odoo.http"):
            self.assertEqual(
                self.url_open(sign, allow_redirects=False).status_code,
                404,
                "a document she neither signs nor receives",
            )

    # === contacts, access, views === #
    def test_the_contact_counts_documents_sent_from_tickets(self):
        ticket = self._create_ticket()
        sign_request, _action = self._send(ticket)
        partner = self.portal_partner.with_user(self.agent)
        self.assertEqual(partner.digital_sign_request_count, 1)
        action = partner.action_view_digital_sign_requests()
        found = self.env["digital.sign.request"].with_user(self.agent).search(action["domain"])
        self.assertEqual(found, sign_request)

    def test_a_helpdesk_user_of_another_team_cannot_read_the_document(self):
        ticket = self._create_ticket()
        sign_request, _action = self._send(ticket)
        self.assertTrue(sign_request.with_user(self.agent).has_access("read"))
        with self.assertRaises(AccessError), mute_logger("odoo.models"):
            sign_request.with_user(self.agent_b).check_access("read")
        self.assertFalse(
            self.env["digital.sign.request"]
            .with_user(self.agent_b)
            .search([("res_model", "=", "helpdesk.ticket")])
        )
        # nor the ticket's, through the ticket
        with self.assertRaises(AccessError), mute_logger("odoo.models"):
            ticket.with_user(self.agent_b).check_access("read")

    def test_a_sender_outside_the_team_stays_owner(self):
        manager = new_test_user(
            self.env,
            login="hd_all",
            name="Ada All",
            email="ada@example.com",
            groups="helpdesk_mgmt.group_helpdesk_user",
        )
        ticket = self._create_ticket()
        sign_request, _action = self._send(ticket, user=manager)
        self.assertEqual(sign_request.user_id, manager)
        self.assertTrue(sign_request.with_user(manager).has_access("read"))

    def test_views_show_the_status_filters_and_buttons(self):
        Ticket = self.env["helpdesk.ticket"].with_user(self.agent)
        views = Ticket.get_views(
            [(False, "form"), (False, "list"), (False, "kanban"), (False, "search")]
        )["views"]
        form = views["form"]["arch"]
        for needle in (
            "action_digital_sign_send",
            "action_digital_sign_check_status",
            "action_view_digital_sign_requests",
            'name="digital_sign_state"',
            "Request signature",
        ):
            self.assertIn(needle, form)
        self.assertIn("digital_sign_state", views["list"]["arch"])
        self.assertIn("digital_sign_state", views["kanban"]["arch"])
        search = views["search"]["arch"]
        for needle in (
            "digital_sign_waiting",
            "digital_sign_signed",
            "digital_sign_rejected",
            "group_digital_sign_state",
        ):
            self.assertIn(needle, search)
        waiting = self._create_ticket()
        self._send(waiting)
        groups = dict(Ticket._read_group([], ["digital_sign_state"], ["__count"]))
        self.assertEqual(groups.get("sent"), 1, "tickets group by their signature status")


@tagged("post_install", "-at_install")
class TestHelpdeskTour(DigitalSignHelpdeskCommon, HttpCase):
    def test_agent_sends_from_the_ticket_and_the_customer_signs_in_the_portal(self):
        ticket = self._create_ticket(name="Contract for the ticket")
        self.env["ir.attachment"].create(
            {
                "name": "arrow_contract.pdf",
                "raw": self.arrow_pdf,
                "mimetype": "application/pdf",
                "res_model": "helpdesk.ticket",
                "res_id": ticket.id,
            }
        )
        self.start_tour(
            f"/odoo/helpdesk.ticket/{ticket.id}",
            "digital_sign_helpdesk_send",
            login=self.agent.login,
        )
        sign_request = ticket.digital_sign_request_id
        self.assertEqual(sign_request.state, "sent")
        self.assertEqual(sign_request.sending_mode, "conversation")
        self.assertEqual(sign_request.name, ticket.display_name)
        self.assertEqual(sign_request.field_ids.source, "arrow_glyph")
        participant = sign_request.participant_ids
        self.assertEqual(participant.partner_id, self.portal_partner)
        reply = ticket.message_ids.filtered(
            lambda m: participant._get_signing_path() in str(m.body)
        )
        self.assertEqual(reply.author_id, self.agent.partner_id)
        # the customer opens the ticket in the portal and signs from its link
        self.start_tour(
            f"/my/ticket/{ticket.id}",
            "digital_sign_helpdesk_portal_sign",
            login=self.portal_user.login,
        )
        self.assertEqual(participant.state, "signed")
        self.assertEqual(sign_request.state, "signed")
        self.finalize_cron.method_direct_trigger()
        self.assertEqual(ticket.stage_id, self.stage_signed)
        self.assertEqual(ticket.digital_sign_state, "signed")
        signed = ticket.message_ids.attachment_ids.filtered(lambda a: "(signed)" in a.name)
        self.assertEqual(signed.raw, base64.b64decode(sign_request.signed_pdf))
        doc = pymupdf.open(stream=signed.raw, filetype="pdf")
        signature = sign_request.field_ids
        box = pymupdf.Rect(signature.x0, signature.y0, signature.x1, signature.y1)
        self.assertTrue(
            [
                image
                for image in doc[0].get_image_info()
                if pymupdf.Rect(image["bbox"]).intersects(box)
            ],
            "the drawn signature is stamped beside the arrow",
        )
