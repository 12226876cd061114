// debug/unwind_context_x86_64.cpp — unw_context_t from an x86-64 switch frame
// (see unwind_context.hpp; the frame is laid out in arch/switch_x86_64_sysv.S:
// 0 MXCSR/x87 CW, 16 r15, 24 r14, 32 r13, 40 r12, 48 rbx, 56 rbp, 64 return
// address; 72 bytes in all below the caller's stack pointer).
#if defined(__x86_64__)

#include <ucontext.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "debug/unwind_context.hpp"

namespace goro::detail {

static_assert(std::is_same_v<unw_context_t, ucontext_t>,
              "libunwind's x86-64 context is expected to be a ucontext_t");

// The frame lives on another goroutine's stack: read it without ASan's
// checks (nothing of it is a C++ object).
__attribute__((no_sanitize("address"))) bool unw_context_from_switch_frame(
    const void* saved_sp, unw_context_t* uc) noexcept {
  const auto* frame = static_cast<const std::uint64_t*>(saved_sp);
  std::memset(uc, 0, sizeof *uc);
  greg_t* r = uc->uc_mcontext.gregs;
  r[REG_R15] = static_cast<greg_t>(frame[2]);
  r[REG_R14] = static_cast<greg_t>(frame[3]);
  r[REG_R13] = static_cast<greg_t>(frame[4]);
  r[REG_R12] = static_cast<greg_t>(frame[5]);
  r[REG_RBX] = static_cast<greg_t>(frame[6]);
  r[REG_RBP] = static_cast<greg_t>(frame[7]);
  r[REG_RIP] = static_cast<greg_t>(frame[8]);
  r[REG_RSP] = static_cast<greg_t>(reinterpret_cast<std::uintptr_t>(saved_sp) + 72);
  return true;
}

}  // namespace goro::detail

#endif
