# The two Quickstart commands: `make demo` and `make test`. Both set up .venv themselves.
PY := .venv/bin/python
DEMO_DIR ?= demo

.PHONY: venv demo test lint bench browser

venv:
	@bash scripts/setup-venv.sh

demo: venv
	@bash scripts/demo.sh $(DEMO_DIR)

browser:
	@bash scripts/setup-browser.sh

test: venv browser
	$(PY) -m pytest -q

lint: venv
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/ruff format --check src tests benchmarks

bench: venv
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done
