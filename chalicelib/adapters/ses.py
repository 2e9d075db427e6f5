"""SES v2: sending raw MIME (moto keeps `Content.Raw` verbatim, so tests can parse it), and the
sender identities (addresses and domains) accounts send as (P35), named to SES in ASCII
(domain/senders.ses_identity) whatever their normalised spelling."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

from chalicelib.clients import client
from chalicelib.config import settings
from chalicelib.domain.addresses import ascii_address
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.senders import ses_identity


def send_raw_email(raw_message: bytes, recipient: str, tags: dict[str, str]) -> str:
    """Send one message to one recipient (P10); returns SES's message id.

    `tags` become SES message tags so feedback can be routed without looking anything up;
    they must never hold contact data.
    """
    response = client("sesv2").send_email(
        Destination={"ToAddresses": [ascii_address(recipient)]},
        Content={"Raw": {"Data": raw_message}},
        EmailTags=[{"Name": name, "Value": value} for name, value in sorted(tags.items())],
        ConfigurationSetName=settings().configuration_set,
    )
    return response["MessageId"]




@dataclass(frozen=True)
class IdentityState:
    """What SES says about one identity: its verification status (PENDING, SUCCESS, FAILED,
    TEMPORARY_FAILURE, NOT_STARTED), and for a domain its Easy DKIM status and tokens (each
    token is published as a CNAME `{token}._domainkey.{domain}` → `{token}.dkim.amazonses.com`)."""

    verification_status: str
    dkim_status: str | None
    dkim_tokens: tuple[str, ...]

    @property
    def verified(self) -> bool:
        return self.verification_status == "SUCCESS"


def _state(answer: dict) -> IdentityState:
    dkim = answer.get("DkimAttributes") or {}
    return IdentityState(verification_status=answer.get("VerificationStatus") or "PENDING",
                         dkim_status=dkim.get("Status"), dkim_tokens=tuple(dkim.get("Tokens") or ()))


def create_identity(identity: str) -> IdentityState | None:
    """Create the SES identity (an address: SES mails it a verification link; a domain: Easy DKIM,
    the SES default) and say what SES says about it now; None when SES has it already (it is
    left as it is: someone else's verification and DKIM records stay valid). InvalidInput naming
    `identity` when SES refuses it as malformed: the caller's input, not a fault of ours."""
    ses = client("sesv2")
    try:
        ses.create_email_identity(EmailIdentity=ses_identity(identity))
    except ses.exceptions.AlreadyExistsException:
        return None
    except ses.exceptions.BadRequestException:
        raise InvalidInput("SES does not accept this identity: check its spelling",
                           field="identity") from None
    return identity_state(identity) or IdentityState("PENDING", None, ())


def identity_state(identity: str) -> IdentityState | None:
    """What SES says about the identity, or None when SES does not have it."""
    ses = client("sesv2")
    try:
        return _state(ses.get_email_identity(EmailIdentity=ses_identity(identity)))
    except ses.exceptions.NotFoundException:
        return None


def delete_identity(identity: str) -> None:
    """Delete the SES identity (gone already is fine): nothing can be sent as it any more."""
    ses = client("sesv2")
    with contextlib.suppress(ses.exceptions.NotFoundException):
        ses.delete_email_identity(EmailIdentity=ses_identity(identity))
