# Two commands matter: `make run` starts the whole system, `make test` checks all of it.
# Every target is a thin wrapper over uv; uv itself is installed on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
SERVICES := ingest store forecast api provisioner
# <document>:<module whose create_app builds the app>
ASYNCAPI_APPS := ingest:tc_ingest.main store:tc_store.main forecast:tc_forecast.main provisioner:tc_provisioner.main vpn-agent:tc_provisioner.vpn_agent.main

.PHONY: help install run test test-moments lint fmt typecheck imports asyncapi asyncapi-check openapi openapi-check test-fast clean bench-prices bench-planner plots

help:
	@echo "make run    start broker, PostgreSQL, Tessie simulator and the five services (Ctrl-C stops)"
	@echo "make test   install everything and run every check and test (what CI runs)"
	@echo "make plots  draw each vehicle's learnt rhythm and charge plan from the running API (VIN=, ZONE=)"
	@echo "make test-moments   the whole system at every pinned moment of tc_testkit.moments"
	@echo "make openapi  write the api's OpenAPI document to docs/openapi/api.json (commit it)"
	@echo "make lint | fmt | typecheck | imports | asyncapi | asyncapi-check | openapi-check | test-fast | clean"

install:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --locked --all-packages --quiet

# RUN_DIR: where make run keeps its database, logs and API key (make plots reads the key there).
RUN_DIR ?= .run

run: install
	@$(UV) run --no-sync python -m tc_devstack.run --run-dir $(RUN_DIR)

lint: install
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .

fmt: install
	$(UV) run --no-sync ruff format .
	$(UV) run --no-sync ruff check --fix .

typecheck: install
	$(UV) run --no-sync mypy

imports: install
	$(UV) run --no-sync lint-imports

# AsyncAPI documents are contracts under review: generated from the apps, committed, and
# checked for drift in `make test`. Settings are dummies: generation connects to nothing.
# The provisioner with its VPN part (a docs-only vault key, sealing nothing), and the agent.
ASYNCAPI_ENV := INGEST_TESSIE__TOKEN=docs-only-token STORE_POSTGRES__URL=postgresql://docs@localhost/docs PROVISIONER_POSTGRES__URL=postgresql://docs@localhost/docs \
	PROVISIONER_VPN__PUBLIC_HOST=vpn.example.com PROVISIONER_VAULT__KEYS='{"1":"CTBK+Vvhm3D+21FRXsUDZ3QaVEksGLkW9RTHXWG3erw="}' PROVISIONER_VAULT__CURRENT_VERSION=1 \
	PROVISIONER_SMTP__HOST=localhost PROVISIONER_SMTP__SECURITY=none PROVISIONER_SMTP__FROM_ADDRESS=access@example.com \
	VPN_AGENT_DIRECTORY=/etc/openvpn/server VPN_AGENT_MANAGEMENT_SOCKET=/run/openvpn/management.sock VPN_AGENT_AGENT_ID=docs
asyncapi: install
	@mkdir -p docs/asyncapi
	@for a in $(ASYNCAPI_APPS); do s=$${a%%:*}; m=$${a#*:}; \
		$(ASYNCAPI_ENV) $(UV) run --no-sync faststream docs gen --yaml $$m:create_app --factory --out docs/asyncapi/$$s.yaml >/dev/null || exit 1; \
		$(UV) run --no-sync python -m tc_devstack.asyncapi_docs docs/asyncapi/$$s.yaml || exit 1; \
		echo "docs/asyncapi/$$s.yaml"; \
	done

asyncapi-check: install
	@tmp=$$(mktemp -d); for a in $(ASYNCAPI_APPS); do s=$${a%%:*}; m=$${a#*:}; \
		$(ASYNCAPI_ENV) $(UV) run --no-sync faststream docs gen --yaml $$m:create_app --factory --out $$tmp/$$s.yaml >/dev/null || exit 1; \
		$(UV) run --no-sync python -m tc_devstack.asyncapi_docs $$tmp/$$s.yaml || exit 1; \
		diff -u docs/asyncapi/$$s.yaml $$tmp/$$s.yaml || { echo "AsyncAPI of $$s drifted: run 'make asyncapi' and commit"; exit 1; }; \
	done; rm -rf $$tmp; echo "AsyncAPI documents match the code"

# The api's OpenAPI document is a contract too: generated from create_app with dummy settings
# (nothing is connected), keys sorted, committed, and checked for drift in `make test`.
openapi: install
	@$(UV) run --no-sync python -m tc_api.openapi_doc docs/openapi/api.json
	@echo "docs/openapi/api.json"

openapi-check: install
	@tmp=$$(mktemp -d); \
	$(UV) run --no-sync python -m tc_api.openapi_doc $$tmp/api.json || exit 1; \
	diff -u docs/openapi/api.json $$tmp/api.json || { echo "OpenAPI drifted: run 'make openapi' and commit"; exit 1; }; \
	rm -rf $$tmp; echo "OpenAPI document matches the code"

# The forecast-over-Kafka module runs in a process of its own: after libs/common's tests in the
# same process its app's subscribers sometimes start only after the test gave up (seen in full
# runs since 2026-12-05 19:00, never alone; cause not found yet). It runs, it is not skipped.
ISOLATED_TESTS := services/forecast/tests/integration/test_forecast_over_real_kafka.py
test: install lint typecheck imports asyncapi-check openapi-check
	$(UV) run --no-sync pytest -q -m "not all_moments" --ignore=$(ISOLATED_TESTS)
	$(UV) run --no-sync pytest -q -m "not all_moments" $(ISOLATED_TESTS)

# The slow part of the moment matrix (tc_testkit.moments): the whole system started at each
# pinned moment that `make test` leaves out (about a minute each).
test-moments: install
	$(UV) run --no-sync pytest -q -m all_moments

test-fast: install
	$(UV) run --no-sync pytest -q -m "not e2e and not integration"

# Price-forecast benchmark (epftoolbox protocol on NP.csv by default; ~15 min on 2 cores).
# Options pass through (later ones win): make bench-prices ARGS="--test-days 28"
BENCH_PRICES_DEFAULT := --data ../shared/data/epftoolbox-np/NP.csv --format epftoolbox
bench-prices: install
	$(UV) run --no-sync python -m tc_forecast.bench_prices $(BENCH_PRICES_DEFAULT) $(ARGS)

# Charge-planner benchmark: Trondheim sessions on NO3 prices, on their own period and shifted
# 156 weeks onto 2022 prices; prints one JSON line per run (price forecasts are cached in
# .run/bench/cache: the first run computes them, ~10 min each on 2 cores).
# Options pass through to both runs (later ones win): make bench-planner ARGS="--risk-target 0.99"
BENCH_PLANNER_DEFAULT := --sessions ../shared/data/ev-sessions-trondheim/sessions.csv \
	--prices ../shared/data/nordic-prices-2015-2023/NO_3.csv
bench-planner: install
	$(UV) run --no-sync python -m tc_forecast.bench_planner $(BENCH_PLANNER_DEFAULT) --plot .run/bench/planner.png $(ARGS)
	$(UV) run --no-sync python -m tc_forecast.bench_planner $(BENCH_PLANNER_DEFAULT) --shift-weeks 156 --plot .run/bench/planner-shift156.png $(ARGS)

# Charts of the running system (`make run` in another terminal): $(RUN_DIR)/plots/<VIN>/{profile,plan}.png
# for VIN (default: every vehicle /v1/vehicles lists), prices of ZONE.
ZONE ?= NO1
plots: install
	$(UV) run --no-sync python -m tc_devstack.plot_vehicle --api-url http://127.0.0.1:$${API_PORT:-8000} \
		--api-key-file $(RUN_DIR)/api-key --zone $(ZONE) --out $(RUN_DIR)/plots $(if $(VIN),--vin $(VIN))

clean:
	rm -rf .run .pytest_cache .mypy_cache .ruff_cache
