"""Email address validation and normalisation, with `email-validator` (no DNS by default)."""
from __future__ import annotations

from chalicelib.domain.errors import InvalidInput
from chalicelib.templates import N_


def normalise_email(raw: str, field: str = "email", *, check_dns: bool = False,
                    mailable: bool = False) -> str:
    """The normalised address (domain lower-cased, IDNA handled), or InvalidInput naming `field`.

    `check_dns` asks DNS whether the domain takes mail: only where an address enters a list
    (TIDINGS_CHECK_EMAIL_DNS=1), since a Lambda without network egress, or a flaky resolver,
    must not refuse good signups, nor hold up a lookup or a hash of a known address.

    `mailable`, where an address is taken to be mailed or shown in a header: SES sends only to
    7-bit addresses (no SMTPUTF8), so letters beyond ASCII before the @ are refused (a domain's
    are fine: it travels in its ASCII form, ascii_address). Lookups of a known address accept
    any, so nobody held from before is beyond reach.
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
    if mailable and not local.isascii():
        raise InvalidInput(N_("'%(field)s' has letters before the @ that email cannot be sent to from "
                              "here; only ASCII letters work there"), field=field, params={"field": field})
    return f"{local.lower()}@{domain}"


def check_mail_domain(address: str, field: str = "email", *, timeout: float) -> None:
    """InvalidInput naming `field` when DNS says the (normalised) address's domain takes no mail,
    as `normalise_email(check_dns=True)` would; a lookup that runs out of `timeout` seconds
    accepts the address, as email-validator does. One lookup answers for every address of the
    domain."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(f"postmaster@{address.rpartition('@')[2]}", check_deliverability=True,
                       timeout=timeout)  # type: ignore[arg-type]  # dnspython takes seconds as a float
    except EmailNotValidError as exc:
        raise InvalidInput(N_("'%(field)s' is not a valid email address"), field=field,
                           params={"field": field}, detail=str(exc)) from None


def ascii_domain(domain: str) -> str:
    """The domain as DNS and SES name it: an internationalised one in A-labels (IDNA 2008,
    `bücher.example` is `xn--bcher-kva.example`), converted by the email-validator that
    normalised it."""
    if domain.isascii():
        return domain
    from email_validator import validate_email

    return validate_email(f"postmaster@{domain}", check_deliverability=False).ascii_domain


def ascii_address(address: str) -> str:
    """An address (or a bare domain) with its domain in ASCII: SES takes 7-bit addresses only."""
    local, at, domain = address.rpartition("@")
    return f"{local}{at}{ascii_domain(domain)}"


def masked_email(address: str) -> str:
    """The address as a notice may show it to someone who may no longer own the account: its
    first character and its domain (`o•••@acme.example`), enough to recognise it, never all of it."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}•••@{domain}" if local else "•••"
