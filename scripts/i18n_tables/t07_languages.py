"""Translations of digital_sign terms: msgid -> (sv, fr, zh_CN, de, es)."""

TERMS = {
    "Language": ("Språk", "Langue", "语言", "Sprache", "Idioma"),
    "Language Used": (
        "Språk som används",
        "Langue utilisée",
        "使用的语言",
        "Verwendete Sprache",
        "Idioma utilizado",
    ),
    "The language of this participant's signing page, messages and code. Empty: the contact's language, else the language of the document's owner.": (
        "Språket för deltagarens signeringssida, meddelanden och kod. Tomt: kontaktens språk, annars språket för dokumentets ägare.",
        "La langue de la page de signature, des messages et du code de ce participant. Vide : la langue du contact, sinon celle du propriétaire du document.",
        "此参与人的签署页面、消息和验证码所用的语言。留空：使用联系人的语言，否则使用文件所有者的语言。",
        "Die Sprache der Unterschriftsseite, der Nachrichten und des Codes dieses Teilnehmers. Leer: die Sprache des Kontakts, sonst die des Eigentümers des Dokuments.",
        "El idioma de la página de firma, los mensajes y el código de este participante. Vacío: el idioma del contacto; si no, el del propietario del documento.",
    ),
}
