#!/usr/bin/env bash
# Removes what a crashed or killed test process left behind (a crash, or ctest's kill at a
# timeout, skips the RAII destructors): mounts on, daemons for, loop devices of, and files of
# the test library (SCRATCH/chainfs-{mnt,test}-PID-*) and of chainfs-bench
# (/tmp/chainfs-bench-mnt-PID-*, SCRATCH/chainfs-bench-PID*.img, /tmp/chainfs-bench-nbd-PID-*)
# whose PID no longer runs. Resources of live processes are never touched.
# Usage: cleanup.sh [SCRATCH_DIR]   (default $CHAINFS_TEST_DIR or /var/tmp)
set -u
shopt -s nullglob
dir=${1:-${CHAINFS_TEST_DIR:-/var/tmp}}
dead() { [[ $1 =~ ^[0-9]+$ ]] && [ ! -d "/proc/$1" ]; }  # a name without a PID is not ours
pid_of() { sed -E 's/^chainfs-(mnt|test|bench-mnt|bench-nbd|bench)-([0-9]+)[-.].*/\2/' <<<"$(basename "$1")"; }
# From the mount table: stat(2), and so mountpoint(1) and test -e, fail with ENOTCONN on
# the mount of a daemon that died, which is what a crash leaves.
mounted() { awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/self/mounts; }
found=0
for m in "$dir"/chainfs-mnt-* /tmp/chainfs-bench-mnt-*; do
  dead "$(pid_of "$m")" || continue
  found=1
  if mounted "$m"; then
    echo "cleanup: unmounting $m"
    umount "$m" 2>/dev/null || umount -l "$m"
  fi
  for p in $(pgrep -f "^[^ ]*chainfs .* $m( |$)" || true); do
    for _ in $(seq 50); do [ -d "/proc/$p" ] || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  rmdir "$m" 2>/dev/null || true
done
for img in "$dir"/chainfs-test-*.img "$dir"/chainfs-bench-*.img; do
  dead "$(pid_of "$img")" || continue
  found=1
  for loop in $(losetup -j "$img" -O NAME -n 2>/dev/null); do
    echo "cleanup: detaching $loop ($img)"
    losetup -d "$loop" || true
  done
  rm -f "$img"
done
for d in /tmp/chainfs-bench-nbd-*; do  # nbdkit's socket (nbdkit exits with the bench)
  dead "$(pid_of "$d")" || continue
  found=1
  rm -rf "$d"
done
[ "$found" = 0 ] && echo "cleanup: nothing left behind"
exit 0
