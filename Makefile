# Plaza — the targets a newcomer needs. `make run` and `make test` work on a fresh machine:
# what is missing is installed (Debian/Ubuntu, as root) or named in one line.

CARGO ?= cargo
SHELL := /bin/bash

.PHONY: run test lint fmt doc deps build release openapi bench soak fuzz-api clean-test-dbs help

help:
	@echo "make run    start the server on the embedded defaults (SQLite, in-process cache and bus)"
	@echo "make test   run every test (MySQL/Redis suites with PLAZA_TEST_MYSQL_URL / REDIS_URL)"
	@echo "make lint   rustfmt and clippy, as CI runs them"
	@echo "make fmt    format the code"
	@echo "make doc    build the API docs of every crate"
	@echo "make bench  load-test a release build (see docs/performance.md)"
	@echo "make soak   ten minutes of everything at once; memory and descriptors must stay flat"
	@echo "make fuzz-api  schemathesis over /api/schema/ of a debug build (MySQL too with PLAZA_TEST_MYSQL_URL)"

## deps: the toolchain and the C pieces the build links (the MySQL client library, a C compiler).
deps:
	@command -v $(CARGO) >/dev/null || { echo "Rust is missing: install it from https://rustup.rs (then re-run make)"; exit 1; }
	@if ! command -v cc >/dev/null || ! command -v pkg-config >/dev/null || ! pkg-config --exists mysqlclient; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing build-essential, pkg-config and the MySQL client library (apt)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q build-essential pkg-config default-libmysqlclient-dev >/dev/null || \
	      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q build-essential pkg-config default-libmysqlclient-dev >/dev/null; }; \
	  else \
	    echo "missing build dependencies: install a C compiler, pkg-config and the MySQL client library (Debian/Ubuntu: sudo apt-get install build-essential pkg-config default-libmysqlclient-dev)"; exit 1; \
	  fi; \
	fi

build: deps
	$(CARGO) build --bin plaza

release: deps
	$(CARGO) build --release --bin plaza

run: deps
	@echo "Plaza on http://$${PLAZA_BIND:-127.0.0.1:8000} — API /api/v1/, docs /api/docs/, schema /api/schema/ (Ctrl-C stops)"
	$(CARGO) run --bin plaza -- serve

test: deps
	@if [ -z "$$PLAZA_TEST_MYSQL_URL" ]; then echo "note: PLAZA_TEST_MYSQL_URL is not set — the MySQL variants of the tests are skipped (e.g. PLAZA_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/test)"; else echo "MySQL tests: on"; fi
	@if [ -z "$$REDIS_URL" ]; then echo "note: REDIS_URL is not set — the Redis tests are skipped (e.g. REDIS_URL=redis://127.0.0.1:6379/0)"; else echo "Redis tests: on"; fi
	$(CARGO) build --bin plaza
	$(CARGO) test --workspace

## soak: ten minutes of reads, writes, logins and a WebSocket relay against a release server;
## its memory and open descriptors must stay flat (docs/performance.md, "Soak").
SOAK_DURATION ?= 600s
soak: deps
	$(CARGO) build --release --bin plaza --bin plaza-bench
	scripts/soak "$${CARGO_TARGET_DIR:-target}/release" $(SOAK_DURATION)

## fuzz-api: the API fuzzed from its own schema, as CI runs it (docs/api.md).
fuzz-api: build
	@command -v st >/dev/null || { echo "schemathesis is missing: python3 -m pip install schemathesis==4.32.5"; exit 1; }
	scripts/fuzz-api "$${CARGO_TARGET_DIR:-target}/debug/plaza" $$PLAZA_TEST_MYSQL_URL

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

## bench: a release build of plaza and plaza-bench, then every scenario on SQLite (and MySQL
## when PLAZA_BENCH_MYSQL_URL is set); the generator runs pinned to the last CPU when it can.
BENCH_OUT ?= target/bench
bench: deps
	$(CARGO) build --release --bin plaza --bin plaza-bench
	@target=$$($(CARGO) metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'); \
	  pin=""; cpus=$$(nproc 2>/dev/null || echo 1); \
	  if command -v taskset >/dev/null && [ "$$cpus" -ge 2 ]; then pin="taskset -c $$((cpus - 1))"; \
	  else echo "note: taskset or a second CPU is missing; the generator shares the server's CPUs"; fi; \
	  ulimit -n "$$(ulimit -Hn)" 2>/dev/null || true; \
	  if [ -z "$$PLAZA_BENCH_MYSQL_URL" ]; then echo "note: PLAZA_BENCH_MYSQL_URL is not set — SQLite only (e.g. PLAZA_BENCH_MYSQL_URL=mysql://root@127.0.0.1:3306/test)"; fi; \
	  $$pin "$$target/release/plaza-bench" suite --plaza "$$target/release/plaza" --out $(BENCH_OUT) $(BENCH_ARGS)

openapi: build
	$(CARGO) run --quiet --bin plaza -- openapi > docs/openapi.json
	@echo "wrote docs/openapi.json"
