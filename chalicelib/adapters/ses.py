"""Sending raw MIME through SES v2 (moto keeps `Content.Raw` verbatim, so tests can parse it)."""
from __future__ import annotations

from chalicelib.clients import client
from chalicelib.config import settings


def send_raw_email(raw_message: bytes, recipient: str, tags: dict[str, str]) -> str:
    """Send one message to one recipient (P10); returns SES's message id.

    `tags` become SES message tags so feedback can be routed without looking anything up;
    they must never hold contact data.
    """
    response = client("sesv2").send_email(
        Destination={"ToAddresses": [recipient]},
        Content={"Raw": {"Data": raw_message}},
        EmailTags=[{"Name": name, "Value": value} for name, value in sorted(tags.items())],
        ConfigurationSetName=settings().configuration_set,
    )
    return response["MessageId"]


def is_verified_sender(address: str) -> bool:
    """True when SES lets us send From `address`: the address itself, or its domain, is a
    verified identity in this account and region."""
    ses = client("sesv2")
    for identity in (address, address.rpartition("@")[2]):
        try:
            found = ses.get_email_identity(EmailIdentity=identity)
        except ses.exceptions.NotFoundException:
            continue
        if found.get("VerificationStatus") == "SUCCESS":
            return True
    return False
