// debug/unwind_context_aarch64.cpp — unw_context_t from an aarch64 switch
// frame (see unwind_context.hpp; the frame is laid out in
// arch/switch_aarch64_aapcs.S: x19..x28 at 0..72, x29 at 80, x30 (where the
// context resumes) at 88, d8..d15, FPCR; 176 bytes below the caller's sp).
// Untested: the aarch64 CI build has no arm64 libunwind, so it is built
// without this file.
#if defined(__aarch64__)

#include <ucontext.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "debug/unwind_context.hpp"

namespace goro::detail {

static_assert(std::is_same_v<unw_context_t, ucontext_t>,
              "libunwind's aarch64 context is expected to be a ucontext_t");

__attribute__((no_sanitize("address"))) bool unw_context_from_switch_frame(
    const void* saved_sp, unw_context_t* uc) noexcept {
  const auto* frame = static_cast<const std::uint64_t*>(saved_sp);
  std::memset(uc, 0, sizeof *uc);
  for (int i = 0; i <= 11; ++i) uc->uc_mcontext.regs[19 + i] = frame[i];  // x19..x30
  uc->uc_mcontext.sp = reinterpret_cast<std::uintptr_t>(saved_sp) + 176;
  uc->uc_mcontext.pc = frame[11];
  return true;
}

}  // namespace goro::detail

#endif
