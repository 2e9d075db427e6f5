"""Fast tests for what the mutation run of domain/addresses.py, domain/sms_encoding.py and
services/unmatched_feedback.py found unbitten (each within mutmut's 3 s budget)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.addresses import ascii_address, ascii_domain, normalise_email
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.feedback import Bounce, BounceType, FeedbackEvent, FeedbackKind
from chalicelib.domain.sms_encoding import cut_to_fit, fits


@pytest.fixture
def no_dns(monkeypatch):
    """Converting a domain is syntax: any DNS query (a deliverability check) fails the test."""
    import dns.resolver

    def refuse(*args, **kwargs):
        raise AssertionError("DNS was asked")

    monkeypatch.setattr(dns.resolver.Resolver, "resolve", refuse)


def test_p11_an_idn_domain_and_address_become_a_labels_without_asking_dns(no_dns):
    assert ascii_domain("bücher.example") == "xn--bcher-kva.example"
    assert ascii_address("bücher.example") == "xn--bcher-kva.example", "a bare domain, no @"
    assert ascii_address("ann@bücher.example") == "ann@xn--bcher-kva.example"
    assert ascii_domain("acme.example") == "acme.example"


@pytest.mark.parametrize("raw", [None, 5, ["ann@example.com"], "", "   "])
def test_p11_what_is_not_text_or_is_blank_is_a_400_naming_email_by_default(raw):
    with pytest.raises(InvalidInput) as refused:
        normalise_email(raw)
    assert refused.value.field == "email" and "must be an email address" in refused.value.message


def test_p11_a_malformed_address_names_email_by_default_and_the_given_field_otherwise():
    with pytest.raises(InvalidInput) as default:
        normalise_email("not an address")
    with pytest.raises(InvalidInput) as named:
        normalise_email("not an address", field="to")
    assert (default.value.field, named.value.field) == ("email", "to")


@pytest.mark.parametrize(("word", "mark"), [("abcd ", "..."), ("dă ", "…")], ids=["gsm7", "ucs2"])
def test_p06_a_cut_text_has_no_space_before_its_mark(word, mark):
    suffix = "\nSTOP: reply STOP"  # 17: the cut falls just after a space (1510 septets, 612 units)
    text = cut_to_fit(word * 1000, suffix)
    assert fits(text) and text.endswith(mark + suffix)
    assert not text.removesuffix(mark + suffix).endswith(" "), "the cut ends on a word, not a space"


def _event(kind: FeedbackKind, tags: dict[str, str], bounce: BounceType | None = None) -> FeedbackEvent:
    return FeedbackEvent(kind=kind, ses_message_id="0100-x", timestamp=datetime(2027, 3, 1, tzinfo=UTC),
                         recipients=("ann@example.com",), tags=tags,
                         bounce=Bounce(bounce, "General") if bounce else None)


def test_p11_p12_unmatched_feedback_protects_only_for_an_ending_event_of_an_account_held_here(aws, account):
    from chalicelib.services.unmatched_feedback import protect_unmatched, stop_platform_mail
    from chalicelib.store.suppressions import is_suppressed, refuses_platform_mail

    tags = {"account": account["account_id"], "kind": "campaign"}
    transient = _event(FeedbackKind.BOUNCE, tags, BounceType.TRANSIENT)
    assert protect_unmatched(transient, "ann@example.com") is False
    foreign = _event(FeedbackKind.COMPLAINT, {"account": "acc_" + "0" * 20, "kind": "campaign"})
    assert protect_unmatched(foreign, "ann@example.com") is False
    assert not is_suppressed(account["account_id"], "ann@example.com")
    hard = _event(FeedbackKind.BOUNCE, tags, BounceType.PERMANENT)
    assert protect_unmatched(hard, "ann@example.com") is True
    assert is_suppressed(account["account_id"], "ann@example.com")

    stop_platform_mail(transient, "bo@example.com")
    assert not refuses_platform_mail("bo@example.com")
    stop_platform_mail(hard, "bo@example.com")
    assert refuses_platform_mail("bo@example.com")
