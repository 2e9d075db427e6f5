"""Pure rules of the foundation, without AWS."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.accounts import AccountProfile, clean_profile_changes
from chalicelib.domain.addresses import masked_email, normalise_email
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.keys import hash_secret, new_secret
from chalicelib.domain.lists import clean_origin, clean_redirect_url, next_consent_versions

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Ann@Example.COM", "ann@example.com"), ("  bo@example.org ", "bo@example.org"),
     ("ana@bücher.example", "ana@bücher.example")],
)
def test_addresses_are_normalised(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "plain", "a@", "@b.com", "a b@c.com", None, 42])
def test_bad_addresses_name_the_field(raw):
    with pytest.raises(InvalidInput) as caught:
        normalise_email(raw, field="contact_email")
    assert caught.value.field == "contact_email"


@pytest.mark.parametrize(("address", "shown"), [("owner@acme.example", "o•••@acme.example"),
                                              ("a@b.example", "a•••@b.example"),
                                              ("ștefan@bücher.example", "ș•••@bücher.example"),
                                              ('"a@b"@c.example', '"•••@c.example'), ("nobody", "•••")])
def test_p27_a_masked_address_shows_its_first_character_and_domain_only(address, shown):
    assert masked_email(address) == shown
    assert address not in masked_email(address)


def test_p27_secrets_are_random_and_only_their_hash_is_kept():
    first, second = new_secret("key_1"), new_secret("key_1")
    assert first != second and first.startswith("tid_key_1_")
    assert hash_secret(first) != hash_secret(second)
    assert first not in hash_secret(first)


def test_p08_incomplete_profile_lists_what_is_missing():
    profile = AccountProfile(name="Acme", postal_address=None, contact_email="a@acme.example",
                             sender_identity="")
    assert profile.missing_for_sending() == ["postal_address", "sender_identity"]
    assert clean_profile_changes({"sender_identity": " News@Acme.Example "}) == {
        "sender_identity": "news@acme.example"}


def test_p02_consent_versions_append_and_never_rewrite():
    first = next_consent_versions([], "I agree", T0)
    second = next_consent_versions(first, "I agree to more", T0)
    assert [(v.version, v.text) for v in second] == [(1, "I agree"), (2, "I agree to more")]
    assert next_consent_versions(second, " I agree to more ", T0) == second
    with pytest.raises(InvalidInput):
        next_consent_versions(second, "  ", T0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("https://Shop.Example.com", "https://shop.example.com"),
     ("http://localhost:3000/", "http://localhost:3000")],
)
def test_origins_are_normalised(raw, expected):
    assert clean_origin(raw) == expected


@pytest.mark.parametrize("raw", ["shop.example.com", "ftp://x.example", "https://x.example/path",
                                 "https://user@x.example", "javascript:alert(1)"])
def test_bad_origins_are_refused(raw):
    with pytest.raises(InvalidInput):
        clean_origin(raw)


def test_redirects_must_be_absolute_http():
    assert clean_redirect_url("https://x.example/thanks", "r") == "https://x.example/thanks"
    for bad in ("/thanks", "javascript:alert(1)", "x.example", "http://[x", "http://[::1", "https://x.example:99999/",
                "https://x.example/thanks\r\nSet-Cookie: sid=evil", "https://x.example/a b",
                "https://x.example/\u2028a", "https://x.example/\x00a", "https://ex\u00e4mple.com/"):
        with pytest.raises(InvalidInput) as refused:
            clean_redirect_url(bad, "redirect_after_signup")
        assert refused.value.field == "redirect_after_signup"
    # Printable ASCII and %-escapes pass as written, IPv6 hosts and ports too.
    for good in ("https://x.example/a%20b?q=1#top", "http://[::1]:8080/ok", "https://xn--exmple-cua.com/"):
        assert clean_redirect_url(f"  {good} ", "r") == good
