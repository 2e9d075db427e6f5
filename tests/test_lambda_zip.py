"""The Lambda zip (issue 15): bytecode for every module, botocore's models for the services the
code calls and no others, phonenumbers without its unused metadata, at most 15 MiB."""
from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.lambda_zip import BOTOCORE_SERVICES, UNUSED_ASSETS, cached_path, finish_zip, pyc
from tests.test_template import template_path  # noqa: F401  (the session's one package)

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


@pytest.fixture(scope="session")
def deployment_zip(template_path: Path) -> Path:  # noqa: F811
    return template_path.with_name("deployment.zip")


def test_the_zip_is_at_most_15_mib_and_ships_bytecode_for_every_module(deployment_zip):
    assert deployment_zip.stat().st_size <= 15 * MIB
    with zipfile.ZipFile(deployment_zip) as archive:
        names = set(archive.namelist())
    modules = [name for name in names if name.endswith(".py")]
    assert modules and [name for name in modules if cached_path(name) not in names] == []
    assert "chalicelib/lambdas/__pycache__/tracking_worker.cpython-311.pyc" in names


def test_the_zip_holds_botocores_models_of_the_services_used_only(deployment_zip):
    with zipfile.ZipFile(deployment_zip) as archive:
        services = {name.split("/")[2] for name in archive.namelist()
                    if name.startswith("botocore/data/") and name.count("/") > 3}
        names = archive.namelist()
    assert services == BOTOCORE_SERVICES
    assert "botocore/data/endpoints.json" in names, "botocore's own data stays"
    unused_metadata = ("phonenumbers/geodata/", "phonenumbers/carrierdata/", "phonenumbers/tzdata/")
    assert not [name for name in names if name.startswith(unused_metadata)]
    assets = [name for name in names if name.startswith(UNUSED_ASSETS)]
    assert assets and all(name.endswith((".py", ".pyc")) for name in assets), "the code stays, not the assets"


def test_every_client_the_code_makes_has_its_model_in_the_zip():
    made = set()
    for path in (ROOT / "chalicelib").rglob("*.py"):
        made |= set(re.findall(r"""client\(["']([a-z0-9-]+)["']\)""", path.read_text()))
    # PynamoDB's client is DynamoDB's, Powertools Parameters' is Secrets Manager's.
    assert made and made | {"dynamodb", "secretsmanager"} <= BOTOCORE_SERVICES, made - BOTOCORE_SERVICES


def test_the_shipped_bytecode_is_what_the_import_system_uses(tmp_path):
    package = tmp_path / "shipped"
    (package / "__pycache__").mkdir(parents=True)
    source = b"VALUE = 'from source'\n"
    (package / "__init__.py").write_bytes(b"")
    (package / "mod.py").write_bytes(source)
    # Bytecode of other code than the source: if the import system used the source, it would say so.
    compiled = pyc(b"VALUE = 'from bytecode'\n", "shipped/mod.py")
    (package / "__pycache__" / "mod.cpython-311.pyc").write_bytes(compiled)
    result = subprocess.run([sys.executable, "-B", "-c", "import shipped.mod; print(shipped.mod.VALUE)"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "from bytecode", "unchecked hash-based .pyc: used whatever the source"
    assert cached_path("shipped/mod.py") == "shipped/__pycache__/mod.cpython-311.pyc"


def test_finishing_a_zip_drops_unused_models_and_adds_bytecode(tmp_path):
    built = tmp_path / "deployment.zip"
    with zipfile.ZipFile(built, "w") as archive:
        archive.writestr("app.py", "x = 1\n")
        archive.writestr("botocore/data/sqs/2012-11-05/service-2.json.gz", b"kept")
        archive.writestr("botocore/data/ec2/2016-11-15/service-2.json.gz", b"dropped")
        archive.writestr("botocore/data/endpoints.json", b"{}")
        archive.writestr("aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui-bundle.min.js",
                         b"dropped")
        # A time-stamped .pyc a developer's checkout held, which the build copied: replaced.
        archive.writestr("__pycache__/app.cpython-311.pyc", b"stale")
    finish_zip(built)
    with zipfile.ZipFile(built) as archive:
        assert sorted(archive.namelist()) == sorted([
            "app.py", "__pycache__/app.cpython-311.pyc", "botocore/data/sqs/2012-11-05/service-2.json.gz",
            "botocore/data/endpoints.json"])
        assert archive.read("__pycache__/app.cpython-311.pyc") == pyc(b"x = 1\n", "app.py")
