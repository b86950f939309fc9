#!/usr/bin/env bash
# Checks the layering of the tree: every '#include "..."' of a source or header file names a
# layer its own layer is built on (or its own), and the libraries whose use is confined to
# one layer (libfuse, liburing, libnbd) are included only there. Prints one line per offending
# include and exits 1 when there is any; scripts/test.sh runs it before building.
#
# The layers, each with the layers it is built on directly (the rest follows):
#   base      shared leaf: base/ (the logging hook, Result<T> and negative errno)
#   mem       page pool                          <- base
#   io        devices, bios, completion          <- mem
#   fs/format the on-disk format                 <- base
#   fs/btree  the on-disk B+tree                 <- fs/format
#   fs/cache  the page cache                     <- io
#   fs/meta   the metadata layer, Filesystem     <- fs/btree fs/cache
#   fs/fuse   the FUSE request layer             <- fs/meta
#   tools/common  what every binary shares       <- base
#   tools/NAME    one binary (or a set of them)  <- fs/fuse tools/common, never another tool,
#                 except tools/crashcheck <- tools/fsck (the crash checker runs the fsck library)
# Tests: test/LAYER/... may include what LAYER may, LAYER itself, test/lib and their own folder;
# test/lib stands alone; the end-to-end tests (test/integration, test/regress) may use any
# layer but no tool's internals except through test/lib, and test/integration the crash checker.
# test/fuzz (the libFuzzer targets) may use any layer, the fsck library and the fsck test images.
# liburing: io/, fs/fuse (FUSE-over-io_uring is the FUSE wire) and test/regress (applications'
# io_uring I/O). libnbd: io/ only (the NBD device).
set -euo pipefail
cd "$(dirname "$0")/.."

files=$(git ls-files --cached --others --exclude-standard -- '*.h' '*.hpp' '*.cc' '*.cpp' | sort)
# One awk over every include line ("file:line:text"), with the list of files first.
{ printf '%s\n' "$files" | sed 's/^/FILE /'; printf '%s\n' "$files" | xargs grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' /dev/null; } |
awk '
BEGIN {
  deps["base"] = ""
  deps["mem"] = "base"
  deps["io"] = "mem"
  deps["fs/format"] = "base"
  deps["fs/btree"] = "fs/format"
  deps["fs/cache"] = "io"
  deps["fs/meta"] = "fs/btree fs/cache"
  deps["fs/fuse"] = "fs/meta"
  deps["tools/common"] = "base generated"
  deps["generated"] = ""
  source_layers = "fs/fuse fs/meta fs/cache fs/btree fs/format io mem base"
  bad = 0
}
# The layer of a path of the tree or an included name; "" if none.
function layer_of(p,   f, n) {
  n = split(p, f, "/")
  if (p ~ /^base\//) return "base"
  if (p ~ /^(mem|io)\//) return f[1]
  if (p ~ /^fs\/(format|btree|cache|meta|fuse)\//) return f[1] "/" f[2]
  if (p ~ /^tools\/[^\/]+\//) return "tools/" f[2]
  if (p == "chainfs/version.h") return "generated"
  if (p ~ /^test\/(fs|tools)\/[^\/]+\//) return "test/" f[2] "/" f[3]
  if (p ~ /^test\/[^\/]+\//) return "test/" f[2]
  return ""
}
function closure(l,   out, d, i, n) {
  if (l in closure_memo) return closure_memo[l]
  out = " " l " "
  n = split(deps[l], d, " ")
  for (i = 1; i <= n; i++) out = out closure(d[i]) " "
  closure_memo[l] = out
  return out
}
# The layers a file of layer l may include, as " a b c ".
function allowed(l,   s) {
  if (l == "tools/common") return closure(l)
  if (l == "tools/crashcheck") return " " l " tools/fsck tools/common generated " closure("fs/fuse")
  if (l ~ /^tools\//) return " " l " tools/common generated " closure("fs/fuse")
  if (l == "test/lib") return " test/lib "
  if (l == "test/integration") return " " l " test/lib tools/crashcheck tools/fsck " source_layers " "
  if (l == "test/fuzz") return " " l " test/tools/fsck tools/fsck " source_layers " "
  if (l == "test/regress") return " " l " test/lib " source_layers " "
  if (l ~ /^test\//) { s = substr(l, 6); return " " l " test/lib " allowed(s) }
  return closure(l)
}
function dirname(p) { sub(/\/[^\/]*$/, "", p); return p }
$1 == "FILE" { exists[$2] = 1; next }
{
  file = $0; sub(/:.*/, "", file)
  rest = substr($0, length(file) + 2)
  line = rest; sub(/:.*/, "", line)
  text = substr(rest, length(line) + 2)
  own = layer_of(file)
  if (own == "") next
  if (text ~ /include[[:space:]]*</) {
    if (text ~ /<fuse/ && own !~ /^(test\/)?(fs\/fuse|tools\/chainfs)$/) {
      print file ":" line ": libfuse is for fs/fuse and tools/chainfs only"; bad = 1
    }
    if (text ~ /<liburing/ && own !~ /^(test\/)?(io|fs\/fuse)$/ && own != "test/regress") {
      print file ":" line ": liburing is for io/, fs/fuse and test/regress only"; bad = 1
    }
    if (text ~ /<libnbd/ && own !~ /^(test\/)?io$/) {
      print file ":" line ": libnbd is for io/ only"; bad = 1
    }
    next
  }
  inc = text; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
  if (!(inc in exists) && ((dirname(file) "/" inc) in exists)) next  # the file'"'"'s own folder
  target = layer_of(inc)
  if (target == "") { print file ":" line ": includes \"" inc "\", which is in no layer"; bad = 1; next }
  if (index(allowed(own), " " target " ") == 0) {
    print file ":" line ": " own " includes " target " (\"" inc "\"), a layer " own " is not built on"; bad = 1
  }
}
END { exit bad }
' || { echo "check-layers: includes that run against the layers (the order is at the top of scripts/check-layers.sh)" >&2; exit 1; }
echo "check-layers: every include follows the layers"
