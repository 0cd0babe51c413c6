# ChatCore.AI: `make run` serves the app on a fresh machine, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM := /usr/bin/chromium
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run setup test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, from its pin, so nothing later resolves a CUDA build.
$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet "$$(grep -E '^torch==' requirements.txt)"
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# Order-only: a missing browser is installed even when the venv is up to date,
# and installing one does not reinstall the venv.
$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed | $(CHROMIUM)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The browser tests drive Debian's chromium; Playwright's own browser download is not used.
# Without apt-get (or the rights to use it) they skip, and fail under CI.
$(CHROMIUM):
	@if ! command -v apt-get >/dev/null; then \
	  echo "warning: no apt-get to install chromium; the browser tests will skip (and fail under CI)" >&2; exit 0; fi; \
	sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	install="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium"; \
	echo "Installing chromium for the browser tests"; \
	$$install || { $$sudo apt-get update && $$install; } || \
	  echo "warning: chromium could not be installed; the browser tests will skip (and fail under CI)" >&2

setup: $(VENV)/.installed
	$(PY) manage.py migrate --no-input
	$(PY) manage.py load_company sample_company --if-empty
	$(PY) manage.py seed_users
	$(PY) manage.py rebuild_index --if-missing
	$(PY) manage.py collectstatic --no-input --verbosity 0

run: setup
	@echo
	@echo "ChatCore.AI is starting on http://$(HOST):$(PORT)/"
	@echo "Demo logins (username, password):"
	@sed 's/^/  /' var/demo-logins.txt 2>/dev/null || echo "  (set by DEMO_*_PASSWORD)"
	@echo
	$(BIN)/daphne -b $(HOST) -p $(PORT) chatcore.asgi:application

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	bash scripts/pytest-nonempty $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var
