"""Each participant is written to in their own language: the contact's, or the one the
sender chose, in the invitation mail, the invitation SMS and the code."""

from odoo.tests import tagged

from .common import DigitalSignCommon


@tagged("post_install", "-at_install")
class TestParticipantLanguage(DigitalSignCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for code in ("sv_SE", "zh_CN", "fr_FR"):
            cls.env["res.lang"]._activate_lang(code)
        cls.env["ir.module.module"]._load_module_terms(
            ["digital_sign"], ["sv_SE", "zh_CN", "fr_FR"]
        )

    def _mail_of(self, participant):
        return (
            self.env["mail.mail"]
            .sudo()
            .search(
                [("digital_sign_participant_id", "=", participant.id)], order="id desc", limit=1
            )
        )

    def test_invitation_mail_in_the_contacts_language(self):
        self.customer.lang = "sv_SE"
        request = self._create_request(name="Avtal")
        request.action_send()
        participant = request.participant_ids
        self.assertEqual(participant.page_lang, "sv_SE")
        mail = self._mail_of(participant)
        self.assertIn("Hej", mail.body_html)
        self.assertIn("Denna länk är personlig", mail.body_html)
        self.assertNotIn("This link is personal", mail.body_html)

    def test_the_senders_choice_wins_over_the_contact(self):
        self.customer.lang = "sv_SE"
        request = self._create_request(
            name="Contrat",
            participants=[
                {
                    "partner_id": self.customer.id,
                    "name": self.customer.name,
                    "email": self.customer.email,
                    "role": "Customer",
                    "lang": "zh_CN",
                }
            ],
        )
        request.action_send()
        self.assertIn("您好", self._mail_of(request.participant_ids).body_html)

    def test_sms_and_code_in_the_participants_language(self):
        request = self._create_request(
            name="Contrat",
            participants=[
                {
                    "name": "Amélie",
                    "mobile": "+33612345678",
                    "email": "amelie@example.com",
                    "invite_channel": "sms",
                    "otp_channel": "email",
                    "role": "Customer",
                    "lang": "fr_FR",
                }
            ],
        )
        request.action_send()
        participant = request.participant_ids
        sms = (
            self.env["sms.sms"]
            .sudo()
            .search([("digital_sign_participant_id", "=", participant.id)])
        )
        self.assertIn("vous invite à signer", sms.body)
        self.assertIn("est votre code pour signer", participant._get_otp_message("123456"))

    def test_a_language_not_offered_falls_back(self):
        """A contact in a language the page does not offer reads the owner's language."""
        self.env["res.lang"]._activate_lang("it_IT")
        self.customer.lang = "it_IT"
        request = self._create_request(name="Contratto")
        self.assertFalse(request.participant_ids._is_signing_lang("it_IT"))
        self.assertEqual(
            request.participant_ids._get_lang(),
            request.participant_ids._get_lang(preferred="en_US"),
        )
        self.assertEqual(request.participant_ids._get_lang(preferred="sv_SE"), "sv_SE")

    def test_time_zone_and_language_from_contact_then_owner_then_company(self):
        """The page's time zone and language come from the participant's contact, else the
        owner's, else the company's (read by one query, changes not yet written included);
        the page keeps what it read for the rest of its request."""
        request = self._create_request(
            name="Zones",
            participants=[{"name": "No contact", "email": "nocontact@example.com"}],
        )
        participant = request.participant_ids
        request.user_id.partner_id.write({"tz": "Europe/Stockholm", "lang": "sv_SE"})
        request.company_id.partner_id.write({"tz": "Asia/Shanghai", "lang": "zh_CN"})
        self.assertEqual(participant._get_tz(), "Europe/Stockholm")
        self.assertEqual(participant._get_lang(), "sv_SE")
        # The owner has none: the company's. Written in the cache only, not yet flushed.
        request.user_id.partner_id.tz = False
        request.user_id.partner_id.lang = False
        self.assertEqual(participant._get_tz(), "Asia/Shanghai")
        self.assertEqual(participant._get_lang(), "zh_CN")
        # A contact of their own comes first.
        participant.partner_id = self.env["res.partner"].create(
            {"name": "Contact", "tz": "America/Montreal", "lang": "fr_FR"}
        )
        self.assertEqual(participant._get_tz(), "America/Montreal")
        self.assertEqual(participant._get_lang(), "fr_FR")
        # Nothing anywhere: UTC, and a language the page offers.
        participant.partner_id.write({"tz": False, "lang": False})
        request.company_id.partner_id.write({"tz": False, "lang": False})
        self.assertEqual(participant._get_tz(), "UTC")
        self.assertTrue(participant._is_signing_lang(participant._get_lang()))
        # The page's participant keeps what it read; another read sees the change.
        participant.partner_id.tz = "Europe/Paris"
        on_page = participant._with_page_locale()
        self.assertEqual(on_page.env.context["tz"], "Europe/Paris")
        participant.partner_id.tz = "Europe/Madrid"
        self.assertEqual(on_page._get_tz(), "Europe/Paris")
        self.assertEqual(participant._get_tz(), "Europe/Madrid")
        # The sender's choice and the page's choice still come before the contacts.
        participant.lang = "sv_SE"
        self.assertEqual(participant._with_page_locale().env.lang, "sv_SE")
        self.assertEqual(participant._with_page_locale("zh_CN").env.lang, "zh_CN")

    def test_certificate_in_the_documents_language_with_each_consent(self):
        """Labels in the owner's language; each participant's consent as they accepted it."""
        request = self._create_request(
            name="Avtal",
            participants=[
                {
                    "name": "Ingrid",
                    "email": "ingrid@example.com",
                    "role": "Customer",
                    "lang": "sv_SE",
                },
                {"name": "王芳", "email": "wang@example.com", "role": "Cosigner", "lang": "zh_CN"},
            ],
        )
        request.user_id.lang = "sv_SE"
        ingrid, wang = request.participant_ids.sorted("id")
        consents = {}
        for participant in (ingrid, wang):
            consents[participant] = participant._in_own_lang()._get_consent_text()
            participant.sudo().write({"consent_text": consents[participant]})
        self.assertTrue(consents[ingrid].startswith("Jag samtycker"))
        self.assertTrue(consents[wang].startswith("我同意"))
        data = request._prepare_completion_data()
        self.assertEqual(data.labels["title"], "Slutförandeintyg")
        self.assertEqual(data.labels["consent_text"], "Godkänd samtyckestext")
        self.assertEqual(
            [p.consent_text for p in data.participants], [consents[ingrid], consents[wang]]
        )
