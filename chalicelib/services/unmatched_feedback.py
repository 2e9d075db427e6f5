"""SES feedback acted on without counting it (P11, P12).

No message record matches: a record lives 28 days (store/messages.py) and feedback loops report
late, so a complaint or permanent bounce about an older mail still stops mail to the person, for
the account the event's tags name.

The platform's own mail (notices to an account's contact, opt-out links): a complaint or
permanent bounce stops the platform's mail to the address (PLATFORM_MAIL_SCOPE), record or not,
and touches no account's audience.

Trusting the tags that far is safe: the feedback topic accepts only SES's notifications for this
deployment's configuration set (infra/template.py, `_feedback_path`), whose tags are the ones our
senders set, and a suppression can only stop mail, never send it. Nothing is counted: without a
record the event's volume is unverified (P26), so it adds to no rate and no campaign report. Both
effects are idempotent, so a replay needs no receipt.
"""
from __future__ import annotations

from chalicelib.domain.feedback import BounceType, FeedbackEvent, FeedbackKind, tagged_mail
from chalicelib.domain.subscriptions import Status
from chalicelib.domain.suppression import PLATFORM_MAIL_SCOPE, SuppressionReason
from chalicelib.store import feedback as feedback_store
from chalicelib.store.accounts import account_exists
from chalicelib.store.suppressions import suppress


def protect_unmatched(event: FeedbackEvent, address: str) -> bool:
    """For a complaint or a permanent bounce, end the address's entry on the tagged list (when it
    is the tagged account's) and suppress the address for the tagged account; True when done.
    False, and nothing changed, for a transient bounce or tags naming no account held here. The
    platform's own mail goes to stop_platform_mail instead."""
    ending = _ending(event)
    tagged = tagged_mail(event.tags)
    if ending is None or tagged is None:
        return False
    if not account_exists(tagged.account_id):
        return False
    status, reason = ending
    if tagged.list_id:
        feedback_store.end_entry(tagged.account_id, tagged.list_id, address, status)
    suppress(tagged.account_id, address, reason)
    return True


def stop_platform_mail(event: FeedbackEvent, address: str) -> None:
    """For a complaint or a permanent bounce about the platform's own mail, refuse the platform's
    mail to the address from now on (a transient bounce changes nothing)."""
    ending = _ending(event)
    if ending is not None:
        suppress(PLATFORM_MAIL_SCOPE, address, ending[1])


def _ending(event: FeedbackEvent) -> tuple[Status, SuppressionReason] | None:
    if event.kind is FeedbackKind.COMPLAINT:
        return Status.COMPLAINED, SuppressionReason.COMPLAINED
    if event.bounce is not None and event.bounce.type is BounceType.PERMANENT:
        return Status.BOUNCED, SuppressionReason.BOUNCED
    return None
