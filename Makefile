# The README's two commands: `make run` and `make test`. Both set up what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEB_STAMP := $(VENV)/.debian
# Debian packages the test suite drives as real peers (command -> package; kamailio is in
# /usr/sbin, which a user's PATH may lack).
DEB_PEERS := sipp:sip-tester chromium:chromium baresip:baresip-core linphonec:linphone-cli \
	kamailio:kamailio

.PHONY: run test test-compiled check deps debian bench compiled clean

# vacant's embedded default: SQLite in ./vacant.db; the demo configuration goes into a new one.
run: $(STAMP)
	@fresh=$$(test -f vacant.db || echo yes); \
	$(BIN)/vacant db upgrade && \
	if [ -n "$$fresh" ]; then $(BIN)/vacant config import scripts/demo.yaml; fi
	exec $(BIN)/vacant serve

test: $(STAMP) debian check test-compiled
	$(BIN)/pytest -q -p no:cacheprovider --cov --cov-report=term --cov-fail-under=90 $(PYTEST_ARGS)

# The SIP core compiled with mypyc (setup.py, docs/sip.md "Compiled build"): a complete copy
# of the package in $(COMPILED) with vacant.sip as C extensions, run by pointing PYTHONPATH at
# it (an absolute path: servers start in other directories). Rebuilt when a source changes.
COMPILED := build/compiled
compiled: $(COMPILED)/.built
$(COMPILED)/.built: $(STAMP) setup.py pyproject.toml $(shell find src -type f -not -path '*/__pycache__/*')
	rm -rf build
	VACANT_COMPILE=1 $(BIN)/python -m pip install -q --no-build-isolation --no-deps \
	  --target $(COMPILED) . 2>&1 | { grep -v -e 'warning: Treating generator' || true; }
	@test -n "$$(ls $(COMPILED)/vacant/sip/*.so)"
	@touch $@

# The unit tests of the SIP core and of what drives it, the call records, and SIPp against a
# server, run on the compiled modules.
test-compiled: compiled debian
	VACANT_EXPECT_COMPILED=1 PYTHONPATH=$(CURDIR)/$(COMPILED) $(BIN)/pytest -q -p no:cacheprovider \
	  tests/unit/sip tests/unit/test_call_handler.py tests/unit/test_announce.py \
	  tests/unit/test_architecture.py tests/store/test_store_models.py tests/integration/test_cdr.py \
	  tests/integration/test_sip_peers.py

check: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

deps: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

# Installs the Debian packages of the real peers, only when a command is missing.
debian: $(DEB_STAMP)
$(DEB_STAMP): Makefile $(STAMP)
	@missing=""; for pair in $(DEB_PEERS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || test -x /usr/sbin/$$cmd || missing="$$missing $$pkg"; \
	done; \
	if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  missing="$$missing postgresql"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@touch $@

bench: $(STAMP)
	$(BIN)/python bench/routing.py

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache .coverage
