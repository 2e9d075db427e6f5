"""Each function's IAM policy, generated from what it declares it touches (chalicelib/functions.py).

`policy_statements` gives the statements with ARNs as `Fn::Sub` strings (`${AWS::Region}` and
friends), which the template wraps in `Fn::Sub` and the tests resolve for moto's account, so the
policy deployed and the policy the tests hold every AWS call against are one and the same.
`request_of` turns one botocore call into what IAM authorises (actions and resource ARNs), and
`allows` evaluates a policy's Allow statements as IAM does (wildcards `*` and `?`, `Resource` or
`NotResource`).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from fnmatch import fnmatchcase
from typing import Any

from chalicelib.config import Settings
from chalicelib.functions import Access, FunctionSpec
from chalicelib.resources import QueueSpec

_ARN = "arn:${AWS::Partition}"
_REGIONAL = "${AWS::Region}:${AWS::AccountId}"

# DynamoDB: TransactWriteItems and TransactGetItems are authorised per item as these actions.
_DYNAMODB_READ = ("dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem",
                  "dynamodb:Query")
_DYNAMODB_WRITE = ("dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem",
                   "dynamodb:UpdateItem")
# What a Lambda event source mapping needs on the queue it polls.
SQS_CONSUME_ACTIONS = ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                       "sqs:ReceiveMessage")
_SQS_SEND = ("sqs:GetQueueUrl", "sqs:SendMessage")
# A scheduled drain finds its queue, receives and deletes (DeleteMessageBatch is sqs:DeleteMessage).
_SQS_DRAIN = ("sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage")
# SES v2 SendEmail is authorised as ses:SendEmail (raw content included); v1's raw call as
# ses:SendRawEmail. Both need the From identity and the configuration set.
_SES_SEND = ("ses:SendEmail", "ses:SendRawEmail")
# The opted-out list: SNS cannot scope these to a resource ARN.
_SMS_OPT_OUTS = ("sns:CheckIfPhoneNumberIsOptedOut", "sns:ListPhoneNumbersOptedOut")
# SMS to a phone number: Publish with no topic, which IAM authorises on "*". Granted on everything
# but SNS's own ARNs, so it reaches no topic (forged SES feedback, STOP replies, inbound mail,
# alarms) and no platform endpoint.
_SMS_PUBLISH_NOT_TO = f"{_ARN}:sns:*:*:*"


def table_arn(settings: Settings, table: str) -> str:
    return f"{_ARN}:dynamodb:{_REGIONAL}:table/{settings.resource_name(table)}"


def queue_arn(settings: Settings, queue: QueueSpec) -> str:
    return f"{_ARN}:sqs:{_REGIONAL}:{settings.resource_name(queue.logical_name)}"


def secret_arn(settings: Settings, secret: str) -> str:
    # Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
    return f"{_ARN}:secretsmanager:{_REGIONAL}:secret:{settings.secret_name(secret)}-??????"


def identity_arns() -> str:
    return f"{_ARN}:ses:{_REGIONAL}:identity/*"


def configuration_set_arn(settings: Settings) -> str:
    return f"{_ARN}:ses:{_REGIONAL}:configuration-set/{settings.configuration_set}"


def policy_statements(spec: FunctionSpec, settings: Settings) -> list[dict[str, Any]]:
    """The Allow statements of `spec`'s role (besides writing its own logs), ARNs as Fn::Sub
    strings. Nothing is granted on "*" but the opted-out list, which AWS cannot scope, and SMS
    Publish on everything but SNS's ARNs (no topic)."""
    touches = spec.touches
    statements: list[dict[str, Any]] = []
    for access, actions in ((Access.READ, _DYNAMODB_READ), (Access.WRITE, _DYNAMODB_READ + _DYNAMODB_WRITE)):
        tables = sorted({grant.table for grant in touches.tables if grant.access is access})
        if tables:
            arns = [arn for table in tables
                    for arn in (table_arn(settings, table), table_arn(settings, table) + "/index/*")]
            statements.append(_allow(f"Tables{access.value.title()}", actions, arns))
    if spec.trigger is not None:
        consumed = [queue_arn(settings, spec.trigger.queue)]
        statements.append(_allow("ConsumeQueue", SQS_CONSUME_ACTIONS, consumed))
    if spec.drain is not None:
        statements.append(_allow("DrainQueue", _SQS_DRAIN, [queue_arn(settings, spec.drain.queue)]))
    if touches.enqueues:
        arns = sorted(queue_arn(settings, queue) for queue in touches.enqueues)
        statements.append(_allow("EnqueueJobs", _SQS_SEND, arns))
    if touches.sends_mail:
        statements.append(_allow("SendMail", _SES_SEND, [identity_arns(), configuration_set_arn(settings)]))
    if touches.reads_sender_identities:
        statements.append(_allow("ReadSenderIdentities", ("ses:GetEmailIdentity",), [identity_arns()]))
    if touches.manages_sender_identities:
        actions = ("ses:CreateEmailIdentity", "ses:DeleteEmailIdentity")
        statements.append(_allow("ManageSenderIdentities", actions, [identity_arns()]))
    elif touches.deletes_sender_identities:
        statements.append(_allow("DeleteSenderIdentities", ("ses:DeleteEmailIdentity",), [identity_arns()]))
    if touches.sends_sms:
        statements.append(_allow("ReadSmsOptOuts", _SMS_OPT_OUTS, ["*"]))
        statements.append({"Sid": "SendSms", "Effect": "Allow", "Action": ["sns:Publish"],
                           "NotResource": [_SMS_PUBLISH_NOT_TO]})
    if touches.secrets:
        arns = [secret_arn(settings, secret) for secret in sorted(touches.secrets)]
        statements.append(_allow("ReadSecrets", ("secretsmanager:GetSecretValue",), arns))
    return statements


def _allow(sid: str, actions: Iterable[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def _with_arns(statement: dict[str, Any], change: Callable[[str], Any]) -> dict[str, Any]:
    """The statement with `change` applied to each ARN of its Resource (or NotResource)."""
    key = "NotResource" if "NotResource" in statement else "Resource"
    return {**statement, key: [change(arn) for arn in statement[key]]}


def for_template(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The statements with every ARN template wrapped in Fn::Sub."""
    return [_with_arns(statement, lambda arn: arn if "${" not in arn else {"Fn::Sub": arn})
            for statement in statements]


def resolved(statements: list[dict[str, Any]], region: str, account: str,
             partition: str = "aws") -> list[dict[str, Any]]:
    """The statements as IAM sees them in one account and region."""
    values = {"AWS::Partition": partition, "AWS::Region": region, "AWS::AccountId": account}
    return [_with_arns(statement, lambda arn: re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], arn))
            for statement in statements]


@dataclass(frozen=True)
class Request:
    """One action on one resource, as IAM authorises it."""

    action: str
    resource: str

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}"


def allows(statements: list[dict[str, Any]], request: Request) -> bool:
    """Whether an Allow statement (resolved ARNs) covers the request (no Deny statements here): its
    action matches, and the resource matches one of its `Resource` or none of its `NotResource`."""
    return any(
        any(fnmatchcase(request.action.lower(), action.lower()) for action in statement["Action"])
        and _covers(statement, request.resource)
        for statement in statements if statement["Effect"] == "Allow"
    )


def _covers(statement: dict[str, Any], resource: str) -> bool:
    if "NotResource" in statement:
        return not any(fnmatchcase(resource, excluded) for excluded in statement["NotResource"])
    return any(fnmatchcase(resource, pattern) for pattern in statement["Resource"])


_BATCHED = {"sqs": {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
                    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}}
_TRANSACT_ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                          "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def request_of(service: str, operation: str, params: Mapping[str, Any], response: Mapping[str, Any] | None,
               region: str, account: str, partition: str = "aws") -> list[Request]:
    """What IAM checks for one botocore call (`service` as botocore names it)."""
    def arn(service_name: str, resource: str) -> str:
        return f"arn:{partition}:{service_name}:{region}:{account}:{resource}"

    if service == "dynamodb":
        def table(name: str, index: str | None = None) -> str:
            return arn("dynamodb", f"table/{name}" + (f"/index/{index}" if index else ""))

        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [Request(f"dynamodb:{operation}", table(name)) for name in params.get("RequestItems", {})]
        if operation in ("TransactWriteItems", "TransactGetItems"):
            return [Request(f"dynamodb:{_TRANSACT_ITEM_ACTIONS[kind]}", table(item[kind]["TableName"]))
                    for item in params.get("TransactItems", []) for kind in item]
        target = table(params.get("TableName", "*"), params.get("IndexName"))
        return [Request(f"dynamodb:{operation}", target)]
    if service == "sqs":
        name = params.get("QueueName") or str(params.get("QueueUrl", "*")).rstrip("/").rsplit("/", 1)[-1]
        return [Request(f"sqs:{_BATCHED['sqs'].get(operation, operation)}", arn("sqs", name))]
    if service == "sns":
        return [Request(f"sns:{operation}", params.get("TopicArn") or params.get("TargetArn") or "*")]
    if service == "sesv2" and operation == "SendEmail":
        sender = params.get("FromEmailAddress") or _raw_sender(params)
        requests = [Request("ses:SendEmail", arn("ses", f"identity/{sender}"))]
        if params.get("ConfigurationSetName"):
            configuration_set = arn("ses", f"configuration-set/{params['ConfigurationSetName']}")
            requests.append(Request("ses:SendEmail", configuration_set))
        return requests
    if service == "sesv2" and operation in ("GetEmailIdentity", "CreateEmailIdentity", "DeleteEmailIdentity"):
        return [Request(f"ses:{operation}", arn("ses", f"identity/{params['EmailIdentity']}"))]
    if service == "secretsmanager":
        secret = (response or {}).get("ARN") or arn("secretsmanager", f"secret:{params.get('SecretId')}")
        return [Request(f"secretsmanager:{operation}", secret)]
    return [Request(f"{'ses' if service == 'sesv2' else service}:{operation}", "*")]


def _raw_sender(params: Mapping[str, Any]) -> str:
    raw = params.get("Content", {}).get("Raw", {}).get("Data", b"")
    headers = BytesHeaderParser().parsebytes(raw if isinstance(raw, bytes) else str(raw).encode())
    return parseaddr(headers.get("From", ""))[1] or "*"
