"""Retrying AWS calls that were throttled, with exponential backoff and jitter.

botocore retries a throttled call a few times inside one API call, except the providers' sending
calls (chalicelib/clients.PROVIDERS), whose time must be bounded: this is the backoff for the
sending paths, where giving up means handing work back to SQS.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import ClientError

T = TypeVar("T")

# What SES v2 (TooManyRequestsException, LimitExceededException), SES v1 and SNS (Throttling)
# answer when a caller goes too fast or over a quota.
THROTTLING_CODES = frozenset({"TooManyRequestsException", "LimitExceededException", "Throttling",
                              "ThrottlingException", "ThrottledException"})


# What SES answers for a mail it will never take, however often it is asked: the From is not (or
# no longer) verified, the message is malformed, or the account's sending is "permanently
# restricted" (AccountSuspendedException); and SNS for a text it will never take (a number or
# message it does not accept: InvalidParameter, ParameterValueInvalid).
REFUSAL_CODES = frozenset({"MessageRejected", "MailFromDomainNotVerifiedException",
                           "MailFromDomainNotVerified", "BadRequestException", "InvalidParameterValue",
                           "AccountSuspendedException", "InvalidParameter", "ParameterValueInvalid"})

# What SES answers while sending is paused, for the AWS account (v2, v1) or the configuration
# set (v1): "currently paused", until SES or the operator enables it again; no mail is refused.
PAUSE_CODES = frozenset({"SendingPausedException", "AccountSendingPausedException",
                         "ConfigurationSetSendingPausedException"})


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, or of one PynamoDB wrapped (its
    `cause_response_code`), else None."""
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code")
    code = getattr(error, "cause_response_code", None)
    return code if isinstance(code, str) else None


def error_name(error: BaseException) -> str:
    """What a failure's recorded reason may say of `error`: its AWS code, else its type; never its
    message, which could quote the data that failed."""
    return error_code(error) or type(error).__name__


def is_daily_quota(error: BaseException) -> bool:
    """True for SES's answer once the account's 24-hour sending quota is used up: a throttling
    error that says "Daily message quota exceeded". It frees up as the 24 hours roll on, not
    within a backoff: SES's advice is to wait up to 10 minutes and try again."""
    message = error.response.get("Error", {}).get("Message", "") if isinstance(error, ClientError) else ""
    return is_throttling(error) and "daily message quota" in str(message).lower()


def is_sending_paused(error: BaseException) -> bool:
    """True while SES's sending is paused (PAUSE_CODES): no retry within a call can help, and
    no mail is at fault."""
    return error_code(error) in PAUSE_CODES


def is_refusal(error: BaseException) -> bool:
    """True for an error no retry can cure (REFUSAL_CODES)."""
    return error_code(error) in REFUSAL_CODES


def is_throttling(error: BaseException) -> bool:
    """True for a botocore ClientError that says "slow down"."""
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in THROTTLING_CODES


ATTEMPTS = 4
BASE_DELAY = 0.2


def longest_backoff(call_seconds: float, attempts: int = ATTEMPTS, base_delay: float = BASE_DELAY) -> float:
    """The longest `with_backoff` can take for a call that takes at most `call_seconds`: every
    attempt, and the longest wait between each two."""
    return attempts * call_seconds + sum(base_delay * 2**attempt for attempt in range(attempts - 1))


def with_backoff(call: Callable[[], T], attempts: int = ATTEMPTS, base_delay: float = BASE_DELAY,
                 sleep: Callable[[float], None] | None = None) -> T:
    """`call()`, retried while it is throttled: up to `attempts` tries, waiting about
    base_delay, 2*base_delay, ... between them. Other errors, the last throttling error, and an
    exhausted daily quota (is_daily_quota: no backoff cures it) are raised."""
    for attempt in range(attempts):
        try:
            return call()
        except ClientError as error:
            if not is_throttling(error) or is_daily_quota(error) or attempt == attempts - 1:
                raise
            (sleep or time.sleep)(base_delay * 2**attempt * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")  # the loop returns or raises
