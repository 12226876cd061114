// net/errc.cpp — the "goro" error category (goro/errc.hpp).
#include "goro/errc.hpp"

#include <string>

namespace goro {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "goro"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::canceled: return "context canceled";
      case errc::deadline_exceeded: return "context deadline exceeded";
      case errc::timeout: return "i/o timeout";
      case errc::closed: return "use of closed network connection";
    }
    return "goro error " + std::to_string(value);
  }
  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<errc>(value)) {
      case errc::canceled: return std::errc::operation_canceled;
      case errc::deadline_exceeded:
      case errc::timeout: return std::errc::timed_out;
      case errc::closed: return std::errc::bad_file_descriptor;
    }
    return {value, *this};
  }
};

}  // namespace

const std::error_category& goro_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace goro
