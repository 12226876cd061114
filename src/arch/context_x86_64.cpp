// arch/context_x86_64.cpp — the initial frame of a fresh x86-64 context.
// The layout must match switch_x86_64_sysv.S (see the table there).
#if defined(__x86_64__)

#include <cstdint>
#include <cstring>

#include "arch/context.hpp"

extern "C" void goro_context_start();

namespace goro::detail::arch {
namespace {

struct initial_frame {
  std::uint32_t mxcsr;
  std::uint16_t x87_control_word;
  std::uint16_t unused0;
  std::uint64_t unused1;
  std::uint64_t r15, r14, r13, r12, rbx, rbp;
  std::uint64_t return_address;
  std::uint64_t alignment_pad;  // keeps the stack 16-byte aligned at entry's call
};
static_assert(offsetof(initial_frame, mxcsr) == 0);
static_assert(offsetof(initial_frame, x87_control_word) == 4);
static_assert(offsetof(initial_frame, r15) == 16);
static_assert(offsetof(initial_frame, r13) == 32);
static_assert(offsetof(initial_frame, r12) == 40);
static_assert(offsetof(initial_frame, rbp) == 56);
static_assert(offsetof(initial_frame, return_address) == 64);
static_assert(sizeof(initial_frame) == 80);

}  // namespace

void* make_context(void* stack_top, void (*entry)(void*), void* arg) {
  auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
  // After the switch pops the frame and returns into goro_context_start, rsp
  // is frame + 72; the `call` there needs rsp % 16 == 0, so frame % 16 == 8.
  auto* frame = reinterpret_cast<initial_frame*>(top - sizeof(initial_frame) - 8);
  std::memset(frame, 0, sizeof *frame);
  frame->mxcsr = 0x1F80;            // all exceptions masked, round to nearest
  frame->x87_control_word = 0x037F; // the ABI's initial x87 control word
  frame->r13 = reinterpret_cast<std::uint64_t>(entry);
  frame->r12 = reinterpret_cast<std::uint64_t>(arg);
  frame->return_address = reinterpret_cast<std::uint64_t>(&goro_context_start);
  return frame;
}

}  // namespace goro::detail::arch

#endif
