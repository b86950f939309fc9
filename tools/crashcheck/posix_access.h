#pragma once
// Target and View over system calls on a mounted filesystem (the integration-level driver,
// the kill -9 test's checks after remount). Paths are relative to the mount point.
#include <string>
#include <vector>

#include "tools/crashcheck/access.h"

namespace chainfs::crashcheck {

class PosixTarget final : public Target {
 public:
  // log_path: the daemon's write log; position() is its size in bytes (pos_unit "bytes").
  // Empty: position() is 0.
  PosixTarget(std::string root, std::string log_path) : root_(std::move(root)), log_(std::move(log_path)) {}
  ~PosixTarget() override;

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
  uint64_t position() override;

 private:
  std::string p(const std::string& rel) const { return rel.empty() ? root_ : root_ + "/" + rel; }
  int fd_of(int h) const { return h >= 0 && size_t(h) < fds_.size() ? fds_[h] : -1; }
  int opened(int fd, int* h, uint64_t* ino);

  std::string root_, log_;
  std::vector<int> fds_;  // -1 = closed
};

class PosixView final : public View {
 public:
  explicit PosixView(std::string root) : root_(std::move(root)) {}
  int lookup(const std::string& path, Node* out) override;
  int read_all(const std::string& path, std::string* out) override;
  int getxattr(const std::string& path, const std::string& name, std::optional<std::string>* out) override;
  int list(const std::string& path, std::vector<std::string>* out) override;

 private:
  std::string p(const std::string& rel) const { return rel.empty() ? root_ : root_ + "/" + rel; }
  std::string root_;
};

}  // namespace chainfs::crashcheck
