# One entry point for people and CI. `make demo` and `make test` install
# everything they need from this repository's own files first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Local services the test suite uses when they answer (CI always has them).
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

.PHONY: install demo test lint typecheck pytest bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Chromium for the browser tests (Debian package)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq chromium chromium-driver wrk >/dev/null; \
	fi
	touch $(STAMP)

demo: install
	$(BIN)/python manage.py demo

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy .

pytest: install
	@db="$${DATABASE_URL:-}"; redis="$${REDIS_URL:-}"; \
	if [ -z "$$db" ] && $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 0.5)" 2>/dev/null; then db="$(PG_URL)"; fi; \
	if [ -z "$$redis" ] && $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 6379), 0.5)" 2>/dev/null; then redis="$(REDIS_TEST_URL)"; fi; \
	echo "pytest with DATABASE_URL=$${db:-sqlite} REDIS_URL=$${redis:-none}"; \
	DATABASE_URL="$$db" REDIS_URL="$$redis" $(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/run_bench.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
