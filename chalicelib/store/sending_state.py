"""What a sender checks, in as few reads as a 100,000-recipient send allows: at every fan-out
page and every invocation of a batch (a continuation too), the campaign (still sending? its
content), its account (still allowed to send? its profile) and the list (its tracking switches
now, P15), in one BatchGetItem, a batch's with its first recipients due; as recipients come due,
their suppressions (P07, P12) and their entries on the list (restricted since the fan-out, P17?
tracking consent withdrawn, P30?), one BatchGetItem over both tables a chunk; and as a
confirmation mail goes, whether the signup it confirms still waits for it, one BatchGetItem."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.config import hash_key
from chalicelib.domain.clock import now
from chalicelib.domain.sending import still_mailable
from chalicelib.domain.subscriptions import Status, is_live
from chalicelib.domain.suppression import address_hash
from chalicelib.store.batch_reads import MAX_BATCH_KEYS
from chalicelib.store.batch_reads import batch_get as _batch_get
from chalicelib.store.models import Account, Campaign, MailingList, Subscriber, Suppression
from chalicelib.store.returning import waiting_return
from chalicelib.store.suppressions import OwnSignup, own_signup_of, suppressing, suppression_keys

# The recipients whose due read (four keys each: three suppressions, the entry) fits in one
# BatchGetItem beside the campaign, its account and its list.
FIRST_DUE_WITH_BATCH = (MAX_BATCH_KEYS - 3) // 4


@dataclass(frozen=True)
class DueRecipients:
    """What holds recipients back when they come due: the keyed hashes suppressed for the list,
    and their entries on it (by address; one not found is no longer on the list)."""

    suppressed: set[str]
    entries: dict[str, Subscriber]

    def still_mailable(self, address: str) -> bool:
        """Whether the entry of `address` is still on the list, confirmed, not restricted (P17)."""
        entry = self.entries.get(address)
        return entry is not None and still_mailable(entry.status, bool(entry.restricted))


@dataclass(frozen=True)
class CampaignState:
    """What a sender reads before it goes on (a fan-out page, each invocation of a batch): the
    campaign, its account and its list as stored now, and when it asked for a batch's first n
    recipients too, (n, their due read)."""

    campaign: Campaign | None
    account: Account | None
    mailing_list: MailingList | None
    first_read: tuple[int, DueRecipients] | None = None


def campaign_state(account_id: str, campaign_id: str, list_id: str, hashes: Sequence[str] = (),
                   addresses: Sequence[str] = ()) -> CampaignState:
    """The campaign, its account and the account's list as stored now (strongly consistent),
    None for a missing one (a list of another account is missing here); with the due read of
    `hashes` and `addresses` (at most FIRST_DUE_WITH_BATCH each) when they are given. One
    BatchGetItem."""
    accounts = Account.Meta.table_name
    request = {**_campaign_request(account_id, campaign_id, list_id),
               accounts: {"Keys": [{"account_id": {"S": account_id}}], "ConsistentRead": True}}
    found = _batch_get({**request, **_due_request(account_id, list_id, hashes, addresses)} if addresses
                       else request)
    campaign, mailing_list = _campaign_found(account_id, found)
    return CampaignState(campaign, Account.from_raw_data(found[accounts][0]) if found[accounts] else None,
                         mailing_list,
                         (len(addresses), _due_found(account_id, list_id, found)) if addresses else None)


def campaign_and_list(account_id: str, campaign_id: str, list_id: str
                      ) -> tuple[Campaign | None, MailingList | None]:
    """The campaign and the account's list as campaign_state reads them, without the account (a
    fan-out page needs none, and its role reads no accounts): one BatchGetItem."""
    return _campaign_found(account_id, _batch_get(_campaign_request(account_id, campaign_id, list_id)))


def _campaign_request(account_id: str, campaign_id: str, list_id: str) -> dict[str, dict[str, Any]]:
    campaign = {"account_id": {"S": account_id}, "campaign_id": {"S": campaign_id}}
    return {
        Campaign.Meta.table_name: {"Keys": [campaign], "ConsistentRead": True},
        MailingList.Meta.table_name: {"Keys": [{"list_id": {"S": list_id}}], "ConsistentRead": True},
    }


def _campaign_found(account_id: str, found: dict[str, list[dict[str, Any]]]
                    ) -> tuple[Campaign | None, MailingList | None]:
    campaigns, lists = found[Campaign.Meta.table_name], found[MailingList.Meta.table_name]
    mailing_list = MailingList.from_raw_data(lists[0]) if lists else None
    return (Campaign.from_raw_data(campaigns[0]) if campaigns else None,
            mailing_list if mailing_list is not None and mailing_list.account_id == account_id else None)


def due_recipients(account_id: str, list_id: str, hashes: Sequence[str],
                   addresses: Sequence[str]) -> DueRecipients:
    """The suppressions of `hashes` for the account's list (as suppressions.suppressed_hashes
    answers) and the list's entries of `addresses`: one BatchGetItem per batch_reads.MAX_BATCH_KEYS keys
    (each hash has three keys, each address one)."""
    return _due_found(account_id, list_id, _batch_get(_due_request(account_id, list_id, hashes, addresses)))


def _due_request(account_id: str, list_id: str, hashes: Sequence[str],
                 addresses: Sequence[str]) -> dict[str, dict[str, Any]]:
    suppressions, subscribers = Suppression.Meta.table_name, Subscriber.Meta.table_name
    return {
        suppressions: {"Keys": [{"scope": {"S": scope}, "address_hash": {"S": key}}
                                for hashed in dict.fromkeys(hashes)
                                for scope, key in suppression_keys(account_id, hashed, list_id)]},
        subscribers: {"Keys": [{"list_id": {"S": list_id}, "address": {"S": address}}
                               for address in dict.fromkeys(addresses)]},
    }


def _due_found(account_id: str, list_id: str, found: dict[str, list[dict[str, Any]]]) -> DueRecipients:
    suppressed = suppressing((Suppression.from_raw_data(item) for item in found[Suppression.Meta.table_name]),
                             account_id, list_id)
    entries = (Subscriber.from_raw_data(item) for item in found[Subscriber.Meta.table_name])
    return DueRecipients(suppressed, {entry.address: entry for entry in entries
                                      if entry.account_id == account_id})


def confirmation_may_go(account_id: str, list_id: str, address: str) -> bool:
    """Whether a confirmation mail queued for the person's signup to the account's list may still
    go: their entry there still waits for it (pending and unexpired, or their signup back to an
    entry they unsubscribed, P01, P12), its processing was not restricted (P17), and their own
    signup is not refused (erased, P18; complained, bounced or opted out of the platform, P12).
    The entry and its suppressions in one BatchGetItem, strongly consistent: the signups worker
    wrote the entry just before it queued the mail, and a read that missed so recent a write
    would drop the signup's only mail."""
    hashed = address_hash(address, hash_key())
    suppressions, subscribers = Suppression.Meta.table_name, Subscriber.Meta.table_name
    found = _batch_get({
        suppressions: {"Keys": [{"scope": {"S": scope}, "address_hash": {"S": key}}
                                for scope, key in suppression_keys(account_id, hashed, list_id)],
                       "ConsistentRead": True},
        subscribers: {"Keys": [{"list_id": {"S": list_id}, "address": {"S": address}}],
                      "ConsistentRead": True},
    })
    if own_signup_of([Suppression.from_raw_data(item) for item in found[suppressions]]) is OwnSignup.BLOCKED:
        return False
    entry = Subscriber.from_raw_data(found[subscribers][0]) if found[subscribers] else None
    if entry is None or entry.account_id != account_id or entry.restricted:
        return False
    at = now()
    if entry.status == Status.PENDING.value:
        return is_live(Status.PENDING, entry.expires_at, at)
    return waiting_return(entry, at) is not None
