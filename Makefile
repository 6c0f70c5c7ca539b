# The two commands of the README: `make test` and `make demo`. Each sets itself up on a fresh
# clone: virtual environment, install, and the offline weights cache.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= demo-out
AUDIT_OUT ?= audit-out
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: install weights test test-fast demo release stubs bench audit clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[bench,dev,test,cluster]'
	touch $@

weights: install
	$(PY) -m autograder.assets

stubs: install
	$(PY) -m autograder release-stubs

test: weights
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q --durations=15

demo: weights
	$(PY) -m autograder demo --out $(OUT)

bench: weights
	$(PY) benchmarks/grading_speed.py

# Mutation audit of the hidden suites: every mutant of every solution region (see docs/AUDIT.md).
# `make test` runs a fixed-seed mini audit of 40 mutants (tests/test_audit.py).
audit: weights
	$(PY) -m autograder audit --out $(AUDIT_OUT) -j $(JOBS)

clean:
	rm -rf $(OUT) $(AUDIT_OUT) build .pytest_cache
