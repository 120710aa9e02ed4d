# Two entry points, both self-installing on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The web application's browser modules come from npm, pinned by package-lock.json.
NODE_STAMP := node_modules/.installed
# The browser tests drive Debian's Chromium; apt needs root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint install bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

install: $(STAMP) $(NODE_STAMP)

run: $(STAMP) $(NODE_STAMP)
	$(BIN)/salus demo --data .salus-demo --port 8700

test: $(STAMP) $(NODE_STAMP) chromium
	$(BIN)/ruff check src tests bench
	@# --dist loadfile: a test module's tests run in one process, in order, sharing its
	@# module-scoped world once (tests in a module may build on what an earlier one did)
	$(BIN)/python -m pytest -q -n auto --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP)
	$(BIN)/python bench/ledger.py --txs 100000
	$(BIN)/python bench/records.py
	$(BIN)/python bench/network.py

clean:
	rm -rf $(VENV) node_modules .salus-demo .pytest_cache
