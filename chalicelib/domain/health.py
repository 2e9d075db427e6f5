"""Account health (P26): rolling bounce and complaint rates, the thresholds, and when to suspend.

How the rates are kept: the senders add the mails they sent, and every Bounce and Complaint
adds one, to a counter of the account's UTC day (store/health.py). SES is not asked for
Send or Delivery events (two more events a mail, the larger part of Tidings' own AWS cost):
"delivered" is derived as sent minus bounced. The rates are the sums over the last `window_days`
days — or since the day an operator last lifted a suspension, when that is later, so a lifted
account is judged on its new mail only. SES judges the same way (over a representative recent
volume), and the suspension must act before SES's own review at 5% bounces / 0.1% complaints.

Pure rules; no AWS calls.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from chalicelib.domain.errors import Conflict, Forbidden, InvalidInput
from chalicelib.domain.outgoing import OutgoingEmail
from chalicelib.domain.retention import DELETION_SCHEDULED
from chalicelib.templates import DEFAULT_LANGUAGE, N_, gettext_for

ACTIVE = "active"
SUSPENDED = "suspended"
# The outbox kind of the notice; the platform's own mail to an account is never counted in the
# account's rates (see `counts_for_account`).
SUSPENSION_MAIL_KIND = "account_suspended"
# An operator ended the account for a breach of the acceptable-use rules (P33): it can export
# its data for 30 days (P22), then it is deleted.
CANCELLED = "cancelled"
OPERATOR_ACTION_MAIL_KIND = "account_operator_action"
# Mail kinds the platform sends to an account or about the platform itself (suspension notices,
# contact-email changes, platform-wide opt-out) start with these.
_PLATFORM_KIND_PREFIXES = ("account_", "platform_")


@dataclass(frozen=True)
class HealthPolicy:
    """Platform defaults (config.py reads overrides from the environment)."""

    max_complaint_rate: float = 0.001
    max_bounce_rate: float = 0.05
    # No verdict below this many mails in the window: 1 bounce of 1 mail is not a 100% rate.
    min_volume: int = 200
    window_days: int = 30
    # Transient bounces suppress an address once they reach this many within the window.
    soft_bounce_limit: int = 3
    soft_bounce_window_days: int = 7


class HealthSubject(Protocol):
    """What the rules read of an account (the store's Account model fits)."""

    status: str
    suspension_reason: str | None
    max_complaint_rate: float | None
    max_bounce_rate: float | None


@dataclass(frozen=True)
class Thresholds:
    max_complaint_rate: float
    max_bounce_rate: float
    min_volume: int


def thresholds_for(policy: HealthPolicy, account: HealthSubject) -> Thresholds:
    """The platform's thresholds, made stricter (never looser) by the account's own."""
    return Thresholds(
        max_complaint_rate=_stricter(policy.max_complaint_rate, account.max_complaint_rate),
        max_bounce_rate=_stricter(policy.max_bounce_rate, account.max_bounce_rate),
        min_volume=policy.min_volume,
    )


def _stricter(platform: float, own: float | None) -> float:
    return platform if own is None else min(platform, float(own))


def check_own_threshold(value: float, field: str) -> float:
    """An account's own limit: a rate between 0 and 1 (it can only tighten the platform's)."""
    if not 0 < value < 1:
        raise InvalidInput(f"'{field}' must be a rate between 0 and 1, e.g. 0.0005 for 0.05%", field=field)
    return value


@dataclass(frozen=True)
class DayCounts:
    """One account's counters for one UTC day."""

    day: date
    sent: int = 0
    hard_bounces: int = 0
    soft_bounces: int = 0
    complaints: int = 0


@dataclass(frozen=True)
class HealthWindow:
    """The sums over the window and the rates computed on them."""

    since: date
    sent: int
    hard_bounces: int
    soft_bounces: int
    complaints: int

    @property
    def delivered(self) -> int:
        """Sent minus bounced: a soft bounce event comes only once SES gave up retrying."""
        return max(0, self.sent - self.hard_bounces - self.soft_bounces)

    @property
    def volume(self) -> int:
        """Mails the rates are computed on: the senders count them when sending, before SES can
        report a bounce; a bounce counted first still makes the volume at least its count."""
        return max(self.sent, self.hard_bounces + self.soft_bounces)

    @property
    def bounce_rate(self) -> float:
        return self.hard_bounces / self.volume if self.volume else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.volume if self.volume else 0.0


def window_start(today: date, policy: HealthPolicy, health_since: datetime | None) -> date:
    """The first day the rates count: `window_days` back, or the day of the last lift if later."""
    start = today - timedelta(days=policy.window_days - 1)
    if health_since is not None and health_since.date() > start:
        return health_since.date()
    return start


def summarise(since: date, days: list[DayCounts]) -> HealthWindow:
    """Sum the day counters (the caller passed only days inside the window)."""
    return HealthWindow(
        since=since,
        sent=sum(d.sent for d in days),
        hard_bounces=sum(d.hard_bounces for d in days),
        soft_bounces=sum(d.soft_bounces for d in days),
        complaints=sum(d.complaints for d in days),
    )


def suspension_reason(window: HealthWindow, thresholds: Thresholds) -> str | None:
    """Why the account must stop sending, or None. A rate at its threshold has crossed it:
    Tidings acts no later than SES starts its review. Below the minimum volume there is no
    verdict."""
    if window.volume < thresholds.min_volume:
        return None
    if window.complaint_rate >= thresholds.max_complaint_rate:
        return (f"complaint rate {window.complaint_rate:.2%} over {window.volume} mails reached the "
                f"limit of {thresholds.max_complaint_rate:.2%}")
    if window.bounce_rate >= thresholds.max_bounce_rate:
        return (f"bounce rate {window.bounce_rate:.2%} over {window.volume} mails reached the "
                f"limit of {thresholds.max_bounce_rate:.2%}")
    return None


def sending_blocked_reason(account: HealthSubject) -> str | None:
    """Why this account may not send its own mail now (P26), or None when it may.

    Sending calls this before every campaign or message of the account; the platform's notices to
    the account itself (such as the suspension notice) are not the account's mail.
    """
    if account.status == ACTIVE:
        return None
    if account.status == SUSPENDED:
        detail = f": {account.suspension_reason}" if account.suspension_reason else ""
        return f"sending is suspended{detail}. Contact the operator to lift the suspension."
    return f"the account is {account.status} and cannot send"


def refuse_while_blocked(account: HealthSubject) -> None:
    """Forbidden naming `account` while the account may not send (P26): a request that would
    mail its audience (a confirmation, a transactional message, an import) is refused before
    anything is written or queued. Writes that create or change content (lists, subscribers,
    campaigns, sender identities) are refused the same way: a suspended, cancelled or
    content-erased account may read, export and delete its data, and answer people's requests,
    but nothing new may outlive the erasure of its content 30 days on (P22)."""
    blocked = sending_blocked_reason(account)
    if blocked:
        raise Forbidden(blocked, field="account")


class SignupSubject(Protocol):
    """What the signup rule reads of an account (the store's Account model fits)."""

    status: str
    deletion_state: str | None


class SignupsClosed(Conflict):
    """The list's account takes no signups now (see takes_signups). Its words are the same for
    every address and every reason: the public learns neither (P05, P33)."""

    code = "signups_closed"


SIGNUPS_CLOSED = N_("this list is not taking signups at the moment")


def takes_signups(account: SignupSubject) -> bool:
    """Whether the account's lists take people on now: new signups (form, JS, API, imports),
    their confirmation mails, and the confirmations that complete them — a pending signup, a
    signup back (P12), a phone number's code (P01), a tracking consent (P30).

    Only an active account that is not marked for deletion does. A suspended (P26, P33) account
    sends no confirmation mail and would keep no one past the erasure of its content (P22); a
    cancelled one is leaving (P33); one marked for deletion (P23) is leaving unless it is
    reactivated, and would delete the new person with everything else within 30 days (it may
    still send to the people it has: sending_blocked_reason does not read the mark).
    Reinstated, it takes them again, with the links it mailed before. What people do to leave or
    to learn what is held (unsubscribing, withdrawing consent, access, export, rectification,
    erasure, opt-outs) never asks this (P07, P12, P16-P18, P30)."""
    return account.status == ACTIVE and account.deletion_state != DELETION_SCHEDULED


def refuse_unless_taking_signups(account: SignupSubject) -> None:
    """SignupsClosed (409, naming `list_id`) unless the account takes signups now."""
    if not takes_signups(account):
        raise SignupsClosed(SIGNUPS_CLOSED, field="list_id")


def counts_for_account(mail_kind: str | None) -> bool:
    """True when a mail of this kind is the account's own mail to its audience, so its feedback
    counts toward the account's rates and suppressions."""
    return not (mail_kind or "").startswith(_PLATFORM_KIND_PREFIXES)


def suspension_notice(recipient: str, sender: str, account_name: str, reason: str,
                      language: str = DEFAULT_LANGUAGE, reply_to: str | None = None) -> OutgoingEmail:
    """The mail that tells the account's contact that sending was suspended, and why, in the
    account's language (P32; the measured reason stays as measured). It asks for a reply: give
    the operator's address as `reply_to`."""
    _ = gettext_for(language)
    text = "\n\n".join([
        _("Hello,"),
        _("sending for the account %(account)s has been suspended: %(reason)s.")
        % {"account": account_name, "reason": reason},
        _("Mailbox providers and Amazon SES treat high bounce and complaint rates as a sign of "
          "unwanted mail, and they would block sending for everyone on this platform. Please check "
          "where the addresses on your lists came from (only people who confirmed their signup "
          "belong there), remove addresses that bounce, and reply to this message so an operator can "
          "review the account and lift the suspension."),
        _suspended_content(_),
        _("The mailing platform"),
    ]) + "\n"

    return OutgoingEmail(sender=sender, recipient=recipient,
                         subject=_("Sending suspended for %(account)s") % {"account": account_name},
                         text=text, reply_to=reply_to)


def _suspended_content(_: Callable[[str], str]) -> str:
    """What a suspended account keeps, for how long, and how to take it (P22): the same words in
    the rate suspension's notice and the operator's."""
    return " ".join([
        _("Your lists, subscribers and reports stay available while sending is suspended. If the "
          "suspension lasts 30 days, the account's content is erased."),
        _("Until then, the account can export its data (GET /v1/account/export) and the unsubscribe "
          "requests it received (GET /v1/account/unsubscribes)."),
    ])


def operator_action_notice(recipient: str, sender: str, account_name: str, action: str, reason: str,
                           deletion_due: str | None = None,
                           language: str = DEFAULT_LANGUAGE, reply_to: str | None = None) -> OutgoingEmail:
    """The mail that tells the account an operator suspended or cancelled it, and why (P33), in
    the account's language (P32; the operator's reason in the operator's words). Replies go to
    `reply_to`, the operator's address."""
    _ = gettext_for(language)
    cancelled = action == "cancelled"
    values = {"account": account_name, "reason": reason, "date": deletion_due}
    ending = (_("The account can still sign in to the API until %(date)s to export its data "
                "(GET /v1/account/export) and the unsubscribe requests it received "
                "(GET /v1/account/unsubscribes); then it is deleted.") if deletion_due else
              _suspended_content(_))
    what = (_("an operator of the mailing platform has cancelled the account %(account)s for a breach "
              "of the acceptable-use rules.") if cancelled else
            _("an operator of the mailing platform has suspended the account %(account)s for a breach "
              "of the acceptable-use rules."))
    text = "\n\n".join([
        _("Hello,"), what % values, _("The reason given: %(reason)s") % values, ending % values,
        _("Reply to this message if you believe this is a mistake."), _("The mailing platform"),
    ]) + "\n"
    subject = (_("Your account %(account)s has been cancelled") if cancelled
               else _("Your account %(account)s has been suspended"))

    return OutgoingEmail(sender=sender, recipient=recipient, subject=subject % values, text=text,
                         reply_to=reply_to)


def operator_action_message_id(account_id: str, action: str, at: datetime) -> str:
    seed = f"operator|{account_id}|{action}|{at.isoformat()}"
    return f"opr_{hashlib.sha256(seed.encode('utf-8')).hexdigest()[:40]}"


def suspension_message_id(account_id: str, health_since: datetime | None) -> str:
    """The notice's outbox id. Each suspension follows a different lift (or none yet), so the id
    is the same for one suspension however often it is decided, and the notice is sent once."""
    seed = f"suspension|{account_id}|{health_since.isoformat() if health_since else 'never-lifted'}"
    return f"sus_{hashlib.sha256(seed.encode('utf-8')).hexdigest()[:40]}"


def soft_bounce_days(today: date, policy: HealthPolicy) -> list[date]:
    """The days whose transient-bounce counters are summed for one address."""
    return [today - timedelta(days=offset) for offset in range(policy.soft_bounce_window_days)]
