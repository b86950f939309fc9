#pragma once
// The remount control channel between "chainfs ... -o remount,ro|rw" (run by mount(8)
// through mount.fuse3) and the running daemon of that mount:
//
//   /run/chainfs/<major>:<minor>.pid   the daemon's pid, keyed by the FUSE connection's
//                                      device number (as in /proc/self/mountinfo)
//   /run/chainfs/<major>:<minor>.ack   "ro 0" / "rw 0" / "rw -30": the daemon's answer
//
// The remounting process changes the kernel mount itself (mount(2) with MS_REMOUNT, the
// equivalent of "mount -i -o remount"), then sends SIGUSR1. The daemon reads the
// superblock's ro/rw state from mountinfo (the kernel is the truth), switches
// Filesystem::set_read_only() to match and writes the .ack file. Only root can signal the
// daemon or write /run/chainfs. CHAINFS_RUN_DIR overrides the directory (tests).
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "fs/meta/filesystem.h"

namespace chainfs::daemon {

std::string run_dir();

// Owns the pid file of a running daemon: written on construction, removed on destruction.
class PidFile {
 public:
  explicit PidFile(std::string key);
  ~PidFile();
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;
  bool ok() const { return ok_; }

 private:
  std::string key_;
  bool ok_ = false;
};

// The daemon's side: a thread that waits for SIGUSR1 and applies the kernel's ro/rw state.
// block_control_signal() must run in the main thread before any other thread starts, so
// that only this thread receives SIGUSR1.
void block_control_signal();

class RemountListener {
 public:
  RemountListener(fs::Filesystem* fs, std::string mount_point, std::string key);
  ~RemountListener();  // stops and joins the thread
  RemountListener(const RemountListener&) = delete;
  RemountListener& operator=(const RemountListener&) = delete;

 private:
  void run();
  void apply();

  fs::Filesystem* fs_;
  std::string mount_point_;
  std::string key_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct CommandLine;

// The remounting process's side. Returns an exit code (0, or 32 with a line on stderr).
int remount(const CommandLine& cl);

}  // namespace chainfs::daemon
