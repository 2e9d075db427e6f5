"""SES's mailbox simulator and event publishing, played for the local stack.

moto accepts mail but publishes no configuration-set events, and it drops a SESv2 send's tags and
configuration set. So the local stack watches the SES v2 client's own `SendEmail` calls (botocore
event hooks: the exact parameters and the message id SES returned) and publishes what SES would
publish — in the event-publishing format, with the message's id and tags — on the real feedback
topic. From there the mail's feedback travels as in AWS: SNS → SQS → pump → feedback worker.

    success@simulator.amazonses.com          Send, Delivery
    bounce@simulator.amazonses.com           Send, Bounce (Permanent, General)
    ooto@simulator.amazonses.com             Send, Delivery (the auto-reply goes to the sender)
    complaint@simulator.amazonses.com        Send, Delivery, Complaint (abuse)
    suppressionlist@simulator.amazonses.com  Send, Bounce (Permanent, OnAccountSuppressionList)
    any other recipient                      Send, Delivery (moto "delivered" it to the outbox page)

Like SES, it publishes only the event types the configuration set's enabled destinations ask for
(Tidings' set asks for neither Send nor Delivery: resources.FEEDBACK_EVENT_TYPES).
A `+label` in the local part is allowed, as in SES (`bounce+test1@simulator.amazonses.com`).
Local development only: never deployed.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from typing import Any

from chalicelib.clients import client
from chalicelib.domain.clock import now
from chalicelib.local.invoke import LOCAL_ACCOUNT_ID, running_as

log = logging.getLogger("local_stack.ses_simulator")

SIMULATOR_DOMAIN = "simulator.amazonses.com"
_REPORTING_MTA = "a8-70.smtp-out.amazonses.com"
_CONTEXT_KEY = "tidings_simulated_send"
_SUPPRESSED_DIAGNOSTIC = ("Amazon SES did not send the message to this address because it is on the "
                          "suppression list for your account.")


def outcome(recipient: str) -> str:
    """The simulator's scenario for a recipient: its local part (label dropped), or `success`."""
    local, _, domain = recipient.strip().lower().rpartition("@")
    scenario = local.partition("+")[0]
    if domain == SIMULATOR_DOMAIN and scenario in ("bounce", "ooto", "complaint", "suppressionlist"):
        return scenario
    return "success"


def simulated_events(ses_message_id: str, source: str, recipients: list[str], tags: dict[str, str],
                     configuration_set: str, region: str, at: datetime) -> list[dict[str, Any]]:
    """The events SES publishes for one sent message: one Send, then each recipient's outcome."""
    mail = {
        "timestamp": _iso(at),
        "source": source,
        "sourceArn": f"arn:aws:ses:{region}:{LOCAL_ACCOUNT_ID}:identity/{source.rpartition('@')[2]}",
        "sendingAccountId": LOCAL_ACCOUNT_ID,
        "messageId": ses_message_id,
        "destination": list(recipients),
        "headersTruncated": False,
        "tags": {
            "ses:configuration-set": [configuration_set],
            "ses:from-domain": [source.rpartition("@")[2]],
            **{name: [value] for name, value in tags.items()},
        },
    }
    events = [{"eventType": "Send", "mail": mail, "send": {}}]
    for recipient in recipients:
        scenario = outcome(recipient)
        if scenario in ("success", "ooto", "complaint"):
            events.append({"eventType": "Delivery", "mail": mail, "delivery": _delivery(recipient, at)})
        if scenario == "complaint":
            events.append({"eventType": "Complaint", "mail": mail, "complaint": _complaint(recipient, at)})
        if scenario in ("bounce", "suppressionlist"):
            events.append({"eventType": "Bounce", "mail": mail,
                           "bounce": _bounce(recipient, at, scenario == "suppressionlist")})
    return events


def install(sesv2: Any, topic_arn: str) -> Callable[[], None]:
    """Publish simulated events for every successful `SendEmail` of this SES v2 client that names
    a configuration set (SES publishes only then). Returns the function that uninstalls it."""

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_CONTEXT_KEY] = params

    def publish(http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        params = context.get(_CONTEXT_KEY)
        if not params or http_response.status_code >= 300 or not params.get("ConfigurationSetName"):
            return
        try:
            with running_as(None):  # SES publishes, not the function that sent
                _publish(topic_arn, params, parsed["MessageId"], sesv2.meta.region_name)
        except Exception as exc:  # the simulator must never make a send fail
            log.warning("SES simulator could not publish: %s", type(exc).__name__)

    hooks = [("before-parameter-build.sesv2.SendEmail", remember),
             ("after-call.sesv2.SendEmail", publish)]
    for event_name, handler in hooks:
        sesv2.meta.events.register(event_name, handler)

    def uninstall() -> None:
        for event_name, handler in hooks:
            sesv2.meta.events.unregister(event_name, handler)

    return uninstall


def _publish(topic_arn: str, params: dict[str, Any], ses_message_id: str, region: str) -> None:
    destination = params.get("Destination", {})
    recipients = [address for key in ("ToAddresses", "CcAddresses", "BccAddresses")
                  for address in destination.get(key, [])]
    tags = {tag["Name"]: tag["Value"] for tag in params.get("EmailTags", [])}
    wanted = published_event_types(params["ConfigurationSetName"])
    events = [event for event in simulated_events(ses_message_id, _source(params), recipients, tags,
                                                  params["ConfigurationSetName"], region, now())
              if _ses_type_name(event["eventType"]) in wanted]
    if not events:
        return
    sns = client("sns")
    for event in events:
        sns.publish(TopicArn=topic_arn, Message=json.dumps(event))
    # Kinds and the SES id only: the recipients are contact data.
    log.info("SES simulator published %s for %s", ", ".join(e["eventType"] for e in events), ses_message_id)


def published_event_types(configuration_set: str) -> set[str]:
    """The event types (SES's names: "send", "bounce", ...) the set's enabled destinations match.
    SES v1's call: moto keeps the event destination there, and both APIs share it."""
    described = client("ses").describe_configuration_set(
        ConfigurationSetName=configuration_set, ConfigurationSetAttributeNames=["eventDestinations"])
    return {kind for destination in described.get("EventDestinations") or [] if destination
            if destination.get("Enabled", False) for kind in destination.get("MatchingEventTypes", [])}


def _ses_type_name(event_type: str) -> str:
    # The event's "Bounce" is "bounce" among a destination's types, "RenderingFailure" "renderingFailure".
    return event_type[:1].lower() + event_type[1:]


def _source(params: dict[str, Any]) -> str:
    if params.get("FromEmailAddress"):
        return parseaddr(params["FromEmailAddress"])[1]
    raw = params.get("Content", {}).get("Raw", {}).get("Data", b"")
    headers = BytesHeaderParser().parsebytes(raw if isinstance(raw, bytes) else raw.encode("utf-8"))
    return parseaddr(str(headers.get("From", "")))[1]


def _delivery(recipient: str, at: datetime) -> dict[str, Any]:
    return {"timestamp": _iso(at), "processingTimeMillis": 0, "recipients": [recipient],
            "smtpResponse": "250 2.6.0 Message received", "reportingMTA": _REPORTING_MTA}


def _bounce(recipient: str, at: datetime, on_suppression_list: bool) -> dict[str, Any]:
    diagnostic = _SUPPRESSED_DIAGNOSTIC if on_suppression_list else "smtp; 550 5.1.1 user unknown"
    return {
        "bounceType": "Permanent",
        "bounceSubType": "OnAccountSuppressionList" if on_suppression_list else "General",
        "bouncedRecipients": [{"emailAddress": recipient, "action": "failed", "status": "5.1.1",
                               "diagnosticCode": diagnostic}],
        "timestamp": _iso(at),
        "feedbackId": f"{uuid.uuid4()}-000000",
        "reportingMTA": f"dsn; {_REPORTING_MTA}",
    }


def _complaint(recipient: str, at: datetime) -> dict[str, Any]:
    return {
        "complainedRecipients": [{"emailAddress": recipient}],
        "timestamp": _iso(at),
        "feedbackId": f"{uuid.uuid4()}-000000",
        "userAgent": "Amazon SES Mailbox Simulator",
        "complaintFeedbackType": "abuse",
        "arrivalDate": _iso(at),
    }


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
