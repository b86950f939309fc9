#pragma once
// BorrowedDevice: a non-owning view of a Device, for an owner of Devices (a wrapper such as
// RecordingDevice, fs::mount_filesystem) over a device the caller keeps and uses afterwards
// (tests and test tools: the image outlives the mount).
#include "io/device.h"

namespace chainfs::io {

class BorrowedDevice final : public Device {
 public:
  explicit BorrowedDevice(Device& d) : d_(d) {}
  uint64_t size_bytes() const override { return d_.size_bytes(); }
  const QueueLimits& limits() const override { return d_.limits(); }
  int readv(uint64_t o, const struct iovec* v, int n) override { return d_.readv(o, v, n); }
  int writev(uint64_t o, const struct iovec* v, int n) override { return d_.writev(o, v, n); }
  int flush() override { return d_.flush(); }

 private:
  Device& d_;
};

}  // namespace chainfs::io
