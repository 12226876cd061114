// debug/unwind_context.hpp — a libunwind context from a saved switch frame.
//
// Owns: the per-architecture translation of the frame that
// arch::goro_context_switch leaves at a switched-out context's stack pointer
// (layout: arch/switch_<arch>.S) into an unw_context_t, as if the context had
// just returned from the switch: callee-saved registers from the frame, the
// instruction pointer = the saved return address, the stack pointer = just
// above the frame. One implementation per architecture
// (unwind_context_<arch>.cpp); only built with libunwind.
#pragma once

#include <libunwind.h>

namespace goro::detail {

// Fills *uc; returns false if this architecture has no translation.
bool unw_context_from_switch_frame(const void* saved_sp, unw_context_t* uc) noexcept;

}  // namespace goro::detail
