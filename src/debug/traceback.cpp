// debug/traceback.cpp — stack walking (see traceback.hpp).
#include "debug/traceback.hpp"

#include <dlfcn.h>
#include <unwind.h>

#include <cstdint>
#include <cstring>

#if GORO_HAVE_LIBUNWIND
#include "debug/unwind_context.hpp"
#endif

extern "C" void goro_context_start();

namespace goro::detail {
namespace {

// goro_context_start is a handful of instructions (arch/switch_*.S); its
// call into goroutine_entry returns to within its first 16 bytes.
bool is_context_start(std::uintptr_t return_address) {
  auto start = reinterpret_cast<std::uintptr_t>(&goro_context_start);
  return return_address > start && return_address - 1 < start + 16;
}

struct walk {
  std::uintptr_t limit;
  std::uintptr_t* pcs;
  int n, max;
};

_Unwind_Reason_Code on_frame(_Unwind_Context* ctx, void* arg) {
  auto* w = static_cast<walk*>(arg);
  int before_insn = 0;
  std::uintptr_t ip = _Unwind_GetIPInfo(ctx, &before_insn);
  if (ip == 0) return _URC_END_OF_STACK;
  if (before_insn) ++ip;  // a signal frame: make it look like a return address
  // In this callback _Unwind_GetCFA is the CFA of the frame called from
  // this one, i.e. this frame's stack pointer at the call: at or below the
  // entry function's frame address for the entry and every deeper frame.
  if (_Unwind_GetCFA(ctx) <= w->limit) return _URC_NO_REASON;
  if (is_context_start(ip)) return _URC_END_OF_STACK;
  w->pcs[w->n++] = ip;
  return w->n == w->max ? _URC_END_OF_STACK : _URC_NO_REASON;
}

}  // namespace

int traceback_here(const void* entry_frame, std::uintptr_t* pcs, int max) noexcept {
  if (max <= 0) return 0;
  walk w{reinterpret_cast<std::uintptr_t>(entry_frame), pcs, 0, max};
  _Unwind_Backtrace(&on_frame, &w);
  return w.n;
}

int skip_throw_frames(std::uintptr_t* pcs, int n) noexcept {
  // The throw function is a handful of frames up (std::terminate and its
  // helpers, our handler), found by its exported name; the outermost match
  // wins (a sanitizer's interceptor of __cxa_throw calls the real one).
  constexpr int search = 12;
  int last = -1;
  for (int i = 0; i < n && i < search; ++i) {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(pcs[i] - 1), &info) == 0 || info.dli_sname == nullptr) continue;
    const char* name = info.dli_sname;
    if (std::strstr(name, "__cxa_throw") != nullptr || std::strstr(name, "__cxa_rethrow") != nullptr ||
        std::strstr(name, "rethrow_exception") != nullptr)
      last = i;
  }
  if (last < 0) return n;
  std::memmove(pcs, pcs + last + 1, static_cast<std::size_t>(n - last - 1) * sizeof *pcs);
  return n - last - 1;
}

#if GORO_HAVE_LIBUNWIND

bool traceback_walks_switched_stacks() noexcept { return true; }

int traceback_switched(const void* saved_sp, std::uintptr_t* pcs, int max) noexcept {
  if (max <= 0 || saved_sp == nullptr) return 0;
  unw_context_t uc;
  unw_cursor_t cursor;
  if (!unw_context_from_switch_frame(saved_sp, &uc) || unw_init_local(&cursor, &uc) < 0) return 0;
  int n = 0;
  do {
    unw_word_t ip = 0;
    if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) break;
    if (is_context_start(static_cast<std::uintptr_t>(ip))) break;
    pcs[n++] = static_cast<std::uintptr_t>(ip);
  } while (n < max && unw_step(&cursor) > 0);
  return n;
}

#else

bool traceback_walks_switched_stacks() noexcept { return false; }

// Without an unwinder: where the goroutine resumes (the switch frame's
// return address; see arch/switch_<arch>.S for its offset).
__attribute__((no_sanitize("address"))) int traceback_switched(const void* saved_sp,
                                                                std::uintptr_t* pcs,
                                                                int max) noexcept {
  if (max <= 0 || saved_sp == nullptr) return 0;
  const auto* frame = static_cast<const std::uintptr_t*>(saved_sp);
#if defined(__x86_64__)
  pcs[0] = frame[8];
#elif defined(__aarch64__)
  pcs[0] = frame[11];
#else
  return 0;
#endif
  return 1;
}

#endif

}  // namespace goro::detail
