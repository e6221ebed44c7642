# Two commands for a newcomer: `make run` and `make test`. Everything else is for CI and contributors.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
MYSQL_URL ?= mysql://root@127.0.0.1:3306/test
REDIS_URL ?= redis://127.0.0.1:6379/0
MATRIX_SECRET := matrix-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz
# pip prints its errors only (-qq): not its version notice, nor warnings about the machine's pip set-up (running
# as root, an index location in pip.conf that does not exist); a failed install still says why and stops make.
PIP := $(BIN)/python -m pip --disable-pip-version-check --no-input -qq
PYTEST_ARGS ?=

.PHONY: run test test-matrix test-postgres test-mysql lint messages bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "installing the control plane and its dependencies into $(VENV) (the first time takes a few minutes)"
	@$(PIP) install --upgrade pip
	@$(PIP) install -e . --group dev
	@touch $@

$(VENV)/.installed-servers: $(VENV)/.installed
	$(PIP) install -e '.[postgres,mysql]' --group dev
	touch $@

# The benchmarks' own group: pyeventsourcing, the peer baseline of `make bench` (docs/BENCHMARKS.md).
$(VENV)/.installed-bench: $(VENV)/.installed-servers
	$(PIP) install -e '.[postgres,mysql]' --group dev --group bench
	touch $@

# The whole control plane in the foreground on SQLite and the on-disk broker: migrate, seed the demo,
# then daphne + Celery worker + Celery beat + the demo's node agent, which runs the Zeta emulator on PORT + 80
# (controlplane/console/management/commands/runcontrolplane.py).
run: $(VENV)/.installed
	$(BIN)/python manage.py runcontrolplane --seed-demo --port $(PORT)

test: $(VENV)/.installed
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-postgres: $(VENV)/.installed-servers
	CONTROLPLANE_DATABASE_URL=$(PG_URL) CONTROLPLANE_REDIS_URL=$(REDIS_URL) \
	CONTROLPLANE_SECRET_KEY=$(MATRIX_SECRET) $(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-mysql: $(VENV)/.installed-servers
	CONTROLPLANE_DATABASE_URL=$(MYSQL_URL) CONTROLPLANE_REDIS_URL=$(REDIS_URL) \
	CONTROLPLANE_SECRET_KEY=$(MATRIX_SECRET) $(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-matrix: test-postgres test-mysql

# ruff; the layer rules ([tool.importlinter] in pyproject.toml); mypy on the typed packages ([tool.mypy]);
# no model change without its migration. docs/ARCHITECTURE.md, "Layer rules".
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

# The console's Chinese (docs/CONSOLE.md, "Languages"): gather the marked strings into the .po, then, once every
# msgstr is filled, compile the .mo; both are committed. GNU gettext's tools (Debian package gettext) do the work.
messages: $(VENV)/.installed
	cd controlplane && ../$(BIN)/django-admin makemessages --settings=controlplane.settings -l zh_Hans \
		--no-location --no-obsolete --ignore='*/migrations/*'
	cd controlplane && ../$(BIN)/django-admin compilemessages --settings=controlplane.settings -l zh_Hans

# Event log benchmarks: creates and drops a `bench` database on each server; report in var/bench/latest.json
# (docs/BENCHMARKS.md). Extra options: make bench BENCH_ARGS="--quick" or BENCH_ARGS="--databases postgresql";
# BENCH_ARGS="--no-peer" leaves out the pyeventsourcing baseline.
bench: $(VENV)/.installed-bench
	CONTROLPLANE_SECRET_KEY=$(MATRIX_SECRET) $(BIN)/python -m tests.benchmarks.run \
		--postgres $(PG_URL) --mysql $(MYSQL_URL) $(BENCH_ARGS)
	CONTROLPLANE_SECRET_KEY=$(MATRIX_SECRET) $(BIN)/python -m tests.benchmarks.runs_sync \
		--postgres $(PG_URL) --report var/bench/latest.json
	CONTROLPLANE_SECRET_KEY=$(MATRIX_SECRET) $(BIN)/python -m tests.benchmarks.heartbeats \
		--postgres $(PG_URL) --report var/bench/latest.json
	CONTROLPLANE_SECRET_KEY=$(MATRIX_SECRET) $(BIN)/python -m tests.benchmarks.live_latency \
		--postgres $(PG_URL) --redis $(REDIS_URL) --report var/bench/latest.json

# The embedded broker under load for about ten minutes: the in-suite soak test (tests/broker/test_soak.py: a Celery
# worker, beat and two producers) with SOAK_MESSAGES per producer instead of 400. docs/adr/0025.
SOAK_MESSAGES ?= 20000
soak: $(VENV)/.installed
	SOAK_MESSAGES=$(SOAK_MESSAGES) $(BIN)/pytest -n 0 -p no:cacheprovider tests/broker/test_soak.py -k exactly_once

clean:
	rm -rf $(VENV) var
