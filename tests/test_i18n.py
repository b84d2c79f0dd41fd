"""Every term of the addon is translated into the five languages its customers sign in.

The terms are exported from this database the way ``odoo-bin i18n export`` does (records,
views, Python, JavaScript), so a term added anywhere later fails this test until each
language has it: ``./scripts/i18n`` exports the .pot and lists what is missing.
"""

import ast
import os
import re

import polib

from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import (
    JAVASCRIPT_TRANSLATION_COMMENT,
    PYTHON_TRANSLATION_COMMENT,
    TranslationModuleReader,
)

LANGS = ("sv", "fr", "zh_CN", "de", "es")
PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sdf]|%[sdf]")


class _AddonTermReader(TranslationModuleReader):
    """Odoo's exporter, with its file scan limited to this addon's own folders: the
    checkout may also hold a virtualenv and run data, which are not the addon."""

    def _export_translatable_resources(self):
        addon_path = get_module_path("digital_sign")
        base = os.path.dirname(addon_path)
        self._path_list = [(base, True)]
        for root, dirnames, files in os.walk(addon_path):
            dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "node_modules"]
            for fname in files:
                if fname.endswith(".py"):
                    self._babel_extract_terms(
                        fname,
                        base,
                        root,
                        "odoo.tools.babel:extract_python",
                        extra_comments=[PYTHON_TRANSLATION_COMMENT],
                        extract_keywords={"_": None, "_lt": None},
                    )
                elif "/static/src" in root and fname.endswith(".js"):
                    self._babel_extract_terms(
                        fname,
                        base,
                        root,
                        "odoo.tools.babel:extract_javascript",
                        extra_comments=[JAVASCRIPT_TRANSLATION_COMMENT],
                        extract_keywords={"_t": None},
                    )
                elif "/static/src" in root and fname.endswith(".xml"):
                    self._babel_extract_terms(
                        fname,
                        base,
                        root,
                        "odoo.tools.translate:babel_extract_qweb",
                        extra_comments=[JAVASCRIPT_TRANSLATION_COMMENT],
                    )


def allowed_same_as_english():
    """{lang: terms that may stay as in English}, from tests/i18n_same_as_english.txt."""
    allowed = {lang: set() for lang in LANGS}
    path = os.path.join(os.path.dirname(__file__), "i18n_same_as_english.txt")
    with open(path, encoding="utf-8") as file:
        for line in file.read().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            langs, term = line.split("|", 1)
            term = ast.literal_eval(term) if term.startswith('"') else term
            for lang in LANGS if langs == "*" else langs.split(","):
                allowed[lang].add(term)
    return allowed


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    def _exported_terms(self):
        reader = _AddonTermReader(self.env.cr, ["digital_sign"])
        return {
            source
            for module, _t, _n, _r, source, _v, _c in reader
            if module == "digital_sign" and source
        }

    def _po_translations(self, lang):
        path = os.path.join(get_module_path("digital_sign"), "i18n", f"{lang}.po")
        if not os.path.exists(path):
            return {}
        return {entry.msgid: entry.msgstr for entry in polib.pofile(path) if not entry.obsolete}

    def _translation_problems(self, terms):
        allowed = allowed_same_as_english()
        problems = []
        for lang in LANGS:
            translations = self._po_translations(lang)
            for term in sorted(terms):
                value = translations.get(term, "")
                if not value:
                    problems.append(f"{lang}: no translation for {term!r}")
                elif value == term and term not in allowed[lang]:
                    problems.append(f"{lang}: the translation is the English text {term!r}")
                elif sorted(PLACEHOLDER.findall(term)) != sorted(PLACEHOLDER.findall(value)):
                    problems.append(f"{lang}: {term!r} loses or adds a placeholder: {value!r}")
        return problems

    def test_every_term_is_translated(self):
        terms = self._exported_terms()
        # The export must see the whole addon: views, fields, Python and JavaScript terms.
        for sample in ("Sign here", "Audit trail", "Send for signature", "Next field"):
            self.assertIn(sample, terms)
        problems = self._translation_problems(terms)
        self.assertFalse(
            problems,
            "%s terms lack a usable translation (run ./scripts/i18n, then add them to "
            "scripts/i18n_tables/):\n%s" % (len(problems), "\n".join(problems)),
        )

    def test_a_new_term_is_reported(self):
        """The check fails on a term added later, and on a copied English text."""
        problems = self._translation_problems({"A term added tomorrow", "Signature Width"})
        self.assertEqual(
            [p for p in problems if "A term added tomorrow" in p],
            [f"{lang}: no translation for 'A term added tomorrow'" for lang in LANGS],
        )
        self.assertFalse([p for p in problems if "Signature Width" in p])

    def test_translations_load_in_odoo(self):
        """Odoo reads the files: Python messages come out translated, and the views' terms
        load into the database."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["res.lang"]._activate_lang("sv_SE")
        self.env["ir.module.module"]._load_module_terms(["digital_sign"], ["zh_CN", "sv_SE"])
        env_zh = self.env(context={"lang": "zh_CN"})
        self.assertEqual(env_zh._("Please sign here."), "请在此签名。")
        self.assertEqual(
            self.env(context={"lang": "sv_SE"})._("%s has no usable mobile number.", "Ann"),
            "Ann har inget användbart mobilnummer.",
        )
        template = self.env.ref("digital_sign.mail_template_signature_request")
        self.assertIn("您好", template.with_context(lang="zh_CN").body_html)
        self.assertIn("Hej", template.with_context(lang="sv_SE").body_html)
