# Hitos: the same commands locally and in CI.
VENV    := .venv
PY      := $(VENV)/bin/python
PYTHON  ?= python3

# Prefect's state lives in the workspace (HITOS_HOME, else ./.hitos), created before use: a
# PREFECT_HOME that does not exist makes the temporary server time out after minutes.
WORKSPACE := $(or $(HITOS_HOME),$(CURDIR)/.hitos)
export PREFECT_HOME ?= $(WORKSPACE)/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180

.PHONY: env prefect-home demo test lint fmt bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

env: $(VENV)/.installed

prefect-home:
	mkdir -p "$(PREFECT_HOME)"

demo: env prefect-home  ## a whole simulated cycle of the sample plan in ./.hitos (or HITOS_HOME)
	$(VENV)/bin/hitos demo

test: lint prefect-home  ## ruff, mypy and the test suite
	$(PY) -m pytest

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports --no-cache

fmt: env
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: env  ## each stage of a cycle at N = 10, 100 and 1,000 institutions (BENCHMARKS.md)
	$(PY) -m bench
	$(PY) -m bench.board  ## the public board: 1,000 institutions × 4 cycles (target 10 s)
	$(PY) -m bench.server  ## the cycle through deployments on a Prefect server vs in-process

clean:
	rm -rf .hitos
