"""Translations of the mail template bodies: each text piece between the tags of a body is
translated from the table below, and the tags (t-out, t-if, links) are kept as they are.
A body with a piece this table does not know fails loudly, so a changed mail is noticed."""

import ast
import re
from pathlib import Path

# English piece -> (sv, fr, zh_CN, de, es); pieces are compared with their spaces squeezed.
PIECES = {
    "Hello": ("Hej", "Bonjour", "您好", "Hallo", "Hola"),
    ",": (",", ",", "，", ",", ","),
    ".": (".", ".", "。", ".", "."),
    "--": ("--", "--", "--", "--", "--"),
    "as": ("som", "en tant que", "，身份为", "als", "como"),
    "asks you to sign": (
        "ber dig signera",
        "vous invite à signer",
        "请您签署",
        "bittet Sie, Folgendes zu unterzeichnen:",
        "le pide que firme",
    ),
    "is:": ("är:", "est :", "的验证码是：", "lautet:", "es:"),
    "Your code to sign": (
        "Din kod för att signera",
        "Votre code pour signer",
        "您签署",
        "Ihr Code zum Unterzeichnen von",
        "Su código para firmar",
    ),
    "Your code to open the signed document": (
        "Din kod för att öppna det signerade dokumentet",
        "Votre code pour ouvrir le document signé",
        "您打开已签署文件",
        "Ihr Code zum Öffnen des unterzeichneten Dokuments",
        "Su código para abrir el documento firmado",
    ),
    "It is valid for 10 minutes. Never share it:": (
        "Den gäller i 10 minuter. Dela den aldrig:",
        "Il est valable 10 minutes. Ne le communiquez jamais :",
        "有效期 10 分钟。切勿告诉他人：",
        "Er ist 10 Minuten gültig. Geben Sie ihn niemals weiter:",
        "Es válido durante 10 minutos. No lo comparta nunca:",
    ),
    "will never ask you for it.": (
        "kommer aldrig att be dig om den.",
        "ne vous le demandera jamais.",
        "绝不会向您索要此验证码。",
        "wird Sie nie danach fragen.",
        "nunca se lo pedirá.",
    ),
    "is now signed by everyone. The signed document, with its certificate of completion, is attached: keep it with your records.": (
        "är nu signerat av alla. Det signerade dokumentet, med sitt slutförandeintyg, är bifogat: spara det bland dina handlingar.",
        "est maintenant signé par tous. Le document signé, avec son certificat d'achèvement, est joint : conservez-le dans vos dossiers.",
        "现已由所有人签署。已签署的文件及其完成证明见附件：请妥善保存。",
        "ist jetzt von allen unterzeichnet. Das unterzeichnete Dokument mit seinem Abschlusszertifikat ist angehängt: Bewahren Sie es bei Ihren Unterlagen auf.",
        "ya está firmado por todos. El documento firmado, con su certificado de finalización, va adjunto: consérvelo con sus documentos.",
    ),
    "Thank you.": ("Tack.", "Merci.", "谢谢。", "Vielen Dank.", "Gracias."),
    "On a phone? Scan this code to open your link (it is attached too):": (
        "På en mobil? Skanna koden för att öppna din länk (den finns också som bilaga):",
        "Sur un téléphone ? Scannez ce code pour ouvrir votre lien (il est aussi en pièce jointe) :",
        "在手机上？扫描此二维码即可打开您的链接（也已作为附件附上）：",
        "Auf dem Smartphone? Scannen Sie diesen Code, um Ihren Link zu öffnen (er ist auch angehängt):",
        "¿En un móvil? Escanee este código para abrir su enlace (también va adjunto):",
    ),
    "A one-time code will be sent to your e-mail address.": (
        "En engångskod skickas till din e-postadress.",
        "Un code à usage unique sera envoyé à votre adresse e-mail.",
        "一次性验证码将发送到您的电子邮件地址。",
        "Ein Einmalcode wird an Ihre E-Mail-Adresse gesendet.",
        "Se enviará un código de un solo uso a su dirección de correo electrónico.",
    ),
    "A one-time code will be sent to your mobile phone.": (
        "En engångskod skickas till din mobiltelefon.",
        "Un code à usage unique sera envoyé sur votre téléphone mobile.",
        "一次性验证码将发送到您的手机。",
        "Ein Einmalcode wird an Ihr Mobiltelefon gesendet.",
        "Se enviará un código de un solo uso a su teléfono móvil.",
    ),
    "Approve and sign": (
        "Godkänn och signera",
        "Approuver et signer",
        "批准并签署",
        "Freigeben und unterzeichnen",
        "Aprobar y firmar",
    ),
    "Confirm and sign": (
        "Bekräfta och signera",
        "Confirmer et signer",
        "确认并签署",
        "Bestätigen und unterzeichnen",
        "Confirmar y firmar",
    ),
    "Review and sign": (
        "Granska och signera",
        "Consulter et signer",
        "查看并签署",
        "Prüfen und unterzeichnen",
        "Revisar y firmar",
    ),
    "Review the addition": (
        "Granska tillägget",
        "Consulter l'ajout",
        "查看新增内容",
        "Ergänzung ansehen",
        "Revisar la ampliación",
    ),
    "Here is the quick quote we discussed. Approve it with your signature and we get started.": (
        "Här är snabbofferten vi diskuterade. Godkänn den med din signatur så sätter vi i gång.",
        "Voici le devis rapide dont nous avons parlé. Approuvez-le par votre signature et nous commençons.",
        "这是我们讨论过的快速报价单。签名批准后，我们即可开始。",
        "Hier ist das besprochene Schnellangebot. Geben Sie es mit Ihrer Unterschrift frei, und wir legen los.",
        "Aquí tiene el presupuesto rápido que comentamos. Apruébelo con su firma y empezamos.",
    ),
    "Please confirm your order by signing it online.": (
        "Bekräfta din order genom att signera den online.",
        "Veuillez confirmer votre commande en la signant en ligne.",
        "请在线签署以确认您的订单。",
        "Bitte bestätigen Sie Ihren Auftrag, indem Sie ihn online unterzeichnen.",
        "Confirme su pedido firmándolo en línea.",
    ),
    "Please review the quotation and sign it online to accept it. It takes a minute, on a phone too.": (
        "Granska offerten och signera den online för att godkänna den. Det tar en minut, även på mobilen.",
        "Veuillez consulter le devis et le signer en ligne pour l'accepter. Cela prend une minute, sur téléphone aussi.",
        "请查看报价单并在线签署以接受。只需一分钟，手机上也可以完成。",
        "Bitte prüfen Sie das Angebot und unterzeichnen Sie es online, um es anzunehmen. Das dauert eine Minute, auch auf dem Handy.",
        "Revise el presupuesto y fírmelo en línea para aceptarlo. Lleva un minuto, también desde el móvil.",
    ),
    "Please sign before": (
        "Signera före",
        "Veuillez signer avant le",
        "请在以下时间前签署：",
        "Bitte unterzeichnen Sie bis",
        "Firme antes del",
    ),
    "The offer is valid until": (
        "Erbjudandet gäller till",
        "L'offre est valable jusqu'au",
        "报价有效期至",
        "Das Angebot gilt bis",
        "La oferta es válida hasta el",
    ),
    "This is a reminder about a quick quote:": (
        "Detta är en påminnelse om en snabboffert:",
        "Ceci est un rappel concernant un devis rapide :",
        "这是关于快速报价单的提醒：",
        "Dies ist eine Erinnerung an ein Schnellangebot:",
        "Este es un recordatorio sobre un presupuesto rápido:",
    ),
    "This is a reminder about an addition to your order:": (
        "Detta är en påminnelse om ett tillägg till din order:",
        "Ceci est un rappel concernant un ajout à votre commande :",
        "这是关于您订单新增内容的提醒：",
        "Dies ist eine Erinnerung an eine Ergänzung Ihres Auftrags:",
        "Este es un recordatorio sobre una ampliación de su pedido:",
    ),
    "This is a reminder about your order confirmation:": (
        "Detta är en påminnelse om din orderbekräftelse:",
        "Ceci est un rappel concernant la confirmation de votre commande :",
        "这是关于您订单确认的提醒：",
        "Dies ist eine Erinnerung an Ihre Auftragsbestätigung:",
        "Este es un recordatorio sobre la confirmación de su pedido:",
    ),
    "This is a reminder about your quotation:": (
        "Detta är en påminnelse om din offert:",
        "Ceci est un rappel concernant votre devis :",
        "这是关于您报价单的提醒：",
        "Dies ist eine Erinnerung an Ihr Angebot:",
        "Este es un recordatorio sobre su presupuesto:",
    ),
    "This is a reminder:": (
        "Detta är en påminnelse:",
        "Ceci est un rappel :",
        "这是一条提醒：",
        "Dies ist eine Erinnerung:",
        "Este es un recordatorio:",
    ),
    "This link is personal: do not forward it.": (
        "Denna länk är personlig: vidarebefordra den inte.",
        "Ce lien est personnel : ne le transférez pas.",
        "此链接仅供您本人使用：请勿转发。",
        "Dieser Link ist persönlich: Leiten Sie ihn nicht weiter.",
        "Este enlace es personal: no lo reenvíe.",
    ),
    "We suggest an addition to your order. If you agree, sign it online and we add it.": (
        "Vi föreslår ett tillägg till din order. Om du godkänner det, signera online så lägger vi till det.",
        "Nous vous proposons un ajout à votre commande. Si vous êtes d'accord, signez-le en ligne et nous l'ajoutons.",
        "我们建议为您的订单增加内容。如您同意，请在线签署，我们即会添加。",
        "Wir schlagen eine Ergänzung Ihres Auftrags vor. Wenn Sie einverstanden sind, unterzeichnen Sie sie online, und wir fügen sie hinzu.",
        "Le proponemos una ampliación de su pedido. Si está de acuerdo, fírmela en línea y la añadimos.",
    ),
    # The signed copy for extra recipients (filing and outbound copies)
    "is signed by everyone. The signed document, with its certificate of completion, is attached.": (
        "är signerat av alla. Det signerade dokumentet, med sitt slutförandeintyg, är bifogat.",
        "est signé par tous. Le document signé, avec son certificat d'achèvement, est joint.",
        "已由所有人签署。已签署的文件及其完成证明见附件。",
        "ist von allen unterzeichnet. Das unterzeichnete Dokument mit seinem Abschlusszertifikat ist angehängt.",
        "está firmado por todos. El documento firmado, con su certificado de finalización, va adjunto.",
    ),
    "Please file it with the customer's contract.": (
        "Arkivera det tillsammans med kundens avtal.",
        "Veuillez le classer avec le contrat du client.",
        "请将其与客户的合同一并归档。",
        "Bitte legen Sie es beim Vertrag des Kunden ab.",
        "Archívelo junto con el contrato del cliente.",
    ),
    # Sample values inside t-out (replaced when the mail is rendered): kept as they are.
    "Jane": ("Jane", "Jane", "Jane", "Jane", "Jane"),
    "Contract": ("Avtal", "Contrat", "合同", "Vertrag", "Contrato"),
    "Customer": ("Kund", "Client", "客户", "Kunde", "Cliente"),
    "A message": ("Ett meddelande", "Un message", "一条消息", "Eine Nachricht", "Un mensaje"),
    "YourCompany": ("YourCompany", "YourCompany", "YourCompany", "YourCompany", "YourCompany"),
    "Mitchell Admin": (
        "Mitchell Admin",
        "Mitchell Admin",
        "Mitchell Admin",
        "Mitchell Admin",
        "Mitchell Admin",
    ),
    "2026-12-01": ("2026-12-01", "2026-12-01", "2026-12-01", "2026-12-01", "2026-12-01"),
    "123456": ("123456", "123456", "123456", "123456", "123456"),
}
TAG = re.compile(r"(<[^>]+>)")


def _translate(body, index):
    parts = []
    for part in TAG.split(body):
        core = " ".join(part.split())
        if part.startswith("<") or not core:
            parts.append(part)
            continue
        if core not in PIECES:
            raise KeyError(f"t05_mails: no translation for the mail piece {core!r}")
        lead = part[: len(part) - len(part.lstrip())]
        trail = part[len(part.rstrip()) :]
        parts.append(lead + PIECES[core][index] + trail)
    return "".join(parts)


def _bodies():
    pot = Path(__file__).resolve().parents[2] / "i18n" / "digital_sign.pot"
    text = pot.read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        lines = block.splitlines()
        ids, inside = [], False
        for line in lines:
            if line.startswith("msgid "):
                inside = True
                ids.append(line[6:])
            elif line.startswith("msgstr"):
                inside = False
            elif inside and line.startswith('"'):
                ids.append(line)
        msgid = "".join(ast.literal_eval(line) for line in ids)
        if msgid.startswith('<div style="margin: 0px'):
            yield msgid


TERMS = {body: tuple(_translate(body, i) for i in range(5)) for body in _bodies()}
