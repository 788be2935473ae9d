# Everything a fresh machine needs is installed by these targets, pinned, and cached outside
# the clone (under $(CACHE_DIR)) so it is built once per machine.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/lambda-auth
TOOLS_DIR := $(CACHE_DIR)/tools

# MongoDB wire-protocol server for tests and local runs (GPL-2.0, run as a separate process).
SECANTUS_VERSION := 0.5.3-beta.196
SECANTUSD := $(TOOLS_DIR)/secantus-$(SECANTUS_VERSION)/bin/secantusd-rs

# Python-packaged tools, pinned; the virtualenv's name changes whenever a pin changes.
PY_TOOLS := cargo-lambda==1.9.2 aws-sam-cli==1.170.0 cfn-lint==1.58.0 moto[server]==5.2.5
PY_TOOLS_ID := $(shell echo '$(PY_TOOLS)' | sha256sum | cut -c1-12)
VENV := $(TOOLS_DIR)/venv-$(PY_TOOLS_ID)
CARGO_LAMBDA := $(VENV)/bin/cargo-lambda
# schemathesis in a virtualenv of its own, so its dependencies never meet SAM CLI's.
CONFORMANCE_TOOLS := schemathesis==4.32.5
CONFORMANCE_VENV := $(TOOLS_DIR)/venv-conformance-$(shell echo '$(CONFORMANCE_TOOLS)' | sha256sum | cut -c1-12)
SCHEMATHESIS := $(CONFORMANCE_VENV)/bin/schemathesis
# The FastAPI tutorial app the coexistence test runs beside this project, in its own virtualenv
# (with pyotp, the independent TOTP implementation the two-factor tests take codes from).
FASTAPI_APP_REQUIREMENTS := devtools/fastapi-app/requirements.txt
FASTAPI_APP_VENV := $(TOOLS_DIR)/venv-fastapi-app-$(shell sha256sum $(FASTAPI_APP_REQUIREMENTS) | cut -c1-12)
FASTAPI_APP_PYTHON := $(FASTAPI_APP_VENV)/bin/python
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} PATH="$(VENV)/bin:$$PATH"

FUNCTIONS := $(notdir $(wildcard functions/*))

# The book's builder (mdBook), from crates.io, pinned.
MDBOOK_VERSION := 0.5.4
MDBOOK := $(TOOLS_DIR)/mdbook-$(MDBOOK_VERSION)/bin/mdbook

# Swagger UI (npm swagger-ui-dist, pinned in functions/docs/package-lock.json), embedded into
# the docs function at build time. npm keeps its download cache in ~/.npm.
DOCS_ASSETS := functions/docs/node_modules/.package-lock.json
# The /docs browser test: playwright-core (pinned in devtools/browser/package-lock.json) and
# Debian's Chromium.
BROWSER_DRIVER := devtools/browser/node_modules/.package-lock.json
# The example single-page app's one dependency, oidc-client-ts (pinned in
# examples/spa/package-lock.json); `make dev` serves the app beside the API.
EXAMPLE_APP_DEPS := examples/spa/node_modules/.package-lock.json
# The local upstream OpenID Providers (panva's oidc-provider, pinned in
# devtools/upstream/package-lock.json) that make dev and the federation tests sign in through.
UPSTREAM_PROVIDER := devtools/upstream/node_modules/.package-lock.json
# The Cognito trigger schemas of Powertools for AWS Lambda's parser (npm, pinned in
# devtools/hooks/package-lock.json): the hook tests check every event against them.
HOOK_SCHEMAS := devtools/hooks/node_modules/.package-lock.json
# Hooks `make dev` runs, as TRIGGER=PROGRAM words, for example
# HOOKS=pre-token-generation=examples/hooks/add_claim.py (see the README, section Hooks).
HOOKS ?=
EXAMPLE_PORT ?= 3001
CHROMIUM := /usr/bin/chromium
# The HTTP load generator for make bench's load test (Debian's wrk, pinned).
WRK_VERSION := 4.1.0-3+b2
WRK := /usr/bin/wrk
WITH_LOCAL_API = devtools/scripts/with-local-api $(TARGET_DIR)/debug
ARTIFACTS := $(abspath target/test-artifacts)
BENCH_SMOKE := --warm-up-time 0.01 --measurement-time 0.01 --sample-size 10
WITH_MONGO := devtools/scripts/with-mongo $(SECANTUSD)
WITH_SECRETS_MANAGER := devtools/scripts/with-secrets-manager $(VENV)/bin/moto_server

PORT ?= 3000
TARGET_DIR = $${CARGO_TARGET_DIR:-target}

.PHONY: help book dev hook-schemas upstream-provider example-app env-json bench-memory tools docs-assets browser-tools load-tools bench bench-scale bench-profiles test check quick integration e2e bench-smoke deploy-check lambda-build clean-tools

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

# The dev profile optimises only the hot crates (argon2, the legacy hashes): the first build
# is several times faster than an optimised one, and `make test` reuses it.
dev: $(SECANTUSD) $(DOCS_ASSETS) $(EXAMPLE_APP_DEPS) $(UPSTREAM_PROVIDER) ## Serve the API on localhost:$(PORT), the example app on 127.0.0.1:$(EXAMPLE_PORT) and a local upstream OpenID provider (embedded database in .local/, or MONGODB_URI)
	cargo build --locked --bins $(addprefix -p ,$(FUNCTIONS)) -p devtools -p add-claim-hook
	exec $(TARGET_DIR)/debug/local-api --template template.yaml --bin-dir $(TARGET_DIR)/debug \
	  --data-dir .local --port $(PORT) --secantusd $(SECANTUSD) --public-host localhost \
	  --example-app examples/spa --example-port $(EXAMPLE_PORT) --upstream devtools/upstream \
	  $(addprefix --hook ,$(HOOKS))

hook-schemas: $(HOOK_SCHEMAS) ## Install the Powertools parser's Cognito trigger schemas the hook tests check events against (npm, pinned)

$(HOOK_SCHEMAS): devtools/hooks/package.json devtools/hooks/package-lock.json
	cd devtools/hooks && npm ci --ignore-scripts --no-audit --no-fund

upstream-provider: $(UPSTREAM_PROVIDER) ## Install the local upstream OpenID provider (panva's oidc-provider; npm, pinned)

$(UPSTREAM_PROVIDER): devtools/upstream/package.json devtools/upstream/package-lock.json
	cd devtools/upstream && npm ci --ignore-scripts --no-audit --no-fund

example-app: $(EXAMPLE_APP_DEPS) ## Install the example app's oidc-client-ts (npm, pinned)

$(EXAMPLE_APP_DEPS): examples/spa/package.json examples/spa/package-lock.json
	cd examples/spa && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# sam local runs the functions in Docker: they reach a database on this machine through
# host.docker.internal (start one with `make dev`, whose data lives in .local/).
SAM_LOCAL_MONGODB_URI ?= mongodb://host.docker.internal:27017

env-json: ## The --env-vars file for `sam local invoke/start-api` (.local/env.json, mode 0600) with the development keys of `make dev`
	cargo run --locked -q -p devtools --bin env-json -- .local/keys '$(SAM_LOCAL_MONGODB_URI)' .local/env.json

tools: $(SECANTUSD) $(CARGO_LAMBDA) $(SCHEMATHESIS) $(FASTAPI_APP_PYTHON) $(DOCS_ASSETS) $(EXAMPLE_APP_DEPS) $(UPSTREAM_PROVIDER) $(HOOK_SCHEMAS) $(MDBOOK) browser-tools load-tools ## Install or reuse the pinned tools

book: $(MDBOOK) ## Build the book (docs/) into docs/book/; open docs/book/index.html
	$(MDBOOK) build docs

$(MDBOOK):
	cargo install --locked mdbook --version =$(MDBOOK_VERSION) --no-default-features --features search \
	  --root $(TOOLS_DIR)/mdbook-$(MDBOOK_VERSION)

docs-assets: $(DOCS_ASSETS) ## Install the pinned Swagger UI assets the docs function embeds

$(DOCS_ASSETS): functions/docs/package.json functions/docs/package-lock.json
	cd functions/docs && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

browser-tools: $(BROWSER_DRIVER) $(CHROMIUM) ## Install playwright-core (npm, pinned) and Debian's chromium for the /docs browser test

$(BROWSER_DRIVER): devtools/browser/package.json devtools/browser/package-lock.json
	cd devtools/browser && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get install -y --no-install-recommends chromium || { apt-get update && apt-get install -y --no-install-recommends chromium; }; \
	elif command -v sudo >/dev/null; then sudo apt-get install -y --no-install-recommends chromium; \
	else echo "the /docs browser test needs Debian's chromium package at $(CHROMIUM)" >&2; exit 1; fi

load-tools: $(WRK) ## Install Debian's wrk (pinned) for the load test

$(WRK):
	@if [ "$$(id -u)" = 0 ]; then apt-get install -y --no-install-recommends wrk=$(WRK_VERSION) || { apt-get update && apt-get install -y --no-install-recommends wrk=$(WRK_VERSION); }; \
	elif command -v sudo >/dev/null; then sudo apt-get install -y --no-install-recommends wrk=$(WRK_VERSION); \
	else echo "the load test needs Debian's wrk package ($(WRK_VERSION)) at $(WRK)" >&2; exit 1; fi

# Each step installs only the tools it uses, so the cheap steps fail before the slow ones.
# The steps of `make test`, cheapest first; each one's time is printed at the end and kept in
# $(ARTIFACTS)/step-times.txt, so the slowest stay visible.
TEST_STEPS := check book quick integration e2e bench-smoke deploy-check

test: ## Everything, cheapest first: check, book, quick, integration, e2e, bench-smoke, deploy-check; then each step's time
	@mkdir -p $(ARTIFACTS) && rm -f $(ARTIFACTS)/step-times.txt
	@for step in $(TEST_STEPS); do \
	  started=$$(date +%s); \
	  if ! $(MAKE) --no-print-directory $$step; then \
	    echo "make test: $$step failed after $$(( $$(date +%s) - started )) s" >&2; exit 1; \
	  fi; \
	  printf '%-12s %5d s\n' "$$step" "$$(( $$(date +%s) - started ))" >> $(ARTIFACTS)/step-times.txt; \
	done
	@echo "make test: each step's time (kept in $(ARTIFACTS)/step-times.txt)"
	@cat $(ARTIFACTS)/step-times.txt

check: $(DOCS_ASSETS) ## cargo fmt --check and clippy with warnings as errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

# Tests needing a server, Python or a browser live in modules named `live`.
quick: $(DOCS_ASSETS) ## Every test that needs no database, Python or browser: unit, handler (in-memory stores), store contract (in memory), template and route checks
	cargo test --workspace --locked -- --skip live::

# Every line the function binaries write during the tests, scanned for leaked secrets.
FUNCTION_LOGS := $(abspath target/function-logs)

integration: $(SECANTUSD) $(CARGO_LAMBDA) $(FASTAPI_APP_PYTHON) $(DOCS_ASSETS) $(EXAMPLE_APP_DEPS) $(UPSTREAM_PROVIDER) $(HOOK_SCHEMAS) ## The `live` tests: stores on a real MongoDB-compatible server, Secrets Manager (moto), the real function binaries under the Runtime API emulator, the FastAPI app beside them
	cargo build --workspace --bins --locked
	rm -rf $(FUNCTION_LOGS) && mkdir -p $(FUNCTION_LOGS)
	FUNCTION_LOG_DIR=$(FUNCTION_LOGS) SECANTUSD=$(SECANTUSD) FASTAPI_APP_PYTHON=$(FASTAPI_APP_PYTHON) PYOTP_PYTHON=$(FASTAPI_APP_PYTHON) SAM_PYTHON=$(VENV)/bin/python $(WITH_MONGO) $(WITH_SECRETS_MANAGER) cargo test --workspace --locked -- live::

e2e: $(SECANTUSD) $(SCHEMATHESIS) $(DOCS_ASSETS) $(FASTAPI_APP_PYTHON) $(EXAMPLE_APP_DEPS) $(UPSTREAM_PROVIDER) browser-tools ## Through the local API: schemathesis against openapi.yaml, the /docs and /docs/passkeys pages in Chromium (a virtual authenticator for passkeys), Node's openid-client through the code flow, the example app (oidc-client-ts) through the hosted pages and through the local upstream providers in Chromium; then every function log line is scanned for secrets
	cargo build --workspace --bins --locked
	mkdir -p $(FUNCTION_LOGS)
	GRANT_ROLE=$(TARGET_DIR)/debug/grant-role FUNCTION_LOG_DIR=$(FUNCTION_LOGS) $(WITH_MONGO) $(WITH_LOCAL_API) devtools/scripts/conformance $(SCHEMATHESIS)
	FUNCTION_LOG_DIR=$(FUNCTION_LOGS) $(WITH_MONGO) $(WITH_LOCAL_API) devtools/scripts/docs-walkthrough $(ARTIFACTS)/docs-walkthrough.png
	FUNCTION_LOG_DIR=$(FUNCTION_LOGS) $(WITH_MONGO) $(WITH_LOCAL_API) devtools/scripts/passkeys-walkthrough $(ARTIFACTS)/passkeys-walkthrough.png
	FUNCTION_LOG_DIR=$(FUNCTION_LOGS) $(WITH_MONGO) $(WITH_LOCAL_API) devtools/scripts/openid-client-flow
	FUNCTION_LOG_DIR=$(FUNCTION_LOGS) PYOTP_PYTHON=$(FASTAPI_APP_PYTHON) \
	  LOCAL_API_ARGS="--public-host localhost --example-app examples/spa --example-port 0" \
	  $(WITH_MONGO) $(WITH_LOCAL_API) devtools/scripts/example-app-walkthrough $(ARTIFACTS)
	FUNCTION_LOG_DIR=$(FUNCTION_LOGS) \
	  LOCAL_API_ARGS="--public-host localhost --example-app examples/spa --example-port 0 --upstream devtools/upstream --upstream-ids local,second" \
	  $(WITH_MONGO) $(WITH_LOCAL_API) devtools/scripts/federation-walkthrough $(ARTIFACTS)
	devtools/scripts/scan-logs $(FUNCTION_LOGS)

bench-smoke: $(SECANTUSD) $(DOCS_ASSETS) load-tools ## One short sample of every benchmark pipeline (criterion, cold start, load test, profiles): numbers meaningless, the pipelines are checked
	cargo build --workspace --bins --locked
	$(WITH_MONGO) cargo bench --locked -p benchmarks --bench requests --profile dev -- $(BENCH_SMOKE)
	cargo run --locked -q -p benchmarks --bin bench-report -- $(TARGET_DIR)/criterion $(ARTIFACTS)/bench-smoke.json
	python3 -m json.tool $(ARTIFACTS)/bench-smoke.json >/dev/null
	$(WITH_MONGO) $(TARGET_DIR)/debug/coldstart $(TARGET_DIR)/debug 1 $(ARTIFACTS)/coldstart-smoke.json
	python3 -m json.tool $(ARTIFACTS)/coldstart-smoke.json >/dev/null
	WRK=$(WRK) $(WITH_MONGO) $(TARGET_DIR)/debug/loadtest $(TARGET_DIR)/debug 1 2 $(ARTIFACTS)/loadtest-smoke.json
	python3 -m json.tool $(ARTIFACTS)/loadtest-smoke.json >/dev/null
	$(WITH_MONGO) $(TARGET_DIR)/debug/compare-profiles $(ARTIFACTS)/profiles-smoke.json --smoke
	python3 -m json.tool $(ARTIFACTS)/profiles-smoke.json >/dev/null
	$(WITH_MONGO) cargo bench --locked -p benchmarks --bench scale --profile dev -- --sizes 1000 --samples 3 --out $(ARTIFACTS)/scale-smoke.json
	python3 -m json.tool $(ARTIFACTS)/scale-smoke.json >/dev/null

bench: $(SECANTUSD) $(DOCS_ASSETS) load-tools ## Benchmarks: requests against their floors (criterion), cold starts, load through the local API; tables to stdout, JSON to target/bench/
	$(WITH_MONGO) cargo bench --locked -p benchmarks --bench requests
	cargo run --locked -q -p benchmarks --bin bench-report -- $(TARGET_DIR)/criterion $(abspath target/bench/requests.json)
	cargo build --release --locked $(addprefix -p ,$(FUNCTIONS)) -p benchmarks
	$(WITH_MONGO) $(TARGET_DIR)/release/coldstart $(TARGET_DIR)/release 20 $(abspath target/bench/coldstart.json)
	WRK=$(WRK) $(WITH_MONGO) $(TARGET_DIR)/release/loadtest $(TARGET_DIR)/release 20 16 $(abspath target/bench/loadtest.json)

bench-scale: $(SECANTUSD) $(DOCS_ASSETS) ## Every request and the FastAPI takeover at 1,000, 100,000 and 1,000,000 accounts (about 25 min); table to stdout, JSON to target/bench/scale.json
	$(WITH_MONGO) cargo bench --locked -p benchmarks --bench scale -- --sizes 1000,100000,1000000 --out $(abspath target/bench/scale.json)

bench-memory: ## argon2id verification under a CPU cap per Lambda memory size (cgroup v1 cpu quota; needs root): latency and cost per million, table to stdout, JSON to target/bench/
	cargo build --release --locked -p benchmarks --bin memory-sizes
	$(TARGET_DIR)/release/memory-sizes $(abspath target/bench/memory-sizes.json)

bench-profiles: $(SECANTUSD) $(DOCS_ASSETS) ## The measurements behind the release profile: release vs thin LTO vs opt-level "s" (about 30 min)
	cargo build --release --locked -p benchmarks
	$(WITH_MONGO) $(TARGET_DIR)/release/compare-profiles $(abspath target/bench/profiles.json)

# The check that every function builds for arm64 skips fat LTO, which made it half of a fresh
# machine's `make test`; `make deploy-check RELEASE_LTO=1` builds exactly what a deploy ships.
DEPLOY_CHECK_PROFILE := $(if $(RELEASE_LTO),,CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16)

deploy-check: $(CARGO_LAMBDA) $(DOCS_ASSETS) arm64-target ## Offline: sam validate --lint, cfn-lint, sam build (arm64 bootstrap per function; RELEASE_LTO=1 for the deploy profile)
	$(SAM_ENV) sam validate --lint
	$(VENV)/bin/cfn-lint template.yaml
	$(DEPLOY_CHECK_PROFILE) $(SAM_ENV) sam build --beta-features --parallel
	devtools/scripts/check-bootstraps .aws-sam/build $(FUNCTIONS)

lambda-build: $(CARGO_LAMBDA) $(DOCS_ASSETS) arm64-target ## Build every function for Lambda (arm64, release) into target/lambda/
	PATH="$(VENV)/bin:$$PATH" cargo lambda build --release --arm64 --locked $(addprefix -p ,$(FUNCTIONS))
	@for f in $(FUNCTIONS); do \
	  test -x "$${CARGO_TARGET_DIR:-target}/lambda/$$f/bootstrap" || { echo "missing bootstrap for $$f"; exit 1; }; \
	done

# sam build runs one cargo-lambda per function in parallel, and each would add the target
# itself: they race, and a build that starts before the winner finishes fails with
# "can't find crate for `core`".
.PHONY: arm64-target
arm64-target: # The Rust standard library for aarch64 Linux, installed once before the parallel builds
	@rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

$(SECANTUSD):
	@command -v cmake >/dev/null || $(MAKE) --no-print-directory cmake
	cargo install --locked secantus-mdb --version =$(SECANTUS_VERSION) --ignore-rust-version \
	  --root $(TOOLS_DIR)/secantus-$(SECANTUS_VERSION)

$(SCHEMATHESIS): $(CONFORMANCE_VENV)/.complete
$(CONFORMANCE_VENV)/.complete:
	rm -rf $(CONFORMANCE_VENV)
	python3 -m venv $(CONFORMANCE_VENV)
	$(CONFORMANCE_VENV)/bin/pip install --quiet --disable-pip-version-check $(foreach tool,$(CONFORMANCE_TOOLS),'$(tool)')
	touch $@

$(FASTAPI_APP_PYTHON): $(FASTAPI_APP_VENV)/.complete
$(FASTAPI_APP_VENV)/.complete: $(FASTAPI_APP_REQUIREMENTS)
	rm -rf $(FASTAPI_APP_VENV)
	python3 -m venv $(FASTAPI_APP_VENV)
	$(FASTAPI_APP_VENV)/bin/pip install --quiet --disable-pip-version-check -r $(FASTAPI_APP_REQUIREMENTS)
	touch $@

$(CARGO_LAMBDA): $(VENV)/.complete
$(VENV)/.complete:
	rm -rf $(VENV)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(foreach tool,$(PY_TOOLS),'$(tool)')
	touch $@

.PHONY: cmake
cmake: # secantus-mdb's WiredTiger build needs cmake (Debian package)
	@if [ "$$(id -u)" = 0 ]; then apt-get install -y cmake || { apt-get update && apt-get install -y cmake; }; \
	elif command -v sudo >/dev/null; then sudo apt-get install -y cmake; \
	else echo "cmake is required to build secantus-mdb: install the 'cmake' package" >&2; exit 1; fi

clean-tools: ## Remove the cached tools (they are rebuilt on the next run)
	rm -rf $(TOOLS_DIR)
