"""Fast tests for what the full mutation run at 9d24c63 found unbitten (within mutmut's 3 s)."""
from __future__ import annotations

from chalicelib.domain.phone_consent import entry_code_counter, number_code_counter


def test_p12_each_entry_and_each_number_has_its_own_code_counter_keyed_without_contact_data():
    ann = entry_code_counter("s", "acc_1", "lst_1", "ann@example.com")
    bo = entry_code_counter("s", "acc_1", "lst_1", "bo@example.com")
    assert ann.key != bo.key, "one entry's codes must not use up another's"
    assert ann.key == entry_code_counter("s", "acc_1", "lst_1", "ann@example.com").key
    assert ann.key != entry_code_counter("s", "acc_1", "lst_2", "ann@example.com").key
    one, two = number_code_counter("s", "+40712345678"), number_code_counter("s", "+40723456789")
    assert one.key != two.key and one.key == number_code_counter("s", "+40712345678").key
    assert all("@" not in key and "4071" not in key for key in (ann.key, bo.key, one.key, two.key))


def test_p07_p12_a_list_level_unsubscribe_is_found_for_that_list_only(aws):
    from chalicelib.config import hash_key
    from chalicelib.domain.suppression import SuppressionReason, address_hash
    from chalicelib.store.suppressions import suppress, suppressed_hashes

    suppress("acc_1", "ann@example.com", SuppressionReason.UNSUBSCRIBED, list_id="lst_1")
    ann = address_hash("ann@example.com", hash_key())
    assert suppressed_hashes("acc_1", [ann], "lst_1") == {ann}
    assert suppressed_hashes("acc_1", [ann], "lst_2") == set()
