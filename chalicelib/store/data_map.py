"""What is held, where and for how long, read from the code itself (P34).

The map is built from the registries the erasure and purge tests already force to be complete
(store/person_data.COVERAGE: personal data or not, which fields, how long, what erases it;
store/account_data.ACCOUNT_TABLES: what goes with an account), the models' own attributes and
TTL, the daily purge's kinds, and resources.py's queues and topics. A table, field, queue or
purge added without its line here fails tests/test_data_map.py, and docs/DATA_MAP.md is this
module's output, kept current by the same test: the map cannot drift from the code.
"""
from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import TTLAttribute

from chalicelib.domain.retention import PurgeKind
from chalicelib.resources import QUEUES, TOPICS
from chalicelib.store.account_data import ACCOUNT_TABLES, AccountItems
from chalicelib.store.models import (
    ALL_MODELS,
    Account,
    ApiKey,
    Campaign,
    MailingList,
    MessagePurgeList,
    MessageRecord,
    PrivacyExport,
    RateCounter,
    Subscriber,
    TidingsModel,
    TrackingMarker,
)
from chalicelib.store.person_data import COVERAGE, KeyedHashesOnly, PersonalData

# The tables each step of the daily purge (services/retention.py) deletes from.
DAILY_PURGE: dict[PurgeKind, tuple[type[TidingsModel], ...]] = {
    PurgeKind.MESSAGES: (MessageRecord, MessagePurgeList, TrackingMarker),
    PurgeKind.PENDING_SIGNUPS: (Subscriber,),
    PurgeKind.ENDED_ENTRIES: (Subscriber,),
    PurgeKind.RATE_COUNTERS: (RateCounter,),
    PurgeKind.PRIVACY_EXPORTS: (PrivacyExport,),
    PurgeKind.SUSPENDED_CONTENT: tuple(model for model, coverage in ACCOUNT_TABLES.items()
                                       if isinstance(coverage, AccountItems) and coverage.content),
    PurgeKind.DELETED_ACCOUNTS: (Account,),
    PurgeKind.INACTIVITY_WARNINGS: (),
    PurgeKind.INACTIVE_ACCOUNTS: (Account,),
}
# Tables whose rows an account's own API calls delete (DELETE routes, key revocation).
_DELETED_BY_API = {Subscriber: "DELETE /v1/lists/{id}/subscribers/{email}, DELETE /v1/lists/{id}",
                   MailingList: "DELETE /v1/lists/{id}", Campaign: "DELETE /v1/campaigns/{id}",
                   ApiKey: "DELETE /v1/keys/{id}"}

# What each queue carries while a message waits (SQS keeps at most 14 days; a message is deleted
# once handled, or kept in the dead-letter queue for inspection for the same time).
QUEUE_CONTENTS: dict[str, str] = {
    "outbox": "mails and SMS waiting to be sent: recipient address or number, content",
    "feedback": "SES bounce and complaint events: the recipient's address",
    "signups": "public signups being applied: contact data, consent proof (IP, user agent)",
    "imports": "chunks of CSV imports: contact data and consent proof",
    "tracking": "open and click events: the recipient's address, country, viewer class (never the IP)",
    "inbound-mail": "mail to unsubscribe@ (mailto unsubscribe): the sender's address and subject",
    "fanout": "campaign page jobs: list and campaign ids, a paging key (an address)",
    "campaign-send": "campaign batches: each recipient's contact data",
    "sms-inbound": "SMS replies (STOP, HELP, START): the sender's number and text",
}
TOPIC_CONTENTS: dict[str, str] = {
    "ses-feedback": "SES events to the feedback queue: the recipient's address",
    "inbound-mail": "received unsubscribe mail to the inbound-mail queue",
    "sms-inbound": "SMS replies to the sms-inbound queue: the number and text",
}
# The AWS services that process data (the deployment's sub-processors), all in one region.
SERVICES: tuple[tuple[str, str], ...] = (
    ("Amazon DynamoDB", "every table below, encrypted at rest, point-in-time recovery (35 days)"),
    ("Amazon SQS", "the queues below: data in transit between functions, encrypted at rest"),
    ("Amazon SNS", "the topics below, and outgoing SMS (the recipient's number and text)"),
    ("Amazon SES", "outgoing mail (recipient address, content), received unsubscribe mail, and the "
     "accounts' sender identities (an address or a domain), deleted with the identity or the account"),
    ("AWS Lambda", "runs every function; holds data only while handling a request or message"),
    ("Amazon API Gateway and Lambda function URLs", "HTTP requests: the client IP, used for abuse "
     "limits and the consent proof or the country, never logged or kept otherwise"),
    ("Amazon CloudWatch Logs and Metrics", "logs and metrics: ids and counts only, never contact data"),
    ("AWS Secrets Manager", "the link-signing keys and the hash key; no personal data"),
    ("Amazon EventBridge", "the schedules; no personal data"),
)


@dataclass(frozen=True)
class TableEntry:
    """One table of the map."""

    name: str
    holds: str
    fields: tuple[str, ...]
    personal_fields: tuple[str, ...]
    retention: str
    erased_by: tuple[str, ...]


def _holds(coverage: object) -> str:
    if isinstance(coverage, PersonalData):
        return "personal data"
    if isinstance(coverage, KeyedHashesOnly):
        return "keyed hashes only (pseudonymous)"
    return "no list member's data"


def _fields(model: type[TidingsModel]) -> tuple[str, ...]:
    return tuple(sorted(model.get_attributes()))


def _ttl(model: type[TidingsModel]) -> str | None:
    return next((name for name, attribute in model.get_attributes().items()
                 if isinstance(attribute, TTLAttribute)), None)


def _erased_by(model: type[TidingsModel]) -> tuple[str, ...]:
    coverage, account = COVERAGE[model], ACCOUNT_TABLES[model]
    ways: list[str] = []
    if isinstance(coverage, PersonalData) or (isinstance(coverage, KeyedHashesOnly) and coverage.erase):
        ways.append("the person's erasure request (P18)")
    kinds = expiry_purges(model)
    if kinds:
        ways.append("the daily purge (" + ", ".join(kinds) + ")")
    if isinstance(account, AccountItems):
        if account.content:
            ways.append("the account's content purge, 30 days into a suspension (P22)")
        ways.append("the account's deletion (P23, P24)")
    else:
        ways.append(f"not per account: {account.reason}")
    if model in _DELETED_BY_API:
        ways.append(f"the account's own API ({_DELETED_BY_API[model]})")
    ttl = _ttl(model)
    if ttl and kinds:
        ways.append(f"DynamoDB TTL on `{ttl}` (the backstop)")
    elif ttl:
        # TTL deletes "typically within a few days" of expiry: the period above is when it
        # expires, not when it is gone.
        ways.append(f"DynamoDB TTL on `{ttl}` alone, typically within two days after it passes "
                    "(no purge deletes it sooner)")
    return tuple(ways)


def expiry_purges(model: type[TidingsModel]) -> list[str]:
    """The daily purge's steps that delete the table's items when they are due (not the
    account purges, which delete an account's whole content)."""
    return [kind.value for kind, models in DAILY_PURGE.items()
            if model in models and kind not in (PurgeKind.SUSPENDED_CONTENT, PurgeKind.DELETED_ACCOUNTS,
                                                PurgeKind.INACTIVE_ACCOUNTS)]


def table_entries(resource_prefix: str = "tidings") -> list[TableEntry]:
    """Every table, as the map shows it."""
    entries = []
    for model in ALL_MODELS:
        coverage = COVERAGE[model]
        personal = coverage.fields if isinstance(coverage, PersonalData | KeyedHashesOnly) else ()
        entries.append(TableEntry(
            name=f"{resource_prefix}-{model.Meta.logical_name}", holds=_holds(coverage),
            fields=_fields(model), personal_fields=tuple(personal), retention=coverage.retention,
            erased_by=_erased_by(model)))
    return entries


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(region: str, resource_prefix: str = "tidings") -> str:
    """The data map as Markdown (docs/DATA_MAP.md)."""
    lines = [
        "# Data map (P34)",
        "",
        "What Tidings holds, where, for how long, and what erases it. Generated from the code by",
        "`python -m chalicelib.cli data-map` (`make data-map` writes this file); tests/test_data_map.py",
        "fails when this file and the code disagree. Do not edit it by hand.",
        "",
        f"Region: every table, queue, topic and function below is in one AWS region, the deployment's "
        f"(`{region}` for this map; set by the stack's region). Nothing is copied to another region.",
        "",
        "## Tables (Amazon DynamoDB)",
        "",
        "| table | holds | personal fields | retention | erased by |",
        "|---|---|---|---|---|",
    ]
    entries = table_entries(resource_prefix)
    for entry in entries:
        lines.append(f"| `{entry.name}` | {entry.holds} | "
                     f"{', '.join(f'`{name}`' for name in entry.personal_fields) or '—'} | "
                     f"{_cell(entry.retention)} | {_cell('; '.join(entry.erased_by))} |")
    lines += ["", "### Fields of each table", ""]
    for entry in entries:
        lines.append(f"- `{entry.name}`: {', '.join(f'`{name}`' for name in entry.fields)}")
    lines += ["", "## Queues (Amazon SQS; each with a dead-letter queue)", "",
              "| queue | carries |", "|---|---|"]
    lines += [f"| `{resource_prefix}-{queue.logical_name}` | {QUEUE_CONTENTS[queue.logical_name]} |"
              for queue in QUEUES]
    lines += ["", "## Topics (Amazon SNS)", "", "| topic | carries |", "|---|---|"]
    lines += [f"| `{resource_prefix}-{topic}` | {TOPIC_CONTENTS[topic]} |" for topic in TOPICS]
    lines += ["", "## AWS services that process data (sub-processors)", "", "| service | what |", "|---|---|"]
    lines += [f"| {service} | {what} |" for service, what in SERVICES]
    return "\n".join(lines) + "\n"

