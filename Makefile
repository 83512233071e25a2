# liftlab — the two commands of the README:
#   make demo   set up everything and run the A/B testing pipeline on simulated data
#   make test   install the test tools and run the whole test suite (CI runs exactly this)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.liftlab-installed
DEV    := $(VENV)/.liftlab-dev-installed

.PHONY: install demo zenml-dashboard test test-fast lint format benchmark benchmark-ab benchmark-warehouse benchmark-campaigns benchmark-mmm benchmark-dashboard clean

# The demo needs liftlab alone; the tests also need the dev tools and the PostgreSQL and Spark
# clients (psycopg, pyspark), installed on top by the first `make test`.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(DEV): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(DEV)

install: $(DEV)

demo: $(STAMP)
	$(BIN)/liftlab demo

# ZenML's dashboard: installs ZenML's server extra once, then starts a local ZenML server on
# http://127.0.0.1:8237 in the background (`zenml logout --local` stops it)
zenml-dashboard: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dashboard]"
	$(BIN)/zenml login --local

test: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/pytest

test-fast: $(DEV)
	$(BIN)/pytest -m "not slow"

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

benchmark: $(STAMP)
	$(BIN)/python benchmarks/simulate_speed.py

benchmark-ab: $(DEV)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/ab_engine.py

benchmark-warehouse: $(DEV)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/ab_warehouse.py

benchmark-campaigns: $(STAMP)
	$(BIN)/python benchmarks/campaign_warehouse.py

benchmark-mmm: $(STAMP)
	$(BIN)/python benchmarks/marketing_mix.py

benchmark-dashboard: $(STAMP)
	$(BIN)/python benchmarks/dashboard.py

clean:
	rm -rf .zen .liftlab outputs data/demo .pytest_cache .ruff_cache
