// goro_crash_child <scenario>: programs that end the way Go programs end on a
// panic or a fatal error. crash_test.cpp runs them and checks exit status,
// stderr and stdout. Every scenario that should crash but returns exits 0
// with "no crash" on stdout, so a missing crash is visible too.
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <span>
#include <string>

#include "goro/goro.hpp"

namespace {

// Parks the calling goroutine for good (the process ends before it returns).
void park_forever() {
  goro::wait_group wg;
  wg.add(1);
  wg.wait();
}

int panic_in_goroutine() {
  return goro::run(
      [] {
        goro::go([] { throw std::runtime_error("boom"); });
        park_forever();
        return 0;
      },
      goro::config{.procs = 2});
}

int panic_in_goroutine_procs1() {
  return goro::run(
      [] {
        goro::go([] {
          goro::yield();
          throw std::runtime_error("boom");
        });
        park_forever();
        return 0;
      },
      goro::config{.procs = 1});
}

int panic_in_main() {
  return goro::run([]() -> int { throw std::runtime_error("test"); }, goro::config{.procs = 2});
}

int negative_wait_group() {
  return goro::run(
      [] {
        goro::wait_group wg;
        wg.add(-1);
        return 0;
      },
      goro::config{.procs = 2});
}

int negative_wait_group_in_goroutine() {
  return goro::run(
      [] {
        static goro::wait_group wg;
        goro::go([] { wg.done(); });
        park_forever();
        return 0;
      },
      goro::config{.procs = 2});
}

int throw_int() {
  return goro::run([]() -> int { throw 42; }, goro::config{.procs = 1});
}

int go_nil_std_function() {
  return goro::run(
      [] {
        goro::go(std::function<void()>{});
        return 0;
      },
      goro::config{.procs = 2});
}

int go_nil_function_pointer() {
  return goro::run(
      [] {
        void (*fn)(int) = nullptr;
        goro::go(fn, 1);
        return 0;
      },
      goro::config{.procs = 2});
}

// A recursion the compiler can neither turn into a loop nor drop.
volatile int never_negative = 1;

[[gnu::noinline]] long recurse(long depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  if (never_negative < 0) return 0;  // keeps -Winfinite-recursion quiet
  long r = recurse(depth + 1);
  asm volatile("" ::: "memory");
  return r + frame[0];
}

int stack_overflow_in_goroutine() {
  return goro::run(
      [] {
        goro::go([] { std::printf("%ld\n", recurse(0)); });
        park_forever();
        return 0;
      },
      goro::config{.procs = 2});
}

int stack_overflow_custom_stack() {
  return goro::run(
      [] {
        goro::go(goro::go_options{.stack_size = 128 * 1024}, [] { std::printf("%ld\n", recurse(0)); });
        park_forever();
        return 0;
      },
      goro::config{.procs = 1});
}

int stdout_before_panic() {
  return goro::run(
      [] {
        goro::go([] {
          std::printf("hello\n");  // stdout is a pipe: fully buffered, not flushed
          throw std::runtime_error("after hello");
        });
        park_forever();
        return 0;
      },
      goro::config{.procs = 2});
}

// run() discards goroutines still parked when main returns, and may be
// called again afterwards. Here the first runtime ends with a goroutine
// parked on a wait_group; the second uses a wait_group whose semaphore
// shares a bucket of the (process-wide) semaphore table with it. The dead
// goroutine's stack is kept inaccessible (PROT_NONE) so that any use of it
// faults instead of silently reading reused memory.
goro::wait_group never_released;
goro::wait_group same_bucket_candidates[251];
const char* volatile dead_stack_address = nullptr;

std::uintptr_t sema_bucket(const goro::wait_group& wg) {
  // wait_group's semaphore word follows its 8-byte state (goro/wait_group.hpp);
  // src/sema hashes (address >> 3) % 251.
  return ((reinterpret_cast<std::uintptr_t>(&wg) + 8) >> 3) % 251;
}

int rerun_after_parked_goroutine() {
  goro::run(
      [] {
        goro::wait_group started;
        started.add(1);
        never_released.add(1);
        goro::go([&started] {
          char local = 0;
          dead_stack_address = &local;
          started.done();
          never_released.wait();  // never returns
        });
        // At procs=1 main runs again only once the goroutine has parked.
        started.wait();
        return 0;
      },
      goro::config{.procs = 1});

  long page = sysconf(_SC_PAGESIZE);
  auto addr = reinterpret_cast<std::uintptr_t>(dead_stack_address) & ~static_cast<std::uintptr_t>(page - 1);
  std::size_t below = 64 * 1024, above = static_cast<std::size_t>(page);
  void* want = reinterpret_cast<void*>(addr - below);
  void* got = mmap(want, below + above, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (got != want) {
    std::printf("setup: could not reserve the dead stack at %p\n", want);
    return 3;
  }

  goro::wait_group* wg = nullptr;
  for (auto& candidate : same_bucket_candidates)
    if (sema_bucket(candidate) == sema_bucket(never_released)) wg = &candidate;
  if (wg == nullptr) {
    std::printf("setup: no wait_group in the same bucket\n");
    return 3;
  }
  int code = goro::run(
      [wg] {
        wg->add(1);
        goro::go([wg] { wg->done(); });
        wg->wait();  // main parks (the goroutine has not run yet at procs=1)
        return 0;
      },
      goro::config{.procs = 1});
  std::printf("ok\n");
  return code;
}

// procs = 1 and max_threads = 2: goroutines stuck in blocking calls while
// others wait make sysmon hand the processor to new threads until the limit.
int thread_exhaustion() {
  return goro::run(
      [] {
        for (int i = 0; i < 8; ++i)
          goro::go([] { goro::blocking([] { ::sleep(30); }); });
        park_forever();
        std::printf("no crash\n");
        return 0;
      },
      goro::config{.procs = 1, .max_threads = 2});
}

// Go's SimpleDeadlock: main waits on a channel nobody else has.
int deadlock_simple() {
  return goro::run([] {
    auto c = goro::make_chan<int>();
    c.recv();
    std::printf("no crash\n");
  });
}

// Every goroutine blocked: all of them are listed with their wait reasons.
int deadlock_many() {
  return goro::run(
      [] {
        auto unread = goro::make_chan<int>(), unwritten = goro::make_chan<int>();
        goro::go([unread] { unread.send(1); });
        goro::go([unwritten] { goro::select(goro::recv_case(unwritten), goro::recv_case(unwritten)); });
        goro::wait_group wg;
        wg.add(1);
        wg.wait();
        std::printf("no crash\n");
      },
      goro::config{.procs = 2});
}

// Go's LockedDeadlock: the main goroutine locked to its thread blocks forever.
int deadlock_locked() {
  return goro::run(
      [] {
        goro::lock_os_thread();
        goro::select();
        std::printf("no crash\n");
      },
      goro::config{.procs = 1});
}

// Go's LockedDeadlock2: a locked goroutine blocks forever, then main does.
int deadlock_locked2() {
  return goro::run(
      [] {
        auto started = goro::make_chan<int>();
        goro::go([started] {
          goro::lock_os_thread();
          started.send(1);
          goro::select();
        });
        started.recv();
        goro::select();
        std::printf("no crash\n");
      },
      goro::config{.procs = 2});
}

// A pending timer is a way out: never a deadlock.
int no_deadlock_timer() {
  return goro::run([] {
    auto c = goro::make_chan<int>();
    goro::after_func(std::chrono::milliseconds(100), [c] { c.send(7); });
    std::printf("%s\n", c.recv() == 7 ? "woken by timer" : "wrong value");
  });
}

// A goroutine waiting in I/O is a way out: another process connects after
// 100 ms (fork before the runtime starts; the child only uses plain calls).
int no_deadlock_io() {
  char path[] = "/tmp/goro-deadlock-io-XXXXXX";
  if (::mkdtemp(path) == nullptr) return 3;
  std::string sock = std::string(path) + "/s";
  pid_t child = ::fork();
  if (child == 0) {
    ::usleep(100'000);
    for (int attempt = 0; attempt < 500; ++attempt) {
      int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        (void)!::write(fd, "x", 1);
        ::close(fd);
        std::_Exit(0);
      }
      ::close(fd);
      ::usleep(10'000);
    }
    std::_Exit(1);
  }
  int code = goro::run([&] {
    auto ln = goro::net::listen("unix", sock);
    auto c = ln.accept();  // the only goroutine, waiting in I/O
    char byte = 0;
    std::size_t n = c.read(std::span(&byte, 1));
    std::printf("%s\n", n == 1 && byte == 'x' ? "woken by I/O" : "bad read");
  });
  int status = 0;
  ::waitpid(child, &status, 0);
  ::rmdir(path);
  return code;
}

// TestMutexMisuse: each case is a fatal error (no unwinding, exit 2). A
// case that returns prints "test completed" and exits 0.
int misuse(void (*f)()) {
  goro::run([f] { f(); }, goro::config{.procs = 1});
  std::printf("test completed\n");
  return 0;
}
int mutex_unlock() {
  return misuse([] {
    goro::mutex mu;
    mu.unlock();
  });
}
int mutex_unlock2() {
  return misuse([] {
    goro::mutex mu;
    mu.lock();
    mu.unlock();
    mu.unlock();
  });
}
int rwmutex_unlock() {
  return misuse([] {
    goro::shared_mutex mu;
    mu.unlock();
  });
}
int rwmutex_unlock2() {
  return misuse([] {
    goro::shared_mutex mu;
    mu.lock_shared();
    mu.unlock();
  });
}
int rwmutex_unlock3() {
  return misuse([] {
    goro::shared_mutex mu;
    mu.lock();
    mu.unlock();
    mu.unlock();
  });
}
int rwmutex_runlock() {
  return misuse([] {
    goro::shared_mutex mu;
    mu.unlock_shared();
  });
}
int rwmutex_runlock2() {
  return misuse([] {
    goro::shared_mutex mu;
    mu.lock();
    mu.unlock_shared();
  });
}
int rwmutex_runlock3() {
  return misuse([] {
    goro::shared_mutex mu;
    mu.lock_shared();
    mu.unlock_shared();
    mu.unlock_shared();
  });
}
// The same fatal error on a plain thread, with no runtime at all.
int mutex_unlock_no_runtime() {
  goro::mutex mu;
  mu.unlock();
  std::printf("test completed\n");
  return 0;
}

// --- goroutine dumps (crash_test.cpp: Traceback.*) ---------------------------
// Each scenario prints "go_line=<N>" on stdout for the go() call whose
// "created by" line the test expects (stdout is flushed before a report).

[[gnu::noinline]] void blocked_receiver(goro::chan<int> c) {
  c.recv();
  asm volatile("" ::: "memory");  // not a tail call: this frame stays on the stack
}

// TestPanicRace: a goroutine's panic shows "created by" with its go() call.
int panic_created_by() {
  return goro::run(
      [] {
        std::printf("go_line=%d\n", __LINE__ + 1);
        goro::go([] { throw std::runtime_error("crash"); });
        park_forever();
        return 0;
      },
      goro::config{.procs = 2});
}

// Go's panic trace starts at the panicking function: the frames between the
// throw and the goroutine's base are still there when the panic is reported.
[[gnu::noinline]] void throwing_function_for_trace(int depth) {
  if (depth == 0) throw std::runtime_error("thrown deep");
  throwing_function_for_trace(depth - 1);
  asm volatile("");  // not a tail call: every level keeps its frame
}

int panic_throw_site() {
  return goro::run(
      [] {
        goro::go([] { throwing_function_for_trace(3); });
        park_forever();
        return 0;
      },
      goro::config{.procs = 1});
}

// A deadlock lists each goroutine with its frames and creation site.
int deadlock_traceback() {
  return goro::run(
      [] {
        auto c = goro::make_chan<int>();
        std::printf("go_line=%d\n", __LINE__ + 1);
        goro::go(blocked_receiver, c);
        park_forever();
        std::printf("no crash\n");
      },
      goro::config{.procs = 2});
}

// At procs = 1, main's yield runs the new goroutine until it parks.
void start_blocked_receiver_and_wait_parked() {
  auto c = goro::make_chan<int>();
  std::printf("go_line=%d\n", __LINE__ + 1);
  goro::go(blocked_receiver, c);
  goro::yield();
}

int panic_traceback(const char* level) {
  ::setenv("GOTRACEBACK", level, 1);
  return goro::run(
      [] {
        start_blocked_receiver_and_wait_parked();
        throw std::runtime_error("traceback");
      },
      goro::config{.procs = 1});
}
int panic_traceback_all() { return panic_traceback("all"); }
// GOTRACEBACK=system also shows goro's own frames.
int deadlock_traceback_system() {
  ::setenv("GOTRACEBACK", "system", 1);
  return deadlock_traceback();
}
int panic_traceback_none() { return panic_traceback("none"); }
int panic_traceback_single() { return panic_traceback("single"); }

// SIGQUIT: every goroutine on stderr, exit status 2. Main sleeps (a pending
// timer: never a deadlock) after sending the signal to its own process.
int sigquit_dump() {
  return goro::run(
      [] {
        start_blocked_receiver_and_wait_parked();
        std::fflush(stdout);
        ::kill(::getpid(), SIGQUIT);
        goro::sleep(std::chrono::seconds(60));
        std::printf("no crash\n");
      },
      goro::config{.procs = 1});
}

// A program's own SIGQUIT handler is left alone.
volatile sig_atomic_t user_sigquit = 0;
int sigquit_user_handler() {
  ::signal(SIGQUIT, [](int) { user_sigquit = 1; });
  return goro::run(
      [] {
        ::raise(SIGQUIT);
        std::printf("%s\n", user_sigquit ? "user handler ran" : "user handler did not run");
        return 0;
      },
      goro::config{.procs = 1});
}

struct scenario {
  const char* name;
  int (*fn)();
};

const scenario scenarios[] = {
    {"panic_goroutine", panic_in_goroutine},
    {"panic_goroutine_procs1", panic_in_goroutine_procs1},
    {"panic_main", panic_in_main},
    {"negative_wait_group", negative_wait_group},
    {"negative_wait_group_goroutine", negative_wait_group_in_goroutine},
    {"throw_int", throw_int},
    {"go_nil_std_function", go_nil_std_function},
    {"go_nil_function_pointer", go_nil_function_pointer},
    {"stack_overflow", stack_overflow_in_goroutine},
    {"stack_overflow_custom_stack", stack_overflow_custom_stack},
    {"stdout_before_panic", stdout_before_panic},
    {"rerun_after_parked_goroutine", rerun_after_parked_goroutine},
    {"thread_exhaustion", thread_exhaustion},
    {"deadlock_simple", deadlock_simple},
    {"deadlock_many", deadlock_many},
    {"deadlock_locked", deadlock_locked},
    {"deadlock_locked2", deadlock_locked2},
    {"no_deadlock_timer", no_deadlock_timer},
    {"no_deadlock_io", no_deadlock_io},
    {"Mutex.Unlock", mutex_unlock},
    {"Mutex.Unlock2", mutex_unlock2},
    {"RWMutex.Unlock", rwmutex_unlock},
    {"RWMutex.Unlock2", rwmutex_unlock2},
    {"RWMutex.Unlock3", rwmutex_unlock3},
    {"RWMutex.RUnlock", rwmutex_runlock},
    {"RWMutex.RUnlock2", rwmutex_runlock2},
    {"RWMutex.RUnlock3", rwmutex_runlock3},
    {"Mutex.Unlock.NoRuntime", mutex_unlock_no_runtime},
    {"panic_created_by", panic_created_by},
    {"panic_throw_site", panic_throw_site},
    {"deadlock_traceback", deadlock_traceback},
    {"deadlock_traceback_system", deadlock_traceback_system},
    {"panic_traceback_all", panic_traceback_all},
    {"panic_traceback_none", panic_traceback_none},
    {"panic_traceback_single", panic_traceback_single},
    {"sigquit_dump", sigquit_dump},
    {"sigquit_user_handler", sigquit_user_handler},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <scenario>\n", argv[0]);
    return 100;
  }
  for (const scenario& s : scenarios) {
    if (std::strcmp(argv[1], s.name) == 0) {
      int code = s.fn();
      if (std::strcmp(s.name, "rerun_after_parked_goroutine") != 0) std::printf("no crash\n");
      return code;
    }
  }
  std::fprintf(stderr, "unknown scenario %s\n", argv[1]);
  return 100;
}
