# ChatCore.AI: `make run` serves the app on a fresh machine, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM := /usr/bin/chromium
NGINX := /usr/sbin/nginx
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run dev setup test lint clean

# --verbosity 0: no access line per request from daphne (it would hold query strings, which the
# app never logs); the app writes one JSON line per request itself.
SERVE = $(BIN)/daphne --verbosity 0 -b $(HOST) -p $(PORT) chatcore.asgi:application

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, from its pin, so nothing later resolves a CUDA build.
$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet "$$(grep -E '^torch==' requirements.txt)"
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# Order-only: a missing browser or proxy is installed even when the venv is up to date,
# and installing one does not reinstall the venv.
$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed | $(CHROMIUM) $(NGINX)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Debian packages some tests run: chromium for the browser tests (Playwright's own browser
# download is not used), nginx for the shipped proxy configuration (deploy/nginx.conf).
# Without apt-get (or the rights to use it) those tests skip, and fail under CI.
$(CHROMIUM):
	@$(call apt_install,chromium,the browser tests)

$(NGINX):
	@$(call apt_install,nginx-light,the proxy tests)

define apt_install
if ! command -v apt-get >/dev/null; then \
  echo "warning: no apt-get to install $(1); $(2) will skip (and fail under CI)" >&2; exit 0; fi; \
sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
install="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(1)"; \
echo "Installing $(1) for $(2)"; \
$$install || { $$sudo apt-get update && $$install; } || \
  echo "warning: $(1) could not be installed; $(2) will skip (and fail under CI)" >&2
endef

setup: $(VENV)/.installed
	$(PY) manage.py migrate --no-input
	$(PY) manage.py prepare_models
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
	$(SERVE)

# As `run`, with DEBUG on: Django's debug pages (every URL pattern on a 404, settings on a 500).
# Only on your own machine.
dev: setup
	DEBUG=true $(SERVE)

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	bash scripts/pytest-nonempty $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var
