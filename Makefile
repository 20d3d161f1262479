# erpsync: `make run` serves the demo, `make test` runs the whole suite.
SHELL := /bin/bash
PYENV_ROOT ?= $(HOME)/.pyenv
PYTHON_VERSION := $(shell cat .python-version)
PYTHON ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/$(PYTHON_VERSION)/bin/python3) $(shell command -v python3))
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup check-python demo clean browser

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' || { \
	  echo "erpsync needs Python 3.12 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1)."; \
	  echo "Install it (for example: pyenv install $(PYTHON_VERSION)) or run: make PYTHON=/path/to/python3.12 run"; \
	  exit 1; }

$(STAMP): requirements.lock | check-python
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $(STAMP)

setup: $(STAMP)
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

demo: setup
	$(BIN)/python manage.py demo_load

run: demo
	@$(BIN)/python manage.py serve_all --addr 127.0.0.1:8000

# Browser tests drive Debian's Chromium; install it when missing and we may.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Browser tests need Chromium at /usr/bin/chromium (Debian: sudo apt-get install chromium); they are skipped until then."; \
	  fi; \
	fi
	@$(MAKE) --no-print-directory $(AXE)

# axe-core, which the browser tests load into pages to check accessibility: from the npm registry, as locked.
AXE := erpsync/browser_tests/node_modules/axe-core/axe.min.js
$(AXE): erpsync/browser_tests/package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --prefix erpsync/browser_tests --no-audit --no-fund --loglevel=error && touch $(AXE); \
	else \
	  echo "The accessibility tests need npm (Debian: apt-get install npm) to install axe-core; they are skipped until then."; \
	fi

test: $(STAMP) browser
	@mkdir -p var
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var/*.sqlite3 staticfiles
