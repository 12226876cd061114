// arch/context.hpp — the machine-level context switch, and nothing else.
//
// Owns: saving the callee-saved state of the running context on its own
// stack, storing its stack pointer, and resuming another context from its
// saved stack pointer. One implementation per CPU/ABI lives beside this file
// (switch_<arch>.S for the switch, context_<arch>.cpp for the initial frame).
//
// What is saved: the registers the ABI says a callee preserves, the floating
// point control state (x86-64: MXCSR and the x87 control word; aarch64:
// FPCR), and the return address. Nothing thread-specific is saved: the
// thread pointer (fs / tpidr_el0) stays with the thread, so a context that
// resumes on another thread sees that thread's TLS. That is what makes
// migration between threads correct, and why the scheduler re-reads its
// thread-local state after every switch.
//
// Invariants: a saved stack pointer points at a frame laid out as in the
// per-arch file; a context is resumed at most once per save.
#pragma once

#include <cstddef>

namespace goro::detail::arch {

// Saves the current context, stores its stack pointer in *save_sp, and
// resumes the context whose stack pointer is `load_sp`. Returns when some
// other context resumes this one.
extern "C" void goro_context_switch(void** save_sp, void* load_sp);

// Prepares a fresh context on the stack whose highest address is `stack_top`
// (exclusive). When first resumed it calls entry(arg) with a 16-byte aligned
// stack; entry must never return. Returns the stack pointer to resume.
void* make_context(void* stack_top, void (*entry)(void*), void* arg);

}  // namespace goro::detail::arch
