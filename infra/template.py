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
from chalicelib.functions import (
    APPLICATION_LOG_LEVEL,
    SYSTEM_LOG_LEVEL,
    FunctionSpec,
    consumer_of,
    function_spec,
)
from chalicelib.resources import (
    CAMPAIGN_SEND,
    FANOUT,
    FEEDBACK,
    FEEDBACK_EVENT_TYPES,
    FEEDBACK_TOPIC,
    IMPORTS,
    INBOUND_MAIL,
    INBOUND_MAIL_TOPIC,
    OUTBOX,
    QUEUES,
    SIGNUPS,
    SMS_INBOUND,
    SMS_INBOUND_TOPIC,
    TRACKING,
    QueueSpec,
)
from chalicelib.store.models import ALL_MODELS
from chalicelib.store.schema import table_definition
from infra.iam import for_template, policy_statements

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
# The front's own: "1" when the operator declares a CloudFront in front of its URL
# (chalicelib/config.py believes CloudFront-Viewer-Country only then).
BEHIND_CLOUDFRONT_VARIABLE = "TIDINGS_TRACKING_BEHIND_CLOUDFRONT"
_BEHIND_CLOUDFRONT_DECLARED = "TrackingBehindCloudFrontDeclared"
# The longest SQS keeps a message: a dead letter must outlive its first enqueue time, which
# SQS keeps when it moves the message, and give people time to look at it.
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600
# The age of a queue's oldest message at which its alarm sounds. A consumer that stops without
# failing a message (its event source mapping disabled, a role that fails before the handler
# runs, the drain's schedule off) sends nothing to the dead-letter queue: only this age shows it.
# Above what the consumer normally takes: seconds for a trigger, plus a retry's visibility
# timeout; a run every 4 minutes for the tracking drain, plus the 12 minutes a crashed run's
# messages stay hidden. Imports queue a file's chunks all at once (a 5 MB file is some 250) for
# five importers. Far below the retention (QueueSpec.retention_seconds, a week): the alarm leaves
# days to restart the consumer.
QUEUE_AGE_ALARM_MINUTES: dict[QueueSpec, int] = {
    # Mail and SMS not yet sent: how late sending runs.
    OUTBOX: 15, FANOUT: 15, CAMPAIGN_SEND: 15,
    # Bounces and complaints (P12, P26), STOP replies (P06, P12), mailto unsubscribes (P07), signups
    # waiting for their confirmation mail (P01).
    FEEDBACK: 15, SMS_INBOUND: 15, INBOUND_MAIL: 15, SIGNUPS: 15,
    IMPORTS: 60,
    # Opens and clicks not yet counted (P13).
    TRACKING: 20,
}
# SES reviews an account at 5% bounces and 0.1% complaints (pausing it at 10% and 0.5%): the
# alarms sound before it reviews.
SES_BOUNCE_RATE_ALARM = 0.04
SES_COMPLAINT_RATE_ALARM = 0.0008


@dataclass(frozen=True)
class LambdaFunction:
    """A function Chalice generates, by its logical ids in Chalice's template, and its name in
    chalicelib/functions.py. Without `autogen_policy` Chalice gives each function its own role,
    whose policy this template replaces with the one generated from the function's declaration."""

    function_id: str
    role_id: str
    name: str
    # Run by an EventBridge schedule (an asynchronous invocation).
    scheduled: bool = False

    @property
    def spec(self) -> FunctionSpec:
        return function_spec(self.name)

    @property
    def log_group_id(self) -> str:
        return f"{self.function_id}LogGroup"


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

    Each function gets its declared configuration (chalicelib/functions.py), a role whose only
    policy is the one generated from what it touches, a log group with retention, and alarms on
    its errors and throttles. When the open/click front (TRACKING_FRONT_ID) is among them, it
    gets a public function URL, and every other function builds open and click links on that
    URL (TIDINGS_TRACKING_BASE_URL).

    Raises ValueError if a handler consumes a queue that resources.QUEUES does not declare
    under this prefix (the deployed mapping would point at a queue nobody creates), or a
    function has no declaration.
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
    resources.update(_alarm_topic(settings))
    resources.update(_queue_age_alarms(settings))
    resources.update(_ses_alarms(settings))
    for function in functions:
        spec = function.spec
        variables = lambda_environment(settings)
        # Not the front's own: its URL is made after it (a cycle), and it builds no links.
        if serves_tracking and function.function_id != TRACKING_FRONT_ID:
            variables[TRACKING_BASE_URL_VARIABLE] = tracking_base_url()
        if function.function_id == TRACKING_FRONT_ID:
            variables[BEHIND_CLOUDFRONT_VARIABLE] = {"Fn::If": [_BEHIND_CLOUDFRONT_DECLARED, "1", "0"]}
        properties: dict[str, Any] = {
            # Named, so its log group (created first, with retention) has a known name.
            "FunctionName": settings.resource_name(function.name),
            "Environment": {"Variables": variables},
            "Timeout": spec.timeout_seconds,
            "MemorySize": spec.memory_mb,
            "Architectures": [spec.architecture],
            "LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": APPLICATION_LOG_LEVEL,
                              "SystemLogLevel": {"Ref": SYSTEM_LOG_LEVEL_PARAMETER}},
        }
        if spec.reserved_concurrency is not None:
            properties["ReservedConcurrentExecutions"] = {"Ref": _reserved_concurrency_parameter(spec)}
        if function.function_id == API_HANDLER_ID:
            # Chalice points it at app.py; its own entry loads the routes without the workers.
            properties["Handler"] = API_HANDLER_ENTRY
        if spec.warm_every_minutes is not None:
            properties["Events"] = _warm_up_schedule(function)
        resources[function.function_id] = {"Properties": properties, "Metadata": _function_skips(function),
                                           "DependsOn": [function.log_group_id]}
        resources[function.log_group_id] = _log_group(settings, function)
        resources[function.role_id] = _role(settings, function)
        resources.update(_function_alarms(settings, function))
    for handler, queue in handled.items():
        function = resources.setdefault(handler.function_id, {"Properties": {}})
        function["DependsOn"] = [queue_id(queue), *function.get("DependsOn", [])]
        # Beside its warm-up schedule, if it has one.
        function["Properties"]["Events"] = {**function["Properties"].get("Events", {}),
                                            **_report_batch_item_failures(handler)}
    template: dict[str, Any] = {
        "Parameters": _parameters(functions),
        "Resources": resources,
        "Outputs": {
            "AlarmTopicArn": {"Value": {"Ref": ALARM_TOPIC_ID}},
            "FeedbackTopicArn": {"Value": {"Ref": FEEDBACK_TOPIC_ID}},
            "InboundMailTopicArn": {"Value": {"Ref": INBOUND_MAIL_TOPIC_ID}},
            "SmsInboundTopicArn": {"Value": {"Ref": SMS_INBOUND_TOPIC_ID}},
            "ConfigurationSetName": {"Value": {"Ref": CONFIGURATION_SET_ID}},
        },
    }
    if any(function.function_id == API_HANDLER_ID for function in functions):
        resources[REST_API_ID] = _api_throttling()
        resources[REST_API_ID]["Metadata"] = _skips(
            {"CKV_AWS_76": "access logs would hold every caller's IP address (contact data, P15)",
             "CKV_AWS_73": "X-Ray traces cost per request; Powertools logs and metrics cover each call",
             "CKV_AWS_120": "answers are per key and change with every write: nothing to cache"},
            {"ES2000": "access logs would hold every caller's IP address (contact data, P15)",
             "WS2002": "X-Ray traces cost per request; Powertools logs and metrics cover each call"})
    if serves_tracking:
        _add_tracking_function_url(template)
    return template


SYSTEM_LOG_LEVEL_PARAMETER = "LambdaSystemLogLevel"
API_HANDLER_ID = "APIHandler"
API_HANDLER_ENTRY = "chalicelib.lambdas.api_handler.handler"
# Chalice's logical id of the REST API (an AWS::Serverless::Api).
REST_API_ID = "RestAPI"


def lambda_environment(settings: Settings) -> dict[str, Any]:
    """What every Lambda reads through chalicelib/config.py, for the resources of this template.

    No secret: config.py reads them from Secrets Manager at run time (resources.SECRETS, named
    `<prefix>/<name>`), so none is in the template or readable in a function's configuration.
    """
    prefix = settings.resource_prefix
    return {
        "TIDINGS_PREFIX": prefix,
        "TIDINGS_CONFIGURATION_SET": settings.configuration_set,
        "TIDINGS_PUBLIC_BASE_URL": {"Ref": "PublicBaseUrl"},
        "TIDINGS_DEFAULT_SENDER": {"Ref": "DefaultSender"},
        "TIDINGS_OPERATOR_EMAIL": {"Ref": "OperatorEmail"},
        # Packaged in (infra/package.py --ses-rate): the campaign sender's trigger follows it.
        "TIDINGS_SES_MAX_SEND_RATE": f"{settings.ses_max_send_rate:g}",
    }


def _function_skips(function: LambdaFunction) -> dict[str, Any]:
    checkov = {
        "CKV_AWS_116": "failed work stays on its queue and reaches that queue's dead-letter queue",
        "CKV_AWS_117": "no private resource to reach; a VPC would need NAT or endpoints for every AWS API",
        "CKV_AWS_173": "no secret in the environment: secrets are read from Secrets Manager at run time",
    }
    if function.spec.reserved_concurrency is None:
        checkov["CKV_AWS_115"] = ("capped by its queue trigger's MaximumConcurrency (or the API's throttling "
                                  "and its schedule); a reserve would take from the shared pool")
    cfn_lint = {"WS1000": "X-Ray traces cost per invocation; Powertools logs and metrics cover each call"}
    if function.scheduled or function.spec.warm_every_minutes is not None:
        reason = "a failed scheduled run is retried twice by Lambda, alarmed on, and redone by the next run"
        cfn_lint.update({"ES1007": reason, "ES4000": reason})
    if function.spec.warm_every_minutes is not None:
        cfn_lint["WS1002"] = ("its warm-up schedule (EventBridge) invokes it besides its requests or queue; "
                              "the handler tells them apart (chalicelib/warm_up.py)")
    return _skips(checkov, cfn_lint)


def _warm_up_schedule(function: LambdaFunction) -> dict[str, Any]:
    """An EventBridge schedule that invokes the function with its Scheduled Event (the handler
    tells it from its work, chalicelib/warm_up.is_warm_up); SAM adds the rule and the
    permission for EventBridge to invoke it."""
    minutes = function.spec.warm_every_minutes
    unit = "minute" if minutes == 1 else "minutes"
    return {function.function_id + "WarmUp": {
        "Type": "Schedule", "Properties": {"Schedule": f"rate({minutes} {unit})"}}}


def _reserved_concurrency_parameter(spec: FunctionSpec) -> str:
    return to_cfn_resource_name(spec.name) + "ReservedConcurrency"


def _role(settings: Settings, function: LambdaFunction) -> dict[str, Any]:
    """The function's role gets exactly its generated policy and writing its own log group
    (replacing Chalice's policy, which allowed every log group of the account)."""
    logs = {"Sid": "WriteOwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [{"Fn::Sub": ["${Arn}:*", {"Arn": {"Fn::GetAtt": [function.log_group_id, "Arn"]}}]}]}
    statements = [logs, *for_template(policy_statements(function.spec, settings))]
    skips = {"CKV_AWS_111": "SMS to phone numbers: AWS cannot scope sns:Publish to one"} \
        if function.spec.touches.sends_sms else {}
    return {"Metadata": _skips(skips), "Properties": {"Policies": [{
        "PolicyName": f"{function.function_id}Policy",
        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
    }]}}


def _log_group(settings: Settings, function: LambdaFunction) -> dict[str, Any]:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Metadata": _skips({"CKV_AWS_158": "CloudWatch Logs' own encryption; a KMS key would cost $1 a "
                                           "month and the logs hold no contact data"}),
        "Properties": {
            "LogGroupName": f"/aws/lambda/{settings.resource_name(function.name)}",
            "RetentionInDays": {"Ref": "LogRetentionDays"},
        },
    }


def _skips(checkov: dict[str, str], cfn_lint: dict[str, str] | None = None) -> dict[str, Any]:
    """Metadata that skips scanner findings inline, each with its one-line reason."""
    metadata: dict[str, Any] = {}
    if checkov:
        metadata["checkov"] = {"skip": [{"id": rule, "comment": reason} for rule, reason in checkov.items()]}
    if cfn_lint:
        metadata["cfn-lint"] = {"config": {"ignore_checks": sorted(cfn_lint)}}
        metadata["cfn-lint-reasons"] = cfn_lint
    return metadata


def _alarm(name: str, description: str, namespace: str, metric: str, dimensions: list[dict[str, Any]],
           statistic: str, threshold: float, period: int = 300) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": name,
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": period,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": ALARM_TOPIC_ID}],
        },
    }


def _function_alarms(settings: Settings, function: LambdaFunction) -> dict[str, Any]:
    """An alarm when the function fails, and one when Lambda throttles it."""
    dimensions = [{"Name": "FunctionName", "Value": {"Ref": function.function_id}}]
    return {
        f"{function.function_id}ErrorsAlarm": _alarm(
            settings.resource_name(f"{function.name}-errors"),
            f"{function.name} raised or timed out (its batch is retried; see its log group).",
            "AWS/Lambda", "Errors", dimensions, "Sum", 0),
        f"{function.function_id}ThrottlesAlarm": _alarm(
            settings.resource_name(f"{function.name}-throttles"),
            f"Lambda throttled {function.name}: the account's or its own concurrency limit was reached.",
            "AWS/Lambda", "Throttles", dimensions, "Sum", 0),
    }


def _queue_age_alarms(settings: Settings) -> dict[str, Any]:
    """For every queue, an alarm when its oldest message has waited too long: its consumer is
    stopped or behind (QUEUE_AGE_ALARM_MINUTES)."""
    return {
        to_cfn_resource_name(queue.logical_name) + "AgeAlarm": _alarm(
            settings.resource_name(f"{queue.logical_name}-oldest-message"),
            f"A message has waited on the {queue.logical_name} queue over {QUEUE_AGE_ALARM_MINUTES[queue]} "
            f"minutes: {consumer_of(queue).name} is stopped or behind (its messages are dropped after "
            f"{queue.retention_seconds // 86400} days).",
            "AWS/SQS", "ApproximateAgeOfOldestMessage",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id(queue), "QueueName"]}}],
            "Maximum", QUEUE_AGE_ALARM_MINUTES[queue] * 60)
        for queue in QUEUES
    }


def _ses_alarms(settings: Settings) -> dict[str, Any]:
    """SES reputation, before SES acts."""
    return {
        "SesBounceRateAlarm": _alarm(
            settings.resource_name("ses-bounce-rate"),
            "The account's SES bounce rate nears 5%, where SES reviews (and at 10% pauses) sending.",
            "AWS/SES", "Reputation.BounceRate", [], "Maximum", SES_BOUNCE_RATE_ALARM, period=3600),
        "SesComplaintRateAlarm": _alarm(
            settings.resource_name("ses-complaint-rate"),
            "The account's SES complaint rate nears 0.1%, where SES reviews (and at 0.5% pauses) sending.",
            "AWS/SES", "Reputation.ComplaintRate", [], "Maximum", SES_COMPLAINT_RATE_ALARM, period=3600),
    }


def _alarm_topic(settings: Settings) -> dict[str, Any]:
    """The topic every alarm notifies, the AlarmEmail subscription, and the policy that lets
    CloudWatch publish to it for this account's alarms only."""
    alarms = {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"}
    return {
        ALARM_TOPIC_ID: {
            "Type": "AWS::SNS::Topic",
            "Metadata": _skips({"CKV_AWS_26": "SNS-managed encryption needs a customer key whose policy "
                                              "admits CloudWatch; alarm notices hold no contact data"}),
            "Properties": {"TopicName": settings.resource_name("alarms")},
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Metadata": _skips({}, {"ES7000": "an e-mail that cannot be delivered has nowhere better to go"}),
            "Properties": {"Protocol": "email", "TopicArn": {"Ref": ALARM_TOPIC_ID},
                           "Endpoint": {"Ref": "AlarmEmail"}},
        },
        "AlarmTopicPolicy": _topic_policy(ALARM_TOPIC_ID, "CloudWatchAlarmsPublish",
                                          ["cloudwatch.amazonaws.com"],
                                          {"ArnLike": {"aws:SourceArn": alarms}}),
    }


def _api_throttling() -> dict[str, Any]:
    """Stage-wide throttling of the REST API (per method and account, below AWS's own limits)."""
    return {"Properties": {"MethodSettings": [{
        "ResourcePath": "/*",
        "HttpMethod": "*",
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
    }]}}


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
            "Metadata": _skips({"CKV_AWS_258": "the open pixel and click links in mail: a mail client cannot "
                                               "sign its requests; the tokens are signed instead"}),
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
    template["Parameters"]["TrackingBehindCloudFront"] = {
        "Type": "String",
        "Description": "true only when a CloudFront distribution that sets CloudFront-Viewer-Country fronts "
                       "the tracking function URL: the front then takes the viewer's country from that "
                       "header; false: from the caller's IP, as any caller may write the header",
        "Default": "false",
        "AllowedValues": ["false", "true"],
    }
    template["Conditions"] = {
        _TRACKING_BASE_URL_GIVEN: {"Fn::Not": [{"Fn::Equals": [{"Ref": "TrackingBaseUrl"}, ""]}]},
        _BEHIND_CLOUDFRONT_DECLARED: {"Fn::Equals": [{"Ref": "TrackingBehindCloudFront"}, "true"]},
    }


def _parameters(functions: Sequence[LambdaFunction]) -> dict[str, Any]:
    parameters: dict[str, Any] = {
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
        "OperatorEmail": {
            "Type": "String",
            "Description": "An operator's mailbox: the Reply-To of the platform's notices to an account",
            "AllowedPattern": r"^[^@\s]+@[^@\s]+$",
        },
        "AlarmEmail": {
            "Type": "String",
            "Description": "Who is told when an alarm sounds (SNS asks this address to confirm first)",
            "AllowedPattern": r"^[^@\s]+@[^@\s]+$",
        },
        SYSTEM_LOG_LEVEL_PARAMETER: {
            "Type": "String",
            "Description": "Lambda's own log lines (START/END/REPORT at INFO) kept in every function's logs",
            "Default": SYSTEM_LOG_LEVEL,
            "AllowedValues": ["DEBUG", "INFO", "WARN"],
        },
        "LogRetentionDays": {
            "Type": "Number",
            "Description": "Days every function's log group keeps its logs",
            "Default": 30,
            "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                              2192, 2557, 2922, 3288, 3653],
        },
        "ApiThrottlingRateLimit": {
            "Type": "Number",
            "Description": "Requests per second the REST API accepts per method before answering 429",
            "Default": 50,
            "MinValue": 1,
        },
        "ApiThrottlingBurstLimit": {
            "Type": "Number",
            "Description": "Requests the REST API accepts at once per method before answering 429",
            "Default": 100,
            "MinValue": 1,
        },
    }
    for function in functions:
        spec = function.spec
        if spec.reserved_concurrency is not None:
            parameters[_reserved_concurrency_parameter(spec)] = {
                "Type": "Number",
                "Description": f"Concurrency reserved for (and capping) {spec.name}; the account keeps "
                               "at least 100 unreserved",
                "Default": spec.reserved_concurrency,
                "MinValue": 1,
            }
    return parameters


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
        # Not even an operator's stray `delete-table` takes consent proof or suppressions.
        "DeletionProtectionEnabled": True,
    }
    if ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": ttl_attribute, "Enabled": True}
    # Consent proof and suppressions must survive a deleted or replaced stack; retention
    # purges, not stack operations, decide when data goes.
    return {
        "Type": "AWS::DynamoDB::Table",
        "Metadata": _skips({"CKV_AWS_119": "encrypted at rest with DynamoDB's AWS-owned key (SSEEnabled); "
                                           "a customer key would cost $1 a month per table"}),
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


_QUEUE_SKIPS = {"CKV_AWS_27": "encrypted at rest by SQS-managed SSE (SqsManagedSseEnabled), no key to manage"}
_SUBSCRIPTION_SKIPS = {"ES7000": "SNS retries delivery to its own account's queue for days; that queue has "
                                 "its dead-letter queue"}


def _queue_with_dead_letters(queue: QueueSpec, settings: Settings) -> dict[str, Any]:
    dlq_id = dead_letter_queue_id(queue)
    alarm_id = to_cfn_resource_name(queue.logical_name) + "DeadLetterAlarm"
    return {
        dlq_id: {
            "Type": "AWS::SQS::Queue",
            "Metadata": _skips(_QUEUE_SKIPS, {"ES6000": "it is the dead-letter queue: its messages wait "
                                                        "for a person, not another redrive"}),
            "Properties": {
                "QueueName": settings.resource_name(queue.dead_letter_name),
                "MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
            },
        },
        queue_id(queue): {
            "Type": "AWS::SQS::Queue",
            "Metadata": _skips(_QUEUE_SKIPS),
            "Properties": {
                "QueueName": settings.resource_name(queue.logical_name),
                "MessageRetentionPeriod": queue.retention_seconds,
                "VisibilityTimeout": queue.visibility_timeout_seconds,
                "MaximumMessageSize": queue.max_message_bytes,
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


_TOPIC_SKIPS = {"CKV_AWS_26": "SNS-managed encryption needs a customer key whose policy admits the "
                              "publishing service; the topic carries ids and tags, not contact data"}


def _topic_policy(topic_id: str, sid: str, services: list[str], condition: dict[str, Any]) -> dict[str, Any]:
    """Let AWS `services` publish to the topic, only for this account's own resources."""
    conditions = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}, **condition}
    return {
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
                    "Condition": conditions,
                }],
            },
        },
    }


def _topic_into_queue(
    name: str, topic_id: str, topic_name: str, queue: QueueSpec, publisher: dict[str, Any],
) -> dict[str, Any]:
    """An SNS topic subscribed by an SQS queue (the SNS envelope kept, as the workers expect),
    the queue policy letting that topic (and only it) send to it, and `publisher`, the topic
    policy letting the AWS service that publishes to it do so."""
    queue_ref = queue_id(queue)
    return {
        topic_id: {"Type": "AWS::SNS::Topic", "Metadata": _skips(_TOPIC_SKIPS),
                   "Properties": {"TopicName": topic_name}},
        f"{name}TopicSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Metadata": _skips({}, _SUBSCRIPTION_SKIPS),
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
        f"{name}TopicPolicy": publisher,
    }


def _feedback_path(settings: Settings) -> dict[str, Any]:
    """SES configuration set → SNS topic → SQS feedback queue, as local/provision.py builds locally.
    SES may publish to the topic only for this account's configuration set: feedback no message
    record matches relies on it to suppress for the account its tags name
    (chalicelib/services/unmatched_feedback.py)."""
    configuration_set_arn = {"Fn::Sub": ("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
                                         f"configuration-set/{settings.configuration_set}")}
    publisher = _topic_policy(FEEDBACK_TOPIC_ID, "SesEventPublishing", ["ses.amazonaws.com"],
                              {"ArnEquals": {"aws:SourceArn": configuration_set_arn}})
    return {
        **_topic_into_queue("Feedback", FEEDBACK_TOPIC_ID, settings.resource_name(FEEDBACK_TOPIC), FEEDBACK,
                            publisher),
        CONFIGURATION_SET_ID: {
            "Type": "AWS::SES::ConfigurationSet",
            "Properties": {"Name": settings.configuration_set},
        },
        "FeedbackEventDestination": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            # SES checks it may publish when the destination is created.
            "DependsOn": ["FeedbackTopicPolicy"],
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
    """SNS topic → SQS inbound-mail queue for mailto unsubscribes (P07). SES receiving may publish
    to the topic from this account's receipt rules; the rule itself (recipient
    unsubscribe@<sender domain>, SNS action, UTF-8) belongs to the operator's active receipt rule
    set, which CloudFormation cannot activate (infra/README.md)."""
    receipt_rules = {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
                                "receipt-rule-set/*"}
    publisher = _topic_policy(INBOUND_MAIL_TOPIC_ID, "SesReceivingPublishes", ["ses.amazonaws.com"],
                              {"ArnLike": {"aws:SourceArn": receipt_rules}})
    return _topic_into_queue("InboundMail", INBOUND_MAIL_TOPIC_ID, settings.resource_name(INBOUND_MAIL_TOPIC),
                             INBOUND_MAIL, publisher)


def _sms_inbound_path(settings: Settings) -> dict[str, Any]:
    """SNS topic → SQS sms-inbound queue for replies to our SMS (STOP, P06/P12). The operator
    points the origination number's two-way SMS at this topic (AWS End User Messaging SMS, which
    publishes from this account)."""
    publisher = _topic_policy(SMS_INBOUND_TOPIC_ID, "TwoWaySmsPublishes",
                              ["sms-voice.amazonaws.com", "sns.amazonaws.com"], {})
    return _topic_into_queue("SmsInbound", SMS_INBOUND_TOPIC_ID, settings.resource_name(SMS_INBOUND_TOPIC),
                             SMS_INBOUND, publisher)


def _report_batch_item_failures(handler: SqsHandler) -> dict[str, Any]:
    # Chalice does not set FunctionResponseTypes (aws/chalice#2029): without it Lambda ignores
    # the batchItemFailures the worker returns and retries the whole batch. (Chalice names the
    # queue by an ARN string, not a Ref, hence the function's DependsOn above: CloudFormation
    # must create the queue, and the permission to poll it, before the mapping that checks both.)
    return {handler.event_id: {"Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]}}}
