"""Cold import time of `app` against `import boto3`, each in fresh interpreters, with botocore's
service models as the Lambda zip ships them.

Each import runs in a new subprocess (so nothing is already in sys.modules) with the offline AWS
environment, timed with perf_counter around the import alone (interpreter start-up excluded).
Two conditions:
- with the bytecode cache: .pyc files exist, as on a laptop or a warm-built image;
- without it for everything outside the standard library, as on Lambda when the zip ships no .pyc:
  /var/task is read-only, so every cold start compiles the app and its dependencies from source
  (the runtime's own standard library comes precompiled).
"""
from __future__ import annotations

import atexit
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bench.offline import offline_environ

REPO = Path(__file__).resolve().parent.parent

# Runs inside the subprocess: argv[1] the module (or several, comma-separated), argv[2] "cache" or
# "nocache".
_TIMED_IMPORT = """
import importlib, importlib.machinery, sys, sysconfig, time
if sys.argv[2] == "nocache":
    stdlib = sysconfig.get_paths()["stdlib"]
    path_stats = importlib.machinery.SourceFileLoader.path_stats
    def no_cache_outside_stdlib(loader, path):
        # Without the source's stats the loader neither reads nor writes a .pyc: it compiles.
        if not path.startswith(stdlib):
            raise OSError("bytecode cache disabled")
        return path_stats(loader, path)
    importlib.machinery.SourceFileLoader.path_stats = no_cache_outside_stdlib
def import_at_depth(frames):
    if frames:
        return import_at_depth(frames - 1)
    start, cpu = time.perf_counter(), time.process_time()
    for name in sys.argv[1].split(","):
        importlib.import_module(name)
    return time.perf_counter() - start, time.process_time() - cpu
print(*import_at_depth(int(sys.argv[3]) if len(sys.argv) > 3 else 0))
"""
# CPython 3.11 keeps frames in 16 KiB chunks and frees one as soon as the stack drops below it: an
# import whose hot loops run just at a chunk's edge allocates and frees thousands of them, and
# costs up to a sixth more, by nothing but the depth it starts at (Lambda's bootstrap has its
# own). Each timed run starts one frame deeper than the last, so a median is not one depth's luck.
STACK_DEPTHS = 8


@dataclass(frozen=True)
class ImportTiming:
    """Milliseconds of one module's import, one value per fresh interpreter: wall clock, and the
    interpreter's CPU time (which other work on a busy machine inflates far less)."""

    module: str
    runs_ms: tuple[float, ...]
    cpu_runs_ms: tuple[float, ...] = ()

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)

    @property
    def median_cpu_ms(self) -> float:
        return statistics.median(self.cpu_runs_ms)


@cache
def _zip_botocore() -> Path:
    """A folder holding botocore as the Lambda zip ships it (infra/lambda_zip.py: only the models
    of the services the functions call), compiled; put first on the timed interpreters' path. A
    client's creation lists the services botocore holds, so with all 400-odd of the development
    environment's it would cost more than it does in Lambda."""
    import botocore

    from infra.lambda_zip import BOTOCORE_SERVICES

    source = Path(botocore.__file__).parent
    folder = Path(tempfile.mkdtemp(prefix="tidings-zip-botocore-"))
    atexit.register(shutil.rmtree, folder, True)

    def unused_models(directory: str, names: list[str]) -> set[str]:
        if Path(directory) != source / "data":
            return set()
        return {name for name in names if (source / "data" / name).is_dir() and name not in BOTOCORE_SERVICES}

    shutil.copytree(source, folder / "botocore", ignore=unused_models)
    compileall.compile_dir(folder, quiet=1)
    return folder


def _run(args: list[str], write_bytecode: bool = False) -> subprocess.CompletedProcess[str]:
    env = offline_environ()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(_zip_botocore()), env.get("PYTHONPATH"))))
    if write_bytecode:
        # A shell with PYTHONDONTWRITEBYTECODE set would leave the app without .pyc, and every timed
        # run would compile it from source: not what the zip, which ships bytecode, does.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env,
        capture_output=True, text=True, check=True, timeout=120,
    )


def time_import(module: str, runs: int, *, bytecode_cache: bool) -> ImportTiming:
    """Import `module` in `runs` fresh interpreters, each at another stack depth, and return
    each run's time."""
    return time_imports((module,), runs, bytecode_cache=bytecode_cache)[0]


def time_imports(modules: tuple[str, ...], runs: int, *, bytecode_cache: bool) -> list[ImportTiming]:
    """Each of `modules` imported in `runs` fresh interpreters, the modules taking turns run by
    run (so a change in the machine's load weighs on each alike), each run at another stack
    depth."""
    mode = "cache" if bytecode_cache else "nocache"
    for module in modules:  # warm-up: writes any missing .pyc, fills the OS cache
        _run(["-c", _TIMED_IMPORT, module, "cache"], write_bytecode=True)
    wall: dict[str, list[float]] = {module: [] for module in modules}
    cpu: dict[str, list[float]] = {module: [] for module in modules}
    for run in range(runs):
        depth = str(run % STACK_DEPTHS)
        for module in modules:
            seconds, cpu_seconds = _run(["-c", _TIMED_IMPORT, module, mode, depth]).stdout.split()
            wall[module].append(float(seconds) * 1000)
            cpu[module].append(float(cpu_seconds) * 1000)
    return [ImportTiming(module, tuple(wall[module]), tuple(cpu[module])) for module in modules]


def import_breakdown(module: str) -> Counter[str]:
    """Milliseconds of `import module` spent in each top-level package (python -X importtime).

    Each module's own time ("self") is added to its top-level package, so the values sum to the
    module's cumulative import time; a module is charged to whoever imports it first.
    """
    stderr = _run(["-X", "importtime", "-c", f"import {module}"]).stderr
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line.removeprefix("import time:").split("|")
        level = (len(name) - len(name.lstrip(" ")) - 1) // 2  # two spaces per nesting level
        rows.append((level, name.strip(), int(self_us)))
    # The module's line comes last; its subtree is every line back to the previous top-level one.
    end = max(i for i, (level, name, _) in enumerate(rows) if level == 0 and name == module)
    start = end
    while start > 0 and rows[start - 1][0] > 0:
        start -= 1
    totals: Counter[str] = Counter()
    for _, name, self_us in rows[start : end + 1]:
        totals[name.split(".")[0]] += self_us / 1000
    return totals


def interpreter_startup_ms(runs: int = 5) -> float:
    """Median CPU milliseconds (user and system) of a fresh interpreter that imports nothing more."""
    import resource

    times = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        _run(["-c", "pass"])
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(1000 * (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime))
    return statistics.median(times)


def cold_init_ms(module: str, runs: int = 3, bytecode_cache: bool = False) -> float:
    """CPU milliseconds a Lambda cold start of a handler in `module` spends before the handler
    runs, on one core here: a fresh interpreter's start-up plus the module's import, without
    bytecode outside the standard library unless the package ships it. The median of `runs`."""
    timing = time_import(module, runs, bytecode_cache=bytecode_cache)
    return interpreter_startup_ms(runs) + timing.median_cpu_ms


# --- per function ------------------------------------------------------------------------------

# What a function's first call loads lazily, after its entry's import: the AWS clients it creates
# and the libraries it imports on first use. Read from its declaration (chalicelib/functions.py):
# every secret read goes through Powertools Parameters and a Secrets Manager client.
_FIRST_CALL = """
import importlib, sys, time
importlib.import_module(sys.argv[1])
wanted = sys.argv[2].split(",") if sys.argv[2] else []
start = time.process_time()
import boto3
for service in [w for w in wanted if w.startswith("client:")]:
    boto3.client(service.split(":", 1)[1], region_name="eu-west-1")
for module in [w for w in wanted if not w.startswith("client:")]:
    importlib.import_module(module)
print(time.process_time() - start)
"""


def first_call_needs(name: str) -> list[str]:
    """The clients and modules the first invocation of `name` creates and imports lazily."""
    from chalicelib.functions import function_spec
    from chalicelib.resources import SIGNING_KEYS_SECRET

    spec = function_spec(name)
    touches = spec.touches
    needs: list[str] = []
    if touches.tables:
        needs.append("client:dynamodb")
    if touches.enqueues or spec.drain:
        needs.append("client:sqs")
    if touches.sends_mail:
        needs += ["client:sesv2", "jinja2", "jinja2.sandbox", "email.message"]
    if touches.sends_sms:
        needs.append("client:sns")
    if touches.secrets:
        needs += ["client:secretsmanager", "aws_lambda_powertools.utilities.parameters"]
    if SIGNING_KEYS_SECRET in touches.secrets:
        # Link tokens are AES-GCM (domain/tokens.py); itsdangerous only reads links made before.
        needs += ["cryptography.hazmat.primitives.ciphers.aead", "cryptography.hazmat.primitives.kdf.hkdf"]
    if name not in ("tracking_front", "campaign_scheduler", "retention_worker"):
        needs.append("email_validator")  # every other function reads an address
    return needs


@dataclass(frozen=True)
class ColdStart:
    """CPU milliseconds, on one core here, of a function's cold start: the interpreter's
    start-up and its entry's import (INIT), and what its first call loads lazily."""

    function: str
    startup_ms: float
    import_ms: float
    first_call_ms: float
    # `import boto3`, timed in turn with the entry's import: the yardstick of issue 15's target.
    boto3_ms: float = 0.0

    @property
    def init_ms(self) -> float:
        return self.startup_ms + self.import_ms

    @property
    def total_ms(self) -> float:
        return self.init_ms + self.first_call_ms


def entry_module(name: str) -> str:
    return f"chalicelib.lambdas.{name}"


def cold_starts(names: list[str], runs: int = 3) -> dict[str, ColdStart]:
    """Each function's cold start, with the bytecode cache (the zip ships .pyc): medians of `runs`."""
    startup = interpreter_startup_ms(runs)
    found = {}
    for name in names:
        imported, boto3 = time_imports((entry_module(name), "boto3"), runs, bytecode_cache=True)
        needs = ",".join(first_call_needs(name))
        first = statistics.median(float(_run(["-c", _FIRST_CALL, entry_module(name), needs]).stdout) * 1000
                                  for _ in range(runs))
        found[name] = ColdStart(name, startup, imported.median_cpu_ms, first, boto3.median_cpu_ms)
    return found


# What a worker would import to use Powertools' BatchProcessor and its SQSRecord instead of
# chalicelib/queue_batches.py.
POWERTOOLS_BATCH = ("aws_lambda_powertools.utilities.batch",
                    "aws_lambda_powertools.utilities.data_classes.sqs_event")


def batch_utility_cost(names: list[str], runs: int = 3) -> dict[str, tuple[float, float]]:
    """{function: (its entry's import, the same with Powertools' batch utility)}, CPU ms medians
    of `runs` fresh interpreters each, with bytecode, the two alternating."""
    found = {}
    for name in names:
        alone = entry_module(name)
        with_batch = ",".join((alone, *POWERTOOLS_BATCH))
        for modules in (alone, with_batch):  # warm-up: writes any missing .pyc
            _run(["-c", _TIMED_IMPORT, modules, "cache"], write_bytecode=True)
        plain, powertools = [], []
        for run in range(runs):
            depth = str(run % STACK_DEPTHS)
            for modules, found_ms in ((alone, plain), (with_batch, powertools)):
                timed = _run(["-c", _TIMED_IMPORT, modules, "cache", depth]).stdout.split()
                found_ms.append(float(timed[1]) * 1000)
        found[name] = (statistics.median(plain), statistics.median(powertools))
    return found
