#pragma once
// The two faces of a filesystem the crash checker uses, each with two implementations
// (fs_access.h: fs::Filesystem in the same process; posix_access.h: system calls on a
// mounted chainfs):
//  * Target: what the workload does (paths relative to the filesystem's root; file handles
//    are small integers the target hands out). Every call returns 0 or a negative errno.
//  * View: what the checker reads back from a crash state.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chainfs::crashcheck {

class Target {
 public:
  virtual ~Target() = default;
  // Creates path (O_CREAT|O_EXCL, mode 0644) and opens it; *h the handle, *ino its inode.
  virtual int create(const std::string& path, int* h, uint64_t* ino) = 0;
  virtual int open(const std::string& path, int* h, uint64_t* ino) = 0;
  virtual int close(int h) = 0;
  virtual int pwrite(int h, uint64_t off, const std::string& data) = 0;
  virtual int truncate(int h, uint64_t size) = 0;
  virtual int fallocate(int h, int mode, uint64_t off, uint64_t len) = 0;
  virtual int fsync(int h, bool datasync) = 0;
  virtual int setxattr(int h, const std::string& name, const std::string& value) = 0;
  virtual int removexattr(int h, const std::string& name) = 0;
  virtual int rename(const std::string& from, const std::string& to) = 0;
  virtual int link(const std::string& from, const std::string& to) = 0;
  virtual int unlink(const std::string& path) = 0;
  virtual int mkdir(const std::string& path, uint64_t* ino) = 0;
  virtual int rmdir(const std::string& path) = 0;
  virtual int fsyncdir(const std::string& path) = 0;
  virtual int sync() = 0;
  // The current position in the write log (see record.h), 0 without one.
  virtual uint64_t position() = 0;
};

class View {
 public:
  virtual ~View() = default;
  struct Node {
    uint64_t ino = 0;
    bool dir = false;
  };
  // 0 and *out set; -ENOENT when path (or a directory on the way) does not exist.
  virtual int lookup(const std::string& path, Node* out) = 0;
  virtual int read_all(const std::string& path, std::string* out) = 0;
  // 0 with *out = the value, or nullopt when the attribute is absent.
  virtual int getxattr(const std::string& path, const std::string& name, std::optional<std::string>* out) = 0;
  // The names in directory path, without "." and "..".
  virtual int list(const std::string& path, std::vector<std::string>* out) = 0;
};

}  // namespace chainfs::crashcheck
