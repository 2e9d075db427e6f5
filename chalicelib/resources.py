"""Every queue and topic the app needs, declared once (tables: store/models.ALL_MODELS).

The local stack provisions from this module (local/provision.py) and the deployment template is
built from it (infra/), so the two cannot drift apart. Names are logical; `Settings.resource_name`
adds the deployment prefix.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QueueSpec:
    """An SQS queue consumed by one `@app.on_sqs_message` handler, with its dead-letter queue."""

    logical_name: str
    # Longer than the handler's timeout, so a message is not redelivered while still in work.
    visibility_timeout_seconds: int = 60
    batch_size: int = 10

    @property
    def dead_letter_name(self) -> str:
        return f"{self.logical_name}-dlq"


# Outgoing mail and SMS jobs, consumed by the send worker.
OUTBOX = QueueSpec("outbox")
# SES events arriving through the feedback topic (consumed from the feedback issue on).
FEEDBACK = QueueSpec("feedback")

# Public signups, validated and counted by the route, applied by the signups worker (P05).
SIGNUPS = QueueSpec("signups")
# Chunks of CSV imports, consumed by the import worker (a big file must not time out a Lambda).
IMPORTS = QueueSpec("imports", visibility_timeout_seconds=180, batch_size=1)

# Open and click events from the tracking routes; the worker aggregates big batches (P13): the
# bigger the batch, the fewer counter writes per event (Lambda allows up to 10,000 a batch for a
# standard queue with a batching window; 1,000 events are well under its 6 MB payload).
TRACKING = QueueSpec("tracking", batch_size=1000)
# Mail to unsubscribe@<sender domain> that SES receiving publishes to the inbound-mail topic (P07).
INBOUND_MAIL = QueueSpec("inbound-mail")

# Campaign fan-out: one job reads one page of a list's confirmed subscribers (services/sending/fanout.py).
FANOUT = QueueSpec("fanout", batch_size=1)
# Recipient batches of a campaign (at most 100 each), sent at the shared SES rate.
CAMPAIGN_SEND = QueueSpec("campaign-send", batch_size=5)
# Inbound SMS (replies such as STOP) that SNS publishes to the inbound-SMS topic (P06, P12).
SMS_INBOUND = QueueSpec("sms-inbound")

QUEUES: tuple[QueueSpec, ...] = (OUTBOX, FEEDBACK, SIGNUPS, IMPORTS, TRACKING, INBOUND_MAIL, FANOUT,
                                 CAMPAIGN_SEND, SMS_INBOUND)

# SES configuration-set events are published here and forwarded to the feedback queue.
FEEDBACK_TOPIC = "ses-feedback"
# The SES events the configuration set publishes to that topic (SES's lowercase names). Not open
# or click: with either, SES adds its own pixel and rewrites links in every mail of the set, also
# for lists with tracking off (P15); Tidings tracks opens and clicks itself (tracking.py). Not send
# or delivery: two events a mail were most of Tidings' own AWS cost; the senders count what they
# sent, and a report derives delivered as sent minus bounced.
FEEDBACK_EVENT_TYPES: tuple[str, ...] = ("reject", "bounce", "complaint", "renderingFailure")
# An SES receipt rule's SNS action publishes received unsubscribe mail here (-> INBOUND_MAIL).
INBOUND_MAIL_TOPIC = "inbound-mail"
# Two-way SMS: the origination number's inbound messages are published here (-> SMS_INBOUND).
SMS_INBOUND_TOPIC = "sms-inbound"
TOPICS: tuple[str, ...] = (FEEDBACK_TOPIC, INBOUND_MAIL_TOPIC, SMS_INBOUND_TOPIC)
