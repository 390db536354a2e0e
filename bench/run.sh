#!/usr/bin/env bash
# Runs every benchmark in release mode. PostgreSQL figures need GATEHOUSE_BENCH_POSTGRES_URL.
# The authorization-server load runs its servers on GATEHOUSE_BENCH_SERVER_CPUS (default 0) and the
# load generator on GATEHOUSE_BENCH_LOAD_CPUS (default 1).
#
# `bench/run.sh crash-soak [FLAGS…]` runs only the crash soak (SQLite, and PostgreSQL when the
# variable is set); GATEHOUSE_BENCH_PROFILE=dev builds it in debug mode, much faster to build.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse/target}"
if [ "${1:-}" = crash-soak ]; then
  shift
  profile="${GATEHOUSE_BENCH_PROFILE:-release}"
  cargo build --profile "$profile" --locked -p gatehouse -p gatehouse-bench
  out=release
  if [ "$profile" = dev ]; then out=debug; fi
  backend=sqlite
  if [ -n "${GATEHOUSE_BENCH_POSTGRES_URL:-}" ]; then backend=both; fi
  echo "== $(date -u +%F) on $(nproc) cores: $(lscpu | sed -n 's/^Model name: *//p'), $profile build"
  exec "$CARGO_TARGET_DIR/$out/crash_soak" --backend "$backend" "$@"
fi
clients="${1:-100000}"
cargo build --release --locked -p gatehouse -p gatehouse-bench
bin="$CARGO_TARGET_DIR/release"
echo "== $(date -u +%F) on $(nproc) cores: $(lscpu | sed -n 's/^Model name: *//p')"
"$bin/micro"
"$bin/startup"
"$bin/registry" sqlite "$clients"
if [ -n "${GATEHOUSE_BENCH_POSTGRES_URL:-}" ]; then
  "$bin/registry" postgres "$clients"
else
  echo "(PostgreSQL registry benchmark skipped: set GATEHOUSE_BENCH_POSTGRES_URL)"
fi
"$bin/console" sqlite
if [ -n "${GATEHOUSE_BENCH_POSTGRES_URL:-}" ]; then
  "$bin/console" postgres
fi
# 10,000+ sockets on each side: raise the descriptor limit as far as allowed.
ulimit -n "$(ulimit -Hn)"
taskset -c "${GATEHOUSE_BENCH_LOAD_CPUS:-1}" "$bin/rooms_load" sqlite
if [ -n "${GATEHOUSE_BENCH_POSTGRES_URL:-}" ]; then
  taskset -c "${GATEHOUSE_BENCH_LOAD_CPUS:-1}" "$bin/rooms_load" postgres
fi
taskset -c "${GATEHOUSE_BENCH_LOAD_CPUS:-1}" "$bin/secrets_load" sqlite
if [ -n "${GATEHOUSE_BENCH_POSTGRES_URL:-}" ]; then
  taskset -c "${GATEHOUSE_BENCH_LOAD_CPUS:-1}" "$bin/secrets_load" postgres
fi
taskset -c "${GATEHOUSE_BENCH_LOAD_CPUS:-1}" "$bin/sdk_load" sqlite
if [ -n "${GATEHOUSE_BENCH_POSTGRES_URL:-}" ]; then
  taskset -c "${GATEHOUSE_BENCH_LOAD_CPUS:-1}" "$bin/sdk_load" postgres
fi
"$bin/llm_gate"
echo "== load before the authorization-server benchmark: $(cut -d' ' -f1-3 /proc/loadavg)"
taskset -c "${GATEHOUSE_BENCH_LOAD_CPUS:-1}" "$bin/oauth_load"
