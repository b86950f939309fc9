#!/usr/bin/env bash
# Removes what a crashed test process left behind (a crash skips the RAII destructors):
# mounts on, daemons for, loop devices of, and files named scratch/chainfs-{mnt,test}-PID-*
# whose PID no longer runs. Resources of live test processes are never touched.
# Usage: cleanup.sh [SCRATCH_DIR]   (default $CHAINFS_TEST_DIR or /var/tmp)
set -u
dir=${1:-${CHAINFS_TEST_DIR:-/var/tmp}}
dead() { [ ! -d "/proc/$1" ]; }
pid_of() { sed -E 's/^chainfs-(mnt|test)-([0-9]+)-.*/\2/' <<<"$(basename "$1")"; }
found=0
for m in "$dir"/chainfs-mnt-*; do
  [ -e "$m" ] || continue
  dead "$(pid_of "$m")" || continue
  found=1
  if mountpoint -q "$m"; then
    echo "cleanup: unmounting $m"
    umount "$m" 2>/dev/null || umount -l "$m"
  fi
  for p in $(pgrep -f "^[^ ]*chainfs .* $m( |$)" || true); do
    for _ in $(seq 50); do [ -d "/proc/$p" ] || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  rmdir "$m" 2>/dev/null || true
done
for img in "$dir"/chainfs-test-*.img; do
  [ -e "$img" ] || continue
  dead "$(pid_of "$img")" || continue
  found=1
  for loop in $(losetup -j "$img" -O NAME -n 2>/dev/null); do
    echo "cleanup: detaching $loop ($img)"
    losetup -d "$loop" || true
  done
  rm -f "$img"
done
[ "$found" = 0 ] && echo "cleanup: nothing left behind"
exit 0
