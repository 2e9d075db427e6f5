"""Signup benchmarks (issue 3): AWS calls per public signup and per confirmation, and signups per
second through the in-process Chalice test client against a real moto server over HTTP.

`python -m bench.signups` prints both; `bench/__main__.py` calls `signup_calls()` in-process and
runs the throughput part in a subprocess, because it points every client at a moto server.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from urllib.parse import urlencode

from bench.aws_calls import AwsCalls, count_aws_calls, describe
from bench.route_calls import _PROFILE, _provisioned

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_LIST = {"name": "News", "consent_text": "Yes, send me the monthly news.",
         "privacy_policy_url": "https://acme.example/privacy"}


def _drain(queue_name: str, handler) -> AwsCalls:
    """Run `handler` on every message of a declared queue, as the pump would; the handler's calls."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from chalicelib.adapters.sqs import queue_url
    from chalicelib.clients import client

    sqs, url = client("sqs"), queue_url(queue_name)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    with count_aws_calls() as calls:
        for message in messages:
            handler(SQSRecord({"messageId": message["MessageId"], "body": message["Body"]}))
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return calls


def signup_calls() -> list[tuple[str, AwsCalls]]:
    """Calls of: a public signup (new and already pending address), the signups worker applying
    it, and a confirmation (GET page, POST confirm)."""
    from chalice.test import Client

    from app import app
    from chalicelib.cli import create_account_with_key
    from chalicelib.clients import client as aws_client
    from chalicelib.resources import OUTBOX, SIGNUPS
    from chalicelib.services.sending.outbox import send_outbox_job
    from chalicelib.workers.signups import signup_record

    steps: list[tuple[str, AwsCalls]] = []
    with _provisioned(), Client(app, stage_name="local") as http:
        aws_client("sesv2").create_email_identity(EmailIdentity="acme.example")
        account = create_account_with_key("Acme Ltd", _PROFILE)
        headers = {"Authorization": f"Bearer {account['api_key']}", "Content-Type": "application/json"}
        list_id = _create_list(http, headers)
        body = urlencode({"email": "ann@example.com", "consent": "yes"})
        for label in ("new address", "same address again"):
            with count_aws_calls() as calls:
                http.http.post(f"/f/{list_id}", headers=FORM, body=body)
            steps.append((f"POST /f/{{list_id}} ({label})", calls))
            steps.append((f"  signups worker applying it ({label})", _drain(SIGNUPS, signup_record)))
        outbox = aws_client("sqs").receive_message(
            QueueUrl=aws_client("sqs").get_queue_url(QueueName=f"tidings-{OUTBOX.logical_name}")["QueueUrl"])
        token_path = _confirm_path(outbox["Messages"][0]["Body"])
        _drain(OUTBOX, lambda record: send_outbox_job(record.body))
        for method in ("GET", "POST"):
            with count_aws_calls() as calls:
                http.http.request(method, token_path, headers=FORM, body=b"")
            steps.append((f"{method} /c/{{token}}", calls))
    return steps


def _create_list(http, headers: dict[str, str]) -> str:
    return json.loads(http.http.post("/v1/lists", headers=headers, body=json.dumps(_LIST)).body)["list_id"]


def _confirm_path(job_body: str) -> str:
    text = json.loads(job_body)["email"]["text"]
    start = text.index("/c/")
    return text[start:].split()[0]


def throughput(signups: int = 300) -> dict[str, float]:
    """Signups per second: Chalice test client in this process, moto server over HTTP."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    # Every request comes from this machine's one IP: lift the per-IP limit for the measurement.
    os.environ["TIDINGS_LIMIT_SIGNUPS_PER_IP_PER_HOUR"] = str(10 * signups)
    try:
        from chalice.test import Client

        from app import app
        from chalicelib.cli import create_account_with_key
        from chalicelib.config import settings
        from chalicelib.local.provision import provision
        from chalicelib.resources import SIGNUPS
        from chalicelib.workers.signups import signup_record

        provision(settings())
        account = create_account_with_key("Acme Ltd", _PROFILE)
        headers = {"Authorization": f"Bearer {account['api_key']}", "Content-Type": "application/json"}
        with Client(app, stage_name="local") as http:
            list_id = _create_list(http, headers)
            started = time.perf_counter()
            for n in range(signups):
                body = urlencode({"email": f"reader{n}@example.com", "consent": "yes"})
                http.http.post(f"/f/{list_id}", headers=FORM, body=body)
            route_seconds = time.perf_counter() - started
            started = time.perf_counter()
            applied = 0
            while applied < signups:
                calls = _drain(SIGNUPS, signup_record)
                if not calls.total:
                    break
                applied += calls.by_operation["dynamodb.PutItem"]
            worker_seconds = time.perf_counter() - started
        return {"signups": signups, "route_per_second": signups / route_seconds,
                "worker_per_second": applied / worker_seconds if worker_seconds else 0.0}
    finally:
        server.stop()


def print_signup_calls() -> None:
    print("(sqs.GetQueueUrl happens once per Lambda container: the URL is cached after it)")
    for step, calls in signup_calls():
        print(f"{step}: {describe(calls)}")


def print_throughput() -> None:
    """Run `throughput` in a fresh interpreter (it repoints every AWS client) and print it."""
    result = subprocess.run([sys.executable, "-m", "bench.signups", "--throughput-json"],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print(f"throughput run failed:\n{result.stderr[-2000:]}")
        return
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"{figures['signups']} public signups, test client in-process against a moto server over HTTP: "
          f"route {figures['route_per_second']:.0f}/s, signups worker {figures['worker_per_second']:.0f}/s")


if __name__ == "__main__":
    from bench.offline import go_offline

    go_offline()
    if "--throughput-json" in sys.argv:
        import logging
        logging.disable(logging.CRITICAL)
        print(json.dumps(throughput()))
    else:
        print_signup_calls()
        print_throughput()
