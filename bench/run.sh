#!/usr/bin/env bash
# The benchmark (README "Benchmark"), against the module in build/:
#   bash bench/run.sh [wrk] [seconds per round] [rounds]   requests/s, p50/p99, ratios
#   bash bench/run.sh instructions [requests] [rounds]     callgrind, per request
#   bash bench/run.sh soak [requests] [seconds per chunk]  RSS of each child
# Each pair runs alternated A B A B against bench/upstream.c. Installs wrk
# and valgrind when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
need() {   # command, Debian package
  command -v "$1" >/dev/null && return
  if [ "$(id -u)" = 0 ]; then apt-get install -y "$2" >/dev/null; return; fi
  echo "bench: needs $1 (apt-get install $2)" >&2; exit 1
}
need wrk wrk
need valgrind valgrind
need cc gcc
if [ ! -f "${ALX_MODULE:-build/.libs/mod_alexalink.so}" ]; then
  echo "bench: build the module first (bash scripts/setup.sh)" >&2; exit 1
fi
mode=${1:-wrk}
[ $# -gt 0 ] && shift
exec node bench/bench.mjs "$mode" "$@"
