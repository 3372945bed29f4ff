# Two entry points for a fresh machine with Python >= 3.10 and Node >= 18:
#   make demo   set up a virtual environment and run the demo (trains, writes rnnbow-demo.html)
#   make test   set up everything (Python, npm packages, Debian's chromium) and run all tests
# Both are idempotent: a second run reuses what is installed.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint js-test py-test bundle chromium notebook clean

demo: $(INSTALLED)
	$(VENV)/bin/rnnbow demo

# JupyterLab refuses to start as root unless told to (containers, class servers).
notebook: $(INSTALLED)
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/01_quickstart.ipynb

test: $(INSTALLED) chromium bundle
	npm test
	npm run typecheck
	npm run lint
	$(MAKE) lint
	$(PY) -m pytest -ra

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# An editable install runs `npm install && npm run build` through hatch-jupyter-builder.
$(INSTALLED): $(PY) pyproject.toml package.json package-lock.json
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(INSTALLED)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# Rebuild the bundle from the current sources (cheap with esbuild).
bundle: node_modules/.package-lock.json
	npm run build

chromium:
	bash scripts/ensure-chromium.sh

clean:
	rm -rf $(VENV) node_modules rnnbow_widget/static test-artifacts
