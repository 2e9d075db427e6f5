"""`python -m chalicelib.local`: run the local stack until Ctrl-C (SIGINT) or SIGTERM."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from chalicelib.local.stack import DEFAULT_STATE_FILE, LocalStack, start_stack


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.local", description=__doc__)
    parser.add_argument("--api-port", type=int, default=8000, help="HTTP API port (0: any free port)")
    parser.add_argument("--aws-port", type=int, default=4566, help="moto's port (0: any free port)")
    parser.add_argument("--state-file", type=Path, default=DEFAULT_STATE_FILE,
                        help="where to write the URLs, ids and demo key as JSON")
    return parser


def _banner(stack: LocalStack) -> str:
    d = stack.details
    return f"""
Tidings local stack is running (state in memory: it is gone when you stop it).
  API                {d["api_url"]}
  AWS endpoint       {d["aws_endpoint_url"]}  (moto, region {d["region"]})
  Outbox             {d["outbox_url"]}
  Demo account       {d["account_id"]}
  Demo API key       {d["api_key"]}
  Demo list          {d["list_id"]}
  Signup form        {d["form_url"]}
  SES feedback topic {d["ses_feedback_topic_arn"]}
  Written to         {stack.state_file}
Try:  curl -H "Authorization: Bearer {d["api_key"]}" {d["api_url"]}/v1/lists/{d["list_id"]}
Stop with Ctrl-C.
"""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Plain lines for the stack's own loggers; the app's Powertools logger keeps its JSON, and
    # the libraries' chatter shows from WARNING up. (Powertools drops root-handler records from
    # any logger whose name contains its service name, "tidings": hence "local_stack".)
    logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("local_stack").setLevel(logging.INFO)
    stop = threading.Event()
    # Set before starting, so a signal during start-up still stops cleanly afterwards.
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("Starting the Tidings local stack. Everything is kept in memory: nothing survives a stop.",
          flush=True)
    stack = start_stack(api_port=args.api_port, aws_port=args.aws_port, state_file=args.state_file)
    print(_banner(stack), flush=True)
    while not stop.wait(1.0):
        pass
    print("Stopping...", flush=True)
    stack.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
