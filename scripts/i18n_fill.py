"""Update i18n/<lang>.po from i18n/digital_sign.pot and report untranslated terms.

    python scripts/i18n_fill.py fill     rewrite every i18n/<lang>.po from the .pot: a term
                                         takes its translation from scripts/i18n_tables/*.py,
                                         else keeps the one its .po already has, else takes
                                         Odoo's own translation of the same English text (mail,
                                         sale, portal...); then report
    python scripts/i18n_fill.py report   only report; exit 1 when a term is missing

A table module holds ``TERMS = {msgid: (sv, fr, zh_CN, de, es)}``. A translation equal to its
English term counts as missing unless the term is listed in tests/i18n_same_as_english.txt
(proper nouns, codes); tests/test_i18n.py applies the same rules to the installed addon.
"""

import ast
import importlib.util
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
I18N = ROOT / "i18n"
TABLES = ROOT / "scripts" / "i18n_tables"
LANGS = ("sv", "fr", "zh_CN", "de", "es")
PLURAL_FORMS = {
    "sv": "nplurals=2; plural=(n != 1);",
    "fr": "nplurals=2; plural=(n > 1);",
    "zh_CN": "nplurals=1; plural=0;",
    "de": "nplurals=2; plural=(n != 1);",
    "es": "nplurals=2; plural=(n != 1);",
}
PLACEHOLDER = re.compile(
    r"%\([a-z_0-9]+\)[sdf]|%[sdf]|\{\{.*?\}\}|\{[a-z_0-9]*\}|</?[a-zA-Z][^>]*>"
)


def same_as_english():
    """{lang: terms whose translation may equal the English text}, from
    tests/i18n_same_as_english.txt: lines ``LANGS|term``, LANGS being ``*`` or a comma list;
    a term starting with a double quote is a Python string literal."""
    allowed = {lang: set() for lang in LANGS}
    path = ROOT / "tests" / "i18n_same_as_english.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        langs, term = line.split("|", 1)
        term = ast.literal_eval(term) if term.startswith('"') else term
        for lang in LANGS if langs == "*" else langs.split(","):
            allowed[lang].add(term)
    return allowed


def unquote(lines):
    return "".join(ast.literal_eval(line) for line in lines)


def quote(text):
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    parts = escaped.split("\n")
    chunks = [part + "\\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    if len(chunks) == 1 and "\\n" not in chunks[0][:-2]:
        return f'"{chunks[0]}"'
    return '""\n' + "\n".join(f'"{chunk}"' for chunk in chunks)


def parse_po(path):
    """Return (header block, [(comment lines, msgid, msgstr)]) of a .po/.pot file."""
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    blocks = text.strip("\n").split("\n\n")
    entries = []
    for block in blocks[1:]:
        comments, ids, strs, current = [], [], [], None
        for line in block.splitlines():
            if line.startswith("#"):
                comments.append(line)
            elif line.startswith("msgid "):
                current = ids
                ids.append(line[6:])
            elif line.startswith("msgstr "):
                current = strs
                strs.append(line[7:])
            elif line.startswith('"') and current is not None:
                current.append(line)
            else:  # msgid_plural, msgstr[n], msgctxt: not used by this addon
                current = None
        entries.append((comments, unquote(ids), unquote(strs)))
    return blocks[0], entries


ODOO_SOURCES = (
    "mail",
    "portal",
    "sale",
    "sms",
    "web",
    "base",
    "account",
    "product",
    "crm",
    "phone_validation",
    "utm",
    "digest",
    "resource",
    "sale_management",
)


def load_odoo_terms(lang):
    """Odoo's own translations of the same English terms (field labels of mail.thread and
    the like), so that the addon uses Odoo's words: msgid -> msgstr, first addon wins."""
    odoo_src = Path(os.environ.get("ODOO_SRC", "/opt/odoo-19.0"))
    terms = {}
    for addon in ODOO_SOURCES:
        base = odoo_src / ("odoo/addons" if addon == "base" else "addons") / addon / "i18n"
        path = base / f"{lang}.po"
        if not path.exists():
            continue
        for comments, msgid, msgstr in parse_po(path)[1]:
            if msgid and msgstr and "#, fuzzy" not in comments:
                terms.setdefault(msgid, msgstr)
    return terms


def load_tables():
    terms = {}
    for path in sorted(TABLES.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"i18n_table_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for msgid, texts in module.TERMS.items():
            if len(texts) != len(LANGS):
                raise SystemExit(f"{path.name}: {msgid!r} needs {len(LANGS)} translations")
            terms[msgid] = dict(zip(LANGS, texts, strict=True))
    return terms


def placeholders(text):
    """The placeholders a translation must keep: %-formats, inline templates ({{ }}, whose
    quoted words may be translated: only their number counts) and the tags of a QWeb term."""
    found = PLACEHOLDER.findall(text.replace("%%", ""))
    return sorted(
        "{{}}" if item.startswith("{{") else re.sub(r"=\"[^\"]*\"", "", item) for item in found
    )


def problem(msgid, msgstr, allowed_same):
    """Why a translation is not acceptable, or None."""
    if not msgstr:
        return "missing"
    if msgstr == msgid and msgid not in allowed_same:
        return "same as English"
    if placeholders(msgid) != placeholders(msgstr):
        return "placeholders differ"
    return None


def fill():
    _header, pot = parse_po(I18N / "digital_sign.pot")
    tables = load_tables()
    for lang in LANGS:
        path = I18N / f"{lang}.po"
        odoo_terms = load_odoo_terms(lang)
        existing = {}
        if path.exists():
            existing = {msgid: msgstr for _c, msgid, msgstr in parse_po(path)[1] if msgstr}
        out = [
            "# Translation of Odoo Server.\n"
            "# This file contains the translation of the following modules:\n"
            "# \t* digital_sign\n"
            "#\n"
            'msgid ""\n'
            'msgstr ""\n'
            '"Project-Id-Version: Odoo Server 19.0\\n"\n'
            '"Report-Msgid-Bugs-To: \\n"\n'
            '"Last-Translator: \\n"\n'
            '"Language-Team: \\n"\n'
            '"MIME-Version: 1.0\\n"\n'
            '"Content-Type: text/plain; charset=UTF-8\\n"\n'
            '"Content-Transfer-Encoding: \\n"\n'
            f'"Language: {lang}\\n"\n'
            f'"Plural-Forms: {PLURAL_FORMS[lang]}\\n"'
        ]
        for comments, msgid, _empty in pot:
            msgstr = (
                tables.get(msgid, {}).get(lang, "")
                or existing.get(msgid)
                or odoo_terms.get(msgid, "")
            )
            out.append("\n".join([*comments, f"msgid {quote(msgid)}", f"msgstr {quote(msgstr)}"]))
        path.write_text("\n\n".join(out) + "\n", encoding="utf-8")
    return report()


def report():
    _header, pot = parse_po(I18N / "digital_sign.pot")
    allowed_same = same_as_english()
    bad = 0
    for lang in LANGS:
        path = I18N / f"{lang}.po"
        translated = (
            {msgid: msgstr for _c, msgid, msgstr in parse_po(path)[1]} if path.exists() else {}
        )
        problems = [
            (msgid, why)
            for _c, msgid, _s in pot
            if (why := problem(msgid, translated.get(msgid, ""), allowed_same[lang]))
        ]
        bad += len(problems)
        print(f"{lang}: {len(pot) - len(problems)}/{len(pot)} terms translated")
        for msgid, why in problems:
            print(f"  {why}: {msgid[:100]!r}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit({"fill": fill, "report": report}[sys.argv[1] if len(sys.argv) > 1 else "report"]())
