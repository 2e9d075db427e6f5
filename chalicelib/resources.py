"""Every AWS resource the app needs, declared once.

The local stack provisions from this module (store/provision.py) and the deployment template is
built from it (infra/), so the two cannot drift apart. Names are logical; `Settings.resource_name`
adds the deployment prefix.
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.store.models import ALL_MODELS, TidingsModel


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

QUEUES: tuple[QueueSpec, ...] = (OUTBOX, FEEDBACK, SIGNUPS, IMPORTS)

# SES configuration-set events are published here and forwarded to the feedback queue.
FEEDBACK_TOPIC = "ses-feedback"
# The SES events the configuration set publishes to that topic (SES's lowercase names).
FEEDBACK_EVENT_TYPES: tuple[str, ...] = (
    "send", "reject", "bounce", "complaint", "delivery", "open", "click", "renderingFailure",
)
TOPICS: tuple[str, ...] = (FEEDBACK_TOPIC,)

TABLES: tuple[type[TidingsModel], ...] = ALL_MODELS
