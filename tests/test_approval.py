"""Approval before sending (issue 14, part 1): OCA base_tier_validation on requests.

Rules are tier.definition records with domains on the document kind, the sales team, the
helpdesk team and the quotation's amount; a matching draft cannot be sent (form, wizard,
API) until every matching tier approved it; every decision is in the audit trail and on the
certificate of completion; a change after approval asks for approval again; and a salesperson
cannot approve their own document through the external API."""

import json
from datetime import datetime, timedelta

import pymupdf

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..engine import completion_certificate
from .common import b64
from .test_evidence import ExternalApiMixin
from .test_sale import DigitalSignSaleCommon


class ApprovalCommon(DigitalSignSaleCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Only this test's rules (the demo rule may be installed too).
        cls.env["tier.definition"].search([("model", "=", "digital.sign.request")]).active = False
        cls.sales_manager = new_test_user(
            cls.env,
            login="sales_boss",
            name="Sam Salesmanager",
            email="sam@example.com",
            groups="sales_team.group_sale_manager",
        )
        cls.rule_large_quote = cls.env["tier.definition"].create(
            {
                "name": "Quote above 50,000: sales manager",
                "model_id": cls.env.ref("digital_sign.model_digital_sign_request").id,
                "review_type": "group",
                "reviewer_group_id": cls.env.ref("sales_team.group_sale_manager").id,
                "definition_domain": "[('document_kind', '=', 'quote'), ('amount_total', '>', 50000)]",
                "has_comment": True,
                "notify_on_create": True,
                "exclude_requester": True,
            }
        )

    def _large_quotation(self, user=None):
        order = self._create_quotation(
            user=user,
            order_line=[Command.create({"product_id": self.product.id, "product_uom_qty": 50})],
        )  # 60,000 before tax
        self.assertGreater(order.amount_total, 50000)
        return order

    def _request_through_wizard(self, order, user=None):
        """Submit ``order`` through the sending wizard: (request, wizard's answer)."""
        wizard = self._open_wizard(order, user).save()
        result = wizard.action_send()
        return order.digital_sign_request_id, result

    def _decide(self, request, user, decision, reason):
        """Validate or reject as ``user`` through the comment wizard (a reason is required)."""
        request = request.with_user(user)
        action = request.validate_tier() if decision == "validate" else request.reject_tier()
        self.assertEqual(action["res_model"], "comment.wizard")
        wizard = (
            self.env["comment.wizard"]
            .with_user(user)
            .with_context(**action["context"])
            .create({"comment": reason})
        )
        wizard.add_comment()

    def _events(self, request, event_type):
        return request.sudo().event_ids.filtered(lambda e: e.event_type == event_type)


@tagged("post_install", "-at_install")
class TestApproval(ApprovalCommon):
    def test_a_large_quote_waits_for_a_sales_manager_then_goes_out(self):
        order = self._large_quotation()
        request, result = self._request_through_wizard(order)
        # The wizard did not send: it asked the reviewers and opened the draft.
        self.assertEqual(request.state, "draft")
        self.assertEqual(result["res_model"], "digital.sign.request")
        self.assertEqual(result["res_id"], request.id)
        review = request.sudo().review_ids
        self.assertEqual(review.definition_id, self.rule_large_quote)
        self.assertEqual(review.status, "pending")
        self.assertIn(self.sales_manager, review.reviewer_ids)
        self.assertNotIn(self.user_a, review.reviewer_ids, "four eyes: not the requester")
        # The reviewer was notified and can read what they approve.
        self.assertIn(self.sales_manager.partner_id, request.message_partner_ids)
        self.assertTrue(request.with_user(self.sales_manager).can_review)
        self.assertEqual(request.with_user(self.sales_manager).name, request.name)
        requested = self._events(request, "approval_requested")
        self.assertEqual(json.loads(requested.details)["tiers"], self.rule_large_quote.name)
        # Nothing goes out meanwhile: the form's button, the wizard's own call, the API.
        with self.assertRaisesRegex(UserError, "waiting for approval"):
            request.with_user(self.user_a).action_send()
        self.assertEqual(request.state, "draft")
        self.assertFalse(request.participant_ids.filtered("invited_at"))

        self._decide(request, self.sales_manager, "validate", "Discount agreed with the CFO")
        self.assertEqual(request.validation_status, "validated")
        approved = self._events(request, "approval_approved")
        self.assertEqual(approved.actor_id, self.sales_manager)
        self.assertEqual(
            json.loads(approved.details),
            {
                "tier": self.rule_large_quote.name,
                "by": self.sales_manager.name,
                "reason": "Discount agreed with the CFO",
            },
        )

        request.with_user(self.user_a).action_send()
        self.assertEqual(request.state, "sent")
        self.assertTrue(request.participant_ids.invited_at)

    def test_a_small_quote_is_sent_at_once(self):
        order = self._create_quotation()
        self.assertLess(order.amount_total, 50000)
        request = self._send(order)
        self.assertEqual(request.state, "sent")
        self.assertFalse(request.sudo().review_ids)
        self.assertFalse(self._events(request, "approval_requested"))

    def test_rules_by_kind_sales_team_helpdesk_team_and_amount(self):
        Definition = self.env["tier.definition"]
        model = self.env.ref("digital_sign.model_digital_sign_request")
        team_rule = Definition.create(
            {
                "name": "Team B",
                "model_id": model.id,
                "review_type": "individual",
                "reviewer_id": self.manager.id,
                "definition_domain": f"[('team_id', '=', {self.team_b.id})]",
            }
        )
        helpdesk_team = self.env["helpdesk.ticket.team"].create({"name": "Repairs"})
        helpdesk_rule = Definition.create(
            {
                "name": "Repairs",
                "model_id": model.id,
                "review_type": "individual",
                "reviewer_id": self.manager.id,
                "definition_domain": f"[('helpdesk_team_id', '=', {helpdesk_team.id})]",
            }
        )
        kind_rule = Definition.create(
            {
                "name": "Upsells",
                "model_id": model.id,
                "review_type": "individual",
                "reviewer_id": self.manager.id,
                "definition_domain": "[('document_kind', '=', 'upsell')]",
            }
        )
        cases = [
            (self._create_request(name="A", team_id=self.team_a.id), Definition),
            (self._create_request(name="B", team_id=self.team_b.id), team_rule),
            (self._create_request(name="C", helpdesk_team_id=helpdesk_team.id), helpdesk_rule),
            (self._create_request(name="D", document_kind="upsell"), kind_rule),
        ]
        for request, expected in cases:
            self.assertEqual(request._get_matching_tier_definitions(), expected)
        large = self._large_quotation()
        small = self._create_quotation()
        for order, expected in ((large, self.rule_large_quote), (small, Definition)):
            request = self._create_request(
                name=order.name, document_kind="quote", res_model="sale.order", res_id=order.id
            )
            self.assertEqual(request.amount_total, order.amount_total)
            self.assertEqual(request._get_matching_tier_definitions(), expected)

    def test_a_rejection_with_its_reason_blocks_sending(self):
        request, _result = self._request_through_wizard(self._large_quotation())
        self._decide(request, self.sales_manager, "reject", "Margin too low")
        self.assertEqual(request.validation_status, "rejected")
        rejected = self._events(request, "approval_rejected")
        self.assertEqual(json.loads(rejected.details)["reason"], "Margin too low")
        self.assertEqual(rejected.actor_id, self.sales_manager)
        with self.assertRaisesRegex(UserError, "rejected"):
            request.with_user(self.user_a).action_send()

    def test_a_change_after_approval_asks_for_approval_again(self):
        request, _result = self._request_through_wizard(self._large_quotation())
        self._decide(request, self.sales_manager, "validate", "Fine")
        place = request.field_ids.filtered(lambda f: f.kind == "signature")[:1]
        # Moving a signature place, as the salesperson does in the place editor.
        place.with_user(self.user_a).write({"x0": place.x0 + 40, "x1": place.x1 + 40})
        self.assertFalse(request.sudo().review_ids)
        reset = self._events(request, "approval_reset")
        self.assertEqual(json.loads(reset.details)["decisions_dropped"], 1)
        with self.assertRaisesRegex(UserError, "needs approval"):
            request.with_user(self.user_a).action_send()
        # Asked again, approved again, sent.
        request.with_user(self.user_a).request_validation()
        self._decide(request, self.sales_manager, "validate", "Still fine")
        # A new document restarts it too.
        request.with_user(self.user_a).write({"original_pdf": b64(self.pdf_two_roles)})
        self.assertFalse(request.sudo().review_ids)
        self.assertEqual(len(self._events(request, "approval_reset")), 2)

    def test_approval_is_checked_where_every_path_sends(self):
        """A bulk sender or any other code calls _send: the check holds there too."""
        request, _result = self._request_through_wizard(self._large_quotation())
        with self.assertRaisesRegex(UserError, "waiting for approval"):
            request.sudo()._send()
        self.assertEqual(request.state, "draft")

    def test_the_certificate_of_completion_lists_the_approval(self):
        request, _result = self._request_through_wizard(self._large_quotation())
        self._decide(request, self.sales_manager, "reject", "Wrong price")
        request.with_user(self.user_a).restart_validation()
        request.with_user(self.user_a).request_validation()
        self._decide(request, self.sales_manager, "validate", "Price corrected")
        data = request._prepare_completion_data(interim=True)
        self.assertEqual(
            data.approvals,
            (
                completion_certificate.CompletionApproval(
                    tier=self.rule_large_quote.name,
                    decision="Approved before sending",
                    by=self.sales_manager.name,
                    at=data.approvals[0].at,
                    reason="Price corrected",
                ),
            ),
        )
        pdf = completion_certificate.render_completion_certificate(data)
        text = " ".join(" ".join(page.get_text() for page in pymupdf.open("pdf", pdf)).split())
        self.assertIn("Approval before sending", text)
        self.assertIn("Price corrected", text)
        self.assertIn(self.sales_manager.name, text)


@tagged("post_install", "-at_install")
class TestApprovalExternalApi(ExternalApiMixin, ApprovalCommon, HttpCase):
    """The salesperson's own document, attacked through JSON-2 with their API key."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keys = {
            user: user.with_user(user)
            .env["res.users.apikeys"]
            ._generate(
                scope="rpc",
                name="approval tests",
                expiration_date=datetime.now() + timedelta(days=1),
            )
            for user in (cls.user_a, cls.sales_manager)
        }

    def assertRefused(self, user, model, method, **params):
        with mute_logger("odoo.http", "odoo.addons.rpc.controllers.json2"):
            ok, body = self.json2(user, model, method, **params)
        self.assertFalse(ok, f"{user.login} could {model}.{method}({params})")
        self.assertRegex(body["name"], r"odoo\.exceptions\.(AccessError|UserError|ValidationError)")
        return body

    def test_a_salesperson_cannot_approve_or_send_their_own_document(self):
        request, _result = self._request_through_wizard(self._large_quotation())
        review = request.sudo().review_ids
        model = "digital.sign.request"
        self.assertRefused(
            self.user_a,
            "tier.review",
            "write",
            ids=review.ids,
            vals={"status": "approved", "done_by": self.user_a.id},
        )
        self.assertRefused(
            self.user_a,
            "tier.review",
            "write",
            ids=review.ids,
            vals={"comment": "I approve myself"},
        )
        self.assertRefused(self.user_a, "tier.review", "unlink", ids=review.ids)
        self.assertRefused(
            self.user_a,
            "tier.review",
            "create",
            vals_list=[
                {
                    "model": model,
                    "res_id": request.id,
                    "definition_id": self.rule_large_quote.id,
                    "status": "approved",
                    "done_by": self.user_a.id,
                }
            ],
        )
        self.assertRefused(
            self.user_a, model, "write", ids=request.ids, vals={"validation_status": "validated"}
        )
        self.assertRefused(
            self.user_a,
            model,
            "write",
            ids=request.ids,
            vals={
                "review_ids": [
                    Command.create(
                        {
                            "model": model,
                            "definition_id": self.rule_large_quote.id,
                            "status": "approved",
                        }
                    )
                ]
            },
        )
        self.assertRefused(
            self.user_a,
            model,
            "write",
            ids=request.ids,
            vals={"approval_fingerprint": request._get_approval_fingerprint()},
        )
        # "Validate" and the comment wizard approve only the caller's own reviews.
        ok, _body = self.json2(self.user_a, model, "validate_tier", ids=request.ids)
        self.assertTrue(ok)
        ok, wizard_ids = self.json2(
            self.user_a,
            "comment.wizard",
            "create",
            vals_list=[
                {
                    "res_model": model,
                    "res_id": request.id,
                    "validate_reject": "validate",
                    "review_ids": [Command.set(review.ids)],
                    "comment": "ok",
                }
            ],
        )
        self.assertTrue(ok)
        self.assertRefused(self.user_a, "comment.wizard", "add_comment", ids=wizard_ids)
        self.assertRefused(self.user_a, model, "action_send", ids=request.ids)
        request.invalidate_recordset()
        self.assertEqual(review.status, "pending")
        self.assertEqual(request.validation_status, "pending")
        self.assertEqual(request.state, "draft")
        self.assertFalse(self._events(request, "approval_approved"))
        # The sales manager approves through the same API; then the salesperson sends.
        ok, _body = self.json2(
            self.sales_manager,
            "comment.wizard",
            "create",
            vals_list=[
                {
                    "res_model": model,
                    "res_id": request.id,
                    "validate_reject": "validate",
                    "review_ids": [Command.set(review.ids)],
                    "comment": "Approved by phone",
                }
            ],
        )
        ok, _body = self.json2(self.sales_manager, "comment.wizard", "add_comment", ids=_body)
        self.assertTrue(ok, _body)
        ok, _body = self.json2(self.user_a, model, "action_send", ids=request.ids)
        self.assertTrue(ok, _body)
        request.invalidate_recordset()
        self.assertEqual(request.state, "sent")
        self.assertEqual(self._events(request, "approval_approved").actor_id, self.sales_manager)


@tagged("post_install", "-at_install")
class TestApprovalTour(ApprovalCommon, HttpCase):
    def test_tour_approval_then_send(self):
        request, _result = self._request_through_wizard(self._large_quotation())
        url = f"/odoo/digital.sign.request/{request.id}"
        self.start_tour(url, "digital_sign_approval_validate", login="sales_boss")
        self.assertEqual(request.validation_status, "validated")
        self.assertEqual(
            json.loads(self._events(request, "approval_approved").details)["reason"],
            "Margin checked",
        )
        self.start_tour(url, "digital_sign_approval_send", login="sign_user_a")
        self.assertEqual(request.state, "sent")
