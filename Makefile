# Every target creates or refreshes the virtualenv it needs; nothing else is required on a
# fresh machine but python3 (3.11+) and access to the package registry.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
# Test workers: most tests wait on subprocesses, servers and dbt, so two workers use both
# cores; --dist loadfile keeps each file (and its module fixtures) on one worker.
TEST_WORKERS ?= 2

.PHONY: demo test bench bench-quick lint fmt venv lock clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

## make demo: start the bundled simulator, run the whole pipeline, print the summary
demo: $(STAMP)
	$(BIN)/norce-wh demo

## make test: unit, integration, flow and scenario tests (slow ones included)
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

## make lint: ruff + strict mypy on extract/, flows/, simulator/ and bench/ + import layering
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## make bench: full benchmark report into bench/results/latest.{md,json}
bench: $(STAMP)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python -m bench

bench-quick: $(STAMP)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python -m bench --quick

## make lock: re-resolve the pin set in a scratch venv (needs the registry)
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q '.[dev,bench]'
	.lock-venv/bin/pip freeze --exclude norce-warehouse > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) warehouse dbt_project/target dbt_project/logs .pytest_cache
