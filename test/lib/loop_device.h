#pragma once
// LoopDevice: attaches an image file to a free loop device; the destructor detaches it
// (if something still holds it open, the kernel detaches it on the last close) and waits,
// bounded, until the kernel has done so.
#include <string>

namespace chainfs::test {

class LoopDevice {
 public:
  // direct_io: the loop device reads and writes its file with O_DIRECT, so requests reach
  // the disk below as they are (sizes and splits can be measured). Throws std::runtime_error.
  explicit LoopDevice(const std::string& image, bool direct_io = false);
  ~LoopDevice();
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  const std::string& path() const { return path_; }  // "/dev/loopN"
  std::string name() const { return path_.substr(5); }  // "loopN", as in /sys/block

 private:
  std::string path_;
};

}  // namespace chainfs::test
