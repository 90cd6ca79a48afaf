#!/usr/bin/env bash
# Runs every test: cargo build + cargo test, then the compatibility tests
# (compat-tests/) against both redis-server and Sluice. Installs what it
# needs on a fresh Debian machine; every step is safe to re-run.
#
# Usage: scripts/test-all.sh [pytest args...]    e.g. -k strings
# Env:   SKIP_CARGO=1       skip the cargo build/test step (and the
#                           load generator smoke run, which needs its build)
#        COMPAT_SERVERS     servers the compat tests use (default redis,sluice)
#        SLUICE_BIN         server binary (default target/debug/sluice-server)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT=$PWD

step() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ "${SKIP_CARGO:-0}" = 1 ]; then
    step "cargo: skipped (SKIP_CARGO=1)"
else
    # Shells that never sourced rustup's env lack ~/.cargo/bin on PATH.
    if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
        PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null ||
        die "cargo not found: install the Rust toolchain (rustup) and put cargo on PATH"
    # Debug profile for both, so the test build reuses the binary build.
    step "cargo build --all-targets"
    cargo build --all-targets
    step "cargo test"
    cargo test
fi

if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
    step "redis-server: $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p') already installed"
else
    # The package's postinst may start a service on 6379; the tests never use it.
    step "installing redis-server"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server
fi

if [ "${SKIP_CARGO:-0}" != 1 ]; then
    # The benchmark tool still works: a tiny run of every workload against
    # both servers (debug build, one round, well under a minute). Only the
    # table's shape is checked, never a number; loadgen exits non-zero if a
    # workload crashed, timed out or lost data on either server.
    step "loadgen smoke run"
    smoke_out=$(mktemp)
    target/debug/examples/loadgen --sluice-bin target/debug/sluice-server \
        --rounds 1 --duration 0.3 --warmup 0.1 --clients 4 --pipeline 4 \
        --rate 1000 --consume-entries 2000 --entries 5000 >"$smoke_out" ||
        { cat "$smoke_out"; die "loadgen smoke run failed"; }
    rows=$(grep -c '^| ' "$smoke_out" || true)
    # Header, separator and 12 rows: 3 XADD shapes x 2 fsync policies,
    # consume, end-to-end, delay queue, restart, memory and disk.
    # Redis runs every workload, so each row needs a figure in its column.
    no_redis=$(awk -F'|' '/^\| / && NR > 2 && $5 !~ /[0-9]/' "$smoke_out" | grep -vc -e '^| workload' -e '^| ---' || true)
    if [ "$rows" -ne 14 ] || [ "$no_redis" -ne 0 ] ||
        ! grep -q '^| workload | compares | sluice | redis |' "$smoke_out"; then
        cat "$smoke_out"
        die "loadgen smoke run: expected 12 workload rows, each with a redis figure"
    fi
    rm -f "$smoke_out"
fi

VENV=$REPO_ROOT/.venv
REQUIREMENTS=compat-tests/requirements.txt
if ! "$VENV/bin/python" -c '' 2>/dev/null; then
    step "creating $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || {
        rm -rf "$VENV"
        die "python3 -m venv failed (on Debian's python3, apt-get install python3-venv)"
    }
fi
# Reinstall only when requirements.txt changed since the last good install.
wanted=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" = "$wanted" ]; then
    step "python requirements: up to date"
else
    step "pip install -r $REQUIREMENTS"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install -q -r "$REQUIREMENTS"
    echo "$wanted" >"$VENV/.requirements.sha256"
fi

step "pytest compat-tests (servers: ${COMPAT_SERVERS:-redis,sluice})"
export SLUICE_BIN=${SLUICE_BIN:-$REPO_ROOT/target/debug/sluice-server}
status=0
"$VENV/bin/python" -m pytest compat-tests -q -rfE -p no:cacheprovider "$@" || status=$?
# Exit code 5 means no test was collected: never let that pass as green.
if [ "$status" -eq 5 ]; then
    die "pytest collected no tests"
fi
exit "$status"
