#!/usr/bin/env bash
# Runs the real fstests against chainfs on two loop devices, then fsck's both devices.
#
#   test/fstests/run-fstests.sh FSTESTS_DIR [check arguments...]    (default: -g quick)
#
# FSTESTS_DIR is a built fstests checkout (see README.md). Images live in $WORK (default
# /var/tmp/chainfs-fstests); the loop devices are detached and images removed at the end, also
# on failure or ^C. CHAINFS_OPTS adds mount options (e.g. cache=direct). Needs root and an
# installed chainfs (scripts/build.sh). TEST_DIR and SCRATCH_MNT (default /mnt/test, /mnt/scratch)
# set the mount points; two runs in parallel need two fstests trees, WORK dirs and mount points.
set -uo pipefail
[ $# -ge 1 ] || { sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run-fstests.sh: run as root" >&2; exit 1; }
fstests=$(cd "$1" && pwd) || exit 1; shift
[ -x "$fstests/check" ] || { echo "run-fstests.sh: $fstests/check not found" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
work=${WORK:-/var/tmp/chainfs-fstests}
size=${SIZE:-4G}
test_dir=${TEST_DIR:-/mnt/test}
scratch_mnt=${SCRATCH_MNT:-/mnt/scratch}
mkdir -p "$work" "$test_dir" "$scratch_mnt"

test_dev= scratch_dev=
cleanup() {
  for m in "$test_dir" "$scratch_mnt"; do mountpoint -q "$m" && umount "$m"; done
  for d in $test_dev $scratch_dev; do
    for _ in $(seq 1 100); do fuser -s "$d" 2>/dev/null || break; sleep 0.1; done
    losetup -d "$d"
  done
  rm -f "$work/test.img" "$work/scratch.img"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

truncate -s "$size" "$work/test.img" "$work/scratch.img"
test_dev=$(losetup -f --show "$work/test.img") || exit 1
scratch_dev=$(losetup -f --show "$work/scratch.img") || exit 1
mkfs.chainfs -f -q "$test_dev" && mkfs.chainfs -f -q "$scratch_dev" || exit 1

# fstests' tests run as these users and group.
for g in fsgqa fsgqa2; do getent group "$g" >/dev/null || groupadd "$g"; done
for u in fsgqa fsgqa2 123456-fsgqa; do id "$u" >/dev/null 2>&1 || useradd -m -g fsgqa "$u"; done

cp "$here/local.config" "$fstests/local.config"
[ $# -gt 0 ] || set -- -g quick
check() {
  (cd "$fstests" && TEST_DEV=$test_dev SCRATCH_DEV=$scratch_dev TEST_DIR=$test_dir SCRATCH_MNT=$scratch_mnt \
    ./check "$@")
}

# Tests that overwrite the scratch device itself: generic/570 makes it a swap device,
# generic/740 runs other filesystems' mkfs on it. fstests makes no filesystem for fuse, so every
# scratch test after one of them would fail: each one selected runs alone first, followed by a
# fresh mkfs.chainfs of the scratch device, and the rest runs without them.
scratch_wipers="generic/570 generic/740"
selects() {  # selects TEST CHECK-ARGS...: whether the arguments select TEST (by name or group)
  local t=$1 groups; shift
  groups=" $(sed -n 's/^_begin_fstest //p' "$fstests/tests/$t" 2>/dev/null) "
  while [ $# -gt 0 ]; do
    case $1 in
      "$t") return 0 ;;
      -g) shift; for g in ${1//,/ }; do [[ $groups == *" $g "* ]] && return 0; done ;;
    esac
    shift
  done
  return 1
}
rc=0
for t in $scratch_wipers; do
  selects "$t" "$@" || continue
  check "$t" || rc=1
  mkfs.chainfs -f -q "$scratch_dev" || exit 1
  set -- -e "$t" "$@"  # check takes options only before test names
done
check "$@" || rc=1
for m in "$test_dir" "$scratch_mnt"; do mountpoint -q "$m" && umount "$m"; done
for d in $test_dev $scratch_dev; do
  for _ in $(seq 1 100); do fuser -s "$d" 2>/dev/null || break; sleep 0.1; done
  if command -v fsck.chainfs >/dev/null; then
    fsck.chainfs -n "$d" || { echo "fsck.chainfs: $d is inconsistent"; rc=1; }
  fi
done
exit $rc
