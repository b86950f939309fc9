#!/bin/bash
# What an fsync costs on chainfs against kernel ext4, on one loop device (direct I/O over a
# sparse image file) in one run:
#   append   N times: write 4 KiB at the end of one file, fsync it
#   files    FILES times: create a file, write 4 KiB, fsync it, close it (one directory)
# Prints ops/s for each target and chainfs / ext4. A benchmark: nothing is asserted.
#
#   test/perf/fsync_cost.sh [BUILD_DIR]     (binaries from BUILD_DIR, else from PATH)
#   N=2000 FILES=10000 SIZE=2G OPTS=cache=direct  (extra chainfs mount options)
# Needs root, losetup, mkfs.ext4, python3. Everything it creates is removed on any exit.
set -euo pipefail

build=${1:-}
bin() {  # bin NAME SUBDIR: the binary from the build directory, else from PATH
  if [[ -n $build && -x $build/tools/$2/$1 ]]; then echo "$build/tools/$2/$1"; else command -v "$1" || true; fi
}
CHAINFS=$(bin chainfs chainfs)
MKFS=$(bin mkfs.chainfs mkfs)
N=${N:-2000}
FILES=${FILES:-10000}
SIZE=${SIZE:-2G}
OPTS=${OPTS:-}

die() { echo "fsync_cost.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (losetup, mount)"
[[ -n $CHAINFS && -n $MKFS ]] || die "chainfs and mkfs.chainfs not found (give the build directory)"

work=$(mktemp -d /var/tmp/fsync_cost.XXXXXX)
img=$work/img mnt=$work/mnt loop=
mkdir -p "$mnt"
cleanup() {
  mountpoint -q "$mnt" && { umount "$mnt" || umount -l "$mnt"; }
  [[ -n $loop ]] && losetup -d "$loop" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
truncate -s "$SIZE" "$img"
loop=$(losetup -f --show --direct-io=on "$img")

# run_loops: the two workloads in $mnt; prints "append OPS files OPS".
run_loops() {
  python3 - "$mnt" "$N" "$FILES" <<'EOF'
import os, sys, time
mnt, n, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
buf = b"x" * 4096
fd = os.open(os.path.join(mnt, "append"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
t = time.monotonic()
for _ in range(n):
    os.write(fd, buf)
    os.fsync(fd)
append = n / (time.monotonic() - t)
os.close(fd)
d = os.path.join(mnt, "d")
os.mkdir(d)
t = time.monotonic()
for i in range(files):
    fd = os.open(os.path.join(d, "f%d" % i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, buf)
    os.fsync(fd)
    os.close(fd)
print("append %.0f files %.0f" % (append, files / (time.monotonic() - t)))
EOF
}

declare -A result
mkfs.ext4 -q -F "$loop"
mount "$loop" "$mnt"
result[ext4]=$(run_loops)
umount "$mnt"
"$MKFS" -f -q "$loop"
"$CHAINFS" "$loop" "$mnt" ${OPTS:+-o "$OPTS"}
result[chainfs]=$(run_loops)
umount "$mnt"

printf '%-10s %14s %14s\n' target "append+fsync/s" "create+fsync/s"
for t in ext4 chainfs; do
  read -r _ a _ f <<<"${result[$t]}"
  printf '%-10s %14s %14s\n' "$t" "$a" "$f"
done
read -r _ ea _ ef <<<"${result[ext4]}"
read -r _ ca _ cf <<<"${result[chainfs]}"
awk -v ea="$ea" -v ef="$ef" -v ca="$ca" -v cf="$cf" \
  'BEGIN { printf "%-10s %13.2fx %13.2fx\n", "chainfs/ext4", ca / ea, cf / ef }'
