// regress_fsstress: several processes doing random namespace and data operations in one tree,
// in the manner of fstests' fsstress, for a fixed number of operations.
//
//   regress_fsstress -d DIR [-p procs] [-n ops per process] [-s seed] [-v]
//
// The processes share a small name space (DIR/d0..d7, nested one level, files f0..f15 in each),
// so creates, renames, links and unlinks collide; the errors such collisions cause (ENOENT,
// EEXIST, ENOTEMPTY, ...) are expected. Each process also keeps a private file whose contents it
// models and verifies after every write. An unexpected error (EIO, EUCLEAN, ENOSPC, ENOTCONN,
// ...), a short transfer or wrong data is reported with the process, op number and path, and
// makes the exit status 1. Afterwards the test unmounts and runs fsck.
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string dir;
  int procs = 4;
  long ops = 10000;
  uint64_t seed = 1;
  bool verbose = false;
};

// Errors that collisions between processes legitimately produce.
bool expected(int e) {
  switch (e) {
    case ENOENT: case EEXIST: case ENOTEMPTY: case ENOTDIR: case EISDIR: case EINVAL: case EMLINK:
    case EPERM: case ENODATA: case EOPNOTSUPP: case ELOOP: case EBUSY:
      return true;
    default:
      return false;
  }
}

class Worker {
 public:
  Worker(const Options& o, int id) : o_(o), id_(id), rng_(o.seed * 1000003 + static_cast<uint64_t>(id)) {
    priv_ = o_.dir + "/p" + std::to_string(id);
  }

  int run() {
    pfd_ = open(priv_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (pfd_ < 0) return fatal("open private file", priv_);
    for (n_ = 1; n_ <= o_.ops && errors_ < 10; ++n_) one();
    close(pfd_);
    if (o_.verbose || errors_) {
      std::fprintf(stderr, "fsstress[%d]: %ld ops, %ld failed as expected, %ld unexpected errors\n", id_, o_.ops,
                   expected_, errors_);
    }
    return errors_ ? 1 : 0;
  }

 private:
  uint64_t rnd(uint64_t n) { return rng_() % n; }

  std::string dir_path() {
    std::string d = o_.dir + "/d" + std::to_string(rnd(8));
    if (rnd(4) == 0) d += "/d" + std::to_string(rnd(4));
    return d;
  }
  std::string file_path() { return dir_path() + "/f" + std::to_string(rnd(16)); }
  std::string any_path() { return rnd(4) == 0 ? dir_path() : file_path(); }

  int fatal(const char* what, const std::string& path) {
    std::fprintf(stderr, "fsstress[%d] op %ld: %s %s: %s\n", id_, n_, what, path.c_str(), std::strerror(errno));
    ++errors_;
    return 1;
  }
  // check: a failed call is fine only with an expected errno.
  void check(long rc, const char* what, const std::string& path) {
    if (o_.verbose) std::fprintf(stderr, "[%d] %ld %s %s -> %ld\n", id_, n_, what, path.c_str(), rc);
    if (rc >= 0) return;
    if (expected(errno)) {
      ++expected_;
      return;
    }
    fatal(what, path);
  }

  void one() {
    switch (rnd(20)) {
      case 0: case 1: {  // create and write
        std::string p = file_path();
        int fd = open(p.c_str(), O_WRONLY | O_CREAT, 0644);
        check(fd, "create", p);
        if (fd >= 0) {
          std::vector<char> buf(1 + rnd(64 * 1024), static_cast<char>('a' + id_));
          check(pwrite(fd, buf.data(), buf.size(), static_cast<off_t>(rnd(1 << 20))), "write", p);
          if (rnd(8) == 0) check(fsync(fd), "fsync", p);
          close(fd);
        }
        break;
      }
      case 2: {  // read
        std::string p = file_path();
        int fd = open(p.c_str(), O_RDONLY);
        check(fd, "open", p);
        if (fd >= 0) {
          std::vector<char> buf(64 * 1024);
          check(pread(fd, buf.data(), buf.size(), static_cast<off_t>(rnd(1 << 20))), "read", p);
          close(fd);
        }
        break;
      }
      case 3: { std::string p = file_path(); check(truncate(p.c_str(), static_cast<off_t>(rnd(2 << 20))), "truncate", p); break; }
      case 4: { std::string p = file_path(); check(unlink(p.c_str()), "unlink", p); break; }
      case 5: { std::string p = dir_path(); check(mkdir(p.c_str(), 0755), "mkdir", p); break; }
      case 6: { std::string p = dir_path(); check(rmdir(p.c_str()), "rmdir", p); break; }
      case 7: case 8: { std::string a = any_path(), b = any_path(); check(rename(a.c_str(), b.c_str()), "rename", a + " " + b); break; }
      case 9: { std::string a = file_path(), b = file_path(); check(link(a.c_str(), b.c_str()), "link", a + " " + b); break; }
      case 10: { std::string a = file_path(); check(symlink("../f0", a.c_str()), "symlink", a); break; }
      case 11: {
        std::string p = any_path();
        struct stat st {};
        check(lstat(p.c_str(), &st), "stat", p);
        break;
      }
      case 12: {
        std::string p = dir_path();
        if (DIR* d = opendir(p.c_str())) {
          errno = 0;
          while (readdir(d)) {}
          check(errno ? -1 : 0, "readdir", p);
          closedir(d);
        } else {
          check(-1, "opendir", p);
        }
        break;
      }
      case 13: { std::string p = any_path(); check(chmod(p.c_str(), 0600 | static_cast<mode_t>(rnd(0200))), "chmod", p); break; }
      case 14: {
        std::string p = file_path(), v(rnd(200), 'x');
        check(setxattr(p.c_str(), "user.fsstress", v.data(), v.size(), 0), "setxattr", p);
        break;
      }
      case 15: {
        std::string p = file_path();
        int fd = open(p.c_str(), O_WRONLY);
        check(fd, "open", p);
        if (fd >= 0) {
          int mode = rnd(2) ? 0 : FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
          check(fallocate(fd, mode, static_cast<off_t>(rnd(1 << 20)), static_cast<off_t>(1 + rnd(256 * 1024))),
                "fallocate", p);
          close(fd);
        }
        break;
      }
      default:
        private_write();
        break;
    }
  }

  // The private file: write a random range, read it back, compare with the model.
  void private_write() {
    constexpr size_t kMax = 1 << 20;
    if (model_.empty()) model_.assign(kMax, 0);
    size_t off = rnd(kMax - 1), len = 1 + rnd(std::min<size_t>(kMax - off, 128 * 1024));
    std::vector<char> buf(len), back(len);
    for (auto& c : buf) c = static_cast<char>(rng_());
    if (pwrite(pfd_, buf.data(), len, static_cast<off_t>(off)) != static_cast<ssize_t>(len)) {
      fatal("private write", priv_);
      return;
    }
    std::memcpy(model_.data() + off, buf.data(), len);
    size_ = std::max(size_, off + len);
    size_t roff = rnd(size_), rlen = std::min<size_t>(size_ - roff, 128 * 1024);
    back.resize(rlen);
    if (pread(pfd_, back.data(), rlen, static_cast<off_t>(roff)) != static_cast<ssize_t>(rlen)) {
      fatal("private read", priv_);
      return;
    }
    if (std::memcmp(back.data(), model_.data() + roff, rlen) != 0) {
      std::fprintf(stderr, "fsstress[%d] op %ld: private file %s: data MISMATCH in 0x%zx+0x%zx\n", id_, n_,
                   priv_.c_str(), roff, rlen);
      ++errors_;
    }
  }

  const Options& o_;
  int id_;
  std::mt19937_64 rng_;
  std::string priv_;
  std::vector<char> model_;
  size_t size_ = 0;
  int pfd_ = -1;
  long n_ = 0, errors_ = 0, expected_ = 0;
};

[[noreturn]] void usage() {
  std::fprintf(stderr, "usage: regress_fsstress -d DIR [-p procs] [-n ops] [-s seed] [-v]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  int c;
  while ((c = getopt(argc, argv, "d:p:n:s:v")) != -1) {
    switch (c) {
      case 'd': o.dir = optarg; break;
      case 'p': o.procs = std::atoi(optarg); break;
      case 'n': o.ops = std::atol(optarg); break;
      case 's': o.seed = std::strtoull(optarg, nullptr, 0); break;
      case 'v': o.verbose = true; break;
      default: usage();
    }
  }
  if (o.dir.empty() || o.procs < 1 || o.ops < 1 || optind != argc) usage();
  if (mkdir(o.dir.c_str(), 0755) < 0 && errno != EEXIST) {
    std::perror(o.dir.c_str());
    return 1;
  }
  // The top-level directories exist from the start, so most operations find their parent.
  for (int i = 0; i < 8; ++i) {
    std::string d = o.dir + "/d" + std::to_string(i);
    if (mkdir(d.c_str(), 0755) < 0 && errno != EEXIST) {
      std::perror(d.c_str());
      return 1;
    }
  }
  std::vector<pid_t> kids;
  for (int i = 0; i < o.procs; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) _exit(Worker(o, i).run());
    kids.push_back(pid);
  }
  int failed = 0;
  for (pid_t pid : kids) {
    int st = 0;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) ++failed;
  }
  if (failed) std::fprintf(stderr, "regress_fsstress: %d of %d processes failed\n", failed, o.procs);
  return failed ? 1 : 0;
}
