"""Account profile rules: who the sender is (P08)."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.header_text import check_contact_text, header_text
from chalicelib.domain.sender_names import contact_in_name

PROFILE_FIELDS = ("name", "postal_address", "contact_email", "sender_identity")
# The longest value of each profile field, for the API's schema and the CLI alike: an over-long
# name would otherwise go into every mail's headers, or past DynamoDB's item limit.
PROFILE_MAX_LENGTH = {"name": 200, "postal_address": 500, "contact_email": 320, "sender_identity": 320}


@dataclass(frozen=True)
class AccountProfile:
    name: str
    postal_address: str | None
    contact_email: str | None
    sender_identity: str | None

    def missing_for_sending(self) -> list[str]:
        """Profile fields a marketing mail needs and this account lacks (P08)."""
        return [name for name in PROFILE_FIELDS if not getattr(self, name)]


def clean_profile_changes(changes: dict[str, str]) -> dict[str, str]:
    """Validate and normalise a profile patch (the API's schema already checked the types)."""
    for name, value in changes.items():
        limit = PROFILE_MAX_LENGTH.get(name)
        if limit is not None and len(value) > limit:
            raise InvalidInput(f"'{name}' is longer than {limit} characters", field=name)
    cleaned = {name: value.strip() for name, value in changes.items()}
    if "name" in cleaned:
        cleaned["name"] = _account_name(changes["name"])
    if "postal_address" in cleaned:
        cleaned["postal_address"] = _postal_address(changes["postal_address"])
    for name in ("contact_email", "sender_identity"):
        if name in cleaned:
            cleaned[name] = normalise_email(cleaned[name], field=name, mailable=True)
    return cleaned


def _account_name(value: str) -> str:
    """The account's name: a display name in mail headers and pages (one line, nothing that
    reorders the text around it), and in the platform's HELP texts (no link, no contact data:
    domain/sender_names.py)."""
    check_contact_text(value, "name")
    found = contact_in_name(value)
    if found is not None:
        raise InvalidInput(f"'name' must not contain {found}: texts and mails show it as the sender's "
                           "name only", field="name")
    return header_text(value, "name")


def _postal_address(value: str) -> str:
    """The address every marketing mail's footer shows (P08): lines of text (any line break
    becomes a newline), no other control character, and not blank."""
    lines = [header_text(line, "postal_address", required=False) for line in value.splitlines()]
    address = "\n".join(line for line in lines if line)
    if not address:
        raise InvalidInput("'postal_address' must not be empty", field="postal_address")
    return address
