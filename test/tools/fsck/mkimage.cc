// chainfs-mkimage: makes fsck test images (test/images/*/script calls it).
//
//   chainfs-mkimage IMAGE new MIB [INODES]  create IMAGE (MIB MiB) and mkfs it
//   chainfs-mkimage IMAGE small          add populate_small's tree (image_util.h)
//   chainfs-mkimage IMAGE random SEED N  N random operations
//   chainfs-mkimage IMAGE files N        N empty files in /many and N/10 small files with data
//   chainfs-mkimage IMAGE corrupt CASE   one named kind of damage (image_util.h case_names)
//
// Exit 0 on success, 1 with one line on stderr otherwise.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "io/sync_device.h"
#include "test/tools/fsck/image_util.h"

namespace {

using namespace chainfs;

int fail(const std::string& msg) {
  fmt::print(stderr, "chainfs-mkimage: {}\n", msg);
  return 1;
}

int populate(io::Device& dev, const std::string& what, uint64_t a, uint64_t b) {
  std::string msg;
  auto f = fsck::testing::mount(dev, false, &msg);
  if (!f) return fail("mount: " + msg);
  int r = 0;
  if (what == "small") {
    r = fsck::testing::populate_small(*f);
  } else if (what == "random") {
    r = fsck::testing::populate_random(*f, a, static_cast<int>(b));
  } else {
    auto d = f->mkdir({}, fs::kRootIno, "many", 0755);
    if (!d) return fail("mkdir /many failed");
    std::string data(3000, 'd');
    for (uint64_t i = 0; i < a && r == 0; ++i) {
      auto e = f->mknod({}, d->ino, fmt::format("file-{:07}", i), S_IFREG | 0644, 0);
      if (!e) r = e.err();
      else if (i % 10 == 0 && !f->write(e->ino, 0, data.data(), data.size())) r = -EIO;
      if (e) f->forget(e->ino, 1);
    }
  }
  int u = f->unmount();
  if (r < 0) return fail(fmt::format("{}: {}", what, std::strerror(-r)));
  if (u < 0) return fail(fmt::format("unmount: {}", std::strerror(-u)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return fail("usage: chainfs-mkimage IMAGE new MIB|small|random SEED N|files N|corrupt CASE");
  const std::string image = argv[1], cmd = argv[2];
  auto arg = [&](int i) -> uint64_t { return i < argc ? std::stoull(argv[i]) : 0; };
  if (cmd == "new") {
    int fd = ::open(image.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(arg(3) << 20)) < 0) {
      if (fd >= 0) ::close(fd);
      return fail(fmt::format("cannot create {}: {}", image, std::strerror(errno)));
    }
    ::close(fd);
  }
  io::OpenOptions oo;
  oo.direct = false;
  std::unique_ptr<io::SyncDevice> dev;
  if (int r = io::SyncDevice::open(image, oo, &dev); r < 0)
    return fail(fmt::format("cannot open {}: {}", image, std::strerror(-r)));
  if (cmd == "new") {
    std::string msg;
    return fsck::testing::make_image(*dev, &msg, arg(4)) < 0 ? fail("mkfs: " + msg) : 0;
  }
  if (cmd == "small" || cmd == "random" || cmd == "files") return populate(*dev, cmd, arg(3), arg(4));
  if (cmd == "corrupt") {
    if (argc < 4) return fail("corrupt: which case?");
    int r = fsck::testing::apply_case(*dev, argv[3]);
    return r < 0 ? fail(fmt::format("corrupt {}: {}", argv[3], std::strerror(-r))) : 0;
  }
  return fail("unknown command " + cmd);
}
