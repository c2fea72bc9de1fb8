# Hitos: the same commands locally and in CI.
VENV    := .venv
PY      := $(VENV)/bin/python
PYTHON  ?= python3

export PREFECT_HOME ?= $(CURDIR)/.hitos/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180

.PHONY: env demo test lint fmt bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

env: $(VENV)/.installed

demo: env  ## a whole simulated cycle of the sample plan in ./.hitos
	$(VENV)/bin/hitos demo

test: lint  ## ruff, mypy and the test suite
	mkdir -p "$(PREFECT_HOME)"
	$(PY) -m pytest

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

fmt: env
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: env  ## each stage of a cycle at N = 10, 100 and 1,000 institutions (BENCHMARKS.md)
	$(PY) -m bench
	$(PY) -m bench.board  ## the public board: 1,000 institutions × 4 cycles (target 10 s)

clean:
	rm -rf .hitos
