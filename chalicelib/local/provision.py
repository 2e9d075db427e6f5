"""Creates every declared table, queue, topic, secret and SES identity (the local stack and tests).

In AWS the deployment template creates the same resources from the same declarations.
"""
from __future__ import annotations

import contextlib
import json

from chalicelib.clients import client
from chalicelib.config import Settings, local_secret_values
from chalicelib.resources import (
    FEEDBACK,
    FEEDBACK_EVENT_TYPES,
    FEEDBACK_TOPIC,
    INBOUND_MAIL,
    INBOUND_MAIL_TOPIC,
    QUEUES,
    SMS_INBOUND,
    SMS_INBOUND_TOPIC,
)
from chalicelib.store.binding import bind_models
from chalicelib.store.models import ALL_MODELS
from chalicelib.store.schema import table_definition


def provision(settings: Settings) -> dict[str, str]:
    """Create everything that does not exist yet; returns the ARNs callers may need."""
    bind_models(settings)
    _create_tables(settings)
    queue_arns = _create_queues(settings)
    topic_arn = _create_topic_to_queue(settings, FEEDBACK_TOPIC, queue_arns[FEEDBACK.logical_name])
    inbound_arn = _create_topic_to_queue(settings, INBOUND_MAIL_TOPIC, queue_arns[INBOUND_MAIL.logical_name])
    sms_arn = _create_topic_to_queue(settings, SMS_INBOUND_TOPIC, queue_arns[SMS_INBOUND.logical_name])
    _create_ses_identity(settings, topic_arn)
    _create_secrets(settings)
    return {"ses_feedback_topic_arn": topic_arn, "inbound_mail_topic_arn": inbound_arn,
            "sms_inbound_topic_arn": sms_arn}


def _create_tables(settings: Settings) -> None:
    # One boto3 client for all tables: PynamoDB's create_table builds a client per model.
    dynamodb = client("dynamodb")
    existing = set(dynamodb.list_tables()["TableNames"])
    for model in ALL_MODELS:
        table = table_definition(model, settings.resource_name(model.Meta.logical_name))
        if table["TableName"] in existing:
            continue
        ttl_attribute = table.pop("TimeToLiveAttribute", None)
        dynamodb.create_table(**table)
        if ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table["TableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
            )


def _create_queues(settings: Settings) -> dict[str, str]:
    sqs = client("sqs")
    arns: dict[str, str] = {}
    for queue in QUEUES:
        dlq_url = sqs.create_queue(QueueName=settings.resource_name(queue.dead_letter_name))["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.sqs_max_receive_count}
        url = sqs.create_queue(
            QueueName=settings.resource_name(queue.logical_name),
            Attributes={
                "MessageRetentionPeriod": str(queue.retention_seconds),
                "VisibilityTimeout": str(queue.visibility_timeout_seconds),
                "MaximumMessageSize": str(queue.max_message_bytes),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        arns[queue.logical_name] = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
    return arns


def _create_topic_to_queue(settings: Settings, topic: str, queue_arn: str) -> str:
    topic_arn = client("sns").create_topic(Name=settings.resource_name(topic))["TopicArn"]
    client("sns").subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "false"},
    )
    return topic_arn


def _create_ses_identity(settings: Settings, topic_arn: str) -> None:
    ses = client("sesv2")
    existing = {item["IdentityName"] for item in ses.list_email_identities()["EmailIdentities"]}
    if settings.default_sender not in existing:
        ses.create_email_identity(EmailIdentity=settings.default_sender)
    existing_sets = ses.list_configuration_sets().get("ConfigurationSets", [])
    if settings.configuration_set not in existing_sets:
        ses.create_configuration_set(ConfigurationSetName=settings.configuration_set)
        # SES v1's call: moto implements the event destination there, and both APIs share it.
        client("ses").create_configuration_set_event_destination(
            ConfigurationSetName=settings.configuration_set,
            EventDestination={
                "Name": "feedback-topic",
                "Enabled": True,
                "MatchingEventTypes": list(FEEDBACK_EVENT_TYPES),
                "SNSDestination": {"TopicARN": topic_arn},
            },
        )


def _create_secrets(settings: Settings) -> None:
    # The local-only values, read through Secrets Manager as in AWS (config.signer, config.hash_key).
    secrets = client("secretsmanager")
    for logical_name, value in local_secret_values().items():
        with contextlib.suppress(secrets.exceptions.ResourceExistsException):
            secrets.create_secret(Name=settings.secret_name(logical_name), SecretString=value)
