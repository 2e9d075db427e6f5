"""The local stack: its scheduler, its outbox, and the whole stack end to end over real HTTP."""
from __future__ import annotations

import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chalice import Chalice, Cron, Rate

from chalicelib.domain.mime import build_mime
from chalicelib.domain.outgoing import OutgoingEmail
from chalicelib.local.outbox import render_page
from chalicelib.local.scheduler import Scheduler
from chalicelib.local.schedules import parse_schedule
from chalicelib.local.sent import parse_raw_email, sent_emails, sent_sms
from tests.support.lambdas import test_function
from tests.support.stack import get_json, running_stack

T0 = datetime(2026, 3, 7, 10, 0, 30, tzinfo=UTC)  # a Saturday


class FakeClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


# --- schedule expressions -------------------------------------------------------------------

def test_rate_fires_one_interval_after_the_previous_time() -> None:
    assert parse_schedule("rate(1 day)").next_after(T0) == T0 + timedelta(days=1)
    assert parse_schedule("rate(15 minutes)").next_after(T0) == T0 + timedelta(minutes=15)


def test_cron_fires_at_the_next_matching_minute_in_utc() -> None:
    daily = parse_schedule("cron(30 2 * * ? *)")
    weekdays = parse_schedule("cron(0 9 ? * MON-FRI *)")
    quarters = parse_schedule("cron(0/15 * * * ? *)")

    assert daily.next_after(T0) == datetime(2026, 3, 8, 2, 30, tzinfo=UTC)
    assert weekdays.next_after(T0) == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # Saturday -> Monday
    assert quarters.next_after(T0) == datetime(2026, 3, 7, 10, 15, tzinfo=UTC)
    assert parse_schedule("cron(0 0 1 JAN ? *)").next_after(T0) == datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_schedule("cron(0 12 ? * 1 *)").next_after(T0) == datetime(2026, 3, 8, 12, tzinfo=UTC)


@pytest.mark.parametrize(("expression", "reason"), [
    ("cron(0 0 L * ? *)", "L, W and # are not"),
    ("cron(0 0 * * * *)", "exactly one of day-of-month and day-of-week"),
    ("cron(0 0 * *)", "cron needs 6 fields"),
    ("cron(61 0 * * ? *)", "61 is outside 0-59"),
    ("rate(0 days)", "at least 1"),
    ("rate(2 weeks)", "neither rate"),
    ("every day", "neither rate"),
])
def test_unsupported_schedule_expressions_are_refused_clearly(expression: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_schedule(expression)


# --- the scheduler ----------------------------------------------------------------------------

def scheduled_app() -> tuple[Chalice, list[tuple[str, dict[str, Any]]]]:
    app = Chalice(app_name="scheduler-test")
    calls: list[tuple[str, dict[str, Any]]] = []

    @app.schedule("rate(5 minutes)")
    def every_five_minutes(event: Any) -> None:
        calls.append(("every_five_minutes", event.to_dict()))

    @app.schedule(Rate(1, unit=Rate.HOURS))
    def hourly(event: Any) -> None:
        calls.append(("hourly", event.to_dict()))
        raise RuntimeError("a failing run must not stop the scheduler")

    @app.schedule(Cron(0, 3, "*", "*", "?", "*"))
    def nightly(event: Any) -> None:
        calls.append(("nightly", event.to_dict()))

    return app, calls


def test_scheduler_runs_each_handler_when_its_expression_fires() -> None:
    app, calls = scheduled_app()
    clock = FakeClock(T0)
    scheduler = Scheduler(app, "eu-west-1", clock=clock, spec_of=test_function)

    ran = []
    for minutes in (0, 4, 5, 6, 10, 60):
        clock.moment = T0 + timedelta(minutes=minutes)
        ran.append(scheduler.run_due())
    clock.moment = datetime(2026, 3, 8, 3, 0, 5, tzinfo=UTC)
    ran.append(scheduler.run_due())

    assert ran == [[], [], ["every_five_minutes"], [], ["every_five_minutes"],
                   ["every_five_minutes", "hourly"], ["every_five_minutes", "hourly", "nightly"]]
    event = calls[0][1]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2026-03-07T10:05:30Z"
    assert event["resources"][0].endswith(":rule/scheduler-test-local-every_five_minutes")


def test_scheduler_without_schedule_handlers_runs_and_stops() -> None:
    scheduler = Scheduler(Chalice(app_name="no-schedules"), "eu-west-1")
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop, 0.01))
    thread.start()
    time.sleep(0.05)
    stop.set()
    thread.join(timeout=5)

    assert scheduler.jobs == []
    assert not thread.is_alive()


def test_scheduler_names_the_handler_whose_expression_it_cannot_run() -> None:
    app = Chalice(app_name="bad-schedule")

    @app.schedule("cron(0 0 L * ? *)")
    def month_end(event: Any) -> None: ...

    with pytest.raises(ValueError, match="month_end"):
        Scheduler(app, "eu-west-1")


# --- the outbox -------------------------------------------------------------------------------

def demo_mail(**changes: Any) -> OutgoingEmail:
    fields: dict[str, Any] = {
        "sender": "news@demo.tidings.example",
        "recipient": "reader@example.com",
        "subject": "Please confirm <your> subscription",
        "text": "Confirm here: https://demo.example/c/abc123.\nThanks",
        "html": '<p>Confirm <a href="https://demo.example/c/abc123">here</a></p><script>alert(1)</script>',
        "headers": {"List-Unsubscribe": "<https://demo.example/u/xyz>"},
    }
    return OutgoingEmail(**{**fields, **changes})


def test_raw_mime_is_parsed_into_headers_bodies_and_links() -> None:
    sent = parse_raw_email("ses-1", build_mime(demo_mail()).decode())

    assert (sent.sender, sent.to, sent.subject) == (
        "news@demo.tidings.example", "reader@example.com", "Please confirm <your> subscription")
    assert sent.date
    assert ("List-Unsubscribe", "<https://demo.example/u/xyz>") in sent.headers
    assert "Confirm here" in (sent.text or "")
    assert "<a href" in (sent.html or "")
    assert sent.links == ["https://demo.example/c/abc123"]


def test_outbox_page_escapes_everything_and_sandboxes_the_html_body() -> None:
    page = render_page([parse_raw_email("ses-1", build_mime(demo_mail()).decode())], [])

    assert "Please confirm &lt;your&gt; subscription" in page
    assert "<script>" not in page
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    assert "allow-scripts" not in page
    assert 'srcdoc="&lt;base target=&quot;_blank&quot;&gt;&lt;p&gt;Confirm' in page
    assert '<a href="https://demo.example/c/abc123" target="_blank"' in page
    assert "List-Unsubscribe: &lt;https://demo.example/u/xyz&gt;" in page


def test_outbox_reads_what_moto_recorded_for_ses_and_sns(aws: dict[str, str]) -> None:
    from chalicelib.adapters.ses import send_raw_email
    from chalicelib.clients import client
    from chalicelib.config import settings

    mail = demo_mail(sender=settings().default_sender, subject="Recorded by moto")
    send_raw_email(build_mime(mail), mail.recipient, {"kind": "test"})
    client("sns").publish(PhoneNumber="+40700000001", Message="Demo: reply STOP to opt out")

    assert "Recorded by moto" in [item.subject for item in sent_emails()]
    assert ("+40700000001", "Demo: reply STOP to opt out") in [(s.to, s.message) for s in sent_sms()]


# --- the whole stack, end to end --------------------------------------------------------------

@contextmanager
def aws_endpoint(monkeypatch: pytest.MonkeyPatch, endpoint_url: str) -> Iterator[None]:
    """Point this test process's boto3 clients at the stack's moto, and back afterwards."""
    from chalicelib.adapters.sqs import forget_queue_urls
    from chalicelib.clients import reset_clients
    from chalicelib.config import settings

    def forget() -> None:
        settings.cache_clear()
        reset_clients()
        forget_queue_urls()

    with monkeypatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", endpoint_url)
        forget()
        try:
            yield
        finally:
            patch.undo()
            forget()


def test_local_stack_serves_the_api_pumps_the_outbox_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.adapters.sqs import enqueue
    from chalicelib.config import settings
    from chalicelib.domain.ids import new_id
    from chalicelib.domain.outbox import EmailJob
    from chalicelib.resources import OUTBOX

    with running_stack(tmp_path) as stack:
        local = stack.details
        assert set(local) == {"api_url", "aws_endpoint_url", "region", "api_key", "account_id", "list_id",
                              "form_url", "outbox_url", "ses_feedback_topic_arn"}
        assert local["form_url"] == f"{local['api_url']}/f/{local['list_id']}"

        demo_list = get_json(f"{local['api_url']}/v1/lists/{local['list_id']}",
                             {"Authorization": f"Bearer {local['api_key']}"})
        assert demo_list["consent_text"].startswith("Yes, send me the Demo newsletter.")

        subject = f"End to end {new_id('t')}"
        with aws_endpoint(monkeypatch, local["aws_endpoint_url"]):
            mail = demo_mail(sender=settings().default_sender, subject=subject)
            enqueue(OUTBOX, EmailJob(new_id("msg"), local["account_id"], "transactional", mail).to_dict())

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            emails = get_json(f"{local['outbox_url']}.json")["emails"]
            if any(item["subject"] == subject for item in emails):
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"the job never reached the outbox:\n{stack.log.read_text()}")
        item = next(item for item in emails if item["subject"] == subject)
        headers = {header["name"]: header["value"] for header in item["headers"]}
        assert headers["To"] == "reader@example.com"
        assert headers["List-Unsubscribe"] == "<https://demo.example/u/xyz>"
        assert "Message-ID" in headers
        assert item["links"] == ["https://demo.example/c/abc123"]
        with urllib.request.urlopen(local["outbox_url"], timeout=10) as page:
            assert subject in page.read().decode()

    assert stack.returncode == 0, stack.log.read_text()
    assert "Stopped." in stack.log.read_text()
    assert not (tmp_path / "local.json").exists()
    assert "reader@example.com" not in stack.log.read_text()  # no contact data in the stack's logs
