"""Replies to our SMS: a STOP suppresses the number for every account that texted it (P06, P12);
HELP and START are answered (domain/sms_keywords.py), only to a number an account texted (the
program's subscribers, whom CTIA says must be answered), and never to a number of a type Tidings
does not text (premium-rate, shared-cost...: domain/subscriptions.textable_phone), whose STOP
still applies.
A reply from no phone number (a short code, a sender id) is ignored: no person's, and never texted.

Which accounts: those with a message record for the number's keyed hash, i.e. that sent it an
SMS in the last 30 days (P21), a phone confirmation code included: HELP names the account whose
code reached the number. A code goes to whatever number whoever holds an entry's link typed, so a
STOP that finds only codes also stops the number platform-wide, as one that finds no record
does. A STOP must work for at least 60 days (P07): one that finds no
record stops the number platform-wide, as SNS does for its own keywords (it adds a STOP sender to
the AWS account's opted-out list, which every SMS batch checks) but not for the other wordings
taken here ("stop all", "Stop, please"): nothing tells whose text the person answers.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.adapters import sns
from chalicelib.adapters.retries import error_code, is_refusal
from chalicelib.config import hash_key
from chalicelib.domain.clock import now
from chalicelib.domain.phone_consent import CODE_KIND
from chalicelib.domain.sms_keywords import answer_counter, answer_language, answer_text
from chalicelib.domain.sms_replies import InboundSms, Keyword, parse_inbound_sms
from chalicelib.domain.subscriptions import is_personal_phone
from chalicelib.domain.suppression import PLATFORM_SCOPE, SuppressionReason, phone_hash
from chalicelib.observability import logger
from chalicelib.store.accounts import account_names
from chalicelib.store.messages import accounts_that_messaged
from chalicelib.store.rate_limits import consume
from chalicelib.store.suppressions import suppress_hash


def apply_inbound_sms(message: str | Mapping[str, Any]) -> int:
    """Apply one inbound SMS; returns how many accounts now suppress the number (0 when it is
    suppressed platform-wide only, or the SMS is no STOP)."""
    sms = parse_inbound_sms(message)
    if sms is None:
        # Applied, not failed: a retry reads the same sender, and the record would end in the
        # dead-letter queue, sounding its alarm for a reply from no person's number.
        logger.info("inbound SMS from a short code or sender id, no phone number; ignored")
        return 0
    keyword = sms.keyword
    if keyword is None:
        logger.info("inbound SMS is no keyword; ignored")
        return 0
    hashed = phone_hash(sms.origination, hash_key())
    texted = accounts_that_messaged(hashed)
    accounts = sorted(texted)
    if keyword is Keyword.STOP:
        _stop(sms, hashed, accounts, platform_wide=all(kinds == {CODE_KIND} for kinds in texted.values()))
        return len(accounts)
    if not accounts:
        # No account texted the number: an answer would let whoever forges an origination
        # number (or a carrier that misroutes) have the platform text any number it likes.
        logger.info("keyword SMS not answered: no account texted the number",
                    extra={"keyword": keyword.value})
    elif keyword is Keyword.HELP:
        _answer(sms, keyword, account_names(accounts))
    else:
        _answer(sms, keyword, [])
    return 0


def _stop(sms: InboundSms, hashed: str, accounts: list[str], platform_wide: bool) -> None:
    """Suppress the number for `accounts`, and platform-wide when asked (no account texted it,
    or only codes); confirmed by one answer, only when this wrote a suppression: a repeated STOP
    is answered by nothing.

    A STOP that finds no account is confirmed too: its person may be a subscriber texted 30 to
    60 days ago (P07), whom CTIA says must be answered, and a forged one makes the platform
    text a number once, ever (the platform-wide suppression is written once), telling its
    holder that it was opted out."""
    written = [suppress_hash(account_id, hashed, SuppressionReason.UNSUBSCRIBED) for account_id in accounts]
    if platform_wide:
        written.append(suppress_hash(PLATFORM_SCOPE, hashed, SuppressionReason.UNSUBSCRIBED))
    logger.info("SMS opt-out applied", extra={"accounts": len(accounts), "platform_wide": platform_wide})
    if any(written):
        _answer(sms, Keyword.STOP, [])


def _answer(sms: InboundSms, keyword: Keyword, senders: list[str]) -> None:
    """Text the answer to `keyword` back, within the number's answers for the day, and only to a
    number of a type Tidings texts: a premium-rate or shared-cost one bills the platform for it."""
    if not is_personal_phone(sms.origination):
        logger.info("keyword SMS not answered: the number is premium-rate or no personal phone",
                    extra={"keyword": keyword.value})
        return
    if consume([answer_counter(hash_key(), sms.origination)], now()):
        logger.info("keyword SMS not answered: the number had its answers today",
                    extra={"keyword": keyword.value})
        return
    text = answer_text(keyword, senders, answer_language(sms.origination))
    try:
        sns.send_sms(sms.origination, text, sns.TRANSACTIONAL)
    except Exception as error:
        # A number SNS will not text fails nothing: the reply was applied, and a retry would
        # only bring the record back until the dead-letter queue. Other errors are retried.
        if not is_refusal(error):
            raise
        logger.warning("keyword SMS not answered: SNS refused it",
                       extra={"keyword": keyword.value, "error": error_code(error)})
        return
    logger.info("keyword SMS answered", extra={"keyword": keyword.value})
