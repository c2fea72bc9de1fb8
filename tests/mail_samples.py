"""Mail as it really arrives, built the way the servers and clients that send it build it.

Bounces are shaped on what Postfix and Exchange return (a DSN with the request attached as
``message/rfc822``; Exchange's older non-standard report; an Exim-style text with no original),
auto-replies on RFC 3834 and on Outlook's out-of-office reply with a signature logo.
"""

from __future__ import annotations

from email import message_from_string
from email.charset import QP, Charset
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate

INTAKE = "gobiernoabierto@gae.example"
SPREADSHEET = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
# The smallest valid PNG (1×1 pixel) and a one-page PDF: what a scanner and a phone produce.
QUOTED_UTF8 = Charset("utf-8")
QUOTED_UTF8.body_encoding = QP  # as Exchange writes its reports: readable lines, not base64
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def quoted(text: str, subtype: str) -> MIMEText:
    """A UTF-8 text part in quoted-printable, as Exchange writes its reports (lines stay legible
    to line-based detectors, unlike base64)."""
    return MIMEText(text, subtype, QUOTED_UTF8)  # type: ignore[arg-type]  # stubs: str only


def postfix_bounce(original: Message, recipient: str) -> bytes:
    """Postfix's DSN: notification text, delivery-status, and the whole request returned."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx.marn.example (Mail Delivery System)"
    report["To"] = INTAKE
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Auto-Submitted"] = "auto-replied"
    report["Message-ID"] = "<20230302150001.3F2A1C0@mx.marn.example>"
    report["Date"] = formatdate()
    report.attach(
        MIMEText(
            "This is the mail system at host mx.marn.example.\n\n"
            "I'm sorry to have to inform you that your message could not\n"
            "be delivered to one or more recipients. It's attached below.\n\n"
            "                   The mail system\n\n"
            f"<{recipient}>: host mx.marn.example[10.0.0.5] said: 550 5.1.1\n"
            f"    <{recipient}>: Recipient address rejected: User unknown in virtual\n"
            "    mailbox table (in reply to RCPT TO command)\n"
        )
    )
    status = delivery_status(
        "Reporting-MTA: dns; mx.marn.example\nX-Postfix-Queue-ID: 3F2A1C0\n",
        f"Final-Recipient: rfc822; {recipient}\nOriginal-Recipient: rfc822;{recipient}\n"
        "Action: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.marn.example\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: "
        "User unknown in virtual mailbox table\n",
    )
    report.attach(status)
    report.attach(returned(original))
    return report.as_bytes()


def delivery_status(*blocks: str) -> MIMEBase:
    """A ``message/delivery-status`` part: one block of fields per message, then per recipient."""
    part = MIMEBase("message", "delivery-status")
    part.set_payload([message_from_string(block) for block in blocks])
    return part


def exchange_bounce(original: Message, recipient: str) -> bytes:
    """Exchange's older non-standard report ("did not reach the following recipient(s)")."""
    report = MIMEMultipart("mixed")
    report["From"] = "System Administrator <postmaster@marn.example>"
    report["To"] = INTAKE
    report["Subject"] = f"Undeliverable: {subject_of(original)}"
    report["Message-ID"] = "<A1B2C3D4E5@exchange.marn.example>"
    report["Date"] = formatdate()
    report.attach(
        quoted(
            "Your message\n\n"
            f"  To:      {recipient}\n  Subject: {subject_of(original)}\n\n"
            "did not reach the following recipient(s):\n\n"
            f"{recipient} on 02/03/2023 10:01\n"
            "    The e-mail account does not exist at the organization this message was\n"
            "    sent to.  Check the e-mail address, or contact the recipient directly.\n"
            "    <mx.marn.example #5.1.1>\n\n"
            "MSEXCH:IMS:MARN:MAIN:EXCH01 0 (000C05A6) Unknown Recipient\n",
            "plain",
        )
    )
    report.attach(returned(original))
    return report.as_bytes()


def exchange_online_bounce(original: Message, recipient: str) -> bytes:
    """Exchange Online's DSN: a readable text and HTML, delivery-status, the request returned."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = (
        "Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@marn.example>"
    )
    report["To"] = INTAKE
    report["Subject"] = f"Undeliverable: {subject_of(original)}"
    report["Message-ID"] = "<d7f1b3c2-0001@GT2PR01MB.namprd01.prod.outlook.com>"
    report["Date"] = formatdate()
    readable = MIMEMultipart("alternative")
    readable.attach(
        quoted(
            f"Delivery has failed to these recipients or groups:\n\n{recipient}\n"
            "The email address you entered couldn't be found.",
            "plain",
        )
    )
    readable.attach(
        quoted(
            f"<p><b>Delivery has failed to these recipients or groups:</b></p><p>{recipient}</p>",
            "html",
        )
    )
    report.attach(readable)
    report.attach(
        delivery_status(
            "Reporting-MTA: dns;GT2PR01MB.namprd01.prod.outlook.com\n",
            f"Final-Recipient: rfc822;{recipient}\nAction: failed\nStatus: 5.1.10\n"
            "Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; "
            "Recipient not found by SMTP address lookup\n",
        )
    )
    report.attach(returned(original))
    return report.as_bytes()


def exim_bounce_without_original(recipient: str) -> bytes:
    """A text-only report that returns neither the message nor its headers."""
    report = EmailMessage()
    report["From"] = "Mail Delivery System <Mailer-Daemon@mx.marn.example>"
    report["To"] = INTAKE
    report["Subject"] = "Mail delivery failed: returning message to sender"
    report["Message-ID"] = "<E1pXyZ-0001@mx.marn.example>"
    report["Date"] = formatdate()
    report.set_content(
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  {recipient}\n"
        "    host mx.marn.example [10.0.0.5]\n"
        f"    SMTP error from remote mail server after RCPT TO:<{recipient}>:\n"
        "    550 5.1.1 User unknown\n"
    )
    return report.as_bytes()


def subject_of(message: Message) -> str:
    """The subject as a person reads it (decoded from RFC 2047, unfolded)."""
    return " ".join(str(make_header(decode_header(str(message["Subject"])))).split())


def returned(original: Message) -> MIMEBase:
    part = MIMEBase("message", "rfc822")
    part.set_payload([original])
    return part


def rfc3834_reply(sender: str, request: Message) -> bytes:
    """An auto-responder answering the request, as RFC 3834 says it should."""
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = INTAKE
    reply["Subject"] = f"Re: {subject_of(request)}"
    reply["Auto-Submitted"] = "auto-replied"
    reply["In-Reply-To"] = str(request["Message-ID"])
    reply["Message-ID"] = "<auto-1@mineduc.example>"
    reply["Date"] = formatdate()
    reply.set_content("Su mensaje fue recibido. Este buzón responde automáticamente.")
    return reply.as_bytes()


def out_of_office(sender: str, request: Message) -> bytes:
    """Outlook's «Respuesta automática» with the signature logo shown inside the body.

    No Auto-Submitted header (many servers send none): only the subject says what it is.
    """
    reply = MIMEMultipart("related")
    reply["From"] = f"Enlace MINGOB <{sender}>"
    reply["To"] = INTAKE
    reply["Subject"] = f"Fuera de la oficina: {subject_of(request)}"
    reply["Message-ID"] = "<oof-1@mingob.example>"
    reply["Date"] = formatdate()
    body = MIMEMultipart("alternative")
    body.attach(MIMEText("Estoy fuera de la oficina hasta el 20 de marzo.", "plain", "utf-8"))
    body.attach(
        MIMEText(
            '<p>Estoy fuera de la oficina hasta el 20 de marzo.</p><img src="cid:logo001">',
            "html",
            "utf-8",
        )
    )
    reply.attach(body)
    logo = MIMEImage(PNG, "png")
    logo.add_header("Content-ID", "<logo001>")
    logo.add_header("Content-Disposition", "inline", filename="image001.png")
    reply.attach(logo)
    return reply.as_bytes()


def liaison_mail(
    sender: str,
    subject: str,
    files: list[tuple[str, bytes]],
    message_id: str,
    in_reply_to: Message | None = None,
    logo: bool = False,
) -> bytes:
    """What a liaison's mail program sends: text, the files, threading when it answers."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = INTAKE
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = formatdate()
    if in_reply_to is not None:
        earlier = str(in_reply_to.get("References", "")).split()
        message["In-Reply-To"] = str(in_reply_to["Message-ID"])
        message["References"] = " ".join([*earlier, str(in_reply_to["Message-ID"])])
    message.set_content("Adjunto lo solicitado.")
    if logo:
        message.add_alternative('<p>Adjunto lo solicitado.</p><img src="cid:firma">', "html")
        html = next(p for p in message.walk() if p.get_content_type() == "text/html")
        html.add_related(
            PNG, "image", "png", cid="<firma>", filename="firma.png", disposition="inline"
        )
    for name, data in files:
        if name.endswith(".pdf"):
            maintype, subtype = "application", "pdf"
        elif name.endswith((".png", ".jpg")):
            maintype, subtype = "image", "png" if name.endswith(".png") else "jpeg"
        else:
            maintype, subtype = SPREADSHEET
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()
