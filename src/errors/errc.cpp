// errors/errc.cpp — the "goro" error category (goro/errc.hpp).
//
// Owns: the text of each goro::errc value (Go's error strings) and the
// portable condition each is equivalent to. A new value needs a message and,
// if one fits, a std::errc condition here; unknown values still print.
#include <string>

#include "goro/errc.hpp"

namespace goro {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "goro"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::canceled:
        return "context canceled";
      case errc::deadline_exceeded:
        return "context deadline exceeded";
      case errc::timeout:
        return "i/o timeout";
      case errc::closed:
        return "use of closed network connection";
    }
    return "goro error " + std::to_string(value);
  }

  // Go's DeadlineExceeded and i/o timeout report Timeout() == true: here
  // they compare equal to std::errc::timed_out; Canceled to
  // std::errc::operation_canceled; a closed connection to EBADF.
  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<errc>(value)) {
      case errc::canceled:
        return std::errc::operation_canceled;
      case errc::deadline_exceeded:
      case errc::timeout:
        return std::errc::timed_out;
      case errc::closed:
        return std::errc::bad_file_descriptor;
    }
    return {value, *this};
  }
};

}  // namespace

const std::error_category& goro_category() noexcept {
  static const category c;
  return c;
}

}  // namespace goro
