#!/usr/bin/env bash
# fsck.chainfs refuses a device another process holds exclusively (a mounted chainfs: the
# daemon keeps an flock on it), with one line and exit 8, after its bounded wait.
# busy_test.sh FSCK MKIMAGE
set -u
fsck=$1 mkimage=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$mkimage" "$tmp/busy.img" new 16 || exit 1
out=$(flock -x "$tmp/busy.img" "$fsck" -n "$tmp/busy.img" 2>&1)
rc=$?
echo "$out"
[ $rc = 8 ] || { echo "expected exit 8, got $rc"; exit 1; }
grep -q "is in use (mounted?): refusing to check it" <<<"$out" || { echo "expected the in-use line"; exit 1; }
# Once released, the same image checks clean.
"$fsck" -n "$tmp/busy.img" || { echo "not clean once released"; exit 1; }
