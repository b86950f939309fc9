#include "io/recording_device.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/bio.h"

namespace chainfs::io {

namespace {

constexpr char kMagic[8] = {'C', 'H', 'F', 'S', 'W', 'L', 'O', 'G'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kRecordMagic = 0x52454357;
constexpr size_t kHeaderBytes = 32;
constexpr size_t kRecordHead = 32;

void put32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void put64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t get32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}
uint64_t get64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

int write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return 0;
}

std::string gather(const struct iovec* iov, int iovcnt) {
  size_t total = 0;
  for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
  std::string s;
  s.reserve(total);
  for (int i = 0; i < iovcnt; ++i) s.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  return s;
}

}  // namespace

WriteLog::~WriteLog() {
  if (fd_ >= 0) ::close(fd_);
}

int WriteLog::open_file(const std::string& path, uint32_t block_size, uint64_t device_size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  char h[kHeaderBytes] = {};
  std::memcpy(h, kMagic, 8);
  put32(h + 8, kVersion);
  put32(h + 12, block_size);
  put64(h + 16, device_size);
  if (int e = write_all(fd, h, sizeof h); e < 0) {
    ::close(fd);
    return e;
  }
  base::MutexLock l(mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  file_bytes_ = kHeaderBytes;
  file_error_ = 0;
  return 0;
}

void WriteLog::append_locked(LogEntry::Type type, uint64_t offset, std::string data) {
  uint64_t seq = count_++;
  if (fd_ >= 0 && file_error_ == 0) {
    std::string rec(kRecordHead, '\0');
    put32(rec.data(), kRecordMagic);
    put32(rec.data() + 4, type);
    put64(rec.data() + 8, seq);
    put64(rec.data() + 16, offset);
    put64(rec.data() + 24, data.size());
    rec += data;
    if (int e = write_all(fd_, rec.data(), rec.size()); e < 0)
      file_error_ = e;
    else
      file_bytes_ += rec.size();
  }
  if (keep_) entries_.push_back(LogEntry{type, offset, std::move(data), file_bytes_});
}

void WriteLog::record_write(uint64_t offset, const struct iovec* iov, int iovcnt) {
  std::string data = gather(iov, iovcnt);
  base::MutexLock l(mu_);
  append_locked(LogEntry::kWrite, offset, std::move(data));
}

void WriteLog::record_flush() {
  base::MutexLock l(mu_);
  append_locked(LogEntry::kFlush, 0, {});
}

uint64_t WriteLog::size() const {
  base::MutexLock l(mu_);
  return count_;
}

uint64_t WriteLog::file_bytes() const {
  base::MutexLock l(mu_);
  return file_bytes_;
}

int WriteLog::file_error() const {
  base::MutexLock l(mu_);
  return file_error_;
}

std::vector<LogEntry> WriteLog::entries(uint64_t from) const {
  base::MutexLock l(mu_);
  if (from >= entries_.size()) return {};
  return {entries_.begin() + static_cast<std::ptrdiff_t>(from), entries_.end()};
}

int read_write_log(const std::string& path, WriteLogFile* out, std::string* msg) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  std::string buf;
  char chunk[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd, chunk, sizeof chunk);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = -errno;
      ::close(fd);
      return e;
    }
    if (r == 0) break;
    buf.append(chunk, static_cast<size_t>(r));
  }
  ::close(fd);
  *out = WriteLogFile{};
  if (buf.size() < kHeaderBytes || std::memcmp(buf.data(), kMagic, 8) != 0) {
    *msg = path + ": not a chainfs write log (bad magic)";
    return -EINVAL;
  }
  if (get32(buf.data() + 8) != kVersion) {
    *msg = path + ": write log version " + std::to_string(get32(buf.data() + 8)) + " (this tool reads 1)";
    return -EINVAL;
  }
  out->block_size = get32(buf.data() + 12);
  out->device_size = get64(buf.data() + 16);
  size_t pos = kHeaderBytes;
  uint64_t seq = 0;
  while (pos < buf.size()) {
    if (buf.size() - pos < kRecordHead) break;
    const char* h = buf.data() + pos;
    uint32_t type = get32(h + 4);
    uint64_t len = get64(h + 24);
    if (get32(h) != kRecordMagic || get64(h + 8) != seq || (type != LogEntry::kWrite && type != LogEntry::kFlush) ||
        len > buf.size() - pos - kRecordHead)
      break;
    LogEntry e;
    e.type = static_cast<LogEntry::Type>(type);
    e.offset = get64(h + 16);
    e.data.assign(h + kRecordHead, len);
    pos += kRecordHead + len;
    e.file_end = pos;
    out->entries.push_back(std::move(e));
    ++seq;
  }
  out->torn_tail = pos < buf.size();
  return 0;
}

int RecordingDevice::readv(uint64_t offset, const struct iovec* iov, int iovcnt) {
  return inner_->readv(offset, iov, iovcnt);
}

int RecordingDevice::writev(uint64_t offset, const struct iovec* iov, int iovcnt) {
  int r = inner_->writev(offset, iov, iovcnt);
  if (r == 0) log_->record_write(offset, iov, iovcnt);
  return r;
}

int RecordingDevice::flush() {
  log_->record_flush();
  return inner_->flush();
}

RecordingBioDevice::RecordingBioDevice(std::unique_ptr<Device> inner, std::shared_ptr<WriteLog> log)
    : bio_(inner->bio_face()), sync_(std::move(inner), std::move(log)) {}

void RecordingBioDevice::submit(Bio* const* bios, size_t n) {
  std::vector<Bio*> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Bio* b = bios[i];
    switch (b->op()) {
      case BioOp::kRead: out.push_back(b); break;
      case BioOp::kFlush:
        sync_.log().record_flush();
        out.push_back(b);
        break;
      case BioOp::kWrite: {
        // The shadow owns a copy of the segment list (the inner device may refine it when
        // it splits), over the same memory; the caller's bio stays untouched until end().
        auto* s = new Bio;
        s->reset(BioOp::kWrite, b->offset());
        for (int k = 0; k < b->iovcnt(); ++k) s->add_segment(b->iov()[k].iov_base, b->iov()[k].iov_len);
        WriteLog* log = &sync_.log();
        s->push_end_io([log, b](Bio& shadow, int status) {
          if (status == 0) log->record_write(shadow.offset(), b->iov(), b->iovcnt());
          b->end(status);
        });
        s->set_release([](void*, Bio* bio) { delete bio; }, nullptr);
        out.push_back(s);
        break;
      }
    }
  }
  bio_->submit(out.data(), out.size());
}

std::unique_ptr<Device> make_recording_device(std::unique_ptr<Device> inner, std::shared_ptr<WriteLog> log) {
  if (inner->bio_face())
    return std::make_unique<RecordingBioDevice>(std::move(inner), std::move(log));
  return std::make_unique<RecordingDevice>(std::move(inner), std::move(log));
}

}  // namespace chainfs::io
