#include "tools/chainfs/fault_hook.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "io/fault_injector.h"

namespace chainfs::daemon {

int inject_faults_if_asked(std::unique_ptr<io::Device>* dev) {
  const char* path = std::getenv("CHAINFS_FAULT_CONTROL");
  if (!path || !*path) return 0;
  std::string why;
  auto wrapped = io::make_fault_injector(std::move(*dev), path, &why);
  if (!wrapped) {
    spdlog::error("{}", why);
    return -EINVAL;
  }
  *dev = std::move(wrapped);
  return 0;
}

}  // namespace chainfs::daemon
