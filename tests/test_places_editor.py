"""The places editor: its data, its one-call save under the model's rules, the page images
it shows (logged-in users with access only), and the editor itself in Chromium."""

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import DigitalSignCommon, make_pdf


class PlacesEditorCommon(DigitalSignCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        two_pages = make_pdf(
            [
                {
                    "texts": [
                        (72, 600, "Customer: {{sign:Customer}}"),
                        (72, 650, "Date: {{date:Customer}}"),
                        (320, 600, "Cosigner: {{sign:Cosigner:optional}}"),
                    ]
                },
                {"texts": [(72, 150, "Initials: {{initials:Customer}}")]},
            ]
        )
        cls.request = cls._create_request(
            pdf=two_pages,
            user=cls.user_a,
            participants=[
                {
                    "partner_id": cls.customer.id,
                    "name": cls.customer.name,
                    "email": cls.customer.email,
                    "role": "Customer",
                },
                {
                    "partner_id": cls.cosigner.id,
                    "name": cls.cosigner.name,
                    "email": cls.cosigner.email,
                    "role": "Cosigner",
                    "mandatory": False,
                },
            ],
        )
        fields_by = {(f.kind, f.role): f for f in cls.request.field_ids}
        cls.customer_sign = fields_by["signature", "Customer"]
        cls.customer_date = fields_by["date", "Customer"]
        cls.cosigner_sign = fields_by["signature", "Cosigner"]
        cls.customer_initials = fields_by["initials", "Customer"]
        cls.ingrid, cls.carl = cls.request.participant_ids.sorted("id")
        cls.Field = cls.env["digital.sign.field"]


@tagged("post_install", "-at_install")
class TestPlacesEditorData(PlacesEditorCommon):
    def test_editor_data_describes_pages_participants_and_places(self):
        data = self.Field.with_user(self.user_a).get_places_editor_data(self.request.id)
        self.assertTrue(data["editable"])
        self.assertEqual(len(data["pages"]), self.request.page_count)
        width, height = self.request.page_geometry[0]
        self.assertEqual((data["pages"][0]["width"], data["pages"][0]["height"]), (width, height))
        self.assertIn(self.request.original_sha256, data["pages"][0]["src"])
        self.assertEqual(
            [p["name"] for p in data["participants"]], ["Ingrid Customer", "Carl Cosigner"]
        )
        place = next(p for p in data["places"] if p["id"] == self.customer_sign.id)
        self.assertEqual(place["participant_id"], self.ingrid.id)
        self.assertAlmostEqual(place["width"], self.customer_sign.x1 - self.customer_sign.x0)
        self.assertEqual(data["default_sizes"]["signature"], (100, 50))
        self.assertEqual([p["page"] for p in data["places"] if p["kind"] == "initials"], [2])

    def test_save_creates_moves_and_removes_in_one_call(self):
        date_x0, date_width = self.customer_date.x0, self.customer_date.x1 - self.customer_date.x0
        data = self.Field.with_user(self.user_a).save_places_editor_data(
            self.request.id,
            {
                "create": [
                    {
                        "page": 1,
                        "kind": "initials",
                        "participant_id": self.carl.id,
                        "mandatory": False,
                        "x0": 100,
                        "y0": 120,
                        "width": 60,
                        "height": 30,
                    }
                ],
                "write": [
                    [self.customer_date.id, {"x0": date_x0 + 5}],
                    [self.cosigner_sign.id, {"mandatory": True, "participant_id": self.ingrid.id}],
                ],
                "unlink": [self.customer_sign.id],
            },
        )
        self.assertFalse(self.customer_sign.exists())
        self.assertAlmostEqual(self.customer_date.x0, date_x0 + 5)
        self.assertAlmostEqual(
            self.customer_date.x1 - self.customer_date.x0,
            date_width,
            msg="moving a place keeps its size",
        )
        self.assertTrue(self.cosigner_sign.mandatory)
        self.assertEqual(self.cosigner_sign.participant_id, self.ingrid)
        initials = self.request.field_ids.filtered(lambda f: f.source == "manual")
        self.assertRecordValues(
            initials,
            [
                {
                    "kind": "initials",
                    "source": "manual",
                    "participant_id": self.carl.id,
                    "mandatory": False,
                    "x0": 100,
                    "y0": 120,
                    "x1": 160,
                    "y1": 150,
                }
            ],
        )
        self.assertEqual({p["id"] for p in data["places"]}, set(self.request.field_ids.ids))

    def test_save_is_all_or_nothing(self):
        width, _height = self.request.page_geometry[0]
        with self.assertRaises(ValidationError):
            self.Field.with_user(self.user_a).save_places_editor_data(
                self.request.id,
                {
                    "unlink": [self.customer_sign.id],
                    "write": [[self.customer_date.id, {"x0": width - 10}]],
                },
            )
        self.assertTrue(self.customer_sign.exists(), "a refused save removes nothing")

    def test_save_refuses_foreign_places_and_participants(self):
        other = self._create_request(name="Other", user=self.user_a)
        with self.assertRaisesRegex(UserError, "do not belong"):
            self.Field.with_user(self.user_a).save_places_editor_data(
                self.request.id, {"unlink": other.field_ids.ids}
            )
        self.assertTrue(other.field_ids)
        with self.assertRaises(ValidationError):
            self.Field.with_user(self.user_a).save_places_editor_data(
                self.request.id,
                {
                    "write": [
                        [self.customer_sign.id, {"participant_id": other.participant_ids.id}]
                    ],
                },
            )

    def test_save_refused_once_sent(self):
        self.request.with_user(self.user_a).action_send()
        data = self.Field.with_user(self.user_a).get_places_editor_data(self.request.id)
        self.assertFalse(data["editable"])
        with self.assertRaisesRegex(UserError, "draft"):
            self.Field.with_user(self.user_a).save_places_editor_data(
                self.request.id, {"unlink": [self.customer_sign.id]}
            )
        self.assertTrue(self.customer_sign.exists())

    def test_another_team_cannot_open_the_editor(self):
        with self.assertRaises(AccessError):
            self.Field.with_user(self.user_b).get_places_editor_data(self.request.id)
        with self.assertRaises(AccessError):
            self.Field.with_user(self.user_b).save_places_editor_data(
                self.request.id, {"unlink": [self.customer_sign.id]}
            )
        self.assertTrue(self.customer_sign.exists())
        with self.assertRaises(AccessError):
            self.request.with_user(self.user_b).action_open_places_editor()

    def test_list_header_opens_the_editor_of_its_document(self):
        action = self.request.with_user(self.user_a).action_count_signatures()
        fields_in_list = self.env["digital.sign.field"].with_context(action["context"])  # pylint: disable=context-overridden
        editor = fields_in_list.browse().action_open_places_editor()
        self.assertEqual(editor["tag"], "digital_sign.places_editor")
        self.assertEqual(editor["params"], {"request_id": self.request.id})


@tagged("post_install", "-at_install")
class TestPlacesEditorPages(PlacesEditorCommon, HttpCase):
    def _page_url(self, page=1):
        return f"/digital_sign/backend/page/{self.request.id}/{page}"

    def test_page_image_for_users_with_access_only(self):
        self.authenticate("sign_user_a", "sign_user_a")
        response = self.url_open(self._page_url())
        self.assertEqual(response.status_code, 200)
        self.assertIn(response.headers["Content-Type"], ("image/png", "image/jpeg"))
        self.assertIn("private", response.headers["Cache-Control"])
        self.assertEqual(self.url_open(self._page_url(page=9)).status_code, 404)
        self.assertEqual(self.url_open("/digital_sign/backend/page/999999/1").status_code, 404)

        self.authenticate("sign_user_b", "sign_user_b")
        self.assertEqual(
            self.url_open(self._page_url()).status_code,
            404,
            "another team's document looks like no document",
        )

        new_test_user(self.env, login="sign_portal", groups="base.group_portal")
        self.authenticate("sign_portal", "sign_portal")
        self.assertEqual(
            self.url_open(self._page_url()).status_code,
            404,
            "a portal user (even the customer) has no backend pages",
        )

    def test_page_image_needs_a_login(self):
        self.authenticate(None, None)
        response = self.url_open(self._page_url(), allow_redirects=False)
        self.assertIn(response.status_code, (302, 303))
        self.assertIn("/web/login", response.headers["Location"])

    def test_tour_place_editor(self):
        date_before = (self.customer_date.x0, self.customer_date.y0)
        width, height = self.request.page_geometry[0]
        self.start_tour(
            f"/odoo/digital.sign.request/{self.request.id}",
            "digital_sign_places_editor",
            login="sign_user_a",
        )
        self.assertFalse(self.customer_sign.exists(), "removed in the editor")
        self.assertAlmostEqual(
            self.customer_date.x0,
            date_before[0] + 2,
            places=2,
            msg="nudged once, saved; nudged again, saved on leaving",
        )
        self.assertAlmostEqual(self.customer_date.y0, date_before[1] + 10, places=2)
        self.assertRecordValues(self.cosigner_sign, [{"x0": 0, "y0": 0, "mandatory": True}])
        moved = self.customer_initials
        self.assertEqual(moved.page, 1, "dragged from page 2 onto page 1")
        self.assertAlmostEqual(moved.x0, 0, places=2)
        self.assertAlmostEqual(moved.y1, height, places=2, msg="down to the bottom of page 1")
        initials = self.request.field_ids.filtered(
            lambda f: f.kind == "initials" and f.source == "manual"
        )
        self.assertEqual(len(initials), 1)
        self.assertRecordValues(
            initials, [{"source": "manual", "participant_id": self.carl.id, "mandatory": True}]
        )
        self.assertAlmostEqual((initials.x0 + initials.x1) / 2, width / 2, delta=1)
        self.assertAlmostEqual((initials.y0 + initials.y1) / 2, height / 2, delta=1)
        self.assertAlmostEqual(initials.x1 - initials.x0, 60, places=2)

    def test_tour_place_editor_on_a_sent_document_changes_nothing(self):
        self.request.with_user(self.user_a).action_send()
        before = self.request.field_ids.read(["page", "x0", "y0", "x1", "y1", "mandatory"])
        self.start_tour(
            f"/odoo/digital.sign.request/{self.request.id}",
            "digital_sign_places_editor_readonly",
            login="sign_user_a",
        )
        self.request.field_ids.invalidate_recordset()
        self.assertEqual(
            self.request.field_ids.read(["page", "x0", "y0", "x1", "y1", "mandatory"]), before
        )
