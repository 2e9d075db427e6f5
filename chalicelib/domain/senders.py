"""Sender identities (P35): what an account may add, and who may send as what.

An identity is an email address or a whole domain. Exactly one account owns it; an account sends
only From an address it owns, or an address at a domain it owns, once SES has verified that
identity itself (an address verified through another tenant's domain does not count). A domain
and an address at it cannot belong to two accounts: the domain's owner could otherwise be
impersonated by whoever added one of its addresses first, and the reverse. Nor is anything under
a domain SES verified for another account an identity of this one (covering_domains): SES lets
its AWS account send from every subdomain and address of a verified domain.

A claim holds an identity against other accounts only while it can still become, or is, SES's
verified identity: one SES never verified within its verification window lapses, so whoever adds
a domain they cannot verify does not lock its owner out.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chalicelib.domain.addresses import ascii_address, normalise_email
from chalicelib.domain.errors import Conflict, InvalidInput

# SES Easy DKIM: each token is published as a CNAME at `{token}._domainkey.{domain}`.
DKIM_TARGET = "dkim.amazonses.com"

# SES looks for a domain's DKIM records for 72 hours, then says FAILED (an address's link expires
# sooner): a claim still unverified after that no longer keeps the identity from another account.
VERIFICATION_WINDOW = timedelta(hours=72)

# A claim SES has no identity for is one whose add (services/senders.add_sender) is still making
# it, or one an add killed midway left: it holds for as long as an add can run (Lambda's
# longest timeout; the API's is 29 seconds), then lapses.
CREATION_GRACE = timedelta(minutes=15)

# A give-up marks its claim, deletes the SES identity, then the claim (services/senders._give_up):
# a mark older than this is one whose process was killed midway, and whoever comes next finishes
# it. Within it, the give-up may still be running, and a second one could delete the SES identity
# an add made after the first had finished.
RELEASE_GRACE = CREATION_GRACE

# Every check of an identity reads a claim (and maybe SES) for each domain above it
# (covering_domains): a cap keeps that a few reads. Real sending domains have far fewer labels.
MAX_DOMAIN_LABELS = 8


class SenderKind(StrEnum):
    ADDRESS = "address"
    DOMAIN = "domain"


@dataclass(frozen=True)
class SenderName:
    """A normalised identity: `identity` is the address or the domain; `domain` is where it lives."""

    identity: str
    domain: str
    kind: SenderKind


def sender_name(raw: str, field: str = "identity") -> SenderName:
    """An email address or a domain, normalised (case, IDNA); InvalidInput naming `field`."""
    text = raw.strip() if isinstance(raw, str) else ""
    if "@" in text:
        address = normalise_email(text, field=field)
        local, _, domain = address.rpartition("@")
        if not local.isascii():  # SES takes an address only in ASCII before the @ (no SMTPUTF8)
            raise InvalidInput(f"'{field}' must have only ASCII characters before the @: SES sends "
                               "from no other address", field=field)
        name = SenderName(address, domain, SenderKind.ADDRESS)
    else:
        try:
            # email-validator checks the domain part as it checks an address's (IDNA, labels, a dot).
            domain = normalise_email(f"postmaster@{text}", field=field).rpartition("@")[2]
        except InvalidInput:
            raise InvalidInput(f"'{field}' must be an email address or a domain like example.com",
                               field=field) from None
        name = SenderName(domain, domain, SenderKind.DOMAIN)
    if name.domain.count(".") >= MAX_DOMAIN_LABELS:
        raise InvalidInput(f"'{field}' must have a domain of at most {MAX_DOMAIN_LABELS} labels",
                           field=field)
    return name


@dataclass(frozen=True)
class Owner:
    """Who owns one identity at a domain."""

    identity: str
    account_id: str


def claims_in_the_way(name: SenderName, account_id: str, existing: Iterable[Owner]) -> list[Owner]:
    """Another account's identities that keep the account from adding `name`: the identity
    itself, its domain (for an address), or any identity at the domain (for a domain)."""
    return [owner for owner in existing if owner.account_id != account_id and (
        owner.identity in (name.identity, name.domain) or name.kind is SenderKind.DOMAIN)]


def check_may_claim(name: SenderName, account_id: str, existing: Iterable[Owner]) -> None:
    """Conflict naming `identity` when the account may not add `name`, given every identity
    already at its domain: it exists already (this account's or another's), another account owns
    the domain (for an address), or another account owns an address at it (for a domain)."""
    existing = list(existing)
    if Owner(name.identity, account_id) in existing:
        raise Conflict(f"'{name.identity}' is already this account's sender identity", field="identity")
    if claims_in_the_way(name, account_id, existing):
        raise unavailable(name.identity)


def unavailable(identity: str) -> Conflict:
    """The one refusal for an identity someone else holds: another account (it, its domain, an
    address at it, a verified domain above it) or the platform itself. One wording, so that a
    refusal does not tell who holds what (which tenants send as which domains)."""
    return Conflict(f"'{identity}' cannot be this account's sender identity: it, or a domain it is "
                    "at, is held by another owner (an identity belongs to exactly one)", field="identity")


def claim_lapsed(verification_status: str | None, claimed_at: datetime, at: datetime) -> bool:
    """Whether a claim no longer keeps its identity from another account: SES has no such
    identity (None) CREATION_GRACE after the claim, or says FAILED, or has not verified it within
    VERIFICATION_WINDOW of the claim. A verified identity holds, and so does one SES cannot check
    just now (TEMPORARY_FAILURE: SES retries, and says FAILED if it never can)."""
    if verification_status is None:
        return at - claimed_at > CREATION_GRACE
    if verification_status == "FAILED":
        return True
    if verification_status in ("SUCCESS", "TEMPORARY_FAILURE"):
        return False
    return at - claimed_at > VERIFICATION_WINDOW


def add_may_be_running(claimed_at: datetime, at: datetime) -> bool:
    """Whether the add that claimed at `claimed_at` may still be on its way to SES's create (the
    claim does not say it is done): no give-up may begin yet, or its SES delete could come first
    and the add then make an SES identity that no claim holds."""
    return at - claimed_at <= CREATION_GRACE


def release_stalled(releasing_since: datetime, at: datetime) -> bool:
    """Whether a give-up that began at `releasing_since` can no longer be running (its process was
    killed between its steps), so that another may finish it."""
    return at - releasing_since > RELEASE_GRACE


def covering_domains(name: SenderName) -> list[str]:
    """The domains whose verification in SES covers `name`, nearest first: SES lets its AWS
    account send from any address and subdomain of a verified domain, and may show an identity
    there as verified through it. An address's own domain, then each parent domain of two labels
    or more (`a.b.shop.example`: `b.shop.example`, `shop.example`)."""
    labels = name.domain.split(".")
    own = [name.domain] if name.kind is SenderKind.ADDRESS else []
    return own + [".".join(labels[index:]) for index in range(1, len(labels) - 1)]


def verification_covers(verification_status: str | None) -> bool:
    """Whether SES lets the identity's subdomains and addresses be sent from through it: it is
    verified (or was, and SES cannot check it just now: TEMPORARY_FAILURE)."""
    return verification_status in ("SUCCESS", "TEMPORARY_FAILURE")


def owned_identities_for(address: str, account_id: str, existing: Iterable[Owner]) -> list[str]:
    """The identities of `account_id` that may cover From `address`: the address itself and its
    domain, in that order."""
    domain = address.rpartition("@")[2]
    mine = {owner.identity for owner in existing if owner.account_id == account_id}
    return [identity for identity in (address, domain) if identity in mine]


def ses_identity(identity: str) -> str:
    """The identity as SES and DNS name it: an internationalised domain in its ASCII form
    (A-labels, IDNA 2008: `bücher.example` is `xn--bcher-kva.example`), the part before an @ as
    it is. Ownership keeps the one normalised (Unicode) spelling: both name one identity."""
    return ascii_address(identity)


def dns_records(domain: str, dkim_tokens: Iterable[str]) -> list[dict[str, str]]:
    """The CNAME records that verify a domain with Easy DKIM (names in the DNS's ASCII form)."""
    return [{"type": "CNAME", "name": f"{token}._domainkey.{ses_identity(domain)}",
             "value": f"{token}.{DKIM_TARGET}"}
            for token in dkim_tokens]
