#!/usr/bin/env bash
# One fsck golden case, e2fsprogs style (tests/f_*): run.sh CASE_DIR FSCK MKIMAGE
#   CASE_DIR/script     makes the image: bash, with $IMAGE (the file to make) and $MKIMAGE
#                       (the chainfs-mkimage helper) in the environment
#   CASE_DIR/expect     what `fsck.chainfs -n test.img` prints (stdout and stderr), then
#                       "Exit status is N"
#   CASE_DIR/expect.fix optional: the same for `fsck.chainfs -y`, after which a second
#                       `fsck.chainfs -n` must find the image clean (exit 0, and nothing
#                       printed but the "clean" summary line: no problem, no note)
# With FSCK_IMAGES_UPDATE=1 the expect files are rewritten from this run (then review them).
set -u
dir=$(cd "$1" && pwd) fsck=$(realpath "$2") mkimage=$(realpath "$3")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CHAINFS_NO_PROGRESS=1
if ! IMAGE=$tmp/test.img MKIMAGE=$mkimage bash "$dir/script" >"$tmp/script.log" 2>&1; then
  echo "$(basename "$dir"): script failed:"; cat "$tmp/script.log"; exit 1
fi
cd "$tmp" || exit 1
status=0
# run_fsck OPTION EXPECT_FILE
run_fsck() {
  "$fsck" "$1" test.img >"raw$1" 2>&1
  local rc=$?
  # Checksums depend on the uuid and times mkfs wrote, block numbers and usage counts on the
  # allocator of the day: none of them is part of the expected text (objects are named by
  # inode number; the unit tests check blocks and counts).
  sed -E -e 's/stored [0-9a-f]{8}, computed [0-9a-f]{8}/stored X, computed Y/g' \
    -e 's#, [0-9]+/[0-9]+ inodes, [0-9]+/[0-9]+ blocks$#, I/I inodes, B/B blocks#' \
    -e 's/\b(blocks?|node) [0-9]+(-[0-9]+)?/\1 B/g' \
    -e 's/count is [0-9]+, the bitmap has [0-9]+ free/count is N, the bitmap has M free/' "raw$1" >"out$1"
  echo "Exit status is $rc" >>"out$1"
  if [ "${FSCK_IMAGES_UPDATE:-0}" = 1 ]; then cp "out$1" "$dir/$2"; return; fi
  if ! diff -u "$dir/$2" "out$1"; then echo "$(basename "$dir"): fsck $1 output differs from $2"; status=1; fi
}
run_fsck -n expect
if [ -f "$dir/expect.fix" ]; then
  run_fsck -y expect.fix
  "$fsck" -n test.img >after 2>&1
  rc=$?
  if [ $rc != 0 ] || [ "$(grep -vc '^test.img: clean, ' after)" != 0 ]; then
    echo "$(basename "$dir"): not clean after fsck -y (exit $rc):"; cat after; status=1
  fi
fi
exit $status
