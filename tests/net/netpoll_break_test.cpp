// Go's runtime TestNetpollBreak: a goroutine blocks in the poller for up to
// 10 s; netpoll_break() must interrupt it soon. As in Go, the break is sent
// twice per round (the scheduler's own poller may take one) and repeated
// until the blocked poll returns; the whole must take well under 5 s.
// Skipped at one processor, like Go's (the blocked goroutine would hold it).
#include <atomic>
#include <chrono>

#include "net_test.hpp"
#include "netpoll/netpoll.hpp"

namespace {

using namespace net_test;

class NetpollBreak : public Procs {};

TEST_P(NetpollBreak, InterruptsBlockedPoll) {
  go_run([] {
    auto start = std::chrono::steady_clock::now();
    // Make sure the poller exists (Go's NetpollGenericInit): a socket does it.
    auto pc = goro::net::listen_packet("udp", "127.0.0.1:0");
    auto c = goro::make_chan<bool>(2);
    goro::go([&] {
      c.send(true);
      goro::detail::netpoll(10'000'000'000);  // 10 s
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

}  // namespace
