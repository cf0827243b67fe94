# cartback: `make dev` runs the app locally beside the simulators; `make test` runs every test.
# Both install what is missing first. Nothing is downloaded from GitHub release pages: the
# wasm-bindgen CLI is built with cargo at the exact version in Cargo.lock, esbuild and wasm-opt
# come from npm.

SHELL := /bin/bash
# A recipe that fails leaves no target behind that looks up to date (the Worker's has two steps).
.DELETE_ON_ERROR:
CARGO_BIN := $(HOME)/.cargo/bin
export PATH := $(CARGO_BIN):$(CURDIR)/node_modules/.bin:$(PATH)

WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ {getline; gsub(/"/, "", $$3); print $$3}' Cargo.lock)
WORKER_BUILD_VERSION := 0.8.7

# worker-build takes its tools from here instead of downloading them (wasm-opt it does not run).
export WASM_BINDGEN_BIN := $(CARGO_BIN)/wasm-bindgen
export ESBUILD_BIN := $(CURDIR)/node_modules/.bin/esbuild
WASM_FEATURES := $(addprefix --enable-,mutable-globals sign-ext nontrapping-float-to-int bulk-memory \
	multivalue reference-types exception-handling)
export WRANGLER_SEND_METRICS := false
export WRANGLER_SEND_ERROR_REPORTS := false
export WRANGLER_HIDE_BANNER := true
export CLOUDFLARE_CF_FETCH_ENABLED := false

RUST_SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock
UI_SOURCES := $(shell find admin-ui/src -type f) admin-ui/index.html admin-ui/build.mjs \
	admin-ui/tsconfig.json package-lock.json

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEV_PORT ?= 8787
SIM_PORT ?= 8799
STORE_PORT ?= 8798

.PHONY: dev test bench build ui lint-ui lint-theme wasm tools rust-tools node-tools browser-tools test-native test-e2e demo lint fuzz fuzz-tools clean

## Install what is missing, build, and run the Worker under wrangler dev beside the simulators.
dev: build .dev.vars
	@scripts/dev.sh $(DEV_PORT) $(SIM_PORT) $(STORE_PORT)

## The performance figures of the budgets, as a table and as bench-results/bench.json.
bench: build
	node tests/bench/run.mjs

## Send a signed demo checkout to the running `make dev`.
demo:
	@node scripts/demo-checkout.mjs http://127.0.0.1:$(DEV_PORT)

## Install what is missing, build, and run every test: native, then end to end in workerd.
test: build test-native test-e2e

test-native:
	cargo test --locked

test-e2e: build browser-tools
	npx vitest run --config tests/vitest.config.mjs

lint: rust-tools lint-ui lint-theme
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings
	cargo clippy --locked --target wasm32-unknown-unknown -- -D warnings

build: tools ui wasm

## The admin page in admin-ui/dist (TypeScript + Preact, bundled by esbuild), when its sources changed.
ui: node-tools admin-ui/dist/index.html

admin-ui/dist/index.html: $(UI_SOURCES)
	node admin-ui/build.mjs

## Type-checks the admin page.
lint-ui: node-tools
	tsc -p admin-ui

## Shopify's theme-check on the storefront opt-in (offline: its bundled docs, never the network).
lint-theme: node-tools
	node scripts/theme-check.mjs extensions/cartback-optin

## The Worker bundle in build/, when a Rust source changed (wrangler's build command calls
## this too, at start and on every change under src/: an unchanged Worker is not rebuilt).
wasm: build/index.js

## worker-build's own wasm-opt run is off (Cargo.toml): it keeps the name section (~97 KiB gzip)
## and its -O, a minute and a half per build, leaves a bundle that gzips ~80 KiB larger. -O1 keeps
## the cheap local optimizations (13 s, +19 KiB gzip); the names go, and identical functions,
## with the wasm features worker-build enables (docs/budgets.md §3).
build/index.js: $(RUST_SOURCES)
	worker-build --release
	$(CURDIR)/node_modules/.bin/wasm-opt $(WASM_FEATURES) -O1 --strip-debug --strip-producers \
		--duplicate-function-elimination build/index_bg.wasm -o build/index_bg.wasm

tools: rust-tools node-tools

## Debian's Chromium for the browser tests (npm's browser downloads cannot work offline).
browser-tools:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

rust-tools:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@[ "$$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $(WASM_BINDGEN_VERSION)" ] || \
		cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@[ "$$(worker-build --version 2>/dev/null)" = "$(WORKER_BUILD_VERSION)" ] || \
		cargo install worker-build --version $(WORKER_BUILD_VERSION) --locked

node-tools: node_modules/.package-lock.json

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

## Fresh random local secrets, never committed.
.dev.vars:
	@scripts/dev-vars.sh > .dev.vars
	@echo "wrote fresh local secrets to .dev.vars"

## Every fuzz target in fuzz/ for FUZZ_SECONDS each, one after the other (nightly and cargo-fuzz,
## installed if missing). Not part of `make test`. Seeds: the fixtures, fuzz/seeds and every
## input that once crashed (fuzz/regressions); what libFuzzer finds is kept in fuzz/corpus.
FUZZ_SECONDS ?= 60
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_TARGETS := checkout deleted_checkout order customer_request whatsapp_webhook whatsapp_templates \
	session_token webhook_hmac proxy_signature oauth_hmac phone money playbook sweep_page

fuzz: fuzz-tools
	cd fuzz && cargo +nightly fuzz build
	@cd fuzz && mkdir -p logs && failed=0 && summary="" && \
	for t in $(FUZZ_TARGETS); do \
		case $$t in \
			checkout|deleted_checkout|order|customer_request) seeds=../tests/fixtures/shopify ;; \
			whatsapp_webhook|whatsapp_templates) seeds=../tests/fixtures/whatsapp ;; \
			*) seeds= ;; \
		esac; \
		for d in seeds/$$t regressions/$$t; do [ -d $$d ] && seeds="$$seeds $$d"; done; \
		mkdir -p corpus/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s (log: fuzz/logs/$$t.log)"; \
		if cargo +nightly fuzz run $$t corpus/$$t $$seeds -- -max_total_time=$(FUZZ_SECONDS) \
			-timeout=10 -print_final_stats=1 > logs/$$t.log 2>&1; then result=ok; \
		else result="FAILED (fuzz/artifacts/$$t, fuzz/logs/$$t.log)"; failed=1; fi; \
		runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' logs/$$t.log | tail -1); \
		summary="$$summary$$(printf '%-18s %12s executions  %s' $$t "$${runs:-?}" "$$result")\n"; \
	done; \
	printf "\n$$summary"; exit $$failed

fuzz-tools:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@[ "$$(cargo fuzz --version 2>/dev/null)" = "cargo-fuzz $(CARGO_FUZZ_VERSION)" ] || \
		cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked

clean:
	rm -rf build target node_modules .wrangler
