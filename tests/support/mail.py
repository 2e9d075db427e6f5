"""What SES and SNS were asked to send (moto keeps a copy of each)."""
from __future__ import annotations

import re
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit


def sent_raw() -> list[Any]:
    """moto's copies of every raw message SES accepted."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    from chalicelib.config import settings

    return list(get_backend("ses")[DEFAULT_ACCOUNT_ID][settings().region].sent_messages)


def parsed(message: Any) -> EmailMessage:
    """One of sent_raw()'s messages, parsed (moto keeps the raw MIME verbatim, as text)."""
    return message_from_string(message.raw_data, policy=policy.default)


def recipients_of_sent() -> list[str]:
    return sorted(str(parsed(message)["To"]) for message in sent_raw())


def sent_mails() -> list[EmailMessage]:
    """Every message moto's SES accepted, parsed from the raw MIME it kept verbatim."""
    return [parsed(message) for message in sent_raw()]


def confirm_path(mail: EmailMessage) -> str:
    """The path of the confirm link in the mail's text part."""
    text = mail.get_body(preferencelist=("plain",)).get_content()
    url = re.search(r"https?://\S+/c/\S+", text).group(0)
    return urlsplit(url).path


def sent_sms() -> list[tuple[str, str]]:
    """(number, text) of every SMS SNS published."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    from chalicelib.config import settings

    return list(get_backend("sns")[DEFAULT_ACCOUNT_ID][settings().region].sms_messages.values())


def recorded_calls(monkeypatch: Any, service: str, operation: str) -> list[dict[str, Any]]:
    """The keyword parameters of every later call to `operation` (send_email, publish) on the app's
    client of `service`, each call passed on to moto."""
    from chalicelib.clients import client

    aws = client(service)
    real, calls = getattr(aws, operation), []

    def spy(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(aws, operation, spy)
    return calls
