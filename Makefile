# jiuzhu — the habits, one command each (STYLE §12).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOUSEHOLDS ?= 20000

.PHONY: demo test test-pg lint bench browsers clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

## make demo: virtualenv, SQLite under var/, divisions, a synthetic county, demo accounts, server on PORT.
demo: $(VENV)/.installed
	JIUZHU_MODE=demo $(VENV)/bin/jiuzhu demo-setup --households $(HOUSEHOLDS)
	JIUZHU_MODE=demo $(VENV)/bin/jiuzhu demo-accounts
	JIUZHU_MODE=demo $(VENV)/bin/jiuzhu serve --port $(PORT)

## make test: the whole suite (SQLite unless DATABASE_URL is set; browser tests need /usr/bin/chromium).
test: $(VENV)/.installed
	$(VENV)/bin/pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy jiuzhu

bench: $(VENV)/.installed
	$(PY) bench/rules.py $(BENCH_ARGS)
	$(PY) bench/registry.py $(BENCH_ARGS)
	$(PY) bench/import_xlsx.py $(BENCH_ARGS)
	$(PY) bench/verify.py $(BENCH_ARGS)
	$(PY) bench/payroll.py $(BENCH_ARGS)

clean:
	rm -rf var/jiuzhu.sqlite3* var/uploads
