// debug/crash.hpp — how goro ends the process: Go's panic and fatal reports.
//
// Owns: the text and exit status of every report that ends the process
// (uncaught exception = Go's panic, fatal errors, stack overflow), and the
// SIGSEGV handler that turns a fault on a stack guard into
// "fatal error: stack overflow". All reports go to stderr and exit with 2.
#pragma once

#include "sched/g.hpp"

namespace goro::detail {

// Called by the std::terminate handler (install_crash_handlers) when an
// exception escapes goroutine g, before anything is unwound: prints
// "panic: <what()>", a blank line and "goroutine N [running]:" with the
// stack from the throwing function down (GOTRACEBACK), exits 2.
[[noreturn]] void report_uncaught_exception(const G* g) noexcept;
// "fatal error: all goroutines are asleep - deadlock!", a blank line and
// each goroutine with its wait reason (Go's checkdead report); exits 2.
[[noreturn]] void report_deadlock(class runtime& rt) noexcept;
// "fatal error: stack overflow" for the goroutine g (found at a switch).
[[noreturn]] void stack_overflow(const G* g) noexcept;

// Writes all of s to stderr, retrying after signals; async-signal-safe.
// One call per report line or block, so concurrent writers do not interleave
// within it.
void write_stderr(const char* s, std::size_t n) noexcept;

// Process-wide, idempotent: the SIGSEGV handler for guard-page faults and
// the std::terminate handler that reports an uncaught exception as a panic.
void install_crash_handlers();
// Per thread: an alternate signal stack, so the handler can run when the
// goroutine's stack is exhausted. Returns what remove_signal_stack frees.
void* install_signal_stack();
void remove_signal_stack(void* stack) noexcept;

}  // namespace goro::detail
