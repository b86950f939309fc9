#!/usr/bin/env bash
# Builds the libFuzzer targets of test/fuzz (build-fuzz: clang, ASan+UBSan, -DCHAINFS_FUZZ=ON),
# makes their seed corpora, and runs each target for a bounded time. test/fuzz/README.md says
# what each target takes and how findings become fixes.
#   scripts/fuzz.sh [-t SECONDS] [-n] [-b] [TARGET...]   (default: 30 s per target, every target;
#                                                   -n: no configure/build, use build-fuzz as is;
#                                                   -b: build every target, then stop)
# -b builds the libraries and tools too, not only what the fuzzers link: the build is clang's,
# with -Wthread-safety -Werror, so it is also the check of the lock annotations (scripts/test.sh).
# Per target: the committed corpus test/fuzz/corpus/TARGET (every input that ever found a
# bug) is replayed first, then the target fuzzes from it and from build-fuzz/corpus/TARGET
# (the generated seeds plus what earlier runs added; kept between runs). A crash, sanitizer
# report, timeout (10 s for one input) or out-of-memory (2 GiB) leaves the input in
# build-fuzz/findings/TARGET/ and counts the target failed. One summary line per target
# (executions, coverage, corpus, findings), then "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=30 build_first=1 build_target=chainfs_fuzzers
while getopts "t:nb" o; do
  case $o in
    t) seconds=$OPTARG ;;
    n) build_first=0 ;;
    b) build_target=all ;;
    *) echo "usage: scripts/fuzz.sh [-t SECONDS] [-n] [-b] [TARGET...]" >&2; exit 1 ;;
  esac
done
shift $((OPTIND - 1))
all=(format_superblock format_inode format_dirent format_xattr format_bitmap format_journal btree_node meta_mount fsck_check)
targets=("${@:-${all[@]}}")
build=${FUZZ_BUILD_DIR:-build-fuzz}

if [ "$build_first" = 1 ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DCHAINFS_FUZZ=ON \
    -DCHAINFS_TESTS=OFF $(command -v ccache >/dev/null && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache) >/dev/null || exit 1
  cmake --build "$build" -j "${JOBS:-2}" --target "$build_target" || { echo "fuzz build failed"; echo "0 passed, 1 failed"; exit 1; }
fi
[ "$build_target" = all ] && exit 0
if [ ! -d "$build/corpus" ]; then
  "$build/test/fuzz/chainfs-fuzz-seeds" "$build/corpus.new" >/dev/null && mv "$build/corpus.new" "$build/corpus" || {
    echo "seed generation failed"; echo "0 passed, 1 failed"; exit 1; }
fi

passed=0 failed=0
for t in "${targets[@]}"; do
  bin=$build/test/fuzz/${t}_fuzz
  committed=test/fuzz/corpus/$t
  rm -rf "$build/findings/$t"
  mkdir -p "$build/corpus/$t" "$build/findings/$t" "$committed"
  log=$build/findings/$t.log
  # The image targets take sparse images of up to a few MiB; the decoders one block and a head.
  case $t in meta_mount|fsck_check) max_len=1048576 ;; *) max_len=4200 ;; esac
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len=$max_len \
      -print_final_stats=1 -artifact_prefix="$build/findings/$t/" "$build/corpus/$t" "$committed" >"$log" 2>&1
  rc=$?
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
  ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
  corp=$(grep -oE 'corp: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
  found=$(find "$build/findings/$t" -type f | wc -l)
  printf '%-18s %9s execs in %ss, cov %s, ft %s, corpus %s, findings %s\n' "$t" "${execs:-?}" "$seconds" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$found"
  if [ "$rc" = 0 ] && [ "$found" = 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "  $t failed (exit $rc): see $log"; grep -m3 -E 'ERROR|SUMMARY|invariant' "$log" | sed 's/^/  /'
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
