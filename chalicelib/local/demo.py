"""The local stack's demo data: an account with a complete profile, its key, and one list."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib.cli import create_account_with_key
from chalicelib.domain.clock import now
from chalicelib.domain.lists import clean_origin, next_consent_versions
from chalicelib.services.senders import add_sender
from chalicelib.store import audit
from chalicelib.store.lists import create_list

DEMO_NAME = "Demo Organisation"
DEMO_PROFILE = {
    "postal_address": "1 Demo Street, 010101 Bucharest, Romania",
    "contact_email": "contact@demo.tidings.example",
    "sender_identity": "news@demo.tidings.example",
}
DEMO_LIST_NAME = "Demo newsletter"
DEMO_CONSENT_TEXT = "Yes, send me the Demo newsletter. I can unsubscribe at any time."
DEMO_PRIVACY_POLICY_URL = "https://demo.tidings.example/privacy"


@dataclass(frozen=True)
class Demo:
    account_id: str
    api_key: str
    list_id: str


def create_demo(api_url: str) -> Demo:
    """Create the demo account, verify its sender in (local) SES, and give it a double opt-in list
    whose form may be posted from the local API's own origin."""
    # The CLI gives the account its sender identity (P35), created in (local) SES, which verifies
    # it at once: locally there is no one to click AWS's verification mail. The whole domain is
    # the account's too, so any From at it works.
    account = create_account_with_key(DEMO_NAME, DEMO_PROFILE)
    add_sender(account["account_id"], "operator", DEMO_PROFILE["sender_identity"].rpartition("@")[2],
               operator=True)
    consent = next_consent_versions([], DEMO_CONSENT_TEXT, now())
    origin = urlsplit(api_url)
    mailing_list = create_list(
        account["account_id"],
        {
            "name": DEMO_LIST_NAME,
            "double_opt_in": True,
            "allowed_origins": {clean_origin(f"{origin.scheme}://{origin.netloc}")},
            # P32: a list takes signups only once it links the controller's privacy policy.
            "privacy_policy_url": DEMO_PRIVACY_POLICY_URL,
        },
        consent,
    )
    audit.record(account["account_id"], "operator", "list.created", mailing_list.list_id)
    return Demo(account["account_id"], account["api_key"], mailing_list.list_id)
