"""The deployable template: built by `chalice package` with the generated merge template, it must
pass cfn-lint (with the serverless rules) and checkov, and hold exactly the tables the models
declare, the queues with their dead-letter queues and alarms, the SES feedback path, batch-failure
reporting, the tracking function URL, each function as chalicelib/functions.py declares it with its
own generated role, a policy for every AWS service that publishes to it, and no local-only routes
and no secret."""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.utils import to_cfn_resource_name
from pynamodb.attributes import TTLAttribute

from chalicelib.config import read_settings
from chalicelib.functions import FUNCTIONS, KEEP_WARM_MINUTES, consumer_of
from chalicelib.resources import (
    CAMPAIGN_SEND,
    FANOUT,
    FEEDBACK,
    FEEDBACK_TOPIC,
    INBOUND_MAIL,
    INBOUND_MAIL_TOPIC,
    OUTBOX,
    QUEUES,
    SIGNUPS,
    SMS_INBOUND,
    QueueSpec,
)
from chalicelib.store.models import ALL_MODELS
from infra.iam import for_template, policy_statements
from infra.package import build, chalice_function_id, check_merged
from infra.template import (
    ALARM_TOPIC_ID,
    BEHIND_CLOUDFRONT_VARIABLE,
    FEEDBACK_TOPIC_ID,
    INBOUND_MAIL_TOPIC_ID,
    SMS_INBOUND_TOPIC_ID,
    TRACKING_BASE_URL_VARIABLE,
    TRACKING_FRONT_ID,
    LambdaFunction,
    SqsHandler,
    build_merge_template,
    queue_id,
    tracking_base_url,
)

PREFIX = "tidings"


# --- the packaged template (one `chalice package` per test session) ----------------------------


@pytest.fixture(scope="session")
def template_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Package once per session; xdist workers share one build through a lock, since the
    packager installs the Lambda dependencies and shares its cache in .chalice/deployments."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's directory, above each worker's own
    out = root / "chalice-package"
    with open(root / "chalice-package.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "sam.json").exists():
            build(stage="prod", out=out, prefix=PREFIX)
    return out / "sam.json"


@pytest.fixture(scope="session")
def template(template_path: Path) -> dict[str, Any]:
    return json.loads(template_path.read_text())


def _of_type(template: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == cfn_type}


def _queue_named(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    matches = [
        (logical_id, queue)
        for logical_id, queue in _of_type(template, "AWS::SQS::Queue").items()
        if queue["Properties"]["QueueName"] == name
    ]
    assert len(matches) == 1, f"expected one queue named {name}, found {len(matches)}"
    return matches[0]


def _sqs_events(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(function id, function, event properties) for every SQS event source. SAM turns each into
    an AWS::Lambda::EventSourceMapping, passing FunctionResponseTypes through."""
    for name, function in _of_type(template, "AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                yield name, function, event["Properties"]


def test_template_passes_cfn_lint_with_the_serverless_rules(template_path: Path) -> None:
    from cfnlint.api import ManualArgs, lint_file

    # No rule is ignored globally: errors, warnings and informational findings all fail the test,
    # but a resource's Metadata may skip one with its reason (infra/template.py _skips).
    matches = lint_file(template_path, config=ManualArgs(append_rules=["cfn_lint_serverless.rules"]))
    assert [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches] == []


def test_template_passes_checkov(template_path: Path) -> None:
    """Every finding is fixed, or skipped in the resource's Metadata with a one-line reason."""
    checkov = Path(__file__).resolve().parent.parent / ".venv" / "checkov" / "bin" / "checkov"
    assert checkov.exists(), "checkov has its own environment: `make .venv/checkov/.installed`"
    result = subprocess.run(
        [str(checkov), "-f", str(template_path), "--framework", "cloudformation", "--compact",
         "--skip-download", "-o", "json"],
        capture_output=True, text=True, timeout=300,
    )
    report = json.loads(result.stdout)
    failed = [f"{c['check_id']} {c['resource']}" for c in report["results"]["failed_checks"]]
    assert failed == [] and result.returncode == 0, failed or result.stderr[-2000:]
    skipped = report["results"]["skipped_checks"]
    assert skipped and all(check["check_result"].get("suppress_comment", "").strip()
                           for check in skipped), "every skip says why"


def test_tables_match_the_models(template: dict[str, Any]) -> None:
    tables = {t["Properties"]["TableName"]: t for t in _of_type(template, "AWS::DynamoDB::Table").values()}
    assert sorted(tables) == sorted(f"{PREFIX}-{model.Meta.logical_name}" for model in ALL_MODELS)
    for model in ALL_MODELS:
        table = tables[f"{PREFIX}-{model.Meta.logical_name}"]["Properties"]
        attributes = model.get_attributes()
        keys = {name: attr for name, attr in attributes.items() if attr.is_hash_key or attr.is_range_key}
        expected_types = {attr.attr_name: attr.attr_type for attr in keys.values()}
        assert table["KeySchema"] == _key_schema(keys.values()), model.__name__
        indexes = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
        assert sorted(indexes) == sorted(index.Meta.index_name for index in model._indexes.values())
        for index in model._indexes.values():
            deployed = indexes[index.Meta.index_name]
            index_keys = [a for a in index.Meta.attributes.values() if a.is_hash_key or a.is_range_key]
            assert deployed["KeySchema"] == _key_schema(index_keys), index.Meta.index_name
            projection = index.Meta.projection
            expected = {"ProjectionType": projection.projection_type}
            if projection.non_key_attributes:
                expected["NonKeyAttributes"] = projection.non_key_attributes
            assert deployed["Projection"] == expected, index.Meta.index_name
            expected_types.update({a.attr_name: a.attr_type for a in index_keys})
        definitions = table["AttributeDefinitions"]
        assert {a["AttributeName"]: a["AttributeType"] for a in definitions} == expected_types
        assert len(definitions) == len(expected_types)
        ttl = [attr.attr_name for attr in attributes.values() if isinstance(attr, TTLAttribute)]
        if ttl:
            assert table["TimeToLiveSpecification"] == {"AttributeName": ttl[0], "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in table, model.__name__
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["SSESpecification"] == {"SSEEnabled": True}
        assert table["DeletionProtectionEnabled"] is True


def _key_schema(key_attributes: Any) -> list[dict[str, str]]:
    # DynamoDB wants HASH before RANGE.
    by_type = {("HASH" if a.is_hash_key else "RANGE"): a.attr_name for a in key_attributes}
    return [{"AttributeName": by_type[k], "KeyType": k} for k in ("HASH", "RANGE") if k in by_type]


def test_every_sqs_event_source_reports_batch_item_failures(template: dict[str, Any]) -> None:
    events = list(_sqs_events(template))
    assert {name for name, _, _ in events} >= {"SendWorker"}
    for name, _, properties in events:
        assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name
    mappings = _of_type(template, "AWS::Lambda::EventSourceMapping").items()
    for name, mapping in mappings:
        if ":sqs:" in json.dumps(mapping["Properties"]["EventSourceArn"]):
            assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name


def test_every_sqs_event_source_consumes_a_queue_of_the_template(template: dict[str, Any]) -> None:
    for name, function, properties in _sqs_events(template):
        queue_name = properties["Queue"]["Fn::Sub"].rsplit(":", 1)[1]
        queue_id, queue = _queue_named(template, queue_name)
        # AWS asks for six times the function's timeout, plus the batching window.
        window = properties.get("MaximumBatchingWindowInSeconds", 0)
        timeout = function["Properties"]["Timeout"]
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout + window, name
        # The queue is named by an ARN string, so only DependsOn orders the two.
        assert queue_id in function["DependsOn"], name


def test_every_queue_has_a_dead_letter_queue_and_an_alarm_on_it(template: dict[str, Any]) -> None:
    alarms = _of_type(template, "AWS::CloudWatch::Alarm").values()
    for spec in QUEUES:
        _, queue = _queue_named(template, f"{PREFIX}-{spec.logical_name}")
        dlq_id, _ = _queue_named(template, f"{PREFIX}-{spec.dead_letter_name}")
        assert queue["Properties"]["VisibilityTimeout"] == spec.visibility_timeout_seconds
        assert queue["Properties"]["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "maxReceiveCount": read_settings({}).sqs_max_receive_count,
        }
        watching = [
            alarm["Properties"]
            for alarm in alarms
            if alarm["Properties"]["Dimensions"]
            == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
        ]
        assert len(watching) == 1, spec.logical_name
        assert watching[0]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert watching[0]["ComparisonOperator"] == "GreaterThanThreshold"
        assert watching[0]["Threshold"] == 0
        assert watching[0]["AlarmActions"]


@pytest.mark.parametrize("queue", [FANOUT, CAMPAIGN_SEND, OUTBOX], ids=lambda queue: queue.logical_name)
def test_a_campaign_page_or_batch_or_outbox_mail_given_up_on_its_last_receive_sounds_the_dead_letter_alarm(
        template: dict[str, Any], queue: QueueSpec) -> None:
    """The sending workers (the send worker's outbox mail too) give a job up on the receive
    queue_batches.is_last_attempt counts as its last, and report it failed (step.GivenUp): the queue moves
    it on after exactly that many receives, to a dead-letter queue whose alarm notifies the
    operator's topic at the first message."""
    _, source = _queue_named(template, f"{PREFIX}-{queue.logical_name}")
    dlq_id, _ = _queue_named(template, f"{PREFIX}-{queue.dead_letter_name}")
    assert source["Properties"]["RedrivePolicy"]["maxReceiveCount"] == read_settings({}).sqs_max_receive_count
    watching = [alarm["Properties"] for alarm in _of_type(template, "AWS::CloudWatch::Alarm").values()
                if alarm["Properties"]["Dimensions"]
                == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]]
    assert [(alarm["MetricName"], alarm["Threshold"], alarm["AlarmActions"]) for alarm in watching] == [
        ("ApproximateNumberOfMessagesVisible", 0, [{"Ref": ALARM_TOPIC_ID}])]


def _age_alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ApproximateAgeOfOldestMessage alarms, by the logical id of the queue they watch."""
    return {alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: alarm["Properties"]
            for alarm in _of_type(template, "AWS::CloudWatch::Alarm").values()
            if alarm["Properties"]["MetricName"] == "ApproximateAgeOfOldestMessage"}


def test_p12_every_queue_that_carries_opt_outs_feedback_or_signups_alarms_when_it_stops_draining(
        template: dict[str, Any]) -> None:
    """A consumer that stops without failing a message (its event source mapping disabled, a role
    that fails before the handler runs, the drain's schedule off) sends nothing to the
    dead-letter queue, so its alarm never sounds: complaints and bounces (feedback), STOP replies
    (sms-inbound), mailto unsubscribes (inbound-mail), signups waiting for their confirmation
    mail, imports and tracking counts would wait unseen until SQS drops them. Every queue has an
    age alarm (review 12, A4)."""
    alarmed = _age_alarms(template)
    missing = sorted(queue_id(queue) for queue in QUEUES if queue_id(queue) not in alarmed)
    assert missing == []
    for queue in (FEEDBACK, SMS_INBOUND, INBOUND_MAIL, SIGNUPS):
        assert alarmed[queue_id(queue)]["Threshold"] <= 15 * 60, "an opt-out takes effect at once (P07)"
    for alarm in alarmed.values():
        assert (alarm["Statistic"], alarm["ComparisonOperator"]) == ("Maximum", "GreaterThanThreshold")
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def _normal_wait_seconds(queue: QueueSpec) -> int:
    """The longest a message waits while its consumer works: a trigger's batching window and one
    retry after its visibility timeout; a drain's period and a crashed run's hidden messages."""
    consumer = consumer_of(queue)
    if consumer.drain is not None:
        return consumer.drain.every_minutes * 60 + queue.visibility_timeout_seconds
    return consumer.trigger.batching_window_seconds + queue.visibility_timeout_seconds


@pytest.mark.parametrize("queue", QUEUES, ids=lambda queue: queue.logical_name)
def test_p12_each_queue_age_alarm_sounds_above_its_consumers_cadence_and_far_below_its_retention(
        template: dict[str, Any], queue: QueueSpec) -> None:
    """Not at every normal wait (a drain every 4 minutes, a retried batch), and with days left to
    restart the consumer before SQS drops its messages: the retention is explicit, a week, and
    the dead-letter queue keeps a late-moved message longer than its source (AWS's advice)."""
    threshold = _age_alarms(template)[queue_id(queue)]["Threshold"]
    _, deployed = _queue_named(template, f"{PREFIX}-{queue.logical_name}")
    _, dead_letters = _queue_named(template, f"{PREFIX}-{queue.dead_letter_name}")
    retention = deployed["Properties"]["MessageRetentionPeriod"]
    assert retention == queue.retention_seconds == 7 * 24 * 3600
    assert dead_letters["Properties"]["MessageRetentionPeriod"] > retention
    assert _normal_wait_seconds(queue) < threshold <= 3600
    assert 100 * threshold < retention


def test_feedback_path_runs_from_configuration_set_through_topic_to_queue(template: dict[str, Any]) -> None:
    (topic_id,) = [
        name for name, topic in _of_type(template, "AWS::SNS::Topic").items()
        if topic["Properties"]["TopicName"] == f"{PREFIX}-{FEEDBACK_TOPIC}"
    ]
    feedback_id, _ = _queue_named(template, f"{PREFIX}-{FEEDBACK.logical_name}")
    (config_set_id,) = [
        name for name, config_set in _of_type(template, "AWS::SES::ConfigurationSet").items()
        if config_set["Properties"]["Name"] == read_settings({}).configuration_set
    ]
    (destination,) = _of_type(template, "AWS::SES::ConfigurationSetEventDestination").values()
    assert destination["Properties"]["ConfigurationSetName"] == {"Ref": config_set_id}
    event_destination = destination["Properties"]["EventDestination"]
    assert event_destination["SnsDestination"] == {"TopicARN": {"Ref": topic_id}}
    assert {"bounce", "complaint", "reject"} <= set(event_destination["MatchingEventTypes"])
    # Sends are counted by the senders and delivered derived: two events a mail cost more than SES.
    assert not {"send", "delivery"} & set(event_destination["MatchingEventTypes"])
    _assert_topic_feeds_queue(template, topic_id, feedback_id)


def test_p07_inbound_mail_topic_feeds_the_inbound_mail_queue(template: dict[str, Any]) -> None:
    (topic_id,) = [
        name for name, topic in _of_type(template, "AWS::SNS::Topic").items()
        if topic["Properties"]["TopicName"] == f"{PREFIX}-{INBOUND_MAIL_TOPIC}"
    ]
    queue_id, _ = _queue_named(template, f"{PREFIX}-{INBOUND_MAIL.logical_name}")
    _assert_topic_feeds_queue(template, topic_id, queue_id)
    (topic_policy,) = [policy for policy in _of_type(template, "AWS::SNS::TopicPolicy").values()
                       if policy["Properties"]["Topics"] == [{"Ref": topic_id}]]
    (statement,) = topic_policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}


def _assert_topic_feeds_queue(template: dict[str, Any], topic_id: str, queue_id: str) -> None:
    (subscription,) = [subscription for subscription in _of_type(template, "AWS::SNS::Subscription").values()
                       if subscription["Properties"]["TopicArn"] == {"Ref": topic_id}]
    assert subscription["Properties"]["Endpoint"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    (policy,) = [policy for policy in _of_type(template, "AWS::SQS::QueuePolicy").values()
                 if policy["Properties"]["Queues"] == [{"Ref": queue_id}]]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Ref": topic_id}}}


def test_no_local_only_route_is_deployed(template: dict[str, Any]) -> None:
    (api,) = _of_type(template, "AWS::Serverless::Api").values()
    paths = list(api["Properties"]["DefinitionBody"]["paths"])
    assert paths, "the API has no routes at all"
    assert [path for path in paths if path.startswith("/_local")] == []
    assert "/_local" not in json.dumps(template)


def test_every_lambda_runs_its_handler_through_its_own_entry(template: dict[str, Any]) -> None:
    """Through its entry (chalicelib/lambdas/), a function's tables are bound and the middleware
    applies (aws/chalice#1566), and it imports only its own handlers."""
    import importlib.util

    handlers = {name: function["Properties"]["Handler"]
                for name, function in _of_type(template, "AWS::Serverless::Function").items()}
    assert handlers.pop("APIHandler") == "chalicelib.lambdas.api_handler.handler"
    assert handlers and all(handler.startswith("chalicelib.lambdas.") for handler in handlers.values())
    for handler in handlers.values():
        module, attribute = handler.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), attribute)), handler
    # The API's entry registers the routes app.py holds here: Chalice takes a blueprint's routes
    # into one app a process, so it is imported alone (tests/test_lambda_entries.py).
    assert importlib.util.find_spec("chalicelib.lambdas.api_handler") is not None


def test_a_worker_imported_as_lambda_does_finds_its_tables_bound() -> None:
    """Lambda imports the entry and takes the handler from it: nothing else runs first."""
    script = ("from chalicelib.lambdas import send_worker\n"
              "from chalicelib.store.models import MessageRecord\n"
              "assert send_worker.handler and MessageRecord.Meta.table_name != 'unbound'\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_lambdas_run_with_the_template_resource_names_and_no_secret(template: dict[str, Any]) -> None:
    functions = _of_type(template, "AWS::Serverless::Function")
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["TIDINGS_PREFIX"] == PREFIX, name
        assert variables["TIDINGS_CONFIGURATION_SET"] == read_settings({}).configuration_set, name
        assert not [key for key in variables if "SECRET" in key], name
    # Secrets are read at run time (chalicelib/config.py), never resolved into the template.
    assert "resolve:secretsmanager" not in json.dumps(template)


def test_each_function_runs_as_declared_with_its_own_role(template: dict[str, Any]) -> None:
    """Timeout, memory, architecture, reserve and queue trigger as chalicelib/functions.py says;
    one role per function, whose only policy is the one generated from what it touches."""
    functions = _of_type(template, "AWS::Serverless::Function")
    assert sorted(functions) == sorted(to_cfn_resource_name(spec.name) if spec.name != "api_handler"
                                       else "APIHandler" for spec in FUNCTIONS)
    roles = [function["Properties"]["Role"]["Fn::GetAtt"][0] for function in functions.values()]
    assert len(set(roles)) == len(roles), "no two functions share a role"
    assert _of_type(template, "AWS::IAM::Policy") == {}, "no policy shared between roles"
    for spec in FUNCTIONS:
        function_id = "APIHandler" if spec.name == "api_handler" else to_cfn_resource_name(spec.name)
        properties = functions[function_id]["Properties"]
        assert properties["Timeout"] == spec.timeout_seconds, spec.name
        assert properties["MemorySize"] == spec.memory_mb, spec.name
        assert properties["Architectures"] == [spec.architecture] == ["arm64"], spec.name
        if spec.reserved_concurrency is None:
            assert "ReservedConcurrentExecutions" not in properties, spec.name
        else:
            parameter = properties["ReservedConcurrentExecutions"]["Ref"]
            assert template["Parameters"][parameter]["Default"] == spec.reserved_concurrency
        events = [event["Properties"] for event in properties.get("Events", {}).values()
                  if event["Type"] == "SQS"]
        if spec.trigger is None:
            assert events == [], spec.name
        else:
            (event,) = events
            assert event["BatchSize"] == spec.trigger.batch_size, spec.name
            assert event["MaximumBatchingWindowInSeconds"] == spec.trigger.batching_window_seconds, spec.name
            assert event["ScalingConfig"]["MaximumConcurrency"] == spec.trigger.maximum_concurrency, spec.name
            _, queue = _queue_named(template, f"{PREFIX}-{spec.trigger.queue.logical_name}")
            assert queue["Properties"]["VisibilityTimeout"] == spec.queue_visibility_timeout_seconds
        role = template["Resources"][properties["Role"]["Fn::GetAtt"][0]]["Properties"]
        (policy,) = role["Policies"]
        statements = policy["PolicyDocument"]["Statement"]
        assert statements[0]["Sid"] == "WriteOwnLogs"
        deployed = read_settings({"TIDINGS_PREFIX": PREFIX})
        assert statements[1:] == for_template(policy_statements(spec, deployed)), spec.name


def test_no_grant_on_every_resource_but_sms_and_only_to_the_sms_senders(template: dict[str, Any]) -> None:
    """The opted-out list is granted on "*" (SNS cannot scope it); SMS Publish on everything but
    SNS's ARNs, so on no topic (P28, review 12)."""
    sms_senders, texters = set(), set()
    not_a_topic = [{"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"}]
    for role_id, role in _of_type(template, "AWS::IAM::Role").items():
        for policy in role["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                if "NotResource" in statement:
                    assert statement == {"Sid": "SendSms", "Effect": "Allow", "Action": ["sns:Publish"],
                                         "NotResource": not_a_topic}, role_id
                    texters.add(role_id)
                    continue
                resources = statement["Resource"] if isinstance(statement["Resource"], list) \
                    else [statement["Resource"]]
                if "*" in resources:
                    assert set(statement["Action"]) <= {"sns:ListPhoneNumbersOptedOut",
                                                        "sns:CheckIfPhoneNumberIsOptedOut"}, role_id
                    sms_senders.add(role_id)
                assert not any(isinstance(r, str) and r.startswith("arn:*") for r in resources), role_id
    # The inbound-SMS worker texts answers to keyword replies (STOP, HELP, START).
    assert sms_senders == texters == {"ApiHandlerRole", "CampaignSendWorkerRole", "SmsInboundWorkerRole"}


def test_the_tracking_front_may_only_queue_events(template: dict[str, Any]) -> None:
    role = template["Resources"]["TrackingFrontRole"]["Properties"]
    (policy,) = role["Policies"]
    grants = {(action, json.dumps(resource)) for statement in policy["PolicyDocument"]["Statement"]
              for action in statement["Action"] for resource in statement["Resource"]}
    assert {action for action, _ in grants} == {"logs:CreateLogStream", "logs:PutLogEvents",
                                                "sqs:GetQueueUrl", "sqs:SendMessage",
                                                "secretsmanager:GetSecretValue"}
    queue_grants = {resource for action, resource in grants if action.startswith("sqs:")}
    assert len(queue_grants) == 1 and f":{PREFIX}-tracking" in queue_grants.pop()


def test_every_function_has_a_log_group_with_retention_and_alarms(template: dict[str, Any]) -> None:
    groups = {group["Properties"]["LogGroupName"]: group["Properties"]
              for group in _of_type(template, "AWS::Logs::LogGroup").values()}
    alarms = [alarm["Properties"] for alarm in _of_type(template, "AWS::CloudWatch::Alarm").values()]
    watched = {(a["MetricName"], json.dumps(a["Dimensions"])) for a in alarms}
    for function_id, function in _of_type(template, "AWS::Serverless::Function").items():
        name = function["Properties"]["FunctionName"]
        assert groups[f"/aws/lambda/{name}"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        dimensions = json.dumps([{"Name": "FunctionName", "Value": {"Ref": function_id}}])
        assert {("Errors", dimensions), ("Throttles", dimensions)} <= watched, function_id
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30
    for queue in QUEUES:
        queue_id, _ = _queue_named(template, f"{PREFIX}-{queue.logical_name}")
        dimensions = json.dumps([{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}])
        assert ("ApproximateAgeOfOldestMessage", dimensions) in watched, queue
    assert {("Reputation.BounceRate", "[]"), ("Reputation.ComplaintRate", "[]")} <= watched
    assert all(alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] for alarm in alarms)
    (subscription,) = [s["Properties"] for s in _of_type(template, "AWS::SNS::Subscription").values()
                       if s["Properties"]["Protocol"] == "email"]
    assert subscription == {"Protocol": "email", "TopicArn": {"Ref": "AlarmTopic"},
                            "Endpoint": {"Ref": "AlarmEmail"}}


def test_every_function_logs_json_without_lambdas_own_lines_unless_the_operator_asks(
        template: dict[str, Any]) -> None:
    """Lambda's START/END/REPORT lines are dropped at the WARN system level (issue 15: they were
    most of what a tracking request logs); the code's INFO lines stay, and a stack parameter
    brings Lambda's own back."""
    for function_id, function in _of_type(template, "AWS::Serverless::Function").items():
        assert function["Properties"]["LoggingConfig"] == {
            "LogFormat": "JSON", "ApplicationLogLevel": "INFO",
            "SystemLogLevel": {"Ref": "LambdaSystemLogLevel"}}, function_id
    parameter = template["Parameters"]["LambdaSystemLogLevel"]
    assert parameter["Default"] == "WARN"
    assert parameter["AllowedValues"] == ["DEBUG", "INFO", "WARN"]


def test_api_stage_is_throttled_by_parameters(template: dict[str, Any]) -> None:
    (api,) = _of_type(template, "AWS::Serverless::Api").values()
    (setting,) = api["Properties"]["MethodSettings"]
    assert setting["ResourcePath"] == "/*" and setting["HttpMethod"] == "*"
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert template["Parameters"]["ApiThrottlingRateLimit"]["Default"] > 0


def _publishers(template: dict[str, Any]) -> dict[str, set[str]]:
    """Every topic an AWS service publishes to, by what the template wires to it: SES event
    destinations, CloudWatch alarm actions, and the topics SES receiving and two-way SMS feed."""
    found: dict[str, set[str]] = {}
    for destination in _of_type(template, "AWS::SES::ConfigurationSetEventDestination").values():
        topic = destination["Properties"]["EventDestination"]["SnsDestination"]["TopicARN"]["Ref"]
        found.setdefault(topic, set()).add("ses.amazonaws.com")
    for alarm in _of_type(template, "AWS::CloudWatch::Alarm").values():
        for action in alarm["Properties"]["AlarmActions"]:
            found.setdefault(action["Ref"], set()).add("cloudwatch.amazonaws.com")
    found.setdefault(INBOUND_MAIL_TOPIC_ID, set()).add("ses.amazonaws.com")
    found.setdefault(SMS_INBOUND_TOPIC_ID, set()).add("sms-voice.amazonaws.com")
    return found


def test_every_aws_service_publisher_has_a_policy_scoped_to_this_account(template: dict[str, Any]) -> None:
    policies = {policy["Properties"]["Topics"][0]["Ref"]: policy["Properties"]["PolicyDocument"]["Statement"]
                for policy in _of_type(template, "AWS::SNS::TopicPolicy").values()}
    publishers = _publishers(template)
    assert set(publishers) == set(_of_type(template, "AWS::SNS::Topic")), "every topic has its publisher"
    for topic, services in publishers.items():
        (statement,) = policies[topic]
        principals = statement["Principal"]["Service"]
        assert services <= set(principals if isinstance(principals, list) else [principals]), topic
        assert statement["Action"] == "sns:Publish" and statement["Resource"] == {"Ref": topic}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    # SES may publish feedback only for this stack's configuration set.
    (feedback,) = policies[FEEDBACK_TOPIC_ID]
    arn = feedback["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    assert arn.endswith(f":configuration-set/{read_settings({}).configuration_set}")
    # SNS may send to each queue only from the topic subscribed to it.
    for subscription in _of_type(template, "AWS::SNS::Subscription").values():
        if subscription["Properties"]["Protocol"] == "sqs":
            queue_id = subscription["Properties"]["Endpoint"]["Fn::GetAtt"][0]
            _assert_topic_feeds_queue(template, subscription["Properties"]["TopicArn"]["Ref"], queue_id)


@pytest.mark.parametrize("name", sorted(spec.name for spec in FUNCTIONS if spec.warm_every_minutes))
def test_a_warmed_function_has_its_schedule_beside_its_other_events(template: dict[str, Any], name: str):
    function_id = chalice_function_id(name)
    events = template["Resources"][function_id]["Properties"]["Events"]
    assert events[function_id + "WarmUp"] == {
        "Type": "Schedule", "Properties": {"Schedule": f"rate({KEEP_WARM_MINUTES} minutes)"}}
    spec = next(spec for spec in FUNCTIONS if spec.name == name)
    queues = [event for event in events.values() if event["Type"] == "SQS"]
    assert len(queues) == (1 if spec.trigger else 0), "a queue trigger is kept beside the schedule"


def test_opens_and_clicks_are_served_at_a_public_function_url(template: dict[str, Any]) -> None:
    (url_id, url), = _of_type(template, "AWS::Lambda::Url").items()
    assert url["Properties"] == {"AuthType": "NONE",
                                 "TargetFunctionArn": {"Fn::GetAtt": [TRACKING_FRONT_ID, "Arn"]}}
    front = template["Resources"][TRACKING_FRONT_ID]
    assert front["Type"] == "AWS::Serverless::Function"
    assert front["Properties"]["Handler"] == "chalicelib.lambdas.tracking_front.handler"
    # Its warm-up's schedule alone: no API Gateway in front of it.
    assert front["Properties"]["Events"] == {TRACKING_FRONT_ID + "WarmUp": {
        "Type": "Schedule", "Properties": {"Schedule": f"rate({KEEP_WARM_MINUTES} minutes)"}}}
    permissions = _of_type(template, "AWS::Lambda::Permission").values()
    public = [permission["Properties"] for permission in permissions
              if permission["Properties"]["Principal"] == "*"]
    # Both are needed since October 2025; the Invoke one only through the URL, never directly.
    assert sorted(public, key=lambda p: p["Action"]) == [
        {"Action": "lambda:InvokeFunction", "FunctionName": {"Ref": TRACKING_FRONT_ID}, "Principal": "*",
         "InvokedViaFunctionUrl": True},
        {"Action": "lambda:InvokeFunctionUrl", "FunctionName": {"Ref": TRACKING_FRONT_ID}, "Principal": "*",
         "FunctionUrlAuthType": "NONE"},
    ]
    assert template["Outputs"]["TrackingFunctionUrl"] == {"Value": {"Fn::GetAtt": [url_id, "FunctionUrl"]}}


def test_every_lambda_but_the_front_points_tracking_links_at_the_url(template: dict[str, Any]) -> None:
    functions = _of_type(template, "AWS::Serverless::Function")
    assert "CampaignSendWorker" in functions, "the worker that composes campaign mail"
    for name, function in functions.items():
        variables = function["Properties"]["Environment"]["Variables"]
        if name == TRACKING_FRONT_ID:
            # Its URL is created after it: naming the URL here would be a circular dependency.
            assert TRACKING_BASE_URL_VARIABLE not in variables
        else:
            assert variables[TRACKING_BASE_URL_VARIABLE] == tracking_base_url(), name
    assert tracking_base_url()["Fn::If"][2] == {"Fn::GetAtt": ["TrackingFunctionUrl", "FunctionUrl"]}
    assert template["Parameters"]["TrackingBaseUrl"]["Default"] == ""
    # Unchanged: the public pages' links.
    assert all(function["Properties"]["Environment"]["Variables"]["TIDINGS_PUBLIC_BASE_URL"]
               == {"Ref": "PublicBaseUrl"} for function in functions.values())


# --- the merge template alone (fast, no packaging) ----------------------------------------------


def _merge_for(prefix: str) -> dict[str, Any]:
    return build_merge_template(
        read_settings({"TIDINGS_PREFIX": prefix}),
        [LambdaFunction("APIHandler", "ApiHandlerRole", "api_handler"),
         LambdaFunction("SendWorker", "SendWorkerRole", "send_worker")],
        [SqsHandler("SendWorker", "SendWorkerSqsEventSource", f"{prefix}-outbox")],
    )


def test_merge_template_names_every_resource_with_the_prefix() -> None:
    resources = _merge_for("acme")["Resources"]
    names = [
        r["Properties"].get(key)
        for r in resources.values() if "Type" in r
        for key in ("TableName", "QueueName", "TopicName", "Name", "AlarmName")
        if key in r["Properties"]
    ]
    assert all(name.startswith("acme-") for name in names), names
    assert {f"acme-{model.Meta.logical_name}" for model in ALL_MODELS} <= set(names)
    assert {"acme-outbox", "acme-outbox-dlq", "acme-ses-feedback", "acme-feedback"} <= set(names)
    assert resources["SendWorker"]["Properties"]["Environment"]["Variables"]["TIDINGS_PREFIX"] == "acme"


def test_merge_template_adds_batch_failure_reporting_to_the_chalice_event() -> None:
    send_worker = _merge_for("acme")["Resources"]["SendWorker"]
    assert "Type" not in send_worker  # merged into Chalice's function, not a new resource
    event = send_worker["Properties"]["Events"]["SendWorkerSqsEventSource"]
    assert event == {"Properties": {"FunctionResponseTypes": ["ReportBatchItemFailures"]}}
    assert send_worker["DependsOn"] == ["OutboxQueue", "SendWorkerLogGroup"]


def test_merge_template_grants_each_poller_only_its_own_queue() -> None:
    resources = _merge_for("acme")["Resources"]
    for role in ("SendWorkerRole", "ApiHandlerRole"):
        (policy,) = resources[role]["Properties"]["Policies"]
        consume = [s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == "ConsumeQueue"]
        if role == "SendWorkerRole":
            assert [s["Resource"] for s in consume] == [[{"Fn::Sub": (
                "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:acme-outbox")}]]
        else:
            assert consume == []


def test_merge_template_adds_the_function_url_only_with_the_tracking_front() -> None:
    settings = read_settings({"TIDINGS_PREFIX": "acme"})
    functions = [LambdaFunction("APIHandler", "ApiHandlerRole", "api_handler"),
                 LambdaFunction(TRACKING_FRONT_ID, "TrackingFrontRole", "tracking_front")]
    merged = build_merge_template(settings, functions, [])
    assert merged["Resources"]["TrackingFunctionUrl"]["Type"] == "AWS::Lambda::Url"
    assert TRACKING_BASE_URL_VARIABLE in _variables(merged, "APIHandler")
    assert TRACKING_BASE_URL_VARIABLE not in _variables(merged, TRACKING_FRONT_ID)
    without = _merge_for("acme")
    assert "TrackingFunctionUrl" not in without["Resources"] and "Conditions" not in without
    assert TRACKING_BASE_URL_VARIABLE not in _variables(without, "SendWorker")


def test_p13_only_the_front_believes_cloudfront_and_only_where_the_operator_declares_it() -> None:
    """CloudFront-Viewer-Country is believed only by the tracking front, and only when the
    TrackingBehindCloudFront parameter (default false) says a CloudFront fronts its URL: the
    variable it sets is what chalicelib/config.py reads."""
    functions = [LambdaFunction("APIHandler", "ApiHandlerRole", "api_handler"),
                 LambdaFunction(TRACKING_FRONT_ID, "TrackingFrontRole", "tracking_front")]
    merged = build_merge_template(read_settings({"TIDINGS_PREFIX": "acme"}), functions, [])
    parameter = merged["Parameters"]["TrackingBehindCloudFront"]
    assert parameter["Default"] == "false" and parameter["AllowedValues"] == ["false", "true"]
    [condition] = [name for name, value in merged["Conditions"].items()
                   if value == {"Fn::Equals": [{"Ref": "TrackingBehindCloudFront"}, "true"]}]
    front = _variables(merged, TRACKING_FRONT_ID)
    assert front[BEHIND_CLOUDFRONT_VARIABLE] == {"Fn::If": [condition, "1", "0"]}
    assert BEHIND_CLOUDFRONT_VARIABLE not in _variables(merged, "APIHandler")
    assert read_settings({BEHIND_CLOUDFRONT_VARIABLE: "1"}).tracking_behind_cloudfront
    assert not read_settings({BEHIND_CLOUDFRONT_VARIABLE: "0"}).tracking_behind_cloudfront
    assert not read_settings({}).tracking_behind_cloudfront  # the local stack: no CloudFront


def _variables(merged: dict[str, Any], function_id: str) -> dict[str, Any]:
    return merged["Resources"][function_id]["Properties"]["Environment"]["Variables"]


def test_merge_template_refuses_a_handler_on_an_undeclared_queue() -> None:
    with pytest.raises(ValueError, match=r"'tidings-outbox'.*prefix 'acme'"):
        build_merge_template(
            read_settings({"TIDINGS_PREFIX": "acme"}),
            [LambdaFunction("SendWorker", "SendWorkerRole", "send_worker")],
            [SqsHandler("SendWorker", "SendWorkerSqsEventSource", "tidings-outbox")],
        )


def test_check_merged_refuses_a_merge_onto_a_function_chalice_did_not_generate() -> None:
    settings = read_settings({"TIDINGS_PREFIX": "acme"})
    merged = _merge_for("acme")
    # What `chalice package` would give if the handler had been renamed: the merged entry
    # stays without a Type.
    merged["Resources"]["APIHandler"]["Type"] = "AWS::Serverless::Function"
    with pytest.raises(RuntimeError, match="SendWorker has no Type"):
        check_merged(merged, settings)
