# Two entry points for people (see README): `make run` and `make test`. Both build the local venv first.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: the main job on the embedded sandbox tenant (no tenant, no internet needed)
run: install
	$(VENV)/bin/ws1ai stack

## test: the whole test suite (pytest exits non-zero when a test fails or none ran)
test: install
	$(PY) -m pytest

## lint: ruff and strict mypy on the library package
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: install
	$(PY) bench/sweep_fleet.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
