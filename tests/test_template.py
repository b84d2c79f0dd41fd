from datetime import timedelta

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import DigitalSignHelpdeskCommon, b64, make_pdf


class DigitalSignTemplateCommon(DigitalSignHelpdeskCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param("digital_sign.default_validity_days", 30)
        cls.pdf_template = make_pdf(
            [
                {"texts": [(72, 200, "Terms, page 1")]},
                {"texts": [(72, 200, "Terms, page 2")]},
                {
                    "texts": [
                        (72, 600, "Customer: {{sign:Customer}}"),
                        (72, 650, "Date: {{date:Customer}}"),
                        (320, 600, "For the company: {{sign:Seller}}"),
                    ]
                },
            ]
        )
        cls.template = cls._create_template()
        cls.product = cls.env["product.product"].create(
            {
                "name": "Kitchen installation",
                "type": "service",
                "list_price": 1200.0,
            }
        )

    @classmethod
    def _create_quotation(cls, user=None, partner=None):
        user = user or cls.user_a
        return (
            cls.env["sale.order"]
            .with_user(user)
            .create(
                {
                    "partner_id": (partner or cls.customer).id,
                    "user_id": user.id,
                    "team_id": cls.team_a.id,
                    "order_line": [
                        Command.create({"product_id": cls.product.id, "product_uom_qty": 2})
                    ],
                }
            )
            .with_user(cls.env.user)
        )

    @classmethod
    def _create_template(cls, name="Service agreement", **values):
        template = (
            cls.env["digital.sign.template"]
            .with_user(cls.manager)
            .create(
                {
                    "name": name,
                    "pdf": b64(cls.pdf_template),
                    "pdf_filename": "agreement.pdf",
                    "validity_days": 14,
                    "message": "<p>Welcome aboard!</p>",
                    **values,
                }
            )
        )
        template.role_ids.filtered(lambda r: r.name == "Seller").fill_from = "user"
        return template.sudo(False).with_env(cls.env)

    def _send_with_wizard(self, record, user, template=None, fill=None):
        action = record.with_user(user).action_digital_sign_send()
        wizard_form = Form(
            self.env[action["res_model"]].with_user(user).with_context(**action["context"])
        )
        wizard_form.template_id = template or self.template
        for index, values in (fill or {}).items():
            with wizard_form.line_ids.edit(index) as line:
                for key, value in values.items():
                    setattr(line, key, value)
        wizard = wizard_form.save()
        wizard.action_send()
        return self.env["digital.sign.request"].search(
            [("res_model", "=", record._name), ("res_id", "=", record.id)], order="id desc", limit=1
        )


@tagged("post_install", "-at_install")
class TestDigitalSignTemplate(DigitalSignTemplateCommon):
    def test_template_intake_places_and_roles(self):
        """The PDF goes through the intake; markers become places of roles."""
        template = self.template
        self.assertEqual(template.page_count, 3)
        self.assertEqual(sorted(template.role_ids.mapped("name")), ["Customer", "Seller"])
        self.assertEqual(len(template.place_ids), 3)
        customer = template.role_ids.filtered(lambda r: r.name == "Customer")
        self.assertEqual(template.place_ids.filtered(lambda p: p.kind == "date").role_id, customer)
        self.assertTrue(all(place.page == 3 for place in template.place_ids))
        with self.assertRaisesRegex(Exception, "PDF"):
            self.env["digital.sign.template"].create({"name": "Bad", "pdf": b64(b"not a pdf")})

    def test_versioning(self):
        """A used template gets a new version when its places, roles or PDF change; an unused
        one keeps its version; requests record the version they came from."""
        template = self.template
        place = template.place_ids.filtered(lambda p: p.kind == "date")
        place.with_user(self.manager).write({"x0": place.x0 + 10, "x1": place.x1 + 10})
        self.assertEqual(template.version, 1, "not used yet: no new version")
        order = self._create_quotation()
        first = self._send_with_wizard(order, self.user_a)
        self.assertEqual((first.template_id, first.template_version), (template, 1))
        template.place_ids.filtered(lambda p: p.kind == "date").with_user(self.manager).write(
            {"mandatory": False}
        )
        self.assertEqual(template.version, 2)
        template.role_ids[0].with_user(self.manager).write({"signing_order": 2})
        self.assertEqual(template.version, 2, "version 2 is not used yet")
        second = self._send_with_wizard(self._create_quotation(), self.user_a)
        self.assertEqual(second.template_version, 2)
        template.with_user(self.manager).write({"pdf": b64(make_pdf())})
        self.assertEqual(template.version, 3)
        self.assertEqual(first.template_version, 1)
        # What a request came from is evidence: no user rewrites it.
        with mute_logger("odoo.addons.base.models.ir_rule"), self.assertRaises(AccessError):
            first.with_user(self.manager).write({"template_version": 3})

    def test_sent_request_unchanged_after_template_edit(self):
        """The request owns its copy of the PDF and places: editing the template later
        changes nothing in it."""
        order = self._create_quotation()
        sign_request = self._send_with_wizard(order, self.user_a)
        self.assertEqual(sign_request.state, "sent")
        sha = sign_request.original_sha256
        places = [
            (f.page, f.kind, f.x0, f.y0, f.x1, f.y1, f.participant_id.role)
            for f in sign_request.field_ids
        ]
        self.assertEqual(len(places), 3)
        template = self.template.with_user(self.manager)
        template.place_ids[0].write({"x0": 10, "x1": 60})
        template.place_ids[1:].unlink()
        template.write({"pdf": b64(make_pdf([{"texts": [(72, 500, "{{sign:Customer}}")]}]))})
        sign_request.invalidate_recordset()
        self.assertEqual(sign_request.original_sha256, sha)
        self.assertEqual(
            [
                (f.page, f.kind, f.x0, f.y0, f.x1, f.y1, f.participant_id.role)
                for f in sign_request.field_ids
            ],
            places,
        )
        self.assertEqual(sign_request.page_count, 3)

    def _assert_from_template(self, sign_request, record, customer_email, seller):
        self.assertEqual((sign_request.res_model, sign_request.res_id), (record._name, record.id))
        self.assertEqual(sign_request.template_id, self.template)
        self.assertEqual(sign_request.state, "sent")
        by_role = {p.role: p for p in sign_request.participant_ids}
        self.assertEqual(by_role["Customer"].email, customer_email)
        self.assertEqual(by_role["Seller"].partner_id, seller.partner_id)
        self.assertEqual(
            sign_request.field_ids.filtered(lambda f: f.kind == "date").participant_id,
            by_role["Customer"],
        )
        self.assertTrue(sign_request.deadline)
        self.assertIn("Welcome aboard", sign_request.invitation_message)
        mails = (
            self.env["mail.mail"]
            .sudo()
            .search([("digital_sign_participant_id", "in", sign_request.participant_ids.ids)])
        )
        self.assertEqual(len(mails), 2, "both roles sign in parallel: two invitations queued")
        self.assertIn(
            "Welcome aboard", mails.filtered(lambda m: m.email_to == customer_email).body_html
        )

    def test_send_from_quotation(self):
        order = self._create_quotation()
        sign_request = self._send_with_wizard(order, self.user_a)
        self._assert_from_template(sign_request, order, self.customer.email, self.user_a)
        self.assertEqual(order.digital_sign_request_id, sign_request)

    def test_send_from_ticket(self):
        ticket = self._create_ticket()
        sign_request = self._send_with_wizard(ticket, self.agent)
        self._assert_from_template(sign_request, ticket, self.portal_partner.email, self.agent)
        self.assertEqual(sign_request.helpdesk_team_id, self.hd_team)

    def test_send_from_contact(self):
        partner = self.customer.with_user(self.user_a)
        sign_request = self._send_with_wizard(partner, self.user_a)
        # A contact has no salesperson here: the sender signs for the company.
        self._assert_from_template(sign_request, self.customer, self.customer.email, self.user_a)
        self.assertEqual(self.customer.digital_sign_state, "sent")

    def test_send_from_opportunity(self):
        lead = self.env["crm.lead"].create(
            {
                "name": "Big deal",
                "partner_id": self.customer.id,
                "user_id": self.user_b.id,
                "team_id": self.team_a.id,
                "type": "opportunity",
            }
        )
        admin = self.env.ref("base.user_admin")
        sign_request = self._send_with_wizard(lead, admin)
        # The opportunity's salesperson fills the Seller role; the sender owns the document.
        self._assert_from_template(sign_request, lead, self.customer.email, self.user_b)
        self.assertEqual(sign_request.user_id, admin)
        self.assertEqual(sign_request.name, "Service agreement - Big deal")
        self.assertEqual(sign_request.team_id, self.team_a)

    def test_sender_fills_the_manual_roles(self):
        template = self.template
        template.role_ids.filtered(lambda r: r.name == "Seller").sudo().fill_from = "manual"
        order = self._create_quotation()
        sign_request = self._send_with_wizard(
            order, self.user_a, fill={1: {"partner_id": self.cosigner}}
        )
        seller = sign_request.participant_ids.filtered(lambda p: p.role == "Seller")
        self.assertEqual(seller.email, self.cosigner.email)
        self.assertEqual(
            sign_request.field_ids.filtered(lambda f: f.role == "Seller").participant_id, seller
        )

    def test_access(self):
        """Managers create and edit templates; salespeople only read and use them, through
        any path (the external API calls the same ORM methods)."""
        template_as_user = self.template.with_user(self.user_a)
        self.assertEqual(template_as_user.name, "Service agreement")
        with mute_logger("odoo.addons.base.models.ir_model"):
            with self.assertRaises(AccessError):
                template_as_user.write({"name": "Mine now"})
            with self.assertRaises(AccessError):
                self.env["digital.sign.template"].with_user(self.user_a).create({"name": "New"})
            with self.assertRaises(AccessError):
                template_as_user.place_ids[0].write({"x0": 1})
            with self.assertRaises(AccessError):
                template_as_user.role_ids[0].write({"mandatory": False})
            with self.assertRaises(AccessError):
                template_as_user.unlink()
            with self.assertRaises(AccessError):
                self.env["digital.sign.template"].with_user(self.user_a).save_places_editor_data(
                    self.template.id, {"unlink": self.template.place_ids.ids}
                )
        self.template.with_user(self.manager).write({"name": "Service agreement v2"})
        self.assertEqual(self.template.name, "Service agreement v2")

    def test_shared_per_team_archived_duplicated(self):
        Template = self.env["digital.sign.template"]
        team_b_only = self._create_template("Team B terms", team_ids=[Command.set(self.team_b.ids)])
        visible = Template.with_user(self.user_a).search([]).ids
        self.assertIn(self.template.id, visible)
        self.assertNotIn(team_b_only.id, visible)
        self.assertIn(team_b_only.id, Template.with_user(self.user_b).search([]).ids)
        copy = self.template.with_user(self.manager).copy()
        self.assertEqual(copy.name, "Service agreement (copy)")
        self.assertEqual(sorted(copy.role_ids.mapped("name")), ["Customer", "Seller"])
        self.assertEqual(len(copy.place_ids), 3)
        self.assertEqual(copy.place_ids.role_id, copy.role_ids)
        self.assertEqual(copy.version, 1)
        copy.with_user(self.manager).action_archive()
        self.assertNotIn(copy.id, Template.with_user(self.user_a).search([]).ids)
        tag = self.env["digital.sign.template.tag"].create({"name": "HR"})
        self.template.tag_ids = tag
        self.assertEqual(
            Template.with_user(self.user_a).search([("tag_ids", "in", tag.ids)]), self.template
        )

    def test_places_editor_on_template(self):
        """The places editor's two calls work on a template (its roles stand for the
        participants)."""
        Template = self.env["digital.sign.template"].with_user(self.manager)
        data = Template.get_places_editor_data(self.template.id)
        self.assertEqual(len(data["pages"]), 3)
        self.assertEqual(len(data["places"]), 3)
        customer = self.template.role_ids.filtered(lambda r: r.name == "Customer")
        data = Template.save_places_editor_data(
            self.template.id,
            {
                "create": [
                    {
                        "page": 1,
                        "kind": "initials",
                        "participant_id": customer.id,
                        "mandatory": True,
                        "x0": 500,
                        "y0": 780,
                        "width": 60,
                        "height": 30,
                    }
                ]
            },
        )
        self.assertEqual(len(data["places"]), 4)
        self.assertEqual(
            self.template.place_ids.filtered(lambda p: p.kind == "initials").role_id, customer
        )
        data = (
            self.env["digital.sign.template"]
            .with_user(self.user_a)
            .get_places_editor_data(self.template.id)
        )
        self.assertFalse(data["editable"])


@tagged("post_install", "-at_install")
class TestDigitalSignTemplateReminders(DigitalSignTemplateCommon):
    """A template's reminder plan: copied to each document sent from it, honoured by the
    reminder cron, never changed by a later edit of the template."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry_enter_test_mode_cls()  # the scheduled actions' cursors see this test
        # The settings' plan: a first reminder after 3 days, then every 3 days, at most 5.
        for key, value in (("first_days", 3), ("interval_days", 3), ("max", 5)):
            cls.env["ir.config_parameter"].sudo().set_param(f"digital_sign.reminder_{key}", value)

    def _reminders(self, sign_request):
        return sign_request.participant_ids.mapped("reminder_count")

    def test_plans_of_templates(self):
        """A 1-day plan reminds after a day, where the settings' plan would not yet; a
        template without reminders sends none; the plan is the sent document's own."""
        self.template.with_user(self.manager).write(
            {
                "reminder_mode": "custom",
                "reminder_first_days": 1,
                "reminder_interval_days": 2,
                "reminder_max": 2,
            }
        )
        settings_template = self._create_template("Settings agreement")
        silent_template = self._create_template("Silent agreement", reminder_mode="none")
        self.assertEqual(settings_template.reminder_mode, "settings")
        start = fields.Datetime.now().replace(microsecond=0)
        with freeze_time(start):
            planned = self._send_with_wizard(self._create_quotation(), self.user_a)
            by_settings = self._send_with_wizard(
                self._create_quotation(), self.user_a, template=settings_template
            )
            silent = self._send_with_wizard(
                self._create_quotation(), self.user_a, template=silent_template
            )
        self.assertEqual(
            (planned.reminder_mode, planned.reminder_first_days, planned.reminder_max),
            ("custom", 1, 2),
        )
        self.assertEqual((by_settings.reminder_mode, silent.reminder_mode), ("settings", "none"))
        self.assertEqual(planned._get_reminder_plan(), (1, 2, 2))
        self.assertEqual(by_settings._get_reminder_plan(), (3, 3, 5))
        self.assertIsNone(silent._get_reminder_plan())
        cron = self.env.ref("digital_sign.ir_cron_send_reminders")

        def run(days):
            with freeze_time(start + timedelta(days=days)):
                cron.method_direct_trigger()
            return [self._reminders(r) for r in (planned, by_settings, silent)]

        self.assertEqual(run(0.9), [[0, 0], [0, 0], [0, 0]], "nothing before a day")
        self.assertEqual(run(1.01), [[1, 1], [0, 0], [0, 0]], "the 1-day plan only")
        self.assertEqual(run(2.5), [[1, 1], [0, 0], [0, 0]], "then every 2 days")
        self.assertEqual(run(3.1), [[2, 2], [1, 1], [0, 0]], "the settings' plan after 3 days")
        self.assertEqual(run(6.2), [[2, 2], [2, 2], [0, 0]], "at most 2 for the template's plan")
        self.assertEqual(run(12.5), [[2, 2], [3, 3], [0, 0]], "no reminders, ever")
        reminders = (
            self.env["mail.mail"]
            .sudo()
            .search(
                [
                    ("digital_sign_participant_id", "in", planned.participant_ids.ids),
                    ("digital_sign_purpose", "=", "reminder"),
                ]
            )
        )
        self.assertEqual(len(reminders), 4)
        self.assertEqual(len(planned.event_ids.filtered(lambda e: e.event_type == "reminded")), 4)
        self.assertFalse(silent.event_ids.filtered(lambda e: e.event_type == "reminded"))

    def test_template_edit_keeps_the_plan_of_sent_documents(self):
        """Editing the template's plan later changes no sent document, and makes a new
        version of a used template (not of an unused one, nor for the same values)."""
        template = self.template.with_user(self.manager)
        template.write({"reminder_mode": "custom", "reminder_first_days": 1})
        self.assertEqual(template.version, 1, "not used yet: no new version")
        start = fields.Datetime.now().replace(microsecond=0)
        with freeze_time(start):
            sent = self._send_with_wizard(self._create_quotation(), self.user_a)
        template.write({"reminder_mode": "custom", "reminder_first_days": 1})
        self.assertEqual(template.version, 1, "the same plan: no new version")
        template.write({"reminder_mode": "none"})
        self.assertEqual(template.version, 2, "another plan: a new version")
        sent.invalidate_recordset()
        self.assertEqual((sent.reminder_mode, sent.reminder_first_days), ("custom", 1))
        self.assertEqual(sent.template_version, 1)
        with freeze_time(start + timedelta(days=1, hours=1)):
            self.env.ref("digital_sign.ir_cron_send_reminders").method_direct_trigger()
        self.assertEqual(self._reminders(sent), [1, 1], "its own plan, not the template's now")
        # The plan of a sent document is the flow's: no user changes it.
        with mute_logger("odoo.addons.base.models.ir_rule"), self.assertRaises(AccessError):
            sent.with_user(self.user_a).write({"reminder_mode": "none"})

    def test_plan_of_its_own_needs_sensible_values(self):
        with self.assertRaisesRegex(ValidationError, "at least one reminder"):
            self.template.with_user(self.manager).write(
                {"reminder_mode": "custom", "reminder_max": 0}
            )
        # The values of an unused mode do not matter.
        self.template.with_user(self.manager).write({"reminder_mode": "none", "reminder_max": 0})
