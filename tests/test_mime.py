"""domain/mime.py assembles mail under compat32 for speed (issue 15): its bytes must be exactly those
the stdlib's modern policy writes for the same mail, the way build_mime wrote them before."""
from __future__ import annotations

import itertools
import random
from email.message import EmailMessage

import pytest

from chalicelib.domain import mime
from chalicelib.domain.outgoing import OutgoingEmail


def _modern(mail: OutgoingEmail) -> bytes:
    """The mail as the modern policy builds it (build_mime before issue 15's fifteenth pass):
    every header in the header registry unless it is one plain line, set_content, as_bytes."""
    message = EmailMessage(policy=mime._POLICY)

    def header(name: str, value: str) -> None:
        if value.isascii() and "\r" not in value and "\n" not in value and len(name) + len(value) < 990:
            message.set_raw(name, value)
        else:
            message[name] = value

    def address(name: str, value: str) -> None:
        head, at, domain, bracket = mime._address_parts(value)
        header(name, f"{head}@{mime.ascii_domain(domain)}{bracket}" if at and not domain.isascii() else value)

    address("From", mail.sender)
    address("To", mail.recipient)
    header("Subject", mail.subject)
    header("Date", mime.format_datetime(mime.now()))
    header("Message-ID", mime.make_msgid())
    if mail.reply_to:
        address("Reply-To", mail.reply_to)
    for name, value in mail.headers.items():
        header(name, value)
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
        message.set_boundary(mime._boundary())
    return message.as_bytes(policy=mime._HEADER_POLICY)


@pytest.fixture
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same Date, Message-ID and boundary for both builds."""
    monkeypatch.setattr(mime, "make_msgid", lambda domain=None: "<1.2.3@acme.example>")
    monkeypatch.setattr(mime, "format_datetime", lambda at: "Thu, 03 Dec 2026 10:00:00 +0000")
    monkeypatch.setattr(mime, "_boundary", lambda: "==tidings_0123456789abcdef==")


_SENDERS = ["news@acme.example", "Zoë Müller <news@acme.example>", '"Acme, Inc." <news@acme.example>',
            "Acme <news@bücher.example>", '"a@b" <news@acme.example>']
_RECIPIENTS = ["ann@example.com", "Ann O'Neil <ann@example.com>", "ann@bücher.example",
               "Ünï <ann@example.com>"]
_SUBJECTS = ["Hi", "Ünïcode ✓ subject", "x" * 300, "x" * 995, "y " * 600, "ü" * 700, "word " * 200 + "é",
             "=?utf-8?q?not_encoded?=", "tab\there", "日本語の件名"]
_HEADERS = [{}, {"List-Unsubscribe": "<https://t.example/u/" + "z" * 200 + ">",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
            {"List-Unsubscribe": "<https://t.example/u/" + "z" * 1500 + ">"}, {"X-Long": "a b " * 400}]
_TEXTS = ["Hello\nworld\n", "Héllo wörld ✓\n" * 3, "x" * 200 + "\n" + "é" * 100,
          "From the start\n.\r\nCR\rend", "", "a" * 77, "a" * 79, "line " * 500, "日本語のテキスト\n" * 20,
          "trailing   \n\ttab\n", "=3D = sign\n" * 30, "\u2028 \u2029 \x0c \x0b \x00 \x85"]
_HTMLS = [None, "<p>Hi</p>", "<p>Hé</p>" * 50, "<a href='https://x.example/" + "a" * 300 + "'>x</a>"]


def _corpus() -> list[OutgoingEmail]:
    mails = [OutgoingEmail(sender=sender, recipient=recipient, subject="Hi", text="t", html="<p>h</p>",
                           headers=headers)
             for sender, recipient, headers in itertools.product(_SENDERS, _RECIPIENTS, _HEADERS)]
    mails += [OutgoingEmail(sender="Acme <news@acme.example>", recipient="ann@example.com", subject=subject,
                            text=text, html=html, reply_to="help@acme.example")
              for subject, text, html in itertools.product(_SUBJECTS, _TEXTS, _HTMLS)]
    # Random bodies from an alphabet of what breaks encoders: line ends of every kind, dots and
    # "From " at line starts, "=", spaces before line ends, astral and combining characters.
    pieces = ["\n", "\r\n", "\r", ".", "From ", "=", " ", "\t", "é", "𝄞", "e\u0301", "a" * 80, "word "]
    rng = random.Random(15)
    for _ in range(60):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 120)))
        mails.append(OutgoingEmail(sender="news@acme.example", recipient="ann@example.com", subject="Hi",
                                   text=text, html=f"<p>{text}</p>" if rng.random() < 0.5 else None))
    return mails


def test_issue15_a_mail_is_written_byte_for_byte_as_the_modern_policy_writes_it(fixed_ids: None) -> None:
    different = [mail for mail in _corpus() if mime.build_mime(mail) != _modern(mail)]
    assert different == []


@pytest.mark.parametrize("subject", ["Hi\x0bBcc: evil@x.example", "Hi\x0cBcc: evil@x.example",
                                     "Hi\x1cBcc: evil@x.example", "Hi\rBcc: evil@x.example"])
def test_p08_a_header_with_a_line_break_of_any_kind_is_refused_not_split(subject: str) -> None:
    """Every save path refuses these (domain/header_text.py); the builder refuses them too rather
    than writing a second header line (the modern policy wrote VT, FF and FS as line breaks)."""
    mail = OutgoingEmail(sender="news@acme.example", recipient="ann@example.com", subject=subject, text="t")
    with pytest.raises(ValueError):
        mime.build_mime(mail)
