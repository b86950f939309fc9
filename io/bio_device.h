#pragma once
// BioDevice: the asynchronous side of a device, what the bio_chain builder (and the page
// cache) submit to. UringDevice implements it on io_uring; SyncBioDevice on any Device
// (tests, fault injection).
//
// Contract:
//  * submit() never fails. A bio that exceeds limits() is split into children views first
//    (compound completion). Errors (negative errno) arrive as the status of the bio's end-io
//    callbacks, which run once per bio, where the device's completion mode says
//    (completion_thread.h).
//  * Callbacks may take locks and free memory; they must not submit to or wait on the same
//    device (in completion=inline they run in the reaper, which would deadlock).
//  * wait_until(done) blocks until done() is true. done() is evaluated with the device's
//    completion lock held, and also without it: keep it to loads of atomics or of state
//    guarded by a lock taken after that one. In completion=waiter mode the waiting thread
//    runs callbacks meanwhile, and it always runs those of its own inline-completion bios
//    on a device that reaps them in the waiting thread (UringDevice).
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>

#include "io/bio.h"
#include "io/io_stats.h"
#include "io/queue_limits.h"

namespace chainfs::io {

class BioDevice {
 public:
  virtual ~BioDevice() = default;
  BioDevice() = default;
  BioDevice(const BioDevice&) = delete;
  BioDevice& operator=(const BioDevice&) = delete;

  virtual const QueueLimits& limits() const = 0;
  // Starts the bios, in one batch where the device can. REQUIRES: each bio was reset() with
  // its op and offset, has its segments, and stays alive until its callbacks have run.
  virtual void submit(Bio* const* bios, size_t n) = 0;
  void submit(Bio& bio) {
    Bio* p = &bio;
    submit(&p, 1);
  }
  virtual void wait_until(const std::function<bool()>& done) = 0;
  // Requests handed to the device and not yet reaped.
  virtual uint32_t in_flight() const = 0;
  virtual IoStats& stats() = 0;
};

// Helpers for implementations.

// The first half of submit(): bios over `limits` become children views, counted in `stats`;
// every leaf goes to submit_leaves in one batch; then each parent drops its own reference,
// so it finishes with its last child.
void submit_split(const QueueLimits& limits, IoStats& stats, Bio* const* bios, size_t n,
                  const std::function<void(Bio* const* leaves, size_t n)>& submit_leaves);

// A synchronous request through dev's submit() and wait_until(), for a device's readv, writev
// and flush (iov unused for kFlush). -EIO past device_size; 0 or the bio's status.
int sync_bio_io(BioDevice& dev, uint64_t device_size, BioOp op, uint64_t offset, const struct iovec* iov,
                int iovcnt);

}  // namespace chainfs::io
