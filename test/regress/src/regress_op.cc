// regress_op: one system call (or a small scripted sequence of them) per invocation, for the
// regression tests. Prints "OK" or the errno's name (EEXIST, ENOTEMPTY, ...), so a test's golden
// output names the error exactly, independent of the locale and of coreutils' wording.
//
//   regress_op mkdir|rmdir|unlink|readlink PATH        regress_op link|symlink|rename A B
//   regress_op rename2 none|noreplace|exchange|whiteout OLD NEW
//   regress_op open PATH FLAG[,FLAG...]   (rdonly wronly rdwr creat excl trunc append directory nofollow)
//   regress_op chmod PATH OCTAL           regress_op truncate PATH SIZE         regress_op access PATH r|w|x|f
//   regress_op setxattr create|replace|none PATH NAME VALUE
//   regress_op setxattr-size PATH NAME BYTES   (sets a BYTES-long value and reads it back)
//   regress_op seek PATH data|hole OFFSET      (prints the resulting offset)
//   regress_op pattern PATH SIZE SEED          (deterministic pseudo-random contents)
//   regress_op mmap-probe PATH                 (can a shared writable mapping be made?)
//   regress_op mmap-private PATH               (private mapping: sees the file, never writes it)
//   regress_op openunlink PATH                 (an unlinked open file stays usable)
//   regress_op dio PATH                        (O_DIRECT with aligned and misaligned buffers)
//   regress_op crc-fix DEV BLOCK CRCOFF        (recompute a 4 KiB block's crc32c after an edit)
//   regress_op crc32c STRING
//   regress_op createmany DIR PREFIX N | unlinkmany DIR PREFIX N | countdir DIR
//   regress_op readdir-churn DIR N             (readdir while the directory changes)
//   regress_op append PATH TAG COUNT           (COUNT records "TAG n\n" with O_APPEND)
//   regress_op handle-save PATH OUT            (name_to_handle_at: the handle's bytes into OUT)
//   regress_op handle-open MNT IN              (open_by_handle_at: OK and a file's first line, or the errno)
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

int report(int rc) {
  if (rc >= 0) {
    std::puts("OK");
    return 0;
  }
  const char* name = strerrorname_np(errno);
  std::puts(name ? name : "E?");
  return 0;
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "regress_op: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

[[noreturn]] void usage() {
  std::fprintf(stderr, "regress_op: bad arguments (see the comment at the top of regress_op.cc)\n");
  std::exit(2);
}

uint64_t parse_u64(const char* s) { return std::strtoull(s, nullptr, 0); }

// xorshift64*: the same seed gives the same bytes on every run and machine.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 2654435761u + 0x9E3779B97F4A7C15ull) {}
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ull;
  }
  void fill(char* p, size_t n) {
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = next();
      std::memcpy(p + i, &v, std::min<size_t>(8, n - i));
    }
  }
};

int open_flags(std::string_view list) {
  int flags = 0;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view f = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (f == "rdonly") flags |= O_RDONLY;
    else if (f == "wronly") flags |= O_WRONLY;
    else if (f == "rdwr") flags |= O_RDWR;
    else if (f == "creat") flags |= O_CREAT;
    else if (f == "excl") flags |= O_EXCL;
    else if (f == "trunc") flags |= O_TRUNC;
    else if (f == "append") flags |= O_APPEND;
    else if (f == "directory") flags |= O_DIRECTORY;
    else if (f == "nofollow") flags |= O_NOFOLLOW;
    else usage();
  }
  return flags;
}

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using AlignedBuf = std::unique_ptr<char, FreeDeleter>;

AlignedBuf aligned(size_t bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, 4096, bytes) != 0) die("posix_memalign");
  return AlignedBuf(static_cast<char*>(p));
}

bool read_all(int fd, char* buf, size_t n, off_t off) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = pread(fd, buf + done, n - done, off + static_cast<off_t>(done));
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

int cmd_pattern(const char* path, uint64_t size, uint64_t seed) {
  Fd fd(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  if (fd.fd < 0) die(path);
  Rng rng(seed);
  std::vector<char> buf(1 << 20);
  for (uint64_t off = 0; off < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off));
    rng.fill(buf.data(), n);
    if (write(fd.fd, buf.data(), n) != static_cast<ssize_t>(n)) die("write");
    off += n;
  }
  return 0;
}

int cmd_mmap_probe(const char* path) {
  Fd fd(open(path, O_RDWR | O_CREAT | O_TRUNC, 0644));
  if (fd.fd < 0 || ftruncate(fd.fd, 4096) < 0) return report(-1);
  void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd.fd, 0);
  if (p == MAP_FAILED) return report(-1);
  static_cast<char*>(p)[0] = 'x';
  int rc = msync(p, 4096, MS_SYNC);
  munmap(p, 4096);
  return report(rc);
}

// A private writable mapping sees the file, and its stores never reach the file.
int cmd_mmap_private(const char* path) {
  Fd fd(open(path, O_RDWR));
  if (fd.fd < 0) return report(-1);
  struct stat st {};
  if (fstat(fd.fd, &st) < 0 || st.st_size < 4096) die("fstat (the file needs 4 KiB)");
  char before[4096], after[4096];
  if (!read_all(fd.fd, before, sizeof before, 0)) die("read");
  void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd.fd, 0);
  if (p == MAP_FAILED) return report(-1);
  auto* m = static_cast<char*>(p);
  std::printf("mapping shows the file: %s\n", std::memcmp(m, before, 4096) == 0 ? "yes" : "NO");
  std::memset(m, 'z', 100);
  msync(p, 4096, MS_SYNC);
  std::printf("store visible in the mapping: %s\n", m[99] == 'z' ? "yes" : "NO");
  munmap(p, 4096);
  posix_fadvise(fd.fd, 0, 0, POSIX_FADV_DONTNEED);
  if (!read_all(fd.fd, after, sizeof after, 0)) die("read");
  std::printf("file unchanged: %s\n", std::memcmp(before, after, 4096) == 0 ? "yes" : "NO");
  return 0;
}

int cmd_setxattr(const char* how, const char* path, const char* name, const char* value) {
  int flags = 0;
  if (std::strcmp(how, "create") == 0) flags = XATTR_CREATE;
  else if (std::strcmp(how, "replace") == 0) flags = XATTR_REPLACE;
  else if (std::strcmp(how, "none") != 0) usage();
  return report(setxattr(path, name, value, std::strlen(value), flags));
}

int cmd_setxattr_size(const char* path, const char* name, size_t bytes) {
  std::vector<char> v(bytes), back(bytes + 1);
  Rng(bytes).fill(v.data(), v.size());
  if (setxattr(path, name, v.data(), v.size(), 0) < 0) return report(-1);
  ssize_t n = getxattr(path, name, back.data(), back.size());
  if (n < 0) return report(-1);
  if (static_cast<size_t>(n) != bytes || std::memcmp(v.data(), back.data(), bytes) != 0) {
    std::puts("MISMATCH");
    return 1;
  }
  return report(0);
}

int cmd_seek(const char* path, const char* what, off_t off) {
  Fd fd(open(path, O_RDONLY));
  if (fd.fd < 0) return report(-1);
  off_t r = lseek(fd.fd, off, std::strcmp(what, "data") == 0 ? SEEK_DATA : SEEK_HOLE);
  if (r < 0) return report(-1);
  std::printf("%lld\n", static_cast<long long>(r));
  return 0;
}

int cmd_rename2(const char* how, const char* a, const char* b) {
  unsigned flags = 0;
  if (std::strcmp(how, "noreplace") == 0) flags = RENAME_NOREPLACE;
  else if (std::strcmp(how, "exchange") == 0) flags = RENAME_EXCHANGE;
  else if (std::strcmp(how, "whiteout") == 0) flags = RENAME_WHITEOUT;
  else if (std::strcmp(how, "none") != 0) usage();
  return report(renameat2(AT_FDCWD, a, AT_FDCWD, b, flags));
}

// Checks an unlinked file through two descriptors: contents, nlink 0, writes still work.
int cmd_openunlink(const char* path) {
  constexpr size_t kSize = 1 << 20;
  std::vector<char> data(kSize), back(kSize);
  Rng(7).fill(data.data(), kSize);
  Fd a(open(path, O_RDWR | O_CREAT | O_TRUNC, 0644));
  if (a.fd < 0) die(path);
  if (pwrite(a.fd, data.data(), kSize, 0) != static_cast<ssize_t>(kSize)) die("pwrite");
  Fd b(open(path, O_RDONLY));
  if (b.fd < 0) die(path);
  if (unlink(path) < 0) die("unlink");
  struct stat st {};
  std::printf("exists after unlink: %s\n", access(path, F_OK) == 0 ? "yes" : "no");
  if (fstat(a.fd, &st) < 0) die("fstat");
  std::printf("nlink %lu size %lld\n", static_cast<unsigned long>(st.st_nlink), static_cast<long long>(st.st_size));
  std::printf("read via second fd: %s\n",
              read_all(b.fd, back.data(), kSize, 0) && back == data ? "match" : "MISMATCH");
  Rng(8).fill(data.data(), 4096);
  if (pwrite(a.fd, data.data(), 4096, static_cast<off_t>(kSize)) != 4096) die("pwrite after unlink");
  if (fsync(a.fd) < 0) die("fsync after unlink");
  if (fstat(b.fd, &st) < 0) die("fstat");
  std::printf("size after write %lld\n", static_cast<long long>(st.st_size));
  std::printf("read back new data: %s\n",
              read_all(b.fd, back.data(), 4096, static_cast<off_t>(kSize)) &&
                      std::memcmp(back.data(), data.data(), 4096) == 0
                  ? "match"
                  : "MISMATCH");
  return 0;
}

// O_DIRECT: aligned transfers must work and read back; misaligned ones may be refused with
// EINVAL (block filesystems) or accepted (FUSE), but when accepted the data must be right.
int cmd_dio(const char* path) {
  constexpr size_t kMax = 1 << 20;
  Fd dfd(open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644));
  if (dfd.fd < 0) return report(-1);
  Fd bfd(open(path, O_RDONLY));
  if (bfd.fd < 0) die(path);
  AlignedBuf buf = aligned(kMax + 8192), back = aligned(kMax + 8192);
  int bad = 0;
  for (size_t len : {size_t{4096}, size_t{65536}, kMax}) {
    Rng(len).fill(buf.get(), len);
    off_t off = static_cast<off_t>(len) * 3;
    bool ok = pwrite(dfd.fd, buf.get(), len, off) == static_cast<ssize_t>(len);
    std::memset(back.get(), 0, len);
    ok = ok && pread(dfd.fd, back.get(), len, off) == static_cast<ssize_t>(len) &&
         std::memcmp(buf.get(), back.get(), len) == 0;
    std::memset(back.get(), 0, len);
    ok = ok && read_all(bfd.fd, back.get(), len, off) && std::memcmp(buf.get(), back.get(), len) == 0;
    std::printf("aligned %zu bytes: %s\n", len, ok ? "ok" : "FAILED");
    bad += !ok;
  }
  struct Case {
    const char* what;
    size_t buf_off;
    off_t file_off;
    size_t len;
  };
  for (const Case& c : {Case{"misaligned buffer", 1, 0, 4096}, Case{"misaligned offset", 0, 4097, 4096},
                        Case{"misaligned length", 0, 8192, 1000}}) {
    char* p = buf.get() + c.buf_off;
    Rng(c.len + c.buf_off).fill(p, c.len);
    ssize_t w = pwrite(dfd.fd, p, c.len, c.file_off);
    const char* verdict;
    if (w < 0 && errno == EINVAL) {
      verdict = "ok (refused with EINVAL)";
    } else if (w == static_cast<ssize_t>(c.len)) {
      char* q = back.get() + c.buf_off;
      bool same = read_all(bfd.fd, q, c.len, c.file_off) && std::memcmp(p, q, c.len) == 0;
      verdict = same ? "ok (accepted, data correct)" : "FAILED (accepted, data wrong)";
      bad += !same;
    } else {
      verdict = "FAILED (unexpected result)";
      std::fprintf(stderr, "%s: write returned %zd: %s\n", c.what, w, std::strerror(errno));
      ++bad;
    }
    std::printf("%s write: %s\n", c.what, std::strncmp(verdict, "ok", 2) == 0 ? "ok" : verdict);
    std::fprintf(stderr, "%s write: %s\n", c.what, verdict);
  }
  return bad ? 1 : 0;
}

// CRC-32C (Castagnoli), bitwise: "123456789" gives 0xE3069283.
uint32_t crc32c(const unsigned char* p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// Recomputes the checksum of a 4 KiB block whose crc32c (little-endian) is at byte CRCOFF,
// after a test edited a field on purpose (chainfs's superblock: CRCOFF 4).
int cmd_crc_fix(const char* path, uint64_t block, uint64_t crcoff) {
  Fd fd(open(path, O_RDWR));
  if (fd.fd < 0) die(path);
  unsigned char b[4096];
  off_t off = static_cast<off_t>(block * 4096);
  if (!read_all(fd.fd, reinterpret_cast<char*>(b), sizeof b, off) || crcoff > 4092) die("read block");
  std::memset(b + crcoff, 0, 4);
  uint32_t c = crc32c(b, sizeof b);
  for (int i = 0; i < 4; ++i) b[crcoff + static_cast<uint64_t>(i)] = static_cast<unsigned char>(c >> (8 * i));
  if (pwrite(fd.fd, b, sizeof b, off) != static_cast<ssize_t>(sizeof b) || fsync(fd.fd) < 0) die("write block");
  return 0;
}

int cmd_createmany(const std::string& dir, const std::string& prefix, long n, bool create) {
  for (long i = 0; i < n; ++i) {
    std::string p = dir + "/" + prefix + std::to_string(i);
    if (create) {
      int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (fd < 0) die(p.c_str());
      close(fd);
    } else if (unlink(p.c_str()) < 0) {
      die(p.c_str());
    }
  }
  return 0;
}

// Returns every name in DIR except . and ..
std::vector<std::string> list_dir(const char* dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir);
  if (!d) die(dir);
  errno = 0;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
  }
  if (errno) die("readdir");
  closedir(d);
  return names;
}

int cmd_countdir(const char* dir) {
  std::printf("%zu\n", list_dir(dir).size());
  return 0;
}

// Reads DIR while other names are created and removed: each name that stays must be returned
// exactly once, no name twice; then telldir/seekdir must resume where they left off.
int cmd_readdir_churn(const std::string& dir, long n) {
  cmd_createmany(dir, "keep", n, true);
  cmd_createmany(dir, "gone", n / 2, true);
  std::map<std::string, int> seen;
  DIR* d = opendir(dir.c_str());
  if (!d) die(dir.c_str());
  long step = 0, created = 0, removed = 0;
  errno = 0;
  while (dirent* e = readdir(d)) {
    ++seen[e->d_name];
    if (++step % 7 == 0) {
      std::string p = dir + "/new" + std::to_string(created++);
      int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (fd < 0) die(p.c_str());
      close(fd);
      if (removed < n / 2) {
        p = dir + "/gone" + std::to_string(removed++);
        if (unlink(p.c_str()) < 0) die(p.c_str());
      }
    }
    errno = 0;
  }
  if (errno) die("readdir");
  int bad = 0;
  for (long i = 0; i < n; ++i) {
    int c = seen["keep" + std::to_string(i)];
    if (c != 1) {
      if (bad++ < 10) std::printf("keep%ld returned %d times\n", i, c);
    }
  }
  for (auto& [name, count] : seen) {
    if (count > 1 && name.rfind("keep", 0) != 0) {
      if (bad++ < 10) std::printf("%s returned %d times\n", name.c_str(), count);
    }
  }
  std::printf("pass 1 (changing directory): %s\n", bad ? "FAILED" : "ok");

  // Pass 2, directory unchanged: seekdir to remembered positions gives the same names.
  rewinddir(d);
  std::vector<std::pair<long, std::string>> marks;
  long i = 0;
  errno = 0;
  for (;;) {
    long pos = telldir(d);
    dirent* e = readdir(d);
    if (!e) break;
    if (i++ % 13 == 0) marks.emplace_back(pos, e->d_name);
  }
  int bad2 = 0;
  for (auto it = marks.rbegin(); it != marks.rend(); ++it) {
    seekdir(d, it->first);
    dirent* e = readdir(d);
    if (!e || it->second != e->d_name) ++bad2;
  }
  closedir(d);
  std::printf("pass 2 (telldir/seekdir): %s\n", bad2 ? "FAILED" : "ok");
  return bad || bad2 ? 1 : 0;
}

int cmd_append(const char* path, const char* tag, long count) {
  Fd fd(open(path, O_WRONLY | O_CREAT | O_APPEND, 0644));
  if (fd.fd < 0) die(path);
  for (long i = 0; i < count; ++i) {
    char rec[128];
    int len = std::snprintf(rec, sizeof rec, "%s %08ld %s\n", tag, i, "................................");
    if (write(fd.fd, rec, static_cast<size_t>(len)) != len) die("write");
  }
  return 0;
}

int cmd_handle_save(const char* path, const char* out) {
  std::vector<char> buf(sizeof(file_handle) + MAX_HANDLE_SZ);
  auto* h = reinterpret_cast<file_handle*>(buf.data());
  h->handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  if (name_to_handle_at(AT_FDCWD, path, h, &mount_id, 0) != 0) return report(-1);
  FILE* f = std::fopen(out, "wb");
  if (!f) die(out);
  size_t n = sizeof(file_handle) + h->handle_bytes;
  if (std::fwrite(buf.data(), 1, n, f) != n || std::fclose(f) != 0) die(out);
  return report(0);
}

int cmd_handle_open(const char* mnt, const char* in) {
  std::vector<char> buf(sizeof(file_handle) + MAX_HANDLE_SZ);
  FILE* f = std::fopen(in, "rb");
  if (!f) die(in);
  size_t n = std::fread(buf.data(), 1, buf.size(), f);
  std::fclose(f);
  auto* h = reinterpret_cast<file_handle*>(buf.data());
  if (n < sizeof(file_handle) || n != sizeof(file_handle) + h->handle_bytes) usage();
  Fd m(open(mnt, O_RDONLY | O_DIRECTORY));
  if (m.fd < 0) die(mnt);
  Fd fd(open_by_handle_at(m.fd, h, O_RDONLY));
  if (fd.fd < 0) return report(-1);
  struct stat st;
  if (fstat(fd.fd, &st) != 0) die("fstat");
  if (!S_ISREG(st.st_mode)) return report(0);
  char line[256];
  ssize_t r = read(fd.fd, line, sizeof line - 1);
  if (r < 0) return report(-1);
  line[r] = 0;
  if (char* nl = std::strchr(line, '\n')) *nl = 0;
  std::printf("OK %s\n", line);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) usage();
  std::string_view cmd = argv[1];
  auto need = [&](int n) {
    if (argc != n + 2) usage();
  };
  if (cmd == "mkdir") return need(1), report(mkdir(argv[2], 0755));
  if (cmd == "rmdir") return need(1), report(rmdir(argv[2]));
  if (cmd == "unlink") return need(1), report(unlink(argv[2]));
  if (cmd == "link") return need(2), report(link(argv[2], argv[3]));
  if (cmd == "symlink") return need(2), report(symlink(argv[2], argv[3]));
  if (cmd == "rename") return need(2), report(rename(argv[2], argv[3]));
  if (cmd == "rename2") return need(3), cmd_rename2(argv[2], argv[3], argv[4]);
  if (cmd == "chmod") return need(2), report(chmod(argv[2], static_cast<mode_t>(std::strtoul(argv[3], nullptr, 8))));
  if (cmd == "truncate") return need(2), report(truncate(argv[2], static_cast<off_t>(parse_u64(argv[3]))));
  if (cmd == "readlink") {
    need(1);
    char buf[PATH_MAX + 1];
    ssize_t n = readlink(argv[2], buf, PATH_MAX);
    if (n < 0) return report(-1);
    std::printf("%zd bytes\n", n);
    return 0;
  }
  if (cmd == "access") {
    need(2);
    int mode = argv[3][0] == 'r' ? R_OK : argv[3][0] == 'w' ? W_OK : argv[3][0] == 'x' ? X_OK : F_OK;
    return report(access(argv[2], mode));
  }
  if (cmd == "open") {
    need(2);
    int fd = open(argv[2], open_flags(argv[3]), 0644);
    report(fd);
    if (fd >= 0) close(fd);
    return 0;
  }
  if (cmd == "setxattr") return need(4), cmd_setxattr(argv[2], argv[3], argv[4], argv[5]);
  if (cmd == "setxattr-size") return need(3), cmd_setxattr_size(argv[2], argv[3], parse_u64(argv[4]));
  if (cmd == "seek") return need(3), cmd_seek(argv[2], argv[3], static_cast<off_t>(parse_u64(argv[4])));
  if (cmd == "pattern") return need(3), cmd_pattern(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
  if (cmd == "mmap-probe") return need(1), cmd_mmap_probe(argv[2]);
  if (cmd == "mmap-private") return need(1), cmd_mmap_private(argv[2]);
  if (cmd == "openunlink") return need(1), cmd_openunlink(argv[2]);
  if (cmd == "dio") return need(1), cmd_dio(argv[2]);
  if (cmd == "crc-fix") return need(3), cmd_crc_fix(argv[2], parse_u64(argv[3]), parse_u64(argv[4]));
  if (cmd == "crc32c") {
    need(1);
    std::string_view s = argv[2];
    std::printf("0x%08X\n", crc32c(reinterpret_cast<const unsigned char*>(s.data()), s.size()));
    return 0;
  }
  if (cmd == "createmany") return need(3), cmd_createmany(argv[2], argv[3], std::atol(argv[4]), true);
  if (cmd == "unlinkmany") return need(3), cmd_createmany(argv[2], argv[3], std::atol(argv[4]), false);
  if (cmd == "countdir") return need(1), cmd_countdir(argv[2]);
  if (cmd == "readdir-churn") return need(2), cmd_readdir_churn(argv[2], std::atol(argv[3]));
  if (cmd == "append") return need(3), cmd_append(argv[2], argv[3], std::atol(argv[4]));
  if (cmd == "handle-save") return need(2), cmd_handle_save(argv[2], argv[3]);
  if (cmd == "handle-open") return need(2), cmd_handle_open(argv[2], argv[3]);
  usage();
}
