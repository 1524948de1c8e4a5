# Production Portal — developer entry points.
#
#   make run        install if needed, then run every service in one process (embedded mode)
#   make test       install, then ruff check, ruff format --check, mypy, pytest (first failure stops)
#   make lint       ruff check + ruff format --check
#   make typecheck  mypy (configured in pyproject.toml)
#   make format     sort imports and format the code in place
#   make migrate    apply database migrations (all services, or SERVICE=inventory)
#   make bench      run bench/events.py
#   make clean      remove var/ and the virtual environment
#
# Needs python3 (>= 3.11) with venv support and Node.js with npm; Python packages are installed
# into .venv from uv.lock, the UI's front-end packages into node_modules from package-lock.json,
# and (for `make test` only) Chromium and slapd from Debian by scripts/system-packages. Variables: PYTHON (interpreter that creates the venv), PYTEST_ARGS, SERVICE.

PYTHON ?= python3
VENV ?= .venv
UV_VERSION ?= 0.13.9
PYTEST_ARGS ?= -ra
SERVICE ?=

BIN := $(VENV)/bin
# Touched after a successful install; rebuilt whenever the lock or the project file changes.
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

# uv must never fetch an interpreter of its own: the venv's python is the one to use.
export UV_PYTHON_DOWNLOADS := never

# Runs one named step; on failure says which step failed and passes its exit status on.
define step
	@echo "==> $(1)"
	@$(2) || { rc=$$?; echo "*** make: step failed: $(1) (exit $$rc)" >&2; exit $$rc; }
endef

# pytest, where exit 5 (no tests collected) is a failure with its own message, never a pass.
define pytest_step
	@echo "==> pytest $(PYTEST_ARGS)"
	@$(BIN)/pytest $(PYTEST_ARGS) || { rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "*** make: step failed: pytest collected no tests (exit 5)" >&2; \
	  else echo "*** make: step failed: pytest (exit $$rc)" >&2; fi; \
	  exit $$rc; }
endef

.DEFAULT_GOAL := help
.PHONY: help install run test lint typecheck format migrate bench clean system-packages

help:
	@sed -n 's/^#   make /make /p' $(firstword $(MAKEFILE_LIST))

install: $(STAMP)

$(STAMP): pyproject.toml uv.lock
	@$(PYTHON) -c 'import sys' 2>/dev/null || { \
	  echo "*** '$(PYTHON)' was not found. Install Python >= 3.11 (e.g. apt-get install python3 python3-venv)" >&2; \
	  exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "*** $(PYTHON) is $$($(PYTHON) -c 'import platform; print(platform.python_version())'); this project needs Python >= 3.11 (set PYTHON=python3.11 or newer)" >&2; \
	  exit 1; }
	@if [ ! -x $(BIN)/python ]; then \
	  echo "==> creating $(VENV) with $(PYTHON)"; \
	  if ! $(PYTHON) -m venv $(VENV); then \
	    rm -rf $(VENV); \
	    echo "" >&2; \
	    echo "*** '$(PYTHON) -m venv' failed: this Python lacks venv/ensurepip support." >&2; \
	    echo "*** On Debian/Ubuntu install it with:  sudo apt-get install python3-venv" >&2; \
	    echo "*** (or the python3.X-venv matching '$(PYTHON) --version'), then run make again." >&2; \
	    exit 1; \
	  fi; \
	elif [ ! -x $(BIN)/pip ]; then \
	  $(BIN)/python -m ensurepip --upgrade >/dev/null || { \
	    echo "*** $(VENV) has no pip and ensurepip failed: run 'make clean' (and on Debian/Ubuntu: sudo apt-get install python3-venv)" >&2; \
	    exit 1; }; \
	fi
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv sync --frozen --inexact
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "*** npm was not found: install Node.js >= 18 with npm (e.g. apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

system-packages:
	$(call step,system packages (chromium slapd ldap-utils),bash scripts/system-packages)

run: $(STAMP) $(NODE_STAMP)
	$(BIN)/portal run

test: $(STAMP) $(NODE_STAMP) system-packages
	$(call step,ruff check,$(BIN)/ruff check .)
	$(call step,ruff format --check,$(BIN)/ruff format --check .)
	$(call step,mypy,$(BIN)/mypy)
	$(pytest_step)

lint: $(STAMP)
	$(call step,ruff check,$(BIN)/ruff check .)
	$(call step,ruff format --check,$(BIN)/ruff format --check .)

typecheck: $(STAMP)
	$(call step,mypy,$(BIN)/mypy)

format: $(STAMP)
	$(BIN)/ruff check --select I --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/portal migrate $(SERVICE)

bench: $(STAMP)
	$(BIN)/python bench/events.py

clean:
	rm -rf var $(VENV) node_modules
