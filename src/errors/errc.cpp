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
    }
    return "goro error " + std::to_string(value);
  }

  // Go's DeadlineExceeded reports Timeout() == true: here it compares equal
  // to std::errc::timed_out; Canceled to std::errc::operation_canceled.
  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<errc>(value)) {
      case errc::canceled:
        return std::errc::operation_canceled;
      case errc::deadline_exceeded:
        return std::errc::timed_out;
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
