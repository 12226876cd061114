// arch/context_aarch64.cpp — the initial frame of a fresh aarch64 context.
// The layout must match switch_aarch64_aapcs.S (see the table there).
#if defined(__aarch64__)

#include <cstdint>
#include <cstring>

#include "arch/context.hpp"

extern "C" void goro_context_start();

namespace goro::detail::arch {
namespace {

struct initial_frame {
  std::uint64_t x19, x20, x21, x22, x23, x24, x25, x26, x27, x28;
  std::uint64_t x29, x30;
  std::uint64_t d8, d9, d10, d11, d12, d13, d14, d15;
  std::uint64_t fpcr;
  std::uint64_t unused;
};
static_assert(offsetof(initial_frame, x19) == 0);
static_assert(offsetof(initial_frame, x20) == 8);
static_assert(offsetof(initial_frame, x29) == 80);
static_assert(offsetof(initial_frame, x30) == 88);
static_assert(offsetof(initial_frame, d8) == 96);
static_assert(offsetof(initial_frame, fpcr) == 160);
static_assert(sizeof(initial_frame) == 176);

}  // namespace

void* make_context(void* stack_top, void (*entry)(void*), void* arg) {
  auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
  auto* frame = reinterpret_cast<initial_frame*>(top - sizeof(initial_frame));
  std::memset(frame, 0, sizeof *frame);  // FPCR 0: round to nearest, no traps
  frame->x19 = reinterpret_cast<std::uint64_t>(arg);
  frame->x20 = reinterpret_cast<std::uint64_t>(entry);
  frame->x30 = reinterpret_cast<std::uint64_t>(&goro_context_start);
  return frame;
}

}  // namespace goro::detail::arch

#endif
