// Runs goro_crash_child scenarios in a child process and checks how the
// process ended: exit status 2 and Go's report formats on stderr
// (runtime/crash_test.go: TestMainGoroutineID, TestGoNil, panics of
// goroutines, stack overflow), and that buffered stdout is not lost.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <regex>

#include "test_util.hpp"
#include <string>

extern char** environ;

namespace {

struct child_result {
  bool exited = false;     // normal exit (see code)
  int code = -1;           // exit status, if exited
  int signal = 0;          // terminating signal, if killed by one
  bool timed_out = false;  // killed by us after the time limit
  std::string out, err;
};

std::string describe(const child_result& r) {
  std::string s;
  if (r.timed_out) s += "[timed out] ";
  if (r.exited) s += "exit " + std::to_string(r.code);
  if (r.signal) s += std::string("signal ") + strsignal(r.signal);
  return s + "\n--- stdout ---\n" + r.out + "\n--- stderr ---\n" + r.err;
}

child_result run_child(const std::string& scenario) {
  constexpr auto time_limit = std::chrono::seconds(30);
  child_result r;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  std::string path = GORO_CRASH_CHILD;
  char* argv[] = {path.data(), const_cast<char*>(scenario.c_str()), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << path << ": " << std::strerror(rc);
    close(out_pipe[0]);
    close(err_pipe[0]);
    return r;
  }
  auto deadline = std::chrono::steady_clock::now() + time_limit;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                      std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(got));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    r.exited = true;
    r.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Go's panic report: "panic: <what>\n\ngoroutine <N> [running]:".
std::uint64_t panic_goroutine(const std::string& err, const std::string& what) {
  std::smatch m;
  std::regex re("panic: " + std::regex_replace(what, std::regex(R"([\^$.|?*+()\[\]{}\\])"), R"(\$&)") +
                "\n\ngoroutine ([0-9]+) \\[running\\]:");
  if (!std::regex_search(err, m, re)) return 0;
  return std::stoull(m[1].str());
}

TEST(Crash, PanicInGoroutine) {
  for (const char* scenario : {"panic_goroutine", "panic_goroutine_procs1"}) {
    child_result r = run_child(scenario);
    ASSERT_FALSE(r.timed_out) << describe(r);
    EXPECT_TRUE(r.exited && r.code == 2) << scenario << ": " << describe(r);
    std::uint64_t id = panic_goroutine(r.err, "boom");
    EXPECT_NE(id, 0u) << scenario << ": no Go panic report\n" << describe(r);
    EXPECT_NE(id, 1u) << scenario << ": the panicking goroutine is not main\n" << describe(r);
    EXPECT_TRUE(starts_with(r.err, "panic: boom\n")) << describe(r);
    EXPECT_FALSE(contains(r.out, "no crash")) << describe(r);
  }
}

// TestMainGoroutineID.
TEST(Crash, PanicInMainIsGoroutineOne) {
  child_result r = run_child("panic_main");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 2) << describe(r);
  EXPECT_TRUE(starts_with(r.err, "panic: test\n\ngoroutine 1 [running]:")) << describe(r);
}

TEST(Crash, UncaughtNegativeWaitGroupCounter) {
  for (const char* scenario : {"negative_wait_group", "negative_wait_group_goroutine"}) {
    child_result r = run_child(scenario);
    ASSERT_FALSE(r.timed_out) << describe(r);
    EXPECT_TRUE(r.exited && r.code == 2) << scenario << ": " << describe(r);
    EXPECT_TRUE(starts_with(r.err, "panic: sync: negative WaitGroup counter\n\ngoroutine "))
        << scenario << ": " << describe(r);
  }
}

TEST(Crash, NonStandardException) {
  child_result r = run_child("throw_int");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 2) << describe(r);
  EXPECT_TRUE(starts_with(r.err, "panic: (int) exception")) << describe(r);
  EXPECT_TRUE(contains(r.err, "goroutine 1 [running]:")) << describe(r);
}

// TestGoNil.
TEST(Crash, GoOfNilFunc) {
  for (const char* scenario : {"go_nil_std_function", "go_nil_function_pointer"}) {
    child_result r = run_child(scenario);
    ASSERT_FALSE(r.timed_out) << describe(r);
    EXPECT_TRUE(r.exited && r.code == 2) << scenario << ": " << describe(r);
    EXPECT_TRUE(starts_with(r.err, "fatal error: go of nil func value\n")) << scenario << ": " << describe(r);
    EXPECT_FALSE(contains(r.out, "no crash")) << describe(r);
  }
}

TEST(Crash, StackOverflow) {
  for (const char* scenario : {"stack_overflow", "stack_overflow_custom_stack"}) {
    child_result r = run_child(scenario);
    ASSERT_FALSE(r.timed_out) << describe(r);
    EXPECT_TRUE(r.exited && r.code == 2) << scenario << ": " << describe(r);
    EXPECT_TRUE(contains(r.err, "fatal error: stack overflow")) << scenario << ": " << describe(r);
    EXPECT_TRUE(contains(r.err, "goroutine ")) << scenario << ": " << describe(r);
    EXPECT_TRUE(contains(r.err, "goroutine stack exceeds")) << scenario << ": " << describe(r);
  }
}

TEST(Crash, ThreadExhaustion) {
  child_result r = run_child("thread_exhaustion");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 2) << describe(r);
  EXPECT_TRUE(starts_with(r.err, "fatal error: thread exhaustion\n")) << describe(r);
}

TEST(Deadlock, SimpleDeadlockIsReported) {
  if (goro_test::tsan) GTEST_SKIP() << "TSan's background thread counts as a thread that could wake a goroutine";
  child_result r = run_child("deadlock_simple");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 2) << describe(r);
  EXPECT_TRUE(starts_with(r.err, "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\n"))
      << describe(r);
  EXPECT_FALSE(contains(r.out, "no crash")) << describe(r);
}

TEST(Deadlock, EveryBlockedGoroutineIsListed) {
  if (goro_test::tsan) GTEST_SKIP() << "TSan's background thread counts as a thread that could wake a goroutine";
  child_result r = run_child("deadlock_many");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 2) << describe(r);
  EXPECT_TRUE(starts_with(r.err, "fatal error: all goroutines are asleep - deadlock!\n")) << describe(r);
  EXPECT_TRUE(contains(r.err, "goroutine 1 [sync.WaitGroup.Wait]:")) << describe(r);
  EXPECT_TRUE(contains(r.err, " [chan send]:")) << describe(r);
  EXPECT_TRUE(contains(r.err, " [select]:")) << describe(r);
}

TEST(Deadlock, LockedDeadlockIsReported) {
  if (goro_test::tsan) GTEST_SKIP() << "TSan's background thread counts as a thread that could wake a goroutine";
  for (const char* scenario : {"deadlock_locked", "deadlock_locked2"}) {
    child_result r = run_child(scenario);
    ASSERT_FALSE(r.timed_out) << scenario << ": " << describe(r);
    EXPECT_TRUE(r.exited && r.code == 2) << scenario << ": " << describe(r);
    EXPECT_TRUE(starts_with(r.err, "fatal error: all goroutines are asleep - deadlock!\n")) << describe(r);
    EXPECT_TRUE(contains(r.err, "goroutine 1 [select (no cases)]:")) << describe(r);
    EXPECT_FALSE(contains(r.out, "no crash")) << describe(r);
  }
}

TEST(Deadlock, PendingTimerIsNotADeadlock) {
  child_result r = run_child("no_deadlock_timer");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "woken by timer")) << describe(r);
}

TEST(Deadlock, GoroutineInIoIsNotADeadlock) {
  child_result r = run_child("no_deadlock_io");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "woken by I/O")) << describe(r);
}

TEST(Crash, StdoutIsFlushedBeforePanic) {
  child_result r = run_child("stdout_before_panic");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 2) << describe(r);
  EXPECT_EQ(r.out, "hello\n") << describe(r);
  EXPECT_NE(panic_goroutine(r.err, "after hello"), 0u) << describe(r);
}

// run() after a run() that ended with a goroutine parked on a wait_group:
// the second runtime must work (see crash_child.cpp).
TEST(Crash, RunAgainAfterGoroutineLeftParked) {
  child_result r = run_child("rerun_after_parked_goroutine");
  ASSERT_FALSE(r.timed_out) << describe(r);
  ASSERT_FALSE(r.exited && r.code == 3) << "test setup failed: " << describe(r);
  EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
  EXPECT_EQ(r.out, "ok\n") << describe(r);
}

// TestMutexMisuse (sync/mutex_test.go): every case ends the process with
// Go's fatal error (Go's test asks for a non-zero exit and "unlocked").
TEST(Crash, MutexMisuse) {
  struct misuse_case {
    const char* scenario;
    const char* message;
  };
  const misuse_case cases[] = {
      {"Mutex.Unlock", "sync: unlock of unlocked mutex"},
      {"Mutex.Unlock2", "sync: unlock of unlocked mutex"},
      {"RWMutex.Unlock", "sync: Unlock of unlocked RWMutex"},
      {"RWMutex.Unlock2", "sync: Unlock of unlocked RWMutex"},
      {"RWMutex.Unlock3", "sync: Unlock of unlocked RWMutex"},
      {"RWMutex.RUnlock", "sync: RUnlock of unlocked RWMutex"},
      {"RWMutex.RUnlock2", "sync: RUnlock of unlocked RWMutex"},
      {"RWMutex.RUnlock3", "sync: RUnlock of unlocked RWMutex"},
      {"Mutex.Unlock.NoRuntime", "sync: unlock of unlocked mutex"},
  };
  for (const misuse_case& c : cases) {
    child_result r = run_child(c.scenario);
    ASSERT_FALSE(r.timed_out) << c.scenario << ": " << describe(r);
    EXPECT_TRUE(r.exited && r.code == 2) << c.scenario << ": " << describe(r);
    EXPECT_TRUE(starts_with(r.err, std::string("fatal error: ") + c.message + "\n"))
        << c.scenario << ": " << describe(r);
    EXPECT_TRUE(contains(r.err, "unlocked")) << c.scenario << ": " << describe(r);
    EXPECT_FALSE(contains(r.out, "test completed")) << c.scenario << ": " << describe(r);
  }
}

// --- goroutine dumps in reports ---------------------------------------------

#ifndef GORO_TEST_HAVE_SYMBOLIZER
#define GORO_TEST_HAVE_SYMBOLIZER 0
#endif
// Frame names and file:line need goro's symbolizer (libunwind + libdw);
// headers, wait reasons and "created by" lines do not.
constexpr bool have_symbolizer = GORO_TEST_HAVE_SYMBOLIZER != 0;

// The line of the go() call a scenario announced with "go_line=<N>".
int go_line(const child_result& r) {
  std::smatch m;
  if (!std::regex_search(r.out, m, std::regex("go_line=([0-9]+)"))) return 0;
  return std::stoi(m[1].str());
}

// Go's "created by <function> in goroutine <parent>" + "\t<file>:<line>".
bool has_created_by(const std::string& text, int line, const std::string& function_part = "") {
  std::string re = "\ncreated by [^\n]*" + function_part + "[^\n]* in goroutine 1\n\t[^\n]*crash_child\\.cpp:" +
                   std::to_string(line) + "\n";
  return std::regex_search(text, std::regex(re));
}

// The block of the first goroutine whose header shows `state`: from its
// header to the blank line that ends it.
std::string goroutine_block(const std::string& err, const std::string& state) {
  std::string header = " [" + state + "]:\n";
  std::size_t at = err.find(header);
  if (at == std::string::npos) return {};
  std::size_t begin = err.rfind("goroutine ", at);
  std::size_t end = err.find("\n\n", at);
  return err.substr(begin, end == std::string::npos ? std::string::npos : end - begin + 1);
}

// TestPanicRace: "panic: crash" and "created by ".
TEST(Traceback, PanicShowsCreatedBy) {
  child_result r = run_child("panic_created_by");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 2) << describe(r);
  EXPECT_TRUE(starts_with(r.err, "panic: crash\n\ngoroutine ")) << describe(r);
  EXPECT_TRUE(contains(r.err, "created by ")) << describe(r);
  int line = go_line(r);
  ASSERT_NE(line, 0) << describe(r);
  EXPECT_TRUE(has_created_by(r.err, line)) << describe(r);
}

// The panicking goroutine's trace starts where the exception was thrown
// (nothing is unwound before the report), like Go's from the panic call.
TEST(Traceback, PanicTraceStartsAtTheThrow) {
  child_result r = run_child("panic_throw_site");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 2) << describe(r);
  ASSERT_TRUE(starts_with(r.err, "panic: thrown deep\n\ngoroutine ")) << describe(r);
  if (!have_symbolizer) return;
  // The first frame is the thrower, and all four of its levels are there.
  std::size_t first_frame = r.err.find("]:\n") + 3;
  std::string first_line = r.err.substr(first_frame, r.err.find('\n', first_frame) - first_frame);
  EXPECT_TRUE(contains(first_line, "throwing_function_for_trace")) << describe(r);
  std::size_t levels = 0;
  for (std::size_t at = 0; (at = r.err.find("throwing_function_for_trace(int)\n", at)) != std::string::npos; ++at)
    ++levels;
  EXPECT_EQ(levels, 4u) << describe(r);
  EXPECT_FALSE(contains(r.err, "__cxa_throw")) << describe(r);
  EXPECT_FALSE(contains(r.err, "terminate")) << describe(r);
}

TEST(Traceback, DeadlockShowsFramesAndCreator) {
  if (goro_test::tsan) GTEST_SKIP() << "TSan's background thread counts as a thread that could wake a goroutine";
  child_result r = run_child("deadlock_traceback");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 2) << describe(r);
  EXPECT_TRUE(starts_with(r.err, "fatal error: all goroutines are asleep - deadlock!\n\n"
                                 "goroutine 1 [sync.WaitGroup.Wait]:\n"))
      << describe(r);
  std::string blocked = goroutine_block(r.err, "chan receive");
  ASSERT_FALSE(blocked.empty()) << describe(r);
  EXPECT_TRUE(has_created_by(blocked, go_line(r))) << blocked << describe(r);
  if (have_symbolizer) {
    EXPECT_TRUE(contains(blocked, "blocked_receiver(goro::chan<int>)\n\t")) << blocked;
    // file:line +0x<offset> (the line may be inside an inlined callee).
    EXPECT_TRUE(std::regex_search(blocked, std::regex("blocked_receiver[^\n]*\n\t[^\n]*\\.(cpp|hpp|h):[0-9]+ \\+0x")))
        << blocked;
    EXPECT_TRUE(contains(goroutine_block(r.err, "sync.WaitGroup.Wait"), "park_forever()\n\t")) << describe(r);
    // Like Go's runtime frames, goro's park machinery and the goroutine's
    // base are left out by default...
    EXPECT_FALSE(contains(r.err, "goro::detail::runtime::park(")) << describe(r);
    EXPECT_FALSE(contains(r.err, "goroutine_entry")) << describe(r);
    // ...and shown with GOTRACEBACK=system.
    child_result sys = run_child("deadlock_traceback_system");
    EXPECT_TRUE(sys.exited && sys.code == 2) << describe(sys);
    EXPECT_TRUE(contains(goroutine_block(sys.err, "chan receive"), "goro::detail::runtime::park(")) << describe(sys);
  }
  // Main (goroutine 1) has no creator.
  EXPECT_FALSE(contains(goroutine_block(r.err, "sync.WaitGroup.Wait"), "created by")) << describe(r);
}

TEST(Traceback, GotracebackAllShowsOtherGoroutines) {
  child_result r = run_child("panic_traceback_all");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 2) << describe(r);
  EXPECT_TRUE(starts_with(r.err, "panic: traceback\n\ngoroutine 1 [running]:\n")) << describe(r);
  std::string blocked = goroutine_block(r.err, "chan receive");
  ASSERT_FALSE(blocked.empty()) << describe(r);
  EXPECT_TRUE(has_created_by(blocked, go_line(r), "start_blocked_receiver_and_wait_parked")) << describe(r);
  if (have_symbolizer) {
    EXPECT_TRUE(contains(blocked, "blocked_receiver(")) << describe(r);
  }
}

TEST(Traceback, GotracebackSingleShowsOnlyThePanickingGoroutine) {
  child_result r = run_child("panic_traceback_single");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 2) << describe(r);
  EXPECT_TRUE(starts_with(r.err, "panic: traceback\n\ngoroutine 1 [running]:\n")) << describe(r);
  EXPECT_FALSE(contains(r.err, "[chan receive]")) << describe(r);
}

TEST(Traceback, GotracebackNonePrintsNoGoroutine) {
  child_result r = run_child("panic_traceback_none");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 2) << describe(r);
  EXPECT_EQ(r.err, "panic: traceback\n") << describe(r);
}

TEST(Traceback, SigquitDumpsEveryGoroutineAndExits2) {
  // TSan runs a signal handler only when the thread that took the signal
  // next enters a function it intercepts; goro's threads sleep in raw futex
  // system calls, so the handler (and the dump) may never run.
  if (goro_test::tsan) GTEST_SKIP() << "TSan defers signal handlers";
  child_result r = run_child("sigquit_dump");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 2) << describe(r);
  // Main sends the signal, then sleeps: it may be caught on either side.
  EXPECT_TRUE(std::regex_search(r.err, std::regex("^SIGQUIT: quit\n\ngoroutine 1 \\[(sleep|running)\\]:\n")))
      << describe(r);
  std::string blocked = goroutine_block(r.err, "chan receive");
  ASSERT_FALSE(blocked.empty()) << describe(r);
  EXPECT_TRUE(has_created_by(blocked, go_line(r))) << describe(r);
  if (have_symbolizer) {
    EXPECT_TRUE(contains(blocked, "blocked_receiver(")) << describe(r);
  }
  EXPECT_FALSE(contains(r.out, "no crash")) << describe(r);
}

TEST(Traceback, SigquitHandlerOfTheProgramIsKept) {
  child_result r = run_child("sigquit_user_handler");
  ASSERT_FALSE(r.timed_out) << describe(r);
  EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "user handler ran")) << describe(r);
}

TEST(Crash, UnknownScenarioIsReported) {
  child_result r = run_child("no_such_scenario");
  EXPECT_TRUE(r.exited && r.code == 100) << describe(r);
}

}  // namespace
