# The two commands that matter: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= .venv
PY          := $(VENV)/bin/python
PIP         := $(PY) -m pip
RASA        := $(PY) -m rasa
STAMP       := $(VENV)/.lock-installed
MODELS      := models
RASA_ARGS   := --domain bot/domain --data bot/data --config config.yml
NPM_STAMP   := node_modules/.installed
CHROMIUM    ?= /usr/bin/chromium

export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
export TF_CPP_MIN_LOG_LEVEL ?= 2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export SHOP_DATA_DIR ?= $(CURDIR)/var
export SHOP_TRACKER_DB ?= $(SHOP_DATA_DIR)/tracker.db
export SHOP_ACTION_SERVER_URL ?= http://localhost:5055/webhook

.PHONY: help venv node chromium db train model run test test-fast lint bench eval validate clean lock

help:
	@echo "make run    - set up everything that is missing and start the whole system"
	@echo "make test   - set up the environment if missing and run every test"
	@echo "make train  - train the Rasa model into $(MODELS)/"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - benchmarks (prints figures)"
	@echo "make eval   - score the trained model on a labelled CSV (CSV=path)"

$(PY):
	@PYBIN=$$(scripts/find_python310.sh) || exit 1; \
	echo "creating $(VENV) with $$PYBIN"; \
	$$PYBIN -m venv $(VENV)

$(STAMP): requirements/lock.txt | $(PY)
	$(PIP) install --quiet -r requirements/lock.txt
	$(PIP) check
	@touch $@

venv: $(STAMP)

# The chat widget's npm dependencies (socket.io-client), exactly as package-lock.json pins them;
# the insight app serves their dist files itself (no CDN at run time).
$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

node: $(NPM_STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else echo "$(CHROMIUM) missing: run 'sudo apt-get install -y chromium' (browser tests need it)"; exit 1; fi

db: venv
	$(PY) -m knowledge setup

# Trains the Rasa model (skipped by Rasa when nothing changed) and (re)builds the FAISS answer
# index when the templates or the encoder changed.
train: venv
	$(RASA) train $(RASA_ARGS) --out $(MODELS)
	$(PY) -m knowledge.answer_index build

# Train only when models/ holds no model yet.
model: venv
	@ls $(MODELS)/*.tar.gz >/dev/null 2>&1 || $(MAKE) train

validate: venv
	$(RASA) data validate $(RASA_ARGS) --fail-on-warnings

run: venv node db model
	$(PY) scripts/run_system.py

# Validates the data, trains (Rasa skips training when nothing changed), then runs every test.
test: venv node chromium
	$(RASA) data validate $(RASA_ARGS) --fail-on-warnings
	$(MAKE) train
	$(PY) -m pytest

test-fast: venv node chromium
	$(PY) -m pytest -m "not slow"

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: venv
	$(PY) -m benchmarks

eval: venv
	$(PY) -m nlu.evaluate --model $(MODELS) $(if $(CSV),--csv $(CSV),)

# Re-resolve the lock from requirements/*.in (needs network; commit the result).
lock: | $(PY)
	$(PIP) install -c requirements/constraints.txt -r requirements/base.in -r requirements/dev.in
	$(PIP) check
	$(PIP) freeze --exclude-editable | sort > requirements/lock.txt

clean:
	rm -rf $(VENV) $(MODELS) var .pytest_cache .mypy_cache .ruff_cache
