#include "tools/crashcheck/posix_access.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace chainfs::crashcheck {

namespace {

int err(int rc) { return rc < 0 ? -errno : 0; }

}  // namespace

PosixTarget::~PosixTarget() {
  for (int fd : fds_)
    if (fd >= 0) ::close(fd);
}

int PosixTarget::opened(int fd, int* h, uint64_t* ino) {
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = -errno;
    ::close(fd);
    return e;
  }
  *ino = st.st_ino;
  for (size_t i = 0; i < fds_.size(); ++i)
    if (fds_[i] < 0) {
      fds_[i] = fd;
      *h = static_cast<int>(i);
      return 0;
    }
  fds_.push_back(fd);
  *h = static_cast<int>(fds_.size() - 1);
  return 0;
}

int PosixTarget::create(const std::string& path, int* h, uint64_t* ino) {
  int fd = ::open(p(path).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  return opened(fd, h, ino);
}

int PosixTarget::open(const std::string& path, int* h, uint64_t* ino) {
  int fd = ::open(p(path).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return -errno;
  return opened(fd, h, ino);
}

int PosixTarget::close(int h) {
  int fd = fd_of(h);
  if (fd < 0) return -EBADF;
  fds_[h] = -1;
  return err(::close(fd));
}

int PosixTarget::pwrite(int h, uint64_t off, const std::string& data) {
  int fd = fd_of(h);
  if (fd < 0) return -EBADF;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(off + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (w == 0) return -ENOSPC;
    done += static_cast<size_t>(w);
  }
  return 0;
}

int PosixTarget::truncate(int h, uint64_t size) {
  int fd = fd_of(h);
  return fd < 0 ? -EBADF : err(ftruncate(fd, static_cast<off_t>(size)));
}

int PosixTarget::fallocate(int h, int mode, uint64_t off, uint64_t len) {
  int fd = fd_of(h);
  return fd < 0 ? -EBADF : err(::fallocate(fd, mode, static_cast<off_t>(off), static_cast<off_t>(len)));
}

int PosixTarget::fsync(int h, bool datasync) {
  int fd = fd_of(h);
  if (fd < 0) return -EBADF;
  return err(datasync ? fdatasync(fd) : ::fsync(fd));
}

int PosixTarget::setxattr(int h, const std::string& name, const std::string& value) {
  int fd = fd_of(h);
  return fd < 0 ? -EBADF : err(fsetxattr(fd, name.c_str(), value.data(), value.size(), 0));
}

int PosixTarget::removexattr(int h, const std::string& name) {
  int fd = fd_of(h);
  return fd < 0 ? -EBADF : err(fremovexattr(fd, name.c_str()));
}

int PosixTarget::rename(const std::string& from, const std::string& to) {
  return err(::rename(p(from).c_str(), p(to).c_str()));
}

int PosixTarget::link(const std::string& from, const std::string& to) {
  return err(::link(p(from).c_str(), p(to).c_str()));
}

int PosixTarget::unlink(const std::string& path) { return err(::unlink(p(path).c_str())); }

int PosixTarget::mkdir(const std::string& path, uint64_t* ino) {
  if (::mkdir(p(path).c_str(), 0755) < 0) return -errno;
  struct stat st;
  if (::stat(p(path).c_str(), &st) < 0) return -errno;
  *ino = st.st_ino;
  return 0;
}

int PosixTarget::rmdir(const std::string& path) { return err(::rmdir(p(path).c_str())); }

int PosixTarget::fsyncdir(const std::string& path) {
  int fd = ::open(p(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int r = err(::fsync(fd));
  ::close(fd);
  return r;
}

int PosixTarget::sync() {
  int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int r = err(syncfs(fd));
  ::close(fd);
  return r;
}

uint64_t PosixTarget::position() {
  if (log_.empty()) return 0;
  struct stat st;
  return ::stat(log_.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

int PosixView::lookup(const std::string& path, Node* out) {
  struct stat st;
  if (::lstat(p(path).c_str(), &st) < 0) return -errno;
  out->ino = st.st_ino;
  out->dir = S_ISDIR(st.st_mode);
  return 0;
}

int PosixView::read_all(const std::string& path, std::string* out) {
  int fd = ::open(p(path).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  out->clear();
  char buf[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = -errno;
      ::close(fd);
      return e;
    }
    if (r == 0) break;
    out->append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return 0;
}

int PosixView::getxattr(const std::string& path, const std::string& name, std::optional<std::string>* out) {
  std::string v(65536, '\0');
  ssize_t n = lgetxattr(p(path).c_str(), name.c_str(), v.data(), v.size());
  if (n < 0) {
    if (errno == ENODATA) {
      *out = std::nullopt;
      return 0;
    }
    return -errno;
  }
  v.resize(static_cast<size_t>(n));
  *out = std::move(v);
  return 0;
}

int PosixView::list(const std::string& path, std::vector<std::string>* out) {
  DIR* d = opendir(p(path).c_str());
  if (!d) return -errno;
  out->clear();
  errno = 0;
  while (struct dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) out->emplace_back(e->d_name);
  }
  int r = errno ? -errno : 0;
  closedir(d);
  return r;
}

}  // namespace chainfs::crashcheck
