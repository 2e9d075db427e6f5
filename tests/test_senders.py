"""Sender identities owned per account (P35): `/v1/senders`, and every From checked against them."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.cli import create_account_with_key
from chalicelib.clients import client as aws_client
from tests.support.api import bearer
from tests.support.campaigns import create_campaign
from tests.support.lists import new_list, subscribe


@pytest.fixture
def other(aws: dict[str, str]) -> dict[str, Any]:
    """A second tenant with a complete profile, sending as its own domain."""
    tenant = create_account_with_key("Other Ltd", {
        "postal_address": "2 Side Street, Tallinn", "contact_email": "contact@other.example",
        "sender_identity": "hello@other.example"})
    return {**tenant, "headers": bearer(tenant["api_key"])}


@pytest.fixture
def squatter(aws: dict[str, str]) -> dict[str, Any]:
    """A tenant that adds identities it cannot verify."""
    tenant = create_account_with_key("Squatter Ltd", {
        "postal_address": "3 Back Street, Chisinau", "contact_email": "contact@squat.example"})
    return {**tenant, "headers": bearer(tenant["api_key"])}


@pytest.fixture
def owner(aws: dict[str, str]) -> dict[str, Any]:
    """The tenant that controls bigbrand.example's DNS and mailboxes."""
    tenant = create_account_with_key("Big Brand SA", {
        "postal_address": "1 High Street, Bucharest", "contact_email": "contact@bigbrand.example"})
    return {**tenant, "headers": bearer(tenant["api_key"])}


@pytest.fixture
def list_id(client: Any, headers: dict[str, str]) -> str:
    return new_list(client, headers, "News")


def _add(client: Any, headers: dict[str, str], identity: str) -> Any:
    return client.http.post("/v1/senders", headers=headers, body=json.dumps({"identity": identity}))


def _error(response: Any) -> dict[str, Any]:
    return json.loads(response.body)["error"]


def _ses_status(identity: str, status: str) -> None:
    """Set what moto's SES says about an identity (moto verifies every identity at once)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].email_identities[identity].verification_status = status


def test_p35_add_a_domain_returns_its_status_and_dns_records(client, headers):
    response = _add(client, headers, "Mail.Shop.Example")
    assert response.status_code == 201, response.body
    body = json.loads(response.body)
    assert body["identity"] == "mail.shop.example" and body["kind"] == "domain"
    # moto verifies at once and sends no DKIM tokens; real SES answers PENDING and three tokens.
    assert body["verification_status"] == "SUCCESS" and body["verified"] is True
    assert isinstance(body["dns_records"], list)
    listed = json.loads(client.http.get("/v1/senders", headers=headers).body)["senders"]
    assert "mail.shop.example" in [item["identity"] for item in listed]


def test_p35_dns_records_follow_ses_easy_dkim_tokens():
    from chalicelib.domain.senders import dns_records

    assert dns_records("shop.example", ["abc"]) == [
        {"type": "CNAME", "name": "abc._domainkey.shop.example", "value": "abc.dkim.amazonses.com"}]


def test_p35_another_tenant_cannot_claim_or_send_as_an_owned_identity(client, headers, account, other):
    # acme.example belongs to the account fixture (verified_sender): the other tenant cannot add
    # it, nor an address at it, nor use it as From anywhere.
    for identity in ("acme.example", "news@acme.example", "boss@acme.example"):
        response = client.http.post("/v1/senders", headers=other["headers"],
                                    body=json.dumps({"identity": identity}))
        assert response.status_code == 409, (identity, response.body)
        assert _error(response)["field"] == "identity"
    mine = new_list(client, other["headers"], "Other news")
    campaign = client.http.post("/v1/campaigns", headers=other["headers"], body=json.dumps({
        "name": "x", "list_ids": [mine], "subject": "Hi", "html": "<p>Hi</p>",
        "from_address": "news@acme.example"}))
    assert campaign.status_code == 403 and _error(campaign)["field"] == "from_address"
    message = client.http.post("/v1/messages", headers=other["headers"], body=json.dumps({
        "to": "ann@example.com", "subject": "Hi", "text": "Hi", "from_address": "news@acme.example"}))
    assert message.status_code == 403 and _error(message)["field"] == "from_address"
    profile = client.http.patch("/v1/account", headers=other["headers"],
                                body=json.dumps({"sender_identity": "news@acme.example"}))
    assert profile.status_code == 403 and _error(profile)["field"] == "sender_identity"


def test_p35_a_domain_is_refused_while_another_account_owns_an_address_at_it(client, headers, other):
    # The other tenant owns hello@other.example (its CLI sender identity).
    response = _add(client, headers, "other.example")
    assert response.status_code == 409 and _error(response)["field"] == "identity"
    # An address at a shared mail domain is fine: two tenants may each own one at it.
    assert client.http.post("/v1/senders", headers=headers,
                            body=json.dumps({"identity": "acme@other-mail.example"})).status_code == 201
    assert client.http.post("/v1/senders", headers=other["headers"],
                            body=json.dumps({"identity": "otr@other-mail.example"})).status_code == 201


def test_p35_the_platform_sender_domain_is_reserved(client, headers):
    from chalicelib.config import settings

    for identity in (settings().default_sender, settings().default_sender.rpartition("@")[2]):
        response = client.http.post("/v1/senders", headers=headers, body=json.dumps({"identity": identity}))
        assert response.status_code == 409, response.body


def test_p35_an_unverified_identity_is_409_until_ses_verifies_it(client, headers, list_id):
    assert client.http.post("/v1/senders", headers=headers,
                            body=json.dumps({"identity": "news@pending.example"})).status_code == 201
    _ses_status("news@pending.example", "PENDING")
    shown = json.loads(client.http.get("/v1/senders/news@pending.example", headers=headers).body)
    assert shown["verified"] is False and shown["verification_status"] == "PENDING"
    assert "next_step" in shown
    body = {"name": "x", "list_ids": [list_id], "subject": "Hi", "html": "<p>Hi</p>",
            "from_address": "news@pending.example"}
    refused = client.http.post("/v1/campaigns", headers=headers, body=json.dumps(body))
    assert refused.status_code == 409 and _error(refused)["field"] == "from_address"
    _ses_status("news@pending.example", "SUCCESS")
    assert client.http.post("/v1/campaigns", headers=headers, body=json.dumps(body)).status_code == 201


def test_p35_a_campaign_whose_identity_lapsed_cannot_start_or_test(client, headers, account, list_id):
    campaign = create_campaign(client, headers, [list_id], from_address="offers@acme.example")
    _ses_status("acme.example", "FAILED")
    started = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    assert started.status_code == 409 and _error(started)["field"] == "from_address"
    tested = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/test", headers=headers,
                              body=json.dumps({"addresses": ["qa@acme.example"]}))
    assert tested.status_code == 409 and _error(tested)["field"] == "from_address"


def test_p35_senders_are_per_account_and_deletion_is_guarded(client, headers, account, other):
    theirs = client.http.get("/v1/senders/hello@other.example", headers=headers)
    assert theirs.status_code == 404
    assert client.http.delete("/v1/senders/hello@other.example", headers=headers).status_code == 404
    assert "hello@other.example" not in client.http.get("/v1/senders", headers=headers).body.decode()
    # The profile sends as news@acme.example, owned twice over (the address and its domain):
    # either may go, not both.
    assert client.http.delete("/v1/senders/acme.example", headers=headers).status_code == 204
    last = client.http.delete("/v1/senders/news@acme.example", headers=headers)
    assert last.status_code == 409 and _error(last)["field"] == "identity"
    with pytest.raises(Exception, match="NotFound"):
        aws_client("sesv2").get_email_identity(EmailIdentity="acme.example")


def test_p35_confirmation_mail_falls_back_to_the_platform_sender(client, account, news_list):
    from chalicelib.config import settings
    from tests.support.mail import sent_mails
    from tests.support.queues import deliver, take
    from tests.support.signups import form_signup

    _ses_status("news@acme.example", "FAILED")
    _ses_status("acme.example", "FAILED")
    form_signup(client, news_list["list_id"], email="ann@example.com")
    deliver(take("outbox"))
    assert settings().default_sender in sent_mails()[-1]["From"]


def test_p35_a_queued_confirmation_whose_identity_went_to_another_account_comes_from_the_platform(
        client, account, headers, news_list):
    from chalicelib.cli import create_account_with_key
    from chalicelib.config import settings
    from tests.support.mail import sent_mails
    from tests.support.queues import deliver, take
    from tests.support.signups import form_signup

    form_signup(client, news_list["list_id"], email="ann@example.com")
    queued = take("outbox")
    assert client.http.delete("/v1/senders/acme.example", headers=headers).status_code == 204
    # The profile sends as another identity first: the one it sends as cannot be deleted.
    assert client.http.post("/v1/senders", headers=headers,
                            body=json.dumps({"identity": "hello@shop.example"})).status_code == 201
    assert client.http.patch("/v1/account", headers=headers,
                             body=json.dumps({"sender_identity": "hello@shop.example"})).status_code == 200
    assert client.http.delete("/v1/senders/news@acme.example", headers=headers).status_code == 204
    create_account_with_key("Other Ltd", {"sender_identity": "news@acme.example"})
    deliver(queued)
    assert settings().default_sender in sent_mails()[-1]["From"]
    assert "news@acme.example" not in sent_mails()[-1]["From"]


def test_p35_the_cli_gives_a_new_account_its_sender_identity(aws):
    created = create_account_with_key("New Ltd", {"sender_identity": "news@new.example"})
    from chalicelib.services.senders import list_senders

    assert [item["identity"] for item in list_senders(created["account_id"])] == ["news@new.example"]


def test_p35_senders_routes_refuse_a_read_only_key_and_bad_input(client, headers, account):
    from chalicelib.domain.keys import Scope
    from chalicelib.store.keys import create_key

    _, secret = create_key(account["account_id"], "reader", Scope.READ)
    refused = _add(client, bearer(secret), "x.example")
    assert refused.status_code == 403
    for bad in ("", "not a domain", "a@", "\u2028.example", "x" * 300):
        response = client.http.post("/v1/senders", headers=headers, body=json.dumps({"identity": bad}))
        assert response.status_code == 400 and _error(response)["field"] == "identity", (bad, response.body)


def test_p35_a_subscriber_of_another_tenant_is_not_mailed_as_us(client, headers, account, other):
    # Sanity: the other tenant still sends as its own identity.
    mine = new_list(client, other["headers"], "Other news", double_opt_in=False)
    subscribe(other["account_id"], mine, "ann@example.com")
    campaign = create_campaign(client, other["headers"], [mine])
    assert campaign["from_address"] == "hello@other.example"


# --- stacks deployed before identities were owned: the operator adopts what SES already has ----

def _legacy_account() -> dict[str, Any]:
    """An account made before P35: its sender domain is in SES, but no account owns it."""
    aws_client("sesv2").create_email_identity(EmailIdentity="legacy.example")
    return create_account_with_key("Legacy Ltd", {"postal_address": "3 Old Road, Chisinau",
                                                  "contact_email": "contact@legacy.example"})


def test_p35_the_operator_adopts_an_identity_ses_has_without_making_it_again(aws, monkeypatch, capsys):
    from chalicelib import cli
    from chalicelib.adapters import ses
    from chalicelib.domain.errors import Forbidden
    from chalicelib.services.senders import check_sender, delete_sender

    legacy = _legacy_account()
    with pytest.raises(Forbidden):
        check_sender(legacy["account_id"], "news@legacy.example")

    def remade(identity: str) -> None:
        raise AssertionError(f"{identity} made again: its DKIM records and verification would be lost")

    monkeypatch.setattr(ses, "delete_identity", remade)
    monkeypatch.setattr(ses, "create_identity", remade)
    assert cli.main(["account", "adopt-sender", "--account-id", legacy["account_id"],
                     "--identity", "Legacy.Example"]) == 0
    assert json.loads(capsys.readouterr().out)["identity"] == "legacy.example"
    check_sender(legacy["account_id"], "news@legacy.example")  # now its own, and verified
    monkeypatch.undo()  # no add is making it: the owner may delete it at once
    delete_sender(legacy["account_id"], "key", "legacy.example")
    assert "legacy.example" not in _ses_identities()


def test_p35_the_operator_cannot_adopt_another_accounts_identity_or_one_ses_lacks(aws, other, capsys):
    from chalicelib import cli

    legacy = _legacy_account()
    adopt = ["account", "adopt-sender", "--account-id", legacy["account_id"], "--identity"]
    assert cli.main([*adopt, "other.example"]) == 2
    assert "held by another owner" in capsys.readouterr().err
    assert cli.main([*adopt, "nowhere.example"]) == 2
    assert "SES has no identity" in capsys.readouterr().err


def test_p35_the_operator_cannot_adopt_an_identity_for_an_account_nobody_holds(aws, capsys):
    from chalicelib import cli
    from chalicelib.store.models import SenderIdentity

    _legacy_account()
    unknown = "acc_" + "0" * 20
    assert cli.main(["account", "adopt-sender", "--account-id", unknown, "--identity", "legacy.example"]) == 2
    assert "no such account" in capsys.readouterr().err
    assert list(SenderIdentity.scan()) == [], "claimed for no one"


# --- a claim SES never verified lapses; an identity SES has that nobody owns is never made again ---

def _identities(client: Any, tenant: dict[str, Any]) -> list[str]:
    listed = json.loads(client.http.get("/v1/senders", headers=tenant["headers"]).body)["senders"]
    return [item["identity"] for item in listed]


def _ses_identities() -> dict[str, Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].email_identities


def _audit(client: Any, tenant: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(client.http.get("/v1/audit", headers=tenant["headers"]).body)["entries"]


def test_p35_a_claim_its_claimant_never_verified_does_not_lock_the_domains_owner_out(client, squatter, owner):
    """Tenant B adds bigbrand.example, cannot publish its DNS records, and SES says FAILED: Big
    Brand, who controls the DNS, gets its own domain. B's claim and B's SES identity go; the
    identity is made afresh for Big Brand, and B cannot take it back."""
    assert _add(client, squatter["headers"], "bigbrand.example").status_code == 201
    _ses_status("bigbrand.example", "FAILED")
    squatters = _ses_identities()["bigbrand.example"]
    response = _add(client, owner["headers"], "bigbrand.example")
    assert response.status_code == 201, response.body
    assert _identities(client, owner) == ["bigbrand.example"]
    assert _identities(client, squatter) == []
    assert _ses_identities()["bigbrand.example"] is not squatters  # verified afresh by its owner
    lapsed = [entry for entry in _audit(client, squatter) if entry["action"] == "sender.lapsed"]
    assert [(entry["actor"], entry["target"]) for entry in lapsed] == [("platform", "domain")]
    assert "bigbrand" not in json.dumps(_audit(client, squatter)) + json.dumps(_audit(client, owner))
    taken_back = _add(client, squatter["headers"], "bigbrand.example")  # the owner's claim holds
    assert taken_back.status_code == 409 and _error(taken_back)["field"] == "identity"


def test_p35_an_unverified_claim_holds_for_72_hours_and_lapses_after(client, squatter, owner):
    import time_machine

    from chalicelib.domain.senders import VERIFICATION_WINDOW

    assert _add(client, squatter["headers"], "bigbrand.example").status_code == 201
    _ses_status("bigbrand.example", "PENDING")
    claimed = datetime.now(UTC)
    with time_machine.travel(claimed + VERIFICATION_WINDOW - timedelta(minutes=1), tick=False):
        held = _add(client, owner["headers"], "bigbrand.example")
        assert held.status_code == 409 and _error(held)["field"] == "identity"
    assert _identities(client, squatter) == ["bigbrand.example"]
    with time_machine.travel(claimed + VERIFICATION_WINDOW + timedelta(minutes=1), tick=False):
        assert _add(client, owner["headers"], "BigBrand.Example").status_code == 201
    assert _identities(client, squatter) == [] and _identities(client, owner) == ["bigbrand.example"]


@pytest.mark.parametrize("status", ["SUCCESS", "TEMPORARY_FAILURE"])
def test_p35_a_verified_claim_or_one_ses_cannot_check_just_now_never_lapses(client, squatter, owner, status):
    import time_machine

    assert _add(client, squatter["headers"], "bigbrand.example").status_code == 201
    _ses_status("bigbrand.example", status)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=400), tick=False):
        for identity in ("bigbrand.example", "ceo@bigbrand.example"):
            refused = _add(client, owner["headers"], identity)
            assert refused.status_code == 409 and _error(refused)["field"] == "identity", identity
    assert _identities(client, squatter) == ["bigbrand.example"]
    assert "bigbrand.example" in _ses_identities()


def test_p35_a_lapsed_address_claim_at_a_domain_gives_way_and_leaves_ses(client, squatter, owner):
    """An address B added at Big Brand's domain and never verified (SES lost it, or said FAILED)
    no longer keeps Big Brand from its domain; SES keeps no identity that nobody owns."""
    for address in ("ceo@bigbrand.example", "pay@bigbrand.example"):
        assert _add(client, squatter["headers"], address).status_code == 201
    _ses_status("ceo@bigbrand.example", "FAILED")
    aws_client("sesv2").delete_email_identity(EmailIdentity="pay@bigbrand.example")
    import time_machine

    from chalicelib.domain.senders import CREATION_GRACE

    # SES lost it: the claim holds while its add could still be making it, then lapses.
    assert _add(client, owner["headers"], "bigbrand.example").status_code == 409
    with time_machine.travel(datetime.now(UTC) + CREATION_GRACE + timedelta(seconds=1), tick=False):
        assert _add(client, owner["headers"], "bigbrand.example").status_code == 201
    assert _identities(client, squatter) == []
    assert "ceo@bigbrand.example" not in _ses_identities()
    assert len([entry for entry in _audit(client, squatter) if entry["action"] == "sender.lapsed"]) == 2


def test_p35_one_claim_that_holds_keeps_the_lapsed_ones_and_the_add_changes_nothing(
        client, squatter, owner, other):
    assert _add(client, squatter["headers"], "ceo@bigbrand.example").status_code == 201
    _ses_status("ceo@bigbrand.example", "FAILED")
    assert _add(client, other["headers"], "staff@bigbrand.example").status_code == 201  # verified
    refused = _add(client, owner["headers"], "bigbrand.example")
    assert refused.status_code == 409 and _error(refused)["field"] == "identity"
    assert _identities(client, squatter) == ["ceo@bigbrand.example"]
    assert "ceo@bigbrand.example" in _ses_identities()


def test_p35_a_lapsed_claim_is_released_once_when_two_accounts_race_for_it(client, squatter, owner):
    from chalicelib.store import senders as sender_store

    assert _add(client, squatter["headers"], "bigbrand.example").status_code == 201
    [stale] = sender_store.identities_at("bigbrand.example")
    _ses_status("bigbrand.example", "FAILED")
    assert _add(client, owner["headers"], "bigbrand.example").status_code == 201
    # The slower of the two read the squatter's claim before the owner took the identity.
    assert sender_store.release_unchanged_identity(stale) is False
    assert _identities(client, owner) == ["bigbrand.example"]


def test_p35_deleting_a_lapsed_claim_never_deletes_the_claim_another_account_took_meanwhile(
        client, squatter, owner, monkeypatch):
    """The squatter deletes its lapsed claim while Big Brand takes the domain: Big Brand's add
    released the lapsed claim and claimed the domain between the delete's read and its delete,
    which deleted Big Brand's claim (the identity then had no owner)."""
    from chalicelib.services import senders as sender_service
    from chalicelib.store import senders as sender_store

    assert _add(client, squatter["headers"], "bigbrand.example").status_code == 201
    _ses_status("bigbrand.example", "FAILED")
    read = sender_store.get_identity

    def owner_claims_after_the_read(*args: Any) -> Any:
        found = read(*args)
        sender_service.add_sender(owner["account_id"], owner["key_id"], "bigbrand.example")
        return found

    monkeypatch.setattr(sender_store, "get_identity", owner_claims_after_the_read)
    client.http.delete("/v1/senders/bigbrand.example", headers=squatter["headers"])
    monkeypatch.undo()
    assert _identities(client, owner) == ["bigbrand.example"]
    assert _identities(client, squatter) == []


def test_p35_claim_lapsed_thresholds():
    from chalicelib.domain.senders import CREATION_GRACE, VERIFICATION_WINDOW, claim_lapsed

    assert timedelta(hours=72) == VERIFICATION_WINDOW  # SES's window for a domain's DKIM records
    claimed = datetime(2030, 1, 1, tzinfo=UTC)
    edge = claimed + VERIFICATION_WINDOW
    for status in ("PENDING", "NOT_STARTED"):
        assert claim_lapsed(status, claimed, edge) is False
        assert claim_lapsed(status, claimed, edge + timedelta(microseconds=1)) is True
    for status in ("SUCCESS", "TEMPORARY_FAILURE"):
        assert claim_lapsed(status, claimed, edge + timedelta(days=3650)) is False
    assert claim_lapsed("FAILED", claimed, claimed) is True
    # No SES identity: its add may still be making it, for as long as an add can run.
    assert claim_lapsed(None, claimed, claimed + CREATION_GRACE) is False
    assert claim_lapsed(None, claimed, claimed + CREATION_GRACE + timedelta(microseconds=1)) is True
    assert timedelta(minutes=15) == CREATION_GRACE  # Lambda's longest timeout


def test_p35_adding_an_identity_no_account_owns_never_deletes_a_verified_one_in_ses(client, squatter):
    """An identity verified in SES but owned by no account (made by hand by the operator, or any
    tenant's from before identities were owned): a tenant's add never deletes or makes it again
    (its owner's mail would stop), and a clear 409 sends it to the operator."""
    ses = aws_client("sesv2")
    ses.create_email_identity(EmailIdentity="legacy.example")
    deleted: list[str] = []
    real = ses.delete_email_identity

    def spy(**kwargs: Any) -> Any:
        deleted.append(kwargs["EmailIdentity"])
        return real(**kwargs)

    ses.delete_email_identity = spy  # type: ignore[method-assign]
    try:
        response = _add(client, squatter["headers"], "legacy.example")
    finally:
        del ses.delete_email_identity
    assert deleted == [], "a verified SES identity no account owned was deleted by a tenant's claim"
    assert response.status_code == 409, response.body
    assert _error(response)["field"] == "identity" and "operator" in _error(response)["message"]


def test_p35_an_identity_ses_has_is_refused_in_every_spelling_and_the_operator_adopts_it(
        client, squatter, capsys):
    from chalicelib import cli

    legacy = _legacy_account()
    made = _ses_identities()["legacy.example"]
    for spelling in ("LEGACY.example", " legacy.example ", "legacy.example"):
        refused = _add(client, squatter["headers"], spelling)
        assert refused.status_code == 409 and _error(refused)["field"] == "identity", spelling
    assert _identities(client, squatter) == [] and _ses_identities()["legacy.example"] is made
    assert cli.main(["account", "adopt-sender", "--account-id", legacy["account_id"],
                     "--identity", "legacy.example"]) == 0
    assert _identities(client, {"headers": bearer(legacy["api_key"])}) == ["legacy.example"]
    assert _ses_identities()["legacy.example"] is made


def test_p35_the_cli_gives_a_new_account_an_identity_ses_has_without_making_it_again(aws):
    from chalicelib.services.senders import list_senders

    aws_client("sesv2").create_email_identity(EmailIdentity="news@handmade.example")
    made = _ses_identities()["news@handmade.example"]
    created = create_account_with_key("Handmade Ltd", {"sender_identity": "News@Handmade.example"})
    assert [item["identity"] for item in list_senders(created["account_id"])] == ["news@handmade.example"]
    assert _ses_identities()["news@handmade.example"] is made


def test_p35_the_operator_cannot_adopt_the_platforms_sender_domain(aws, capsys):
    from chalicelib import cli
    from chalicelib.config import settings

    legacy = _legacy_account()
    for identity in (settings().default_sender, settings().default_sender.rpartition("@")[2]):
        assert cli.main(["account", "adopt-sender", "--account-id", legacy["account_id"],
                         "--identity", identity]) == 2, identity
        assert "platform" in capsys.readouterr().err


# --- internationalised domains: one owner per domain, ASCII (A-labels) at SES and in the DNS ----

def test_p35_an_idn_identity_reaches_ses_in_ascii_and_keeps_one_owner(client, headers, other):
    for identity in ("Bücher.example", "news@ＢÜＣＨＥＲ.example"):
        added = _add(client, headers, identity)
        assert added.status_code == 201, added.body
        assert json.loads(added.body)["verified"] is True  # found in SES under its ASCII name
    assert {"xn--bcher-kva.example", "news@xn--bcher-kva.example"} <= set(_ses_identities())
    assert not [name for name in _ses_identities() if not name.isascii()]
    assert {"bücher.example", "news@bücher.example"} <= set(_identities(client, {"headers": headers}))
    for spelling in ("xn--bcher-kva.example", "boss@XN--BCHER-KVA.example", "bücher.example"):
        refused = _add(client, other["headers"], spelling)
        assert refused.status_code == 409 and _error(refused)["field"] == "identity", spelling
    mine = new_list(client, headers, "Bücher news")
    campaign = client.http.post("/v1/campaigns", headers=headers, body=json.dumps({
        "name": "x", "list_ids": [mine], "subject": "Hi", "html": "<p>Hi</p>",
        "from_address": "offers@xn--bcher-kva.example"}))
    assert campaign.status_code == 201, campaign.body  # the domain's owner, verified in SES
    assert client.http.delete("/v1/senders/news@xn--bcher-kva.example", headers=headers).status_code == 204
    assert "news@xn--bcher-kva.example" not in _ses_identities()


def test_p35_an_address_identity_needs_ascii_before_the_at(client, headers):
    for bad in ("nëws@shop.example", "新闻@shop.example", "news\u2028@shop.example"):
        refused = _add(client, headers, bad)
        assert refused.status_code == 400 and _error(refused)["field"] == "identity", bad
    assert not [name for name in _ses_identities() if "shop.example" in name]


def test_p35_dns_records_name_an_idn_domain_in_ascii():
    from chalicelib.domain.senders import dns_records, ses_identity

    assert dns_records("bücher.example", ["abc"]) == [
        {"type": "CNAME", "name": "abc._domainkey.xn--bcher-kva.example", "value": "abc.dkim.amazonses.com"}]
    assert ses_identity("news@straße.example") == "news@xn--strae-oqa.example"  # IDNA 2008, not 2003
    assert ses_identity("news@acme.example") == "news@acme.example"


# --- deletion gives the claim up first (conditionally), and SES only follows a claim it removed ---

def _take_over_after(monkeypatch: Any, module: Any, name: str, owner: dict[str, Any]) -> None:
    """Big Brand releases the squatter's lapsed claim and takes the domain (claim and a fresh SES
    identity) right after `module.name` has read the squatter's claim."""
    from chalicelib.services import senders as sender_service

    read = getattr(module, name)

    def then_the_owner_takes_it(*args: Any) -> Any:
        found = read(*args)
        monkeypatch.setattr(module, name, read)
        sender_service.add_sender(owner["account_id"], owner["key_id"], "bigbrand.example")
        return found

    monkeypatch.setattr(module, name, then_the_owner_takes_it)


def test_p35_a_delete_racing_a_takeover_leaves_the_newcomers_ses_identity_and_says_404(
        client, squatter, owner, monkeypatch):
    """The squatter deletes its lapsed claim while Big Brand takes the domain between the delete's
    read and its delete: the SES identity is Big Brand's by then, and deleting it stopped Big
    Brand's verification. The squatter's delete gives up nothing (the claim was gone): 404, as
    for any identity the account does not own, and no `sender.deleted` in its audit log."""
    from chalicelib.store import senders as sender_store

    assert _add(client, squatter["headers"], "bigbrand.example").status_code == 201
    _ses_status("bigbrand.example", "FAILED")
    _take_over_after(monkeypatch, sender_store, "get_identity", owner)
    response = client.http.delete("/v1/senders/bigbrand.example", headers=squatter["headers"])
    assert "bigbrand.example" in _ses_identities(), "the newcomer's SES identity was deleted"
    assert json.loads(client.http.get("/v1/senders/bigbrand.example",
                                      headers=owner["headers"]).body)["verified"] is True
    assert response.status_code == 404 and _error(response)["field"] == "identity", response.body
    assert _identities(client, owner) == ["bigbrand.example"] and _identities(client, squatter) == []
    assert "sender.deleted" not in [entry["action"] for entry in _audit(client, squatter)]


def test_p35_an_account_deletion_racing_a_takeover_leaves_the_newcomers_identity(
        client, squatter, owner, monkeypatch):
    from chalicelib.services.senders import delete_account_identities
    from chalicelib.store import senders as sender_store

    assert _add(client, squatter["headers"], "bigbrand.example").status_code == 201
    _ses_status("bigbrand.example", "FAILED")
    _take_over_after(monkeypatch, sender_store, "account_identities", owner)
    delete_account_identities(squatter["account_id"])
    assert "bigbrand.example" in _ses_identities(), "the newcomer's SES identity was deleted"
    assert _identities(client, owner) == ["bigbrand.example"]


def test_p35_a_delete_whose_ses_call_fails_keeps_the_claim_so_it_can_be_retried(
        client, headers, account, monkeypatch):
    """SES refuses the delete (throttled, say) once the claim is given up: the claim is put back
    as it was, so the account still owns what SES still has and the delete can be retried; an
    identity left in SES with no owner would need the operator."""
    from chalicelib.adapters import ses

    real = ses.delete_identity

    def throttled(identity: str) -> None:
        raise RuntimeError("Throttling")

    monkeypatch.setattr(ses, "delete_identity", throttled)
    with pytest.raises(RuntimeError):
        from chalicelib.services.senders import delete_sender

        delete_sender(account["account_id"], "key", "acme.example")
    assert "acme.example" in _identities(client, {"headers": headers})
    monkeypatch.setattr(ses, "delete_identity", real)
    assert client.http.delete("/v1/senders/acme.example", headers=headers).status_code == 204
    assert "acme.example" not in _ses_identities()
    assert "acme.example" not in _identities(client, {"headers": headers})


class _Killed(BaseException):
    """The Lambda stops dead (a timeout): no `except Exception` runs."""


def _kill_at(monkeypatch: Any, module: Any, name: str) -> None:
    """`module.name` kills the process (once) instead of running."""
    def killed(*args: Any) -> None:
        monkeypatch.undo()
        raise _Killed

    monkeypatch.setattr(module, name, killed)


def _new_identities_await_verification(monkeypatch: Any) -> None:
    """What real SES does and moto does not: a new identity is PENDING until its owner verifies it."""
    from chalicelib.adapters import ses

    create = ses.create_identity

    def pending(identity: str) -> Any:
        state = create(identity)
        _ses_status(identity, "PENDING")
        return state and ses.identity_state(identity)

    monkeypatch.setattr(ses, "create_identity", pending)


@pytest.mark.parametrize("adder", ["other", "same"])
def test_p35_an_add_after_a_give_up_killed_midway_makes_a_fresh_identity_the_adder_must_verify(
        client, headers, account, other, monkeypatch, adder):
    """Killed after the give-up began and before SES's delete: the verified SES identity is left.
    No account sends as it meanwhile; once the give-up can no longer be running, whoever adds the
    identity next (another tenant, or the same) finishes it and gets a fresh SES identity, which
    is not verified (nor usable) until they verify it: never the old owner's verification."""
    import time_machine

    from chalicelib.adapters import ses
    from chalicelib.domain.errors import Conflict, Forbidden
    from chalicelib.domain.senders import CREATION_GRACE
    from chalicelib.services.senders import check_sender, delete_sender

    assert _add(client, headers, "shop.example").status_code == 201  # verified (moto: SUCCESS)
    _kill_at(monkeypatch, ses, "delete_identity")
    with pytest.raises(_Killed):
        delete_sender(account["account_id"], "key", "shop.example")
    stale = _ses_identities()["shop.example"]
    tenant = other if adder == "other" else {**account, "headers": headers}
    for who in (account, other):
        with pytest.raises(Forbidden):
            check_sender(who["account_id"], "news@shop.example")
    held = _add(client, tenant["headers"], "shop.example")  # the give-up may still be running
    assert held.status_code == 409 and "being deleted" in _error(held)["message"], held.body
    assert _ses_identities()["shop.example"] is stale
    _new_identities_await_verification(monkeypatch)
    with time_machine.travel(datetime.now(UTC) + CREATION_GRACE + timedelta(seconds=1), tick=False):
        added = _add(client, tenant["headers"], "shop.example")
    assert added.status_code == 201, added.body
    assert json.loads(added.body)["verified"] is False
    assert _ses_identities()["shop.example"] is not stale, "the old owner's verification was inherited"
    assert _identities(client, tenant).count("shop.example") == 1
    with pytest.raises(Conflict):
        check_sender(tenant["account_id"], "news@shop.example")
    _ses_status("shop.example", "SUCCESS")  # the adder publishes its own DKIM records
    check_sender(tenant["account_id"], "news@shop.example")


def test_p35_a_delete_killed_midway_is_listed_and_can_be_retried_once_it_cannot_be_running(
        client, headers, account, monkeypatch):
    import time_machine

    from chalicelib.adapters import ses
    from chalicelib.domain.senders import CREATION_GRACE
    from chalicelib.services.senders import delete_sender

    assert _add(client, headers, "shop.example").status_code == 201
    _kill_at(monkeypatch, ses, "delete_identity")
    with pytest.raises(_Killed):
        delete_sender(account["account_id"], "key", "shop.example")
    shown = json.loads(client.http.get("/v1/senders/shop.example", headers=headers).body)
    assert "being deleted" in shown["next_step"]
    again = client.http.delete("/v1/senders/shop.example", headers=headers)
    assert again.status_code == 409 and _error(again)["field"] == "identity", again.body
    with time_machine.travel(datetime.now(UTC) + CREATION_GRACE + timedelta(seconds=1), tick=False):
        assert client.http.delete("/v1/senders/shop.example", headers=headers).status_code == 204
    assert "shop.example" not in _ses_identities()
    assert "shop.example" not in _identities(client, {"headers": headers})


def test_p35_a_give_up_that_may_still_be_running_is_never_finished_by_another(
        client, headers, account, other, monkeypatch):
    """The account's purge reaches a claim whose delete is still running (between its mark and
    SES's delete): finished there, the other tenant could add the identity afresh before the
    running delete reached SES, which would then delete the newcomer's identity."""
    from chalicelib.adapters import ses
    from chalicelib.services.senders import delete_account_identities, delete_sender

    assert _add(client, headers, "shop.example").status_code == 201
    delete = ses.delete_identity
    seen: list[Any] = []

    def purged_and_added_meanwhile(identity: str) -> None:
        monkeypatch.setattr(ses, "delete_identity", delete)
        delete_account_identities(account["account_id"])
        seen.append(_add(client, other["headers"], "shop.example"))
        delete(identity)

    monkeypatch.setattr(ses, "delete_identity", purged_and_added_meanwhile)
    delete_sender(account["account_id"], "key", "shop.example")
    [refused] = seen
    assert refused.status_code == 409 and "being deleted" in _error(refused)["message"], refused.body
    assert _add(client, other["headers"], "shop.example").status_code == 201
    assert "shop.example" in _ses_identities(), "the newcomer's SES identity was deleted"


def test_p35_a_give_up_killed_after_its_ses_delete_is_finished_by_the_next_add(
        client, headers, account, other, monkeypatch):
    import time_machine

    from chalicelib.domain.senders import CREATION_GRACE
    from chalicelib.services.senders import delete_sender
    from chalicelib.store import senders as sender_store

    assert _add(client, headers, "shop.example").status_code == 201
    _kill_at(monkeypatch, sender_store, "release_unchanged_identity")
    with pytest.raises(_Killed):
        delete_sender(account["account_id"], "key", "shop.example")
    assert "shop.example" not in _ses_identities()
    with time_machine.travel(datetime.now(UTC) + CREATION_GRACE + timedelta(seconds=1), tick=False):
        assert _add(client, other["headers"], "shop.example").status_code == 201
    assert "shop.example" in _identities(client, other)
    assert "shop.example" not in _identities(client, {"headers": headers})


def test_p35_a_give_up_whose_release_loses_every_race_after_ses_deleted_can_be_retried_at_once(
        client, headers, account, other, monkeypatch):
    """SES's identity is deleted, then the claim's release loses each of its RELEASE_ATTEMPTS races
    to other accounts' claims at the same domain (a mail provider's, where many add an address):
    409. Nobody sends as the marked claim meanwhile; a retry at once finishes the give-up (it no
    longer waits until the give-up counts as stalled), and leaves the others' claims and SES
    identities alone; the retry never calls SES again."""
    from chalicelib.adapters import ses
    from chalicelib.domain.errors import Conflict, Forbidden
    from chalicelib.services.senders import add_sender, check_sender, delete_sender
    from chalicelib.store import senders as sender_store

    add_sender(account["account_id"], "key", "ceo@shop-mail.example")
    real, landed = sender_store.claims_at, []

    def another_claim_lands_after_each_read(domain: str) -> Any:
        read = real(domain)
        if len(landed) < sender_store.RELEASE_ATTEMPTS:
            landed.append(f"a{len(landed)}@shop-mail.example")
            monkeypatch.setattr(sender_store, "claims_at", real)  # the add's own reads are plain
            add_sender(other["account_id"], "key", landed[-1])
            monkeypatch.setattr(sender_store, "claims_at", another_claim_lands_after_each_read)
        return read

    monkeypatch.setattr(sender_store, "claims_at", another_claim_lands_after_each_read)
    with pytest.raises(Conflict):
        delete_sender(account["account_id"], "key", "ceo@shop-mail.example")
    assert "ceo@shop-mail.example" not in _ses_identities()
    with pytest.raises(Forbidden):
        check_sender(account["account_id"], "ceo@shop-mail.example")

    def never(identity: str) -> None:
        raise AssertionError("a finished SES delete ran again: it may hit an identity made afresh")

    monkeypatch.setattr(ses, "delete_identity", never)
    delete_sender(account["account_id"], "key", "ceo@shop-mail.example")
    assert "ceo@shop-mail.example" not in _identities(client, {"headers": headers})
    assert sorted(_identities(client, other)) == sorted([*landed, "hello@other.example"])
    assert set(landed) <= set(_ses_identities())
    assert [entry["action"] for entry in _audit(client, {"headers": headers})].count("sender.deleted") == 1


def test_p35_an_account_deletion_killed_midway_leaves_no_ses_identity_once_run_again(
        client, headers, account, monkeypatch):
    """The purge runs again until the account is gone: the run after one killed between a
    claim's give-up and SES's delete finds the claim still there and finishes it, so the
    account's SES identities (an address is someone's mailbox) do not outlive it."""
    import time_machine

    from chalicelib.adapters import ses
    from chalicelib.domain.senders import CREATION_GRACE
    from chalicelib.services.senders import delete_account_identities

    _kill_at(monkeypatch, ses, "delete_identity")
    with pytest.raises(_Killed):
        delete_account_identities(account["account_id"])
    with time_machine.travel(datetime.now(UTC) + timedelta(days=1), tick=False):
        assert delete_account_identities(account["account_id"]) == 2
    assert not {"acme.example", "news@acme.example"} & set(_ses_identities())
    assert _identities(client, {"headers": headers}) == []
    assert timedelta(days=1) > CREATION_GRACE  # the next daily run is past any give-up still running


def test_p35_an_add_while_another_accounts_give_up_is_between_its_steps_waits_for_it(
        client, headers, account, other, monkeypatch):
    """The reverse race: the other tenant adds while the account's delete has begun
    and SES's identity is not deleted yet. The add is refused (409: the identity is still being
    given up) and makes nothing in SES; once the delete is done, the add makes a fresh identity."""
    from chalicelib.adapters import ses
    from chalicelib.domain.errors import Forbidden
    from chalicelib.services.senders import check_sender, delete_sender

    assert _add(client, headers, "shop.example").status_code == 201
    stale = _ses_identities()["shop.example"]
    delete = ses.delete_identity
    seen: list[Any] = []

    def the_other_adds_first(identity: str) -> None:
        seen.append(_add(client, other["headers"], "shop.example"))
        with pytest.raises(Forbidden):
            check_sender(account["account_id"], "news@shop.example")
        delete(identity)

    monkeypatch.setattr(ses, "delete_identity", the_other_adds_first)
    delete_sender(account["account_id"], "key", "shop.example")
    monkeypatch.undo()
    [refused] = seen
    assert refused.status_code == 409 and _error(refused)["field"] == "identity", refused.body
    assert _identities(client, other) == ["hello@other.example"]
    assert "shop.example" not in _ses_identities()
    assert _add(client, other["headers"], "shop.example").status_code == 201
    assert _ses_identities()["shop.example"] is not stale


def test_p35_another_tenants_key_deleting_a_sender_it_does_not_own_changes_nothing(
        client, headers, account, other):
    before_ses = dict(_ses_identities())
    before_audit = _audit(client, other)
    for identity in ("acme.example", "news@acme.example", "ACME.example", "News@Acme.Example"):
        response = client.http.delete(f"/v1/senders/{identity}", headers=other["headers"])
        assert response.status_code == 404 and _error(response)["field"] == "identity", identity
    assert _identities(client, {"headers": headers}) == ["acme.example", "news@acme.example"]
    assert dict(_ses_identities()) == before_ses
    assert _audit(client, other) == before_audit and _audit(client, {"headers": headers})
    assert "sender.deleted" not in json.dumps(_audit(client, {"headers": headers}))


def test_p35_a_lapsed_claim_whose_ses_delete_fails_is_put_back_and_the_owner_can_retry(
        client, squatter, owner, monkeypatch):
    """Releasing a lapsed claim gives it up, then deletes its SES identity; when SES's delete
    fails the claim is put back: an SES identity left with no claim would make every later add
    a 409 for the operator, and lock the domain's owner out for good."""
    from chalicelib.adapters import ses

    assert _add(client, squatter["headers"], "bigbrand.example").status_code == 201
    _ses_status("bigbrand.example", "FAILED")
    real = ses.delete_identity

    def throttled(identity: str) -> None:
        raise RuntimeError("Throttling")

    monkeypatch.setattr(ses, "delete_identity", throttled)
    assert _add(client, owner["headers"], "bigbrand.example").status_code == 500
    assert _identities(client, squatter) == ["bigbrand.example"]  # put back, as it was
    monkeypatch.setattr(ses, "delete_identity", real)
    assert _add(client, owner["headers"], "bigbrand.example").status_code == 201
    assert _identities(client, owner) == ["bigbrand.example"] and _identities(client, squatter) == []
    assert [entry["action"] for entry in _audit(client, squatter)].count("sender.lapsed") == 1


def test_p35_a_claim_whose_add_is_still_making_its_ses_identity_does_not_lapse(
        client, squatter, owner, monkeypatch):
    """A claim SES has no identity for yet is one whose add is making it: it holds until that
    add can no longer be running. Lapsed at once, another add released it between the claim and
    SES's create, the first add then made the SES identity with no claim behind it: an answer
    of 201 for an identity the account no longer owned, and an unowned SES identity that sent
    every later add of it to the operator."""
    import time_machine

    from chalicelib.adapters import ses
    from chalicelib.domain.senders import CREATION_GRACE, sender_name
    from chalicelib.services import senders as sender_service

    create = ses.create_identity

    def owner_adds_meanwhile(identity: str) -> Any:
        monkeypatch.setattr(ses, "create_identity", create)
        sender_service._release_lapsed_claims(sender_name("bigbrand.example"), owner["account_id"])
        return create(identity)

    monkeypatch.setattr(ses, "create_identity", owner_adds_meanwhile)
    added = _add(client, squatter["headers"], "bigbrand.example")
    assert added.status_code == 201, added.body
    assert _identities(client, squatter) == ["bigbrand.example"], "a 201 for a claim that is gone"
    # An add killed between its claim and SES's create leaves a claim that lapses once the add
    # cannot be running any more.
    from chalicelib.store import senders as sender_store

    sender_store.claim_identity(squatter["account_id"], sender_name("shop.example"),
                                sender_store.claims_at("shop.example"))
    assert _add(client, owner["headers"], "shop.example").status_code == 409
    with time_machine.travel(datetime.now(UTC) + CREATION_GRACE + timedelta(seconds=1), tick=False):
        assert _add(client, owner["headers"], "shop.example").status_code == 201


@pytest.mark.parametrize("deleter", ["delete", "purge"])
def test_p35_a_delete_landing_while_the_add_makes_its_ses_identity_leaves_none_unclaimed(
        client, headers, account, monkeypatch, deleter):
    """P35: the account's delete (or its purge) gave the claim up between the add's claim and its
    SES create; the give-up's SES delete found nothing, and the add then made an SES identity no
    claim holds (SES would send as it, and no delete would ever remove it). A give-up waits for an
    add that may still be making its identity: the delete is a 409 naming `identity`, the purge
    leaves it, and once the add is done a delete removes both."""
    from chalicelib.adapters import ses
    from chalicelib.services.senders import delete_account_identities, give_up_running

    seen: list[Any] = []

    def the_account_deletes_it() -> None:
        if deleter == "delete":
            seen.append(client.http.delete("/v1/senders/shop.example", headers=headers))
        else:  # the purge waits for a later run (give_up_running), and gives nothing up meanwhile
            seen.append((give_up_running(account["account_id"]),
                         delete_account_identities(account["account_id"])))

    _first_call_runs(monkeypatch, ses, "create_identity", the_account_deletes_it)
    assert _add(client, headers, "shop.example").status_code == 201
    [refused] = seen
    if deleter == "delete":
        assert refused.status_code == 409 and _error(refused)["field"] == "identity", refused.body
    else:
        assert refused == (True, 2)  # the account's other two identities, made before
    assert "shop.example" in _identities(client, {"headers": headers}), "an SES identity no claim holds"
    assert "shop.example" in _ses_identities()
    assert client.http.delete("/v1/senders/shop.example", headers=headers).status_code == 204
    assert "shop.example" not in _ses_identities()


@pytest.mark.parametrize("after", [False, True], ids=["before the create", "after it"])
def test_p35_an_add_whose_claim_the_accounts_purge_removed_meanwhile_deletes_what_it_made(
        client, headers, account, monkeypatch, after):
    """P35: the account's purge read that no add of its identities was running (give_up_running),
    the account's add then claimed one, and the purge removed the account's items, that claim
    among them, around the add's SES create: the add answered 409 and left an SES identity no
    claim holds, which no delete would ever remove (an address is someone's mailbox, P22), and
    which kept the domain's owner from adding it. An add whose claim is gone once it has made
    the SES identity deletes it: no other claim can hold an identity SES already had."""
    from chalicelib.adapters import ses
    from chalicelib.services.senders import delete_account_identities
    from chalicelib.store.retention import purge_account

    def the_purge_runs() -> None:
        delete_account_identities(account["account_id"])
        assert purge_account(account["account_id"], content_only=False, more_time=lambda: True)[1]

    _first_call_runs(monkeypatch, ses, "create_identity", the_purge_runs, after=after)
    refused = _add(client, headers, "shop.example")
    assert refused.status_code == 409 and _error(refused)["field"] == "identity", refused.body
    assert "shop.example" not in _ses_identities(), "an SES identity no claim holds"


def test_p35_an_add_whose_claim_was_given_up_and_claimed_afresh_leaves_the_newcomers_identity(
        client, headers, other, monkeypatch):
    """P35, the other side: an add outlived CREATION_GRACE after SES made its identity (an
    operator's CLI paused, say); its claim lapsed (SES says FAILED), another account's add gave
    it up and made the identity afresh. The first add, its claim gone, deletes what SES has only
    while no claim holds the identity: the newcomer's stays."""
    import time_machine

    from chalicelib.adapters import ses
    from chalicelib.domain.senders import CREATION_GRACE

    def the_other_adds_after_the_grace() -> None:
        _ses_status("shop.example", "FAILED")
        with time_machine.travel(datetime.now(UTC) + CREATION_GRACE + timedelta(seconds=1), tick=False):
            assert _add(client, other["headers"], "shop.example").status_code == 201

    _first_call_runs(monkeypatch, ses, "create_identity", the_other_adds_after_the_grace, after=True)
    refused = _add(client, headers, "shop.example")
    assert refused.status_code == 409 and _error(refused)["field"] == "identity", refused.body
    assert "shop.example" in _identities(client, other)
    assert "shop.example" in _ses_identities(), "another account's SES identity was deleted"


def test_p35_p23_an_account_whose_deletion_is_due_adds_no_sender_identity(client, headers, account):
    """P35, P23: the daily purge passes over an account while an add of its may still be making
    an SES identity (give_up_running). Past its deletion date, which nothing cancels any more,
    an account that kept adding and deleting identities always had an add running when the
    purge looked, and was never deleted. It adds none then: 403 naming `account`, nothing
    claimed, nothing made in SES, and the purge does not wait for it."""
    import time_machine

    from chalicelib.services.senders import give_up_running
    from chalicelib.store import account_lifecycle

    account_lifecycle.set_deletion_nonce(account["account_id"], "nonce")
    due = account_lifecycle.schedule_deletion(account["account_id"], "nonce")
    assert due is not None
    with time_machine.travel(due - timedelta(seconds=1), tick=False):  # it may still be reactivated
        assert _add(client, headers, "shop.example").status_code == 201
    with time_machine.travel(due, tick=False):
        refused = _add(client, headers, "mail.example")
        assert refused.status_code == 403 and _error(refused)["field"] == "account", refused.body
        assert not give_up_running(account["account_id"])
    assert "mail.example" not in _identities(client, {"headers": headers})
    assert "mail.example" not in _ses_identities()


# --- an attacker's view: one owner for a domain and its addresses, in every spelling and race ---

@pytest.mark.parametrize(("first", "second"), [("bigbrand.example", "ceo@bigbrand.example"),
                                               ("ceo@bigbrand.example", "bigbrand.example")])
def test_p35_a_domain_and_an_address_at_it_added_at_once_by_two_accounts_are_not_both_owned(
        client, squatter, owner, monkeypatch, first, second):
    """The claim's conditional put guards one identity: a domain and an address at it are two
    items. Two adds that both read before either claimed both passed check_may_claim, and both
    accounts owned (and could send as) ceo@bigbrand.example. Whichever add sees the other's
    claim after its own gives way before anything is made in SES."""
    from chalicelib.services import senders as sender_service
    from chalicelib.store import senders as sender_store

    claim = sender_store.claim_identity

    def the_other_adds_first(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(sender_store, "claim_identity", claim)
        sender_service.add_sender(squatter["account_id"], squatter["key_id"], second)
        return claim(*args, **kwargs)

    monkeypatch.setattr(sender_store, "claim_identity", the_other_adds_first)
    refused = _add(client, owner["headers"], first)
    assert refused.status_code == 409 and _error(refused)["field"] == "identity", refused.body
    assert _identities(client, owner) == [] and _identities(client, squatter) == [second]
    assert first not in _ses_identities()


def _claims_after(monkeypatch: Any, meanwhile: Any) -> None:
    """The next claim's write first runs `meanwhile` (another request landing between its read
    and its write), and a claim it writes is followed by a kill (a timeout: nothing after the
    write runs, no `except Exception`)."""
    from chalicelib.store import senders as sender_store

    claim = sender_store.claim_identity

    def racing(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(sender_store, "claim_identity", claim)
        meanwhile()
        if claim(*args, **kwargs) is not None:
            raise _Killed
        return None

    monkeypatch.setattr(sender_store, "claim_identity", racing)


@pytest.mark.parametrize(("first", "second"), [("bigbrand.example", "ceo@bigbrand.example"),
                                               ("ceo@bigbrand.example", "bigbrand.example")])
def test_p35_a_claim_and_its_checks_are_one_transaction_so_no_second_owner_is_ever_written(
        aws, squatter, owner, monkeypatch, first, second):
    """P35: the claim was a conditional put, then a re-check of the domain's claims: one killed
    between the two (a timeout) left both accounts owning bigbrand.example and its address. The
    claim is now written only with the checks of what it read (one transaction): the later one
    is refused, with the wording of every P35 refusal, and writes nothing."""
    from chalicelib.domain.errors import Conflict
    from chalicelib.domain.senders import unavailable
    from chalicelib.services.senders import add_sender
    from chalicelib.store import senders as sender_store

    _claims_after(monkeypatch, lambda: add_sender(squatter["account_id"], "key", second))
    with pytest.raises(Conflict) as refused:
        add_sender(owner["account_id"], "key", first)
    assert (refused.value.message, refused.value.field) == (unavailable(first).message, "identity")
    assert [(item.identity, item.account_id) for item in sender_store.identities_at("bigbrand.example")
            ] == [(second, squatter["account_id"])]
    assert first not in _ses_identities()


def test_p35_a_claim_refused_only_for_the_accounts_own_claim_meanwhile_is_decided_again(
        aws, owner, monkeypatch):
    """P35: the account's own address claim landing while it claims the domain changes what the
    domain claim read, but leaves it free: it is read again, and both are the account's."""
    from chalicelib.services.senders import add_sender
    from chalicelib.store import senders as sender_store

    _first_call_runs(monkeypatch, sender_store, "claim_identity",
                     lambda: add_sender(owner["account_id"], "key", "ceo@bigbrand.example"))
    add_sender(owner["account_id"], "key", "bigbrand.example")
    assert [item.account_id for item in sender_store.identities_at("bigbrand.example")] == [
        owner["account_id"]] * 2


def test_p35_an_adoption_racing_another_accounts_add_at_the_domain_is_refused(
        aws, squatter, monkeypatch):
    from chalicelib.domain.errors import Conflict
    from chalicelib.services import senders as sender_service
    from chalicelib.store import senders as sender_store

    legacy = _legacy_account()
    _ses_status("legacy.example", "PENDING")  # verified, it would keep the squatter off its addresses
    claim = sender_store.claim_identity

    def the_squatter_adds_first(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(sender_store, "claim_identity", claim)
        sender_service.add_sender(squatter["account_id"], squatter["key_id"], "ceo@legacy.example")
        return claim(*args, **kwargs)

    monkeypatch.setattr(sender_store, "claim_identity", the_squatter_adds_first)
    with pytest.raises(Conflict):
        sender_service.adopt_sender(legacy["account_id"], "legacy.example")
    assert [item.account_id for item in sender_store.identities_at("legacy.example")] == [
        squatter["account_id"]]
    assert "legacy.example" in _ses_identities()  # adopted or not, SES's identity stays as it was


# --- a domain nobody claims any more is named by no item: its guard goes with its last claim ---

def _items_naming(domain: str) -> list[str]:
    """Every item of the sender-identities table at or under `domain`'s key, guard included."""
    from chalicelib.store.models import SenderIdentity

    return [item.identity for item in SenderIdentity.scan() if item.domain == domain]


def test_p35_no_item_names_a_domain_once_its_last_identity_is_removed(client, squatter, other):
    """The guard that orders the claims at a domain counted them, and stayed after the last
    claim went: the domain's name outlived every identity there. The last release deletes it."""
    for identity in ("shop.example", "ceo@shop.example"):
        assert _add(client, squatter["headers"], identity).status_code == 201
    assert _add(client, other["headers"], "otr@shop-mail.example").status_code == 201
    assert "#claims" in _items_naming("shop.example")
    for identity in ("ceo@shop.example", "shop.example"):
        assert client.http.delete(f"/v1/senders/{identity}", headers=squatter["headers"]).status_code == 204
    assert _items_naming("shop.example") == []
    assert sorted(_items_naming("shop-mail.example")) == ["#claims", "otr@shop-mail.example"]
    # An add refused after its claim (SES had the identity: the operator adopts it) releases it.
    aws_client("sesv2").create_email_identity(EmailIdentity="ceo@by-hand.example")
    assert _add(client, squatter["headers"], "ceo@by-hand.example").status_code == 409
    assert _items_naming("by-hand.example") == []


def test_p35_two_releases_of_a_domains_last_claims_at_once_leave_no_guard(aws, squatter, monkeypatch):
    """P35: each release read the other's claim still there, so neither deleted the guard. A
    release conditions on the guard's version and replaces it: the later one reads again, finds
    itself last and deletes the guard."""
    from chalicelib.services.senders import add_sender, delete_sender
    from chalicelib.store import senders as sender_store

    for identity in ("shop.example", "ceo@shop.example"):
        add_sender(squatter["account_id"], "key", identity)
    _first_call_runs(monkeypatch, sender_store, "claims_at", after=True,
                     meanwhile=lambda: delete_sender(squatter["account_id"], "key", "shop.example"))
    delete_sender(squatter["account_id"], "key", "ceo@shop.example")
    assert _items_naming("shop.example") == []


def test_p35_a_claim_landing_while_the_last_claim_is_released_keeps_the_guard(
        aws, squatter, other, monkeypatch):
    """P35: the release read itself as the domain's last claim; another account's address claim
    landed before its write. The release is refused (the version changed), reads again and keeps
    the guard that orders the claims still at the domain."""
    from chalicelib.services.senders import add_sender, delete_sender
    from chalicelib.store import senders as sender_store

    add_sender(squatter["account_id"], "key", "ceo@shop-mail.example")
    _first_call_runs(monkeypatch, sender_store, "claims_at", after=True,
                     meanwhile=lambda: add_sender(other["account_id"], "key", "otr@shop-mail.example"))
    delete_sender(squatter["account_id"], "key", "ceo@shop-mail.example")
    assert sorted(_items_naming("shop-mail.example")) == ["#claims", "otr@shop-mail.example"]


# SES lets the AWS account send from any subdomain and address of a verified domain, and an
# identity there may show as verified through it: an identity under another account's verified
# domain would send as that domain's owner (DKIM-signed with its keys).

@pytest.mark.parametrize("identity", ["mail.acme.example", "a.b.acme.example", "ceo@mail.acme.example",
                                      "CEO@Mail.ACME.example", "ceo@mail.\uff41\uff43\uff4d\uff45.example"])
def test_p35_an_identity_under_another_accounts_verified_domain_is_refused(
        client, headers, other, identity):
    refused = _add(client, other["headers"], identity)
    assert refused.status_code == 409 and _error(refused)["field"] == "identity", refused.body
    assert _identities(client, other) == ["hello@other.example"]
    assert not [name for name in _ses_identities() if name.endswith("mail.acme.example")]


@pytest.mark.parametrize("identity", ["mail.tidings.example", "bounce@mail.tidings.example"])
def test_p35_an_identity_under_the_platforms_sender_domain_is_reserved(client, headers, identity):
    refused = _add(client, headers, identity)
    assert refused.status_code == 409 and _error(refused)["field"] == "identity", refused.body


def test_p35_an_identity_under_a_verified_domain_no_account_owns_goes_to_the_operator(client, squatter):
    _legacy_account()  # legacy.example: verified in SES, no account's yet
    for identity in ("news@mail.legacy.example", "mail.legacy.example", "ceo@legacy.example"):
        refused = _add(client, squatter["headers"], identity)
        assert refused.status_code == 409 and "operator" in _error(refused)["message"], refused.body
    assert _identities(client, squatter) == []


def test_p35_the_domains_owner_and_an_unverified_parent_leave_subdomains_alone(
        client, headers, squatter, owner):
    # The account adds identities under its own domain; a parent claim SES never verified (the
    # squatter cannot publish Big Brand's DNS) neither blocks a subdomain nor sends as it.
    assert _add(client, headers, "mail.acme.example").status_code == 201
    assert _add(client, squatter["headers"], "bigbrand.example").status_code == 201
    _ses_status("bigbrand.example", "PENDING")
    assert _add(client, owner["headers"], "shop.bigbrand.example").status_code == 201


def test_p35_a_subdomain_identity_cannot_send_once_another_account_verifies_its_parent(
        client, squatter, owner):
    """The squatter added an address under mail.bigbrand.example before anyone owned the domain;
    Big Brand adds and verifies bigbrand.example: the squatter's identity may now show as
    verified through it, and is not the squatter's to send as (403, as for any identity it does
    not own), in a campaign, a transactional message or its profile."""
    assert _add(client, squatter["headers"], "ceo@mail.bigbrand.example").status_code == 201
    assert _add(client, owner["headers"], "bigbrand.example").status_code == 201  # SES: SUCCESS
    mine = new_list(client, squatter["headers"], "Squat news")
    campaign = client.http.post("/v1/campaigns", headers=squatter["headers"], body=json.dumps({
        "name": "x", "list_ids": [mine], "subject": "Hi", "html": "<p>Hi</p>",
        "from_address": "ceo@mail.bigbrand.example"}))
    assert campaign.status_code == 403 and _error(campaign)["field"] == "from_address", campaign.body
    message = client.http.post("/v1/messages", headers=squatter["headers"], body=json.dumps({
        "to": "ann@example.com", "subject": "Hi", "text": "Hi", "from_address": "ceo@mail.bigbrand.example"}))
    assert message.status_code == 403 and _error(message)["field"] == "from_address", message.body
    profile = client.http.patch("/v1/account", headers=squatter["headers"],
                                body=json.dumps({"sender_identity": "ceo@mail.bigbrand.example"}))
    assert profile.status_code == 403 and _error(profile)["field"] == "sender_identity"
    # Until Big Brand's domain is verified, the squatter's own verification is all there is.
    _ses_status("bigbrand.example", "PENDING")
    assert client.http.post("/v1/messages", headers=squatter["headers"], body=json.dumps({
        "to": "ann@example.com", "subject": "Hi", "text": "Hi",
        "from_address": "ceo@mail.bigbrand.example"})).status_code == 202


def test_p35_the_operator_may_give_an_account_an_identity_under_the_platforms_domain(aws):
    """The operator vouches (the local demo sends as news@demo.tidings.example): only a tenant's
    own add is refused there."""
    from chalicelib.services.senders import check_sender, list_senders

    created = create_account_with_key("Demo Ltd", {"sender_identity": "news@demo.tidings.example"})
    assert [item["identity"] for item in list_senders(created["account_id"])] == ["news@demo.tidings.example"]
    check_sender(created["account_id"], "news@demo.tidings.example")


def test_p35_a_give_up_may_be_finished_by_another_only_once_it_cannot_be_running():
    from chalicelib.domain.senders import CREATION_GRACE, RELEASE_GRACE, release_stalled

    began = datetime(2030, 1, 1, tzinfo=UTC)
    assert RELEASE_GRACE == CREATION_GRACE  # Lambda's longest timeout
    assert release_stalled(began, began + RELEASE_GRACE) is False
    assert release_stalled(began, began + RELEASE_GRACE + timedelta(microseconds=1)) is True


def test_p35_a_claim_may_be_given_up_before_its_add_says_so_only_once_that_add_cannot_be_running():
    from chalicelib.domain.senders import CREATION_GRACE, add_may_be_running

    claimed = datetime(2030, 1, 1, tzinfo=UTC)
    assert add_may_be_running(claimed, claimed + CREATION_GRACE) is True
    assert add_may_be_running(claimed, claimed + CREATION_GRACE + timedelta(microseconds=1)) is False


# --- attacker review: input SES or the label walk would choke on is 400, never 500 ----------------

@pytest.mark.parametrize("identity", ["a.b.c.d.e.f.g.h.example", "news@a.b.c.d.e.f.g.h.example"])
def test_p35_a_domain_of_more_than_eight_labels_is_400_naming_the_field(client, headers, identity):
    """P35: each label above an identity is a claim read (and maybe an SES read) at every check
    (covering_domains); nobody sends from nine labels deep."""
    response = _add(client, headers, identity)
    assert response.status_code == 400 and _error(response)["field"] == "identity", response.body
    assert _add(client, headers, "a.b.c.d.e.f.g.example").status_code == 201


def test_p35_ses_refusing_an_identity_as_bad_request_is_400_and_leaves_no_claim(client, headers, monkeypatch):
    from chalicelib.clients import client as real_client

    sesv2 = real_client("sesv2")

    def bad_request(**kwargs: Any) -> None:
        raise sesv2.exceptions.BadRequestException(
            {"Error": {"Code": "BadRequestException", "Message": "Invalid domain"}}, "CreateEmailIdentity")

    monkeypatch.setattr(sesv2, "create_email_identity", bad_request)
    response = _add(client, headers, "odd.example")
    assert response.status_code == 400 and _error(response)["field"] == "identity", response.body
    monkeypatch.undo()
    assert "odd.example" not in _identities(client, {"headers": headers})

def test_p35_an_add_whose_ses_create_fails_after_making_the_identity_keeps_its_claim(
        client, headers, monkeypatch):
    """P35: SES made the identity, then the read of its state failed (throttled, say): the add
    released its claim and left an SES identity no claim held. SES may have made it whenever its
    create fails other than by refusing the identity: the claim stays, and the account's delete
    removes both at once."""
    from chalicelib.clients import client as real_client

    sesv2 = real_client("sesv2")
    create = sesv2.create_email_identity

    def made_then_throttled(**kwargs: Any) -> Any:
        create(**kwargs)
        raise RuntimeError("Throttling")

    monkeypatch.setattr(sesv2, "create_email_identity", made_then_throttled)
    assert _add(client, headers, "shop.example").status_code == 500
    monkeypatch.undo()
    assert "shop.example" in _ses_identities()
    assert "shop.example" in _identities(client, {"headers": headers}), "an SES identity no claim holds"
    assert client.http.delete("/v1/senders/shop.example", headers=headers).status_code == 204
    assert "shop.example" not in _ses_identities()

def test_p35_an_add_whose_ses_read_fails_before_the_create_leaves_no_claim(client, headers, monkeypatch):
    """P35, the other side: SES failed before it was asked to make anything: no claim is left."""
    from chalicelib.adapters import ses

    def throttled(identity: str) -> None:
        raise RuntimeError("Throttling")

    monkeypatch.setattr(ses, "identity_state", throttled)
    assert _add(client, headers, "shop.example").status_code == 500
    monkeypatch.undo()
    assert "shop.example" not in _identities(client, {"headers": headers})
    assert "shop.example" not in _ses_identities()


def test_p35_a_claim_refused_for_another_accounts_or_the_platforms_identity_says_the_same(
        client, headers, other, squatter):
    """P35: the refusal does not tell an attacker who holds what: another tenant's identity, an
    address or subdomain under it, a domain with another tenant's address, and the platform's own
    sender domain are all one 409, in one wording (the identity echoed back aside)."""
    from chalicelib.config import settings

    platform = settings().default_sender.rpartition("@")[2]
    tried = ["acme.example", "news@acme.example", "mail.acme.example", "other.example",
             "hello@other.example", platform, f"bounce@{platform}", f"mail.{platform}"]
    answers = {(response.status_code, _error(response)["code"], _error(response)["field"],
                _error(response)["message"].replace(identity, "IDENTITY"))
               for identity in tried for response in [_add(client, squatter["headers"], identity)]}
    assert len(answers) == 1 and next(iter(answers))[:3] == (409, "conflict", "identity"), answers
    assert _identities(client, squatter) == []


# --- a delete and what it leaves the profile sending as, atomically (one DynamoDB transaction) ----

def _first_call_runs(monkeypatch: Any, module: Any, name: str, meanwhile: Any, after: bool = False) -> None:
    """`module.name`, the first time it is called, first runs `meanwhile` (another request
    landing at that moment), then itself; or, `after`, itself and then `meanwhile` (a request
    landing between what it read and what its caller writes)."""
    real = getattr(module, name)

    def racing(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(module, name, real)
        if not after:
            meanwhile()
            return real(*args, **kwargs)
        found = real(*args, **kwargs)
        meanwhile()
        return found

    monkeypatch.setattr(module, name, racing)


def _profile_sends_as_its_own(account: dict[str, Any]) -> None:
    from chalicelib.services.senders import check_sender
    from chalicelib.store.accounts import get_account

    check_sender(account["account_id"], get_account(account["account_id"]).sender_identity or "")


def test_p35_a_domain_and_its_address_deleted_at_once_leave_the_profile_one_identity(
        client, headers, account, monkeypatch):
    """P35: the profile sends as news@acme.example, which the account owns twice (the address
    and its domain): each delete alone is fine, but two at once each saw the other still there.
    The give-up and the check that what the profile sends as stays are one transaction: the
    loser is 409 naming `identity`, and the profile still sends as an identity of its own."""
    from chalicelib.services.senders import delete_sender
    from chalicelib.store import senders as sender_store

    _first_call_runs(monkeypatch, sender_store, "begin_release",
                     lambda: delete_sender(account["account_id"], "key", "news@acme.example"))
    response = client.http.delete("/v1/senders/acme.example", headers=headers)
    assert response.status_code == 409 and _error(response)["field"] == "identity", response.body
    assert _identities(client, {"headers": headers}) == ["acme.example"]
    _profile_sends_as_its_own(account)


def test_p35_a_profile_sender_change_landing_in_a_delete_does_not_lose_its_identity(
        client, headers, account, monkeypatch):
    """P35: a delete of acme.example read the profile (news@acme.example, owned as an address
    too); a PATCH to shop@acme.example, which only the domain covers, lands before the give-up.
    The give-up checks the profile it read, in its transaction: 409, and the domain stays."""
    from chalicelib.services.accounts import change_profile
    from chalicelib.store import senders as sender_store

    _first_call_runs(monkeypatch, sender_store, "begin_release", lambda: change_profile(
        account["account_id"], "key", {"sender_identity": "shop@acme.example"}))
    response = client.http.delete("/v1/senders/acme.example", headers=headers)
    assert response.status_code == 409 and _error(response)["field"] == "identity", response.body
    assert "acme.example" in _identities(client, {"headers": headers})
    _profile_sends_as_its_own(account)


def test_p35_a_delete_landing_in_a_profile_sender_change_refuses_the_change(
        client, headers, account, monkeypatch):
    """P35, the other order: the PATCH checked shop@acme.example (the domain covers it), the
    domain's delete ran before the PATCH was written. The write checks the claim it relied on:
    409 naming `sender_identity`, and the profile keeps its sender."""
    from chalicelib.services import accounts
    from chalicelib.services.senders import delete_sender

    _first_call_runs(monkeypatch, accounts, "update_profile",
                     lambda: delete_sender(account["account_id"], "key", "acme.example"))
    response = client.http.patch("/v1/account", headers=headers,
                                 body=json.dumps({"sender_identity": "shop@acme.example"}))
    assert response.status_code == 409 and _error(response)["field"] == "sender_identity", response.body
    _profile_sends_as_its_own(account)


def test_p35_a_delete_whose_profile_changed_meanwhile_to_another_identity_is_decided_again(
        client, headers, account, monkeypatch):
    """P35: a delete of acme.example read the profile (news@acme.example, owned as an address
    too); a PATCH to hello@shop.example landed before the give-up, which refused it (nothing was
    done) and answered 409, though the domain was free to go: the user had to retry. The delete
    is read and decided again at once: 204, the domain and its SES identity are gone, and the
    profile sends as its own identity."""
    from chalicelib.services.accounts import change_profile
    from chalicelib.store import senders as sender_store

    assert _add(client, headers, "shop.example").status_code == 201
    _first_call_runs(monkeypatch, sender_store, "begin_release", lambda: change_profile(
        account["account_id"], "key", {"sender_identity": "hello@shop.example"}))
    response = client.http.delete("/v1/senders/acme.example", headers=headers)
    assert response.status_code == 204, response.body
    assert _identities(client, {"headers": headers}) == ["news@acme.example", "shop.example"]
    assert "acme.example" not in _ses_identities()
    assert [entry["action"] for entry in _audit(client, {"headers": headers})].count("sender.deleted") == 1
    _profile_sends_as_its_own(account)


def test_p35_a_delete_whose_profile_keeps_changing_is_409_and_gives_nothing_up(
        client, headers, account, monkeypatch):
    """P35: a PATCH lands before each of the delete's DELETE_ATTEMPTS give-ups: 409 naming
    `identity`, never a 204 for a delete that did nothing; the domain and its SES identity stay."""
    from chalicelib.services.accounts import change_profile
    from chalicelib.services.senders import DELETE_ATTEMPTS
    from chalicelib.store import senders as sender_store

    assert _add(client, headers, "shop.example").status_code == 201
    begin, senders = sender_store.begin_release, ["hello@shop.example", "news@acme.example"]
    patched: list[str] = []

    def a_patch_lands_first(*args: Any, **kwargs: Any) -> Any:
        patched.append(senders[len(patched) % 2])
        change_profile(account["account_id"], "key", {"sender_identity": patched[-1]})
        return begin(*args, **kwargs)

    monkeypatch.setattr(sender_store, "begin_release", a_patch_lands_first)
    response = client.http.delete("/v1/senders/acme.example", headers=headers)
    assert response.status_code == 409 and _error(response)["field"] == "identity", response.body
    assert len(patched) == DELETE_ATTEMPTS
    assert "acme.example" in _identities(client, {"headers": headers})
    assert "acme.example" in _ses_identities()


# --- a domain's verified owner outranks an unverified claim under it ------------------------------

@pytest.mark.parametrize("identity", ["ceo@mail.bigbrand.example", "mail.bigbrand.example"])
def test_p35_an_unverified_claim_under_a_domain_another_account_verified_gives_way_to_it(
        client, squatter, owner, identity):
    """P35: B claimed ceo@mail.bigbrand.example while Big Brand's bigbrand.example was still
    pending; Big Brand has verified it since. B can never send as the address (SES would send it
    through Big Brand's domain), and its unverified claim must not lock Big Brand out for 72
    hours: when Big Brand adds it (or the subdomain), B's claim and SES identity go at once, and
    B cannot claim it back. Decision: a claim B has verified is not taken (left to the operator)."""
    from chalicelib.domain.errors import Forbidden
    from chalicelib.services.senders import check_sender

    assert _add(client, owner["headers"], "bigbrand.example").status_code == 201
    _ses_status("bigbrand.example", "PENDING")
    assert _add(client, squatter["headers"], "ceo@mail.bigbrand.example").status_code == 201
    _ses_status("ceo@mail.bigbrand.example", "PENDING")
    squatters = _ses_identities()["ceo@mail.bigbrand.example"]
    _ses_status("bigbrand.example", "SUCCESS")
    with pytest.raises(Forbidden):
        check_sender(squatter["account_id"], "ceo@mail.bigbrand.example")
    response = _add(client, owner["headers"], identity)
    assert response.status_code == 201, response.body
    assert _identities(client, squatter) == []
    assert _ses_identities().get("ceo@mail.bigbrand.example") is not squatters
    check_sender(owner["account_id"], "ceo@mail.bigbrand.example")
    lapsed = [entry for entry in _audit(client, squatter) if entry["action"] == "sender.lapsed"]
    assert [(entry["actor"], entry["target"]) for entry in lapsed] == [("platform", "address")]
    taken_back = _add(client, squatter["headers"], "ceo@mail.bigbrand.example")
    assert taken_back.status_code == 409 and _error(taken_back)["field"] == "identity"


def test_p35_a_claim_its_claimant_verified_under_another_accounts_domain_stays(client, squatter, owner):
    """The decision's other half: B verified the address (it holds the mailbox) before Big Brand
    verified the domain: Big Brand's add is refused; B cannot send as it either (check_sender)."""
    assert _add(client, owner["headers"], "bigbrand.example").status_code == 201
    _ses_status("bigbrand.example", "PENDING")
    assert _add(client, squatter["headers"], "ceo@mail.bigbrand.example").status_code == 201
    _ses_status("bigbrand.example", "SUCCESS")
    refused = _add(client, owner["headers"], "ceo@mail.bigbrand.example")
    assert refused.status_code == 409 and _error(refused)["field"] == "identity"
    assert _identities(client, squatter) == ["ceo@mail.bigbrand.example"]
