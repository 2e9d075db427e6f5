"""Scheduled warm-ups (functions.FunctionSpec.warm_every_minutes, chalicelib/warm_up.py, issue 15):
a warmed function's handler answers the schedule's event doing none of its work, while no request
or queue batch can pass for one (its schedule in the template: tests/test_template.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.aws_calls import count_aws_calls
from chalicelib.functions import FUNCTIONS
from chalicelib.queue_batches import BatchFailed
from chalicelib.warm_up import WARMED, is_warm_up

EVENTS = Path(__file__).resolve().parent.parent / "events"
WARMED_UP = sorted(spec.name for spec in FUNCTIONS if spec.warm_every_minutes is not None)


def _scheduled() -> dict[str, Any]:
    return json.loads((EVENTS / "tracking_worker.json").read_text())


def test_issue15_the_functions_whose_work_comes_hours_apart_are_warmed_up():
    """The public pages and the mail of a signup: a small list's come hours apart, so without a
    warm-up each one waits for (and pays) a cold start."""
    assert WARMED_UP == ["api_handler", "send_worker", "signup_worker", "tracking_front"]


@pytest.mark.parametrize("name", ["signup_worker", "send_worker"])
def test_a_workers_warm_up_does_none_of_its_work(client, name: str):
    with count_aws_calls() as calls:
        assert client.lambda_.invoke(name, _scheduled()).payload == WARMED
    assert calls.by_operation == {}


def test_a_queue_batch_never_passes_for_a_warm_up(client):
    """An SQS batch comes wrapped in its Records: with the schedule's fields beside them it is
    still a batch, handled (here its one malformed record fails it whole)."""
    batch = {**_scheduled(), "Records": [{"messageId": "m1", "body": "{not json", "attributes": {}}]}
    with pytest.raises(BatchFailed):
        client.lambda_.invoke("signup_worker", batch)


def test_a_request_never_passes_for_a_warm_up():
    request = {**_scheduled(), "requestContext": {"resourcePath": "/f/{list_id}"}, "httpMethod": "POST"}
    assert is_warm_up(_scheduled()) and not is_warm_up(request)
    assert not is_warm_up({**_scheduled(), "source": "aws.sqs"})
    assert not is_warm_up({**_scheduled(), "detail-type": "Object Created"})


def test_the_apis_entry_answers_its_warm_up_itself_and_every_request_through_the_app():
    """In a fresh interpreter, as Lambda imports the entry (a process holds app.py or an entry,
    never both): the warm-up is answered with no AWS call (any would fail: nothing listens at the
    endpoint), a request is the app's to answer."""
    script = (
        "import json, sys\n"
        "from chalicelib.lambdas.api_handler import handler\n"
        "from chalicelib.local.invoke import DeployedContext\n"
        "from chalicelib.functions import function_spec\n"
        "context = DeployedContext(function_spec('api_handler'), 'eu-west-1')\n"
        "print(json.dumps(handler(json.loads(sys.argv[1]), context)))\n"
        "request = {'resource': '/v1/lists', 'path': '/v1/lists', 'httpMethod': 'GET', 'headers': {},\n"
        "           'multiValueHeaders': {}, 'queryStringParameters': None, 'pathParameters': None,\n"
        "           'multiValueQueryStringParameters': None,\n"
        "           'stageVariables': None, 'body': None, 'isBase64Encoded': False,\n"
        "           'requestContext': {'resourcePath': '/v1/lists', 'httpMethod': 'GET', 'requestId': 'r',\n"
        "                              'stage': 'prod', 'identity': {'sourceIp': '203.0.113.9'}}}\n"
        "print(handler(request, context)['statusCode'])\n")
    environment = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x",
                   "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_MAX_ATTEMPTS": "1"}
    result = subprocess.run([sys.executable, "-c", script, json.dumps(_scheduled())], capture_output=True,
                            text=True, timeout=120, env=environment, cwd=EVENTS.parent)
    assert result.returncode == 0, result.stderr[-2000:]
    warmed, status = result.stdout.strip().splitlines()
    assert json.loads(warmed) == WARMED
    assert status == "401", "no key: the app answered the request"
