"""`/v1/campaigns` and the campaign store: validation at save, tenancy, schedule, start once."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.cli import create_account_with_key
from chalicelib.clients import client as aws_client
from chalicelib.domain.errors import Conflict
from chalicelib.store.campaigns import due_campaigns, get_campaign, start_sending, update_campaign
from chalicelib.store.models import Campaign
from tests.support.api import bearer
from tests.support.lists import new_list

HTML = '<h1>Hello {{ name }}</h1><p>Read <a href="https://acme.example/sale">the sale</a>.</p>'


@pytest.fixture
def list_id(client, headers):
    return new_list(client, headers, "News", attributes=("plan",))


def _future(hours: int = 2) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _post(client, headers, list_id, **fields):
    body = {"name": "Spring", "list_ids": [list_id], "subject": "Hi {{ name }}", "html": HTML, **fields}
    return client.http.post("/v1/campaigns", headers=headers, body=json.dumps(body))


def _create(client, headers, list_id, **fields) -> dict:
    response = _post(client, headers, list_id, **fields)
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def _error(response) -> dict:
    return json.loads(response.body)["error"]


def _patch(client, headers, campaign_id, **fields):
    return client.http.patch(f"/v1/campaigns/{campaign_id}", headers=headers, body=json.dumps(fields))


# --- create and read ------------------------------------------------------------------------------

def test_an_email_campaign_is_a_draft_with_a_text_part_derived_from_html(client, headers, list_id):
    created = _create(client, headers, list_id)
    assert created["status"] == "draft" and created["channel"] == "email"
    assert created["text"] == "Hello {{ name }}\n\nRead the sale (https://acme.example/sale)."
    assert created["text_from_html"] is True
    assert created["from_address"] == "news@acme.example", "defaults to the account's sender identity"
    read = client.http.get(f"/v1/campaigns/{created['campaign_id']}", headers=headers)
    assert json.loads(read.body) == created


def test_an_own_text_part_is_kept_and_a_derived_one_follows_the_html(client, headers, list_id):
    derived = _create(client, headers, list_id)
    updated = json.loads(_patch(client, headers, derived["campaign_id"], html="<p>New {{ name }}</p>").body)
    assert updated["text"] == "New {{ name }}" and updated["text_from_html"] is True
    own = _create(client, headers, list_id, text="Plain {{ name }}")
    updated = json.loads(_patch(client, headers, own["campaign_id"], html="<p>Other</p>").body)
    assert updated["text"] == "Plain {{ name }}" and updated["text_from_html"] is False


def test_unknown_fields_are_refused(client, headers, list_id):
    response = _post(client, headers, list_id, bcc=["x@example.com"])
    assert response.status_code == 400 and _error(response)["field"] == "bcc"


# --- templates -------------------------------------------------------------------------------------

@pytest.mark.parametrize("field, fields", [
    ("subject", {"subject": "Hi {{ name"}),
    ("html", {"html": "<p>{% for x in %}</p>"}),
    ("text", {"text": "Hello {{ nobody }}"}),
    ("html", {"html": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}),
])
def test_a_template_error_is_a_400_at_save_time_naming_the_field(client, headers, list_id, field, fields):
    response = _post(client, headers, list_id, **fields)
    assert response.status_code == 400, response.body
    assert _error(response)["field"] == field
    assert "line 1" in _error(response)["message"]


@pytest.mark.parametrize("field, fields", [
    ("html", {"html": "{" * 30_000}),
    ("subject", {"subject": "{{ " + "(" * 5_000 + "1" + ")" * 5_000 + " }}"}),
    ("text", {"text": "{% if 1 %}" * 3_000 + "{% endif %}" * 3_000}),
    ("html", {"html": "{{ x" + ".a" * 20_000 + " }}"}),
])
def test_a_template_nested_too_deeply_is_a_400_naming_the_field(client, headers, list_id, field, fields):
    """Jinja's parser recurses once per nesting level: 30,000 "{" (or deep brackets, blocks or
    attribute chains) raised RecursionError, a 500 at save instead of the template's 400."""
    response = _post(client, headers, list_id, **fields)
    assert response.status_code == 400, response.body
    assert _error(response)["field"] == field


def test_an_sms_body_template_error_names_sms_body(client, headers, list_id):
    response = client.http.post("/v1/campaigns", headers=headers, body=json.dumps(
        {"name": "SMS", "channel": "sms", "list_ids": [list_id], "sms_body": "Hi {{ name }"}))
    assert response.status_code == 400 and _error(response)["field"] == "sms_body"


def test_attributes_in_templates_and_filters_must_be_declared_by_the_lists(client, headers, list_id):
    ok = _create(client, headers, list_id, html="<p>{{ attributes.plan }}</p>", filter={"plan": "gold"})
    assert ok["filter"] == {"plan": "gold"}
    response = _post(client, headers, list_id, html="<p>{{ attributes.city }}</p>")
    assert response.status_code == 400 and _error(response)["field"] == "html"
    response = _post(client, headers, list_id, filter={"city": "Cluj"})
    assert response.status_code == 400 and _error(response)["field"] == "filter.city"


# --- channel rules ---------------------------------------------------------------------------------

def test_an_email_campaign_needs_a_subject_and_a_body(client, headers, list_id):
    no_subject = _post(client, headers, list_id, subject=None)
    assert no_subject.status_code == 400 and _error(no_subject)["field"] == "subject"
    no_body = _post(client, headers, list_id, html=None)
    assert no_body.status_code == 400 and _error(no_body)["field"] == "html"
    sms_body = _post(client, headers, list_id, sms_body="Hi")
    assert sms_body.status_code == 400 and _error(sms_body)["field"] == "sms_body"


def test_sms_campaigns_need_a_short_body_and_no_html(client, headers, list_id):
    def post(**fields):
        body = {"name": "SMS", "channel": "sms", "list_ids": [list_id], **fields}
        return client.http.post("/v1/campaigns", headers=headers, body=json.dumps(body))

    created = post(sms_body="Sale today, {{ name }}!")
    assert created.status_code == 201, created.body
    assert json.loads(created.body)["from_address"] is None
    with_html = post(sms_body="Hi", html="<p>Hi</p>")
    assert with_html.status_code == 400 and _error(with_html)["field"] == "html"
    too_long = post(sms_body="x" * 1601)
    assert too_long.status_code == 400 and _error(too_long)["field"] == "sms_body"
    missing = post()
    assert missing.status_code == 400 and _error(missing)["field"] == "sms_body"


# --- sender (P08) ------------------------------------------------------------------------------------

def test_p35_a_from_address_the_account_does_not_own_is_refused(client, headers, account, list_id):
    from chalicelib.services.senders import adopt_sender

    response = _post(client, headers, list_id, from_address="news@unverified.example")
    assert response.status_code == 403
    assert _error(response)["field"] == "from_address"
    assert "POST /v1/senders" in _error(response)["message"]
    # Verified in SES by someone else (the deployment is shared) is not enough.
    aws_client("sesv2").create_email_identity(EmailIdentity="news@unverified.example")
    assert _post(client, headers, list_id, from_address="news@unverified.example").status_code == 403
    # Nor may the account take it through the API (SES has it: it is somebody's); the operator,
    # who vouches that it is the account's, adopts it.
    added = client.http.post("/v1/senders", headers=headers,
                             body=json.dumps({"identity": "news@unverified.example"}))
    assert added.status_code == 409, added.body
    adopt_sender(account["account_id"], "news@unverified.example")
    assert _post(client, headers, list_id, from_address="news@unverified.example").status_code == 201


def test_p08_an_email_campaign_without_any_sender_is_refused(client, verified_sender, list_id):
    bare = create_account_with_key("Bare Ltd", {})
    body = {"name": "News", "consent_text": "Yes"}
    own_list = json.loads(client.http.post("/v1/lists", headers=bearer(bare["api_key"]),
                                           body=json.dumps(body)).body)["list_id"]
    response = _post(client, bearer(bare["api_key"]), own_list)
    assert response.status_code == 400 and _error(response)["field"] == "from_address"


# --- tenancy (P28) -----------------------------------------------------------------------------------

def test_p28_another_accounts_list_is_not_found(client, headers, list_id):
    other = create_account_with_key("Other Ltd", {"sender_identity": "other@other.example"})
    response = _post(client, bearer(other["api_key"]), list_id)
    assert response.status_code == 404 and _error(response)["field"] == "list_ids"
    missing = _post(client, headers, "lst_missing")
    assert missing.status_code == 404 and _error(missing)["field"] == "list_ids"


def test_p28_another_accounts_campaign_is_not_found(client, headers, list_id):
    campaign_id = _create(client, headers, list_id)["campaign_id"]
    other = bearer(create_account_with_key("Other Ltd", {})["api_key"])
    assert client.http.get(f"/v1/campaigns/{campaign_id}", headers=other).status_code == 404
    assert _patch(client, other, campaign_id, name="Mine").status_code == 404
    assert client.http.delete(f"/v1/campaigns/{campaign_id}", headers=other).status_code == 404
    listed = json.loads(client.http.get("/v1/campaigns", headers=other).body)
    assert listed["campaigns"] == []
    assert client.http.get(f"/v1/campaigns/{campaign_id}", headers=headers).status_code == 200


def test_listing_pages_with_a_cursor(client, headers, list_id):
    made = {_create(client, headers, list_id, name=f"C{n}")["campaign_id"] for n in range(5)}
    seen, cursor = [], None
    for _ in range(5):
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = json.loads(client.http.get(f"/v1/campaigns{query}", headers=headers).body)
        seen += [item["campaign_id"] for item in page["campaigns"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made)


def test_a_page_of_big_campaigns_fits_one_answer_and_its_cursor_goes_on(client, headers, list_id):
    # Every campaign's html and text are in the listing: 50 newsletters of 100 KB (the default
    # page) made an answer over the 6 MB a Lambda may give, and the listing was a 502. Here 7 of
    # 80,000 Romanian letters each: stored 320 KB (html and its text part), 1.1 MB as JSON.
    html = "<p>" + "\u0219" * 80_000 + "</p>"
    made = []
    for n in range(7):
        body = {"name": f"C{n}", "list_ids": [list_id], "subject": "Hi", "html": html}
        response = client.http.post("/v1/campaigns", headers=headers,
                                    body=json.dumps(body, ensure_ascii=False).encode("utf-8"))
        assert response.status_code == 201, response.body[:300]
        made.append(json.loads(response.body)["campaign_id"])
    seen, cursor = [], None
    for _ in range(7):
        response = client.http.get("/v1/campaigns" + (f"?cursor={cursor}" if cursor else ""), headers=headers)
        assert response.status_code == 200, response.body[:300]
        page = json.loads(response.body)
        assert page["campaigns"]  # a page may be short, never empty while more follow
        seen += [item["campaign_id"] for item in page["campaigns"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made)


# --- schedule and status ---------------------------------------------------------------------------

def test_send_at_must_be_a_future_time_with_a_zone(client, headers, list_id):
    for bad in ((datetime.now(UTC) - timedelta(minutes=1)).isoformat(), "2030-01-01T09:00:00", "soon"):
        response = _post(client, headers, list_id, send_at=bad)
        assert response.status_code == 400 and _error(response)["field"] == "send_at", bad


def test_scheduled_campaigns_are_found_by_the_index_only_when_due(client, headers, list_id, monkeypatch):
    monkeypatch.setattr(Campaign, "scan", lambda *a, **k: pytest.fail("the scheduler must not scan"))
    soon = _create(client, headers, list_id, send_at=_future(1))
    later = _create(client, headers, list_id, send_at=_future(5))
    _create(client, headers, list_id)  # a draft is never due
    assert soon["status"] == later["status"] == "scheduled"
    now = datetime.now(UTC)
    assert [c.campaign_id for c in due_campaigns(now)] == []
    assert [c.campaign_id for c in due_campaigns(now + timedelta(hours=2))] == [soon["campaign_id"]]
    assert [c.campaign_id for c in due_campaigns(now + timedelta(hours=6))] == [
        soon["campaign_id"], later["campaign_id"]]
    unscheduled = json.loads(_patch(client, headers, later["campaign_id"], send_at=None).body)
    assert unscheduled["status"] == "draft" and unscheduled["send_at"] is None
    assert [c.campaign_id for c in due_campaigns(now + timedelta(hours=6))] == [soon["campaign_id"]]


def test_start_sending_succeeds_once_and_then_the_campaign_is_frozen(client, headers, list_id, account):
    created = _create(client, headers, list_id, send_at=_future(1))
    campaign = get_campaign(account["account_id"], created["campaign_id"])
    twin = get_campaign(account["account_id"], created["campaign_id"])
    assert start_sending(campaign) is True
    assert start_sending(twin) is False, "a double click must not start the campaign twice"
    assert campaign.status == "sending" and campaign.started_at is not None
    assert list(due_campaigns(datetime.now(UTC) + timedelta(hours=2))) == []
    changed = _patch(client, headers, created["campaign_id"], name="Late edit")
    assert changed.status_code == 409 and "sending" in _error(changed)["message"]
    deleted = client.http.delete(f"/v1/campaigns/{created['campaign_id']}", headers=headers)
    assert deleted.status_code == 409


def test_the_scheduler_starts_only_a_due_scheduled_campaign(client, headers, list_id, account):
    created = _create(client, headers, list_id, send_at=_future(1))
    campaign = get_campaign(account["account_id"], created["campaign_id"])
    assert start_sending(campaign, due_by=datetime.now(UTC)) is False, "not due yet"
    assert start_sending(campaign, due_by=datetime.now(UTC) + timedelta(hours=2)) is True


def test_an_edit_that_loses_the_race_with_sending_is_a_conflict(client, headers, list_id, account):
    created = _create(client, headers, list_id)
    stale = get_campaign(account["account_id"], created["campaign_id"])
    assert start_sending(get_campaign(account["account_id"], created["campaign_id"]))
    with pytest.raises(Conflict, match="changed meanwhile"):
        update_campaign(stale, {"name": "Too late"})


def test_cancelling_keeps_the_campaign_and_freezes_it(client, headers, list_id):
    created = _create(client, headers, list_id, send_at=_future(1))
    cancelled = json.loads(_patch(client, headers, created["campaign_id"], status="cancelled").body)
    assert cancelled["status"] == "cancelled"
    assert list(due_campaigns(datetime.now(UTC) + timedelta(hours=2))) == []
    assert _patch(client, headers, created["campaign_id"], name="Again").status_code == 409
    assert _patch(client, headers, created["campaign_id"], status="sending").status_code == 400
    assert client.http.delete(f"/v1/campaigns/{created['campaign_id']}", headers=headers).status_code == 204
    assert client.http.get(f"/v1/campaigns/{created['campaign_id']}", headers=headers).status_code == 404


# --- domain rules ----------------------------------------------------------------------------------

def test_status_machine_allows_only_forward_moves():
    from chalicelib.domain.campaigns import CampaignStatus as S
    from chalicelib.domain.campaigns import check_transition

    allowed = {(S.DRAFT, S.SCHEDULED), (S.DRAFT, S.SENDING), (S.DRAFT, S.CANCELLED),
               (S.SCHEDULED, S.DRAFT), (S.SCHEDULED, S.SENDING), (S.SCHEDULED, S.CANCELLED),
               (S.SENDING, S.SENT), (S.SENDING, S.FAILED), (S.SENDING, S.CANCELLED)}
    for current in S:
        for target in S:
            if (current, target) in allowed:
                check_transition(current, target)
            else:
                with pytest.raises(Conflict, match=f"{current.value} cannot become {target.value}"):
                    check_transition(current, target)


def test_audience_filter_matches_contact_fields_and_attributes():
    from chalicelib.domain.campaigns import matches_filter
    from chalicelib.domain.subscriptions import Contact

    ann = Contact(email="ann@example.com", company="Acme", attributes={"plan": "Gold"})
    assert matches_filter({}, ann)
    assert matches_filter({"plan": "gold", "company": "ACME "}, ann)
    assert not matches_filter({"plan": "silver"}, ann)
    assert not matches_filter({"city": "Cluj"}, ann), "a missing attribute never matches a value"
    assert not matches_filter({"name": "Ann"}, ann)


def _utf8_body(client, method, path, headers, body):
    """A request whose body is UTF-8 JSON as a browser sends it (non-Latin text 2 bytes a letter,
    not 6 as an ASCII escape), so a campaign near DynamoDB's item limit fits the body limit."""
    return client.http.request(method, path, headers=headers,
                               body=json.dumps(body, ensure_ascii=False).encode("utf-8"))


def test_a_campaign_too_big_for_its_stored_item_is_a_413_naming_html_or_text(client, headers, list_id):
    """125,000 Cyrillic letters of html are 250 KB, within the request's 256 KiB; with the text
    part derived from them, the campaign's item would pass DynamoDB's 400 KB (a 500 before)."""
    from chalicelib.domain.campaigns import CONTENT_MAX_BYTES
    from chalicelib.domain.html_text import html_to_text

    def html(letters: int) -> str:
        return "<p>" + "\u0416" * letters + "</p>"

    def stored(letters: int) -> int:  # the html, its derived text and the subject, in UTF-8
        return len(html(letters).encode()) + len(html_to_text(html(letters)).encode()) + len("Hi")

    body = {"name": "Big", "list_ids": [list_id], "subject": "Hi", "html": html(125_000)}
    created = _utf8_body(client, "POST", "/v1/campaigns", headers, body)
    assert created.status_code == 413 and _error(created)["field"] == "html", created.body
    most = (CONTENT_MAX_BYTES - stored(0)) // (stored(1) - stored(0))
    assert stored(most) <= CONTENT_MAX_BYTES < stored(most + 1)
    fits = _utf8_body(client, "POST", "/v1/campaigns", headers, {**body, "html": html(most)})
    assert fits.status_code == 201, fits.body[:300]
    campaign_id = json.loads(fits.body)["campaign_id"]
    over = _utf8_body(client, "PATCH", f"/v1/campaigns/{campaign_id}", headers, {"html": html(most + 1)})
    assert over.status_code == 413 and _error(over)["field"] == "html", over.body[:300]
    # An author's own text part stays when the html changes: the larger of the two is named.
    own = _utf8_body(client, "PATCH", f"/v1/campaigns/{campaign_id}", headers,
                     {"html": html(10), "text": "\u0416" * 100_000})
    assert own.status_code == 200, own.body[:300]
    grown = _utf8_body(client, "PATCH", f"/v1/campaigns/{campaign_id}", headers, {"html": html(80_000)})
    assert grown.status_code == 413 and _error(grown)["field"] == "text", grown.body[:300]
