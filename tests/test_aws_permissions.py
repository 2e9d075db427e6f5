"""P28 least privilege, checked: every AWS call a handler makes in the tests is held against its
function's generated IAM policy (tests/support/permissions.py, autouse in conftest.py)."""
from __future__ import annotations

from chalicelib.clients import client
from chalicelib.config import settings
from chalicelib.local.invoke import LOCAL_ACCOUNT_ID, running_as
from infra.iam import Request, allows, request_of
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
