"""Suppressions as stored (P12, P11), against moto: tests that bite where `make mutants` (run on
038a626) found none did in store/suppressions.py: a list's own suppression (an unsubscribe from one
list on the preferences page) and the way back from it, the first reason and time kept with every
reason added, and every reason read back. tests/test_bites_suppressions.py has the earlier ones."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

ACCOUNT = "acc_store"
ANN = "ann@example.com"
T0 = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


def _hash(address: str = ANN) -> str:
    from chalicelib.config import hash_key
    from chalicelib.domain.suppression import address_hash

    return address_hash(address, hash_key())


def _suppressed_for(list_id: str | None) -> bool:
    from chalicelib.store.suppressions import suppressed_hashes

    return suppressed_hashes(ACCOUNT, [_hash()], list_id) == {_hash()}


def test_p12_an_unsubscribe_from_one_list_suppresses_that_list_only(aws):
    from chalicelib.domain.suppression import SuppressionReason
    from chalicelib.store.models import Suppression
    from chalicelib.store.suppressions import suppress

    suppress(ACCOUNT, ANN, SuppressionReason.UNSUBSCRIBED, list_id="lst_a")
    assert _suppressed_for("lst_a")
    assert not _suppressed_for("lst_b") and not _suppressed_for(None)
    assert [entry.address_hash for entry in Suppression.query(ACCOUNT)] == [f"{_hash()}#lst_a"]


def test_p12_the_way_back_lifts_a_suppression_for_that_list_only(aws):
    from chalicelib.domain.suppression import SuppressionReason
    from chalicelib.store.suppressions import lift_for_list, suppress

    suppress(ACCOUNT, ANN, SuppressionReason.UNSUBSCRIBED, list_id="lst_a")
    assert lift_for_list(ACCOUNT, ANN, "lst_a") is True
    assert not _suppressed_for("lst_a")


def test_p12_p16_a_suppression_keeps_its_first_reason_and_time_and_adds_every_reason(aws):
    from chalicelib.domain.suppression import SuppressionReason
    from chalicelib.store.models import Suppression
    from chalicelib.store.suppressions import suppress

    with time_machine.travel(T0, tick=False):
        suppress(ACCOUNT, ANN, SuppressionReason.UNSUBSCRIBED)
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        suppress(ACCOUNT, ANN, SuppressionReason.BOUNCED)
    entry = Suppression.get(ACCOUNT, _hash())
    assert (entry.reason, entry.created_at) == ("unsubscribed", T0)
    assert entry.reasons == {"unsubscribed", "bounced"}


def test_p11_p12_every_reason_an_address_is_suppressed_for_is_read_back(aws):
    from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason
    from chalicelib.store.suppressions import suppress, suppression_reasons

    suppress(ACCOUNT, ANN, SuppressionReason.UNSUBSCRIBED)
    suppress(ACCOUNT, ANN, SuppressionReason.BOUNCED)  # a transactional mail may no longer go (P11)
    suppress(PLATFORM_SCOPE, ANN, SuppressionReason.PLATFORM_OPT_OUT)
    assert suppression_reasons(ACCOUNT, ANN) == {"unsubscribed", "bounced", "platform_opt_out"}
    assert suppression_reasons(ACCOUNT, "bob@example.com") == set()
