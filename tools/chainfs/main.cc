// chainfs: the mount daemon. "chainfs DEV MOUNTPOINT [-o opts] [-f] [-d] [-s]" mounts the
// chainfs on DEV (block device or image file) at MOUNTPOINT through FUSE; mount(8) runs it
// for "mount -t fuse.chainfs DEV MOUNTPOINT" via mount.fuse3, which is why it is installed
// in sbin. Everything happens in daemon.cc; see chainfs --help.
#include "tools/chainfs/daemon.h"

int main(int argc, char** argv) { return chainfs::daemon::daemon_main(argc, argv); }
