"""Email address validation and normalisation, with `email-validator` (no DNS by default)."""
from __future__ import annotations

from chalicelib.domain.errors import InvalidInput
from chalicelib.templates import N_


def normalise_email(raw: str, field: str = "email", *, check_dns: bool = False) -> str:
    """The normalised address (domain lower-cased, IDNA handled), or InvalidInput naming `field`.

    `check_dns` asks DNS whether the domain takes mail: only where an address enters a list
    (TIDINGS_CHECK_EMAIL_DNS=1), since a Lambda without network egress, or a flaky resolver,
    must not refuse good signups, nor hold up a lookup or a hash of a known address.
    """
    # Lazily: a Lambda that never reads an address does not load the validator at its cold start.
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput(N_("'%(field)s' must be an email address"), field=field, params={"field": field})
    try:
        result = validate_email(raw.strip(), check_deliverability=check_dns)
    except EmailNotValidError as exc:
        raise InvalidInput(N_("'%(field)s' is not a valid email address"), field=field,
                           params={"field": field}, detail=str(exc)) from None
    # Mailbox providers treat the local part case-insensitively; one person must not be on a
    # list twice, nor escape a suppression, by changing case.
    local, _, domain = result.normalized.rpartition("@")
    return f"{local.lower()}@{domain}"


def masked_email(address: str) -> str:
    """The address as a notice may show it to someone who may no longer own the account: its
    first character and its domain (`o•••@acme.example`), enough to recognise it, never all of it."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}•••@{domain}" if local else "•••"
