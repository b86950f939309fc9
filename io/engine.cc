#include "io/engine.h"

#include "io/named_device.h"

namespace chainfs::io {

int open_engine_device(const std::string& name, const OpenOptions& oo, const EngineOptions& eo,
                       std::unique_ptr<Device>* out, std::string* error) {
  NamedDeviceOptions no;
  no.async = eo.async;
  no.uring.completion = eo.completion;
  no.nbd.completion = eo.completion;
  no.nbd.request_timeout_s = eo.nbd_timeout_s;
  return open_named_device(name, oo, no, out, error);
}

Engine::Engine(Device& dev, const EngineOptions& opts) : opts_(opts), bio_(dev.bio_face()) {
  if (!bio_) {
    own_ = std::make_unique<SyncBioDevice>(dev);
    bio_ = own_.get();
  }
}

const char* Engine::completion_name() const {
  return own_ ? "inline (synchronous device)" : to_string(opts_.completion);
}

}  // namespace chainfs::io
