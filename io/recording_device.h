#pragma once
// RecordingDevice: wraps a Device and logs every completed write (offset + bytes) and every
// flush, in completion order, into a WriteLog — enough to rebuild the device as it was at any
// point, and so every state a power cut could have left (crash-consistency testing).
//
// Order of the log:
//  * a write is logged after the inner device completed it and before the caller learns
//    of the completion (writev returns / the bio's end-io callbacks run), so anything that
//    waited for a write finds it in the log before whatever it does next;
//  * a flush is logged when it is issued, before the inner device runs it: it covers
//    exactly the writes logged before it. A write that completes while the flush is in
//    flight comes after the flush entry (as possibly not covered), which is the safe side.
// Both faces of a device that is also an io::BioDevice (UringDevice: metadata through
// Device::writev, file data through bios) go into the same log: make_recording_device()
// returns a RecordingBioDevice for such a device, which records its bios too.
//
// On-disk log (WriteLog with a file sink; read back with read_write_log()): little-endian.
//   header, 32 bytes: magic "CHFSWLOG" (8), version u32 = 1, block size u32 (the inner
//                     device's logical block size), device size u64, reserved u64 = 0;
//   records, each a 32-byte head then the data:
//                     magic u32 = 0x52454357 ("WCER"), type u32 (1 write, 2 flush),
//                     sequence u64 (0, 1, 2, ...: the record's index), offset u64,
//                     length u64 (bytes of data that follow; 0 for a flush).
// Records are appended with one write(2) each, in log order, under the log's lock: a
// reader (another process) sees a prefix of the log at any moment, and after a SIGKILL of
// the writer the file holds every record whose write(2) returned. A record cut short at
// the end of the file (or a bad magic / sequence) ends the log: read_write_log() stops
// there and reports the tail as torn.
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "io/bio_device.h"
#include "io/device.h"

namespace chainfs::io {

struct LogEntry {
  enum Type : uint32_t { kWrite = 1, kFlush = 2 };
  Type type = kWrite;
  uint64_t offset = 0;
  std::string data;          // empty for a flush
  uint64_t file_end = 0;     // byte offset in the log file just after this record
};

// The log of one (or several successive) recorded mounts. Thread-safe.
class WriteLog {
 public:
  // keep_in_memory=false: only the file sink gets the records (a long-running daemon).
  explicit WriteLog(bool keep_in_memory = true) : keep_(keep_in_memory) {}
  ~WriteLog();
  WriteLog(const WriteLog&) = delete;
  WriteLog& operator=(const WriteLog&) = delete;

  // Creates (truncates) path and writes the header; records follow from then on.
  // 0 or -errno.
  int open_file(const std::string& path, uint32_t block_size, uint64_t device_size) EXCLUDES(mu_);

  void record_write(uint64_t offset, const struct iovec* iov, int iovcnt) EXCLUDES(mu_);
  void record_flush() EXCLUDES(mu_);

  // Records so far (also those only in the file).
  uint64_t size() const EXCLUDES(mu_);
  // Bytes of the file so far (0 without a file sink).
  uint64_t file_bytes() const EXCLUDES(mu_);
  // The first error of the file sink (0 if none); a failed write stops the sink.
  int file_error() const EXCLUDES(mu_);
  // A copy of the in-memory records [from, size()).
  std::vector<LogEntry> entries(uint64_t from = 0) const EXCLUDES(mu_);

 private:
  void append_locked(LogEntry::Type type, uint64_t offset, std::string data) REQUIRES(mu_);

  const bool keep_;
  mutable base::Mutex mu_;
  std::vector<LogEntry> entries_ GUARDED_BY(mu_);
  uint64_t count_ GUARDED_BY(mu_) = 0;
  int fd_ GUARDED_BY(mu_) = -1;
  uint64_t file_bytes_ GUARDED_BY(mu_) = 0;
  int file_error_ GUARDED_BY(mu_) = 0;
};

struct WriteLogFile {
  uint32_t block_size = 0;
  uint64_t device_size = 0;
  std::vector<LogEntry> entries;
  bool torn_tail = false;  // bytes after the last whole record (a writer killed mid-record)
};

// Reads a log written by WriteLog::open_file. 0, or -errno (-EINVAL: not a write log,
// with *msg saying why).
int read_write_log(const std::string& path, WriteLogFile* out, std::string* msg);

// Device face only. Owns the inner device.
class RecordingDevice final : public Device {
 public:
  RecordingDevice(std::unique_ptr<Device> inner, std::shared_ptr<WriteLog> log)
      : inner_(std::move(inner)), log_(std::move(log)) {}

  uint64_t size_bytes() const override { return inner_->size_bytes(); }
  const QueueLimits& limits() const override { return inner_->limits(); }
  int readv(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  int writev(uint64_t offset, const struct iovec* iov, int iovcnt) override;
  int flush() override;
  WriteLog& log() { return *log_; }

 private:
  std::unique_ptr<Device> inner_;
  std::shared_ptr<WriteLog> log_;
};

// Both faces, for an inner device that is a Device and a BioDevice (UringDevice). A write
// bio is run as a shadow bio over the same segments; the shadow's completion logs the
// data, then finishes the caller's bio (whose callbacks thus run after the log entry).
class RecordingBioDevice final : public Device, public BioDevice {
 public:
  // REQUIRES: inner->bio_face() != nullptr.
  RecordingBioDevice(std::unique_ptr<Device> inner, std::shared_ptr<WriteLog> log);

  uint64_t size_bytes() const override { return sync_.size_bytes(); }
  const QueueLimits& limits() const override { return sync_.limits(); }
  int readv(uint64_t offset, const struct iovec* iov, int iovcnt) override { return sync_.readv(offset, iov, iovcnt); }
  int writev(uint64_t offset, const struct iovec* iov, int iovcnt) override { return sync_.writev(offset, iov, iovcnt); }
  int flush() override { return sync_.flush(); }
  BioDevice* bio_face() override { return this; }

  using BioDevice::submit;
  void submit(Bio* const* bios, size_t n) override;
  void wait_until(const std::function<bool()>& done) override { bio_->wait_until(done); }
  uint32_t in_flight() const override { return bio_->in_flight(); }
  IoStats& stats() override { return bio_->stats(); }
  WriteLog& log() { return sync_.log(); }

 private:
  BioDevice* bio_;        // the inner device's bio face
  RecordingDevice sync_;  // the Device face; owns the inner device
};

// Wraps inner in the recording device that fits it (RecordingBioDevice when inner is also
// a BioDevice, else RecordingDevice).
std::unique_ptr<Device> make_recording_device(std::unique_ptr<Device> inner, std::shared_ptr<WriteLog> log);

}  // namespace chainfs::io
