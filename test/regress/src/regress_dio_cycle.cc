// regress_dio_cycle: buffered readers racing asynchronous O_DIRECT writes of one file. The
// writer fills the whole file with one of two patterns per cycle through io_uring (an async
// kiocb, as libaio's io_submit gives), waits for the completion, then reads the file back
// buffered and with O_DIRECT: both must show the pattern just written. Meanwhile READERS
// threads read the whole file buffered in a loop, so pages of the old contents keep entering
// the page cache while the direct write is in flight.
//
//   regress_dio_cycle [-c CYCLES] [-t SECONDS] [-r READERS] [-b BYTES] FILE
//
// Prints "ok: N cycles" or "stale data from buffered|direct read in cycle N at offset X" and
// exits 1 on a mismatch.
#include <fcntl.h>
#include <liburing.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

struct AlignedBuf {
  explicit AlignedBuf(size_t n) {
    if (posix_memalign(&p, 4096, n) != 0) {
      std::perror("posix_memalign");
      std::exit(2);
    }
  }
  ~AlignedBuf() { std::free(p); }
  AlignedBuf(const AlignedBuf&) = delete;
  AlignedBuf& operator=(const AlignedBuf&) = delete;
  char* data() const { return static_cast<char*>(p); }
  void* p = nullptr;
};

bool read_all(const char* path, int flags, char* buf, size_t n) {
  int fd = open(path, flags);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < n) {
    ssize_t r = pread(fd, buf + done, n - done, static_cast<off_t>(done));
    if (r <= 0) break;
    done += static_cast<size_t>(r);
  }
  close(fd);
  return done == n;
}

// Offset of the first byte of buf that is not c, or -1.
long first_mismatch(const char* buf, size_t n, char c) {
  for (size_t i = 0; i < n; ++i)
    if (buf[i] != c) return static_cast<long>(i);
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  long cycles = 2000, seconds = 20, readers = 4;
  size_t bytes = 655360;
  int c;
  while ((c = getopt(argc, argv, "c:t:r:b:")) != -1) {
    switch (c) {
      case 'c': cycles = std::atol(optarg); break;
      case 't': seconds = std::atol(optarg); break;
      case 'r': readers = std::atol(optarg); break;
      case 'b': bytes = std::strtoul(optarg, nullptr, 0); break;
      default:
        std::fprintf(stderr, "usage: %s [-c CYCLES] [-t SECONDS] [-r READERS] [-b BYTES] FILE\n", argv[0]);
        return 2;
    }
  }
  if (optind != argc - 1 || bytes == 0 || bytes % 4096 != 0) {
    std::fprintf(stderr, "%s: one FILE and a BYTES multiple of 4096 needed\n", argv[0]);
    return 2;
  }
  const char* path = argv[optind];
  const char patterns[2] = {0x55, static_cast<char>(0xaa)};
  AlignedBuf src0(bytes), src1(bytes), check(bytes);
  std::memset(src0.data(), patterns[0], bytes);
  std::memset(src1.data(), patterns[1], bytes);
  const char* src[2] = {src0.data(), src1.data()};

  int fd = open(path, O_RDWR | O_CREAT | O_DIRECT, 0600);
  if (fd < 0 || pwrite(fd, src[0], bytes, 0) != static_cast<ssize_t>(bytes) || fsync(fd) != 0) {
    std::perror(path);
    return 2;
  }
  close(fd);

  io_uring ring;
  if (int e = io_uring_queue_init(4, &ring, 0); e < 0) {
    std::fprintf(stderr, "io_uring_queue_init: %s\n", std::strerror(-e));
    return 2;
  }

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (long i = 0; i < readers; ++i)
    threads.emplace_back([&] {
      std::vector<char> buf(bytes);
      while (!stop.load(std::memory_order_relaxed)) read_all(path, O_RDONLY, buf.data(), bytes);
    });

  int rc = 0;
  long n = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  for (; n < cycles && std::chrono::steady_clock::now() < deadline; ++n) {
    int which = static_cast<int>((n + 1) % 2);
    fd = open(path, O_RDWR | O_DIRECT);
    if (fd < 0) {
      std::perror("open");
      rc = 2;
      break;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_write(sqe, fd, src[which], static_cast<unsigned>(bytes), 0);
    io_uring_submit(&ring);
    io_uring_cqe* cqe = nullptr;
    int e = io_uring_wait_cqe(&ring, &cqe);
    int res = e < 0 ? e : cqe->res;
    if (e == 0) io_uring_cqe_seen(&ring, cqe);
    close(fd);
    if (res != static_cast<int>(bytes)) {
      std::fprintf(stderr, "direct write in cycle %ld: %s\n", n, res < 0 ? std::strerror(-res) : "short");
      rc = 2;
      break;
    }
    for (int direct = 0; direct < 2 && rc == 0; ++direct) {
      if (!read_all(path, direct ? O_RDONLY | O_DIRECT : O_RDONLY, check.data(), bytes)) {
        std::fprintf(stderr, "read in cycle %ld failed\n", n);
        rc = 2;
      } else if (long at = first_mismatch(check.data(), bytes, patterns[which]); at >= 0) {
        std::printf("stale data from %s read in cycle %ld at offset %ld\n", direct ? "direct" : "buffered", n, at);
        rc = 1;
      }
    }
    if (rc) break;
  }
  stop = true;
  for (auto& t : threads) t.join();
  io_uring_queue_exit(&ring);
  if (rc == 0) std::printf("ok: %ld cycles\n", n);
  return rc;
}
