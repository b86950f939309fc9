#include "fs/cache/stats_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

namespace chainfs::cache {

int write_file_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  size_t done = 0;
  int err = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = -errno;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) < 0 && err == 0) err = -errno;
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) < 0) err = -errno;
  if (err < 0) ::unlink(tmp.c_str());
  return err;
}

StatsWriter::StatsWriter(std::string path, Source source, uint32_t interval_ms)
    : path_(std::move(path)), source_(std::move(source)), interval_ms_(interval_ms) {
  write_now();
  if (interval_ms_) thread_ = std::thread([this] { loop(); });
}

StatsWriter::~StatsWriter() {
  {
    base::MutexLock lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  write_now();
}

int StatsWriter::write_now() {
  base::MutexLock lk(mu_);
  nlohmann::json doc;
  try {
    doc = source_();
  } catch (const std::exception&) {
    // A source that throws (e.g. bad_alloc) costs one refresh, not the daemon.
    return last_error_ = last_error_ ? last_error_ : -ENOMEM;
  }
  doc["updated_unix_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  int r = write_file_atomic(path_, doc.dump(2) + "\n");
  if (r < 0 && last_error_ == 0) last_error_ = r;
  if (r == 0) ++writes_;
  return r;
}

int StatsWriter::last_error() const {
  base::MutexLock lk(mu_);
  return last_error_;
}

uint64_t StatsWriter::writes() const {
  base::MutexLock lk(mu_);
  return writes_;
}

void StatsWriter::loop() {
  base::MutexLock lk(mu_);
  for (;;) {
    // The refresh timer; stop() wakes it at once.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(interval_ms_);
    while (!stop_ && cv_.wait_until(mu_, deadline)) {
    }
    if (stop_) return;
    lk.unlock();
    write_now();
    lk.lock();
  }
}

}  // namespace chainfs::cache
