"""No URL, header or token in a mail or page carries personal data in any reversible form (P31).

Tokens are encrypted (domain/tokens.py); these tests look at them from outside, as a mail
gateway's log or a proxy would, and try every decoding on them (tests/support/decoding.py).
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from itsdangerous import URLSafeTimedSerializer

from chalicelib.config import hash_key, signer
from chalicelib.domain import account_lifecycle, email_change, optout, tokens
from chalicelib.domain.mail_links import (
    CLICK,
    FORWARD,
    OPEN,
    PREFERENCES,
    UNSUBSCRIBE,
    LinkClaim,
    click_token,
    link_token,
    read_click_token,
    read_link_token,
)
from chalicelib.resources import SIGNING_KEYS_SECRET
from tests.support.campaigns import create_campaign
from tests.support.decoding import leaks
from tests.support.lists import new_list, subscribe
from tests.support.mail import sent_mails
from tests.support.queues import deliver, run_queues, take
from tests.support.signups import form_signup

ADDRESS = "zora.quill@example.com"
NAME = "Zora Quill"
PHONE = "+40712345678"
# Every form the recipient's data could take in a link: the address, its local part, the name
# (either way round) and the phone with and without its prefix.
NEEDLES = (ADDRESS, "zora.quill", "zora", "quill", PHONE, "712345678")
CLAIM = LinkClaim("acc_0123456789abcdef0123", "lst_0123456789abcdef0123", ADDRESS,
                  "cmp_0123456789abcdef0123")
_URL = re.compile(r"""(?:https?://|mailto:)[^\s"'<>]+""")


def _every_token() -> dict[str, str]:
    made = {purpose: link_token(signer(), purpose, CLAIM) for purpose in (UNSUBSCRIBE, PREFERENCES,
                                                                           FORWARD, OPEN)}
    made[CLICK] = click_token(signer(), CLAIM, "https://shop.example/spring")
    made["confirm"] = tokens.confirm_token(signer(), CLAIM.list_id, ADDRESS)
    made["optout"] = optout.optout_token(signer(), ADDRESS)
    made["email-change"] = email_change.email_change_token(signer(), hash_key(), "acc_1", ADDRESS,
                                                           "owner@acme.example", "nonce")
    made["account-deletion"] = account_lifecycle.deletion_token(signer(), "acc_1", "nonce")
    return made


KINDS = (UNSUBSCRIBE, PREFERENCES, FORWARD, OPEN, CLICK, "confirm", "optout", "email-change",
         "account-deletion")


@pytest.mark.parametrize("kind", KINDS)
def test_p31_no_token_holds_the_address_in_any_decoding(aws, kind):
    made = _every_token()
    assert set(made) == set(KINDS)
    token = made[kind]
    assert leaks(token, NEEDLES) == []
    assert "." not in token and re.fullmatch(r"[A-Za-z0-9_\-]+", token), "URL-safe, one part"


def test_p31_the_check_would_find_the_address_in_a_signed_but_unencrypted_token(aws):
    """The decoder is not blind: the tokens of mails sent before encryption held the address."""
    legacy = URLSafeTimedSerializer(list(signer().secrets), salt=UNSUBSCRIBE).dumps(CLAIM.payload())
    assert ADDRESS in leaks(f"https://x.example/u/{legacy}", NEEDLES)


def test_p31_links_sent_before_encryption_keep_working_until_they_expire(aws):
    sent = datetime(2030, 1, 1, tzinfo=UTC)
    with time_machine.travel(sent, tick=False):
        legacy = URLSafeTimedSerializer(list(signer().secrets), salt=UNSUBSCRIBE).dumps(CLAIM.payload())
        legacy_click = URLSafeTimedSerializer(list(signer().secrets), salt=CLICK).dumps(
            {**CLAIM.payload(), "u": "https://shop.example/spring"})
    with time_machine.travel(sent + timedelta(days=364), tick=False):
        assert read_link_token(signer(), UNSUBSCRIBE, legacy) == CLAIM
        assert read_click_token(signer(), legacy_click) == (CLAIM, "https://shop.example/spring")
    with time_machine.travel(sent + timedelta(days=366), tick=False), pytest.raises(tokens.TokenExpired):
        read_link_token(signer(), UNSUBSCRIBE, legacy)
    with pytest.raises(tokens.TokenInvalid):  # a legacy token of another purpose stays refused
        read_link_token(signer(), PREFERENCES, legacy)


def test_p31_an_encrypted_token_reads_back_under_rotated_secrets_and_not_once_retired(put_secret):
    put_secret(SIGNING_KEYS_SECRET, '["old-secret"]')
    token = link_token(signer(), UNSUBSCRIBE, CLAIM)
    put_secret(SIGNING_KEYS_SECRET, '["new-secret", "old-secret"]')
    assert read_link_token(signer(), UNSUBSCRIBE, token) == CLAIM
    assert read_link_token(signer(), UNSUBSCRIBE, link_token(signer(), UNSUBSCRIBE, CLAIM)) == CLAIM
    put_secret(SIGNING_KEYS_SECRET, '["new-secret"]')
    with pytest.raises(tokens.TokenInvalid):
        read_link_token(signer(), UNSUBSCRIBE, token)


def test_p31_two_tokens_for_the_same_person_share_nothing_readable(aws):
    """A fresh nonce per token: tokens of one person cannot even be linked to each other."""
    first, second = (link_token(signer(), UNSUBSCRIBE, CLAIM) for _ in range(2))
    assert first != second and first[:20] != second[:20]


def _exposed(mail) -> dict[str, list[str]]:
    """Every header but To (which must name the recipient), and every URL of every part."""
    found = {name: [str(value)] for name, value in mail.items() if name.lower() != "to"}
    for part in mail.walk():
        if part.get_content_maintype() == "text":
            found.setdefault("urls", []).extend(_URL.findall(part.get_content()))
    return found


def _leaks_in(mail) -> dict[str, list[str]]:
    return {f"{name}: {value[:80]}": found for name, values in _exposed(mail).items() for value in values
            if (found := leaks(value, NEEDLES))}


def test_p31_a_real_campaign_mail_has_no_recipient_data_in_any_link_or_header(client, account, headers):
    list_id = new_list(client, headers, "News", attributes=("city",))
    subscribe(account["account_id"], list_id, ADDRESS, name=NAME, phone=PHONE, city="Iasi")
    # The subject is the author's own text: here it greets nobody by name.
    campaign = create_campaign(client, headers, [list_id], subject="Spring sale", html=(
        '<html><body><p>Hello {{ name }}</p><a href="https://shop.example/sale?ref=mail">Sale</a>'
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a> <a href="{{ preferences_url }}">Preferences</a>'
        ' <a href="{{ forward_url }}">Forward</a></body></html>'))
    sent = client.http.post(f"/v1/campaigns/{campaign['campaign_id']}/send", headers=headers)
    assert sent.status_code == 202
    run_queues(client)
    (mail,) = sent_mails()
    assert str(mail["To"]) == ADDRESS
    exposed = _exposed(mail)
    assert any("/t/o/" in url for url in exposed["urls"]) and any("/t/c/" in url for url in exposed["urls"])
    assert any("/p/" in url for url in exposed["urls"]) and any("/fwd/" in url for url in exposed["urls"])
    assert "mailto:unsubscribe@acme.example?subject=unsubscribe-" in exposed["List-Unsubscribe"][0]
    assert _leaks_in(mail) == {}


def test_p31_the_confirmation_mail_has_no_recipient_data_in_any_link_or_header(client, account, headers):
    list_id = new_list(client, headers, "News")
    form_signup(client, list_id, email=ADDRESS, name=NAME)
    deliver(take("outbox"))
    (mail,) = sent_mails()
    assert any("/c/" in url for url in _exposed(mail)["urls"])
    assert _leaks_in(mail) == {}
