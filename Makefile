# egov — the two set-up commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint types migrations-check pytest bench sysdeps browser-deps messages clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "egov needs Python >= 3.11 (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

# System packages: Pango for PDF layout, CJK fonts; installed with apt-get when we are root.
sysdeps:
	@bash scripts/sysdeps.sh base

browser-deps:
	@bash scripts/sysdeps.sh browser

run: $(STAMP) sysdeps
	mkdir -p var
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo
	$(MANAGE) seed_duty_demo
	$(MANAGE) seed_supervision_demo
	$(MANAGE) pki init --demo
	$(MANAGE) seed_documents_demo
	$(MANAGE) serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check egov bench conftest.py manage.py

types: $(STAMP)
	$(VENV)/bin/mypy egov bench

migrations-check: $(STAMP)
	mkdir -p var
	DJANGO_SETTINGS_MODULE=egov.settings.test $(MANAGE) makemigrations --check --dry-run

pytest: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: $(STAMP) browser-deps lint types migrations-check pytest

bench: $(STAMP)
	$(PY) bench/run.py

messages: $(STAMP)
	for app in core orgs api web pki exchange documents supervision duty; do \
		(cd egov/$$app && mkdir -p locale && ../../$(MANAGE) makemessages -l zh_Hans --no-obsolete) || exit 1; \
	done
	$(MANAGE) compilemessages -l zh_Hans --ignore '.venv/*'

clean:
	rm -rf $(VENV) var/static
