#pragma once
// Checks a mountpoint before anything is opened: it exists, is a directory, and is empty
// unless nonempty is allowed. Returns 0 with *absolute set to its canonical path, or a
// negative errno with *message set to one line.
#include <string>

namespace chainfs::daemon {

int check_mountpoint(const std::string& path, bool allow_nonempty, std::string* absolute, std::string* message);

}  // namespace chainfs::daemon
