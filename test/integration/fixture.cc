#include "test/integration/fixture.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

namespace chainfs::test {

TestFs::TestFs(uint64_t size, const std::string& mount_opts, bool do_mount) : image_(size) {
  const char* kind = std::getenv("CHAINFS_TEST_DEVICE");
  if (kind && std::string(kind) == "nbd") {
    nbd_ = std::make_unique<Nbdkit>(std::vector<std::string>{"file", image_.path()});
    dev_ = nbd_->uri();
  } else {
    loop_ = std::make_unique<LoopDevice>(image_.path());
    dev_ = loop_->path();
  }
  auto r = run({mkfs_bin(), "-q", dev_});
  if (r.status != 0) throw std::runtime_error("mkfs.chainfs failed: " + r.err);
  if (do_mount) mount(mount_opts);
}

void TestFs::mount(const std::string& opts) {
  mount_.reset();
  mount_ = std::make_unique<Mount>(daemon_bin(), dev_, dir_.path(), with_env_opts(opts));
}

std::string with_env_opts(const std::string& opts) {
  const char* env = std::getenv("CHAINFS_TEST_OPTS");
  if (!env || !*env) return opts;
  return opts.empty() ? std::string(env) : std::string(env) + "," + opts;
}

RunResult TestFs::unmount_and_fsck() {
  RunResult r;
  if (!unmount()) {
    r.err = "the daemon did not exit by itself after the unmount";
    return r;
  }
  return run({fsck_bin(), "-n", dev_});
}

void TestFs::cycle(const std::string& opts) {
  auto r = run({"umount", dir_.path()});
  if (r.status != 0) throw std::runtime_error("umount " + dir_.path() + " failed: " + r.err);
  if (mount_) mount_->disown();
  mount_ = std::make_unique<Mount>(daemon_bin(), dev_, dir_.path(), with_env_opts(opts));
}

int write_file(const std::string& path, const std::string& data, int flags) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (flags ? flags : O_TRUNC), 0644);
  if (fd < 0) return errno;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      int e = errno;
      close(fd);
      return e;
    }
    done += static_cast<size_t>(n);
  }
  return close(fd) == 0 ? 0 : errno;
}

std::string read_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + path + " failed: errno " + std::to_string(errno));
  std::string s;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  int e = errno;
  close(fd);
  if (n < 0) throw std::runtime_error("read " + path + " failed: errno " + std::to_string(e));
  return s;
}

int errno_of(int rc) { return rc == -1 ? errno : 0; }

std::string pattern(size_t size, uint32_t seed) {
  std::string s(size, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

}  // namespace chainfs::test
