"""`/v1/lists`: settings, consent-text versions, paging."""
from __future__ import annotations

import json

import pytest

from tests.support.api import bearer
from tests.support.lists import new_list


def _create(client, headers, **fields):
    body = {"name": "News", "consent_text": "Yes, send me news.", **fields}
    response = client.http.post("/v1/lists", headers=headers, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def test_list_defaults_to_double_opt_in_and_tracking_on(client, account):
    created = _create(client, bearer(account["api_key"]))
    assert created["double_opt_in"] is True
    assert created["tracking"] == {"opens": True, "clicks": True}
    assert created["consent_version"] == 1


def test_settings_round_trip(client, account):
    headers = bearer(account["api_key"])
    created = _create(
        client, headers,
        double_opt_in=False,
        tracking={"opens": False, "clicks": True},
        allowed_origins=["https://Shop.Example.com/", "http://localhost:3000"],
        attributes=["plan", "city"],
        redirect_after_signup="https://shop.example.com/thanks",
        redirect_after_confirm="https://shop.example.com/welcome",
    )
    read = json.loads(client.http.get(f"/v1/lists/{created['list_id']}", headers=headers).body)
    assert read["double_opt_in"] is False
    assert read["tracking"] == {"opens": False, "clicks": True}
    assert read["allowed_origins"] == ["http://localhost:3000", "https://shop.example.com"]
    assert read["attributes"] == ["city", "plan"]
    assert read["redirect_after_signup"] == "https://shop.example.com/thanks"
    assert read["redirect_after_confirm"] == "https://shop.example.com/welcome"


def test_p02_editing_consent_text_keeps_old_versions(client, account):
    headers = bearer(account["api_key"])
    list_id = _create(client, headers)["list_id"]
    patch = json.dumps({"consent_text": "Yes, send me news and offers."})
    updated = json.loads(client.http.patch(f"/v1/lists/{list_id}", headers=headers, body=patch).body)
    assert updated["consent_version"] == 2
    assert [v["text"] for v in updated["consent_versions"]] == [
        "Yes, send me news.", "Yes, send me news and offers."]
    same_again = json.loads(client.http.patch(f"/v1/lists/{list_id}", headers=headers, body=patch).body)
    assert same_again["consent_version"] == 2, "an unchanged text is not a new version"


def test_patch_changes_only_named_settings(client, account):
    headers = bearer(account["api_key"])
    list_id = _create(client, headers, tracking={"opens": False, "clicks": False})["list_id"]
    body = json.dumps({"tracking": {"clicks": True}, "name": "Weekly"})
    updated = json.loads(client.http.patch(f"/v1/lists/{list_id}", headers=headers, body=body).body)
    assert updated["name"] == "Weekly"
    assert updated["tracking"] == {"opens": False, "clicks": True}


def test_bad_list_settings_name_the_field(client, account):
    headers = bearer(account["api_key"])
    cases = {
        "allowed_origins": {"allowed_origins": ["javascript:alert(1)"]},
        "redirect_after_signup": {"redirect_after_signup": "/relative"},
        "attributes": {"attributes": ["Bad Name"]},
        "name": {"name": ""},
        "consent_text": {"consent_text": "   "},
    }
    for field, fields in cases.items():
        body = {"name": "News", "consent_text": "Yes", **fields}
        response = client.http.post("/v1/lists", headers=headers, body=json.dumps(body))
        assert response.status_code == 400, field
        assert json.loads(response.body)["error"]["field"].startswith(field), field
    empty_patch = client.http.patch(f"/v1/lists/{_create(client, headers)['list_id']}",
                                    headers=headers, body="{}")
    assert empty_patch.status_code == 400


def test_listing_pages_with_an_opaque_cursor(client, account):
    headers = bearer(account["api_key"])
    made = {_create(client, headers, name=f"List {n}")["list_id"] for n in range(5)}
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = json.loads(client.http.get(f"/v1/lists{query}", headers=headers).body)
        assert len(page["lists"]) <= 2
        seen += [item["list_id"] for item in page["lists"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made)


def test_p02_a_page_of_lists_with_long_consent_histories_fits_one_answer(client, account):
    # Each list shows every consent text it has had (P02): 12 lists of 15 versions of a 5,000
    # letter Romanian text (150 KB stored, 500 KB as JSON) made the page bigger than the 6 MB a
    # Lambda may answer, so GET /v1/lists was a 502.
    from datetime import UTC, datetime

    from chalicelib.domain.lists import ConsentText
    from chalicelib.store.lists import create_list

    text = "\u0219" * 4_990
    versions = [ConsentText(version=n, text=f"{n:>10}{text}", created_at=datetime.now(UTC))
                for n in range(1, 16)]
    made = {create_list(account["account_id"], {"name": f"List {n}"}, versions).list_id for n in range(12)}
    seen, cursor = [], None
    for _ in range(12):
        response = client.http.get("/v1/lists" + (f"?cursor={cursor}" if cursor else ""),
                                   headers=bearer(account["api_key"]))
        assert response.status_code == 200, response.body[:300]
        page = json.loads(response.body)
        assert page["lists"] and all(len(item["consent_versions"]) == 15 for item in page["lists"])
        seen += [item["list_id"] for item in page["lists"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made)


def test_forged_cursor_and_bad_limit_are_400(client, account):
    headers = bearer(account["api_key"])
    forged = client.http.get("/v1/lists?cursor=eyJsaXN0X2lkIjoieCJ9", headers=headers)
    assert forged.status_code == 400
    assert json.loads(forged.body)["error"]["field"] == "cursor"
    for limit in ("0", "abc", "1000"):
        response = client.http.get(f"/v1/lists?limit={limit}", headers=headers)
        assert response.status_code == 400
        assert json.loads(response.body)["error"]["field"] == "limit"


def test_deleting_a_list_removes_it(client, account):
    headers = bearer(account["api_key"])
    list_id = _create(client, headers)["list_id"]
    assert client.http.delete(f"/v1/lists/{list_id}", headers=headers).status_code == 204
    assert client.http.get(f"/v1/lists/{list_id}", headers=headers).status_code == 404
    assert client.http.delete(f"/v1/lists/{list_id}", headers=headers).status_code == 404



@pytest.mark.parametrize("field", ["consent_text", "tracking_consent_text"])
def test_p02_a_consent_text_that_would_not_fit_beside_the_kept_ones_is_a_409_and_the_list_stays_usable(
        client, headers, field):
    """Every version of a list's consent text is kept, as proof (P02), in the list's one item
    (400 KB): twenty texts of 5,000 emoji passed it and the API answered 500."""
    from chalicelib.domain.lists import CONSENT_TEXTS_MAX_BYTES

    list_id = new_list(client, headers)
    texts = [f"{n} " + "\U0001F600" * 4990 for n in range(CONSENT_TEXTS_MAX_BYTES // (4 * 4990) + 2)]
    answers = [client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                                 body=json.dumps({field: text}, ensure_ascii=False).encode()).status_code
               for text in texts]
    assert set(answers) == {200, 409} and answers == sorted(answers), answers
    renamed = client.http.patch(f"/v1/lists/{list_id}", headers=headers, body=json.dumps({"name": "Still"}))
    assert renamed.status_code == 200


def test_p27_a_change_of_a_lists_settings_is_audited_by_name_never_by_value(client, account):
    """Turning double opt-in or tracking off, or changing a consent text or the privacy policy
    link, changes what people agree to (P01, P02, P30, P32): the audit log names the list and
    the settings changed, never their values."""
    headers = bearer(account["api_key"])
    list_id = _create(client, headers)["list_id"]
    patch = {"double_opt_in": False, "consent_text": "Yes, mail ann@example.org offers.",
             "tracking": {"opens": False}, "tracking_consent": "not_required",
             "tracking_consent_text": "Count my opens.", "privacy_policy_url": "https://shop.example/p"}
    assert client.http.patch(f"/v1/lists/{list_id}", headers=headers,
                             body=json.dumps(patch)).status_code == 200
    entries = json.loads(client.http.get("/v1/audit", headers=headers).body)["entries"]
    changed = [e for e in entries if e["action"] == "list.changed"]
    assert [e["target"] for e in changed] == [
        f"{list_id}: consent_text,double_opt_in,privacy_policy_url,tracking.opens,tracking_consent,"
        "tracking_consent_text"]
    assert changed[0]["actor"] == account["key_id"]
    assert "@" not in json.dumps(entries) and "shop.example" not in json.dumps(entries)
