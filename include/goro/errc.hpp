// goro/errc.hpp — goro's error codes, for std::error_code.
//
//   std::error_code ec = ctx.err();
//   if (ec == goro::errc::deadline_exceeded) ...        // exactly this code
//   if (ec == std::errc::timed_out) ...                 // any timeout (Go's Timeout())
//
// Go's sentinel errors (context.Canceled, context.DeadlineExceeded, ...)
// are values of goro::errc in the "goro" category; their message() is Go's
// error text. Each maps to the closest portable condition
// (std::errc::operation_canceled, std::errc::timed_out), so code written
// against std::errc recognises them. Values are stable and only ever added.
#pragma once

#include <system_error>
#include <type_traits>

#include "goro/export.hpp"

namespace goro {

enum class errc {
  canceled = 1,           // "context canceled" (Go's context.Canceled)
  deadline_exceeded = 2,  // "context deadline exceeded" (Go's context.DeadlineExceeded)
};

// The "goro" category.
GORO_EXPORT const std::error_category& goro_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), goro_category()};
}

}  // namespace goro

template <>
struct std::is_error_code_enum<goro::errc> : std::true_type {};
