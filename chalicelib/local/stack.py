"""Starting and stopping the local stack: one process, one thread per part.

moto's server plays AWS, Chalice's local server plays API Gateway + Lambda for HTTP, the SQS pump
plays Lambda's event source mappings and the scheduler plays EventBridge. Everything lives in
memory; stopping the stack loses it.
"""
from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import sys
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chalice import Chalice
from chalice.config import Config
from chalice.deploy.validate import validate_routes
from chalice.local import ChaliceRequestHandler, LocalDevServer, create_local_server

from chalicelib.adapters.sqs import forget_queue_urls
from chalicelib.clients import client, reset_clients
from chalicelib.config import settings
from chalicelib.local import outbox, simulator
from chalicelib.local.demo import create_demo
from chalicelib.local.invoke import LOCAL_STAGE
from chalicelib.local.provision import provision
from chalicelib.local.pump import SqsPump
from chalicelib.local.scheduler import Scheduler

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_STATE_FILE = PROJECT_DIR / ".tidings" / "local.json"

log = logging.getLogger("local_stack")
access_log = logging.getLogger("local_stack.http")


@dataclass
class LocalStack:
    """A running stack. `details` is what local.json holds; `stop()` ends every part."""

    details: dict[str, str]
    state_file: Path
    _stop: threading.Event
    _threads: list[threading.Thread]
    _api: LocalDevServer
    _moto: Any
    _stopped: bool = False

    def stop(self) -> None:
        """Stop the pump and scheduler (each finishes its current call), then the API, then moto."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        self._api.server.shutdown()
        for thread in self._threads:
            thread.join()
        self._api.server.server_close()
        self._moto.stop()
        # The key and ids it lists died with the in-memory state.
        self.state_file.unlink(missing_ok=True)
        log.info("local stack stopped")


def start_stack(
    api_port: int = 8000,
    aws_port: int = 4566,
    host: str = "127.0.0.1",
    state_file: Path = DEFAULT_STATE_FILE,
    retry_delay_seconds: int = 2,
    project_dir: Path = PROJECT_DIR,
) -> LocalStack:
    """Start moto, provision, serve the API, create the demo data, start the pump and scheduler.

    Port 0 picks a free port; the ports used are in `details`. This points the whole process
    (os.environ) at the local moto endpoint with dummy credentials, so nothing reaches AWS.
    """
    from moto.server import ThreadedMotoServer  # a development dependency, never deployed

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto would log every request
    config = chalice_config(project_dir)
    os.environ.update(config.environment_variables)
    settings.cache_clear()
    region = settings().region

    with ExitStack() as undo_on_failure:
        moto = ThreadedMotoServer(ip_address=host, port=aws_port, verbose=False)
        moto.start()
        undo_on_failure.callback(moto.stop)
        aws_endpoint_url = f"http://{host}:{moto.get_host_and_port()[1]}"
        _use_endpoint(aws_endpoint_url, region)
        outputs = provision(settings())
        app = load_app(project_dir)
        api = _api_server(app, config, host, api_port)
        undo_on_failure.callback(api.server.server_close)
        api_url = f"http://{host}:{api.server.server_address[1]}"
        # Links in mail point at this server unless the environment says otherwise.
        os.environ.setdefault("TIDINGS_PUBLIC_BASE_URL", api_url)
        settings.cache_clear()
        # SES's mailbox simulator and event publishing, on the real feedback path.
        simulator.install(client("sesv2"), outputs["ses_feedback_topic_arn"])
        demo = create_demo(api_url)
        pump = SqsPump(app, region, retry_delay_seconds=retry_delay_seconds)
        scheduler = Scheduler(app, region)
        undo_on_failure.pop_all()  # started: from here on, LocalStack.stop() ends them

    stop = threading.Event()
    threads = [
        threading.Thread(target=pump.run, args=(stop,), name="tidings-sqs-pump", daemon=True),
        threading.Thread(target=scheduler.run, args=(stop,), name="tidings-scheduler", daemon=True),
        threading.Thread(target=api.server.serve_forever, name="tidings-api", daemon=True),
    ]
    for thread in threads:
        thread.start()
    details = {
        "api_url": api_url,
        "aws_endpoint_url": aws_endpoint_url,
        "region": region,
        "api_key": demo.api_key,
        "account_id": demo.account_id,
        "list_id": demo.list_id,
        "form_url": f"{api_url}/f/{demo.list_id}",
        "outbox_url": f"{api_url}{outbox.OUTBOX_PATH}",
        "ses_feedback_topic_arn": outputs["ses_feedback_topic_arn"],
    }
    write_state(state_file, details)
    log.info("SQS handlers: %s", ", ".join(s.function_name for s in pump.subscriptions) or "none")
    log.info("schedule handlers: %s",
             ", ".join(f"{job.function_name} {job.expression}" for job in scheduler.jobs) or "none")
    return LocalStack(details, state_file, stop, threads, api, moto)


def chalice_config(project_dir: Path) -> Config:
    """The Chalice config of the "local" stage, from .chalice/config.json (as `chalice local`)."""
    config_from_disk = json.loads((project_dir / ".chalice" / "config.json").read_text())
    return Config(
        chalice_stage=LOCAL_STAGE,
        config_from_disk=config_from_disk,
        default_params={"project_dir": str(project_dir)},
    )


def load_app(project_dir: Path) -> Chalice:
    """Import app.py's `app` and add the local-only outbox routes to it."""
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    app: Chalice = importlib.import_module("app").app
    if outbox.OUTBOX_PATH not in app.routes:
        app.register_blueprint(outbox.blueprint)
    validate_routes(app.routes)  # what `chalice local` checks: routes deploy would refuse
    return app


def write_state(path: Path, details: dict[str, str]) -> None:
    """Write local.json atomically (readers never see half a file), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(details, indent=2) + "\n")
    partial.chmod(0o600)  # it holds an API key
    partial.replace(path)


def _use_endpoint(endpoint_url: str, region: str) -> None:
    # boto3 and PynamoDB follow AWS_ENDPOINT_URL; dummy credentials make a miss fail, not bill.
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint_url,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    reset_clients()
    forget_queue_urls()


class _RequestHandler(ChaliceRequestHandler):
    """Chalice's handler with an access log that holds no client address and no query string
    (public links carry tokens there)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        access_log.info("%s %s %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:
        access_log.info(format, *args)


def _api_server(app: Chalice, config: Config, host: str, port: int) -> LocalDevServer:
    # create_local_server also makes `app.current_request` thread-local for the threaded server.
    server = create_local_server(app, config, host, port)
    server.server.RequestHandlerClass = functools.partial(_RequestHandler, app_object=app, config=config)
    return server
