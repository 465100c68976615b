# Two commands: `make run` opens the dashboard on the demo data, `make test` runs every test.
# Both set up .venv from the pinned requirements.lock first; nothing else is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= data/coprod.duckdb
PORT ?= 8501

.PHONY: run test test-fast lint typecheck accessibility bench bench-quick bench-national clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	@# A new store file gets the demo data; a PostgreSQL store (DB=postgresql://...) is left as it is.
	@case "$(DB)" in postgres://*|postgresql://*) ;; *) test -f '$(DB)' || $(BIN)/coprod import data/demo --db '$(DB)' ;; esac
	COPROD_DB='$(DB)' $(BIN)/streamlit run app.py --server.port $(PORT) --server.address 127.0.0.1

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2

# Under two minutes: the domain and its integration with the store file (no browser, no
# PostgreSQL server, no pages under AppTest, no stress tests), for the loop of a change;
# `make test` runs everything.
test-fast: $(STAMP)
	$(BIN)/pytest -n 2 -m "not browser and not postgres and not pages and not slow"

accessibility: $(STAMP)
	$(BIN)/pytest tests/test_accessibility.py

# About 25 minutes: every speed goal as a ratio to a floor from one run (pages on the demo data,
# the command line at 200 boards and 1000 against 200, the load test at 31 boards), with met or
# not met, written to docs/benchmarks.md. The demo files are made once in bench/out and kept.
bench: $(STAMP)
	$(BIN)/python bench/goals.py

# Hours: absolute figures at every size (3, 31, 200, 1000 boards).
bench-national: $(STAMP)
	$(BIN)/python bench/run.py

# Minutes: every speed goal as a ratio to a floor measured in the same run (pages on the demo
# data in Chromium, the command line at 31 boards), written to docs/benchmarks.md.
bench-quick: $(STAMP)
	$(BIN)/python bench/quick.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
