"""Suppression reads and the one way back (P12), against moto: tests that bite where `make
mutants` (run on 0cf0a21) found that none did in store/suppressions.py. The domain's side is in
tests/test_bites_consent_sending.py."""
from __future__ import annotations

import pytest

ACCOUNT = "acc_bites"


def _hash(address: str) -> str:
    from chalicelib.config import hash_key
    from chalicelib.domain.suppression import address_hash

    return address_hash(address, hash_key())


def _suppressed(address: str, list_id: str | None = None) -> bool:
    from chalicelib.store.suppressions import suppressed_hashes

    return suppressed_hashes(ACCOUNT, [_hash(address)], list_id) == {_hash(address)}


def test_p12_a_signup_is_clear_returning_or_blocked_by_what_the_person_did(aws):
    from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason
    from chalicelib.store.suppressions import OwnSignup, own_signup, suppress

    suppress(ACCOUNT, "ann@example.com", SuppressionReason.UNSUBSCRIBED)
    suppress(ACCOUNT, "bob@example.com", SuppressionReason.UNSUBSCRIBED)
    suppress(ACCOUNT, "bob@example.com", SuppressionReason.COMPLAINED)  # a later complaint
    suppress(PLATFORM_SCOPE, "cleo@example.com", SuppressionReason.PLATFORM_OPT_OUT)
    suppress("acc_other", "dan@example.com", SuppressionReason.COMPLAINED)

    assert own_signup(ACCOUNT, "ann@example.com", "lst_a") is OwnSignup.RETURNING
    assert own_signup(ACCOUNT, "bob@example.com", "lst_a") is OwnSignup.BLOCKED
    assert own_signup(ACCOUNT, "cleo@example.com", "lst_a") is OwnSignup.BLOCKED
    assert own_signup(ACCOUNT, "dan@example.com", "lst_a") is OwnSignup.CLEAR, "another account's"
    assert own_signup(ACCOUNT, "eve@example.com", "lst_a") is OwnSignup.CLEAR


def test_p12_the_way_back_opens_for_the_list_signed_up_to_and_only_after_nothing_but_unsubscribing(aws):
    from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason
    from chalicelib.store.suppressions import lift_for_list, suppress

    suppress(ACCOUNT, "ann@example.com", SuppressionReason.UNSUBSCRIBED)
    assert lift_for_list(ACCOUNT, "ann@example.com", "lst_a") is True
    assert not _suppressed("ann@example.com", "lst_a")
    assert _suppressed("ann@example.com", "lst_b") and _suppressed("ann@example.com")

    suppress(ACCOUNT, "bob@example.com", SuppressionReason.UNSUBSCRIBED)
    suppress(ACCOUNT, "bob@example.com", SuppressionReason.BOUNCED)
    assert lift_for_list(ACCOUNT, "bob@example.com", "lst_a") is False
    assert _suppressed("bob@example.com", "lst_a")

    suppress(PLATFORM_SCOPE, "cleo@example.com", SuppressionReason.PLATFORM_OPT_OUT)
    assert lift_for_list(ACCOUNT, "cleo@example.com", "lst_a") is False, "not the account's to lift"
    assert _suppressed("cleo@example.com", "lst_a")
    assert lift_for_list(ACCOUNT, "eve@example.com", "lst_a") is False, "nothing to lift"

    suppress(ACCOUNT, "ann@example.com", SuppressionReason.COMPLAINED)  # after the way back
    assert _suppressed("ann@example.com", "lst_a")


@pytest.mark.parametrize("again_from", ["lst_a", None])
def test_p12_unsubscribing_again_closes_the_way_back_for_that_list_or_for_all(aws, again_from):
    from chalicelib.domain.suppression import SuppressionReason
    from chalicelib.store.suppressions import end_lifts, lift_for_list, suppress

    suppress(ACCOUNT, "ann@example.com", SuppressionReason.UNSUBSCRIBED)
    assert all(lift_for_list(ACCOUNT, "ann@example.com", list_id) for list_id in ("lst_a", "lst_b"))
    end_lifts(ACCOUNT, "ann@example.com", again_from)
    assert _suppressed("ann@example.com", "lst_a")
    assert _suppressed("ann@example.com", "lst_b") is (again_from is None)
