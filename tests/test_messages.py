"""What happened to each invitation, reminder and code lands in the audit trail."""

from odoo.tests import tagged

from odoo.addons.mail.tests.common import MockEmail
from odoo.addons.sms.tests.common import SMSCase

from .common import DigitalSignCommon


@tagged("post_install", "-at_install")
class TestMessageOutcomes(DigitalSignCommon, SMSCase, MockEmail):
    def _events(self, request, event_type):
        return request.event_ids.filtered(lambda e: e.event_type == event_type)

    def test_sms_outcomes_are_audited_without_the_text(self):
        ok = self._create_request(
            name="SMS ok",
            participants=[
                {
                    "name": "Ingrid",
                    "mobile": "+46701234567",
                    "invite_channel": "sms",
                    "role": "Customer",
                }
            ],
        )
        bad = self._create_request(
            name="SMS bad",
            participants=[
                {
                    "name": "Carl",
                    "mobile": "+46707654321",
                    "invite_channel": "sms",
                    "role": "Customer",
                }
            ],
        )
        (ok | bad).action_send()
        sms = (
            self.env["sms.sms"]
            .sudo()
            .search([("digital_sign_participant_id", "in", (ok | bad).participant_ids.ids)])
        )
        self.assertEqual(set(sms.mapped("digital_sign_purpose")), {"invitation"})
        with self.mockSMSGateway(nbr_t_error={"+46707654321": "wrong_number_format"}):
            sms._send()
        sent = self._events(ok, "message_sent")
        self.assertEqual(sent.channel, "sms")
        self.assertIn("Invitation", sent.details)
        self.assertIn("+46•••••4567", sent.details)
        failed = self._events(bad, "message_failed")
        self.assertEqual(len(failed), 1)
        self.assertIn("sms_number_format", failed.details)
        for event in sent | failed:
            self.assertNotIn("/digital_sign/s/", event.details, "never the link")

    def test_email_outcomes_are_audited(self):
        request = self._create_request(name="Mail")
        request.action_send()
        mail = (
            self.env["mail.mail"]
            .sudo()
            .search([("digital_sign_participant_id", "=", request.participant_ids.id)])
        )
        self.assertEqual(mail.digital_sign_purpose, "invitation")
        with self.mock_mail_gateway(mail_unlink_sent=False):
            mail.send()
        event = self._events(request, "message_sent")
        self.assertEqual(event.channel, "email")
        self.assertIn("i•••d@example.com", event.details)
