"""Issue 14 §6: the QR code of the signing link (invitation e-mail, the sender's forms), the
document at the signature service, re-engaging on the other channel, and text messages
switched off for a company."""

import base64
import io
import json
from unittest.mock import patch

from PIL import Image

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.digital_sign.engine import qr

from .common import DigitalSignCommon, person, signature_data_url
from .test_provider import ProviderCommon


def customer_values(partner, **values):
    return {
        "partner_id": partner.id,
        "name": partner.name,
        "email": partner.email,
        "mobile": partner.phone,
        "role": "Customer",
        **values,
    }


class LinksCommon(DigitalSignCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_c = new_test_user(
            cls.env,
            login="sign_user_c",
            groups="digital_sign.group_user,sales_team.group_sale_salesman",
            name="Cecilia Teammate",
        )
        cls.team_a.member_ids = [Command.link(cls.user_c.id)]

    def _sent(self, **values):
        request = self._create_request(user_id=self.user_a.id, team_id=self.team_a.id, **values)
        request.action_send()
        return request

    def _mails(self, participant):
        return (
            self.env["mail.mail"]
            .sudo()
            .search([("digital_sign_participant_id", "=", participant.id)], order="id")
        )

    def _sms(self, participant):
        return (
            self.env["sms.sms"]
            .sudo()
            .search([("digital_sign_participant_id", "=", participant.id)], order="id")
        )

    def _events(self, request, event_type):
        return request.event_ids.filtered(lambda e: e.event_type == event_type)


@tagged("post_install", "-at_install")
class TestLinkQrCode(LinksCommon):
    def test_the_invitation_email_carries_the_qr_code_of_the_link(self):
        last_id = self.env["ir.attachment"].sudo().search([], order="id desc", limit=1).id
        request = self._sent()
        participant = request.participant_ids
        url = participant._get_signing_url()
        mail = self._mails(participant)
        self.assertEqual(len(mail), 1)
        png = qr.url_qr_png(url, scale=5)
        # inline, for the mail clients that show data: images
        self.assertIn(f'src="{qr.png_data_uri(png)}"', mail.body_html)
        self.assertIn("Scan this code", mail.body_html)
        # and attached, for those that do not
        (attachment,) = mail.attachment_ids
        self.assertEqual(attachment.name, "signing-link-qr.png")
        self.assertEqual(attachment.mimetype, "image/png")
        self.assertEqual(attachment.raw, png, "the QR code of this participant's own link")
        self.assertEqual(Image.open(io.BytesIO(attachment.raw)).format, "PNG")
        self.assertFalse(attachment.access_token, "no token opens it from outside")
        new_attachments = self.env["ir.attachment"].sudo().search([("id", ">", last_id)])
        self.assertEqual(
            new_attachments.filtered(lambda a: a.raw == png),
            attachment,
            "no other copy of the code is kept (the message's own copy of the inline image)",
        )
        # the attachment is no document's: no user reads it, it goes with the e-mail
        self.assertEqual(
            (attachment.res_model, attachment.res_id), ("mail.message", mail.mail_message_id.id)
        )
        self.assertFalse(
            self.env["ir.attachment"].with_user(self.user_c).search([("id", "=", attachment.id)]),
            "a teammate (who sees no live link) does not read the e-mail's attachment",
        )
        mail.unlink()
        self.assertFalse(attachment.exists(), "deleted with the e-mail once sent")

    def test_a_new_link_gets_a_new_code_and_sms_invitations_none(self):
        request = self._sent()
        participant = request.participant_ids
        participant._reengage(email="ingrid.new@example.com")
        first, second = self._mails(participant)
        self.assertNotEqual(first.attachment_ids.raw, second.attachment_ids.raw)
        self.assertEqual(
            second.attachment_ids.raw, qr.url_qr_png(participant._get_signing_url(), scale=5)
        )
        by_sms = self._sent(
            name="By SMS", participants=[customer_values(self.customer, invite_channel="sms")]
        )
        self.assertFalse(self._mails(by_sms.participant_ids))
        self.assertEqual(len(self._sms(by_sms.participant_ids)), 1)

    def test_the_forms_show_the_code_to_those_who_may_see_the_link(self):
        request = self._sent()
        participant = request.participant_ids
        url = participant._get_signing_url()
        expected = base64.b64encode(qr.url_qr_png(url, scale=6))
        for user in (self.user_a, self.manager):
            as_user = participant.with_user(user)
            self.assertEqual(as_user.signing_url, url)
            self.assertEqual(as_user.signing_qr, expected)
            self.assertEqual(request.with_user(user).link_participant_ids, participant)
        # a teammate sees the document, not its live link (unless the setting says so)
        as_teammate = participant.with_user(self.user_c)
        self.assertFalse(as_teammate.signing_url)
        self.assertFalse(as_teammate.signing_qr)
        self.assertFalse(request.with_user(self.user_c).link_participant_ids)
        self.env["ir.config_parameter"].sudo().set_param(
            "digital_sign.live_links_for_readers", "True"
        )
        participant.invalidate_recordset()
        self.assertEqual(participant.with_user(self.user_c).signing_qr, expected)
        # a signed participant's link is no longer live: no code
        fields_ = request.field_ids.filtered(lambda f: f.kind == "signature")
        participant._submit(
            {str(f.id): signature_data_url() for f in fields_}, True, request.original_sha256
        )
        participant.invalidate_recordset()
        self.assertFalse(participant.with_user(self.user_a).signing_qr)

    def test_the_quotation_shows_the_code_beside_the_link(self):
        order = self.env["sale.order"].create(
            {"partner_id": self.customer.id, "user_id": self.user_a.id, "team_id": self.team_a.id}
        )
        self._sent(name="Quote", res_model="sale.order", res_id=order.id)
        as_alice = order.with_user(self.user_a)
        self.assertTrue(as_alice.digital_sign_url)
        self.assertEqual(
            as_alice.digital_sign_qr,
            base64.b64encode(qr.url_qr_png(as_alice.digital_sign_url, scale=6)),
        )
        self.assertTrue(as_alice.digital_sign_can_sign_now)


@tagged("post_install", "-at_install")
class TestDocumentAtTheService(ProviderCommon):
    def _with_reference(self, provider, reference):
        request = self._create_request(name=f"At {reference}", provider_id=provider.id)
        request.sudo().provider_reference = reference
        return request

    def test_each_service_opens_its_own_document(self):
        getaccept = self._with_reference(self.ga_provider, "ga-doc-42")
        self.assertEqual(
            getaccept.provider_document_url, "https://app.getaccept.com/document/view/ga-doc-42"
        )
        docusign = self._with_reference(self.ds_provider, "5f1c-envelope")
        self.assertEqual(
            docusign.provider_document_url,
            "https://appdemo.docusign.com/documents/details/5f1c-envelope",
            "the sandbox's application in test mode",
        )
        self.ds_provider.state = "enabled"
        docusign.invalidate_recordset(["provider_document_url"])
        self.assertEqual(
            docusign.provider_document_url,
            "https://app.docusign.com/documents/details/5f1c-envelope",
        )
        # the reference never escapes its path segment
        odd = self._with_reference(self.ga_provider, "../../x?y=1")
        self.assertEqual(
            odd.provider_document_url, "https://app.getaccept.com/document/view/..%2F..%2Fx%3Fy%3D1"
        )
        # the built-in page has no service; nothing before the service gave a reference
        portal = self._create_request(name="Here")
        self.assertFalse(portal.provider_document_url)
        not_yet = self._create_request(name="Not yet", provider_id=self.ga_provider.id)
        self.assertFalse(not_yet.provider_document_url)

    def test_the_generic_method_finds_the_providers_own(self):
        request = self._with_reference(self.ga_provider, "abc")
        Provider = type(self.ga_provider)
        with patch.object(
            Provider, "_getaccept_get_document_url", autospec=True, return_value="https://x/"
        ) as hook:
            self.assertEqual(self.ga_provider._get_document_url(request), "https://x/")
        hook.assert_called_once_with(self.ga_provider, request)
        # a provider without its own method has no document elsewhere
        portal = self._create_request(name="Here")
        self.assertEqual(portal.provider_id._get_document_url(portal), "")

    def test_the_quotation_links_to_the_document_at_the_service(self):
        order = self.env["sale.order"].create({"partner_id": self.customer.id})
        request = self._create_request(
            name="Quote at GetAccept",
            provider_id=self.ga_provider.id,
            res_model="sale.order",
            res_id=order.id,
        )
        request.sudo().provider_reference = "ga-order-1"
        request._sync_linked_records()
        self.assertEqual(
            order.digital_sign_document_url, "https://app.getaccept.com/document/view/ga-order-1"
        )
        self.assertEqual(order.digital_sign_provider_reference, "ga-order-1")


@tagged("post_install", "-at_install")
class TestReengageOnTheOtherChannel(LinksCommon):
    def _wizard(self, participant, user=None, **values):
        action = participant.with_user(user or self.user_a).action_open_reengage()
        form = Form(
            self.env[action["res_model"]]
            .with_user(user or self.user_a)
            .with_context(**action["context"])
        )
        for name, value in values.items():
            setattr(form, name, value)
        return form.save()

    def test_invited_by_email_reengaged_by_sms(self):
        request = self._sent(
            participants=[customer_values(self.customer, mobile=False, otp_channel="none")]
        )
        participant = request.participant_ids
        old_path = participant._get_signing_path()
        wizard = self._wizard(participant, invite_channel="sms", mobile="+46 70 222 33 44")
        self.assertEqual(wizard.current_channel, "email")
        wizard.action_reengage()
        self.assertEqual(participant.invite_channel, "sms")
        self.assertEqual(participant.mobile, "+46702223344")
        new_path = participant._get_signing_path()
        self.assertNotEqual(new_path, old_path, "the old link died")
        (sms,) = self._sms(participant)
        self.assertEqual(sms.number, "+46702223344")
        self.assertIn(new_path, sms.body)
        self.assertEqual(len(self._mails(participant)), 1, "only the first invitation by e-mail")
        event = self._events(request, "contact_changed")
        details = json.loads(event.details)
        self.assertEqual(details["old"]["invite_channel"], "email")
        self.assertEqual(details["new"]["invite_channel"], "sms")
        self.assertEqual(details["by"], "Alice Sender")
        self.assertEqual(event.actor_id, self.user_a)

    def test_invited_by_sms_reengaged_by_email_from_the_customers_page(self):
        """The customer who named a cosigner gives only an e-mail address for them: the new
        link goes by e-mail."""
        request = self._sent(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer"),
                {
                    "name": "Carl",
                    "mobile": "+46707654321",
                    "role": "Cosigner",
                    "invite_channel": "sms",
                },
            ],
        )
        ingrid, carl = request.participant_ids.sorted("id")
        carl.sudo().named_by_id = ingrid
        result = carl._reengage(email="carl@example.com", by=ingrid)
        self.assertEqual(result, {"status": "ok"})
        self.assertEqual(carl.invite_channel, "email")
        mail = self._mails(carl)
        self.assertEqual(mail.email_to, "carl@example.com")
        self.assertIn(carl._get_signing_path(), mail.body_html)
        self.assertEqual(len(self._sms(carl)), 1, "only the first invitation by SMS")

    def test_the_code_moves_to_the_other_channel(self):
        request = self._sent(participants=[customer_values(self.customer, otp_channel="sms")])
        participant = request.participant_ids
        self._wizard(participant, invite_channel="sms").action_reengage()
        self.assertEqual(
            (participant.invite_channel, participant.otp_channel),
            ("sms", "email"),
            "the code never travels with the link",
        )

    def test_a_channel_without_a_contact_is_refused_and_nothing_changes(self):
        request = self._sent(participants=[customer_values(self.customer, mobile=False)])
        participant = request.participant_ids
        path = participant._get_signing_path()
        with self.assertRaises(UserError):
            self._wizard(participant, invite_channel="sms").action_reengage()
        self.assertEqual(participant.invite_channel, "email")
        self.assertEqual(participant._get_signing_path(), path)
        self.assertFalse(self._events(request, "contact_changed"))


@tagged("post_install", "-at_install")
class TestSmsSwitchedOff(LinksCommon):
    def _switch_sms_off(self):
        settings = self.env["res.config.settings"].create({"digital_sign_sms_enabled": False})
        settings.execute()
        self.assertFalse(self.company.digital_sign_sms_enabled)

    def test_the_setting_is_the_companys(self):
        self.assertTrue(self.company.digital_sign_sms_enabled, "on by default")
        self._switch_sms_off()
        other = self.env["res.company"].create({"name": "Other company"})
        self.assertTrue(other.digital_sign_sms_enabled)
        self.assertTrue(other._digital_sign_sms_allowed())
        self.assertFalse(self.company._digital_sign_sms_allowed())

    def test_sending_by_sms_is_refused_with_a_clear_message(self):
        self._switch_sms_off()
        for values in ({"invite_channel": "sms"}, {"otp_channel": "sms"}):
            request = self._create_request(
                name=f"Refused {values}", participants=[customer_values(self.customer, **values)]
            )
            with self.assertRaisesRegex(UserError, "Text messages \\(SMS\\) are switched off"):
                request.action_send()
            self.assertEqual(request.state, "draft")
        self.assertFalse(
            self.env["sms.sms"].sudo().search([]).filtered("digital_sign_participant_id")
        )

    def test_the_wizard_refuses_the_sms_channel(self):
        self._switch_sms_off()
        product = self.env["product.product"].create({"name": "Service", "list_price": 100})
        order = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "user_id": self.user_a.id,
                "order_line": [Command.create({"product_id": product.id})],
            }
        )
        action = order.with_user(self.user_a).action_digital_sign_send()
        form = Form(
            self.env[action["res_model"]].with_user(self.user_a).with_context(**action["context"])
        )
        form.invite_channel = "sms"
        self.assertIn("Text messages (SMS) are switched off", form.contact_warning)
        wizard = form.save()
        with self.assertRaisesRegex(UserError, "Text messages \\(SMS\\) are switched off"):
            wizard.action_send()
        self.assertFalse(order.digital_sign_request_ids)
        form = Form(
            self.env[action["res_model"]].with_user(self.user_a).with_context(**action["context"])
        )
        form.invite_channel = "email"
        form.otp_channel = "none"
        self.assertFalse(form.contact_warning)

    def test_nothing_goes_out_by_sms_once_switched_off(self):
        by_sms = self._sent(
            name="Invited by SMS",
            participants=[customer_values(self.customer, invite_channel="sms")],
        )
        with_code = self._sent(
            name="Code by SMS",
            participants=[customer_values(self.customer, otp_channel="sms")],
        )
        sms_before = self.env["sms.sms"].sudo().search_count([])
        self._switch_sms_off()
        # reminders
        participant = by_sms.participant_ids
        self.assertFalse(participant._send_invitation_message(reminder=True))
        failed = self._events(by_sms, "invite_failed")
        self.assertIn("sms_switched_off", failed.details)
        # codes the sender required by SMS: refused, never sent on the link's channel
        coded = with_code.participant_ids
        self.assertEqual(coded._otp_send(), {"status": "sms_off"})
        self.assertIn("sms_switched_off", self._events(with_code, "code_send_failed").details)
        self.assertEqual(self.env["sms.sms"].sudo().search_count([]), sms_before)
        mails = self._mails(coded)
        self.assertEqual(len(mails), 1, "the invitation only: no code by e-mail")
        # re-engaging by SMS is refused too
        result = coded._reengage(mobile="+46 70 999 88 77", channel="sms")
        self.assertEqual(result["status"], "invalid")
        self.assertIn("switched off", result["errors"]["channel"])
        with self.assertRaises(UserError):
            participant._queue_sms("anything")

    def test_the_signed_copy_code_falls_back_to_email(self):
        request = self._sent(participants=[customer_values(self.customer, invite_channel="sms")])
        participant = request.participant_ids
        fields_ = request.field_ids.filtered(lambda f: f.kind == "signature")
        participant._submit(
            {str(f.id): signature_data_url() for f in fields_}, True, request.original_sha256
        )
        self.assertEqual(participant._get_code_channel(), "sms")
        self._switch_sms_off()
        self.assertEqual(participant._get_code_channel(), "email")
        self.assertEqual(participant._otp_send()["status"], "ok")
        self.assertEqual(self._mails(participant)[-1].digital_sign_purpose, "code")

    def test_naming_a_participant_by_mobile_alone_is_refused(self):
        request = self._sent(
            pdf=self.pdf_two_roles,
            participants=[
                person("Ingrid", "Customer", is_primary=True),
                {"name": "Cosigner", "role": "Cosigner", "to_be_named": True},
            ],
        )
        ingrid, cosigner = request.participant_ids.sorted("id")
        self._switch_sms_off()
        result = ingrid._name_participants(
            [{"id": cosigner.id, "name": "Carl", "mobile": "+46707654321"}]
        )
        self.assertEqual(result["status"], "invalid")
        self.assertIn("give an e-mail address", result["errors"][str(cosigner.id)])
        result = ingrid._name_participants(
            [{"id": cosigner.id, "name": "Carl", "email": "carl@example.com"}]
        )
        self.assertEqual(result, {"status": "ok"})
        self.assertEqual(cosigner.invite_channel, "email")
