"""An account's own end of life, from the API (P22, P23): what it can still take with it, and
the confirmed, reversible deletion request.

Deletion: the API asks, a mail to the contact email carries the link, and only the button
behind it marks the account for deletion in 30 days; reactivating within them cancels it; the
daily purge (chalicelib/services/retention.py) then deletes everything. Each step is audited.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from chalicelib.adapters.sqs import enqueue
from chalicelib.config import settings, signer
from chalicelib.domain.account_lifecycle import (
    DELETION_MAIL_KIND,
    deletion_email,
    deletion_message_id,
    deletion_token,
    read_deletion_token,
)
from chalicelib.domain.clock import now
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.lists import TrackingConsent
from chalicelib.domain.outbox import EmailJob
from chalicelib.domain.retention import DELETION_SCHEDULED
from chalicelib.domain.subscriptions import Status
from chalicelib.resources import OUTBOX
from chalicelib.services.accounts import account_language
from chalicelib.store import account_lifecycle as lifecycle
from chalicelib.store import audit
from chalicelib.store.accounts import get_account
from chalicelib.store.campaigns import campaigns_page
from chalicelib.store.lists import lists_page
from chalicelib.store.models import Account, ConsentTextVersion, MailingList, Subscriber
from chalicelib.store.paging import PAGE_TEXT_MAX_BYTES, decode_cursor, encode_cursor, view_bytes
from chalicelib.store.person_data import subscription_view
from chalicelib.store.subscribers import entry_key, list_status_key, live_filter
from chalicelib.store.suppressions import refuses_platform_mail

# The audit actor of a deletion confirmed from the mail: the person at the contact email.
CONFIRMED_BY_MAIL = "email-confirmation"


class DeletionLinkUsed(InvalidInput):
    """A genuine link, but a newer mail was sent or this one was already used."""

    code = "deletion_link_used"


def request_deletion(account_id: str, actor: str) -> None:
    """Mail the confirmation link to the contact email; nothing changes until it is used."""
    account = get_account(account_id)
    if not account.contact_email:
        raise Conflict("the account has no contact email to confirm the deletion with; set one "
                       "through POST /v1/account/email-change first", field="contact_email")
    if account.deletion_state == DELETION_SCHEDULED:
        raise Conflict("the account is already marked for deletion", field="account")
    if refuses_platform_mail(account.contact_email):
        raise Conflict("mail to the account's contact email bounced or was marked as spam, so the "
                       "confirmation could not arrive (P11); change it through POST "
                       "/v1/account/email-change first", field="contact_email")
    nonce = secrets.token_urlsafe(12)
    lifecycle.set_deletion_nonce(account_id, nonce)
    mail = deletion_email(account.contact_email, account.name, deletion_token(signer(), account_id, nonce),
                          public_base_url=settings().public_base_url,
                          default_sender=settings().default_sender, language=account_language(account))
    enqueue(OUTBOX, EmailJob(message_id=deletion_message_id(account_id, nonce), account_id=account_id,
                             kind=DELETION_MAIL_KIND, email=mail).to_dict())
    audit.record(account_id, actor, "account.deletion_requested", account_id)


def pending_deletion(token: str) -> Account:
    """The account a deletion link is for; raises when the link is bad, stale or used."""
    claim = read_deletion_token(signer(), token)
    account = get_account(claim.account_id)
    if account.deletion_nonce != claim.nonce:
        raise DeletionLinkUsed("this link was already used, or a newer one was sent", field="token")
    return account


def confirm_deletion(token: str) -> tuple[Account, datetime]:
    """Mark the account for deletion in 30 days (P23); the account and the due time."""
    account = pending_deletion(token)
    due = lifecycle.schedule_deletion(account.account_id, account.deletion_nonce or "")
    if due is None:
        raise DeletionLinkUsed("this link was already used, or a newer one was sent", field="token")
    audit.record(account.account_id, CONFIRMED_BY_MAIL, "account.deletion_confirmed", due.isoformat())
    return account, due


def reactivate(account_id: str, actor: str) -> None:
    """Cancel a deletion that is not due yet; Conflict when there is none to cancel."""
    if not lifecycle.cancel_deletion(account_id):
        raise Conflict("the account is not marked for deletion (or its deletion is already due)",
                       field="account")
    audit.record(account_id, actor, "account.reactivated", account_id)


# --- what a suspended or leaving account can take with it (P22) -------------------------------

def _lists(account_id: str) -> list[MailingList]:
    return sorted(MailingList.by_account.query(account_id), key=lambda m: m.list_id)


# The export's cursors: where its lists (`{"lists": ...}`), campaigns (`{"campaigns": ...}`) or
# list entries (`{"list": ..., "key": ...}`) go on.
_EXPORT = "account-entries:all"


def _entries_page(lists: list[MailingList], status: Status | None, limit: int, cursor: str | None,
                  budget: int = PAGE_TEXT_MAX_BYTES) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` entries across the lists, list by list, of at most `budget` bytes as JSON
    (store/paging.py); a cursor names the list and the key to resume from."""
    listing = f"account-entries:{status.value if status else 'all'}"
    start = decode_cursor(cursor, listing) or {}
    by_id = {m.list_id: m for m in lists}
    ids = [m.list_id for m in lists]
    if start and start.get("list") not in by_id:
        raise InvalidInput("'cursor' belongs to another listing", field="cursor")
    rows: list[dict[str, Any]] = []
    size = 0
    position = ids.index(start["list"]) if start else 0
    last_key = start.get("key")
    # Still stored past its P01 or P29 date, an entry is no longer the account's to take.
    live = live_filter(now())
    for list_id in ids[position:]:
        if status is None:
            result = Subscriber.query(list_id, filter_condition=live, limit=limit - len(rows),
                                      last_evaluated_key=last_key)
        else:
            result = Subscriber.by_list_status.query(list_status_key(list_id, status), filter_condition=live,
                                                     limit=limit - len(rows), last_evaluated_key=last_key)
        shown = None
        for entry in result:
            row = subscription_view(entry, by_id[list_id])
            # Each row repeats the consent texts agreed to (P02): a page ends early rather than
            # outgrow one answer (store/paging.py), going on after its last entry.
            size += view_bytes(row)
            if rows and size > budget:
                key = entry_key(list_id, status, shown) if shown else last_key
                return rows, encode_cursor({"list": list_id, "key": key}, listing)
            rows.append(row)
            shown = entry.address
        last_key = None
        if result.last_evaluated_key:
            return rows, encode_cursor({"list": list_id, "key": result.last_evaluated_key}, listing)
        if len(rows) >= limit:
            following = ids[ids.index(list_id) + 1:]
            return rows, encode_cursor({"list": following[0], "key": None}, listing) if following else None
    return rows, None


def account_export(account_id: str, actor: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """The account's data (P22): its profile, then its lists with their consent texts, its
    campaigns and every list entry with its consent proof, a page at a time. Audited."""
    export = _export_page(get_account(account_id), limit, cursor)
    audit.record(account_id, actor, "account.exported", account_id)
    return export


def _export_page(account: Account, limit: int, cursor: str | None) -> dict[str, Any]:
    start = decode_cursor(cursor, _EXPORT) or {}
    export: dict[str, Any] = {}
    # Lists, campaigns and entries share one page's budget (store/paging.py): all at once, long
    # consent histories and big newsletters made the export more than a Lambda may answer.
    used = 0
    if cursor is None:
        export["account"] = {"account_id": account.account_id, "name": account.name,
                             "postal_address": account.postal_address,
                             "contact_email": account.contact_email,
                             "sender_identity": account.sender_identity, "status": account.status,
                             "created_at": account.created_at.isoformat()}
    if cursor is None or "lists" in start:
        lists, more = lists_page(account.account_id, limit, start.get("lists"))
        # Both texts' versions are the proof of what people agreed to (P02, P30); lists_page
        # counts both in the page's budget.
        export["lists"] = [{"list_id": m.list_id, "name": m.name, "double_opt_in": m.double_opt_in,
                            "declared_attributes": sorted(m.declared_attributes or ()),
                            "consent_versions": _versions_view(m.consent_versions),
                            "tracking_consent": m.tracking_consent or TrackingConsent.NOT_REQUIRED.value,
                            "tracking_consent_versions": _versions_view(m.tracking_consent_versions)}
                           for m in lists]
        used = view_bytes(export["lists"])
        if more or used > PAGE_TEXT_MAX_BYTES // 2:
            return _ends_before_entries(export, {"lists": more} if more else {"campaigns": None})
        start = {"campaigns": None}
    if "campaigns" in start:
        campaigns, more = campaigns_page(account.account_id, limit, start["campaigns"],
                                         PAGE_TEXT_MAX_BYTES - used)
        export["campaigns"] = [{"campaign_id": c.campaign_id, "name": c.name, "status": c.status,
                                "channel": c.channel, "list_ids": sorted(c.list_ids or ()),
                                "subject": c.subject, "html": c.html, "text": c.text, "sms_body": c.sms_body,
                                "created_at": c.created_at.isoformat()}
                               for c in campaigns]
        used += view_bytes(export["campaigns"])
        if more or used > PAGE_TEXT_MAX_BYTES // 2:
            return _ends_before_entries(export, {"campaigns": more} if more else {"list": None})
        start = {}
    entries, next_cursor = _entries_page(_lists(account.account_id), None, limit,
                                         cursor if start.get("list") else None, PAGE_TEXT_MAX_BYTES - used)
    export.update(subscribers=entries, next_cursor=next_cursor)
    return export


def _versions_view(versions: list[ConsentTextVersion] | None) -> list[dict[str, Any]]:
    return [{"version": int(v.version), "text": v.text, "created_at": v.created_at.isoformat()}
            for v in versions or []]


def _ends_before_entries(export: dict[str, Any], resume: dict[str, Any]) -> dict[str, Any]:
    """An export page that ends before the entries: its cursor goes on with `resume`."""
    export.update(subscribers=[], next_cursor=encode_cursor(resume, _EXPORT))
    return export


def unsubscribes(account_id: str, actor: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """The unsubscribe requests the account received (P22): who left which list, and when.
    It holds addresses and phones: every page read is audited (P27)."""
    rows, next_cursor = _entries_page(_lists(account_id), Status.UNSUBSCRIBED, limit, cursor)
    audit.record(account_id, actor, "account.unsubscribes_exported", account_id)
    return {"unsubscribes": [{"list_id": r["list_id"], "list_name": r["list_name"], "email": r["email"],
                              # Its last change may be a later correction (P17); one ended
                              # before endings were dated has only that (store/retention.py).
                              "phone": r["phone"], "unsubscribed_at": r["ended_at"] or r["updated_at"]}
                             for r in rows],
            "next_cursor": next_cursor}
