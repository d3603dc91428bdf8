#!/usr/bin/env bash
# The whole test suite: setup, unit tests (plain and ASan/UBSan), a fuzz
# smoke run of every parser, and the end-to-end suite against the real
# Debian apache2 under the event and prefork MPMs and with the ASan module,
# the refresh-grace files once more on dbm, redis and memcache stores, and
# the Debian package.
# Run as root. ALX_FUZZ_SECONDS (default 10) sets each fuzzer's run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
logdir=$root/build/test-logs
passed=0
failed=0

count_node() {   # adds node --test's "# pass N" / "# fail N" to the totals
  local p f
  p=$(grep -E '^# pass [0-9]+' "$1" | tail -1 | awk '{print $3}')
  f=$(grep -E '^# fail [0-9]+' "$1" | tail -1 | awk '{print $3}')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
}

count_make_check() {   # automake's "# PASS: N" / "# FAIL: N"
  local p f
  p=$(grep -E '^# PASS: +[0-9]+' "$1" | tail -1 | awk '{print $3}')
  f=$(grep -E '^# (FAIL|ERROR): +[0-9]+' "$1" | awk '{s+=$3} END {print s+0}')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
}

step() { printf '\n==== %s\n' "$*"; }

bash scripts/setup.sh
mkdir -p "$logdir"

step "unit tests (gcc -Wall -Wextra -Werror)"
if ! make -C build -j2 check > "$logdir/unit.log" 2>&1; then
  cat "$logdir/unit.log"; cat build/test-suite.log 2>/dev/null || true; count_make_check "$logdir/unit.log"
  echo "tests: $passed passed, $((failed > 0 ? failed : 1)) failed"; exit 1
fi
grep -E '^(PASS|FAIL|ERROR|# )' "$logdir/unit.log" || true
count_make_check "$logdir/unit.log"

step "source checks (log tags, documented directives)"
if node --test t/static/ > "$logdir/static.log" 2>&1; then tail -n 8 "$logdir/static.log" | head -3; else cat "$logdir/static.log"; fi
count_node "$logdir/static.log"

step "unit tests under ASan/UBSan"
mkdir -p build-asan
[ -f build-asan/Makefile ] || (cd build-asan && ../configure --enable-sanitizers --enable-test-hooks --enable-werror >/dev/null)
if ! ASAN_OPTIONS=detect_leaks=1 make -C build-asan -j2 all > "$logdir/asan-build.log" 2>&1 || ! ASAN_OPTIONS=detect_leaks=1 make -C build-asan -j2 check > "$logdir/unit-asan.log" 2>&1; then
  cat "$logdir/unit-asan.log"; cat build-asan/test-suite.log 2>/dev/null || true
  echo "tests: $passed passed, 1 failed"; exit 1
fi
grep -E '^# (PASS|FAIL|ERROR)' "$logdir/unit-asan.log" || true
count_make_check "$logdir/unit-asan.log"

step "build and unit tests with clang -Wall -Wextra -Werror"
mkdir -p build-clang
[ -f build-clang/Makefile ] || (cd build-clang && CC=clang ../configure --enable-werror >/dev/null)
if ! make -C build-clang -j2 all > "$logdir/clang-build.log" 2>&1 || ! make -C build-clang -j2 check > "$logdir/unit-clang.log" 2>&1; then
  cat "$logdir/clang-build.log" "$logdir/unit-clang.log" 2>/dev/null | tail -60
  echo "tests: $passed passed, 1 failed"; exit 1
fi
grep -E '^# (PASS|FAIL|ERROR)' "$logdir/unit-clang.log" || true
count_make_check "$logdir/unit-clang.log"

step "fuzz smoke (${ALX_FUZZ_SECONDS:-10} s per target)"
if make -C fuzz run FUZZ_SECONDS="${ALX_FUZZ_SECONDS:-10}" > "$logdir/fuzz.log" 2>&1; then
  grep '^fuzz:' "$logdir/fuzz.log"
  passed=$((passed + $(grep -c 'number_of_executed_units' "$logdir/fuzz.log")))
else
  cat "$logdir/fuzz.log"; failed=$((failed + 1))
fi

run_e2e() {   # name, files (a directory or a glob), then env assignments
  local name=$1 files=$2 start=$SECONDS; shift 2
  step "end to end: $name"
  # shellcheck disable=SC2086 # the glob is meant to expand
  if env "$@" node --test --test-concurrency=1 $files > "$logdir/e2e-$name.log" 2>&1; then
    tail -n 9 "$logdir/e2e-$name.log"
  else
    # a failed before/after hook (the error-log checks) is not in "# fail":
    # node's exit status says it
    grep -vE '^ *# Subtest|^ *ok |^ *duration_ms|^ *\.\.\.$|^ *---$' "$logdir/e2e-$name.log" | tail -n 150
    failed=$((failed + 1))
  fi
  count_node "$logdir/e2e-$name.log"
  grep -qE '^# fail 0$' "$logdir/e2e-$name.log" || failed=$((failed > 0 ? failed : 1))
  echo "($name: $((SECONDS - start)) s)"
}

run_e2e event t/e2e/ ALX_MPM=event
run_e2e prefork t/e2e/ ALX_MPM=prefork
run_e2e asan t/e2e/ ALX_MPM=event ALX_TEST_HOOKS=1 ALX_MODULE="$root/build-asan/.libs/mod_alexalink.so" \
  ALX_PRELOAD="$(gcc -print-file-name=libasan.so)"
# the refresh-grace files, the authorization flows (their own dbm file) and
# the status page again with the store in a dbm file, a redis-server and a
# memcached (t/lib/apache.mjs starts them), and the heavy grace files under
# prefork on redis and memcache. The files whose stores are their own (grace-config,
# -fleet, -store-dump, -store-size) run on dbm only: a default store
# changes nothing for them. README "Development" has the table.
on_stores="t/e2e/grace-concurrency.test.mjs t/e2e/grace-edges.test.mjs t/e2e/grace-faults.test.mjs \
  t/e2e/grace-graceful.test.mjs t/e2e/grace-mutex.test.mjs t/e2e/grace-oidc.test.mjs \
  t/e2e/grace-rotation.test.mjs t/e2e/grace-stores.test.mjs t/e2e/authorize.test.mjs t/e2e/status.test.mjs"
heavy="t/e2e/grace-concurrency.test.mjs t/e2e/grace-faults.test.mjs t/e2e/grace-rotation.test.mjs t/e2e/grace-edges.test.mjs"
run_e2e dbm "t/e2e/grace-*.test.mjs t/e2e/authorize.test.mjs t/e2e/status.test.mjs" ALX_MPM=event ALX_CACHE=dbm
run_e2e redis "$on_stores" ALX_MPM=event ALX_CACHE=redis
run_e2e memcache "$on_stores" ALX_MPM=event ALX_CACHE=memcache
run_e2e redis-prefork "$heavy" ALX_MPM=prefork ALX_CACHE=redis
run_e2e memcache-prefork "$heavy" ALX_MPM=prefork ALX_CACHE=memcache

# the Debian package: build, lintian, distcheck, install, one exchange, purge
# (it installs into the machine's apache2 and puts it back as it was)
step "Debian package"
if node --test --test-concurrency=1 t/package/ > "$logdir/package.log" 2>&1; then
  tail -n 9 "$logdir/package.log"
else
  grep -vE '^ *# Subtest|^ *ok |^ *duration_ms|^ *\.\.\.$|^ *---$' "$logdir/package.log" | tail -n 80
  failed=$((failed + 1))
fi
count_node "$logdir/package.log"

echo
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
