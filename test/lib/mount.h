#pragma once
// Mount: a chainfs mount owned by a test. The constructor starts the daemon (or adopts a
// mount made by mount(8)); the destructor unmounts it, waits for the daemon to flush and
// exit, and kills it if it hangs, also when the test failed half-way. Declare the
// mountpoint's TempDir and the LoopDevice before the Mount, so they outlive it.
#include <sys/types.h>

#include <string>
#include <vector>

namespace chainfs::test {

// True when path (canonical) is a mount point in /proc/self/mountinfo.
bool is_mounted(const std::string& path);
// The mountinfo line fields for path: {source, fstype, mount options}; empty if absent.
std::vector<std::string> mount_info(const std::string& path);
// Pids of running chainfs daemons whose command line names mountpoint.
std::vector<pid_t> daemons_for(const std::string& mountpoint);

class Mount {
 public:
  struct Adopt {};
  // Runs "daemon dev mnt [-o opts]" and requires exit status 0 (throws with stderr).
  Mount(const std::string& daemon, const std::string& dev, const std::string& mnt, const std::string& opts = "");
  // Takes responsibility for a mount made some other way.
  Mount(Adopt, const std::string& mnt);
  ~Mount();
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;

  const std::string& path() const { return mnt_; }
  // Unmounts (umount, retried while busy, lazily as a last resort) and waits up to
  // wait_s for the daemon to exit (SIGKILL after). Returns true when it exited by itself.
  bool unmount(int wait_s = 30);
  // Forgets the mount without touching it (the test unmounted it itself).
  void disown() { active_ = false; }

 private:
  std::string mnt_;
  bool active_ = false;
};

}  // namespace chainfs::test
