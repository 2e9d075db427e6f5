"""An operator's reason (P33), kept in the audit log where contact data never goes (P27):
tests that bite where the mutation run of domain/contact_text.py (`python -m tests.mutation
--only chalicelib/domain/contact_text.py`) found none did. Plain calls; the CLI's refusal is
tests/test_rule_holes.py::test_p27_an_operator_reason_with_contact_data_stays_out_of_the_audit_log."""
from __future__ import annotations

import pytest

from chalicelib.domain.contact_text import contact_data_in


@pytest.mark.parametrize("reason", [
    "complaint from ann@example.com.",
    "complaint from ann@example.com...",
    "COMPLAINT FROM ANN@EXAMPLE.XX.",  # shouted, its domain ending in the letters X
    "complaint from ann@example.com!",
    "was it ann@example.com?",
    "complaint from ann@example.com\u2026",  # the ellipsis a phone's keyboard types for "..."
    "complaint from ann@example.com\u3002",  # an ideographic full stop
    "complaint from \u00abann@example.com\u00bb", "complaint from \u201eann@example.com\u201d",
    "complaint from \uff08ann@example.com\uff09",  # full-width parentheses
    "complaint from ann@example." + "a" * 63 + "!",  # the punctuation goes, not replaced: a label's most
    "spam reported by ann@example.com\u2019s recipients",  # the apostrophe word processors type
    "complaint from ann\uff20example.com",  # the full-width at sign of CJK input methods
    "complaint from ann@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com",  # a full-width domain
])
def test_p27_an_address_ending_a_sentence_is_found_and_named(reason):
    # What kind, never the value: the CLI's error repeats it.
    assert contact_data_in(reason) == "an email address"


@pytest.mark.parametrize("reason", ["ask @ the desk", "see @!", "@\u3002", "5 @ 3%"])
def test_p33_a_lone_at_sign_with_or_without_punctuation_is_no_contact_data(reason):
    assert contact_data_in(reason) is None


def test_p27_an_international_number_is_found_and_named():
    assert contact_data_in("complaint from +40 712 345 678") == "a phone number"


@pytest.mark.parametrize("reason", [
    "complaints @ 3% (AUP rule 4)",
    "spam sent as @acme_news",
    "rule 2 @ AUP",
    "ann@ example",
    "AUP 2.1: 1500 complaints in 24 hours (0.4%)",
])
def test_p33_a_reason_with_an_at_sign_or_figures_but_no_contact_data_is_accepted(reason):
    assert contact_data_in(reason) is None
