"""Every queue, topic and secret the app needs, declared once (tables: store/models.ALL_MODELS;
functions: functions.py).

The local stack provisions from this module (local/provision.py) and the deployment template is
built from it (infra/), so the two cannot drift apart. Names are logical; `Settings.resource_name`
adds the deployment prefix.
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.queue_size import QUEUE_MESSAGE_MAX_BYTES


@dataclass(frozen=True)
class QueueSpec:
    """An SQS queue consumed by one handler (an `@app.on_sqs_message` trigger, or a scheduled
    drain), with its dead-letter queue. How it is consumed (batch size, window, concurrency) is its
    consumer's declaration in functions.py, and so is its visibility timeout, which follows that
    function's timeout."""

    logical_name: str

    @property
    def dead_letter_name(self) -> str:
        return f"{self.logical_name}-dlq"

    @property
    def max_message_bytes(self) -> int:
        """The queue's MaximumMessageSize, which the code that queues jobs measures against."""
        return QUEUE_MESSAGE_MAX_BYTES

    @property
    def retention_seconds(self) -> int:
        """How long the queue keeps a message nobody took: a week (SQS's default is 4 days), so a
        consumer that stops over a long weekend loses no opt-out, complaint or STOP reply before
        its age alarm is answered (infra/template.py), and a message moved to the dead-letter
        queue late still has a week there of the 14 days it keeps them."""
        return 7 * 24 * 3600

    @property
    def visibility_timeout_seconds(self) -> int:
        """6 x its consumer's timeout + batching window (AWS's advice for Lambda triggers)."""
        from chalicelib.functions import consumer_of  # functions.py imports this module

        return consumer_of(self).queue_visibility_timeout_seconds

    @property
    def batch_size(self) -> int:
        """How many messages its consumer takes at once."""
        from chalicelib.functions import consumer_of

        return consumer_of(self).batch_size


# Outgoing mail and SMS jobs, consumed by the send worker.
OUTBOX = QueueSpec("outbox")
# SES events arriving through the feedback topic (consumed from the feedback issue on).
FEEDBACK = QueueSpec("feedback")

# Public signups, validated and counted by the route, applied by the signups worker (P05).
SIGNUPS = QueueSpec("signups")
# Chunks of CSV imports, consumed by the import worker (a big file must not time out a Lambda).
IMPORTS = QueueSpec("imports")

# Open and click events from the tracking routes; the worker drains it every 4 minutes and counts
# what it finds in big batches (P13).
TRACKING = QueueSpec("tracking")
# Mail to unsubscribe@<sender domain> that SES receiving publishes to the inbound-mail topic (P07).
INBOUND_MAIL = QueueSpec("inbound-mail")

# Campaign fan-out: one job reads one page of a list's confirmed subscribers (services/sending/fanout.py).
FANOUT = QueueSpec("fanout")
# Recipient batches of a campaign (at most 100 each), sent at the shared SES rate.
CAMPAIGN_SEND = QueueSpec("campaign-send")
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

# Secrets Manager secrets, read at run time (config.py) and never put in an environment variable;
# deployed as `<prefix>/<name>` (Settings.secret_name).
# A JSON list of link-signing keys, newest first: the first signs, any verifies (rotation).
SIGNING_KEYS_SECRET = "signing-secrets"
# The key of every keyed hash of an address or phone (suppressions, P18): never rotated, since
# suppressions are found by it.
HASH_KEY_SECRET = "suppression-secret"
SECRETS: tuple[str, ...] = (SIGNING_KEYS_SECRET, HASH_KEY_SECRET)
