// regress_fsx: a random file-operation exerciser with a model of the expected contents, in the
// manner of fstests' fsx. Every operation is applied to the file and to an in-memory copy; reads
// compare the two, and the file size is checked after every operation.
//
//   regress_fsx [-N ops] [-S seed] [-l maxlen] [-o maxoplen] [-b base] [-d | -M] [-a align]
//               [-X op,op...] [-c closeprob] [-f fullcheck] [-v] FILE
//
//   -N  number of operations (default 10000)      -S  seed (default 1); the same seed replays
//   -l  largest file length in the model (256 KiB)  -o  largest read/write length (64 KiB)
//   -b  offset of the modelled region (to exercise offsets beyond 4 GiB; the file is sparse below)
//   -d  every read and write uses O_DIRECT (offsets and lengths aligned to -a, default 4096)
//   -M  mixed: each read and write picks buffered or O_DIRECT at random (cache coherence)
//   -X  disable operations: read write mapread mapwrite trunc falloc punch zero
//   -c  close, drop the cached pages and reopen with probability 1/closeprob after an op (64)
//   -f  verify the whole file every this many operations (1000), and always at the end
//   -v  log every operation to stderr
//
// fallocate modes the filesystem refuses with EOPNOTSUPP are disabled (noted on stderr). On a
// mismatch it prints the bad range, the operation that last wrote it, the last operations and the
// ops that touched the range, then exits 1. Success prints "All N operations completed A-OK!".
#include <fcntl.h>
#include <getopt.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

enum Op { kRead, kWrite, kMapRead, kMapWrite, kTrunc, kFalloc, kPunch, kZero, kNumOps };
constexpr const char* kOpNames[kNumOps] = {"read", "write", "mapread", "mapwrite", "trunc", "falloc", "punch", "zero"};
constexpr int kWeights[kNumOps] = {25, 30, 8, 8, 8, 7, 7, 7};
constexpr uint64_t kBlock = 4096;

struct LogEntry {
  uint64_t n;
  Op op;
  uint64_t off, len;
  uint64_t size_after;
  bool direct, keep;
};

struct Options {
  uint64_t ops = 10000, seed = 1, maxlen = 256 * 1024, maxoplen = 64 * 1024, base = 0, align = 4096;
  uint64_t closeprob = 64, fullcheck = 1000;
  bool direct = false, mixed = false, verbose = false;
  bool enabled[kNumOps] = {true, true, true, true, true, true, true, true};
  std::string path;
};

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

class Fsx {
 public:
  explicit Fsx(Options o) : o_(std::move(o)), rng_(o_.seed), good_(o_.maxlen, 0), blockop_(o_.maxlen / kBlock + 1, 0) {
    void* p = nullptr;
    if (posix_memalign(&p, 4096, o_.maxlen + 2 * o_.align) != 0) std::abort();
    buf_.reset(static_cast<char*>(p));
  }

  int run() {
    if (!open_file(true)) return 1;
    for (n_ = 1; n_ <= o_.ops; ++n_) {
      if (!step()) return fail_exit();
      if (o_.fullcheck && n_ % o_.fullcheck == 0 && !check_all()) return fail_exit();
      if (o_.closeprob && rng_() % o_.closeprob == 0 && !reopen()) return fail_exit();
    }
    --n_;
    if (!check_all() || !reopen() || !check_all()) return fail_exit();
    close_file();
    std::printf("All %llu operations completed A-OK!\n", static_cast<unsigned long long>(o_.ops));
    return 0;
  }

 private:
  uint64_t rnd(uint64_t n) { return n ? rng_() % n : 0; }
  void fill(char* p, uint64_t len) {
    for (uint64_t i = 0; i < len; i += 8) {
      uint64_t v = rng_();
      std::memcpy(p + i, &v, std::min<uint64_t>(8, len - i));
    }
  }
  bool use_direct() { return o_.direct || (o_.mixed && rng_() % 2); }

  bool open_file(bool create) {
    int flags = O_RDWR | (create ? O_CREAT | O_TRUNC : 0);
    fd_ = open(o_.path.c_str(), flags, 0644);
    if (fd_ < 0) return sys_error("open");
    if (o_.direct || o_.mixed) {
      dfd_ = open(o_.path.c_str(), O_RDWR | O_DIRECT);
      if (dfd_ < 0) return sys_error("open O_DIRECT");
    }
    if (create && o_.base && ftruncate(fd_, static_cast<off_t>(o_.base)) < 0) return sys_error("ftruncate base");
    return true;
  }
  void close_file() {
    if (dfd_ >= 0) close(dfd_);
    if (fd_ >= 0) close(fd_);
    fd_ = dfd_ = -1;
  }
  // Closing, dropping cached pages and reopening makes later reads come from the filesystem.
  bool reopen() {
    if (fsync(fd_) < 0) return sys_error("fsync");
    posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED);
    close_file();
    return open_file(false);
  }

  bool sys_error(const char* what) {
    std::printf("op %llu: %s failed: %s (%s)\n", static_cast<unsigned long long>(n_), what,
                strerrorname_np(errno) ? strerrorname_np(errno) : "?", std::strerror(errno));
    return false;
  }

  Op pick() {
    int total = 0;
    for (int i = 0; i < kNumOps; ++i) total += o_.enabled[i] ? kWeights[i] : 0;
    int r = static_cast<int>(rnd(static_cast<uint64_t>(total)));
    for (int i = 0; i < kNumOps; ++i) {
      if (!o_.enabled[i]) continue;
      if (r < kWeights[i]) return static_cast<Op>(i);
      r -= kWeights[i];
    }
    return kRead;
  }

  void record(Op op, uint64_t off, uint64_t len, bool direct, bool keep) {
    log_.push_back({n_, op, off, len, size_, direct, keep});
    if (o_.verbose) {
      std::fprintf(stderr, "%llu %s 0x%llx len 0x%llx%s%s size 0x%llx\n", static_cast<unsigned long long>(n_),
                   kOpNames[op], static_cast<unsigned long long>(off + o_.base), static_cast<unsigned long long>(len),
                   direct ? " direct" : "", keep ? " keep_size" : "", static_cast<unsigned long long>(size_ + o_.base));
    }
  }
  void touched(uint64_t off, uint64_t len) {
    for (uint64_t b = off / kBlock; b <= (off + len - 1) / kBlock && b < blockop_.size(); ++b) {
      blockop_[b] = static_cast<uint32_t>(n_);
    }
  }
  void set_size(uint64_t s) {
    if (s < size_) std::fill(good_.begin() + static_cast<long>(s), good_.begin() + static_cast<long>(size_), 0);
    if (s != size_) touched(std::min(s, size_), std::max(s, size_) - std::min(s, size_));
    size_ = s;
  }

  // Random range inside the model; aligned when it will be used for O_DIRECT.
  void range(uint64_t limit, uint64_t& off, uint64_t& len, bool aligned) {
    off = rnd(limit);
    len = 1 + rnd(o_.maxoplen);
    if (aligned) {
      off &= ~(o_.align - 1);
      len = (len + o_.align - 1) & ~(o_.align - 1);
    }
    if (off + len > o_.maxlen) len = o_.maxlen - off;
  }

  bool step() {
    Op op = pick();
    uint64_t off = 0, len = 0;
    bool direct = false, keep = false;
    switch (op) {
      case kRead: {
        if (size_ == 0) return record(op, 0, 0, false, false), true;
        direct = use_direct();
        range(size_, off, len, direct);
        if (!direct) len = std::min(len, size_ - off);
        record(op, off, len, direct, false);
        return do_read(off, len, direct);
      }
      case kWrite: {
        direct = use_direct();
        range(o_.maxlen, off, len, direct);
        record(op, off, len, direct, false);
        fill(buf_.get(), len);
        if (!pwrite_all(direct ? dfd_ : fd_, buf_.get(), len, off)) return sys_error("pwrite");
        std::memcpy(good_.data() + off, buf_.get(), len);
        touched(off, len);
        if (off + len > size_) size_ = off + len;
        break;
      }
      case kMapRead: {
        if (size_ == 0) return record(op, 0, 0, false, false), true;
        range(size_, off, len, false);
        len = std::min(len, size_ - off);
        record(op, off, len, false, false);
        return do_mapread(off, len);
      }
      case kMapWrite: {
        range(o_.maxlen, off, len, false);
        record(op, off, len, false, false);
        if (off + len > size_) {
          if (ftruncate(fd_, static_cast<off_t>(o_.base + off + len)) < 0) return sys_error("ftruncate for mapwrite");
          set_size(off + len);
        }
        uint64_t abs = o_.base + off, pg = abs & ~(kBlock - 1), mlen = abs - pg + len;
        void* p = mmap(nullptr, mlen, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, static_cast<off_t>(pg));
        if (p == MAP_FAILED) return sys_error("mmap");
        fill(good_.data() + off, len);
        std::memcpy(static_cast<char*>(p) + (abs - pg), good_.data() + off, len);
        touched(off, len);
        bool ok = rng_() % 2 == 0 || msync(p, mlen, MS_SYNC) == 0;
        munmap(p, mlen);
        if (!ok) return sys_error("msync");
        break;
      }
      case kTrunc: {
        uint64_t s = rnd(o_.maxlen + 1);
        if (o_.direct && rng_() % 2) s &= ~(o_.align - 1);
        record(op, s, 0, false, false);
        if (ftruncate(fd_, static_cast<off_t>(o_.base + s)) < 0) return sys_error("ftruncate");
        set_size(s);
        break;
      }
      case kFalloc:
      case kPunch:
      case kZero: {
        range(o_.maxlen, off, len, false);
        keep = op == kPunch || rng_() % 2;
        record(op, off, len, false, keep);
        int mode = op == kFalloc ? 0 : op == kPunch ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE;
        if (keep) mode |= FALLOC_FL_KEEP_SIZE;
        if (fallocate(fd_, mode, static_cast<off_t>(o_.base + off), static_cast<off_t>(len)) < 0) {
          if (errno == EOPNOTSUPP && !worked_[op]) {
            // Refused before anything was changed: the filesystem lacks this mode.
            std::fprintf(stderr, "regress_fsx: %s not supported, disabled\n", kOpNames[op]);
            o_.enabled[op] = false;
            log_.back().len = 0;
            return true;
          }
          return sys_error(kOpNames[op]);
        }
        worked_[op] = true;
        uint64_t end = off + len;
        if (op != kFalloc) {
          uint64_t zend = keep ? std::min(end, size_) : end;
          if (zend > off) std::fill(good_.begin() + static_cast<long>(off), good_.begin() + static_cast<long>(zend), 0);
          touched(off, len);
        }
        if (!keep && end > size_) size_ = end;
        break;
      }
      case kNumOps:
        break;
    }
    log_.back().size_after = size_;
    return check_size();
  }

  bool pwrite_all(int fd, const char* p, uint64_t len, uint64_t off) {
    uint64_t done = 0;
    while (done < len) {
      ssize_t w = pwrite(fd, p + done, len - done, static_cast<off_t>(o_.base + off + done));
      if (w <= 0) return false;
      done += static_cast<uint64_t>(w);
    }
    return true;
  }

  bool check_size() {
    struct stat st {};
    if (fstat(fd_, &st) < 0) return sys_error("fstat");
    uint64_t want = o_.base + size_;
    if (static_cast<uint64_t>(st.st_size) != want) {
      std::printf("op %llu: file size 0x%llx, expected 0x%llx\n", static_cast<unsigned long long>(n_),
                  static_cast<unsigned long long>(st.st_size), static_cast<unsigned long long>(want));
      return false;
    }
    return true;
  }

  bool do_read(uint64_t off, uint64_t len, bool direct) {
    uint64_t expect = std::min(len, size_ - off), got = 0;
    char* p = buf_.get();
    while (got < len) {
      ssize_t r = pread(direct ? dfd_ : fd_, p + got, len - got, static_cast<off_t>(o_.base + off + got));
      if (r < 0) return sys_error(direct ? "pread O_DIRECT" : "pread");
      if (r == 0) break;
      got += static_cast<uint64_t>(r);
      if (direct) break;  // a short O_DIRECT read ends at EOF; the rest would be misaligned
    }
    if (got != expect) {
      std::printf("op %llu: short read: %llu bytes at 0x%llx, expected %llu\n", static_cast<unsigned long long>(n_),
                  static_cast<unsigned long long>(got), static_cast<unsigned long long>(o_.base + off),
                  static_cast<unsigned long long>(expect));
      return false;
    }
    return compare(p, off, expect, direct ? "read (O_DIRECT)" : "read");
  }

  bool do_mapread(uint64_t off, uint64_t len) {
    uint64_t abs = o_.base + off, pg = abs & ~(kBlock - 1), mlen = abs - pg + len;
    void* p = mmap(nullptr, mlen, PROT_READ, MAP_SHARED, fd_, static_cast<off_t>(pg));
    if (p == MAP_FAILED) return sys_error("mmap read");
    bool ok = compare(static_cast<char*>(p) + (abs - pg), off, len, "mapread");
    munmap(p, mlen);
    return ok;
  }

  bool check_all() {
    uint64_t got = 0;
    while (got < size_) {
      ssize_t r = pread(fd_, buf_.get() + got, size_ - got, static_cast<off_t>(o_.base + got));
      if (r < 0) return sys_error("pread (full check)");
      if (r == 0) break;
      got += static_cast<uint64_t>(r);
    }
    if (got != size_) {
      std::printf("op %llu: full check read %llu bytes, expected %llu\n", static_cast<unsigned long long>(n_),
                  static_cast<unsigned long long>(got), static_cast<unsigned long long>(size_));
      return false;
    }
    return compare(buf_.get(), 0, size_, "full check") && check_size();
  }

  bool compare(const char* p, uint64_t off, uint64_t len, const char* what) {
    if (std::memcmp(p, good_.data() + off, len) == 0) return true;
    uint64_t i = 0;
    while (p[i] == good_[off + i]) ++i;
    uint64_t j = i;
    while (j < len && p[j] != good_[off + j]) ++j;
    uint64_t bad = off + i;
    std::printf("op %llu: %s MISMATCH at file offset 0x%llx, %llu bad bytes from there (range read 0x%llx+0x%llx)\n",
                static_cast<unsigned long long>(n_), what, static_cast<unsigned long long>(o_.base + bad),
                static_cast<unsigned long long>(j - i), static_cast<unsigned long long>(o_.base + off),
                static_cast<unsigned long long>(len));
    std::printf("  offset     expected  got\n");
    for (uint64_t k = i; k < std::min(j, i + 16); ++k) {
      std::printf("  0x%08llx 0x%02x      0x%02x\n", static_cast<unsigned long long>(o_.base + off + k),
                  static_cast<unsigned char>(good_[off + k]), static_cast<unsigned char>(p[k]));
    }
    std::printf("  the block was last changed by op %u\n", blockop_[bad / kBlock]);
    bad_off_ = bad;
    bad_len_ = j - i;
    return false;
  }

  void print_entry(const LogEntry& e) {
    std::printf("  %6llu %-8s 0x%09llx len 0x%06llx%s%s -> size 0x%llx\n", static_cast<unsigned long long>(e.n),
                kOpNames[e.op], static_cast<unsigned long long>(e.off + o_.base), static_cast<unsigned long long>(e.len),
                e.direct ? " direct" : "", e.keep ? " keep_size" : "",
                static_cast<unsigned long long>(e.size_after + o_.base));
  }

  int fail_exit() {
    std::printf("regress_fsx: FAILED at op %llu (seed %llu); replay with the same -S and -N\n",
                static_cast<unsigned long long>(n_), static_cast<unsigned long long>(o_.seed));
    std::printf("last operations:\n");
    size_t from = log_.size() > 40 ? log_.size() - 40 : 0;
    for (size_t i = from; i < log_.size(); ++i) print_entry(log_[i]);
    if (bad_len_) {
      std::printf("operations that touched the bad range 0x%llx+0x%llx (last 20):\n",
                  static_cast<unsigned long long>(bad_off_ + o_.base), static_cast<unsigned long long>(bad_len_));
      std::vector<const LogEntry*> hits;
      for (const LogEntry& e : log_) {
        // A truncate to below the end of the range zeroed or exposed part of it.
        uint64_t hi = e.op == kTrunc ? o_.maxlen : e.off + e.len;
        if (e.op != kRead && e.op != kMapRead && e.off < bad_off_ + bad_len_ && hi > bad_off_) hits.push_back(&e);
      }
      for (size_t i = hits.size() > 20 ? hits.size() - 20 : 0; i < hits.size(); ++i) print_entry(*hits[i]);
    }
    close_file();
    return 1;
  }

  Options o_;
  std::mt19937_64 rng_;
  std::vector<char> good_;
  std::vector<uint32_t> blockop_;
  std::unique_ptr<char, FreeDeleter> buf_;
  std::vector<LogEntry> log_;
  uint64_t n_ = 0, size_ = 0, bad_off_ = 0, bad_len_ = 0;
  bool worked_[kNumOps] = {};
  int fd_ = -1, dfd_ = -1;
};

uint64_t num(const char* s) {
  char* end = nullptr;
  uint64_t v = std::strtoull(s, &end, 0);
  switch (*end) {
    case 'k': case 'K': return v << 10;
    case 'm': case 'M': return v << 20;
    case 'g': case 'G': return v << 30;
    default: return v;
  }
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: regress_fsx [-N ops] [-S seed] [-l maxlen] [-o maxoplen] [-b base] [-d|-M] [-a align]\n"
               "                   [-X op,...] [-c closeprob] [-f fullcheck] [-v] FILE\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  int c;
  while ((c = getopt(argc, argv, "N:S:l:o:b:dMa:X:c:f:vh")) != -1) {
    switch (c) {
      case 'N': o.ops = num(optarg); break;
      case 'S': o.seed = num(optarg); break;
      case 'l': o.maxlen = num(optarg); break;
      case 'o': o.maxoplen = num(optarg); break;
      case 'b': o.base = num(optarg); break;
      case 'd': o.direct = true; break;
      case 'M': o.mixed = true; break;
      case 'a': o.align = num(optarg); break;
      case 'c': o.closeprob = num(optarg); break;
      case 'f': o.fullcheck = num(optarg); break;
      case 'v': o.verbose = true; break;
      case 'X': {
        std::string_view list = optarg;
        while (!list.empty()) {
          auto comma = list.find(',');
          std::string_view name = list.substr(0, comma);
          list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
          auto it = std::find(std::begin(kOpNames), std::end(kOpNames), name);
          if (it == std::end(kOpNames)) usage();
          o.enabled[it - std::begin(kOpNames)] = false;
        }
        break;
      }
      default: usage();
    }
  }
  if (optind != argc - 1 || o.maxlen == 0 || o.maxoplen == 0 || o.align == 0 || (o.align & (o.align - 1)) ||
      o.maxlen % o.align || (o.base % kBlock)) {
    usage();
  }
  if (std::none_of(std::begin(o.enabled), std::end(o.enabled), [](bool b) { return b; })) usage();
  o.path = argv[optind];
  return Fsx(std::move(o)).run();
}
