"""Builds the deployable CloudFormation template: `python -m infra.package build [--stage prod]
[--out build] [--prefix tidings]` writes <out>/sam.json and the Lambda code <out>/deployment.zip.

It generates the merge template (infra/template.py) for the app's functions, runs
`chalice package --merge-template`, which puts Chalice's resources and ours in one template, and
checks that every function Chalice generated got what the merge template gives.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from chalice.app import ScheduledEventConfig, SQSEventConfig
from chalice.utils import to_cfn_resource_name

from chalicelib.config import Settings, read_settings
from chalicelib.functions import ARCHITECTURE
from infra.template import (
    LambdaFunction,
    SqsHandler,
    build_merge_template,
    lambda_environment,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_NAME = "sam.json"
MERGE_TEMPLATE_NAME = "merge-template.json"


def build(stage: str = "prod", out: Path | str = "build", prefix: str = "tidings") -> Path:
    """Package the app's `stage` with every resource named `<prefix>-<logical name>`.

    Returns the path of the packaged template; the merge template is left beside it so a
    reviewer can see what was added to Chalice's output. Raises CalledProcessError if
    `chalice package` fails, RuntimeError if the merge and Chalice's output do not line up.
    """
    deployed = read_settings({"TIDINGS_PREFIX": prefix, "TIDINGS_STAGE": stage})
    out_dir = Path(out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    merge_path = out_dir / MERGE_TEMPLATE_NAME
    functions, handlers = app_functions()
    merge = build_merge_template(deployed, functions, handlers)
    merge_path.write_text(json.dumps(merge, indent=2) + "\n")
    # Chalice imports app.py, which names the queues its handlers consume from TIDINGS_PREFIX.
    env = {**os.environ, "TIDINGS_PREFIX": prefix}
    # Chalice insists on a region; the template itself only uses ${AWS::Region}.
    env.setdefault("AWS_DEFAULT_REGION", deployed.region)
    subprocess.run(
        [str(Path(sys.executable).parent / "chalice"), "package", "--stage", stage,
         "--merge-template", str(merge_path), str(out_dir)],
        cwd=PROJECT_DIR, env=env, check=True,
    )
    template_path = out_dir / TEMPLATE_NAME
    check_merged(json.loads(template_path.read_text()), deployed)
    return template_path


def app_functions() -> tuple[list[LambdaFunction], list[SqsHandler]]:
    """The app's Lambda functions and SQS handlers, by the logical ids Chalice's packager gives
    them (it derives them from the names below the way `chalice_function_id` does)."""
    from app import app  # lazily: importing the app reads the settings and registers everything

    names = [function.name for function in app.pure_lambda_functions]
    names += [source.name for source in app.event_sources]
    if app.routes:
        names.append("api_handler")
    scheduled = {source.name for source in app.event_sources if isinstance(source, ScheduledEventConfig)}
    functions = [
        LambdaFunction(chalice_function_id(name), to_cfn_resource_name(f"{name}_role"), name,
                       scheduled=name in scheduled)
        for name in names
    ]
    handlers = [
        SqsHandler(
            function_id=chalice_function_id(source.name),
            event_id=to_cfn_resource_name(f"{source.name}-sqs-event-source"),
            queue_name=source.queue or source.queue_arn or "",
        )
        for source in app.event_sources
        if isinstance(source, SQSEventConfig)
    ]
    return functions, handlers


def chalice_function_id(name: str) -> str:
    """The logical id of a Chalice function; the REST API's handler has a fixed one."""
    return "APIHandler" if name == "api_handler" else to_cfn_resource_name(name)


def check_merged(template: dict[str, Any], deployed: Settings) -> None:
    """Raise RuntimeError unless the merge lined up with Chalice's output: no merged resource or
    event without a Type (it named something Chalice did not generate), every function has the
    deployed environment, and the Lambda zip Chalice built is for the declared architecture."""
    resources = template["Resources"]
    problems = [f"{name} has no Type" for name, resource in resources.items() if "Type" not in resource]
    expected = lambda_environment(deployed)
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        problems += [
            f"{name}.Events.{event} has no Type"
            for event, spec in properties.get("Events", {}).items()
            if "Type" not in spec
        ]
        if resource.get("Type") == "AWS::Serverless::Function":
            variables = properties.get("Environment", {}).get("Variables", {})
            if any(variables.get(key) != value for key, value in expected.items()):
                problems.append(f"{name} lacks the deployed environment")
            if properties.get("Architectures") != [ARCHITECTURE]:
                problems.append(f"{name} is not built for {ARCHITECTURE}")
    if problems:
        raise RuntimeError("the merge template and Chalice's output do not line up: " + "; ".join(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="write the template and Lambda zip")
    build_command.add_argument("--stage", default="prod", help="Chalice stage (default: prod)")
    build_command.add_argument("--out", default="build", help="output directory (default: build)")
    build_command.add_argument("--prefix", default="tidings", help="resource name prefix (default: tidings)")
    args = parser.parse_args(argv)
    # Before the app is imported, so its handlers name the queues of this prefix.
    os.environ["TIDINGS_PREFIX"] = args.prefix
    template_path = build(stage=args.stage, out=args.out, prefix=args.prefix)
    zip_path = template_path.with_name("deployment.zip")
    print(f"{template_path} ({template_path.stat().st_size} bytes), "
          f"{zip_path} ({zip_path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
