"""Review 9 (attacker's view) of CSV imports: defects found, each shown by a test that fails on
the code as reviewed. See the review report for the broken code and a suggested fix."""
from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.store.models import ImportJob
from chalicelib.workers.imports import import_record
from tests.support.api import bearer
from tests.support.lists import new_list
from tests.support.queues import take

CSV = {"Content-Type": "text/csv"}
UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/124.0 Safari/537.36")
FORM = ("https://acme.example/join?utm_source=newsletter&utm_medium=footer&utm_campaign=spring-2025-"
        + "x" * 60)


def _proven_file(count: int) -> str:
    """A file of `count` rows, each with its consent proof: about 400 bytes a row."""
    header = ("email,name,company,consent_given_at,consent_ip,consent_user_agent,consent_form_url,"
              "consent_source\n")
    return header + "".join(f'p{n}@example.com,Person {n},Company {n},2025-01-01T00:00:00Z,198.51.100.4,'
                            f'"{UA}",{FORM},shop signup form\n' for n in range(count))


def _post(client, account, list_id, text):
    return client.http.post(f"/v1/lists/{list_id}/imports",
                            headers={**bearer(account["api_key"]), **CSV}, body=text.encode("utf-8"))


def _run_import_worker() -> int:
    records = take("imports")
    for record in records:
        import_record(SQSRecord(record))
    return len(records)


def _report(client, account, list_id, import_id):
    response = client.http.get(f"/v1/lists/{list_id}/imports/{import_id}", headers=bearer(account["api_key"]))
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def _single_opt_in(client, account) -> str:
    return new_list(client, bearer(account["api_key"]), "Members", double_opt_in=False)


def test_p02_p03_an_ordinary_file_with_consent_proof_of_a_few_thousand_rows_is_imported(client, account):
    """A 1.6 MB file (the route takes 5 MB) of 4,000 rows, each with its consent proof (P02): the
    import cuts it into chunks of up to 150,000 characters but sends ten chunks in ONE
    SendMessageBatch, whose whole payload SQS caps (256 KiB; moto: 1 MiB). SQS refuses the batch:
    the API answers 5xx and leaves an ImportJob that stays 'processing' for ever."""
    list_id = _single_opt_in(client, account)
    text = _proven_file(4000)
    assert len(text.encode()) < 5 * 1024 * 1024
    response = _post(client, account, list_id, text)
    assert response.status_code == 202, (response.status_code, response.body[:300])
    job = json.loads(response.body)
    _run_import_worker()
    done = _report(client, account, list_id, job["import_id"])
    assert done["status"] == "completed" and done["counts"]["confirmed"] == 4000


def test_p02_a_refused_import_leaves_no_import_that_never_completes(client, account):
    """The same file: whatever the API answers, no import may be left 'processing' for ever
    with no chunk on any queue (the caller never even learnt its id)."""
    list_id = _single_opt_in(client, account)
    response = _post(client, account, list_id, _proven_file(4000))
    queued = take("imports")
    jobs = list(ImportJob.query(account["account_id"]))
    if response.status_code != 202:
        assert jobs == [], (f"the API answered {response.status_code}, yet an import was recorded "
                            f"with {len(queued)} of {jobs[0].total_chunks if jobs else '?'} chunks queued")
