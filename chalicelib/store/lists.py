"""Lists: keyed by list id (public forms find them directly), listed per account by index."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.domain.clock import now
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ids import new_id
from chalicelib.domain.lists import ConsentText
from chalicelib.store.batch_writes import delete_all
from chalicelib.store.models import ConsentTextVersion, MailingList, Subscriber
from chalicelib.store.paging import decode_cursor, encode_cursor, fill_page, utf8_bytes
from chalicelib.templates import DEFAULT_LANGUAGE, LANGUAGES


def consent_history(mailing_list: MailingList) -> list[ConsentText]:
    return [
        ConsentText(version=int(v.version), text=v.text, created_at=v.created_at)
        for v in mailing_list.consent_versions or []
    ]


def tracking_history(mailing_list: MailingList) -> list[ConsentText]:
    """The versions of the list's tracking-consent text (P30), oldest first."""
    return [
        ConsentText(version=int(v.version), text=v.text, created_at=v.created_at)
        for v in mailing_list.tracking_consent_versions or []
    ]


def _stored_versions(versions: list[ConsentText]) -> list[ConsentTextVersion]:
    return [
        ConsentTextVersion(version=v.version, text=v.text, created_at=v.created_at)
        for v in versions
    ]


def create_list(account_id: str, settings: dict[str, Any], consent: list[ConsentText],
                tracking: list[ConsentText] | None = None) -> MailingList:
    at = now()
    mailing_list = MailingList(
        list_id=new_id("lst"),
        account_id=account_id,
        consent_versions=_stored_versions(consent),
        tracking_consent_versions=_stored_versions(tracking or []),
        created_at=at,
        updated_at=at,
        **settings,
    )
    mailing_list.save(condition=MailingList.list_id.does_not_exist())
    return mailing_list


def find_list(list_id: str) -> MailingList | None:
    """Any account's list, for public routes that know only the list id."""
    try:
        return MailingList.get(list_id)
    except MailingList.DoesNotExist:
        return None


def lists_by_id(list_ids: Iterable[str]) -> dict[str, MailingList]:
    """The lists of these ids that exist, in batched reads."""
    return {found.list_id: found for found in MailingList.batch_get(list(set(list_ids)))}


def get_list(account_id: str, list_id: str) -> MailingList:
    """The account's list; another account's list is NotFound, never shown (P28)."""
    mailing_list = find_list(list_id)
    if mailing_list is None or mailing_list.account_id != account_id:
        raise NotFound("no such list", field="list_id")
    return mailing_list


def lists_page(
    account_id: str, limit: int, cursor: str | None
) -> tuple[list[MailingList], str | None]:
    result = MailingList.by_account.query(
        account_id, limit=limit, last_evaluated_key=decode_cursor(cursor, f"lists:{account_id}")
    )
    # Every consent text a list has had is shown (P02): a page of long histories ends early
    # (store/paging.py), going on from its last list.
    items, ended_early = fill_page(result, _text_bytes)
    resume = ({"account_id": {"S": account_id}, "list_id": {"S": items[-1].list_id}}
              if ended_early else result.last_evaluated_key)
    return items, encode_cursor(resume, f"lists:{account_id}")


def _text_bytes(mailing_list: MailingList) -> int:
    versions = [*(mailing_list.consent_versions or []), *(mailing_list.tracking_consent_versions or [])]
    return utf8_bytes(mailing_list.name, mailing_list.redirect_after_signup,
                      mailing_list.redirect_after_confirm, mailing_list.privacy_policy_url,
                      *(mailing_list.allowed_origins or ()), *(version.text for version in versions))


def update_list(
    mailing_list: MailingList, changes: dict[str, Any], consent: list[ConsentText] | None,
    tracking: list[ConsentText] | None = None,
) -> MailingList:
    for name, value in changes.items():
        setattr(mailing_list, name, value)
    if consent is not None:
        mailing_list.consent_versions = _stored_versions(consent)
    if tracking is not None:
        mailing_list.tracking_consent_versions = _stored_versions(tracking)
    mailing_list.updated_at = now()
    mailing_list.save(condition=MailingList.account_id == mailing_list.account_id)
    return mailing_list


def delete_list(mailing_list: MailingList) -> None:
    """Delete the list and its subscriber entries (suppressions stay: they are per account)."""
    delete_all(Subscriber, Subscriber.query(mailing_list.list_id))
    mailing_list.delete(condition=MailingList.account_id == mailing_list.account_id)


def list_language(mailing_list: MailingList | None) -> str:
    """The language of the list's public pages and system mails (P32)."""
    language = mailing_list.language if mailing_list else None
    return language if language in LANGUAGES else DEFAULT_LANGUAGE
