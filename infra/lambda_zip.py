"""What the Lambda zip ships, beyond what `chalice package` puts in it (infra/package.py calls
`finish_zip` on it): bytecode for every module, and botocore's service models for the services
the functions call, no others.

- Bytecode: Lambda's /var/task is read-only, so without .pyc files every cold start compiles the
  app and its dependencies from source. Each module gets an unchecked hash-based .pyc (PEP 552):
  the import system uses it without comparing it to the source's time stamp, which a zip does
  not keep exactly.
- botocore ships the models of some 450 services, three quarters of the zip. A client loads only
  its own service's model, so the others are dead weight.
- Powertools ships the Swagger UI (a 420 KiB script) for its own REST event handler's docs page;
  the API here is Chalice's, which never serves it.
"""
from __future__ import annotations

import importlib.util
import marshal
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

# The services the functions' clients call: chalicelib/clients.py (SQS, SES v1 and v2, SNS),
# PynamoDB (DynamoDB), Powertools Parameters (Secrets Manager), and STS, which botocore's
# credential providers may ask. tests/test_template.py checks the code calls no other.
BOTOCORE_SERVICES = frozenset({"dynamodb", "sqs", "ses", "sesv2", "sns", "secretsmanager", "sts"})
# Static files of libraries' features the functions never use.
UNUSED_ASSETS = ("aws_lambda_powertools/event_handler/openapi/swagger_ui/",)
# Lambda's runtime (python3.11): bytecode is specific to the interpreter's minor version.
RUNTIME = (3, 11)
# PEP 552: hash-based, not checked against the source.
_UNCHECKED_HASH = 0b01


def pyc(source: bytes, path: str) -> bytes:
    """The unchecked hash-based bytecode of a module's source."""
    code = compile(source, path, "exec", dont_inherit=True)
    return (importlib.util.MAGIC_NUMBER + _UNCHECKED_HASH.to_bytes(4, "little")
            + importlib.util.source_hash(source) + marshal.dumps(code))


def cached_path(path: str) -> str:
    """Where the import system looks for a module's bytecode: `pkg/__pycache__/mod.cpython-311.pyc`."""
    folder, _, name = path.rpartition("/")
    stem = name.removesuffix(".py")
    tag = f"cpython-{RUNTIME[0]}{RUNTIME[1]}"
    return f"{folder + '/' if folder else ''}__pycache__/{stem}.{tag}.pyc"


def _unused(path: str) -> bool:
    """A botocore model of a service the functions do not call, or an unused library asset."""
    parts = path.split("/")
    model_unused = (len(parts) > 3 and parts[0] == "botocore" and parts[1] == "data"
                    and parts[2] not in BOTOCORE_SERVICES)
    return model_unused or (path.startswith(UNUSED_ASSETS) and not path.endswith(".py"))


def finish_zip(path: Path) -> None:
    """Rewrite the Lambda zip at `path`: unused botocore models and assets dropped, bytecode added."""
    if sys.version_info[:2] != RUNTIME:
        raise RuntimeError(f"bytecode for Lambda's Python {RUNTIME[0]}.{RUNTIME[1]} must be compiled "
                           f"by it, not by {sys.version_info[0]}.{sys.version_info[1]}")
    with tempfile.NamedTemporaryFile(suffix=".zip", dir=path.parent, delete=False) as out_file:
        finished = Path(out_file.name)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(finished, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            # Bytecode the build copied (a developer's time-stamped .pyc) is dropped: every module
            # gets its hash-based one below.
            if _unused(info.filename) or "/__pycache__/" in f"/{info.filename}":
                continue
            data = source.read(info)
            target.writestr(info, data)
            if info.filename.endswith(".py"):
                compiled = zipfile.ZipInfo(cached_path(info.filename), date_time=info.date_time)
                compiled.external_attr = info.external_attr
                target.writestr(compiled, pyc(data, info.filename), zipfile.ZIP_DEFLATED)
    shutil.move(finished, path)
