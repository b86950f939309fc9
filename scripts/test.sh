#!/usr/bin/env bash
# Every test of chainfs on a fresh Debian 12 machine, as root: installs dependencies,
# checks that includes follow the layers, builds, runs the unit and integration tests
# (ctest), the unit tests again under ASan+UBSan and the threaded ones under TSan, the
# regression suite's quick group on a real mount (over /dev/fuse and over io_uring), a
# clang build that checks the lock annotations, and every fuzz target for a short while.
# Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (tests mount filesystems and attach loop devices)" >&2; exit 1; }
./scripts/deps.sh || exit 1

passed=0 failed=0
logdir=${TEST_LOG_DIR:-build/test-logs}
mkdir -p "$logdir"

# count_ctest LOG: adds ctest's "N tests failed out of M" to the totals.
count_ctest() {
  local line total bad
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$1" | tail -1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  bad=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + total - bad)); failed=$((failed + bad))
}

# count_summary LOG: adds a "N passed, N failed" summary line (regression suite, fuzzing).
count_summary() {
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  if [ -n "$line" ]; then
    passed=$((passed + $(cut -d' ' -f1 <<<"$line")))
    failed=$((failed + $(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")))
  else
    failed=$((failed + 1))
  fi
}

stage() { echo; echo "=== $* ($(date +%T))"; }
# Sanitizer builds at -O1: faster to compile, still fast enough to run, the usual sanitizer setting.
san_flags=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g")

stage "layers: every include follows the layer order"
if ./scripts/check-layers.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

stage "build (RelWithDebInfo, -Werror) and install"
if ! ./scripts/build.sh; then echo "build failed"; echo "0 passed, 1 failed"; exit 1; fi

stage "unit and integration tests"
ctest --test-dir build --output-on-failure -j 2 --timeout 900 2>&1 | tee "$logdir/ctest.log"
count_ctest "$logdir/ctest.log"

stage "unit tests under ASan+UBSan"
if BUILD_DIR=build-asan NO_INSTALL=1 TARGET=chainfs_unit_tests ./scripts/build.sh -DCHAINFS_SANITIZE=address "${san_flags[@]}"; then
  ctest --test-dir build-asan -L unit --output-on-failure -j 2 --timeout 900 2>&1 | tee "$logdir/asan.log"
  count_ctest "$logdir/asan.log"
else
  failed=$((failed + 1))
fi

stage "threaded unit tests under TSan"
if BUILD_DIR=build-tsan NO_INSTALL=1 TARGET=chainfs_unit_tests ./scripts/build.sh -DCHAINFS_SANITIZE=thread "${san_flags[@]}"; then
  TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan -L tsan --output-on-failure --timeout 900 2>&1 \
    | tee "$logdir/tsan.log"
  if grep -q 'No tests were found' "$logdir/tsan.log"; then :; else count_ctest "$logdir/tsan.log"; fi
else
  failed=$((failed + 1))
fi

if [ -x test/regress/check ]; then
  stage "regression suite, quick group, on chainfs"
  (cd test/regress && FSTYP=chainfs REGRESS_TIMEOUT=300 ./check -g quick) 2>&1 | tee "$logdir/regress.log"
  count_summary "$logdir/regress.log"
  # The same group over FUSE-over-io_uring, where the kernel has it (enable_uring is turned
  # on for the run and put back after, also when the run is interrupted).
  if [ -e /sys/module/fuse/parameters/enable_uring ]; then
    stage "regression suite, quick group, on chainfs with transport=uring"
    trap 'test/lib/enable_uring.sh restore' EXIT
    if test/lib/enable_uring.sh on; then
      (cd test/regress && FSTYP=chainfs REGRESS_TIMEOUT=300 MOUNT_OPTIONS="-o transport=uring" \
        TEST_FS_MOUNT_OPTS="-o transport=uring" ./check -g quick) 2>&1 | tee "$logdir/regress-uring.log"
      count_summary "$logdir/regress-uring.log"
    else
      failed=$((failed + 1))
    fi
    test/lib/enable_uring.sh restore
    trap - EXIT
  fi
fi

# clang builds every library and tool with -Wthread-safety -Werror, which checks the lock
# annotations (base/thread_annotations.h). It is the fuzz build (build-fuzz), built in full, so
# the fuzzing stage below has nothing left to build.
stage "clang build with -Wthread-safety -Werror: every library and tool (build-fuzz)"
if ./scripts/fuzz.sh -b 2>&1 | tee "$logdir/clang.log"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

# Each libFuzzer target for a bounded time (test/fuzz/README.md has the long run); one count
# per target, failed on any finding.
stage "fuzzing: every target ${FUZZ_SECONDS:-20} s under ASan+UBSan"
./scripts/fuzz.sh -t "${FUZZ_SECONDS:-20}" 2>&1 | tee "$logdir/fuzz.log"
count_summary "$logdir/fuzz.log"

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
