#pragma once
// TempImage: a sparse image file that is deleted when the test ends.
// TempDir: an empty directory (a mountpoint) removed when the test ends; it is never
// removed recursively, so a mount left on it by mistake cannot lose anybody's files.
#include <cstdint>
#include <string>
#include <vector>

namespace chainfs::test {

// Where tests create files: $CHAINFS_TEST_DIR, else /var/tmp (a real disk: O_DIRECT works).
std::string scratch_dir();

class TempImage {
 public:
  explicit TempImage(uint64_t size_bytes);
  ~TempImage();
  TempImage(const TempImage&) = delete;
  TempImage& operator=(const TempImage&) = delete;
  const std::string& path() const { return path_; }
  // The whole file as it is now (what the code under test wrote to it).
  std::vector<char> contents() const;

 private:
  std::string path_;
};

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace chainfs::test
