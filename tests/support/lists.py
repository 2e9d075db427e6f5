"""Lists, and people written straight onto them."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

CONSENT = "Yes, send me the Acme newsletter. I can unsubscribe at any time."
# P32: a list takes signups only once it links its controller's privacy policy.
POLICY = "https://acme.example/privacy"


# When new_list's consent texts were written: before every consent time the tests' rows and
# requests name, since a proof records the text in force when consent was given (P02).
TEXTS_SINCE = datetime(2020, 1, 1, tzinfo=UTC)


def new_list(client: Any, headers: dict[str, str], name: str = "Acme News", *, double_opt_in: bool = True,
             consent: str = CONSENT, attributes: tuple[str, ...] = (),
             privacy_policy_url: str | None = POLICY, texts_since: datetime | None = TEXTS_SINCE,
             **fields: Any) -> str:
    """A list of the account the headers authenticate, created through the API; its id. Single
    opt-in (`double_opt_in=False`) confirms an API signup with consent proof at once. It links
    POLICY unless `privacy_policy_url` says otherwise (None: no policy, so no signups, P32).
    Its consent texts are dated `texts_since` (None: when they were written, now)."""
    body = {"name": name, "consent_text": consent, "attributes": list(attributes), **fields}
    if privacy_policy_url is not None:
        body["privacy_policy_url"] = privacy_policy_url
    response = client.http.post("/v1/lists", headers=headers, body=json.dumps(body))
    assert response.status_code == 201, response.body
    list_id = json.loads(response.body)["list_id"]
    if not double_opt_in:
        patched = client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                                    body=json.dumps({"double_opt_in": False}))
        assert patched.status_code == 200, patched.body
    if texts_since is not None:
        date_consent_texts(list_id, texts_since)
    return list_id


def date_consent_texts(list_id: str, at: datetime, version: int | None = None) -> None:
    """Date the list's consent and tracking-consent texts `at`: every version, or the one named."""
    from chalicelib.store.models import MailingList

    stored_list = MailingList.get(list_id)
    for text in [*stored_list.consent_versions, *stored_list.tracking_consent_versions]:
        if version is None or text.version == version:
            text.created_at = at
    stored_list.save()


def subscribe(account_id: str, list_id: str, email: str, *, status: str = "confirmed",
              name: str | None = None, phone: str | None = None, restricted: bool = False,
              given_at: datetime | None = None, ip: str | None = None, user_agent: str | None = None,
              tracking: bool = True, phone_confirmed: bool = True, **attributes: str) -> None:
    """A subscriber with consent proof given through the API, written straight to the store:
    confirmed, then moved to `status` or restricted where asked. Named after the address (Ann for
    ann@example.com) unless `name` is given. With `tracking`, they also gave the list's separate
    tracking consent (P30), so their mail carries a pixel and tracked links where the list tracks;
    with a `phone` and `phone_confirmed`, they confirmed that number (marketing SMS go only to
    confirmed numbers)."""
    from chalicelib.domain.subscriptions import Contact, Source, Status, evidence
    from chalicelib.store.models import Subscriber
    from chalicelib.store.subscribers import list_status_key, write_signup

    contact = Contact(email=email, name=name or email.split("@")[0].title(), phone=phone,
                      attributes=attributes)
    proof = evidence(given_at or datetime.now(UTC), Source.API, 1, ip=ip, user_agent=user_agent,
                     form_url=None)
    assert write_signup(account_id, list_id, contact, proof, Status.CONFIRMED,
                        tracking=proof if tracking else None)
    if phone and phone_confirmed:
        from chalicelib.store.subscribers import confirm_phone

        confirm_phone(Subscriber.get(list_id, email), None, None)
    if status != "confirmed" or restricted:
        Subscriber(list_id=list_id, address=email).update(actions=[
            Subscriber.status.set(status), Subscriber.restricted.set(restricted),
            Subscriber.list_status.set(list_status_key(list_id, Status(status)))])


def confirm_with_tracking(list_id: str, address: str) -> None:
    """A pending entry confirmed by its person, who also gave the list's tracking consent (P30)."""
    from chalicelib.domain.subscriptions import Source, evidence
    from chalicelib.store.subscribers import confirm, give_tracking

    entry = confirm(list_id, address, None, None)
    assert entry is not None
    give_tracking(entry, evidence(datetime.now(UTC), Source.PREFERENCES, 1, ip=None, user_agent=None,
                                  form_url=None))


def stored(list_id: str, address: str) -> Any:
    """The raw stored entry (expired or not), or None."""
    from chalicelib.store.models import Subscriber

    try:
        return Subscriber.get(list_id, address)
    except Subscriber.DoesNotExist:
        return None


def status_of(list_id: str, address: str) -> str:
    """The stored entry's status (the entry must exist)."""
    return stored(list_id, address).status


def consent_texts(*versions: int, created_at: datetime = datetime(1, 1, 1, tzinfo=UTC)) -> list[Any]:
    """A list's consent-text history as the domain reads it: these versions, each written at
    `created_at` (by default the calendar's first moment, so any consent time finds them in force)."""
    from chalicelib.domain.lists import ConsentText

    return [ConsentText(version=v, text=f"text {v}", created_at=created_at) for v in versions]
