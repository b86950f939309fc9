// Mounts a mutated image in memory and walks it the way an application would: readdir,
// lookup, getattr, readlink, read, listxattr and getxattr of everything reachable, then
// unmounts. Whatever the image holds, every call returns a value or an errno.
// Input: a sparse image (fuzz_input.h). Flag bit 1: mount read-write (journal replay,
// orphan cleanup and the unmount's writes run too); else read-only.
#include <cerrno>
#include <deque>
#include <string>
#include <vector>

#include "fs/cache/engine_config.h"
#include "fs/meta/filesystem.h"
#include "io/borrowed_device.h"
#include "test/fuzz/fuzz_input.h"

using namespace chainfs;

namespace {

constexpr int kMaxEntries = 512;   // entries visited per run
constexpr size_t kMaxRead = 1 << 16;

void visit(fs::Filesystem& f, fs::Ino ino, const fs::Attr& a, std::vector<char>& buf) {
  if (auto g = f.getattr(ino); g) FUZZ_CHECK(g->ino == ino);
  if (S_ISLNK(a.mode)) {
    if (auto t = f.readlink(ino); t) FUZZ_CHECK(!t->empty());
  } else if (S_ISREG(a.mode) && f.open(ino) == 0) {
    for (uint64_t off = 0; off < kMaxRead;) {
      auto n = f.read(ino, off, buf.size(), buf.data());
      if (!n || *n == 0) break;
      FUZZ_CHECK(*n <= buf.size());
      off += *n;
    }
    f.release(ino);
  }
  char names[4096];
  auto x = f.listxattr(ino, names, sizeof names);
  if (!x) return;
  FUZZ_CHECK(*x <= sizeof names);
  for (size_t off = 0; off < *x;) {
    std::string name(names + off);
    off += name.size() + 1;
    auto len = f.getxattr(ino, name, nullptr, 0);
    if (len) (void)f.getxattr(ino, name, buf.data(), buf.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto img = fuzz::decode_sparse(data, size);
  fs::MountOptions mo;
  mo.read_only = !(img.flags & 2);
  mo.flush_interval_s = 3600;
  auto engine = std::make_shared<cache::EngineConfig>();
  engine->pool.byte_cap = 8 << 20;
  mo.engine = engine;
  std::string msg;
  auto m = fs::mount_filesystem(std::make_unique<io::BorrowedDevice>(*img.dev), mo, &msg);
  if (!m) {
    FUZZ_CHECK(m.err() < 0);
    return 0;
  }
  fs::Filesystem& f = **m;
  std::vector<char> buf(kMaxRead);
  std::deque<fs::Ino> dirs{fs::kRootIno};
  int budget = kMaxEntries;
  (void)f.statfs();
  while (!dirs.empty() && budget > 0) {
    fs::Ino dir = dirs.front();
    dirs.pop_front();
    std::vector<std::string> names;
    (void)f.readdir(dir, 0, [&](const fs::DirEntry& de) {
      if (de.name != "." && de.name != "..") names.emplace_back(de.name);
      return --budget > 0;
    });
    for (const std::string& name : names) {
      auto a = f.lookup(dir, name);
      if (!a) continue;
      visit(f, a->ino, *a, buf);
      if (S_ISDIR(a->mode)) dirs.push_back(a->ino);
      f.forget(a->ino, 1);
    }
  }
  (void)f.unmount();
  return 0;
}
