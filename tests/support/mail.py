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


def ses_refuses(monkeypatch: Any, address: str) -> list[str]:
    """SES refuses every later mail to `address` for good (MessageRejected) and takes the rest;
    the list names the recipient of every SendEmail call, in order."""
    from botocore.exceptions import ClientError

    from chalicelib.clients import client

    ses = client("sesv2")
    real, asked = ses.send_email, []

    def refusing(**kwargs: Any) -> Any:
        [recipient] = kwargs["Destination"]["ToAddresses"]
        asked.append(recipient)
        if recipient == address:
            raise ClientError({"Error": {"Code": "MessageRejected", "Message": "refused"}}, "SendEmail")
        return real(**kwargs)

    monkeypatch.setattr(ses, "send_email", refusing)
    return asked


def ses_holding_mail(why: str) -> tuple[Exception, int]:
    """SES's answer while it takes no mail for now ("quota": the 24-hour quota is used up;
    "paused": its sending is paused), and how long the mail should wait then."""
    from botocore.exceptions import ClientError

    from chalicelib.services.sending.step import PAUSE_WAIT_SECONDS, QUOTA_WAIT_SECONDS

    if why == "quota":
        error = {"Code": "TooManyRequestsException", "Message": "Daily message quota exceeded."}
        return ClientError({"Error": error}, "SendEmail"), QUOTA_WAIT_SECONDS
    error = {"Code": "SendingPausedException", "Message": "Sending is paused for this account."}
    return ClientError({"Error": error}, "SendEmail"), PAUSE_WAIT_SECONDS


def composed(html: str, text: str | None = None, sender: Any = None,
             base_url: str = "https://t.example", tracking: bool = False) -> tuple[str, str]:
    """(text part, HTML part) of a marketing mail composed for Ann from this template, as sent
    (MIME built and parsed back); the sender is Acme's complete profile unless given. Pure: the
    links are signed with a test key."""
    import email

    from chalicelib.domain.accounts import AccountProfile
    from chalicelib.domain.campaigns import CampaignContent, Channel, with_text_part
    from chalicelib.domain.marketing_mail import ListSettings, compose_marketing_email
    from chalicelib.domain.mime import build_mime
    from chalicelib.domain.subscriptions import Contact
    from chalicelib.domain.tokens import Signer

    sender = sender or AccountProfile(
        name="Acme Ltd", postal_address="1 Main Street, 010101 Bucharest, Romania",
        contact_email="contact@acme.example", sender_identity="news@acme.example")
    content = with_text_part(CampaignContent(
        channel=Channel.EMAIL, list_ids=frozenset({"lst_1"}), subject="News", html=html,
        from_address="news@acme.example", from_name="Acme"), text)
    mail = compose_marketing_email(
        signer=Signer(("a-test-key",)), account_id="acc_1", campaign_id="cmp_1", content=content,
        recipient=Contact(email="ann@example.com", name="Ann"), sender=sender, public_base_url=base_url,
        mailing_list=ListSettings(list_id="lst_1", name="News", track_opens=tracking, track_clicks=tracking))
    message = email.message_from_bytes(build_mime(mail), policy=policy.default)
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def set_ses_status(identity: str, status: str) -> None:
    """Set what moto's SES says about an identity (moto verifies every identity at once)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].email_identities[identity].verification_status = status
