"""The public pages in the reader's language: the signing page in the participant's language
(the sender's choice, else the contact's), their dates in the participant's time zone, a
language switcher whose choice is kept for the session and validated, the consent recorded
in the words the participant read; the verification page in the visitor's language; Chinese
text in the signed PDF and in the certificate of completion."""

import base64
import hashlib
import json
import re
from datetime import datetime
from unittest.mock import patch

import pymupdf

from odoo import fields
from odoo.tests import HttpCase, tagged
from odoo.tests.common import Opener

from .common import DigitalSignCommon, make_pdf, signature_data_url
from .test_seal import SealTestMixin

PNG_SIGNATURE = signature_data_url()
GENERATE_CODE = "odoo.addons.digital_sign.engine.otp.generate_code"
DEADLINE = datetime(2099, 11, 23, 13, 5)  # UTC, standard time in Europe
CONSENT_SV = "Jag samtycker till att signera detta dokument elektroniskt."
CONSENT_ZH = "我同意以电子方式签署本文件。"


def font_program_size(doc, xref):
    """The stored (compressed) size of the font program of the Type0 font ``xref``."""
    descendant = int(doc.xref_get_key(xref, "DescendantFonts")[1].strip("[]").split()[0])
    descriptor = int(doc.xref_get_key(descendant, "FontDescriptor")[1].split()[0])
    program = int(doc.xref_get_key(descriptor, "FontFile2")[1].split()[0])
    return len(doc.xref_stream_raw(program))


class PageLangCommon(DigitalSignCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for code in ("sv_SE", "zh_CN", "fr_FR"):
            cls.env["res.lang"]._activate_lang(code)
        cls.env["ir.module.module"]._load_module_terms(
            ["digital_sign"], ["sv_SE", "zh_CN", "fr_FR"]
        )
        cls.ingrid = cls.env["res.partner"].create(
            {
                "name": "Ingrid Åberg",
                "email": "ingrid.aberg@example.com",
                "lang": "sv_SE",
                "tz": "Europe/Stockholm",
            }
        )
        cls.wang = cls.env["res.partner"].create(
            {
                "name": "王芳",
                "email": "wang.fang@example.com",
                "lang": "zh_CN",
                "tz": "Asia/Shanghai",
            }
        )

    def _sent_to(self, partner, pdf=None, **values):
        request = self._create_request(
            pdf=pdf,
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
        request.deadline = DEADLINE
        return request

    def _get(self, participant, query=""):
        response = self.url_open(participant._get_signing_path() + query, allow_redirects=False)
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertNotIn("Traceback", response.text)
        return response

    def _html_lang(self, response):
        match = re.search(r"<html[^>]*\slang=\"([^\"]+)\"", response.text)
        return match and match.group(1)

    def _csrf(self, response):
        return re.search(r'csrf_token: "([^"]+)"', response.text).group(1)

    def _rpc(self, participant, route, csrf, **params):
        return self.make_jsonrpc_request(
            f"{participant._get_signing_path()}/{route}", {**params, "csrf_token": csrf}
        )

    def _other_browser(self):
        """A browser with no cookie: a new session."""
        self.opener = Opener(self)


@tagged("post_install", "-at_install")
class TestSigningPageLanguage(PageLangCommon):
    def test_a_swedish_participant_reads_the_page_in_swedish(self):
        participant = self._sent_to(self.ingrid).participant_ids
        page = self._get(participant)
        self.assertEqual(self._html_lang(page), "sv-SE")
        text = page.text
        for swedish in ("Signera här", "Ladda ner dokumentet (PDF)", "Nästa fält", "Språk"):
            self.assertIn(swedish, text)
        for english in ("Sign here", "Download the document (PDF)", "Next field"):
            self.assertNotIn(f">{english}<", text)
        # the deadline in Swedish format, in the participant's time zone, the zone named
        self.assertIn("Signera före 2099-11-23 14:05:00 (centraleuropeisk normaltid)", text)
        # the consent text they will accept, in Swedish
        self.assertIn(CONSENT_SV, text)
        # the page's script knows the language and the time zone
        self.assertIn('data-lang="sv_SE"', text)
        self.assertIn('data-tz="Europe/Stockholm"', text)

    def test_a_chinese_participant_reads_the_page_in_chinese(self):
        participant = self._sent_to(self.wang).participant_ids
        page = self._get(participant)
        self.assertEqual(self._html_lang(page), "zh-CN")
        text = page.text
        for chinese in ("在此签名", "下载文件（PDF）", "下一个字段", "语言", CONSENT_ZH):
            self.assertIn(chinese, text)
        self.assertNotIn(">Sign here<", text)
        self.assertIn("签署截止 2099/11/23 21:05:00 (中国标准时间)", text)

    def test_the_senders_choice_wins_and_the_owners_time_zone_is_the_fallback(self):
        """The language chosen in the wizard beats the contact's; a contact without a time
        zone reads the times in the document owner's."""
        self.customer.lang = "sv_SE"
        self.env.user.tz = "Europe/Paris"
        request = self._create_request(
            participants=[
                {
                    "partner_id": self.customer.id,
                    "name": self.customer.name,
                    "email": self.customer.email,
                    "role": "Customer",
                    "lang": "fr_FR",
                }
            ],
        )
        request.action_send()
        request.deadline = DEADLINE
        self.assertFalse(self.customer.tz)
        self.assertEqual(request.user_id, self.env.user)
        page = self._get(request.participant_ids)
        self.assertEqual(self._html_lang(page), "fr-FR")
        self.assertIn(
            "Signer avant le 23/11/2099 14:05:00 (heure normale d’Europe centrale)", page.text
        )

    def test_the_switcher_offers_the_installed_languages_each_named_in_itself(self):
        participant = self._sent_to(self.ingrid).participant_ids
        text = self._get(participant).text
        form = text.split('<form class="o_ds_lang"', 1)[1].split("</form>", 1)[0]
        self.assertIn('method="get"', form)
        self.assertIn('<label for="o_ds_lang_select" class="o_ds_lang_label">Språk</label>', form)
        self.assertIn('<select id="o_ds_lang_select" name="lang"', form)
        options = re.findall(r"<option ([^>]*)>([^<]*)</option>", form)
        offered = {
            re.search(r'value="([^"]+)"', attrs).group(1): (
                re.search(r'lang="([^"]+)"', attrs).group(1),
                name,
                "selected" in attrs,
            )
            for attrs, name in options
        }
        installed = dict(self.env["res.lang"].get_installed())
        self.assertEqual(
            offered,
            {
                "en_US": ("en-US", "English (US)", False),
                "fr_FR": ("fr-FR", "Français", False),
                "sv_SE": ("sv-SE", "Svenska", True),
                "zh_CN": ("zh-CN", "简体中文", False),
            },
        )
        self.assertNotIn("de_DE", installed, "a language not installed is not offered")
        self.assertIn('type="submit"', form)

    def test_switching_renders_the_page_and_its_answers_in_the_choice_for_the_session(self):
        participant = self._sent_to(self.ingrid).participant_ids
        page = self._get(participant, "?lang=zh_CN")
        self.assertEqual(self._html_lang(page), "zh-CN")
        self.assertIn("在此签名", page.text)
        self.assertIn("签署截止 2099/11/23 14:05:00 (中欧标准时间)", page.text)
        # kept for the session: the bare link, and the page's calls, are in Chinese now
        page = self._get(participant)
        self.assertEqual(self._html_lang(page), "zh-CN")
        field = participant.request_id.field_ids
        result = self._rpc(
            participant,
            "submit",
            self._csrf(page),
            values={str(field.id): PNG_SIGNATURE},
            consent=False,
            document_sha256=participant.request_id.original_sha256,
        )
        self.assertEqual(result["errors"]["consent"], "请同意以电子方式签署。")
        # a BCP 47 tag works too
        self.assertEqual(self._html_lang(self._get(participant, "?lang=fr-FR")), "fr-FR")
        # another browser reads the participant's own language
        self._other_browser()
        self.assertEqual(self._html_lang(self._get(participant)), "sv-SE")
        self.assertEqual(participant.state, "sent", "switching changes nothing on the record")

    def test_a_hostile_language_gets_the_default_never_an_error(self):
        participant = self._sent_to(self.ingrid).participant_ids
        events = len(participant.request_id.event_ids)
        for value in (
            "xx_XX",
            "de_DE",  # a language the page offers, but not installed
            "it",
            "<script>alert(1)</script>",
            "sv_SE' OR 1=1 --",
            "%00",
            "ä" * 5,
            "x" * 10000,
            "",
            "../../etc/passwd",
        ):
            with self.subTest(lang=value[:20]):
                response = self.url_open(
                    participant._get_signing_path(), params={"lang": value}, allow_redirects=False
                )
                self.assertEqual(response.status_code, 200)
                self.assertEqual(self._html_lang(response), "sv-SE")
                self.assertNotIn("<script>alert", response.text)
        # a repeated parameter: the first value counts, still no error
        response = self.url_open(participant._get_signing_path() + "?lang=zz&lang=zh_CN")
        self.assertEqual(response.status_code, 200)
        # an invalid value does not undo a valid choice
        self._get(participant, "?lang=fr_FR")
        self.assertEqual(self._html_lang(self._get(participant, "?lang=nope")), "fr-FR")
        self.assertEqual(len(participant.request_id.event_ids), events)

    def test_the_consent_is_recorded_in_the_language_the_participant_read(self):
        """A Swedish participant switches to Chinese and signs: the consent text recorded
        (and its hash in the audit trail) is the Chinese one they read; the certificate of
        completion keeps its labels in the document's language."""
        request = self._sent_to(self.ingrid)
        request.user_id.lang = "sv_SE"
        participant = request.participant_ids
        page = self._get(participant, "?lang=zh_CN")
        self.assertIn(CONSENT_ZH, page.text)
        result = self._rpc(
            participant,
            "submit",
            self._csrf(page),
            values={str(request.field_ids.id): PNG_SIGNATURE},
            consent=True,
            document_sha256=request.original_sha256,
            lang="zh_CN",
        )
        self.assertEqual(result, {"status": "ok"})
        participant.invalidate_recordset()
        self.assertTrue(participant.consent_text.startswith(CONSENT_ZH))
        consent = request.event_ids.filtered(lambda e: e.event_type == "consent")
        details = json.loads(consent.details)
        self.assertEqual(details["lang"], "zh_CN")
        self.assertEqual(
            details["text_sha256"], hashlib.sha256(participant.consent_text.encode()).hexdigest()
        )
        data = request._prepare_completion_data()
        self.assertEqual(data.labels["consent_text"], "Godkänd samtyckestext")
        self.assertEqual(data.participants[0].consent_text, participant.consent_text)

    def test_the_page_says_which_language_it_showed_and_a_bad_one_is_refused(self):
        """The page sends the language it was shown in with the signature: it wins over a
        choice made since in another tab; a value that is no offered language is refused and
        changes nothing."""
        request = self._sent_to(self.ingrid)
        participant = request.participant_ids
        page = self._get(participant)  # Swedish
        self._get(participant, "?lang=fr_FR")  # another tab switches to French
        params = {
            "values": {str(request.field_ids.id): PNG_SIGNATURE},
            "consent": True,
            "document_sha256": request.original_sha256,
        }
        for bad in ("xx_XX", "de_DE", "x" * 17, 42, ["sv_SE"], {"a": 1}, True):
            with self.subTest(lang=str(bad)[:20]):
                result = self._rpc(participant, "submit", self._csrf(page), lang=bad, **params)
                self.assertEqual(result["status"], "invalid")
                participant.invalidate_recordset()
                self.assertEqual(participant.state, "sent")
        result = self._rpc(participant, "submit", self._csrf(page), lang="sv_SE", **params)
        self.assertEqual(result, {"status": "ok"})
        participant.invalidate_recordset()
        self.assertTrue(participant.consent_text.startswith(CONSENT_SV))

    def test_times_in_the_answers_are_in_the_participants_language_and_zone(self):
        """A lock after wrong codes says until when in the participant's words and zone."""
        request = self._create_request(
            participants=[
                {
                    "partner_id": self.wang.id,
                    "name": self.wang.name,
                    "email": self.wang.email,
                    "mobile": "+8613800138000",
                    "role": "Customer",
                    "otp_channel": "sms",
                }
            ]
        )
        request.action_send()
        participant = request.participant_ids
        csrf = self._csrf(self._get(participant))
        with patch(GENERATE_CODE, return_value="111111"):
            self.assertEqual(self._rpc(participant, "otp/send", csrf)["status"], "ok")
        lefts = [
            self._rpc(participant, "otp/verify", csrf, code="999999").get("left") for _i in range(4)
        ]
        self.assertEqual(lefts, [4, 3, 2, 1])
        result = self._rpc(participant, "otp/verify", csrf, code="999999")
        self.assertEqual(result["status"], "locked")
        until = fields.Datetime.to_datetime(result["until"])
        self.assertEqual(result["until_text"], participant._format_page_time(until))
        self.assertRegex(
            result["until_text"], r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \(中国标准时间\)$"
        )
        self.assertEqual(
            participant._format_page_time(datetime(2099, 1, 2, 3, 4, 5)),
            "2099/01/02 11:04:05 (中国标准时间)",
        )

    def test_the_not_found_page_names_its_language(self):
        response = self.url_open("/digital_sign/s/1/" + "x" * 43)
        self.assertEqual(response.status_code, 404)
        self.assertRegex(response.text, r"<html lang=\"[a-z]{2}(-[A-Z]{2})?\"")

    def test_the_script_gets_the_addons_terms_in_the_page_language(self):
        """The page's script loads its terms from the frontend translations: the addon's
        JavaScript terms are among them."""
        response = self.url_open("/website/translations?lang=sv_SE")
        self.assertEqual(response.status_code, 200)
        modules = response.json()["modules"]
        messages = {m["id"]: m["string"] for m in modules["digital_sign"]["messages"]}
        self.assertEqual(
            messages["Please accept to sign electronically."], "Godkänn att signera elektroniskt."
        )
        self.assertEqual(
            messages["%(done)s of %(total)s required places filled"],
            "%(done)s av %(total)s obligatoriska fält ifyllda",
        )

    def test_tour_a_chinese_participant_signs_then_switches_to_swedish(self):
        """In Chromium: the page's own messages come in Chinese, the participant signs, then
        switches the page to Swedish with the keyboard-usable switcher."""
        request = self._sent_to(self.wang)
        participant = request.participant_ids
        self.start_tour(participant._get_signing_path(), "digital_sign_page_in_chinese")
        self.assertEqual(participant.state, "signed")
        self.assertTrue(participant.consent_text.startswith(CONSENT_ZH))


@tagged("post_install", "-at_install")
class TestVerifyPageLanguage(SealTestMixin, PageLangCommon):
    def test_a_verdict_in_chinese_with_its_times_in_the_documents_zone(self):
        self.env.user.tz = "Asia/Shanghai"
        sign_request = self._sealed_request(
            participants=[
                {
                    "partner_id": self.wang.id,
                    "name": self.wang.name,
                    "email": self.wang.email,
                    "role": "Customer",
                }
            ]
        )
        self.assertEqual(sign_request.user_id.tz, "Asia/Shanghai")
        page = self.url_open("/digital_sign/verify", headers={"Accept-Language": "zh-CN"})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        shown = re.search(r'<input type="hidden" name="lang" value="([^"]+)"', page.text).group(1)
        self.assertEqual(shown, "zh_CN")
        response = self.url_open(
            "/digital_sign/verify",
            data={"csrf_token": csrf, "lang": shown},
            files={"document": ("signed.pdf", self._signed_bytes(sign_request), "application/pdf")},
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self._html_lang(response), "zh-CN")
        self.assertIn('data-outcome="valid"', response.text)
        facts = response.text.split('class="o_ds_facts o_ds_document_facts"', 1)[1]
        self.assertIn("<dt>已完成</dt>", facts)
        self.assertRegex(facts, r"<dd>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \(中国标准时间\)</dd>")
        self.assertIn("王芳", facts)

    def test_the_browsers_language_then_the_visitors_choice(self):
        response = self.url_open(
            "/digital_sign/verify", headers={"Accept-Language": "sv-SE,sv;q=0.9"}
        )
        self.assertEqual(self._html_lang(response), "sv-SE")
        self.assertIn("Verifiera ett signerat dokument", response.text)
        # a bare language matches the installed variant
        response = self.url_open("/digital_sign/verify", headers={"Accept-Language": "zh"})
        self.assertEqual(self._html_lang(response), "zh-CN")
        self.assertIn("验证已签署的文件", response.text)
        # a language the pages do not offer: the next one the browser accepts
        response = self.url_open(
            "/digital_sign/verify", headers={"Accept-Language": "it-IT,fr;q=0.5"}
        )
        self.assertEqual(self._html_lang(response), "fr-FR")
        # a choice on the page wins, is kept for the session, and keeps ?ref=
        response = self.url_open("/digital_sign/verify?ref=DS0001&lang=zh_CN")
        self.assertEqual(self._html_lang(response), "zh-CN")
        self.assertIn('name="ref" value="DS0001"', response.text.split('class="o_ds_lang"', 1)[1])
        response = self.url_open("/digital_sign/verify", headers={"Accept-Language": "sv-SE"})
        self.assertEqual(self._html_lang(response), "zh-CN")
        self.assertIn('<input type="hidden" name="lang" value="zh_CN"', response.text)

    def test_a_hostile_language_gets_the_default_never_an_error(self):
        for value in ("xx", "<b>", "x" * 5000, "de_DE", "ä"):
            with self.subTest(lang=value[:10]):
                response = self.url_open(
                    "/digital_sign/verify",
                    params={"lang": value},
                    headers={"Accept-Language": "sv-SE"},
                )
                self.assertEqual(response.status_code, 200)
                self.assertEqual(self._html_lang(response), "sv-SE")
        for header in ("*", "x" * 300, "zh-Hant-TW;q=abc", ";;;"):
            with self.subTest(header=header[:10]):
                response = self.url_open(
                    "/digital_sign/verify", headers={"Accept-Language": header}
                )
                self.assertEqual(response.status_code, 200)
                self.assertTrue(self._html_lang(response))

    def test_tour_the_verification_page_speaks_chinese(self):
        self.start_tour("/digital_sign/verify?lang=zh_CN", "digital_sign_verify_in_chinese")


@tagged("post_install", "-at_install")
class TestChineseInPdf(PageLangCommon):
    def test_chinese_names_and_text_in_the_signed_pdf_and_the_certificate(self):
        """A Chinese participant types Chinese into a text place and signs: the signed PDF
        carries the text (extractable, the font embedded as a subset) inside the place, and
        the certificate of completion their name and Chinese consent text."""
        pdf = make_pdf(
            [
                {
                    "texts": [
                        (72, 500, "Sign: {{sign:Customer}}"),
                        (72, 600, "Address: {{text:Customer}}"),
                    ]
                }
            ]
        )
        request = self._sent_to(self.wang, pdf=pdf, name="合同 2026")
        participant = request.participant_ids
        address = "北京市朝阳区建国路 88 号"
        values = {
            str(f.id): PNG_SIGNATURE if f.kind == "signature" else address
            for f in request.field_ids
        }
        result = participant.with_context(digital_sign_page_lang="zh_CN")._submit(
            values, True, request.original_sha256, ip="192.0.2.8", user_agent="test"
        )
        self.assertEqual(result["status"], "ok", result)
        self.env.ref("digital_sign.ir_cron_finalize_documents").method_direct_trigger()
        self.assertEqual(request.finalize_state, "done")
        signed = base64.b64decode(request.with_context(bin_size=False).signed_pdf)
        doc = pymupdf.open(stream=signed, filetype="pdf")
        place = request.field_ids.filtered(lambda f: f.kind == "text")
        box = pymupdf.Rect(place.x0, place.y0, place.x1, place.y1)
        self.assertEqual(" ".join(doc[0].get_textbox(box + (-1, -1, 1, 1)).split()), address)
        certificate_text = " ".join(
            "".join(doc[i].get_text() for i in range(1, doc.page_count)).split()
        )
        self.assertIn("王芳", certificate_text)
        self.assertIn("".join(CONSENT_ZH.split()), "".join(certificate_text.split()))
        # the Chinese glyphs come from an embedded font, subset to the glyphs used
        fonts = {
            font[0]: font[3]
            for pno in range(doc.page_count)
            for font in doc.get_page_fonts(pno, full=True)
        }
        cjk = [xref for xref, name in fonts.items() if "Droid Sans Fallback" in name]
        self.assertTrue(cjk, fonts)
        for xref in cjk:
            self.assertRegex(fonts[xref], r"^[A-Z]{6}\+", "a subset")
            self.assertEqual(doc.extract_font(xref)[1], "ttf", "embedded")
            self.assertLess(font_program_size(doc, xref), 20_000, "only the glyphs used")
