#pragma once
// LoopDevice: attaches an image file to a free loop device; the destructor detaches it
// (if something still holds it open, the kernel detaches it on the last close).
#include <string>

namespace chainfs::test {

class LoopDevice {
 public:
  explicit LoopDevice(const std::string& image);  // throws std::runtime_error
  ~LoopDevice();
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace chainfs::test
