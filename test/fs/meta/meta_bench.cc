// meta_bench: timings of the metadata layer on a real image file through io::SyncDevice
// (O_DIRECT): a 4 GiB sequential write (1 MiB writes), then create / lookup / list /
// delete of 100,000 files in one directory. Prints numbers; asserts nothing.
//
//   meta_bench [IMAGE [GIB [FILES]]]    (default /tmp/chainfs-meta-bench.img 4 100000)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fs/meta/extent_map.h"
#include "fs/meta/filesystem.h"
#include "fs/meta/fs_impl.h"
#include "fs/meta/mkfs.h"
#include "io/sync_device.h"
#include "mem/aligned_buffer.h"

using namespace chainfs;
using Clock = std::chrono::steady_clock;

namespace {
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
void die(const char* what, int err) {
  std::fprintf(stderr, "meta_bench: %s: %s\n", what, std::strerror(-err));
  std::exit(1);
}
struct RemoveOnExit {
  std::string path;
  ~RemoveOnExit() { ::unlink(path.c_str()); }
};
}  // namespace

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "/tmp/chainfs-meta-bench.img";
  uint64_t gib = argc > 2 ? std::stoull(argv[2]) : 4;
  int nfiles = argc > 3 ? std::stoi(argv[3]) : 100000;
  RemoveOnExit cleanup{path};
  {
    int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR, 0600);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>((gib + 2) << 30)) != 0) die("create image", -errno);
    ::close(fd);
  }
  std::unique_ptr<io::SyncDevice> dev;
  if (int r = io::SyncDevice::open(path, {}, &dev); r < 0) die("open", r);
  std::string msg;
  fs::MkfsOptions mo;
  mo.inodes = uint64_t(nfiles) + 1000;
  auto t = Clock::now();
  if (int r = fs::make_filesystem(*dev, mo, &msg); r < 0) die(msg.c_str(), r);
  std::printf("mkfs %.2f GiB: %.2fs (direct I/O: %s)\n", double(dev->size_bytes()) / (1 << 30), since(t),
              dev->direct() ? "yes" : "no");
  auto m = fs::mount_filesystem(std::move(dev), {}, &msg);
  if (!m) die(msg.c_str(), m.err());
  fs::Filesystem& f = **m;
  fs::Caller root{0, 0};

  auto file = f.mknod(root, fs::kRootIno, "big", S_IFREG | 0644, 0);
  mem::AlignedBuffer buf(1 << 20);
  std::memset(buf.data(), 0x5a, buf.size());
  t = Clock::now();
  for (uint64_t off = 0; off < (gib << 30); off += buf.size()) {
    auto w = f.write(file->ino, off, buf.data(), buf.size());
    if (!w || *w != buf.size()) die("write", w ? -ENOSPC : w.err());
  }
  double tw = since(t);
  t = Clock::now();
  f.fsync(file->ino, false);
  double tf = since(t);
  auto* impl = dynamic_cast<fs::FilesystemImpl*>(&f);
  format::DiskInode d;
  uint64_t extents = 0;
  if (impl && impl->volume().load_inode(file->ino, &d) == 0) fs::ExtentMap(impl->volume(), file->ino, d).count(&extents);
  std::printf("write %llu GiB sequentially (1 MiB writes): %.2fs = %.0f MiB/s, fsync %.2fs, %llu extent(s)\n",
              static_cast<unsigned long long>(gib), tw, double(gib << 10) / tw, tf,
              static_cast<unsigned long long>(extents));
  std::vector<char> rb(1 << 20);
  t = Clock::now();
  for (uint64_t off = 0; off < (gib << 30); off += rb.size())
    if (!f.read(file->ino, off, rb.size(), rb.data())) die("read", -EIO);
  double tr = since(t);
  std::printf("read it back: %.2fs = %.0f MiB/s\n", tr, double(gib << 10) / tr);

  auto dir = f.mkdir(root, fs::kRootIno, "dir", 0755);
  std::vector<fs::Ino> inos;
  t = Clock::now();
  for (int i = 0; i < nfiles; ++i) {
    auto a = f.mknod(root, dir->ino, "file-" + std::to_string(i), S_IFREG | 0644, 0);
    if (!a) die("create", a.err());
    inos.push_back(a->ino);
  }
  double tc = since(t);
  t = Clock::now();
  for (int i = 0; i < nfiles; ++i)
    if (!f.lookup(dir->ino, "file-" + std::to_string(i))) die("lookup", -ENOENT);
  double tl = since(t);
  t = Clock::now();
  size_t n = 0;
  f.readdir(dir->ino, 0, [&](const fs::DirEntry&) {
    ++n;
    return true;
  });
  double td = since(t);
  t = Clock::now();
  for (int i = 0; i < nfiles; ++i) {
    if (int r = f.unlink(dir->ino, "file-" + std::to_string(i)); r < 0) die("unlink", r);
    f.forget(inos[size_t(i)], 2);
  }
  double tu = since(t);
  std::printf("%d files in one directory: create %.2fs, lookup %.2fs, readdir %.2fs (%zu entries), "
              "unlink %.2fs\n", nfiles, tc, tl, td, n, tu);
  t = Clock::now();
  int r = f.unmount();
  std::printf("unmount %.2fs (%s)\n", since(t), r == 0 ? "ok" : std::strerror(-r));
  return r == 0 ? 0 : 1;
}
