# spmis: `make demo` runs the app with demo data; `make test` runs the whole test suite.
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_HOUSEHOLDS ?= 50000

# One `make bench-<topic>` per bench/<topic>.py (a static pattern rule: GNU Make skips implicit rules for phony
# targets).
BENCHES := $(patsubst bench/%.py,bench-%,$(filter-out bench/_%,$(wildcard bench/*.py)))

.PHONY: help bootstrap bootstrap-test demo serve test lint format db-start db-stop db-status migrate lock worker fuzz \
        $(BENCHES)

help:
	@echo "make demo | make test | make fuzz | make lint | make db-status | make bench-<topic>"

bootstrap:
	@scripts/bootstrap.sh

bootstrap-test:
	@scripts/bootstrap.sh --test

migrate: bootstrap
	$(PY) manage.py migrate --no-input -v 0

demo: migrate
	$(PY) manage.py collectstatic --no-input -v 0
	$(PY) manage.py load_demo --households $(DEMO_HOUSEHOLDS) --url http://$(HOST):$(PORT)/
	$(PY) manage.py load_demo_grievances
	$(PY) -m gunicorn spmis.wsgi --bind $(HOST):$(PORT) --workers 3 --threads 4 --timeout 300 --access-logfile -

serve: bootstrap
	$(PY) -m gunicorn spmis.wsgi --bind $(HOST):$(PORT) --workers 3 --threads 4 --timeout 300

worker: bootstrap
	.venv/bin/celery -A spmis worker --beat --schedule var/celerybeat-schedule --loglevel INFO --concurrency 2

test: bootstrap-test
	.venv/bin/pytest $(PYTEST_ARGS)

# Schemathesis over the whole API as admin and as a scoped user, on its own small demo database and server (minutes;
# not part of `make test`). Last line: RESULT fuzz cases=N server_errors=N schema_violations=N.
fuzz: bootstrap
	$(PY) scripts/fuzz.py $(FUZZ_ARGS)

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports

format: bootstrap
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

db-start: bootstrap
	$(PY) -m spmis.localdb start

db-stop:
	$(PY) -m spmis.localdb stop

db-status:
	$(PY) -m spmis.localdb status

lock: bootstrap
	$(PY) -m pip freeze --exclude-editable | grep -v -E '^(pip|setuptools|wheel)==' > requirements.txt

$(BENCHES): bench-%: bootstrap
	$(PY) bench/$*.py $(BENCH_ARGS)
