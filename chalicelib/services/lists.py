"""Distribution lists: their settings, and consent texts kept as numbered versions (P02).

A changed consent text becomes a new version; the old ones stay, because each subscriber's
proof names the version it agreed to.
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain.clock import now
from chalicelib.domain.header_text import header_text
from chalicelib.domain.health import refuse_while_blocked
from chalicelib.domain.lists import (
    DEFAULT_TRACKING_TEXT,
    TrackingConsent,
    clean_origin,
    clean_redirect_url,
    next_consent_versions,
    tracking_consent_of,
)
from chalicelib.domain.subscriptions import pending_lifetime
from chalicelib.store import audit
from chalicelib.store import lists as list_store
from chalicelib.store.accounts import get_account
from chalicelib.store.lists import consent_history as consent_history
from chalicelib.store.lists import find_list as find_list
from chalicelib.store.lists import get_list as get_list
from chalicelib.store.lists import lists_page as lists_page
from chalicelib.store.lists import tracking_history as tracking_history
from chalicelib.store.models import MailingList


def _model_changes(body: dict[str, Any]) -> dict[str, Any]:
    """Map validated API fields onto model attributes (consent text is handled apart)."""
    changes: dict[str, Any] = {}
    if "name" in body:
        # The list's name is in the confirmation mail's Subject: one line (no silent loss).
        changes["name"] = header_text(body["name"], "name")
    if "double_opt_in" in body:
        changes["double_opt_in"] = body["double_opt_in"]
    if "pending_signup_days" in body:
        changes["pending_signup_days"] = body["pending_signup_days"]
    tracking = body.get("tracking", {})
    if "opens" in tracking:
        changes["track_opens"] = tracking["opens"]
    if "clicks" in tracking:
        changes["track_clicks"] = tracking["clicks"]
    if "allowed_origins" in body:
        changes["allowed_origins"] = {clean_origin(o) for o in body["allowed_origins"]} or None
    if "tracking_consent" in body:
        changes["tracking_consent"] = TrackingConsent(body["tracking_consent"]).value
    if "attributes" in body:
        changes["declared_attributes"] = set(body["attributes"]) or None
    if "language" in body:
        changes["language"] = body["language"]
    for name in ("redirect_after_signup", "redirect_after_confirm", "privacy_policy_url"):
        if name in body:
            value = body[name]
            changes[name] = clean_redirect_url(value, name) if value else None
    return changes


def pending_signup_days(mailing_list: MailingList) -> int:
    """Days the list's unconfirmed signups wait for confirmation (P01): its own, else 7."""
    return pending_lifetime(mailing_list.pending_signup_days).days


def _tracking_versions(mailing_list: MailingList | None, body: dict[str, Any]) -> list | None:
    """The tracking text's versions after this change (P30): a new text becomes the next
    version; a list that asks for tracking consent and has no text gets the default one."""
    history = tracking_history(mailing_list) if mailing_list else []
    asks = tracking_consent_of(body.get("tracking_consent") or (
        mailing_list.tracking_consent if mailing_list else TrackingConsent.REQUIRED.value))
    if "tracking_consent_text" in body:
        return next_consent_versions(history, body["tracking_consent_text"], now(), "tracking_consent_text")
    if asks is TrackingConsent.REQUIRED and not history:
        return next_consent_versions(history, DEFAULT_TRACKING_TEXT, now())
    return None


def create_list(account_id: str, actor: str, body: dict[str, Any]) -> MailingList:
    """A new list with its first consent text (version 1) and, unless it does not ask for
    tracking consent, its first tracking-consent text (P30). Forbidden while the account may
    not send (P22, P26)."""
    refuse_while_blocked(get_account(account_id))
    consent = next_consent_versions([], body["consent_text"], now())
    mailing_list = list_store.create_list(account_id, _model_changes(body), consent,
                                          _tracking_versions(None, body))
    audit.record(account_id, actor, "list.created", mailing_list.list_id)
    return mailing_list


def _setting_names(body: dict[str, Any]) -> str:
    """The names of the settings a patch sets, sorted (`tracking.opens` for the nested ones)."""
    names = [name for name in body if name != "tracking"]
    names += [f"tracking.{name}" for name in body.get("tracking", {})]
    return ",".join(sorted(names))


def change_list(account_id: str, actor: str, list_id: str, body: dict[str, Any]) -> MailingList:
    """Apply a settings patch; a new consent text becomes the next version. Forbidden while the
    account may not send (P22, P26). Audited with the names of the settings, never their values:
    double opt-in, consent texts, tracking and the privacy link change what people agree to (P27)."""
    mailing_list = get_list(account_id, list_id)
    refuse_while_blocked(get_account(account_id))
    consent = None
    if "consent_text" in body:
        consent = next_consent_versions(consent_history(mailing_list), body["consent_text"], now())
    list_store.update_list(mailing_list, _model_changes(body), consent,
                           _tracking_versions(mailing_list, body))
    audit.record(account_id, actor, "list.changed", f"{list_id}: {_setting_names(body)}")
    return mailing_list


def delete_list(account_id: str, actor: str, list_id: str) -> None:
    """Delete one of the account's lists and its entries (another account's is NotFound)."""
    list_store.delete_list(get_list(account_id, list_id))
    audit.record(account_id, actor, "list.deleted", list_id)
