"""`python -m chalicelib.cli smoke` against moto: the SES simulator's bounce and complaint travel
SES → SNS → SQS → the feedback worker (the local stack's simulator and pump play SES and Lambda),
and the purge's last run is checked."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from chalicelib.cli import main as cli
from chalicelib.clients import client
from chalicelib.config import settings
from chalicelib.domain.clock import now
from chalicelib.local import simulator
from chalicelib.local.invoke import invoke_handler
from chalicelib.local.pump import SqsPump
from chalicelib.local.scheduler import scheduled_event


@pytest.fixture
def deployed(aws: dict[str, str]) -> Iterator[None]:
    """SES's event publishing (the simulator) and Lambda's queue polling (the pump), running."""
    from app import app

    uninstall = simulator.install(client("sesv2"), aws["ses_feedback_topic_arn"])
    pump = SqsPump(app, settings().region, retry_delay_seconds=0, poll_interval_seconds=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=pump.run, args=(stop,), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)
    uninstall()


def _daily_purge() -> None:
    from app import app

    event = scheduled_event(app, "retention_worker", now(), settings().region)
    invoke_handler(app, "retention_worker", event, settings().region)


def _report(out: str) -> dict:
    # The handlers' JSON log lines come first; the command's report is the last document.
    return json.loads(out[out.rindex('{\n  "ok"'):])


def test_smoke_sees_bounce_and_complaint_come_back_and_a_recent_purge(deployed, capsys):
    _daily_purge()
    assert cli(["smoke", "--timeout", "60", "--poll-seconds", "0.1"]) == 0
    report = _report(capsys.readouterr().out)
    assert report["ok"] is True
    assert set(report["feedback"]) == {"bounce", "complaint"}
    assert all(found.startswith("arrived after") for found in report["feedback"].values())
    assert report["purge"]["ok"] is True and report["purge"]["outcome"] == "complete"


def test_smoke_fails_when_feedback_never_arrives_or_the_purge_never_ran(aws, capsys):
    # No pump and no SES events: nothing comes back.
    assert cli(["smoke", "--timeout", "0.3", "--poll-seconds", "0.1"]) == 1
    report = _report(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["feedback"] == {"bounce": "missing after 0 s", "complaint": "missing after 0 s"}
    assert report["purge"] == {"ok": False, "last_run": None, "outcome": "the purge has never run"}


@pytest.mark.parametrize("option, value", [("--timeout", "nan"), ("--timeout", "inf"), ("--timeout", "-1"),
                                           ("--poll-seconds", "nan"), ("--poll-seconds", "-1"),
                                           ("--poll-seconds", "0")])
def test_smoke_refuses_a_wait_that_is_not_a_finite_number_of_seconds(aws, monkeypatch, capsys, option, value):
    # NaN or infinity waited forever, a negative poll or NaN raised a traceback after the mails
    # had gone, a zero poll hammered DynamoDB: refused with a message before anything is sent.
    import chalicelib.cli as cli_module

    started = []
    monkeypatch.setattr(cli_module, "run_smoke", lambda *args: started.append(args))
    with pytest.raises(SystemExit) as exit_status:
        cli(["smoke", option, value])
    assert exit_status.value.code == 2 and started == []
    assert option in capsys.readouterr().err
