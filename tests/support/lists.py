"""Lists, and people written straight onto them."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.support.api import bearer


def make_list(client: Any, account: dict[str, Any], name: str = "Acme News") -> str:
    response = client.http.post("/v1/lists", headers=bearer(account["api_key"]),
                                body=json.dumps({"name": name,
                                                 "consent_text": "Yes, send me the Acme newsletter."}))
    assert response.status_code == 201, response.body
    return json.loads(response.body)["list_id"]


def new_list(client: Any, api: dict[str, str], name: str, *, attributes: tuple[str, ...] = (),
             consent: str = "Yes, send me news.", single_opt_in: bool = True) -> str:
    """A list of the account; single opt-in so that an API signup with proof is confirmed."""
    body = {"name": name, "consent_text": consent, "attributes": list(attributes)}
    response = client.http.post("/v1/lists", headers=api, body=json.dumps(body))
    assert response.status_code == 201, response.body
    list_id = json.loads(response.body)["list_id"]
    if single_opt_in:
        patched = client.http.patch(f"/v1/lists/{list_id}", headers=api,
                                    body=json.dumps({"double_opt_in": False}))
        assert patched.status_code == 200, patched.body
    return list_id


def confirmed(account_id: str, list_id: str, email: str) -> None:
    """A confirmed subscriber, written straight to the store."""
    from chalicelib.domain.subscriptions import Contact, Source, Status, evidence
    from chalicelib.store.subscribers import write_signup

    proof = evidence(datetime.now(UTC), Source.API, 1, ip=None, user_agent=None, form_url=None)
    assert write_signup(account_id, list_id, Contact(email=email), proof, Status.CONFIRMED)


def subscribe(account_id: str, list_id: str, email: str, *, status: str = "confirmed",
              phone: str | None = None, restricted: bool = False, **attributes: str) -> None:
    """A subscriber entry with consent proof, written straight to the store."""
    from chalicelib.domain.subscriptions import ConsentEvidence, Contact, Source, Status
    from chalicelib.store.models import Subscriber
    from chalicelib.store.subscribers import list_status_key, write_signup

    contact = Contact(email=email, name=email.split("@")[0].title(), phone=phone, attributes=attributes)
    evidence = ConsentEvidence(given_at=datetime.now(UTC), source=Source.API, consent_text_version=1)
    write_signup(account_id, list_id, contact, evidence, Status.CONFIRMED)
    if status != "confirmed" or restricted:
        Subscriber(list_id=list_id, address=email).update(actions=[
            Subscriber.status.set(status), Subscriber.restricted.set(restricted),
            Subscriber.list_status.set(list_status_key(list_id, Status(status)))])


def status_of(list_id: str, email: str) -> str:
    from chalicelib.store.models import Subscriber

    return Subscriber.get(list_id, email).status


def stored(list_id: str, address: str) -> Any:
    """The raw stored entry (expired or not), or None."""
    from chalicelib.store.models import Subscriber

    try:
        return Subscriber.get(list_id, address)
    except Subscriber.DoesNotExist:
        return None
