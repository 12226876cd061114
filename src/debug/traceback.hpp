// debug/traceback.hpp — the program counters of a stack (no symbols: see
// symbolize.hpp).
//
// Owns: walking the calling thread's stack (libgcc's _Unwind_Backtrace,
// always available) and the stack of a goroutine that is switched out, from
// the frame arch::goro_context_switch saved at its stack pointer (libunwind's
// unw_init_local on a context rebuilt from that frame, when goro is built with
// libunwind: GORO_HAVE_LIBUNWIND; without it, only the frame where the
// goroutine resumes).
//
// Invariants: pcs[0] is the innermost frame; every pc is a return address
// (look it up at pc - 1); goro_context_start, the outermost frame of every
// goroutine, is left out. A switched-out stack must not run while it is
// walked: the caller guarantees it (dump.cpp's scan handshake, or a stopped
// world). No locks.
#pragma once

#include <cstdint>

namespace goro::detail {

// Go prints at most 100 frames per goroutine.
inline constexpr int max_traceback_frames = 100;

// The calling thread's frames, starting at the caller of `entry`, the
// function whose __builtin_frame_address(0) is `entry_frame` (frames deeper
// than it, and it, are skipped). Returns how many pcs were stored.
int traceback_here(const void* entry_frame, std::uintptr_t* pcs, int max) noexcept;

// In the frames of a walk made inside std::terminate after an uncaught throw,
// drops every frame down to and including the C++ runtime's throw function
// (__cxa_throw, __cxa_rethrow, std::rethrow_exception), so the walk starts
// at the throwing function, as Go's panic trace starts at the panicking one.
// Returns the new count (unchanged if no throw function is found).
int skip_throw_frames(std::uintptr_t* pcs, int n) noexcept;

// The frames of a goroutine switched out with its stack pointer at saved_sp.
int traceback_switched(const void* saved_sp, std::uintptr_t* pcs, int max) noexcept;

// Whether traceback_switched walks whole stacks (built with libunwind).
bool traceback_walks_switched_stacks() noexcept;

}  // namespace goro::detail
