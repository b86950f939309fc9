#include "tools/bench/workloads.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "io/bio_chain.h"
#include "io/bio_pool.h"
#include "io/uring_device.h"
#include "tools/bench/system.h"

namespace chainfs::bench {

namespace {

constexpr uint64_t kKiB = 1024, kMiB = 1024 * 1024;
constexpr size_t kBufBytes = 8 * kMiB;

// Page-aligned memory with a non-zero pattern (zero pages could be special-cased somewhere).
// The raw reference's data: 2 MiB aligned and MADV_HUGEPAGE, as mem/'s arenas, so that its
// requests are physically contiguous like the engine's gang pages; with plain 4 KiB pages the
// block layer cuts every request at max_segments pages and the "physical limit" would be a
// smaller request than chainfs's own.
class Buffer {
 public:
  explicit Buffer(size_t bytes) : size_(bytes), map_bytes_(bytes + kHuge) {
    void* p = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    map_ = static_cast<char*>(p);
    data_ = map_ + (kHuge - reinterpret_cast<uintptr_t>(map_) % kHuge) % kHuge;
    madvise(data_, bytes, MADV_HUGEPAGE);  // advice: without THP the buffer still works
    for (size_t i = 0; i < bytes; i += 64) std::memset(data_ + i, int((i / 64 * 131 + 7) & 0xff), 64);
  }
  ~Buffer() { munmap(map_, map_bytes_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  char* at(uint64_t off) const { return data_ + off % size_; }

 private:
  static constexpr size_t kHuge = size_t{2} << 20;
  size_t size_, map_bytes_;
  char* map_;
  char* data_;
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int close() {
    int r = ::close(fd_);
    fd_ = -1;
    return r == 0 ? 0 : -errno;
  }

 private:
  int fd_;
};

class Deadline {
 public:
  explicit Deadline(double s)
      : end_(std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                     std::chrono::duration<double>(s))) {}
  // Checked every 64 calls, so the clock is not read per 4 KiB operation.
  bool over() {
    if (++n_ % 64) return false;
    check_stop();
    return std::chrono::steady_clock::now() > end_;
  }

 private:
  std::chrono::steady_clock::time_point end_;
  uint64_t n_ = 0;
};

int fail(std::string* why, const std::string& what, int err) {
  *why = fmt::format("{}: {}", what, std::strerror(err));
  return -err;
}

int write_all(int fd, const char* buf, size_t len, uint64_t off) {
  while (len) {
    ssize_t n = ::pwrite(fd, buf, len, off_t(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    buf += n;
    len -= size_t(n);
    off += uint64_t(n);
  }
  return 0;
}

int seq_write(const std::string& path, uint64_t chunk, const WorkParams& p, Meter& m, Sample* s, std::string* why) {
  Buffer src(kBufBytes);
  ::unlink(path.c_str());
  m.start();
  Fd fd(::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644));
  if (fd.get() < 0) return fail(why, "create " + path, errno);
  Deadline dl(p.runtime);
  uint64_t off = 0;
  for (; off < p.size; off += chunk) {
    if (int r = write_all(fd.get(), src.at(off), chunk, off); r < 0) return fail(why, "write " + path, -r);
    ++s->ops;
    if (dl.over()) {
      off += chunk;
      break;
    }
  }
  if (::fsync(fd.get()) != 0) return fail(why, "fsync " + path, errno);
  if (int r = fd.close(); r < 0) return fail(why, "close " + path, -r);
  s->bytes = off;
  m.stop(s);
  return 0;
}

uint64_t file_pages(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return uint64_t(st.st_size) / 4096;
}

int rand_write(const std::string& path, const WorkParams& p, Meter& m, Sample* s, std::string* why) {
  Buffer src(kBufBytes);
  uint64_t pages = file_pages(path);
  if (pages == 0) return fail(why, path + " (written by seq-write-1m) is missing or empty", ENOENT);
  std::mt19937_64 rng(p.seed);
  std::uniform_int_distribution<uint64_t> pick(0, pages - 1);
  uint64_t ops = std::max<uint64_t>(p.size / 4096 / 4, 1);
  m.start();
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return fail(why, "open " + path, errno);
  Deadline dl(p.runtime);
  for (uint64_t i = 0; i < ops; ++i) {
    uint64_t off = pick(rng) * 4096;
    if (int r = write_all(fd.get(), src.at(off), 4096, off); r < 0) return fail(why, "write " + path, -r);
    ++s->ops;
    if (dl.over()) break;
  }
  if (::fsync(fd.get()) != 0) return fail(why, "fsync " + path, errno);
  if (int r = fd.close(); r < 0) return fail(why, "close " + path, -r);
  s->bytes = s->ops * 4096;
  m.stop(s);
  return 0;
}

int seq_read(const std::string& path, const WorkParams& p, Meter& m, Sample* s, std::string* why) {
  Buffer dst(kBufBytes);
  m.start();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return fail(why, "open " + path + " (written by seq-write-1m)", errno);
  Deadline dl(p.runtime);
  uint64_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd.get(), dst.at(off), kMiB, off_t(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(why, "read " + path, errno);
    }
    if (n == 0) break;
    off += uint64_t(n);
    ++s->ops;
    if (dl.over()) break;
  }
  s->bytes = off;
  m.stop(s);
  if (off == 0) return fail(why, path + " is empty", ENODATA);
  return 0;
}

int rand_read(const std::string& path, const WorkParams& p, Meter& m, Sample* s, std::string* why) {
  Buffer dst(kBufBytes);
  uint64_t pages = file_pages(path);
  if (pages == 0) return fail(why, path + " (written by seq-write-1m) is missing or empty", ENOENT);
  std::mt19937_64 rng(p.seed + 1);
  std::uniform_int_distribution<uint64_t> pick(0, pages - 1);
  uint64_t ops = std::max<uint64_t>(p.size / 4096 / 4, 1);
  m.start();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return fail(why, "open " + path, errno);
  Deadline dl(p.runtime);
  for (uint64_t i = 0; i < ops; ++i) {
    uint64_t off = pick(rng) * 4096;
    ssize_t n = ::pread(fd.get(), dst.at(off), 4096, off_t(off));
    if (n < 0 && errno != EINTR) return fail(why, "read " + path, errno);
    if (n != 4096) return fail(why, "short read " + path, EIO);
    ++s->ops;
    if (dl.over()) break;
  }
  s->bytes = s->ops * 4096;
  m.stop(s);
  return 0;
}

// create, stat and unlink of p.files files in a fresh directory: three phases, so the
// directory is full while the stats run.
int files(const std::string& dir, const WorkParams& p, Meter& m, Sample* s, std::string* why) {
  std::string d = dir + "/files";
  if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) return fail(why, "mkdir " + d, errno);
  auto name = [&](uint32_t i) { return fmt::format("{}/f{:06}", d, i); };
  m.start();
  for (uint32_t i = 0; i < p.files; ++i) {
    int fd = ::open(name(i).c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return fail(why, "create " + name(i), errno);
    ::close(fd);
    if (i % 256 == 0) check_stop();
  }
  struct stat st{};
  for (uint32_t i = 0; i < p.files; ++i)
    if (::stat(name(i).c_str(), &st) != 0) return fail(why, "stat " + name(i), errno);
  for (uint32_t i = 0; i < p.files; ++i)
    if (::unlink(name(i).c_str()) != 0) return fail(why, "unlink " + name(i), errno);
  ::sync();  // the metadata must reach the device inside the measurement, like the data's fsync
  s->ops = uint64_t(p.files) * 3;
  m.stop(s);
  ::rmdir(d.c_str());
  return 0;
}

// --- metadata reads: a tree to stat, a large directory to list ---------------------------

// The workloads without a form on the raw device: they need a filesystem.
bool is_metadata_workload(const std::string& name) {
  return name == "files" || name == "stat-tree" || name == "readdir" || name == "readdir-stat";
}

constexpr uint32_t kTreeDirs = 100;

std::string tree_subdir(const std::string& dir, uint32_t d) { return fmt::format("{}/tree/d{:02}", dir, d); }

std::string tree_file(const std::string& dir, uint32_t i) {
  return fmt::format("{}/f{:06}", tree_subdir(dir, i % kTreeDirs), i);
}

std::string listed_dir(const std::string& dir) { return dir + "/dir"; }

// A stamp beside a prepared tree or directory holds its count and is written last: a
// preparation that was cut short is done again, a finished one is not.
bool stamped(const std::string& stamp, uint64_t count) {
  std::ifstream f(stamp);
  uint64_t n = 0;
  return f >> n && n == count;
}

// Writes the stamp, then syncs: the writeback of what was made must not fall into a
// measurement (stat-tree runs without a remount).
int write_stamp(const std::string& stamp, uint64_t count, std::string* why) {
  std::string text = fmt::format("{}\n", count);
  Fd fd(::open(stamp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644));
  if (fd.get() < 0) return fail(why, "create " + stamp, errno);
  if (int r = write_all(fd.get(), text.data(), text.size(), 0); r < 0) return fail(why, "write " + stamp, -r);
  if (int r = fd.close(); r < 0) return fail(why, "close " + stamp, -r);
  ::sync();
  return 0;
}

int make_dir(const std::string& d, std::string* why) {
  if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) return fail(why, "mkdir " + d, errno);
  return 0;
}

// Empty files name(0) .. name(count - 1), keeping those already there.
template <typename NameFn>
int create_empty(uint32_t count, NameFn name, std::string* why) {
  for (uint32_t i = 0; i < count; ++i) {
    std::string f = name(i);
    int fd = ::open(f.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return fail(why, "create " + f, errno);
    ::close(fd);
    if (i % 256 == 0) check_stop();
  }
  return 0;
}

// stat-tree's tree: p.files files over kTreeDirs subdirectories of dir/tree.
int prepare_tree(const std::string& dir, const WorkParams& p, std::string* why) {
  std::string stamp = dir + "/tree.stamp";
  if (stamped(stamp, p.files)) return 0;
  if (int r = make_dir(dir + "/tree", why); r < 0) return r;
  for (uint32_t d = 0; d < kTreeDirs; ++d)
    if (int r = make_dir(tree_subdir(dir, d), why); r < 0) return r;
  if (int r = create_empty(p.files, [&](uint32_t i) { return tree_file(dir, i); }, why); r < 0) return r;
  return write_stamp(stamp, p.files, why);
}

// The directory readdir and readdir-stat list: p.entries empty files.
int prepare_listed_dir(const std::string& dir, const WorkParams& p, std::string* why) {
  std::string stamp = dir + "/dir.stamp", d = listed_dir(dir);
  if (stamped(stamp, p.entries)) return 0;
  if (int r = make_dir(d, why); r < 0) return r;
  if (int r = create_empty(p.entries, [&](uint32_t i) { return fmt::format("{}/f{:06}", d, i); }, why); r < 0)
    return r;
  return write_stamp(stamp, p.entries, why);
}

// stat of every file of the tree, in passes until the runtime is over (at least one whole
// pass). One untimed pass first: the timed ones measure a tree in the caches.
int stat_tree(const std::string& dir, const WorkParams& p, Meter& m, Sample* s, std::string* why) {
  std::vector<std::string> paths;
  paths.reserve(p.files);
  for (uint32_t i = 0; i < p.files; ++i) paths.push_back(tree_file(dir, i));
  struct stat st{};
  for (size_t i = 0; i < paths.size(); ++i) {
    if (::stat(paths[i].c_str(), &st) != 0) return fail(why, "stat " + paths[i], errno);
    if (i % 256 == 0) check_stop();
  }
  m.start();
  Deadline dl(p.runtime);
  for (size_t i = 0;; i = (i + 1) % paths.size()) {
    if (::stat(paths[i].c_str(), &st) != 0) return fail(why, "stat " + paths[i], errno);
    ++s->ops;
    if (dl.over() && s->ops >= paths.size()) break;
  }
  m.stop(s);
  return 0;
}

struct CloseDir {
  void operator()(DIR* d) const { ::closedir(d); }
};

// One listing of the prepared directory, and with stat_each an fstatat of each entry
// (not following symlinks), as ls -l and find do. Every entry and . and .. must come back.
int list_dir(const std::string& dir, bool stat_each, const WorkParams& p, Meter& m, Sample* s, std::string* why) {
  std::string d = listed_dir(dir);
  uint64_t names = 0;
  m.start();
  {
    std::unique_ptr<DIR, CloseDir> dp(::opendir(d.c_str()));
    if (!dp) return fail(why, "opendir " + d, errno);
    struct stat st{};
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(dp.get());
      if (!e) {
        if (errno != 0) return fail(why, "readdir " + d, errno);
        break;
      }
      if (++names % 256 == 0) check_stop();
      bool dot = std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0;
      if (stat_each && !dot && ::fstatat(::dirfd(dp.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return fail(why, fmt::format("stat {}/{}", d, e->d_name), errno);
    }
  }
  s->ops = p.entries;
  m.stop(s);
  if (names != uint64_t(p.entries) + 2) {
    *why = fmt::format("listing {} gave {} names, not its {} entries and . and ..", d, names, p.entries);
    return -EIO;
  }
  return 0;
}

// --- raw device ---------------------------------------------------------------------------

// Runs `count` pieces through a bio chain; piece i is at device offset off_of(i) and
// `piece` bytes long. Stops early at the deadline. Returns pieces done or -errno.
template <typename OffsetFn>
int64_t raw_chain(io::UringDevice& dev, io::BioOp op, bool merge, uint64_t piece, uint64_t count,
                  OffsetFn off_of, double runtime, Buffer& buf) {
  io::BioPool pool(dev, 64);
  io::ChainOptions opts;
  opts.op = op;
  opts.merge = merge;
  Deadline dl(runtime);
  uint64_t done = 0;
  int err = 0;
  {
    io::BioChain chain(pool, opts);
    for (; done < count;) {
      uint64_t off = off_of(done);
      // The chain takes page-sized pieces; a larger piece is its pages in a row.
      for (uint64_t b = 0; b < piece; b += 4096)
        chain.append(io::PageView{buf.at(off + b), 0, 4096}, off + b);
      ++done;
      if (dl.over()) break;
    }
    err = chain.wait();
  }
  if (err < 0) return err;
  if (op == io::BioOp::kWrite)
    if (int r = dev.flush(); r < 0) return r;
  return int64_t(done);
}

}  // namespace

const std::vector<std::string>& all_workloads() {
  static const std::vector<std::string> w{"seq-write-8k", "seq-write-1m", "rand-write-4k", "seq-read-1m",
                                          "rand-read-4k", "files",        "stat-tree",     "readdir",
                                          "readdir-stat"};
  return w;
}

bool is_workload(const std::string& name) {
  const auto& w = all_workloads();
  return std::find(w.begin(), w.end(), name) != w.end();
}

const char* workload_unit(const std::string& name) {
  return is_metadata_workload(name) || name.rfind("rand-", 0) == 0 ? "ops/s" : "MB/s";
}

bool workload_is_read(const std::string& name) {
  return name == "seq-read-1m" || name == "rand-read-4k" || name == "fio-rand-read-4k" || name == "readdir" ||
         name == "readdir-stat";
}

bool workload_uses_seq1m(const std::string& name) {
  return name == "rand-write-4k" || name == "seq-read-1m" || name == "rand-read-4k" || name == "fio-rand-read-4k";
}

int prepare_fs_workload(const std::string& w, const std::string& dir, const WorkParams& p, std::string* why) {
  if (workload_uses_seq1m(w)) {
    std::string b = dir + "/seq1m.dat";
    if (file_pages(b) > 0) return 0;
    Meter unused("", -1);
    Sample ignored;
    return seq_write(b, kMiB, p, unused, &ignored, why);
  }
  if (w == "stat-tree") return prepare_tree(dir, p, why);
  if (w == "readdir" || w == "readdir-stat") return prepare_listed_dir(dir, p, why);
  return 0;
}

int run_fs_workload(const std::string& w, const std::string& dir, const WorkParams& p, Meter& m, Sample* s,
                    std::string* why) {
  std::string a = dir + "/seq8k.dat", b = dir + "/seq1m.dat";
  if (w == "seq-write-8k") return seq_write(a, 8 * kKiB, p, m, s, why);
  if (w == "seq-write-1m") return seq_write(b, kMiB, p, m, s, why);
  if (w == "rand-write-4k") return rand_write(b, p, m, s, why);
  if (w == "seq-read-1m") return seq_read(b, p, m, s, why);
  if (w == "rand-read-4k") return rand_read(b, p, m, s, why);
  if (w == "files") return files(dir, p, m, s, why);
  if (w == "stat-tree") return stat_tree(dir, p, m, s, why);
  if (w == "readdir") return list_dir(dir, false, p, m, s, why);
  if (w == "readdir-stat") return list_dir(dir, true, p, m, s, why);
  return fail(why, "unknown workload " + w, EINVAL);
}

int run_raw_workload(const std::string& w, const std::string& device, const WorkParams& p, Meter& m, Sample* s,
                     std::string* why) {
  if (is_metadata_workload(w)) {
    *why = "no files on a raw device";
    return -EOPNOTSUPP;
  }
  std::unique_ptr<io::UringDevice> dev;
  io::OpenOptions oo;
  if (int r = io::UringDevice::open(device, oo, {}, &dev); r < 0) return fail(why, "open " + device, -r);
  if (!dev->direct()) {
    *why = device + " refuses O_DIRECT";
    return -EINVAL;
  }
  uint64_t size = std::min<uint64_t>(p.size, dev->size_bytes() / 2) / kMiB * kMiB;
  if (size == 0) return fail(why, device + " is too small", ENOSPC);
  // Area A (the 8 KiB writes) at 0, area B (1 MiB writes, random I/O, reads) after it.
  uint64_t a = 0, b = size;
  Buffer buf(kBufBytes);
  std::mt19937_64 rng(p.seed + (workload_is_read(w) ? 1 : 0));
  std::uniform_int_distribution<uint64_t> pick(0, size / 4096 - 1);
  uint64_t rand_ops = std::max<uint64_t>(p.size / 4096 / 4, 1);
  int64_t done = 0;
  uint64_t piece = 0;
  m.start();
  if (w == "seq-write-8k") {
    piece = 8 * kKiB;
    done = raw_chain(*dev, io::BioOp::kWrite, true, piece, size / piece, [&](uint64_t i) { return a + i * piece; },
                     p.runtime, buf);
  } else if (w == "seq-write-1m" || w == "seq-read-1m") {
    piece = kMiB;
    done = raw_chain(*dev, w == "seq-write-1m" ? io::BioOp::kWrite : io::BioOp::kRead, true, piece, size / piece,
                     [&](uint64_t i) { return b + i * piece; }, p.runtime, buf);
  } else if (w == "rand-write-4k" || w == "rand-read-4k") {
    piece = 4096;
    done = raw_chain(*dev, w == "rand-write-4k" ? io::BioOp::kWrite : io::BioOp::kRead, false, piece, rand_ops,
                     [&](uint64_t) { return b + pick(rng) * 4096; }, p.runtime, buf);
  } else {
    return fail(why, "unknown workload " + w, EINVAL);
  }
  if (done < 0) return fail(why, w + " on " + device, int(-done));
  s->ops = uint64_t(done);
  s->bytes = uint64_t(done) * piece;
  m.stop(s);
  return 0;
}

}  // namespace chainfs::bench
