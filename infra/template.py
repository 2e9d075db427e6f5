"""The merge template: every resource Tidings needs beside what Chalice generates.

Built from the declarations in chalicelib/resources.py and the PynamoDB models, so the deployed
tables, queues and feedback path cannot drift from the code. Pure: settings and the app's SQS
handlers in, a CloudFormation (SAM) dict out; infra/package.py writes it and hands it to
`chalice package --merge-template`, which deep-merges it into Chalice's own template. Naming one
of Chalice's logical ids (a function, its SQS event, its role) adds properties to that resource.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib.blueprints.public_tracking_front import FUNCTION_NAME as TRACKING_FRONT
from chalicelib.config import Settings
from chalicelib.resources import (
    FEEDBACK,
    FEEDBACK_EVENT_TYPES,
    FEEDBACK_TOPIC,
    INBOUND_MAIL,
    INBOUND_MAIL_TOPIC,
    QUEUES,
    SMS_INBOUND,
    SMS_INBOUND_TOPIC,
    QueueSpec,
)
from chalicelib.store.models import ALL_MODELS
from chalicelib.store.schema import table_definition

DATA_ACCESS_POLICY_ID = "DataAccessPolicy"
FEEDBACK_TOPIC_ID = to_cfn_resource_name(FEEDBACK_TOPIC) + "Topic"
INBOUND_MAIL_TOPIC_ID = to_cfn_resource_name(INBOUND_MAIL_TOPIC) + "Topic"
SMS_INBOUND_TOPIC_ID = to_cfn_resource_name(SMS_INBOUND_TOPIC) + "Topic"
CONFIGURATION_SET_ID = "FeedbackConfigurationSet"
ALARM_TOPIC_ID = "AlarmTopic"
# The open/click front (Chalice names a function's resource after it) and its function URL.
TRACKING_FRONT_ID = to_cfn_resource_name(TRACKING_FRONT)
TRACKING_URL_ID = "TrackingFunctionUrl"
TRACKING_BASE_URL_VARIABLE = "TIDINGS_TRACKING_BASE_URL"
_TRACKING_BASE_URL_GIVEN = "TrackingBaseUrlGiven"
# The longest SQS keeps a message: a dead letter must outlive its first enqueue time, which
# SQS keeps when it moves the message, and give people time to look at it.
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600

_DYNAMODB_ITEM_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
# What a Lambda event source mapping needs on the queue it polls.
_SQS_CONSUME_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
_SQS_SEND_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage")
# SES v2 SendEmail with raw content is authorised as ses:SendRawEmail.
_SES_SEND_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")
# SMS to a phone number and the opted-out list: SNS cannot scope these to a resource ARN.
_SMS_ACTIONS = ("sns:Publish", "sns:ListPhoneNumbersOptedOut")


@dataclass(frozen=True)
class LambdaFunction:
    """A function Chalice generates, by its logical ids in Chalice's template. Without
    `autogen_policy` Chalice gives each function its own role."""

    function_id: str
    role_id: str


@dataclass(frozen=True)
class SqsHandler:
    """An `on_sqs_message` handler: its function, its SQS event and the queue it consumes."""

    function_id: str
    event_id: str
    queue_name: str


def table_id(model: type) -> str:
    """The logical id of a model's table (`api-keys` → `ApiKeysTable`)."""
    return to_cfn_resource_name(model.Meta.logical_name) + "Table"


def queue_id(queue: QueueSpec) -> str:
    """The logical id of a declared queue (`outbox` → `OutboxQueue`)."""
    return to_cfn_resource_name(queue.logical_name) + "Queue"


def dead_letter_queue_id(queue: QueueSpec) -> str:
    """The logical id of a queue's dead-letter queue (`OutboxDeadLetterQueue`)."""
    return to_cfn_resource_name(queue.logical_name) + "DeadLetterQueue"


def build_merge_template(
    settings: Settings, functions: Sequence[LambdaFunction], handlers: Sequence[SqsHandler]
) -> dict[str, Any]:
    """The merge template for the app's `functions`, which will run with `settings`.

    When the open/click front (TRACKING_FRONT_ID) is among them, it gets a public function URL,
    and every other function builds open and click links on that URL (TIDINGS_TRACKING_BASE_URL).

    Raises ValueError if a handler consumes a queue that resources.QUEUES does not declare
    under this prefix (the deployed mapping would point at a queue nobody creates).
    """
    handled = {handler: _declared_queue(settings, handler) for handler in handlers}
    serves_tracking = any(function.function_id == TRACKING_FRONT_ID for function in functions)
    resources: dict[str, Any] = {}
    for model in ALL_MODELS:
        resources[table_id(model)] = _table(model, settings)
    for queue in QUEUES:
        resources.update(_queue_with_dead_letters(queue, settings))
    resources.update(_feedback_path(settings))
    resources.update(_inbound_mail_path(settings))
    resources.update(_sms_inbound_path(settings))
    resources[ALARM_TOPIC_ID] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": settings.resource_name("alarms")},
    }
    resources[DATA_ACCESS_POLICY_ID] = _data_access_policy(settings, functions, set(handled.values()))
    # Merged over the stage's variables in .chalice/config.json: names must match this template.
    for function in functions:
        variables = lambda_environment(settings)
        # Not the front's own: its URL is made after it (a cycle), and it builds no links.
        if serves_tracking and function.function_id != TRACKING_FRONT_ID:
            variables[TRACKING_BASE_URL_VARIABLE] = tracking_base_url()
        resources[function.function_id] = {"Properties": {"Environment": {"Variables": variables}}}
    for handler, queue in handled.items():
        function = resources.setdefault(handler.function_id, {"Properties": {}})
        function["DependsOn"] = [queue_id(queue), DATA_ACCESS_POLICY_ID]
        function["Properties"]["Events"] = _report_batch_item_failures(handler)
    template: dict[str, Any] = {
        "Parameters": _parameters(),
        "Resources": resources,
        "Outputs": {
            "AlarmTopicArn": {"Value": {"Ref": ALARM_TOPIC_ID}},
            "FeedbackTopicArn": {"Value": {"Ref": FEEDBACK_TOPIC_ID}},
            "InboundMailTopicArn": {"Value": {"Ref": INBOUND_MAIL_TOPIC_ID}},
            "SmsInboundTopicArn": {"Value": {"Ref": SMS_INBOUND_TOPIC_ID}},
            "ConfigurationSetName": {"Value": {"Ref": CONFIGURATION_SET_ID}},
        },
    }
    if serves_tracking:
        _add_tracking_function_url(template)
    return template


def lambda_environment(settings: Settings) -> dict[str, Any]:
    """What every Lambda reads through chalicelib/config.py, for the resources of this template.

    Secrets are resolved from Secrets Manager when CloudFormation deploys, so they never pass
    through a command line or this repository.
    """
    prefix = settings.resource_prefix
    return {
        "TIDINGS_PREFIX": prefix,
        "TIDINGS_CONFIGURATION_SET": settings.configuration_set,
        "TIDINGS_PUBLIC_BASE_URL": {"Ref": "PublicBaseUrl"},
        "TIDINGS_DEFAULT_SENDER": {"Ref": "DefaultSender"},
        "TIDINGS_SIGNING_SECRETS": f"{{{{resolve:secretsmanager:{prefix}/signing-secrets}}}}",
        "TIDINGS_SUPPRESSION_SECRET": f"{{{{resolve:secretsmanager:{prefix}/suppression-secret}}}}",
        "TIDINGS_SES_MAX_SEND_RATE": {"Ref": "SesMaxSendRate"},
    }


def tracking_base_url() -> dict[str, Any]:
    """Where the Lambdas point open and click links: the TrackingBaseUrl parameter if given, else
    the tracking function URL (it ends with "/", which chalicelib/config.py strips)."""
    return {"Fn::If": [_TRACKING_BASE_URL_GIVEN, {"Ref": "TrackingBaseUrl"},
                       {"Fn::GetAtt": [TRACKING_URL_ID, "FunctionUrl"]}]}


def _add_tracking_function_url(template: dict[str, Any]) -> None:
    """A public function URL (AuthType NONE) for the open/click front: an open or a click costs a
    Lambda invocation, not an API Gateway request. Since October 2025 a new function URL needs
    both permissions: lambda:InvokeFunctionUrl, and lambda:InvokeFunction limited to calls that
    come through the URL (so it grants no direct Invoke to anyone). With the URL: its output, and
    the TrackingBaseUrl parameter for a custom domain (CloudFront) in front of it."""
    front = TRACKING_FRONT_ID
    template["Resources"].update({
        TRACKING_URL_ID: {
            "Type": "AWS::Lambda::Url",
            "Properties": {"AuthType": "NONE", "TargetFunctionArn": {"Fn::GetAtt": [front, "Arn"]}},
        },
        f"{TRACKING_URL_ID}PublicAccess": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {"Action": "lambda:InvokeFunctionUrl", "FunctionName": {"Ref": front},
                           "Principal": "*", "FunctionUrlAuthType": "NONE"},
        },
        f"{TRACKING_URL_ID}PublicInvoke": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": {"Ref": front},
                           "Principal": "*", "InvokedViaFunctionUrl": True},
        },
    })
    template["Outputs"]["TrackingFunctionUrl"] = {"Value": {"Fn::GetAtt": [TRACKING_URL_ID, "FunctionUrl"]}}
    template["Parameters"]["TrackingBaseUrl"] = {
        "Type": "String",
        "Description": "Base URL of open pixel and click links when a custom domain (CloudFront) fronts "
                       "the tracking function URL, no trailing /; empty: the function URL itself",
        "Default": "",
        "AllowedPattern": r"^(https://[^/]+(/.*[^/])?)?$",
    }
    template["Conditions"] = {
        _TRACKING_BASE_URL_GIVEN: {"Fn::Not": [{"Fn::Equals": [{"Ref": "TrackingBaseUrl"}, ""]}]}
    }


def _parameters() -> dict[str, Any]:
    return {
        "PublicBaseUrl": {
            "Type": "String",
            "Description": "Base URL of the public pages (confirm, unsubscribe) in mail links, no trailing /",
            "AllowedPattern": r"^https://[^/]+(/.*[^/])?$",
        },
        "DefaultSender": {
            "Type": "String",
            "Description": "A verified SES identity that sends confirmation and system mail",
            "AllowedPattern": r"^[^@\s]+@[^@\s]+$",
        },
        "SesMaxSendRate": {
            "Type": "Number",
            "Description": "The SES maximum send rate (messages per second); sending stays under it",
            "Default": 14,
            "MinValue": 1,
        },
    }


def _declared_queue(settings: Settings, handler: SqsHandler) -> QueueSpec:
    for queue in QUEUES:
        if settings.resource_name(queue.logical_name) == handler.queue_name:
            return queue
    declared = ", ".join(settings.resource_name(queue.logical_name) for queue in QUEUES)
    raise ValueError(
        f"{handler.function_id} consumes queue {handler.queue_name!r}, which resources.QUEUES does not "
        f"declare under prefix {settings.resource_prefix!r} (declared: {declared})"
    )


def _table(model: type, settings: Settings) -> dict[str, Any]:
    definition = table_definition(model, settings.resource_name(model.Meta.logical_name))
    ttl_attribute = definition.pop("TimeToLiveAttribute", None)
    properties: dict[str, Any] = {
        **definition,
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    if ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl_attribute, "Enabled": True}
    # Consent proof and suppressions must survive a deleted or replaced stack; retention
    # purges, not stack operations, decide when data goes.
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def _queue_with_dead_letters(queue: QueueSpec, settings: Settings) -> dict[str, Any]:
    dlq_id = dead_letter_queue_id(queue)
    alarm_id = to_cfn_resource_name(queue.logical_name) + "DeadLetterAlarm"
    return {
        dlq_id: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": settings.resource_name(queue.dead_letter_name),
                "MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
            },
        },
        queue_id(queue): {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": settings.resource_name(queue.logical_name),
                "VisibilityTimeout": queue.visibility_timeout_seconds,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
                    "maxReceiveCount": settings.sqs_max_receive_count,
                },
            },
        },
        alarm_id: {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": settings.resource_name(f"{queue.dead_letter_name}-not-empty"),
                "AlarmDescription": (
                    f"Messages of the {queue.logical_name} queue failed {settings.sqs_max_receive_count} "
                    "times and wait in its dead-letter queue."
                ),
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}],
                "Statistic": "Maximum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": ALARM_TOPIC_ID}],
            },
        },
    }


def _topic_into_queue(
    name: str, topic_id: str, topic_name: str, queue: QueueSpec,
    publisher: tuple[str, list[str]] | None = None,
) -> dict[str, Any]:
    """An SNS topic subscribed by an SQS queue (the SNS envelope kept, as the workers expect) and
    the queue policy letting that topic send to it. `publisher` (a statement id and the AWS
    services) adds a topic policy letting those services publish from this account only."""
    queue_ref = queue_id(queue)
    resources: dict[str, Any] = {
        topic_id: {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": topic_name}},
        f"{name}TopicSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "Protocol": "sqs",
                "TopicArn": {"Ref": topic_id},
                "Endpoint": {"Fn::GetAtt": [queue_ref, "Arn"]},
                "RawMessageDelivery": False,
            },
        },
        f"{name}QueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": queue_ref}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": f"{name}TopicSendsHere",
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": {"Fn::GetAtt": [queue_ref, "Arn"]},
                        "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": topic_id}}},
                    }],
                },
            },
        },
    }
    if publisher is not None:
        sid, services = publisher
        resources[f"{name}TopicPolicy"] = {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": topic_id}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": sid,
                        "Effect": "Allow",
                        "Principal": {"Service": services[0] if len(services) == 1 else services},
                        "Action": "sns:Publish",
                        "Resource": {"Ref": topic_id},
                        "Condition": {"StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}},
                    }],
                },
            },
        }
    return resources


def _feedback_path(settings: Settings) -> dict[str, Any]:
    """SES configuration set → SNS topic → SQS feedback queue, as local/provision.py builds locally."""
    return {
        **_topic_into_queue("Feedback", FEEDBACK_TOPIC_ID, settings.resource_name(FEEDBACK_TOPIC), FEEDBACK),
        CONFIGURATION_SET_ID: {
            "Type": "AWS::SES::ConfigurationSet",
            "Properties": {"Name": settings.configuration_set},
        },
        "FeedbackEventDestination": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "Properties": {
                "ConfigurationSetName": {"Ref": CONFIGURATION_SET_ID},
                "EventDestination": {
                    "Name": "feedback-topic",
                    "Enabled": True,
                    "MatchingEventTypes": list(FEEDBACK_EVENT_TYPES),
                    "SnsDestination": {"TopicARN": {"Ref": FEEDBACK_TOPIC_ID}},
                },
            },
        },
    }


def _inbound_mail_path(settings: Settings) -> dict[str, Any]:
    """SNS topic → SQS inbound-mail queue for mailto unsubscribes (P07). SES may publish to the
    topic; the receipt rule that does (recipient unsubscribe@<sender domain>, SNS action, UTF-8)
    belongs to the operator's active receipt rule set, which CloudFormation cannot activate."""
    return _topic_into_queue("InboundMail", INBOUND_MAIL_TOPIC_ID, settings.resource_name(INBOUND_MAIL_TOPIC),
                             INBOUND_MAIL, ("SesReceivingPublishes", ["ses.amazonaws.com"]))


def _sms_inbound_path(settings: Settings) -> dict[str, Any]:
    """SNS topic → SQS sms-inbound queue for replies to our SMS (STOP, P06/P12). The operator
    points the origination number's two-way SMS at this topic (AWS End User Messaging SMS)."""
    return _topic_into_queue("SmsInbound", SMS_INBOUND_TOPIC_ID, settings.resource_name(SMS_INBOUND_TOPIC),
                             SMS_INBOUND,
                             ("TwoWaySmsPublishes", ["sms-voice.amazonaws.com", "sns.amazonaws.com"]))


def _data_access_policy(
    settings: Settings, functions: Sequence[LambdaFunction], consumed: set[QueueSpec]
) -> dict[str, Any]:
    """What the Lambdas call through PynamoDB and boto3, which Chalice's policy generator cannot
    see: exactly this template's tables and queues, and sending through its configuration set."""
    table_arns: list[Any] = []
    for model in ALL_MODELS:
        table_arn = {"Fn::GetAtt": [table_id(model), "Arn"]}
        table_arns.append(table_arn)
        if "GlobalSecondaryIndexes" in table_definition(model, table_id(model)):
            table_arns.append({"Fn::Sub": ["${TableArn}/index/*", {"TableArn": table_arn}]})
    statements: list[dict[str, Any]] = [
        {"Sid": "Tables", "Effect": "Allow", "Action": list(_DYNAMODB_ITEM_ACTIONS), "Resource": table_arns},
        {
            "Sid": "EnqueueJobs",
            "Effect": "Allow",
            "Action": list(_SQS_SEND_ACTIONS),
            "Resource": [{"Fn::GetAtt": [queue_id(queue), "Arn"]} for queue in QUEUES],
        },
        {
            "Sid": "SendMail",
            "Effect": "Allow",
            "Action": list(_SES_SEND_ACTIONS),
            "Resource": [
                {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"},
                {
                    "Fn::Sub": [
                        "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${Name}",
                        {"Name": {"Ref": CONFIGURATION_SET_ID}},
                    ]
                },
            ],
        },
        {"Sid": "SendSms", "Effect": "Allow", "Action": list(_SMS_ACTIONS), "Resource": "*"},
        {
            # Campaigns may only be sent From a verified identity (adapters/ses.is_verified_sender).
            "Sid": "ReadSenderIdentities",
            "Effect": "Allow",
            "Action": ["ses:GetEmailIdentity"],
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"},
        },
    ]
    if consumed:
        statements.append(
            {
                "Sid": "ConsumeQueues",
                "Effect": "Allow",
                "Action": list(_SQS_CONSUME_ACTIONS),
                "Resource": [
                    {"Fn::GetAtt": [queue_id(queue), "Arn"]}
                    for queue in QUEUES
                    if queue in consumed
                ],
            }
        )
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": settings.resource_name("data-access"),
            "Roles": [{"Ref": role_id} for role_id in sorted({f.role_id for f in functions})],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
        },
    }


def _report_batch_item_failures(handler: SqsHandler) -> dict[str, Any]:
    # Chalice does not set FunctionResponseTypes (aws/chalice#2029): without it Lambda ignores
    # the batchItemFailures the worker returns and retries the whole batch. (Chalice names the
    # queue by an ARN string, not a Ref, hence the function's DependsOn above: CloudFormation
    # must create the queue, and the permission to poll it, before the mapping that checks both.)
    return {handler.event_id: {"Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]}}}
