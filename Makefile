# Pulseboard: `make run` serves the dashboard, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8050

.PHONY: run test lint docs bench soak screenshots system-deps clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PIP) install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) app.py serve --port $(PORT) --demo

# Debian packages the tests need: Chromium for browser tests, PostgreSQL for storage tests,
# nginx in front of several app nodes (tests/scale); wrk, the load generator of bench/scale.py.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	test -x /usr/sbin/nginx || command -v nginx >/dev/null 2>&1 || missing="$$missing nginx"; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

MYPY_PATHS := app.py settings.py services.py core web api alerts auth data analytics reports live jobs layouts callbacks demo client tools

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy --no-error-summary $(MYPY_PATHS)

# The documentation site (docs/ -> var/site); --strict turns a broken link into a failure.
docs: $(VENV)/.dev
	$(VENV)/bin/mkdocs build --strict --quiet --site-dir var/site

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
test: lint docs system-deps
	$(PY) -m pytest -p no:cacheprovider -n 2 --dist loadfile; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: $(VENV)/.dev system-deps
	$(PY) bench/ingest.py
	$(PY) bench/query.py
	$(PY) bench/alerts.py
	$(PY) bench/backtest.py
	$(PY) bench/client.py
	$(PY) bench/live.py
	$(PY) bench/pages.py
	$(PY) bench/boards.py
	$(PY) bench/anomalies.py
	$(PY) bench/forecast.py
	$(PY) bench/partitions.py
	$(PY) bench/dask_scan.py
	$(PY) bench/rate_limits.py
	$(PY) bench/scale.py

# Fifteen minutes of live load (ingest, 50 WebSocket clients, a browser): RSS, open files, threads, latency over time.
soak: $(VENV)/.dev system-deps
	$(PY) bench/soak.py --minutes 15 --warmup 6

screenshots: $(VENV)/.dev system-deps
	$(PY) tools/screenshots.py --out docs/screenshots

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache
