#pragma once
// Target and View over an fs::Filesystem in the same process (the unit-level driver and
// the replay's checks of a crash state mounted in memory). Paths are resolved from the root
// with lookup(); the lookup references taken on the way are given back with forget(),
// except the one an open handle holds until close().
#include <functional>
#include <string>
#include <vector>

#include "fs/meta/filesystem.h"
#include "tools/crashcheck/access.h"

namespace chainfs::crashcheck {

class FsTarget final : public Target {
 public:
  // position: the write log's current position (WriteLog::size), or empty for 0.
  FsTarget(fs::Filesystem& fs, std::function<uint64_t()> position) : fs_(fs), position_(std::move(position)) {}
  ~FsTarget() override;

  int create(const std::string& path, int* h, uint64_t* ino) override;
  int open(const std::string& path, int* h, uint64_t* ino) override;
  int close(int h) override;
  int pwrite(int h, uint64_t off, const std::string& data) override;
  int truncate(int h, uint64_t size) override;
  int fallocate(int h, int mode, uint64_t off, uint64_t len) override;
  int fsync(int h, bool datasync) override;
  int setxattr(int h, const std::string& name, const std::string& value) override;
  int removexattr(int h, const std::string& name) override;
  int rename(const std::string& from, const std::string& to) override;
  int link(const std::string& from, const std::string& to) override;
  int unlink(const std::string& path) override;
  int mkdir(const std::string& path, uint64_t* ino) override;
  int rmdir(const std::string& path) override;
  int fsyncdir(const std::string& path) override;
  int sync() override;
  uint64_t position() override { return position_ ? position_() : 0; }

 private:
  // The directory holding path's last component, and that component.
  int parent_of(const std::string& path, fs::Ino* dir, std::string* leaf);
  int handle(fs::Ino ino);
  fs::Ino ino_of(int h) const { return h >= 0 && size_t(h) < handles_.size() ? handles_[h] : 0; }

  fs::Filesystem& fs_;
  std::function<uint64_t()> position_;
  std::vector<fs::Ino> handles_;  // 0 = closed
};

class FsView final : public View {
 public:
  // Paths are relative to directory base ("" = the root).
  explicit FsView(fs::Filesystem& fs, std::string base = "") : fs_(fs), base_(std::move(base)) {}
  int lookup(const std::string& path, Node* out) override;
  int read_all(const std::string& path, std::string* out) override;
  int getxattr(const std::string& path, const std::string& name, std::optional<std::string>* out) override;
  int list(const std::string& path, std::vector<std::string>* out) override;

 private:
  int resolve(const std::string& path, fs::Attr* out);
  fs::Filesystem& fs_;
  std::string base_;
};

// Splits "a/b/c" into its components ("" = the root: none).
std::vector<std::string> split_path(const std::string& path);

}  // namespace chainfs::crashcheck
