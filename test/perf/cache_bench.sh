#!/bin/bash
# Runs chainfs-cache-bench (the page cache alone over io_uring, no FUSE) on a fresh loop
# device with direct I/O over a sparse image file; the loop device and the image are removed
# on any exit. Prints the bench's table: throughput, requests and average request size from
# chainfs's IoStats and from /sys/block/loopN/stat.
#   test/perf/cache_bench.sh [BUILD_DIR] [-- bench options...]
# e.g. test/perf/cache_bench.sh build-cache -- --size 268435456 --completion waiter
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
[[ $# -gt 0 ]] && shift
[[ ${1:-} == -- ]] && shift
bench=$build/fs/cache/chainfs-cache-bench
[[ -x $bench ]] || { echo "cache_bench.sh: build the chainfs-cache-bench target in $build first" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "cache_bench.sh: needs root (losetup)" >&2; exit 1; }

img=$(mktemp /var/tmp/chainfs-cache-bench-XXXXXX.img)
loop=
cleanup() {
  [[ -n $loop ]] && losetup -d "$loop" 2>/dev/null || true
  rm -f "$img"
}
trap cleanup EXIT INT TERM
truncate -s 1200M "$img"
loop=$(losetup -f --show --direct-io=on "$img")
name=${loop#/dev/}
echo "device $loop: max_sectors_kb=$(cat /sys/block/$name/queue/max_sectors_kb)" \
  "max_segments=$(cat /sys/block/$name/queue/max_segments) direct_io=$(cat /sys/block/$name/loop/dio 2>/dev/null || echo ?)"
"$bench" "$loop" "$@"
