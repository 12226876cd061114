// debug/crash.cpp — Go's panic and fatal reports (see crash.hpp).
#include "debug/crash.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cxxabi.h>
#include <exception>
#include <mutex>
#include <string>
#include <typeinfo>

#include "debug/dump.hpp"
#include "goro/runtime.hpp"
#include "sched/sched.hpp"

namespace goro::detail {
namespace {

constexpr std::size_t signal_stack_size = 64 * 1024;
struct sigaction previous_segv_action;
std::terminate_handler previous_terminate = nullptr;

// Go's panic: nothing catches an exception at a goroutine's base, so when
// none catches it the unwinder's search phase reaches goro_context_start
// (marked outermost in its unwind info) and __cxa_throw calls std::terminate
// before unwinding anything: the throwing frames are still there to print.
// Elsewhere (a plain thread, terminate for another reason) the previous
// handler runs.
[[noreturn]] void on_terminate() noexcept {
  if (G* g = current_g(); g != nullptr && std::current_exception() != nullptr)
    report_uncaught_exception(g);
  if (previous_terminate != nullptr) previous_terminate();
  std::abort();
}

void write_str(const char* s) noexcept { write_stderr(s, std::strlen(s)); }
void write_u64(std::uint64_t v) noexcept {
  char buf[24];
  int i = sizeof buf;
  do {
    buf[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  write_stderr(buf + i, sizeof buf - static_cast<std::size_t>(i));
}

void write_goroutine_header(std::uint64_t id) noexcept {
  write_str("goroutine ");
  write_u64(id);
  write_str(" [running]:\n");
}

[[noreturn]] void exit_process() noexcept {
  std::fflush(stdout);
  std::_Exit(2);
}

std::string demangle(const char* name) {
  int status = 0;
  char* s = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 && s ? s : name;
  std::free(s);
  return out;
}

void on_segv(int sig, siginfo_t* info, void* context) {
  M* m = this_m();
  G* g = m != nullptr ? m->curg : nullptr;
  if (g != nullptr && !g->is_g0 && g->stk) {
    auto* addr = static_cast<char*>(info->si_addr);
    // A fault in the guard below the stack, or just under it (a frame that
    // skipped the guard lands in the previous slot: treat the whole nearby
    // region as the overflow it almost certainly is).
    if (addr >= g->stk.lo - guard_bytes - 64 * 1024 && addr < g->stk.lo) stack_overflow(g);
  }
  // Not ours: hand the fault to whoever handled it before (or the default).
  sigaction(sig, &previous_segv_action, nullptr);
  (void)context;
}

}  // namespace

void write_stderr(const char* s, std::size_t n) noexcept {
  while (n > 0) {
    ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}

// Go's fatal (throw): every goroutine, the calling one first (Go shows all
// goroutines for a throw whatever GOTRACEBACK says, except none). The dump
// allocates: if even that fails (we may be out of memory), the report ends
// with the message.
[[gnu::noinline]] void fatal(const char* message) noexcept {
  const void* frame = __builtin_frame_address(0);
  std::fflush(stdout);
  write_str("fatal error: ");
  write_str(message);
  write_str("\n");
  if (gotraceback() != traceback_level::none) {
    try {
      std::string dump = format_goroutines(current_runtime(), true, frame);
      write_stderr(dump.data(), dump.size());
    } catch (...) {
    }
  }
  exit_process();
}

// Go's checkdead report: every goroutine (the world is idle), unless
// GOTRACEBACK=none.
void report_deadlock(runtime& rt) noexcept {
  std::fflush(stdout);
  write_str("fatal error: all goroutines are asleep - deadlock!\n");
  if (gotraceback() != traceback_level::none) {
    std::string dump = format_goroutines(&rt, true, nullptr, /*world_stopped=*/true);
    write_stderr(dump.data(), dump.size());
  }
  exit_process();
}

// Runs inside std::terminate, on the throwing goroutine's intact stack (see
// on_terminate), so the trace starts at the function that threw.
[[gnu::noinline]] void report_uncaught_exception(const G* g) noexcept {
  const void* frame = __builtin_frame_address(0);
  std::string what;
  try {
    throw;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    std::type_info* t = abi::__cxa_current_exception_type();
    what = "(" + (t ? demangle(t->name()) : std::string("unknown")) + ") exception";
  }
  std::fflush(stdout);
  write_str("panic: ");
  write_stderr(what.data(), what.size());
  write_str("\n");
  traceback_level level = gotraceback();
  if (level != traceback_level::none) {
    std::string dump = format_goroutines(current_runtime(), level == traceback_level::all, frame,
                                         /*world_stopped=*/false, /*from_throw=*/true);
    if (dump.empty()) {  // not on a goroutine of the running runtime (cannot happen today)
      write_str("\n");
      write_goroutine_header(g->id.load(std::memory_order_relaxed));
    } else {
      write_stderr(dump.data(), dump.size());
    }
  }
  exit_process();
}

void stack_overflow(const G* g) noexcept {
  write_str("runtime: goroutine stack exceeds ");
  write_u64(g->stk.size);
  write_str("-byte limit\nfatal error: stack overflow\n\n");
  write_goroutine_header(g->id.load(std::memory_order_relaxed));
  std::_Exit(2);  // not exit_process: stdio may be mid-update on this stack
}

void install_crash_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = &on_segv;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &previous_segv_action);
    previous_terminate = std::set_terminate(&on_terminate);
  });
}

void* install_signal_stack() {
  void* mem = std::malloc(signal_stack_size);
  if (mem == nullptr) return nullptr;
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = signal_stack_size;
  sigaltstack(&ss, nullptr);
  return mem;
}

void remove_signal_stack(void* stack) noexcept {
  if (stack == nullptr) return;
  stack_t ss{};
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, nullptr);
  std::free(stack);
}

}  // namespace goro::detail
