# Two entry points for people (see README): `make run` and `make test`. Both build the local venv first.
# The venv installs exactly the versions in requirements.txt (hash-checked), so every machine runs what CI
# tested; `make lock` re-resolves pyproject.toml on purpose when a dependency should move.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
LOCK   := requirements.txt

.PHONY: install lock run test lint bench clean

$(STAMP): pyproject.toml $(LOCK)
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet 'pip==26.3'  # the installer is pinned too
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## lock: re-resolve pyproject.toml (with the dev extra) into requirements.txt, with hashes for every platform
lock:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet 'uv>=0.5'
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
		--python-version 3.11 --upgrade -o $(LOCK)

## run: the main job on the embedded sandbox tenant (no tenant, no internet needed)
run: install
	$(VENV)/bin/ws1ai stack

## test: the whole test suite (pytest exits non-zero when a test fails or none ran)
test: install
	$(PY) -m pytest

## lint: ruff and strict mypy (ws1ai, models, flows, tasks, deployments)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: install
	$(PY) bench/sweep_fleet.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
