"""Test sends: a campaign rendered for a sample subscriber and sent to a few addresses or numbers
(POST /v1/campaigns/{id}/test). Apart from starting (services/sending/start.py), which the
scheduler runs every minute: it never composes or sends a mail itself.
"""
from __future__ import annotations

from dataclasses import replace

from chalicelib.adapters import sns
from chalicelib.adapters.sqs import enqueue
from chalicelib.config import hash_key, settings, signer
from chalicelib.domain.addresses import normalise_email
from chalicelib.domain.campaigns import CampaignContent, Channel
from chalicelib.domain.clock import now
from chalicelib.domain.errors import Conflict, InvalidInput, Unprocessable
from chalicelib.domain.ids import new_id
from chalicelib.domain.marketing_mail import ListSettings, compose_marketing_email
from chalicelib.domain.outbox import EmailJob, refuse_oversized
from chalicelib.domain.sending import TEST_KIND, TESTS_PER_DAY, blocking_suppression, daily_tests
from chalicelib.domain.sms import compose_sms
from chalicelib.domain.subscriptions import textable_phone
from chalicelib.domain.suppression import address_hash, phone_hash
from chalicelib.domain.templates import SAMPLE_CONTACT
from chalicelib.resources import OUTBOX
from chalicelib.services.sending.start import check_account_may_send
from chalicelib.services.sending.step import Message, MessageFailed, send_message
from chalicelib.store import messages
from chalicelib.store.accounts import get_account, profile_of
from chalicelib.store.campaigns import campaign_content, get_campaign
from chalicelib.store.models import Account
from chalicelib.store.rate_limits import consume_or_refuse
from chalicelib.store.suppressions import suppressed_hashes, suppression_reasons


def send_test(account_id: str, campaign_id: str, recipients: list[str]) -> list[str]:
    """Send the campaign, rendered for a sample subscriber, to these addresses (or numbers, for
    SMS) only: kind "test", counted in no report, with the unsubscribe parts and footer (P06,
    P08). Returns the message ids. Conflict naming `addresses`, with nothing queued, when one of
    them is suppressed (P12); for SMS, each number once, and TooManyRequests past the account's
    TEST_TEXTS_PER_DAY."""
    campaign = get_campaign(account_id, campaign_id)
    content = campaign_content(campaign)
    account = get_account(account_id)
    mailing_list = check_account_may_send(account, content)
    list_id = mailing_list.list_id
    sample = replace(SAMPLE_CONTACT, attributes={
        name: f"sample {name}" for name in sorted(mailing_list.declared_attributes or ())})
    # Tracking off and no campaign in the links: a test open, click or unsubscribe counts nowhere.
    settings_ = ListSettings(list_id=list_id, name=mailing_list.name, track_opens=False, track_clicks=False)
    if content.channel is Channel.SMS:
        numbers = _test_numbers(recipients)
        _refuse_suppressed_numbers(account_id, numbers)
        _count_tests(account_id, Channel.SMS, len(numbers))
        return [_test_sms(account, content, settings_, number, index) for number, index in numbers.items()]
    addresses = _test_addresses(recipients)
    _refuse_suppressed(account_id, list_id, addresses)
    jobs = []
    for address in addresses:
        recipient = replace(sample, email=address)
        mail = compose_marketing_email(signer=signer(), account_id=account_id, campaign_id=None,
                                       content=content,
                                       recipient=recipient, mailing_list=settings_,
                                       sender=profile_of(account), public_base_url=settings().public_base_url)
        job = EmailJob(new_id("msg"), account_id, TEST_KIND, replace(mail, subject=f"[Test] {mail.subject}"))
        refuse_oversized(job)  # campaign content: before any of the test's mails is queued
        jobs.append(job)
    _count_tests(account_id, Channel.EMAIL, len(jobs))  # a refused test spends none of the day's
    for job in jobs:
        enqueue(OUTBOX, job.to_dict())
    return [job.message_id for job in jobs]


def _test_addresses(recipients: list[str]) -> dict[str, int]:
    """{normalised address: its index in the request}, each address once however it was typed
    (`Ann@Example.com` and `ann@example.com` are one inbox, mailed once)."""
    addresses: dict[str, int] = {}
    for index, raw in enumerate(recipients):
        addresses.setdefault(normalise_email(raw, field="addresses", mailable=True), index)
    return addresses


def _refuse_suppressed(account_id: str, list_id: str, addresses: dict[str, int]) -> None:
    # The whole test is refused, as /v1/messages refuses its one address: a test that reached
    # some of its addresses would look like it reached them all. The send worker checks again.
    # An unsubscribe from the list the test is rendered for (its footer, its unsubscribe link)
    # holds too: that list's mail never goes to them (P12).
    key = hash_key()
    left_list = suppressed_hashes(account_id, [address_hash(address, key) for address in addresses], list_id)
    for address, index in addresses.items():
        reason = blocking_suppression(TEST_KIND, suppression_reasons(account_id, address))
        if not reason and address_hash(address, key) in left_list:
            reason = "unsubscribed from the list"
        if reason:
            raise Conflict(f"addresses[{index}] is suppressed ({reason}): a test is campaign mail, "
                           "never sent to a suppressed address (P12)", field="addresses")


def _test_numbers(recipients: list[str]) -> dict[str, int]:
    """{number in E.164: its index in the request}, each number once however it was typed
    ("+40 712 345 678" and "+40712345678" are one phone, texted once). InvalidInput naming the
    request's field, `addresses`, and which of them is not a number."""
    numbers: dict[str, int] = {}
    for index, raw in enumerate(recipients):
        try:
            numbers.setdefault(textable_phone(raw), index)
        except InvalidInput:
            raise InvalidInput(f"addresses[{index}] is not a valid phone number; use the international "
                               "form, e.g. +40 712 345 678", field="addresses") from None
    return numbers


def _refuse_suppressed_numbers(account_id: str, numbers: dict[str, int]) -> None:
    # A number that replied STOP, or was erased, in the account or platform-wide, or that SNS
    # holds opted out (a STOP to any of this AWS account's texts): as for an address, the whole
    # test is refused (P12), in the same words whatever opted it out: which one would tell a
    # tenant that the number replied STOP to another tenant's texts.
    key = hash_key()
    hashes = {phone_hash(number, key): index for number, index in numbers.items()}
    suppressed = suppressed_hashes(account_id, hashes)
    refused = next((index for hashed, index in hashes.items() if hashed in suppressed), None)
    if refused is None:
        refused = next((index for number, index in numbers.items() if sns.is_opted_out(number)), None)
    if refused is not None:
        raise Conflict(f"addresses[{refused}] is suppressed: a test is campaign mail, never sent to a "
                       "number that opted out (P12)", field="addresses")


def _count_tests(account_id: str, channel: Channel, count: int) -> None:
    """Count `count` tests against the account's day on `channel`; TooManyRequests, nothing
    sent, when they would pass TESTS_PER_DAY."""
    what = "texts" if channel is Channel.SMS else "emails"
    consume_or_refuse([daily_tests(account_id, channel)], now(),
                      f"an account may send {TESTS_PER_DAY[channel]} test {what} a day; these "
                      f"{count} would pass it", amount=count, field="addresses")


def _test_sms(account: Account, content: CampaignContent, mailing_list: ListSettings, phone: str,
              index: int) -> str:
    """Text one test and return its message id. It goes by the campaign's route (Promotional:
    it is marketing, and shows what the campaign's recipients will get) and is recorded like a
    campaign text (kind "test", erased after 30 days, P21), so a STOP reply to it suppresses the
    number for the account (services/sms_inbound.py) and the next test is refused. Unprocessable
    naming `addresses` when SNS refuses it or keeps failing: the request is its only attempt."""
    text = compose_sms(signer=signer(), account_id=account.account_id, campaign_id=None, content=content,
                       recipient=replace(SAMPLE_CONTACT, phone=phone), list_id=mailing_list.list_id,
                       list_name=mailing_list.name, account_name=account.name,
                       public_base_url=settings().public_base_url, language=mailing_list.language)
    recipient_hash, message_id = phone_hash(phone, hash_key()), new_id("msg")
    purge_list = messages.list_for_purge(account.account_id, {message_id: recipient_hash})
    try:
        send_message(Message(recipient_hash, message_id, account.account_id, TEST_KIND, build=lambda: text,
                             deliver=lambda built: sns.send_sms(phone, built, sns.PROMOTIONAL),
                             purge_list=purge_list), None,
                     last_attempt=True)
    except MessageFailed as failure:
        sent_before = "; the numbers before it were" if index else ""
        raise Unprocessable(f"addresses[{index}] was not texted: {failure.reason}{sent_before}",
                            field="addresses") from None
    return message_id
