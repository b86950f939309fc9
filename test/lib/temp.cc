#include "test/lib/temp.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace chainfs::test {

std::string scratch_dir() {
  const char* env = std::getenv("CHAINFS_TEST_DIR");
  return env && *env ? env : "/var/tmp";
}

TempImage::TempImage(uint64_t size_bytes) {
  // The pid in the name lets test/lib/cleanup.sh recognise leftovers of a crashed test.
  std::string tmpl = scratch_dir() + "/chainfs-test-" + std::to_string(getpid()) + "-XXXXXX.img";
  int fd = mkstemps(tmpl.data(), 4);
  if (fd < 0) throw std::runtime_error("cannot create an image file in " + scratch_dir());
  path_ = tmpl;
  if (ftruncate(fd, static_cast<off_t>(size_bytes)) != 0) {
    close(fd);
    unlink(path_.c_str());
    throw std::runtime_error("cannot size " + path_);
  }
  close(fd);
}

TempImage::~TempImage() { unlink(path_.c_str()); }

std::vector<char> TempImage::contents() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path_);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TempDir::TempDir() {
  std::string tmpl = scratch_dir() + "/chainfs-mnt-" + std::to_string(getpid()) + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a directory in " + scratch_dir());
  path_ = tmpl;
}

TempDir::~TempDir() { rmdir(path_.c_str()); }

}  // namespace chainfs::test
