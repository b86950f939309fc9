#pragma once
// Result<T>: a value or a negative errno. Errors are values all the way up to the FUSE
// reply. Corruption (bytes on disk that fail a check) is -EUCLEAN inside chainfs; the
// reply layer turns it into EIO for the application and logs it.
#include <cassert>
#include <cerrno>
#include <utility>
#include <variant>

namespace chainfs {

inline constexpr int kCorrupt = EUCLEAN;  // "structure needs cleaning", as ext4's EFSCORRUPTED

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  static Result error(int neg_errno) {
    assert(neg_errno < 0);
    return Result(Err{neg_errno});
  }
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  int err() const { return ok() ? 0 : std::get<1>(v_).e; }  // negative errno, 0 when ok
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  struct Err { int e; };
  explicit Result(Err e) : v_(e) {}
  std::variant<T, Err> v_;
};

// Shorthand for returning an error from a function returning Result<T>.
struct Error {
  int e;  // negative errno
  template <class T>
  operator Result<T>() const { return Result<T>::error(e); }  // NOLINT
};

}  // namespace chainfs
