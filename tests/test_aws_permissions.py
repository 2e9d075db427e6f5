"""P28 least privilege, checked: every AWS call a handler makes in the tests is held against its
function's generated IAM policy (tests/support/permissions.py, autouse in conftest.py)."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.clients import client
from chalicelib.config import settings
from chalicelib.functions import FUNCTIONS, FunctionSpec, function_spec
from chalicelib.local.invoke import LOCAL_ACCOUNT_ID, running_as
from chalicelib.resources import OUTBOX, SIGNING_KEYS_SECRET, TOPICS
from infra.iam import Request, allows, policy_statements, request_of, resolved
from tests.support.permissions import DENIALS, check

REGION = "eu-west-1"
TABLE = f"arn:aws:dynamodb:{REGION}:{LOCAL_ACCOUNT_ID}:table"


def test_a_call_outside_the_functions_policy_is_caught(aws):
    """The tracking front may only queue events: a table write made as it is a denial."""
    table = settings().resource_name("subscribers")
    with running_as("tracking_front"):
        client("dynamodb").put_item(TableName=table, Item={"list_id": {"S": "l"}, "address": {"S": "a"}})
        client("sqs").get_queue_url(QueueName=settings().resource_name("tracking"))
    assert DENIALS.take() == [f"tracking_front: dynamodb:PutItem on {TABLE}/{table}"]


def test_calls_made_by_the_test_itself_are_not_held_against_any_function(aws):
    client("dynamodb").list_tables()
    assert DENIALS.take() == []


def test_iam_requests_of_batched_and_transactional_calls():
    transact = request_of("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "t1"}}, {"ConditionCheck": {"TableName": "t2"}},
        {"Update": {"TableName": "t3"}}, {"Delete": {"TableName": "t1"}}]}, None, REGION, LOCAL_ACCOUNT_ID)
    assert [(r.action, r.resource.rsplit("/", 1)[1]) for r in transact] == [
        ("dynamodb:PutItem", "t1"), ("dynamodb:ConditionCheckItem", "t2"), ("dynamodb:UpdateItem", "t3"),
        ("dynamodb:DeleteItem", "t1")]
    query = request_of("dynamodb", "Query", {"TableName": "t", "IndexName": "by_day"}, None, REGION,
                       LOCAL_ACCOUNT_ID)
    assert query == [Request("dynamodb:Query", f"{TABLE}/t/index/by_day")]
    batch = request_of("sqs", "SendMessageBatch", {"QueueUrl": "http://x/123/q"}, None, REGION,
                       LOCAL_ACCOUNT_ID)
    assert batch == [Request("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{LOCAL_ACCOUNT_ID}:q")]
    assert request_of("sns", "Publish", {"PhoneNumber": "+40700000000"}, None, REGION, LOCAL_ACCOUNT_ID) == [
        Request("sns:Publish", "*")]
    raw = b"From: News <news@acme.example>\r\nTo: ann@example.com\r\n\r\nHi"
    send = request_of("sesv2", "SendEmail", {"Content": {"Raw": {"Data": raw}}, "ConfigurationSetName": "cs"},
                      None, REGION, LOCAL_ACCOUNT_ID)
    assert [r.resource.rsplit(":", 1)[1] for r in send] == ["identity/news@acme.example",
                                                              "configuration-set/cs"]


def test_iam_evaluation_follows_wildcards():
    statements = [{"Effect": "Allow", "Action": ["dynamodb:GetItem"],
                   "Resource": [f"{TABLE}/t", f"{TABLE}/t/index/*"]},
                  {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                   "Resource": ["arn:aws:secretsmanager:r:a:secret:p/key-??????"]}]
    assert allows(statements, Request("dynamodb:GetItem", f"{TABLE}/t"))
    assert allows(statements, Request("dynamodb:getitem", f"{TABLE}/t/index/by_day"))
    assert not allows(statements, Request("dynamodb:PutItem", f"{TABLE}/t"))
    assert not allows(statements, Request("dynamodb:GetItem", f"{TABLE}/t2"))
    assert allows(statements, Request("secretsmanager:GetSecretValue",
                                      "arn:aws:secretsmanager:r:a:secret:p/key-AbC123"))
    assert not allows(statements, Request("secretsmanager:GetSecretValue",
                                          "arn:aws:secretsmanager:r:a:secret:p/key-other-AbC123"))


def test_every_declared_function_may_read_only_the_secrets_it_declares():
    secret = f"arn:aws:secretsmanager:{REGION}:{LOCAL_ACCOUNT_ID}:secret:tidings/suppression-secret-AbC123"
    assert check("tracking_front", [Request("secretsmanager:GetSecretValue", secret)]) != []
    assert check("tracking_worker", [Request("secretsmanager:GetSecretValue", secret)]) == []


def test_p28_only_the_api_creates_sender_identities_and_the_retention_worker_may_only_delete_them():
    from chalicelib.functions import FUNCTIONS

    identity = f"arn:aws:ses:{REGION}:{LOCAL_ACCOUNT_ID}:identity/acme.example"
    for action, may in (("ses:CreateEmailIdentity", {"api_handler"}),
                        ("ses:DeleteEmailIdentity", {"api_handler", "retention_worker"})):
        allowed = {spec.name for spec in FUNCTIONS if check(spec.name, [Request(action, identity)]) == []}
        assert allowed == may, action
    configuration_set = f"arn:aws:ses:{REGION}:{LOCAL_ACCOUNT_ID}:configuration-set/tidings"
    assert check("retention_worker", [Request("ses:DeleteEmailIdentity", configuration_set)]) != []


# --- SMS: phone numbers, never the account's topics (review 12, A1) ------------------------------

SMS_SENDERS = [spec.name for spec in FUNCTIONS if spec.touches.sends_sms]


def _policy(spec: FunctionSpec) -> list[dict[str, Any]]:
    return resolved(policy_statements(spec, settings()), REGION, LOCAL_ACCOUNT_ID)


def test_p28_sms_is_granted_to_the_functions_that_text_and_no_other():
    # sms_inbound_worker: its answers to keyword replies (services/sms_inbound.py).
    assert SMS_SENDERS == ["api_handler", "campaign_send_worker", "sms_inbound_worker"]


@pytest.mark.parametrize("function", SMS_SENDERS)
def test_p28_the_sms_grant_lets_no_function_publish_to_the_accounts_topics(function):
    """SMS needs sns:Publish on "*" (a phone number has no ARN), but "*" is also every topic: the
    public-facing api_handler could publish forged SES feedback (bounces and complaints that
    suppress and suspend), forged STOP replies and mailto unsubscribes, or alarms. Publish is
    granted on everything but SNS's ARNs: any topic or platform endpoint, in any region,
    account or partition, is refused."""
    policy = _policy(function_spec(function))
    topics = [f"arn:aws:sns:{REGION}:{LOCAL_ACCOUNT_ID}:{settings().resource_name(topic)}"
              for topic in (*TOPICS, "alarms")]
    elsewhere = [f"arn:aws:sns:us-east-1:{LOCAL_ACCOUNT_ID}:{settings().resource_name(TOPICS[0])}",
                 f"arn:aws:sns:{REGION}:210987654321:ses-feedback",
                 f"arn:aws:sns:{REGION}:{LOCAL_ACCOUNT_ID}:endpoint/GCM/app/0123-4567",
                 f"arn:aws:sns:{REGION}:{LOCAL_ACCOUNT_ID}:ses-feedback.fifo"]
    allowed = [arn for arn in topics + elsewhere if allows(policy, Request("sns:Publish", arn))]
    assert allowed == [], f"{function} may publish to {allowed}"
    china = resolved(policy_statements(function_spec(function), settings()), "cn-north-1", LOCAL_ACCOUNT_ID,
                     partition="aws-cn")
    assert not allows(china, Request("sns:Publish", f"arn:aws-cn:sns:cn-north-1:{LOCAL_ACCOUNT_ID}:alarms"))


@pytest.mark.parametrize("function", SMS_SENDERS)
def test_p28_the_sms_senders_still_text_numbers_and_read_the_opted_out_list(function):
    """What a text to a phone number and the opt-out checks are authorised as (infra/iam.request_of)."""
    texting = [*request_of("sns", "Publish", {"PhoneNumber": "+40712345678", "Message": "Hi"}, None,
                           REGION, LOCAL_ACCOUNT_ID),
               *request_of("sns", "CheckIfPhoneNumberIsOptedOut", {"phoneNumber": "+40712345678"}, None,
                           REGION, LOCAL_ACCOUNT_ID),
               *request_of("sns", "ListPhoneNumbersOptedOut", {}, None, REGION, LOCAL_ACCOUNT_ID)]
    assert check(function, texting) == []
    assert check("send_worker", texting) == texting, "a function that does not text may not"


def test_iam_evaluation_of_not_resource():
    """An Allow with NotResource covers every resource none of its patterns matches."""
    statements = [{"Effect": "Allow", "Action": ["sns:Publish"], "NotResource": ["arn:aws:sns:*:*:*"]}]
    assert allows(statements, Request("sns:Publish", "*"))
    assert allows(statements, Request("sns:Publish", "+40712345678"))
    assert not allows(statements, Request("sns:Publish", "arn:aws:sns:eu-west-1:1:t"))
    assert not allows(statements, Request("sns:Subscribe", "*"))
    assert resolved([{"Effect": "Allow", "Action": ["a:B"], "NotResource": ["arn:${AWS::Partition}:sns:*"]}],
                    REGION, LOCAL_ACCOUNT_ID)[0]["NotResource"] == ["arn:aws:sns:*"]


# --- least privilege, per function (review 12, A2) -------------------------------------------------

SCHEDULED_EVENT = {"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
                   "account": LOCAL_ACCOUNT_ID, "time": "2026-01-01T00:00:00Z", "region": REGION,
                   "resources": [], "detail": {}}


def test_p28_the_campaign_scheduler_is_granted_only_what_it_uses(client, account, headers, monkeypatch):
    """The scheduler starts due campaigns: it reads them, checks the sender with SES, writes the
    campaign and its progress, and queues fan-out pages. Run on a due email and a due SMS
    campaign with a policy without SMS, the outbox or any secret, nothing it does is refused,
    and its declaration grants no more than that."""
    from aws_lambda_powertools.utilities import parameters

    from chalicelib.store.models import Campaign
    from tests.support import permissions
    from tests.support.lists import new_list

    declared = function_spec("campaign_scheduler")
    needed = replace(declared, touches=replace(declared.touches, sends_sms=False, secrets=(),
                                                enqueues=tuple(q for q in declared.touches.enqueues
                                                               if q != OUTBOX)))
    monkeypatch.setattr(permissions, "policy_of", lambda name, region: _policy(
        needed if name == "campaign_scheduler" else function_spec(name)))
    list_id = new_list(client, headers, "News", consent="Yes, text me.")
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    bodies = [{"name": "Mail", "list_ids": [list_id], "subject": "Hi", "html": "<p>Hi</p>"},
              {"name": "Text", "channel": "sms", "list_ids": [list_id], "sms_body": "Hi"}]
    for body in bodies:
        created = client.http.post("/v1/campaigns", headers=headers,
                                   body=json.dumps({**body, "send_at": soon}))
        assert created.status_code == 201, created.body
    for campaign in Campaign.scan():  # due now
        campaign.update(actions=[Campaign.send_at.set(datetime.now(UTC) - timedelta(minutes=1))])
    parameters.clear_caches()
    DENIALS.take()
    result = client.lambda_.invoke("campaign_scheduler", SCHEDULED_EVENT).payload
    assert result["started"] == 2, result
    assert DENIALS.take() == []
    assert declared.touches == needed.touches, "the scheduler's role grants what it never uses"


# --- secrets: one cache per function, as in Lambda (review 12, A3) ---------------------------------

def _signing_key_reads(denials: list[str]) -> list[str]:
    return [line for line in denials if "GetSecretValue" in line and SIGNING_KEYS_SECRET in line]


def test_parity_a_secret_read_outside_the_functions_policy_is_caught_even_when_cached(aws):
    """Powertools caches a secret for an hour per process; in Lambda each function is its own
    process, but in the tests every function shares one. The tracking worker may not read the
    link-signing keys: after another function read them, its read must still be a
    GetSecretValue call held against its own policy (local/invoke.running_as keys the cache by
    function), not an unseen cache hit."""
    from aws_lambda_powertools.utilities import parameters

    from chalicelib.config import signer

    parameters.clear_caches()
    DENIALS.take()
    with running_as("api_handler"):
        signer()
    assert DENIALS.take() == []
    with running_as("tracking_worker"):
        signer()
    assert _signing_key_reads(DENIALS.take()) != [], "a secret outside its policy was read unseen"


def test_parity_a_secret_the_test_itself_read_is_not_in_any_functions_cache(aws):
    """Tests build signed links with `signer()` outside any function: that read must not warm a
    function's cache either."""
    from aws_lambda_powertools.utilities import parameters

    from chalicelib.config import signer

    parameters.clear_caches()
    signer()
    DENIALS.take()
    with running_as("campaign_scheduler"):
        signer()
    assert _signing_key_reads(DENIALS.take()) != []


def test_parity_a_functions_own_secrets_stay_cached_across_its_invocations(aws):
    """The cache is per function, not per call: a warm Lambda reads its signing keys once an hour
    and its hash key once, and so does each function here (the cost model and the tracking
    front's warm-up rely on it)."""
    from aws_lambda_powertools.utilities import parameters

    from bench.aws_calls import count_aws_calls
    from chalicelib.config import hash_key, signer

    parameters.clear_caches()
    with count_aws_calls() as calls:
        for _ in range(3):
            with running_as("api_handler"):
                signer(), hash_key()
            with running_as("tracking_front"):
                signer()
    assert calls.by_operation == {"secretsmanager.GetSecretValue": 3}, "api_handler two, the front one"
    assert DENIALS.take() == []


# --- other in-process caches of AWS reads: per function, as in Lambda -------------------------------

def _denied(denials: list[str], function: str, action: str) -> list[str]:
    return [line for line in denials if line.startswith(f"{function}: {action} ")]


def test_p28_a_queue_url_another_function_looked_up_is_still_looked_up_under_its_own_policy(aws):
    """adapters/sqs caches each queue's URL (sqs:GetQueueUrl) for the life of the process: a
    function that may not use the signups queue must be caught looking its URL up even after
    the API, which may, looked it up a moment ago."""
    from chalicelib.adapters.sqs import queue_url
    from chalicelib.resources import SIGNUPS

    with running_as("api_handler"):
        queue_url(SIGNUPS)
    assert DENIALS.take() == []
    with running_as("tracking_front"):
        queue_url(SIGNUPS)
    assert _denied(DENIALS.take(), "tracking_front", "sqs:GetQueueUrl") != []


def test_p28_a_send_rate_bucket_another_function_read_is_read_again_under_its_own_policy(aws):
    """store/send_rate's limiters remember the bucket they last read (dynamodb:GetItem): a
    function without the send-rate table must be caught reading it, even after the fan-out
    worker, which may, read it."""
    from chalicelib.store import send_rate

    with running_as("fanout_worker"):
        send_rate.reserve_campaign_sends(1)
    assert DENIALS.take() == []
    with running_as("campaign_scheduler"):
        send_rate.reserve_campaign_sends(1)
    assert _denied(DENIALS.take(), "campaign_scheduler", "dynamodb:GetItem") != []


def test_p28_the_tracking_fronts_warm_up_reads_under_the_policy_of_the_function_running_it(aws):
    """services/tracking.warm_up runs once per process (its reads are then cached): run by a
    function that may read neither the signing keys nor the tracking queue's URL after another
    ran it, its reads are still made and caught."""
    from chalicelib.services import tracking

    with running_as("tracking_front"):
        tracking.warm_up()
    assert DENIALS.take() == []
    with running_as("campaign_scheduler"):
        tracking.warm_up()
    denied = DENIALS.take()
    assert _signing_key_reads(denied) != [] and _denied(denied, "campaign_scheduler", "sqs:GetQueueUrl") != []
