# Layanan Aduan — two commands for a newcomer: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PYTHONPATH := $(CURDIR)
export TF_CPP_MIN_LOG_LEVEL := 2

VENV := .venv/bin
RASA_VENV := .venv-rasa/bin
CI_CONFIG := config.ci.yml

.PHONY: help setup envs train train-ci db run test test-unit test-rasa test-service test-faults test-browser chromium test-e2e lint typecheck eval bench bench-faults clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

envs:  ## create/refresh .venv (bot service) and .venv-rasa (Rasa) from the lock files
	@bash scripts/ensure_venv.sh service
	@bash scripts/ensure_venv.sh rasa

setup: envs db  ## environments + database schema

db: envs  ## apply database migrations (SQLite by default, DATABASE_URL otherwise)
	@$(VENV)/python -m bot.cli db upgrade

train: envs  ## train the full model if models/ has none for the current data
	@$(VENV)/python scripts/train_model.py --config config.yml --name full

train-ci: envs  ## train the small, seeded CI model if needed
	@$(VENV)/python scripts/train_model.py --config $(CI_CONFIG) --name ci

DEMO_CATALOGUE := bot/catalogue/data/demo_mpp.yml

run: setup  ## start Rasa, the action server and the bot service; Ctrl-C stops all
	@$(VENV)/python -m bot.cli catalogue import --if-empty --actor "make run" $(DEMO_CATALOGUE)
	@model=$$($(VENV)/python scripts/train_model.py --config config.yml --name full) && \
	  $(VENV)/python scripts/run.py --model "$$model"

test: envs  ## the whole suite (unit, Rasa, service, end-to-end), as CI runs it
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-rasa
	@$(MAKE) --no-print-directory test-service
	@$(MAKE) --no-print-directory test-faults
	@$(MAKE) --no-print-directory test-browser
	@$(MAKE) --no-print-directory test-e2e

test-rasa: envs  ## NLU components, actions and `rasa data validate` (in .venv-rasa)
	$(RASA_VENV)/python -m pytest -q -p no:cacheprovider tests/unit tests/rasa

test-service: envs  ## bot service, tickets, triage (in .venv; SQLite and PostgreSQL)
	$(VENV)/python -m pytest -q -p no:cacheprovider tests/unit tests/service tests/tickets tests/triage tests/channels tests/connectors tests/dashboard tests/modelops tests/egress tests/catalogue

test-faults: envs  ## fault injection: kill -9, PostgreSQL restart, 429/500 storms, Rasa down (~4 min)
	$(VENV)/python -m pytest -q -p no:cacheprovider tests/faults

chromium:  ## Debian's Chromium at /usr/bin/chromium for the browser tests (apt-get only if missing)
	@bash scripts/ensure_chromium.sh

test-browser: envs chromium  ## the officer dashboard in real headless Chromium (Playwright, no downloads)
	$(VENV)/python -m pytest -q -p no:cacheprovider tests/browser

test-e2e: envs train-ci  ## conversations through the real Rasa model over HTTP
	LAYANAN_TEST_MODEL=$$($(VENV)/python scripts/train_model.py --config $(CI_CONFIG) --name ci) \
	  $(VENV)/python -m pytest -q -p no:cacheprovider tests/e2e

lint:  ## ruff and mypy
	$(VENV)/ruff check bot connectors actions scripts benchmarks tests
	$(VENV)/ruff format --check bot connectors actions scripts benchmarks tests
	$(VENV)/mypy bot

eval: envs  ## 5-fold cross-validation: this pipeline vs the plain Rasa pipeline -> reports/
	$(RASA_VENV)/python benchmarks/nlu_eval.py

bench: envs train  ## NLU latency benchmark -> benchmarks/results/
	$(RASA_VENV)/python benchmarks/nlu_latency.py --model $$($(VENV)/python scripts/train_model.py --config config.yml --name full)

bench-faults: envs  ## the fault-injection table at full size -> benchmarks/results/faults.{json,md}
	$(VENV)/python benchmarks/faults.py

clean:  ## remove generated files (keeps the machine-wide cache)
	rm -rf var .rasa models/*.tar.gz .pytest_cache .ruff_cache .mypy_cache
