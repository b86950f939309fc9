#pragma once
// FuseArgs: RAII owner of a libfuse argument vector (struct fuse_args), which
// fuse_opt_parse() and fuse_opt_add_arg() reallocate and fuse_opt_free_args() frees.
#include <fuse_opt.h>

#include <string>
#include <vector>

namespace chainfs::daemon {

class FuseArgs {
 public:
  FuseArgs() = default;
  ~FuseArgs() { fuse_opt_free_args(&args_); }
  FuseArgs(FuseArgs&& o) noexcept : args_(o.args_) { o.args_ = FUSE_ARGS_INIT(0, nullptr); }
  FuseArgs& operator=(FuseArgs&& o) noexcept {
    if (this != &o) {
      fuse_opt_free_args(&args_);
      args_ = o.args_;
      o.args_ = FUSE_ARGS_INIT(0, nullptr);
    }
    return *this;
  }
  FuseArgs(const FuseArgs&) = delete;
  FuseArgs& operator=(const FuseArgs&) = delete;

  struct fuse_args* get() { return &args_; }
  // Appends one argument (copied); 0 or -ENOMEM.
  int add(const std::string& arg) { return fuse_opt_add_arg(&args_, arg.c_str()) == 0 ? 0 : -12; }
  std::vector<std::string> to_vector() const {
    return std::vector<std::string>(args_.argv, args_.argv + args_.argc);
  }

 private:
  struct fuse_args args_ = FUSE_ARGS_INIT(0, nullptr);
};

}  // namespace chainfs::daemon
