"""Operator commands.

    python -m chalicelib.cli account create --name "Acme" [--postal-address ...]
        [--contact-email ...] [--sender-identity ...]

Creates an account and its first full-access key, and prints them as JSON (the secret only now).

    python -m chalicelib.cli account suspend --account-id acc_... --reason "..."
    python -m chalicelib.cli account cancel --account-id acc_... --reason "..."

Suspends sending, or cancels the account (it may export its data for 30 days, then it is deleted),
for a breach of the acceptable-use rules (P33): the reason is mailed to the account and audited.
An account with no address to mail is not told: the output says `"notified": false`, with a
warning on stderr, and the exit status is still 0 (the action was done).

    python -m chalicelib.cli account unsuspend --account-id acc_...
    python -m chalicelib.cli account health-limits --account-id acc_... [--max-complaint-rate 0.0005]
        [--max-bounce-rate 0.02]

Lifts a suspension (P26; the rates are judged afresh from now), or gives an account stricter
bounce/complaint limits than the platform's. Both are audited.

    python -m chalicelib.cli purge [--dry-run]

Runs the daily retention purge now (P21-P25), or with --dry-run prints what it would remove:
counts per kind, never contact data.

    python -m chalicelib.cli smoke [--account-id acc_...] [--timeout 300]

After a deployment: sends to SES's mailbox simulator (bounce and complaint), waits for both to come
back through SNS, SQS and the feedback worker, checks the purge's last run, and prints what it
found (exit status 1 when a check failed). Without --account-id it creates a smoke account.
Uses the same environment as the app (AWS_ENDPOINT_URL for the local stack).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import Any

from chalicelib.config import settings
from chalicelib.domain.accounts import clean_profile_changes
from chalicelib.domain.errors import InvalidInput, TidingsError
from chalicelib.domain.ids import is_id
from chalicelib.domain.keys import Scope
from chalicelib.services.health import cancel_by_operator, set_own_thresholds, suspend_by_operator, unsuspend
from chalicelib.services.retention import run_purges
from chalicelib.services.senders import adopt_sender, register_operator_sender
from chalicelib.services.smoke import run_smoke
from chalicelib.store import audit
from chalicelib.store.accounts import create_account
from chalicelib.store.binding import bind_models
from chalicelib.store.keys import create_key


def create_account_with_key(name: str, profile: dict[str, str]) -> dict[str, Any]:
    """Create an account and its first full-access key; returns ids and the key's secret."""
    cleaned = clean_profile_changes({"name": name, **profile})
    account = create_account(cleaned.pop("name"), **cleaned)
    if cleaned.get("sender_identity"):
        # The operator vouches for the account's first From: it becomes the account's sender
        # identity (P35), created in SES, whose own verification still applies.
        register_operator_sender(account.account_id, cleaned["sender_identity"])
    key, secret = create_key(account.account_id, "first key", Scope.FULL)
    audit.record(account.account_id, "operator", "account.created", account.account_id)
    audit.record(account.account_id, "operator", "key.created", key.key_id)
    return {"account_id": account.account_id, "key_id": key.key_id, "api_key": secret}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    account = commands.add_parser("account", help="manage accounts")
    account_commands = account.add_subparsers(dest="action", required=True)
    create = account_commands.add_parser("create", help="create an account and its first key")
    create.add_argument("--name", required=True)
    create.add_argument("--postal-address")
    create.add_argument("--contact-email")
    create.add_argument("--sender-identity")
    for action, text in (("suspend", "suspend sending for a breach of the acceptable-use rules (P33)"),
                         ("cancel", "cancel the account for a breach of the acceptable-use rules: "
                                    "it can export its data for 30 days, then it is deleted (P33)")):
        command = account_commands.add_parser(action, help=text)
        command.add_argument("--account-id", required=True)
        command.add_argument("--reason", required=True,
                             help="why, in one line; mailed to the account and kept in its audit log "
                                  "(name the rule broken: an email address or a phone number is refused)")
    adopt = account_commands.add_parser(
        "adopt-sender", help="give an account an identity SES already has, keeping its verification "
                             "(stacks deployed before identities were owned per account, P35)")
    adopt.add_argument("--account-id", required=True)
    adopt.add_argument("--identity", required=True, help="an address or a domain")
    lift = account_commands.add_parser("unsuspend", help="lift a sending suspension (P26)")
    lift.add_argument("--account-id", required=True)
    limits = account_commands.add_parser("health-limits",
                                         help="stricter bounce/complaint limits for one account")
    limits.add_argument("--account-id", required=True)
    limits.add_argument("--max-complaint-rate", type=float)
    limits.add_argument("--max-bounce-rate", type=float)
    purge = commands.add_parser("purge", help="run the retention purge (P21-P25)")
    purge.add_argument("--dry-run", action="store_true", help="count what would go; change nothing")
    smoke = commands.add_parser("smoke", help="check a deployment end to end (SES simulator, purge)")
    smoke.add_argument("--account-id", help="the account to send as (default: a new smoke account)")
    smoke.add_argument("--timeout", type=_seconds(allow_zero=True), default=300,
                       help="seconds to wait for the feedback")
    smoke.add_argument("--poll-seconds", type=_seconds(allow_zero=False), default=5,
                       help="seconds between checks")
    commands.add_parser("data-map", help="what is held, where and for how long, as Markdown (P34)")
    return parser


def _seconds(allow_zero: bool) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds, at least zero (or above it). NaN or infinity
    would wait forever, a negative one fail after the smoke mails had gone, a zero poll spin."""
    def parse(text: str) -> float:
        value = float(text)
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            raise ValueError(text)
        return value

    parse.__name__ = "seconds"  # argparse names the type in its message: "invalid seconds value"
    return parse


def _check_account_id(args: argparse.Namespace) -> None:
    """InvalidInput unless `--account-id`, where a command takes one, has the shape of an
    account id: an empty or malformed one would reach DynamoDB as a bad key (a traceback) or,
    as a non-key value, be recorded as an owner (adopt-sender)."""
    account_id = getattr(args, "account_id", None)
    if account_id is not None and not is_id(account_id, "acc"):
        raise InvalidInput("'--account-id' must be an account id: acc_ and 20 hex digits", field="account_id")


def _run(args: argparse.Namespace) -> dict[str, Any]:
    _check_account_id(args)
    if args.command == "smoke":
        return run_smoke(args.account_id, args.timeout, args.poll_seconds).to_dict()
    if args.command == "purge":
        report = run_purges(dry_run=args.dry_run)
        return {"dry_run": report.dry_run, "counts": report.counts, "complete": report.complete}
    if args.action in ("suspend", "cancel"):
        act = suspend_by_operator if args.action == "suspend" else cancel_by_operator
        account, notified = act(args.account_id, args.reason)
        return {"account_id": account.account_id, "status": account.status,
                "deletion_due_at": account.deletion_due_at.isoformat() if account.deletion_due_at else None,
                "notified": notified}
    if args.action == "adopt-sender":
        return adopt_sender(args.account_id, args.identity)
    if args.action == "unsuspend":
        account = unsuspend(args.account_id)
        return {"account_id": account.account_id, "status": account.status}
    if args.action == "health-limits":
        set_own_thresholds(args.account_id, args.max_complaint_rate, args.max_bounce_rate)
        return {"account_id": args.account_id, "max_complaint_rate": args.max_complaint_rate,
                "max_bounce_rate": args.max_bounce_rate}
    profile = {
        name: value
        for name, value in {
            "postal_address": args.postal_address,
            "contact_email": args.contact_email,
            "sender_identity": args.sender_identity,
        }.items()
        if value
    }
    return create_account_with_key(args.name, profile)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "data-map":  # from the code alone: no AWS call
        from chalicelib.store.data_map import render_markdown

        print(render_markdown(settings().region, settings().resource_prefix), end="")
        return 0
    bind_models(settings())
    try:
        result = _run(args)
    except TidingsError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    if result.get("notified") is False:
        # The action stands (exit 0: repeating it would be refused), but P33 wants the account
        # told why, so the operator must do it another way.
        print("warning: the account was not told why: it has no contact email or sender identity "
              "to mail (P33); tell it another way", file=sys.stderr)
    return 1 if result.get("ok") is False else 0


if __name__ == "__main__":
    sys.exit(main())
