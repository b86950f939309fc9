#include "io/recording_device.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "io/bio.h"
#include "io/borrowed_device.h"
#include "io/faulty_device.h"
#include "io/mem_device.h"
#include "io/uring_device.h"
#include "io_test_util.h"
#include "mem/aligned_buffer.h"

using namespace chainfs;
using io::LogEntry;

namespace {

std::string block(char c, size_t n = 4096) { return std::string(n, c); }

std::string temp_path() {
  char tmpl[] = "/var/tmp/chainfs-wlog-XXXXXX";
  int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  close(fd);
  return tmpl;
}

}  // namespace

TEST_CASE("RecordingDevice: writes (gathered from their iovecs) and flushes in order, and the inner device gets them") {
  io::MemDevice mem(1 << 20);
  auto log = std::make_shared<io::WriteLog>();
  auto dev = io::make_recording_device(std::make_unique<io::BorrowedDevice>(mem), log);
  CHECK(dynamic_cast<io::BioDevice*>(dev.get()) == nullptr);  // a MemDevice has no bio face

  std::string a = block('a'), b = block('b', 8192);
  REQUIRE(dev->write(4096, a.data(), a.size()) == 0);
  REQUIRE(dev->flush() == 0);
  struct iovec v[2] = {{b.data(), 4096}, {b.data() + 4096, 4096}};
  REQUIRE(dev->writev(65536, v, 2) == 0);

  REQUIRE(log->size() == 3);
  auto e = log->entries();
  REQUIRE(e.size() == 3);
  CHECK(e[0].type == LogEntry::kWrite);
  CHECK(e[0].offset == 4096);
  CHECK(e[0].data == a);
  CHECK(e[1].type == LogEntry::kFlush);
  CHECK(e[2].offset == 65536);
  CHECK(e[2].data == b);
  CHECK(mem.flushes() == 1);
  CHECK(std::memcmp(mem.bytes().data() + 65536, b.data(), b.size()) == 0);
  CHECK(log->entries(2).size() == 1);
}

TEST_CASE("RecordingDevice: a failed write is not logged (it never completed)") {
  io::MemDevice mem(1 << 20);
  io::FaultyDevice faulty(mem, false);
  faulty.fail_range(8192, 4096, io::FaultyDevice::kWrite);
  auto log = std::make_shared<io::WriteLog>();
  auto dev = io::make_recording_device(std::make_unique<io::BorrowedDevice>(faulty), log);
  std::string a = block('x');
  CHECK(dev->write(8192, a.data(), a.size()) == -EIO);
  CHECK(log->size() == 0);
  CHECK(dev->write(0, a.data(), a.size()) == 0);
  CHECK(log->size() == 1);
}

TEST_CASE("WriteLog: the file sink reads back record for record, and a torn tail ends the log") {
  std::string path = temp_path();
  {
    io::MemDevice mem(1 << 20);
    auto log = std::make_shared<io::WriteLog>(false);  // file only
    REQUIRE(log->open_file(path, 4096, mem.size_bytes()) == 0);
    auto dev = io::make_recording_device(std::make_unique<io::BorrowedDevice>(mem), log);
    for (int i = 0; i < 5; ++i) {
      std::string d = block(static_cast<char>('0' + i));
      REQUIRE(dev->write(uint64_t(i) * 4096, d.data(), d.size()) == 0);
      if (i % 2) REQUIRE(dev->flush() == 0);
    }
    CHECK(log->size() == 7);
    CHECK(log->entries().empty());
    CHECK(log->file_error() == 0);
    CHECK(log->file_bytes() == 32 + 7 * 32 + 5 * 4096);
  }
  io::WriteLogFile f;
  std::string msg;
  REQUIRE(io::read_write_log(path, &f, &msg) == 0);
  CHECK(f.block_size == 4096);
  CHECK(f.device_size == (1u << 20));
  CHECK_FALSE(f.torn_tail);
  REQUIRE(f.entries.size() == 7);
  std::vector<uint32_t> types;
  for (auto& e : f.entries) types.push_back(e.type);
  CHECK(types == std::vector<uint32_t>{1, 1, 2, 1, 1, 2, 1});
  CHECK(f.entries[3].offset == 2 * 4096);
  CHECK(f.entries[3].data == block('2'));
  CHECK(f.entries.back().file_end == 32 + 7 * 32 + 5 * 4096);

  // Cut the last record in half, as a SIGKILL in the middle of its write(2) would.
  REQUIRE(truncate(path.c_str(), static_cast<off_t>(f.entries.back().file_end - 100)) == 0);
  REQUIRE(io::read_write_log(path, &f, &msg) == 0);
  CHECK(f.torn_tail);
  CHECK(f.entries.size() == 6);

  // Not a log at all.
  REQUIRE(truncate(path.c_str(), 0) == 0);
  CHECK(io::read_write_log(path, &f, &msg) == -EINVAL);
  CHECK(msg.find("not a chainfs write log") != std::string::npos);
  unlink(path.c_str());
}

TEST_CASE("RecordingBioDevice: bios on a UringDevice are logged before their callbacks run, in one log with writev") {
  for (io::CompletionMode m : {io::CompletionMode::kInline, io::CompletionMode::kThread, io::CompletionMode::kWaiter}) {
    CAPTURE(io::to_string(m));
    test::TempImage img(4 << 20);
    io::UringOptions uo;
    uo.completion = m;
    std::unique_ptr<io::UringDevice> ud;
    REQUIRE(io::UringDevice::open(img.path(), {}, uo, &ud) == 0);
    auto log = std::make_shared<io::WriteLog>();
    auto dev = io::make_recording_device(std::move(ud), log);
    auto* bdev = dynamic_cast<io::BioDevice*>(dev.get());
    REQUIRE(bdev != nullptr);

    mem::AlignedBuffer meta(4096);
    std::memset(meta.data(), 'm', 4096);
    REQUIRE(dev->write(0, meta.data(), 4096) == 0);  // the synchronous face

    constexpr int kBios = 8;
    mem::AlignedBuffer data(kBios * 8192);
    for (int i = 0; i < kBios * 8192; ++i) data.data()[i] = static_cast<char>('A' + i / 8192);
    std::vector<io::Bio> bios(kBios);
    std::atomic<int> done{0}, logged_before_callback{0};
    std::vector<io::Bio*> ptrs;
    for (int i = 0; i < kBios; ++i) {
      bios[i].reset(io::BioOp::kWrite, 65536 + uint64_t(i) * 8192);
      bios[i].add_segment(data.data() + i * 8192, 4096);
      bios[i].add_segment(data.data() + i * 8192 + 4096, 4096);
      uint64_t off = bios[i].offset();
      bios[i].push_end_io([&, off](io::Bio&, int st) {
        CHECK(st == 0);
        for (auto& e : log->entries())
          if (e.type == LogEntry::kWrite && e.offset == off) {
            logged_before_callback.fetch_add(1);
            break;
          }
        done.fetch_add(1);
      });
      ptrs.push_back(&bios[i]);
    }
    bdev->submit(ptrs.data(), ptrs.size());
    bdev->wait_until([&] { return done.load() == kBios; });
    CHECK(logged_before_callback.load() == kBios);

    io::Bio fl;
    fl.reset(io::BioOp::kFlush, 0);
    std::atomic<bool> flushed{false};
    fl.push_end_io([&](io::Bio&, int st) {
      CHECK(st == 0);
      flushed = true;
    });
    bdev->submit(fl);
    bdev->wait_until([&] { return flushed.load(); });

    auto e = log->entries();
    REQUIRE(e.size() == 1 + kBios + 1);
    CHECK(e[0].offset == 0);
    CHECK(e[0].data == std::string(4096, 'm'));
    CHECK(e.back().type == LogEntry::kFlush);
    for (int i = 1; i <= kBios; ++i) {
      REQUIRE(e[i].type == LogEntry::kWrite);
      REQUIRE(e[i].data.size() == 8192);
      uint64_t k = (e[i].offset - 65536) / 8192;
      CHECK(e[i].data == std::string(8192, static_cast<char>('A' + k)));
    }
    // The data reached the image.
    mem::AlignedBuffer back(8192);
    REQUIRE(dev->read(65536 + 3 * 8192, back.data(), 8192) == 0);
    CHECK(std::string(back.data(), 8192) == std::string(8192, 'D'));
  }
}
