#pragma once
// The mount daemon's whole life, from argv to exit status (tools/chainfs/main.cc calls it):
// parse options -> check the mountpoint -> fork (see daemonize.h) -> open the device
// exclusively -> fs::mount_filesystem -> fuse_session_new -> signal handlers ->
// fuse_session_mount -> release the waiting parent -> multi-threaded loop ->
// fuse_session_unmount -> Filesystem::unmount -> close the device.
// Exit status as mount(8) reads it: 0, 1 (usage), 32 (mount failure).
namespace chainfs::daemon {

int daemon_main(int argc, char** argv);

}  // namespace chainfs::daemon
