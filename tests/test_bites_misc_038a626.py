"""Rule tests that bite where `make mutants` (run on 038a626) found none did, a few each in the
domain's consent, list, mail, link and privacy rules, the sender check and a person's messages.
Domain rules with plain calls; the store with direct calls against moto."""
from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.tokens import Signer

SIGNER = Signer(("a-secret-for-the-038a626-bites",))
T0 = datetime(2031, 1, 2, 3, 4, tzinfo=UTC)


# --- P04: a contact's attributes must fit a queued batch job ------------------------------------

def _attributes_of_json_bytes(total: int) -> dict[str, str]:
    """Declared attributes (50 at most, 500 characters each) whose JSON takes exactly `total`
    bytes: ç is a 6-byte JSON escape, x one byte."""
    from chalicelib.domain.queue_size import json_bytes

    attributes = {f"a{n:02}": "ç" * 500 for n in range(21)}
    rest = total - json_bytes({**attributes, "z": ""})
    wide = min(500, rest // 6)
    attributes["z"] = "ç" * wide + "x" * (rest - 6 * wide)
    assert json_bytes(attributes) == total
    return attributes


@pytest.mark.parametrize(("over", "refused"), [(0, False), (1, True)])
def test_p04_attributes_are_refused_only_past_the_room_a_queued_batch_leaves(over, refused):
    from chalicelib.domain.subscriptions import ATTRIBUTES_MAX_QUEUED_BYTES, clean_contact

    attributes = _attributes_of_json_bytes(ATTRIBUTES_MAX_QUEUED_BYTES + over)
    raw = {"email": "ann@example.com", "attributes": attributes}
    if refused:
        with pytest.raises(InvalidInput) as refusal:
            clean_contact(raw, attributes, drop_unknown=False)
        assert refusal.value.field == "attributes"
    else:
        assert clean_contact(raw, attributes, drop_unknown=False).attributes == attributes


# --- P02: a list's consent texts ----------------------------------------------------------------

def test_p02_an_empty_consent_text_is_refused_naming_the_field():
    from chalicelib.domain.lists import next_consent_versions

    with pytest.raises(InvalidInput) as refusal:
        next_consent_versions([], "   ", T0)
    assert refusal.value.field == "consent_text"


@pytest.mark.parametrize(("over", "refused"), [(0, False), (1, True)])
def test_p02_every_consent_text_shown_is_kept_up_to_the_room_a_list_has(over, refused):
    from chalicelib.domain.lists import CONSENT_TEXTS_MAX_BYTES, next_consent_versions

    first = next_consent_versions([], "a" * 100_000, T0)
    second = "b" * (CONSENT_TEXTS_MAX_BYTES - 100_000 + over)
    if refused:
        with pytest.raises(Conflict) as refusal:
            next_consent_versions(first, second, T0)
        assert refusal.value.field == "consent_text"
    else:
        assert [v.text[0] for v in next_consent_versions(first, second, T0)] == ["a", "b"]


# --- P08: the sender's identity in every marketing mail -----------------------------------------

@pytest.mark.parametrize("missing", ["postal_address", "contact_email"])
def test_p08_an_identity_missing_a_part_is_never_found_in_a_body(missing):
    from chalicelib.domain.accounts import AccountProfile
    from chalicelib.domain.marketing_mail import _lacks_identity

    parts = {"postal_address": "1 Main Street", "contact_email": "contact@acme.example", missing: None}
    sender = AccountProfile(name="Acme", sender_identity="news@acme.example", **parts)
    body = "Acme, 1 Main Street, contact@acme.example, order XXXX"
    assert _lacks_identity(body, sender, escaped=False) is True


# --- P07, P31: links in mail --------------------------------------------------------------------

def test_p31_a_links_url_keeps_its_base_path_as_configured():
    from chalicelib.domain.mail_links import UNSUBSCRIBE, link_url

    assert link_url("https://mail.example/X/", UNSUBSCRIBE, "tok") == "https://mail.example/X/u/tok"
    assert link_url("https://mail.example/X", UNSUBSCRIBE, "tok") == "https://mail.example/X/u/tok"


def test_p13_p31_an_open_token_reads_with_no_target_and_no_label():
    from chalicelib.domain.mail_links import OPEN, LinkClaim, link_token, read_tracking_token

    claim = LinkClaim("acc_1", "lst_1", "ann@example.com", "cmp_1")
    read = read_tracking_token(SIGNER, OPEN, link_token(SIGNER, OPEN, claim))
    assert (read.claim, read.url, read.label) == (claim, None, None)


# --- P18: a phone number's keyed hash -----------------------------------------------------------

def test_p18_a_phone_numbers_keyed_hash_is_its_own():
    from chalicelib.domain.privacy import phone_hash

    key = "a-hash-key"
    assert phone_hash("+40712345678", key) == hmac.new(
        key.encode(), b"tel:+40712345678", hashlib.sha256).hexdigest()
    assert phone_hash("+40712345678", key) != phone_hash("+40712345679", key)


# --- P16, P28: a person's message records, in their account only --------------------------------

def test_p16_p28_a_persons_export_holds_the_messages_of_their_account_only(aws):
    from chalicelib.config import hash_key
    from chalicelib.domain.privacy import Person
    from chalicelib.domain.suppression import address_hash
    from chalicelib.store.person_data import export_messages
    from tests.support.retention import sent_message

    hashed = address_hash("ann@example.com", hash_key())
    sent_message("msg_ours", "acc_ours", hashed)
    sent_message("msg_theirs", "acc_theirs", hashed)
    person = Person("acc_ours", frozenset({"ann@example.com"}), frozenset())
    assert [record["message_id"] for record in export_messages(person)] == ["msg_ours"]


# --- P35: a campaign mail goes out only from the account's own verified sender --------------------

def test_p35_an_email_campaign_from_an_address_the_account_does_not_own_may_not_start(account):
    from chalicelib.domain.campaigns import CampaignContent, Channel
    from chalicelib.domain.errors import Forbidden
    from chalicelib.services.sending.start import check_account_may_send
    from chalicelib.store.accounts import get_account

    content = CampaignContent(channel=Channel.EMAIL, list_ids=frozenset({"lst_gone"}), subject="News",
                              html="<p>Hi</p>", from_address="ceo@elsewhere.example")
    with pytest.raises(Forbidden) as refusal:
        check_account_may_send(get_account(account["account_id"]), content)
    assert refusal.value.field == "from_address"
