# Two commands do all the set-up on a fresh clone: `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# checkov in its own environment: it pins boto3 and packaging below what Tidings uses.
CHECKOV_STAMP := $(VENV)/checkov/.installed

.PHONY: run test lint bench package clean browser data-map locale mutants handmade-mutants

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<26.3"  # chalice 1.34 requires pip<26.3
	$(PY) -m pip install --quiet -r requirements-dev.txt
	# phonenumberslite installs the same module as phonenumbers, which an older venv still holds.
	$(PY) -m pip show --quiet phonenumbers >/dev/null 2>&1 && $(PY) -m pip uninstall --quiet --yes phonenumbers \
	  && $(PY) -m pip install --quiet --force-reinstall --no-deps -r requirements.txt || true
	touch $(STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt $(STAMP)
	test -x $(VENV)/checkov/bin/python || python3 -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

## The whole local stack: moto as AWS, the API, the SQS pump, the scheduler, the outbox.
run: $(STAMP)
	$(PY) -m chalicelib.local

## Debian's Chromium and its driver, for the browser test (installed only when missing).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver >/dev/null; }

## Lint, the import contracts (the layer rule), then the test suite on both cores (it packages
## the template once and scans it with cfn-lint, its serverless rules and checkov).
test: $(STAMP) $(CHECKOV_STAMP) browser
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n 2 -q

lint: $(STAMP)
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports

## Mutation testing of the rule-enforcing modules (tests/mutation/README.md): kill rates per module
## and per rule family, the survivors; fails below 90%. About 30 minutes on 2 cores: not in `make test`.
mutants: $(STAMP)
	$(PY) -m tests.mutation

## The hand-made mutants of tests/mutation/handmade.toml, each re-applied to a scratch copy of the
## repository: each must fail a test named for its rule.
handmade-mutants: $(STAMP)
	$(PY) -m tests.mutation.handmade

## The gettext catalogs (P32): extract the strings, write the translations in
## chalicelib/locale/<language>.py into .po files and compile the .mo files the Lambda reads.
## The compiled files are committed, so `make run`, `make test` and `make package` always have
## them; tests/test_locale.py fails when they are stale or a message is untranslated.
locale: $(STAMP)
	$(PY) -m chalicelib.locale.build

## docs/DATA_MAP.md from the code (P34); tests/test_data_map.py fails when it is out of date.
data-map: $(STAMP)
	AWS_DEFAULT_REGION=eu-west-1 TIDINGS_PREFIX=tidings $(PY) -m chalicelib.cli data-map > docs/DATA_MAP.md

## Benchmarks: print figures (never timed unit tests).
bench: $(STAMP)
	$(PY) -m bench

## The deployable CloudFormation template in build/ (see infra/README.md).
package: $(STAMP)
	$(PY) -m infra.package build

clean:
	rm -rf $(VENV) build .tidings .pytest_cache mutants
