// Runs the consistency check (tools/fsck's library) on a mutated image in memory.
// Input: a sparse image (fuzz_input.h). Flag bit 1: repair, then check the repaired image
// once more; else the read-only check.
#include <cerrno>

#include "test/fuzz/fuzz_input.h"
#include "tools/fsck/check.h"

using namespace chainfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto img = fuzz::decode_sparse(data, size);
  fsck::CheckOptions o;
  o.repair = img.flags & 2;
  fsck::CheckResult r = fsck::check_filesystem(*img.dev, o);
  FUZZ_CHECK(r.status <= 0);
  FUZZ_CHECK(r.status == 0 || !r.error.empty());
  const int code = r.exit_code();
  FUZZ_CHECK(code == 0 || code == 1 || code == 4 || code == 8);
  if (o.repair && r.status == 0) {
    fsck::CheckOptions again;
    fsck::CheckResult r2 = fsck::check_filesystem(*img.dev, again);
    FUZZ_CHECK(r2.status <= 0);
  }
  return 0;
}
