# The two commands of the README: `make test` and `make demo`. Each sets itself up on a fresh
# clone: virtual environment, install, and the offline weights cache.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
OUT    ?= demo-out
AUDIT_OUT ?= audit-out
REPRO_OUT ?= repro-out
# The oldest torch / torchvision pair pyproject.toml allows, in a second virtual environment.
OLDEST_VENV  ?= .venv-oldest
OLDEST_TORCH ?= torch==2.4.1 torchvision==0.19.1
REPRO_PARTS  ?= part1 part2 part3 part4 part5
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: install weights test test-fast demo release stubs bench audit repro clean

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

# FULL=1 recomputes the part 4 CLM pretraining instead of reading the shipped result (README).
demo: weights
	$(PY) -m autograder demo --out $(OUT) $(if $(filter 1 yes true,$(FULL)),--full)

# Grading speed (docs/BENCHMARKS.md): every example submission through this package, the floor (the
# same checks with no isolation), fair nbgrader (1 and 2 processes), a naive pytest runner and Dask,
# every result checked against the known ones; then the self-check and Top-K timings. Writes
# benchmarks/results/latest.json. No arguments: what the docs describe is exactly this command.
bench: weights
	$(PY) benchmarks/grading_speed.py

# Mutation audit of the hidden suites: every mutant of every solution region (see docs/AUDIT.md).
# `make test` runs a fixed-seed mini audit of 20 mutants plus the past survivors (tests/test_audit.py)
# and 14 do-nothing bodies (tests/test_free_points.py).
audit: weights
	$(PY) -m autograder audit --out $(AUDIT_OUT) -j $(JOBS)

$(OLDEST_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install -q --upgrade pip
	$(OLDEST_VENV)/bin/python -m pip install -q -e . $(OLDEST_TORCH)
	touch $@

# Grade a small class (the example class of REPRO_PARTS: solution, stubs, correct variants, wrong
# examples; and the part 5 class of tests/classroom.py) under the newest torch (.venv) and the oldest
# supported pair, each with 1 thread and all cores; every total and check status must agree.
# The run is appended to docs/REPRODUCIBILITY.md with its date and commit.
repro: weights $(OLDEST_VENV)/.installed
	$(PY) benchmarks/repro.py --python $(PY) --python $(OLDEST_VENV)/bin/python --threads 1 --threads $(JOBS) \
		$(foreach p,$(REPRO_PARTS),--part $(p)) --classroom --out $(REPRO_OUT) --record docs/REPRODUCIBILITY.md

clean:
	rm -rf $(OUT) $(AUDIT_OUT) $(REPRO_OUT) build .pytest_cache
