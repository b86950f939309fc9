#!/usr/bin/env bash
# Checks that clang's -Wthread-safety catches the lock mistakes of thread_safety_violations.cc:
# case 0 (no mistake) must compile cleanly and every other case must fail with a
# thread-safety error. Fails if the annotations went blank under clang or lost their meaning.
#   thread_safety_check.sh CLANGXX SOURCE_ROOT
set -uo pipefail
cxx=$1 root=$2
src=$root/test/base/thread_safety_violations.cc
cases=$(grep -cE '^#(el)?if VIOLATION == [0-9]+' "$src")
compile() { "$cxx" -std=c++20 -fsyntax-only -Wall -Wextra -Wthread-safety -Werror -I"$root" -DVIOLATION="$1" "$src" 2>&1; }
bad=0
if ! out=$(compile 0); then
  echo "case 0 (no mistake) does not compile:"; echo "$out"; bad=1
fi
for ((k = 1; k <= cases; ++k)); do
  if out=$(compile "$k"); then
    echo "case $k compiled: the mistake went unnoticed"; bad=1
  elif ! grep -q -- '-Wthread-safety' <<<"$out"; then
    echo "case $k failed for another reason than the thread-safety analysis:"; echo "$out"; bad=1
  else
    echo "case $k: $(grep -m1 -oE 'error: .*' <<<"$out")"
  fi
done
[ "$bad" = 0 ] && echo "thread-safety analysis: $cases mistakes caught"
exit "$bad"
