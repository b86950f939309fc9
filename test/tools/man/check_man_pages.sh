#!/usr/bin/env bash
# Renders every man page of the tools with man(1) and fails on any troff or man warning.
#   check_man_pages.sh PAGE...
set -u
rc=0
for page in "$@"; do
  [ -s "$page" ] || { echo "missing man page: $page"; rc=1; continue; }
  out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
  if [ -n "$out" ]; then
    echo "$page:"; echo "$out"; rc=1
  fi
  # The page names itself and has the sections a reader looks for.
  for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
    grep -q "^\.SH \"\?$s\"\?$" "$page" || { echo "$page: no $s section"; rc=1; }
  done
done
exit $rc
