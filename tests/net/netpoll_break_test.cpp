// Go's runtime TestNetpollBreak: a goroutine blocks in the poller for up to
// 10 s; netpoll_break() must interrupt it soon. As in Go, the break is sent
// twice per round (the scheduler's own poller may take one) and repeated
// until the blocked poll returns; the whole must take well under 5 s.
// Skipped at one processor, like Go's (the blocked goroutine would hold it).
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "net_test.hpp"
#include "netpoll/netpoll.hpp"

namespace {

using namespace net_test;

// Polls directly, as the scheduler does. No goroutine waits on a descriptor
// in these tests, so none can be readied (the scheduler would inject them).
bool poll(std::int64_t delay_ns) {
  goro::detail::g_list readied;
  bool completed = goro::detail::netpoll(delay_ns, readied);
  EXPECT_EQ(readied.size, 0);
  return completed;
}

class NetpollBreak : public Procs {};

TEST_P(NetpollBreak, InterruptsBlockedPoll) {
  go_run([] {
    auto start = std::chrono::steady_clock::now();
    // Make sure the poller exists (Go's NetpollGenericInit): a socket does it.
    auto pc = goro::net::listen_packet("udp", "127.0.0.1:0");
    auto c = goro::make_chan<bool>(2);
    goro::go([&] {
      c.send(true);
      poll(10'000'000'000);  // 10 s
      c.send(true);
    });
    c.recv();
    for (bool returned = false; !returned;) {
      goro::sleep(100us);
      goro::detail::netpoll_break();
      goro::detail::netpoll_break();
      returned = static_cast<bool>(c.try_recv());
    }
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, 5s) << "netpoll_break did not interrupt netpoll";
    pc.close();
  });
}

NET_PROCS(NetpollBreak, 2, 4);

// Whether thread `tid` of this process is asleep in epoll_wait (its wchan).
bool in_epoll_wait(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/wchan");
  std::string wchan;
  f >> wchan;
  return wchan.find("epoll") != std::string::npos;
}

// A break is for the poller that blocks: a non-blocking poll made right
// after it (the scheduler polls without blocking before it steals, sysmon
// every 10 ms) must not swallow it, or the blocked poller sleeps on until its
// timeout while the work it was woken for waits (Go's netpoll reads the
// break only when it blocks). A plain thread blocks in the poller for up to
// 10 s; once the kernel shows it asleep in epoll_wait, a break is sent and a
// non-blocking poll made at once; the blocked poll must return within 2 s.
TEST(NetpollBreakNotEaten, NonBlockingPollLeavesTheBreak) {
  std::ifstream probe("/proc/self/task/" + std::to_string(::gettid()) + "/wchan");
  if (!probe) GTEST_SKIP() << "no /proc/<pid>/task/<tid>/wchan to see a thread asleep in epoll_wait";
  auto pc = goro::net::listen_packet("udp", "127.0.0.1:0");  // makes the poller exist
  for (int round = 0; round < 5; ++round) {
    poll(1);  // a blocking poll (1 ns): takes any break left over
    std::atomic<pid_t> tid{0};
    std::atomic<bool> returned{false};
    std::thread blocked([&] {
      tid.store(static_cast<pid_t>(::gettid()));
      poll(10'000'000'000);  // 10 s
      returned.store(true);
    });
    EXPECT_TRUE(goro_test::spin_until(
        [&] { return returned.load() || (tid.load() != 0 && in_epoll_wait(tid.load())); }));
    if (!returned.load()) {
      goro::detail::netpoll_break();
      poll(0);  // a scheduler's non-blocking poll, right after
      auto limit = std::chrono::steady_clock::now() + 2s;
      while (!returned.load() && std::chrono::steady_clock::now() < limit) std::this_thread::yield();
      EXPECT_TRUE(returned.load())
          << "round " << round << ": a non-blocking poll swallowed the break meant for the blocked poller";
      if (!returned.load()) goro::detail::netpoll_break();  // once more, to end the thread
    }
    blocked.join();
  }
  pc.close();
}

}  // namespace
