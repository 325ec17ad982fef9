# Two commands set everything up: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DATA ?= $(or $(PUBLICDATA_HOME),./data)
ROWS ?= 2000
SEED ?= 20261127
SHAPES ?=
STAMP := $(VENV)/.installed
UI_PORT ?= 3000
PORTAL_PORT ?= 3001

.PHONY: venv bytecode run demo test ui portal bench lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The project's bytecode, as a non-editable install would compile it: a process that may not write it
# (PYTHONDONTWRITEBYTECODE, as in containers) compiles every module it imports at each start, about
# 0.5 s of the CLI's start; only what changed is compiled again (0.2 s when nothing did)
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 assets orchestration bench

run: bytecode
	$(BIN)/publicdata demo --data-dir $(DATA) --rows $(ROWS) --seed $(SEED) --shapes "$(SHAPES)"

test: bytecode
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# the Dagster UI (http://127.0.0.1:3000) and the portal (http://127.0.0.1:3001) on one data directory;
# Ctrl-C stops both
ui: bytecode
	@echo "Dagster UI: http://127.0.0.1:$(UI_PORT)   门户 portal: http://127.0.0.1:$(PORTAL_PORT)"
	$(BIN)/publicdata portal --data-dir $(DATA) --port $(PORTAL_PORT) & portal=$$!; \
	trap 'kill $$portal 2>/dev/null' EXIT INT TERM; \
	DAGSTER_HOME=$(abspath $(DATA))/dagster_home PUBLICDATA_HOME=$(abspath $(DATA)) \
		$(BIN)/publicdata ui --data-dir $(DATA) --port $(UI_PORT)

portal: bytecode
	$(BIN)/publicdata portal --data-dir $(DATA) --port $(PORTAL_PORT)

bench: bytecode
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) $(DATA)
