"""What a list's signup form shows: the hosted form (/f/{list_id}) and the embeddable snippet
(GET /v1/lists/{list_id}/form-snippet) are built from the same description."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.domain.lists import require_privacy_policy
from chalicelib.domain.subscriptions import CONTACT_FIELDS
from chalicelib.services.signups import HONEYPOT_FIELD, current_consent, current_tracking_consent
from chalicelib.templates import N_

if TYPE_CHECKING:
    from chalicelib.store.models import MailingList


# Form fields that steer the signup rather than hold contact data; never stored as attributes.
CONTROL_FIELDS = frozenset({"consent", "consent_version", "tracking", "tracking_version", HONEYPOT_FIELD})


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    input_type: str = "text"
    required: bool = False
    autocomplete: str | None = None


@dataclass(frozen=True)
class SignupForm:
    list_name: str
    action: str
    consent_text: str
    consent_version: int
    fields: tuple[FormField, ...]
    honeypot: str = HONEYPOT_FIELD
    # P30: the separate, unticked tracking box, when the list asks for it (None otherwise).
    tracking_text: str | None = None
    tracking_version: int | None = None
    # P32: who decides what happens to the data, and their privacy policy.
    controller: str = ""
    privacy_policy_url: str = ""


def signup_form_for(mailing_list: MailingList, action: str, controller: str = "") -> SignupForm:
    """What the hosted form and the embeddable snippet show for a list; Conflict naming
    `privacy_policy_url` while the list links no privacy policy (P32)."""
    policy = require_privacy_policy(mailing_list.privacy_policy_url)
    version, text = current_consent(mailing_list)
    declared = sorted(set(mailing_list.declared_attributes or ()) - set(CONTACT_FIELDS) - CONTROL_FIELDS)
    fields = (
        # Labels are message ids: the templates translate them (P32).
        FormField("email", N_("Email address"), "email", required=True, autocomplete="email"),
        FormField("name", N_("Name"), autocomplete="name"),
        *(FormField(name, name.replace("_", " ").capitalize()) for name in declared),
    )
    tracking = current_tracking_consent(mailing_list)
    return SignupForm(mailing_list.name, action, text, version, fields,
                      tracking_text=tracking[1] if tracking else None,
                      tracking_version=tracking[0] if tracking else None,
                      controller=controller, privacy_policy_url=policy)
