// accept() and EMFILE: with every descriptor in use, accept4 fails with
// EMFILE while a connection waits in the backlog. goro's accept must then
// back off (it sleeps 5 ms, doubling up to 1 s) instead of spinning, and
// accept the connection once descriptors are freed.
//
// The descriptor limit is lowered in a forked child process so that the
// test binary itself (and gtest) keep theirs. This binary holds only this
// test, and the fork happens before anything in it has started a goro
// runtime or the network poller (a forked child would share the parent's
// epoll instance). The child reports through its exit status and stderr.
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <vector>

#include "net_test.hpp"

namespace {

using namespace net_test;
namespace net = goro::net;

double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

#define CHILD_CHECK(cond, ...)                                   \
  do {                                                           \
    if (!(cond)) {                                               \
      std::fprintf(stderr, "child: check failed: %s: ", #cond);  \
      std::fprintf(stderr, __VA_ARGS__);                         \
      std::fprintf(stderr, "\n");                                \
      std::fflush(stderr);                                       \
      ::_exit(1);                                                \
    }                                                            \
  } while (0)

// Before descriptors run out, make sure every thread of the runtime has
// started running (each M, and sysmon) and the error paths have run once:
// under UBSan, the first check of a polymorphic object's type (a thread's
// start routine, a std::system_error's category) opens a pipe, and with no
// descriptor left that check fails and reports a false "invalid vptr".
// `procs` goroutines spin until all of them run at once (every M runs one);
// main, left waiting, runs again only when sysmon hands a processor to a new
// thread (sysmon and that thread have run); a refused dial throws once.
void warm_up(int procs) {
  std::atomic<int> running{0};
  std::atomic<bool> release{false};
  goro::wait_group hogs;
  hogs.add(procs);
  for (int i = 0; i < procs; ++i)
    goro::go([&] {
      running.fetch_add(1);
      auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (!release.load() && std::chrono::steady_clock::now() < limit) {
      }
      hogs.done();
    });
  while (running.load() < procs) goro::yield();  // returns only after a retake
  release.store(true);
  hogs.wait();
  std::string refused;
  {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    refused = ln.addr();
    ln.close();
  }
  error_of([&] { net::dial("tcp", refused); });
}

// The child: returns normally on success, _exit(1) on a failed check.
void child(int procs) {
  int rc = goro::run(
      [procs] {
        warm_up(procs);
        auto ln = net::listen("tcp", "127.0.0.1:0");
        // The client end, made before descriptors run out; the kernel
        // completes the handshake into the listen backlog.
        net::conn client = net::dial("tcp", ln.addr());

        // Use up every descriptor the (lowered) limit allows.
        rlimit lim{};
        ::getrlimit(RLIMIT_NOFILE, &lim);
        lim.rlim_cur = 64;
        CHILD_CHECK(::setrlimit(RLIMIT_NOFILE, &lim) == 0, "setrlimit: errno %d", errno);
        std::vector<int> fillers;
        for (;;) {
          int fd = ::dup(0);
          if (fd < 0) {
            CHILD_CHECK(errno == EMFILE, "dup: errno %d", errno);
            break;
          }
          fillers.push_back(fd);
        }
        CHILD_CHECK(!fillers.empty() || ::dup(0) < 0, "no descriptors to fill");

        auto accepted = goro::make_chan<std::string>(1);
        goro::go([&] {
          try {
            net::conn c = ln.accept();  // hits EMFILE until fillers are closed
            std::array<char, 4> b;
            std::string got = c.read_full(b) ? std::string(b.data(), 4) : "eof";
            c.write("pong");
            c.close();
            accepted.send(got);
          } catch (const std::system_error& e) {
            accepted.send(std::string("error: ") + e.what());
          }
        });

        // While descriptors are exhausted: accept must not return, and the
        // process must stay nearly idle (a spinning accept burns a CPU).
        double cpu0 = process_cpu_seconds();
        auto wall0 = std::chrono::steady_clock::now();
        bool returned_early = false;
        goro::select(goro::recv_case(accepted, [&](auto) { returned_early = true; }),
                     goro::recv_case(goro::after(std::chrono::milliseconds(400)), [](auto) {}));
        CHILD_CHECK(!returned_early, "accept returned while every descriptor was in use");
        double cpu = process_cpu_seconds() - cpu0;
        double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
        std::fprintf(stderr, "child: %.0f ms of CPU in %.0f ms with accept out of descriptors\n",
                     cpu * 1e3, wall * 1e3);
        CHILD_CHECK(cpu < 0.25 * wall, "accept spins: %.0f ms of CPU in %.0f ms", cpu * 1e3, wall * 1e3);

        // Free the descriptors: accept recovers (within its back-off of at
        // most 1 s) and serves the waiting connection.
        for (int fd : fillers) ::close(fd);
        client.set_deadline(goro::clock::now() + std::chrono::seconds(10));
        client.write("ping");
        std::array<char, 4> b;
        CHILD_CHECK(client.read_full(b) && std::string(b.data(), 4) == "pong", "no answer");
        std::string got = *accepted.recv();
        CHILD_CHECK(got == "ping", "accepted side got \"%s\"", got.c_str());
        client.close();
        ln.close();
        return 0;
      },
      goro::config{.procs = procs});
  CHILD_CHECK(rc == 0, "run returned %d", rc);
}

// Runs child(procs) in a forked process; waits at most 60 s.
void run_in_child(int procs) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << "fork: errno " << errno;
  if (pid == 0) {
    child(procs);
    std::fflush(nullptr);
    ::_exit(0);
  }
  int status = 0;
  auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    ASSERT_EQ(r, 0) << "waitpid: errno " << errno;
    if (std::chrono::steady_clock::now() > limit) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL() << "the child did not finish within 60 s";
    }
    timespec ts{0, 10'000'000};
    ::nanosleep(&ts, nullptr);
  }
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the child's message above";
}

TEST(AcceptEmfile, BacksOffAndRecoversProcs1) { run_in_child(1); }
TEST(AcceptEmfile, BacksOffAndRecoversProcs2) { run_in_child(2); }

}  // namespace
