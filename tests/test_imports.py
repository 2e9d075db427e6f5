"""CSV imports: consent proof decides confirmed vs double opt-in (P03), invalid rows are reported
by line, suppressed addresses are skipped (P12), re-importing changes nothing, big files go in
chunks through SQS."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.cli import create_account_with_key
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.queue_size import QUEUE_MESSAGE_MAX_BYTES
from chalicelib.domain.suppression import SuppressionReason
from chalicelib.queue_batches import BatchFailed
from chalicelib.store.models import ImportJob
from chalicelib.store.suppressions import suppress
from chalicelib.workers.imports import import_record
from tests.support.api import bearer
from tests.support.events import sqs_event
from tests.support.faults import FailsOnce
from tests.support.lists import consent_texts, stored
from tests.support.mail import confirm_path, sent_mails
from tests.support.queues import deliver, record_send_batches, take
from tests.support.timing import assert_linear

CSV = {"Content-Type": "text/csv"}
HEADER = "email,name,city,consent_given_at,consent_ip,consent_form_url,consent_source,consent_text_version\n"


def post_import(client, account, list_id, text, headers=CSV):
    return client.http.post(f"/v1/lists/{list_id}/imports", headers={**bearer(account["api_key"]), **headers},
                            body=text.encode("utf-8") if isinstance(text, str) else text)


def run_import_worker() -> int:
    """Apply every queued chunk, as the import worker would; returns how many ran."""
    records = take("imports")
    for record in records:
        import_record(SQSRecord(record))
    return len(records)


def report(client, account, list_id, import_id):
    response = client.http.get(f"/v1/lists/{list_id}/imports/{import_id}", headers=bearer(account["api_key"]))
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def imported(client, account, list_id, text):
    """Import `text` to the list, apply its chunks, and return the import's report."""
    response = post_import(client, account, list_id, text)
    assert response.status_code == 202, response.body
    run_import_worker()
    return report(client, account, list_id, json.loads(response.body)["import_id"])


def error_lines(done) -> list[tuple[int, str | None]]:
    return [(error["line"], error["field"]) for error in done["errors"]]


def test_p03_rows_with_proof_are_confirmed_and_rows_without_get_a_double_opt_in_mail(
        client, account, news_list):
    list_id = news_list["list_id"]
    text = (HEADER
            + "proven@example.com,Pat,Iasi,2025-05-01T10:00:00Z,198.51.100.4,https://acme.example/join,"
              "shop signup form,1\n"
            + "unproven@example.com,Una,,,,,,\n")
    accepted = post_import(client, account, list_id, text)
    assert accepted.status_code == 202, accepted.body
    job = json.loads(accepted.body)
    assert job["status"] == "processing" and job["rows"] == 2
    assert run_import_worker() == 1

    done = report(client, account, list_id, job["import_id"])
    assert done["status"] == "completed"
    assert done["counts"] == {"confirmed": 1, "pending": 1, "unchanged": 0, "suppressed": 0,
                              "rate_limited": 0, "invalid": 0}
    proven = stored(list_id, "proven@example.com")
    assert proven.status == "confirmed" and proven.attributes["city"] == "Iasi"
    assert proven.consent.source == "import" and proven.consent.ip == "198.51.100.4"
    assert proven.consent.form_url == "https://acme.example/join"
    assert proven.consent.original_source == "shop signup form"
    assert stored(list_id, "unproven@example.com").status == "pending"
    deliver(take("outbox"))
    assert [mail["To"] for mail in sent_mails()] == ["unproven@example.com"]
    assert client.http.post(confirm_path(sent_mails()[0])).status_code == 200
    assert stored(list_id, "unproven@example.com").status == "confirmed"


def _single_opt_in(client, account) -> str:
    from tests.support.lists import new_list

    return new_list(client, bearer(account["api_key"]), "Members", double_opt_in=False)


def test_invalid_rows_are_reported_by_line_and_valid_rows_still_go_in(client, account, news_list):
    list_id = _single_opt_in(client, account)
    text = ("email,phone,consent_given_at\n"
            "good@example.com,,2025-01-01T00:00:00Z\n"
            "not-an-address,,\n"
            "\n"
            "bad-phone@example.com,12,\n"
            "late@example.com,,2099-01-01T00:00:00Z\n"
            "alsogood@example.com,+40 712 345 678,2025-01-01T00:00:00Z\n")
    job = json.loads(post_import(client, account, list_id, text).body)
    run_import_worker()
    done = report(client, account, list_id, job["import_id"])
    assert [(e["line"], e["field"]) for e in done["errors"]] == [
        (3, "email"), (5, "phone"), (6, "consent_given_at")]
    assert done["counts"]["confirmed"] == 2 and done["counts"]["invalid"] == 3
    assert stored(list_id, "alsogood@example.com").phone == "+40712345678"
    assert "not-an-address" not in json.dumps(done), "the report holds no cell values"



def test_p02_p08_a_row_with_a_control_character_in_a_contact_or_proof_cell_is_an_invalid_row(
        client, account, news_list):
    list_id = _single_opt_in(client, account)
    text = ("email,name,consent_given_at,consent_source\n"
            "ann@example.com,Ann\x00,,\n"
            "bob@example.com,Bob,2025-01-01T00:00:00Z,shop\u2028form\n"
            "cat@example.com,Cat,2025-01-01T00:00:00Z,shop form\n")
    assert error_lines(imported(client, account, list_id, text)) == [(2, "name"), (3, "consent_source")]
    assert stored(list_id, "ann@example.com") is None and stored(list_id, "bob@example.com") is None
    assert stored(list_id, "cat@example.com").consent.original_source == "shop form"


def test_p08_a_row_with_a_directional_override_in_a_contact_cell_is_an_invalid_row(
        client, account, news_list):
    list_id = _single_opt_in(client, account)
    text = ("email,name,consent_given_at\n"
            "ann@example.com,Ann\u202eeciovni,2025-01-01T00:00:00Z\n"
            "bob@example.com,Bob,2025-01-01T00:00:00Z\n")
    assert error_lines(imported(client, account, list_id, text)) == [(2, "name")]
    assert stored(list_id, "ann@example.com") is None and stored(list_id, "bob@example.com").name == "Bob"


def test_p18_an_import_report_quotes_no_part_of_a_refused_address_or_cell(client, account, news_list,
                                                                          monkeypatch):
    """email-validator's own words quote the address (its characters, with DNS checks its domain):
    kept in the import's report for 30 days, they would outlive the person's erasure (P18)."""
    import email_validator

    real = email_validator.validate_email

    def naming_the_domain(address, **kwargs):
        if address.endswith("@smith-family.example"):
            raise email_validator.EmailNotValidError("The domain name smith-family.example does not exist.")
        return real(address, **kwargs)

    monkeypatch.setattr(email_validator, "validate_email", naming_the_domain)
    list_id = _single_opt_in(client, account)
    text = ("email,consent_given_at,consent_text_version\n"
            "ann@exa_mple.com,,\n"
            "john@smith-family.example,,\n"
            "cat@example.com,2025-01-01T00:00:00Z,bob@example.com\n")
    done = imported(client, account, list_id, text)
    assert error_lines(done) == [(2, "email"), (3, "email"), (4, "consent_text_version")]
    shown = json.dumps(done)
    for quoted in ("'_'", "smith-family", "bob@"):
        assert quoted not in shown, quoted


def test_p12_suppressed_addresses_are_skipped_and_counted(client, account, news_list):
    list_id = news_list["list_id"]
    suppress(account["account_id"], "gone@example.com", SuppressionReason.UNSUBSCRIBED)
    job = json.loads(post_import(client, account, list_id, "email\nGone@Example.com\nnew@example.com\n").body)
    run_import_worker()
    assert report(client, account, list_id, job["import_id"])["counts"]["suppressed"] == 1
    assert stored(list_id, "gone@example.com") is None
    deliver(take("outbox"))
    assert [mail["To"] for mail in sent_mails()] == ["new@example.com"]


def test_reimporting_the_same_file_changes_nothing(client, account, news_list):
    list_id = news_list["list_id"]
    text = (HEADER + "a@example.com,A,,2025-01-01T00:00:00Z,,https://acme.example/join,fair,1\n"
            "b@example.com,B,,,,,,\nb@example.com,B2,,,,,,\n")
    first = json.loads(post_import(client, account, list_id, text).body)
    run_import_worker()
    deliver(take("outbox"))
    before = {a: stored(list_id, a).to_simple_dict() for a in ("a@example.com", "b@example.com")}
    assert report(client, account, list_id, first["import_id"])["counts"]["invalid"] == 1  # b repeated

    second = json.loads(post_import(client, account, list_id, text).body)
    run_import_worker()
    again = report(client, account, list_id, second["import_id"])
    assert again["counts"] == {"confirmed": 0, "pending": 0, "unchanged": 2, "suppressed": 0,
                              "rate_limited": 0, "invalid": 1}
    assert take("outbox") == []
    assert {a: stored(list_id, a).to_simple_dict() for a in before} == before


def test_a_big_file_goes_in_chunks_and_a_redelivered_chunk_counts_once(client, account, news_list):
    list_id = _single_opt_in(client, account)
    rows = "".join(f"p{n}@example.com,2025-01-01T00:00:00Z\n" for n in range(1200))
    job = json.loads(post_import(client, account, list_id, "email,consent_given_at\n" + rows).body)
    assert job["chunks"]["total"] == 3
    records = take("imports")
    for record in records + records[:1]:  # SQS delivers at least once
        import_record(SQSRecord(record))
    done = report(client, account, list_id, job["import_id"])
    assert done["status"] == "completed"
    assert done["counts"]["confirmed"] == 1200 and done["counts"]["unchanged"] == 0


def _apply_failing_once_then_again(client, monkeypatch) -> None:
    """Run the import worker on the queued chunks while queueing their mails fails once (an SQS
    blip), then on their redelivery."""
    import chalicelib.services.imports as imports

    records = take("imports")
    monkeypatch.setattr(imports, "enqueue_many", FailsOnce(imports.enqueue_many))
    with pytest.raises(BatchFailed):  # the chunk failed: SQS keeps it
        client.lambda_.invoke("import_worker", sqs_event(*records))
    for _ in range(2):  # redelivered, then once more (SQS is at least once)
        redelivered = client.lambda_.invoke("import_worker", sqs_event(*records))
        assert redelivered.payload == {"batchItemFailures": []}


def test_p01_p03_a_chunk_redelivered_after_its_mails_failed_to_queue_mails_its_pending_rows_once(
        client, account, news_list, monkeypatch):
    list_id = news_list["list_id"]
    text = (HEADER + "proven@example.com,Pat,,2025-05-01T10:00:00Z,198.51.100.4,,shop signup form,1\n"
            "una@example.com,Una,,,,,,\n")
    job = json.loads(post_import(client, account, list_id, text).body)
    _apply_failing_once_then_again(client, monkeypatch)
    done = report(client, account, list_id, job["import_id"])
    assert done["counts"] == {"confirmed": 1, "pending": 1, "unchanged": 0, "suppressed": 0,
                              "rate_limited": 0, "invalid": 0}
    deliver(take("outbox"))
    assert [mail["To"] for mail in sent_mails()] == ["una@example.com"]
    # Mailed by the redelivery, from the entry the first delivery wrote: its link confirms it (P02).
    assert client.http.post(confirm_path(sent_mails()[0])).status_code == 200
    assert stored(list_id, "una@example.com").status == "confirmed"


def test_a_redelivered_chunk_does_not_mail_again_what_an_earlier_import_left_pending(
        client, account, news_list, monkeypatch):
    list_id = news_list["list_id"]
    post_import(client, account, list_id, "email\nuna@example.com\n")
    run_import_worker()
    deliver(take("outbox"))
    again = json.loads(post_import(client, account, list_id, "email\nuna@example.com\n").body)
    _apply_failing_once_then_again(client, monkeypatch)
    assert report(client, account, list_id, again["import_id"])["counts"]["unchanged"] == 1
    assert take("outbox") == []


def test_bad_files_are_refused_naming_the_problem(client, account, news_list):
    list_id = news_list["list_id"]
    cases = [
        ("email,shoe_size\na@example.com,44\n", CSV, 400, "shoe_size"),
        ("name\nPat\n", CSV, 400, "email"),
        ("", CSV, 400, "body"),
        ("email\n", CSV, 400, "body"),
        ("email\na@example.com\n", {"Content-Type": "application/json"}, 415, "Content-Type"),
        (b"email\n\xff\xfe@example.com\n", CSV, 400, "body"),
    ]
    for text, headers, status, field in cases:
        response = post_import(client, account, list_id, text, headers)
        assert response.status_code == status, (text, response.body)
        assert json.loads(response.body)["error"]["field"] == field
    assert take("imports") == []



@pytest.mark.parametrize("header", ["email,name,Name", "Email, email ,name", "email,city,name,city"])
def test_a_column_named_twice_is_a_400_naming_it(client, account, news_list, header):
    """Which of two 'name' cells to keep is a guess: the file is refused, and the answer said only
    "a column is named twice" (field 'body'), leaving the caller to hunt through a wide header."""
    repeated = {"email,name,Name": "name", "Email, email ,name": "email",
                "email,city,name,city": "city"}[header]
    response = post_import(client, account, news_list["list_id"], f"{header}\na@example.com,A,B,C\n")
    assert response.status_code == 400, response.body
    error = json.loads(response.body)["error"]
    assert error["field"] == repeated and f"'{repeated}' is named twice" in error["message"], error
    assert take("imports") == []


def test_a_file_whose_bytes_were_not_utf8_before_the_api_got_it_is_refused_naming_the_line(
        client, account, news_list):
    """Excel's plain "CSV" is saved in the Windows code page (ș, ț, é as one byte each). API Gateway
    hands a text/csv body to the Lambda as UTF-8 text, each byte that is not UTF-8 replaced by
    U+FFFD, so the body's own UTF-8 check never saw them: "Brașov" was stored as "Bra\ufffdov",
    a name nobody typed, and the import reported nothing."""
    text = "email,name,city\nann@example.com,Ann,Iasi\nbob@example.com,Bob,Bra\ufffdov\n"
    response = post_import(client, account, news_list["list_id"], text)
    assert response.status_code == 400, response.body
    error = json.loads(response.body)["error"]
    assert error["field"] == "body" and "line 3 " in error["message"] and "UTF-8" in error["message"], error
    assert take("imports") == []


@pytest.mark.parametrize(("column", "shown"), [
    ("z" * 131_000, "z" * 64 + "\u2026"),
    ("col\u2028" * 30_000, "col\\u2028" * 16 + "\u2026"),
    ("shoe\x07size", "shoe\\x07size"),
], ids=["huge", "line-separators", "control-character"])
def test_an_unknown_column_is_a_small_400_naming_it_however_long_or_unprintable(
        client, account, news_list, column, shown):
    """The header's unknown name was echoed whole, in the message and as the field: a 128 KB
    name of control characters made an error of 1.5 MB (3 MB as Lambda escapes it)."""
    response = post_import(client, account, news_list["list_id"], f'email,"{column}"\na@example.com,1\n')
    assert response.status_code == 400, response.body[:300]
    assert len(response.body) < 2_000
    error = json.loads(response.body)["error"]
    assert error["field"] == shown and f"unknown column '{shown}'" in error["message"]
    assert take("imports") == []


def test_p02_a_row_with_more_values_than_columns_refuses_the_file_naming_its_line(client, account, news_list):
    """An unquoted user agent ("KHTML, like Gecko") spills past the last column: importing the row
    would store a cut user agent as its consent proof."""
    agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0"
    text = ("email,consent_given_at,consent_ip,consent_source,consent_user_agent\n"
            "ok@example.com,2025-01-01T00:00:00Z,198.51.100.4,shop form,Firefox\n"
            f"ua@example.com,2025-01-01T00:00:00Z,198.51.100.4,shop form,{agent}\n")
    response = post_import(client, account, news_list["list_id"], text)
    assert response.status_code == 400, response.body
    error = json.loads(response.body)["error"]
    assert error["field"] == "body" and "line 3 " in error["message"]
    assert take("imports") == [] and stored(news_list["list_id"], "ok@example.com") is None



@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
def test_an_unclosed_quote_refuses_the_file_naming_its_line_not_swallowing_the_rows_after_it(
        client, account, news_list, line_end):
    """A quote left open runs the cell on to the end of the file (or the next quote): the rows
    after it vanished into one invalid row reported at the file's last line, and were neither
    imported nor reported. No column may hold a line break, so the file is refused instead."""
    text = line_end.join(["email,name,consent_given_at", "a@example.com,Ann,2025-01-01T00:00:00Z",
                          'b@example.com,"Bob,2025-01-01T00:00:00Z', "c@example.com,Cat,2025-01-01T00:00:00Z",
                          "d@example.com,Dan,2025-01-01T00:00:00Z", ""])
    response = post_import(client, account, news_list["list_id"], text)
    assert response.status_code == 400, response.body
    error = json.loads(response.body)["error"]
    assert error["field"] == "body" and "line 3 " in error["message"], error
    assert take("imports") == []


def test_a_file_with_cr_only_line_ends_imports_and_reports_lines_like_any_other(client, account, news_list):
    # Excel for old Macs ends lines with CR alone.
    text = "email,name\rann@example.com,Ann\rnot-an-address,Bob\rcat@example.com,Cat\r"
    assert error_lines(imported(client, account, news_list["list_id"], text)) == [(3, "email")]
    assert stored(news_list["list_id"], "cat@example.com").name == "Cat"


def test_trailing_empty_cells_and_short_rows_still_import(client, account, news_list):
    text = "email,name,city\nann@example.com,Ann,Iasi,,\nbob@example.com\n"
    response = post_import(client, account, news_list["list_id"], text)
    assert response.status_code == 202, response.body
    run_import_worker()
    assert stored(news_list["list_id"], "ann@example.com").name == "Ann"
    assert stored(news_list["list_id"], "bob@example.com") is not None


def test_an_oversized_file_is_413(client, account, news_list):
    from chalicelib.blueprints.api_imports import MAX_IMPORT_BYTES

    text = "email\n" + "x" * MAX_IMPORT_BYTES
    response = post_import(client, account, news_list["list_id"], text)
    assert response.status_code == 413 and json.loads(response.body)["error"]["field"] == "body"


def test_a_file_of_more_rows_than_one_request_can_hold_is_a_413_and_nothing_is_queued(client, account,
                                                                                     news_list, monkeypatch):
    """5 MB of short rows is some 400,000 rows: parsed and queued at once they took some 260 MB, more
    than the API's Lambda has (256 MB), which died with a 502 after queueing part of the file, its
    rows imported with no import to report them. Rows are counted as they are read."""
    import chalicelib.domain.imports as imports

    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    list_id = news_list["list_id"]
    four_rows = "email\n" + "".join(f"r{i}@example.com\n" for i in range(4))
    response = post_import(client, account, list_id, four_rows)
    assert response.status_code == 413, response.body
    assert json.loads(response.body)["error"]["field"] == "body"
    assert take("imports") == [] and list(ImportJob.scan()) == []
    blank_lines_are_no_rows = "email\n\n" + "".join(f"r{i}@example.com\n\n" for i in range(3))
    assert post_import(client, account, list_id, blank_lines_are_no_rows).status_code == 202


def test_the_row_limit_keeps_a_whole_file_of_the_shortest_rows_within_the_api_lambdas_memory():
    import tracemalloc

    from chalicelib.domain.imports import MAX_ROWS, chunks, parse_csv
    from chalicelib.functions import function_spec

    text = "email\n" + "".join(f"a{i}@b.co\n" for i in range(MAX_ROWS))
    tracemalloc.start()
    try:
        pieces = chunks(parse_csv(text, ()).rows)
        queued = [[[row.line, row.values] for row in piece] for piece in pieces]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(len(piece) for piece in queued) == MAX_ROWS
    # The rest of the function (its libraries, the body's copies) needs the other half.
    assert peak < function_spec("api_handler").memory_mb * 1024 * 1024 // 2, peak


def test_a_file_of_more_values_than_one_request_can_hold_is_a_413_within_the_api_lambdas_memory(
        client, account, news_list):
    """The row limit keeps a file of addresses alone small, not one of a dozen two-letter values a
    row: 100,000 such rows (4.5 MB) took some 140 MiB to read and cut into chunks, over the half of
    the API's Lambda its libraries and the body's copies leave (64 columns of them, 155 MB).
    Values are counted as they are read."""
    import tracemalloc

    from chalicelib.domain.errors import PayloadTooLarge
    from chalicelib.domain.imports import MAX_ROWS, chunks, parse_csv
    from chalicelib.functions import function_spec

    columns = ("email", "name", "company", "field_of_activity", "city", "consent_given_at", "consent_ip",
               "consent_user_agent", "consent_form_url", "consent_text_version", "consent_source",
               "tracking_consent_text_version")
    text = ",".join(columns) + "\n" + "".join(
        f"r{n}@b.co," + ",".join(f"{(n + i) % 100:02}" for i in range(len(columns) - 1)) + "\n"
        for n in range(MAX_ROWS))
    response = post_import(client, account, news_list["list_id"], text)
    assert response.status_code == 413, response.body[:300]
    assert json.loads(response.body)["error"]["field"] == "body"
    assert take("imports") == [] and list(ImportJob.scan()) == []
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge):
            chunks(parse_csv(text, ("city",)).rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < function_spec("api_handler").memory_mb * 1024 * 1024 // 2, peak


def test_p28_another_tenant_cannot_import_or_read_an_import(client, account, news_list):
    list_id = news_list["list_id"]
    job = json.loads(post_import(client, account, list_id, "email\na@example.com\n").body)
    other = create_account_with_key("Other", {})
    assert post_import(client, other, list_id, "email\nb@example.com\n").status_code == 404
    response = client.http.get(f"/v1/lists/{list_id}/imports/{job['import_id']}",
                               headers=bearer(other["api_key"]))
    assert response.status_code == 404


def test_a_malformed_chunk_fails_so_sqs_retries_it_then_dead_letters_it(client):
    bad = {"messageId": "m-0", "body": json.dumps({"type": "something-else"}), "receiptHandle": "r",
           "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {}}
    # One chunk a batch: when it fails, Powertools raises and Lambda leaves it on the queue.
    with pytest.raises(BatchFailed):
        client.lambda_.invoke("import_worker", {"Records": [bad]})


def test_p26_a_suspended_account_cannot_import_as_it_cannot_add_a_subscriber(client, account, news_list):
    from chalicelib.services.health import suspend_by_operator

    list_id = news_list["list_id"]
    suspend_by_operator(account["account_id"], "spam complaints")
    one = client.http.post(f"/v1/lists/{list_id}/subscribers", headers=bearer(account["api_key"]),
                           body=json.dumps({"email": "one@example.com"}))
    imported = post_import(client, account, list_id, "email\ntwo@example.com\n")
    assert imported.status_code == one.status_code == 403
    assert json.loads(imported.body) == json.loads(one.body), "the same error, naming the account"
    assert take("imports") == []



def test_p26_an_import_stops_adding_subscribers_when_the_account_is_suspended_during_it(
        client, account, news_list, monkeypatch):
    from chalicelib.domain import imports as import_rules
    from chalicelib.services.health import suspend_by_operator

    monkeypatch.setattr(import_rules, "CHUNK_MAX_ROWS", 2)
    list_id = _single_opt_in(client, account)
    text = "email\n" + "".join(f"p{n}@example.com\n" for n in range(4))
    response = post_import(client, account, list_id, text)
    assert response.status_code == 202, response.body
    first, second = take("imports")
    import_record(SQSRecord(first))
    suspend_by_operator(account["account_id"], "spam complaints")
    import_record(SQSRecord(second))
    done = report(client, account, list_id, json.loads(response.body)["import_id"])
    assert done["status"] == "completed" and done["counts"]["pending"] == 2
    assert [e["line"] for e in done["errors"]] == [4, 5] and "suspended" in done["errors"][0]["message"]
    assert stored(list_id, "p2@example.com") is None and stored(list_id, "p3@example.com") is None


def test_p26_the_report_of_a_big_import_stopped_by_a_suspension_is_one_answer_not_a_502(
        client, account, news_list):
    # 120,000 rows (a 5 MB file holds more) whose chunks all ran after a suspension: each row is
    # an error with a long reason. Listed whole they made the report bigger than the 6 MB a
    # Lambda may answer, so every read of the import was API Gateway's 502.
    from chalicelib.domain.clock import now
    from chalicelib.services.imports import MAX_REPORTED_ERRORS
    from chalicelib.store import imports as import_store
    from chalicelib.store.models import ImportChunk, ImportRowError

    list_id, chunks, rows = news_list["list_id"], 240, 500
    job = import_store.create_import(account["account_id"], list_id, import_store.new_import_id(),
                                     chunks * rows, chunks)
    reason = ("the account was suspended during the import; import the rest again once the "
              "suspension is lifted")
    # The chunk items as the worker stores them (200 errors each), and the import's summary of
    # them, written in bulk: moto's transactions of 26 KB items are slow.
    with ImportChunk.batch_write() as batch:
        for chunk in range(chunks):
            batch.save(ImportChunk(
                import_id=job.import_id, chunk=chunk, invalid=rows, finished_at=now(), expires_at=now(),
                errors=[ImportRowError(line=2 + chunk * rows + row, field=None, message=reason)
                        for row in range(import_store.MAX_ERRORS_PER_CHUNK)]))
    job.update(actions=[ImportJob.chunks_done.set(chunks), ImportJob.invalid.set(chunks * rows)])
    done = report(client, account, list_id, job.import_id)
    assert done["status"] == "completed" and done["counts"]["invalid"] == chunks * rows
    lines = [e["line"] for e in done["errors"]]
    assert len(lines) == MAX_REPORTED_ERRORS and lines[0] == 2 and lines == sorted(lines)
    # Not a silent cut: the answer says how many invalid rows it does not list.
    assert done["errors_omitted"] == chunks * rows - MAX_REPORTED_ERRORS


def test_reading_an_import_reads_a_bounded_part_of_its_chunks_however_many(client, account, news_list):
    """Every read of an import read every chunk with the errors it keeps (200 rows each): a 5 MB
    file of invalid two-byte lines is some 5,000 chunks, 130 MB read for each GET. The counts come
    from the import's own summary; the errors listed from its first chunks only."""
    from bench.metering import metered
    from chalicelib.services.imports import MAX_REPORTED_ERRORS
    from chalicelib.store.imports import MAX_ERRORS_PER_CHUNK

    def read_units(chunks: int) -> float:
        text = "email\n" + "not-an-address\n" * (chunks * 500)
        response = post_import(client, account, news_list["list_id"], text)
        assert response.status_code == 202, response.body
        assert run_import_worker() == chunks
        with metered() as meter:
            done = report(client, account, news_list["list_id"], json.loads(response.body)["import_id"])
        assert done["status"] == "completed" and done["chunks"] == {"total": chunks, "done": chunks}
        assert done["counts"]["invalid"] == chunks * 500
        kept = [2 + chunk * 500 + row for chunk in range(chunks) for row in range(MAX_ERRORS_PER_CHUNK)]
        assert [error["line"] for error in done["errors"]] == kept[:MAX_REPORTED_ERRORS]
        assert done["errors_omitted"] == chunks * 500 - MAX_REPORTED_ERRORS
        return meter.read_units()

    assert read_units(24) == read_units(8)


def test_an_import_recorded_before_its_summary_was_kept_is_still_reported_whole(client, account, news_list):
    """An import queued before imports kept a summary: its chunks are stored as they were, and
    its report adds them up, as it did."""
    from chalicelib.store import imports as import_store

    job = import_store.create_import(account["account_id"], news_list["list_id"],
                                     import_store.new_import_id(), 4, 2)
    job.update(actions=[getattr(ImportJob, name).remove()
                        for name in ("chunks_done", *import_store.COUNTS)])
    for chunk, outcome in enumerate([import_store.ChunkOutcome(confirmed=1, errors=[(3, "email", "bad")]),
                                     import_store.ChunkOutcome(pending=2)]):
        assert import_store.record_chunk(account["account_id"], job.import_id, chunk, outcome)
        assert not import_store.record_chunk(account["account_id"], job.import_id, chunk, outcome)
    done = report(client, account, news_list["list_id"], job.import_id)
    assert done["status"] == "completed" and done["chunks"] == {"total": 2, "done": 2}
    assert done["counts"] == {"confirmed": 1, "pending": 2, "unchanged": 0, "suppressed": 0,
                              "rate_limited": 0, "invalid": 1}
    assert error_lines(done) == [(3, "email")] and done["errors_omitted"] == 0
    assert ImportJob.get(account["account_id"], job.import_id).chunks_done is None


# --- P01-P03: double opt-in without a bypass ------------------------------------------------------

INCOMPLETE = [
    ("consent_given_at", "2025-05-01T10:00:00Z"),  # time only: the old bypass
    ("consent_given_at,consent_ip,consent_text_version", "2025-05-01T10:00:00Z,198.51.100.4,1"),  # no source
    ("consent_given_at,consent_source,consent_text_version", "2025-05-01T10:00:00Z,fair,1"),  # no IP or URL
    ("consent_given_at,consent_source,consent_ip", "2025-05-01T10:00:00Z,fair,198.51.100.4"),  # no version
]


@pytest.mark.parametrize(("columns", "cells"), INCOMPLETE)
def test_p01_p03_an_incomplete_proof_on_a_double_opt_in_list_gets_the_confirmation_mail(
        client, account, news_list, columns, cells):
    list_id = news_list["list_id"]
    text = f"email,{columns}\nrow@example.com,{cells}\n"
    job = json.loads(post_import(client, account, list_id, text).body)
    run_import_worker()
    assert report(client, account, list_id, job["import_id"])["counts"]["pending"] == 1
    entry = stored(list_id, "row@example.com")
    assert entry.status == "pending" and entry.consent.given_at.year == 2025, "what it proves is kept"
    deliver(take("outbox"))
    assert [mail["To"] for mail in sent_mails()] == ["row@example.com"]


@pytest.mark.parametrize("original", ["consent_ip,198.51.100.4", "consent_form_url,https://acme.example/join"])
def test_p01_p02_a_complete_proof_confirms_a_row_on_a_double_opt_in_list(client, account, news_list,
                                                                          original):
    list_id = news_list["list_id"]
    column, value = original.split(",")
    text = (f"email,consent_given_at,consent_source,consent_text_version,{column}\n"
            f"row@example.com,2025-05-01T10:00:00Z,shop checkout,1,{value}\n")
    job = json.loads(post_import(client, account, list_id, text).body)
    run_import_worker()
    assert report(client, account, list_id, job["import_id"])["counts"]["confirmed"] == 1
    assert take("outbox") == []



@pytest.mark.parametrize("form_url", ["n/a", "website", "www.shop.example/join", "ftp://shop.example/join",
                                      "javascript:alert(1)", "https://", "https://shop example/join"])
def test_p01_p02_a_placeholder_form_url_is_no_proof_and_the_row_is_refused_naming_it(client, account,
                                                                                     news_list, form_url):
    list_id = news_list["list_id"]
    text = ("email,consent_given_at,consent_source,consent_text_version,consent_form_url\n"
            f'row@example.com,2025-05-01T10:00:00Z,shop checkout,1,"{form_url}"\n')
    assert error_lines(imported(client, account, list_id, text)) == [(2, "consent_form_url")], form_url
    assert stored(list_id, "row@example.com") is None


@pytest.mark.parametrize(("column", "value"), [
    ("consent_form_url", "https://acme.example/join?campaign=" + "x" * 2000),
    ("consent_user_agent", "Mozilla/5.0 " + "y" * 1000)])
def test_p02_a_proof_cell_too_long_to_keep_whole_is_an_invalid_row_not_cut(client, account, news_list,
                                                                            column, value):
    """The API refuses such a proof detail (its schema's maxLength); an import kept the first 2,000
    or 1,000 characters instead, and confirmed the row on a proof the file does not hold."""
    list_id = news_list["list_id"]
    text = (f"email,consent_given_at,consent_source,consent_text_version,consent_ip,{column}\n"
            f"row@example.com,2025-05-01T10:00:00Z,shop checkout,1,198.51.100.4,{value}\n"
            f"fits@example.com,2025-05-01T10:00:00Z,shop checkout,1,198.51.100.4,{value[:1000]}\n")
    assert error_lines(imported(client, account, list_id, text)) == [(2, column)]
    assert stored(list_id, "row@example.com") is None
    assert stored(list_id, "fits@example.com").status == "confirmed"


def test_p30_an_import_carries_tracking_consent_like_mailing_consent(client, account, news_list):
    list_id = news_list["list_id"]
    text = ("email,consent_given_at,consent_source,consent_text_version,consent_ip,tracking_consent_given_at,"
            "tracking_consent_text_version\n"
            "row@example.com,2025-05-01T10:00:00Z,shop,1,198.51.100.4,2025-05-01T10:00:00Z,1\n"
            "bad@example.com,2025-05-01T10:00:00Z,shop,1,198.51.100.4,2025-05-01T10:00:00Z,9\n")
    job = json.loads(post_import(client, account, list_id, text).body)
    run_import_worker()
    done = report(client, account, list_id, job["import_id"])
    assert [(e["line"], e["field"]) for e in done["errors"]] == [(3, "tracking_consent_text_version")]
    tracking = stored(list_id, "row@example.com").tracking
    assert tracking.given_at.year == 2025 and tracking.consent_text_version == 1 and tracking.confirmed_at


# --- a cell no parser expected is one invalid row, never a crashed chunk --------------------------

ODD_CELLS = [
    ("consent_text_version", "\u00b2"),  # str.isdigit() passes it, int() refuses it
    ("consent_text_version", "\u0661"),  # an Arabic-Indic one: int() reads it as 1
    ("consent_text_version", "1" * 4301),  # one digit more than int() reads
    ("consent_given_at", "0001-01-01T00:00:00+23:59"),  # no UTC form: storing it overflows
    ("tracking_consent_text_version", "\u00b2"),
    ("tracking_consent_given_at", "0001-01-01T00:00:00+23:59"),
]


@pytest.mark.parametrize(("column", "cell"), ODD_CELLS)
def test_an_odd_consent_cell_is_one_invalid_row_and_the_rest_of_the_chunk_goes_in(
        client, account, news_list, column, cell):
    list_id = news_list["list_id"]
    good = {"consent_given_at": "2025-05-01T10:00:00Z", "consent_text_version": "1",
            "tracking_consent_given_at": "2025-05-01T10:00:00Z", "tracking_consent_text_version": "1"}
    odd = {**good, column: cell}
    text = (f"email,{','.join(good)}\n"
            f"good@example.com,{','.join(good.values())}\nodd@example.com,{','.join(odd.values())}\n")
    job = json.loads(post_import(client, account, list_id, text).body)
    run_import_worker()  # before: it raised, so SQS retried the chunk until it was dead-lettered
    done = report(client, account, list_id, job["import_id"])
    assert done["status"] == "completed"
    assert done["counts"]["pending"] == 1 and done["counts"]["invalid"] == 1
    assert [(e["line"], e["field"]) for e in done["errors"]] == [(3, column)]
    assert stored(list_id, "odd@example.com") is None


@pytest.mark.parametrize(("given_at", "valid"), [
    ("0001-01-01T00:01:00+00:01", True),  # the calendar's first moment, in UTC
    ("0001-01-01T00:00:59+00:01", False),  # one second before it
])
def test_a_consent_time_is_refused_only_before_the_calendars_first_moment_in_utc(given_at, valid):
    from chalicelib.domain.errors import InvalidInput
    from chalicelib.domain.imports import clean_row

    row = {"email": "ann@example.com", "consent_given_at": given_at}
    if valid:
        assert clean_row(row, [], consent_texts(1)).proof.given_at.year == 1
    else:
        with pytest.raises(InvalidInput) as refused:
            clean_row(row, [], consent_texts(1))
        assert refused.value.field == "consent_given_at"


@pytest.mark.parametrize(("cell", "version"), [
    ("2", 2), ("02", 2), ("\u00b2", None), ("\u0662", None), ("2" * 4300, None), ("2" * 4301, None)])
def test_a_consent_text_version_is_ascii_digits_naming_one_of_the_lists_versions(cell, version):
    from chalicelib.domain.errors import InvalidInput
    from chalicelib.domain.imports import clean_row

    row = {"email": "ann@example.com", "consent_given_at": "2025-05-01T10:00:00Z",
           "consent_text_version": cell}
    if version:
        assert clean_row(row, [], consent_texts(1, 2)).proof.consent_text_version == version
    else:
        with pytest.raises(InvalidInput) as refused:
            clean_row(row, [], consent_texts(1, 2))
        assert refused.value.field == "consent_text_version"


# --- queue sizes: a chunk is one SQS message, counted in bytes as SQS counts -----------------------

_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML like Gecko) "
       "Chrome/124.0 Safari/537.36")


def _proven_rows(count: int, name: str = "Person") -> str:
    """`count` rows with consent proof, some 330 bytes a row (ASCII names)."""
    return ("email,name,consent_given_at,consent_ip,consent_user_agent,consent_form_url,consent_source\n"
            + "".join(f"p{n}@example.com,{name} {n},2025-01-01T00:00:00Z,198.51.100.4,{_UA},"
                      f"https://acme.example/join?from=newsletter-{n},shop signup form\n"
                      for n in range(count)))


def _assert_within_sqs_limits(calls: list[list[int]]) -> None:
    assert calls, "nothing was queued"
    for sizes in calls:
        assert len(sizes) <= 10 and sum(sizes) <= QUEUE_MESSAGE_MAX_BYTES, sizes


def test_p02_every_send_message_batch_of_an_import_stays_within_the_queues_256_kib(
        client, account, monkeypatch):
    """1,500 proven rows: three chunks of some 165 KB. Ten to a batch they made one 500 KB
    SendMessageBatch, which AWS refuses (moto takes up to 1 MiB, so the calls are measured)."""
    list_id = _single_opt_in(client, account)
    calls = record_send_batches(monkeypatch)
    accepted = post_import(client, account, list_id, _proven_rows(1500))
    assert accepted.status_code == 202, accepted.body[:300]
    _assert_within_sqs_limits(calls)
    job = json.loads(accepted.body)
    assert job["chunks"]["total"] == sum(len(sizes) for sizes in calls) == 3
    run_import_worker()
    assert report(client, account, list_id, job["import_id"])["counts"]["confirmed"] == 1500


def test_p02_the_queues_take_what_aws_takes(client):
    """The local stack and the tests run on queues with the deployed MaximumMessageSize, so moto
    refuses a message as big as AWS would."""
    from chalicelib.adapters.sqs import queue_url
    from chalicelib.clients import client as aws
    from chalicelib.resources import IMPORTS, OUTBOX

    for queue in (IMPORTS, OUTBOX):
        found = aws("sqs").get_queue_attributes(QueueUrl=queue_url(queue),
                                                AttributeNames=["MaximumMessageSize"])["Attributes"]
        assert int(found["MaximumMessageSize"]) == QUEUE_MESSAGE_MAX_BYTES == 256 * 1024


def test_p02_rows_of_non_latin_names_are_chunked_by_their_queued_bytes(client, account, monkeypatch):
    """Cyrillic and emoji names: 160 characters, but some 1,300 bytes queued (json.dumps escapes
    each to 6 or 12 bytes). Counted in characters, a chunk of 500 such rows took 650 KB."""
    list_id = _single_opt_in(client, account)
    name = "\u0416\u0430\u043d\u043d\u0430 " * 20 + "\U0001F600" * 40
    calls = record_send_batches(monkeypatch)
    accepted = post_import(client, account, list_id, _proven_rows(600, name))
    assert accepted.status_code == 202, accepted.body[:300]
    _assert_within_sqs_limits(calls)
    job = json.loads(accepted.body)
    run_import_worker()
    assert report(client, account, list_id, job["import_id"])["counts"]["confirmed"] == 600
    assert stored(list_id, "p599@example.com").name == f"{name} 599"


def test_p02_a_row_too_big_for_a_queue_message_is_a_413_naming_its_column_and_nothing_is_recorded(
        client, account):
    """45,000 Cyrillic characters in one cell: 90 KB of the file, 270 KB queued."""
    list_id = _single_opt_in(client, account)
    text = ("email,consent_given_at,consent_user_agent\n"
            "a@example.com,2025-01-01T00:00:00Z,ok\n"
            "b@example.com,2025-01-01T00:00:00Z," + "\u0416" * 45_000 + "\n")
    response = post_import(client, account, list_id, text)
    assert response.status_code == 413, response.body[:300]
    error = json.loads(response.body)["error"]
    assert error["field"] == "consent_user_agent" and "line 3" in error["message"]
    assert take("imports") == [] and list(ImportJob.query(account["account_id"])) == []


def test_p02_a_row_just_under_the_chunk_limit_is_queued_and_one_just_over_is_refused():
    from chalicelib.domain.errors import PayloadTooLarge
    from chalicelib.domain.imports import CHUNK_MAX_BYTES, ImportRow, chunks
    from chalicelib.domain.queue_size import json_bytes

    def row_of(size: int) -> ImportRow:
        bare = json_bytes([2, {"email": "a@example.com", "name": ""}]) + 2
        return ImportRow(2, {"email": "a@example.com", "name": "x" * (size - bare)})

    assert json_bytes([2, row_of(CHUNK_MAX_BYTES).values]) + 2 == CHUNK_MAX_BYTES
    assert chunks([row_of(CHUNK_MAX_BYTES)]) == [[row_of(CHUNK_MAX_BYTES)]]
    with pytest.raises(PayloadTooLarge) as refused:
        chunks([row_of(CHUNK_MAX_BYTES + 1)])
    assert refused.value.field == "name"
    assert [len(piece) for piece in chunks([row_of(CHUNK_MAX_BYTES // 2)] * 3)] == [2, 1]


def test_p02_an_import_whose_queueing_fails_midway_is_not_recorded(client, account, monkeypatch):
    """SQS fails on the second SendMessageBatch: the caller gets an error, and no import is left
    'processing' for ever (its retry imports the file again; rows already on the list count as
    unchanged)."""
    from botocore.client import BaseClient

    list_id = _single_opt_in(client, account)
    real, seen = BaseClient._make_api_call, []

    def failing_second_batch(self, operation, params):
        if operation == "SendMessageBatch":
            seen.append(operation)
            if len(seen) == 2:
                raise RuntimeError("SQS is unavailable")
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", failing_second_batch)
    response = post_import(client, account, list_id, _proven_rows(1500))
    assert response.status_code >= 500 and len(seen) == 2
    assert list(ImportJob.query(account["account_id"])) == []
    monkeypatch.setattr(BaseClient, "_make_api_call", real)
    take("imports")
    retried = post_import(client, account, list_id, _proven_rows(1500))
    assert retried.status_code == 202 and len(list(ImportJob.query(account["account_id"]))) == 1


def test_p02_the_queue_batches_are_cut_by_entries_and_by_bytes():
    from chalicelib.domain.queue_size import batches

    limit = QUEUE_MESSAGE_MAX_BYTES
    assert batches([1] * 25) == [range(0, 10), range(10, 20), range(20, 25)]
    assert batches([limit // 2, limit // 2, 1]) == [range(0, 2), range(2, 3)]
    assert batches([limit // 2, limit // 2 + 1]) == [range(0, 1), range(1, 2)]
    assert batches([limit + 1, 5]) == [range(0, 1), range(1, 2)]
    assert batches([]) == []


def test_a_repeated_address_is_reported_by_line_naming_email_and_the_first_row_wins(client, account,
                                                                                     news_list):
    """The second row of an address was counted "unchanged" with no line: its other name and
    consent were dropped unreported. The first row of an address is imported; each later one is
    an invalid row naming the line it repeats, so the counts still add up to the file's rows."""
    list_id = _single_opt_in(client, account)
    text = ("email,name,consent_given_at\n"
            "ann@example.com,Ann,2025-01-01T00:00:00Z\n"
            "bob@example.com,Bob,2025-01-01T00:00:00Z\n"
            " ANN@Example.com ,Anne,2025-02-01T00:00:00Z\n"
            "ann@example.com,Annie,\n")
    done = imported(client, account, list_id, text)
    assert error_lines(done) == [(4, "email"), (5, "email")]
    assert all("repeats line 2" in error["message"] for error in done["errors"])
    assert done["counts"] == {"confirmed": 2, "pending": 0, "unchanged": 0, "suppressed": 0,
                              "rate_limited": 0, "invalid": 2}
    assert sum(done["counts"].values()) == done["rows"] == 4
    assert stored(list_id, "ann@example.com").name == "Ann"


def test_a_repeated_address_in_another_chunk_is_reported_too(client, account, news_list):
    """Chunks are applied by separate worker invocations: the repeat is found when the file is
    read, before it is cut in chunks."""
    list_id = _single_opt_in(client, account)
    rows = "".join(f"p{n}@example.com,P{n},2025-01-01T00:00:00Z\n" for n in range(1100))
    text = "email,name,consent_given_at\n" + rows + "P3@example.com,Other,2025-01-01T00:00:00Z\n"
    job = json.loads(post_import(client, account, list_id, text).body)
    assert job["chunks"]["total"] == 3
    run_import_worker()
    done = report(client, account, list_id, job["import_id"])
    assert error_lines(done) == [(1102, "email")] and "repeats line 5" in done["errors"][0]["message"]
    assert done["counts"]["confirmed"] == 1100 and done["counts"]["invalid"] == 1
    assert stored(list_id, "p3@example.com").name == "P3"


def test_a_repeated_address_is_found_however_its_domain_is_spelt():
    from chalicelib.domain.imports import parse_csv

    text = "email\nann@b\u00fccher.example\nAnn@XN--BCHER-KVA.example\nann@other.example\n"
    rows = parse_csv(text, ()).rows
    assert [(row.line, row.repeats) for row in rows] == [(2, None), (3, 2), (4, None)]
    assert rows[1].values == {}, "a repeat travels without its values"


def test_reading_a_file_of_idn_addresses_asks_the_validator_once_per_domain_and_a_bounded_number_of_times(
        monkeypatch):
    """Every address with a letter beyond ASCII went through the full validator (IDNA, some 250 µs
    each): 100,000 rows at one IDN domain took some 20 s of CPU, far past the API's 29 s on a
    256 MB Lambda's share of a core, a 504 for a file any German list may have. The domain is
    now spelt once per domain, and only for the first EXACT_DOMAINS of them: a file of a new
    domain a row costs what a file of plain ASCII does."""
    import chalicelib.domain.imports as imports

    asked: list[str] = []

    def counted(raw: str, *args, **kwargs) -> str:
        asked.append(raw)
        return normalise(raw, *args, **kwargs)

    normalise = imports.normalise_email
    monkeypatch.setattr(imports, "normalise_email", counted)
    monkeypatch.setattr(imports, "EXACT_DOMAINS", 5, raising=False)
    domains = ("b\u00fccher.example", "XN--BCHER-KVA.example", "\u0219coala.example")
    text = "email\n" + "".join(f"p{n // 3}@{domains[n % 3]}\n" for n in range(3000))
    rows = imports.parse_csv(text, ()).rows
    assert len(asked) <= 3, asked[:5]
    # Both spellings of bücher are one domain: each address of it repeats its first row.
    assert [(row.line, row.repeats) for row in rows[:4]] == [(2, None), (3, 2), (4, None), (5, None)]
    assert sum(row.repeats is not None for row in rows) == 1000

    asked.clear()
    many = "email\n" + "".join(f"p{n}@b\u00fccher{n}.example\nP{n}@B\u00dcCHER{n}.example\n"
                               for n in range(50))
    rows = imports.parse_csv(many, ()).rows
    assert len(asked) <= 5
    # Past the bound the domain is only NFC-normalised and lower-cased: case still tells no one apart.
    assert [row.repeats for row in rows[-2:]] == [None, 100]


def test_p04_an_imported_website_that_is_not_http_is_an_invalid_row_naming_it(client, account, news_list):
    list_id = _single_opt_in(client, account)
    text = ("email,website,consent_given_at\n"
            "ann@example.com,javascript:alert(1),2025-01-01T00:00:00Z\n"
            "bob@example.com,https://bob.example,2025-01-01T00:00:00Z\n")
    assert error_lines(imported(client, account, list_id, text)) == [(2, "website")]
    assert stored(list_id, "ann@example.com") is None
    assert stored(list_id, "bob@example.com").website == "https://bob.example"


@pytest.mark.parametrize("header", ["email,name,", "email,name,,", "email,,name"])
def test_a_header_cell_left_empty_is_ignored_while_its_column_is_empty(client, account, news_list, header):
    """Spreadsheets end the header with a comma as they end rows: the file was refused as having
    an unknown column ''."""
    cells = {"email,name,": "ann@example.com,Ann,", "email,name,,": "ann@example.com,Ann,,",
             "email,,name": "ann@example.com,,Ann"}[header]
    done = imported(client, account, news_list["list_id"], f"{header}\n{cells}\nbob@example.com\n")
    assert done["errors"] == [] and done["rows"] == 2
    assert stored(news_list["list_id"], "ann@example.com").name == "Ann"


def test_a_value_under_a_header_cell_left_empty_refuses_the_file_naming_its_position(client, account,
                                                                                       news_list):
    text = "email,name,\nann@example.com,Ann,\nbob@example.com,Bob,Iasi\n"
    response = post_import(client, account, news_list["list_id"], text)
    assert response.status_code == 400, response.body
    error = json.loads(response.body)["error"]
    assert error["field"] == "body" and "column 3" in error["message"] and "line 3" in error["message"]
    assert "Iasi" not in response.body.decode()
    assert take("imports") == []


def test_a_header_of_many_empty_cells_costs_its_length_once_not_once_a_row():
    """A header ending in a million commas (1 MB, well inside the 5 MB a request may carry) was
    walked again for every row, looking for values under its unnamed cells: 2,000 short rows
    took some 50 s of CPU, past the API's 29 s, a 504 for a file that is 400 at worst. Each row
    now looks only at the cells it has."""
    from chalicelib.domain.imports import parse_csv

    def read(size: int) -> None:
        text = "email" + "," * size + "\n" + "".join(f"p{n}@example.com\n" for n in range(size))
        assert len(parse_csv(text, ()).rows) == size

    assert_linear(read, 1000)


@pytest.mark.parametrize("line", [1, 2])
def test_a_line_wider_than_any_spreadsheet_is_a_400_naming_it_within_the_api_lambdas_memory(
        client, account, news_list, line):
    """A header ending in 5 MB of commas took some 300 MB to read (a cell, a column name and an
    index for each), more than the API's Lambda has: it died with a 502. A line may have as many
    cells as a spreadsheet has columns, and no more."""
    import tracemalloc

    from chalicelib.blueprints.api_imports import MAX_IMPORT_BYTES
    from chalicelib.domain.imports import parse_csv
    from chalicelib.functions import function_spec

    commas = "," * (MAX_IMPORT_BYTES - 100)
    text = "email" + commas + "\na@example.com\n" if line == 1 else "email\na@example.com" + commas + "\n"
    response = post_import(client, account, news_list["list_id"], text)
    assert response.status_code == 400, response.body[:300]
    error = json.loads(response.body)["error"]
    assert error["field"] == "body" and f"line {line} " in error["message"], error
    assert take("imports") == []
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput):
            parse_csv(text, ())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The rest of the function (its libraries, the body's copies) needs the other half.
    assert peak < function_spec("api_handler").memory_mb * 1024 * 1024 // 2, peak


def test_with_dns_checks_a_chunk_asks_once_per_domain_and_reports_rows_its_time_cannot_check(
        client, account, news_list, monkeypatch):
    """With TIDINGS_CHECK_EMAIL_DNS=1 a chunk of 500 rows made 500 lookups (up to 15 s each) and
    ran past the worker's timeout, into the dead-letter queue, leaving the import "processing"
    for ever. A domain is asked once a chunk, and once the chunk's time for lookups is spent the
    rows of domains not yet asked are reported, to be imported again. The clock is the test's."""
    import dataclasses

    import chalicelib.services.imports as imports
    from chalicelib.domain.errors import InvalidInput

    list_id = _single_opt_in(client, account)
    clock, asked = [0.0], []

    def lookup(address: str, *, timeout: float) -> None:
        domain = address.rpartition("@")[2]
        asked.append(domain)
        assert 0 < timeout <= imports.DNS_LOOKUP_SECONDS
        clock[0] += imports.DNS_BUDGET_SECONDS / 2.5  # a slow resolver: the third lookup spends the budget
        if domain == "nomail.example":
            raise InvalidInput("'email' is not a valid email address", field="email")

    monkeypatch.setattr(imports, "check_mail_domain", lookup)
    checking = dataclasses.replace(imports.settings(), check_email_dns=True)
    monkeypatch.setattr(imports, "settings", lambda: checking)
    addresses = ["a@one.example", "b@one.example", "c@nomail.example", "d@three.example", "e@one.example",
                 "f@four.example", "g@three.example"]
    text = "email,consent_given_at\n" + "".join(f"{address},2025-01-01T00:00:00Z\n" for address in addresses)
    job = json.loads(post_import(client, account, list_id, text).body)
    for record in take("imports"):
        imports.apply_chunk(json.loads(record["body"]), clock=lambda: clock[0])
    done = report(client, account, list_id, job["import_id"])
    assert asked == ["one.example", "nomail.example", "three.example"]
    assert error_lines(done) == [(4, "email"), (7, "email")]
    assert "import this row again" in done["errors"][1]["message"]
    assert done["status"] == "completed" and done["counts"]["confirmed"] == 5


def test_a_mail_domain_check_asks_dns_about_the_domain_alone_within_its_timeout(monkeypatch):
    import email_validator

    from chalicelib.domain.addresses import check_mail_domain
    from chalicelib.domain.errors import InvalidInput

    asked = []

    def refusing(address, **options):
        asked.append((address, options))
        raise email_validator.EmailNotValidError("The domain name nomail.example does not accept email.")

    monkeypatch.setattr(email_validator, "validate_email", refusing)
    with pytest.raises(InvalidInput) as refused:
        check_mail_domain("ann.person@nomail.example", timeout=2.5)
    assert refused.value.field == "email"
    assert asked == [("postmaster@nomail.example", {"check_deliverability": True, "timeout": 2.5})]


# --- P02: the proof records the consent text in force when the person agreed ---------------------

_V1_AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
_V2_AT = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def _history() -> list:
    from chalicelib.domain.lists import ConsentText

    return [ConsentText(version=1, text="old", created_at=_V1_AT),
            ConsentText(version=2, text="new", created_at=_V2_AT)]


@pytest.mark.parametrize(("given_at", "version"), [
    (_V1_AT - _SECOND, None),  # before any text of the list: no proof of this list's text
    (_V1_AT, 1), (_V2_AT - _SECOND, 1), (_V2_AT, 2), (_V2_AT + _SECOND, 2)])
def test_p02_an_import_without_a_version_records_the_text_in_force_at_consent_given_at(given_at, version):
    from chalicelib.domain.imports import clean_row

    person = clean_row({"email": "ann@example.com", "consent_given_at": given_at.isoformat(),
                        "consent_ip": "192.0.2.7", "consent_source": "shop form"}, [], _history())
    if version is None:  # P03: proved nothing of this list, so it gets the confirmation mail
        assert person.proof is None and not person.confirmed_at_once(double_opt_in=False)
    else:
        assert person.proof.consent_text_version == version


@pytest.mark.parametrize(("named", "given_at", "version"), [
    ("2", _V2_AT - _SECOND, None), ("2", _V2_AT, 2), ("2", _V2_AT + _SECOND, 2),
    ("1", _V2_AT + _SECOND, 1)])  # an older text the form still showed is the one recorded
def test_p02_an_import_may_not_name_a_version_written_after_consent_given_at(named, given_at, version):
    from chalicelib.domain.errors import InvalidInput
    from chalicelib.domain.imports import clean_row

    row = {"email": "ann@example.com", "consent_given_at": given_at.isoformat(),
           "consent_text_version": named}
    if version is not None:
        assert clean_row(row, [], _history()).proof.consent_text_version == version
    else:
        with pytest.raises(InvalidInput) as refused:
            clean_row(row, [], _history())
        assert refused.value.field == "consent_text_version"


@pytest.mark.parametrize(("given_at", "named", "outcome"), [
    (_V1_AT - _SECOND, "", "tracking_consent_given_at"),
    (_V1_AT, "", 1), (_V2_AT - _SECOND, "", 1), (_V2_AT, "", 2), (_V2_AT + _SECOND, "", 2),
    (_V2_AT - _SECOND, "2", "tracking_consent_text_version"), (_V2_AT, "2", 2)])
def test_p02_an_imports_tracking_consent_records_the_text_in_force_at_its_given_at(given_at, named, outcome):
    from chalicelib.domain.errors import InvalidInput
    from chalicelib.domain.imports import clean_row

    row = {"email": "ann@example.com", "tracking_consent_given_at": given_at.isoformat(),
           "tracking_consent_text_version": named}
    if isinstance(outcome, int):
        tracking = clean_row(row, [], _history(), tracking_versions=_history()).tracking
        assert tracking.consent_text_version == outcome
    else:
        with pytest.raises(InvalidInput) as refused:
            clean_row(row, [], _history(), tracking_versions=_history())
        assert refused.value.field == outcome


# --- the per-address limits: an import mails the addresses as the form and the API do -------------

def test_p11_an_import_spends_the_per_address_limits_and_reports_rows_over_them(
        client, account, news_list, settings_env):
    """An import mailed a confirmation to every row without proof, whatever the form and the API
    had mailed the address already: a tenant could mail one address without limit by importing
    it to list after list. Rows over a limit are neither written nor mailed, and are counted as
    `rate_limited` in the report (import them again later), never dropped silently."""
    from tests.support.lists import new_list

    settings_env(TIDINGS_LIMIT_SIGNUPS_PER_ADDRESS_PER_DAY="1")
    other = new_list(client, bearer(account["api_key"]), "Offers")
    assert imported(client, account, other, "email\nann@example.com\n")["counts"]["pending"] == 1
    take("outbox")
    done = imported(client, account, news_list["list_id"], "email\nann@example.com\nbob@example.com\n")
    assert done["counts"] == {"confirmed": 0, "pending": 1, "unchanged": 0, "suppressed": 0,
                              "rate_limited": 1, "invalid": 0}
    assert [json.loads(r["body"])["email"]["recipient"] for r in take("outbox")] == ["bob@example.com"]
    assert stored(news_list["list_id"], "ann@example.com") is None


def test_p11_an_import_counts_its_rows_in_few_transactions(client, account, news_list, monkeypatch):
    """A chunk of up to 500 rows counts them in transactions of up to 100 items (4 a row), not
    one call a row."""
    from pynamodb.connection.base import Connection

    from chalicelib.store.models import RateCounter

    real, calls = Connection.dispatch, []

    def dispatch(self, operation, kwargs):
        if operation == "TransactWriteItems" and any(
                RateCounter.Meta.table_name in str(item) for item in kwargs["TransactItems"]):
            calls.append(len(kwargs["TransactItems"]))
        return real(self, operation, kwargs)

    monkeypatch.setattr(Connection, "dispatch", dispatch)
    rows = "".join(f"p{n}@example.com\n" for n in range(60))
    assert imported(client, account, news_list["list_id"], "email\n" + rows)["counts"]["pending"] == 60
    assert calls == [100, 100, 40]
