from odoo.tests import HttpCase, tagged

from .test_template import DigitalSignTemplateCommon


@tagged("post_install", "-at_install")
class TestDigitalSignTemplateTour(DigitalSignTemplateCommon, HttpCase):
    def test_tour_create_template_and_send(self):
        """In Chromium: a manager creates a template (upload, a role, a place drawn in the
        place editor) and sends it from the contacts list; the bulk send gives the customer
        a document with the template's places."""
        # The sender (admin) signs as the witness: an address to invite them at.
        self.env.ref("base.user_admin").email = "admin@example.com"
        self.start_tour(
            "/odoo/action-digital_sign.digital_sign_template_action",
            "digital_sign_template_send",
            login="admin",
        )
        template = self.env["digital.sign.template"].search([("name", "=", "Tour agreement")])
        self.assertEqual(template.page_count, 3)
        self.assertEqual(sorted(template.role_ids.mapped("name")), ["Customer", "Witness"])
        witness = template.role_ids.filtered(lambda r: r.name == "Witness")
        self.assertEqual(witness.fill_from, "sender")
        self.assertEqual(template.place_ids.filtered(lambda p: p.page == 1).role_id, witness)
        bulk = self.env["digital.sign.bulk"].search([("template_id", "=", template.id)])
        self.assertEqual(bulk.line_ids.res_id, self.customer.id)
        self.env.ref("digital_sign.ir_cron_bulk_send").method_direct_trigger()
        bulk.invalidate_recordset()
        self.assertEqual((bulk.state, bulk.sent_count), ("done", 1), bulk.line_ids.reason)
        sign_request = bulk.line_ids.request_id
        self.assertEqual(sign_request.state, "sent")
        self.assertEqual(sign_request.partner_id, self.customer)
        self.assertEqual(sorted(sign_request.field_ids.mapped("page")), [1, 3])
        self.assertEqual(
            sign_request.field_ids.filtered(lambda f: f.page == 1).participant_id.role, "Witness"
        )
