// goro::blocking and sysmon with the network poller. With one processor, a
// goroutine inside goro::blocking (a 300 ms sleep in libc) must not stop an
// echo round trip over loopback: sysmon hands the processor to another
// thread, which keeps polling. The round trip must finish while the
// blocking call is still in progress (checked with a flag, not a clock).
// The same holds for a call that is not marked (sysmon retakes after 10 ms).
#include <time.h>

#include <atomic>

#include "echo_server.hpp"
#include "net_test.hpp"

namespace {

using namespace net_test;
namespace net = goro::net;

void libc_sleep(std::chrono::milliseconds d) {
  timespec ts{static_cast<time_t>(d.count() / 1000), static_cast<long>(d.count() % 1000) * 1'000'000};
  while (::nanosleep(&ts, &ts) != 0) {
  }
}

template <class Hog>
void echo_while(Hog hog) {
  conformance::run(1, [&] {
    echo_server srv(net::listen("tcp", "127.0.0.1:0"));
    srv.serve();
    net::conn c = net::dial("tcp", srv.addr());
    c.write("warm");  // the server goroutine is now parked in read
    EXPECT_EQ(read_n(c, 4), "warm");

    std::atomic<bool> hog_started{false}, hog_returned{false};
    goro::wait_group hog_done;
    hog_done.add(1);
    goro::go([&] {
      hog_started.store(true);
      hog();
      hog_returned.store(true);
      hog_done.done();
    });
    // Let the hog take the processor (main waits in the run queue meanwhile).
    while (!hog_started.load()) goro::yield();

    for (int i = 0; i < 3; ++i) {  // three round trips: poller, server goroutine, poller again
      std::string msg = "round trip " + std::to_string(i);
      c.write(msg);
      EXPECT_EQ(read_n(c, msg.size()), msg);
    }
    EXPECT_FALSE(hog_returned.load()) << "the round trips waited for the blocked thread";
    c.close();
    srv.stop();
    hog_done.wait();
  });
}

TEST(BlockingAndPoller, BlockingCallDoesNotStopEcho) {
  echo_while([] { goro::blocking([] { libc_sleep(std::chrono::milliseconds(300)); }); });
}

TEST(BlockingAndPoller, UnmarkedBlockingCallDoesNotStopEcho) {
  echo_while([] { libc_sleep(std::chrono::milliseconds(300)); });
}

// A goroutine blocked in the poller while all others sit in goro::blocking:
// readiness still arrives (sysmon polls when nobody has for 10 ms, and the
// processor it hands over polls again).
TEST(BlockingAndPoller, ReadinessWhileEveryGoroutineBlocks) {
  conformance::run(1, [] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    auto accepted = goro::make_chan<net::conn>(1);
    goro::go([&] { accepted.send(ln.accept()); });
    net::conn c = net::dial("tcp", ln.addr());
    net::conn peer = *accepted.recv();
    std::atomic<bool> got{false}, blocker_returned{false};
    goro::wait_group wg;
    wg.add(2);
    goro::go([&] {  // parks in the poller
      EXPECT_EQ(read_n(peer, 5), "hello");
      got.store(true);
      EXPECT_FALSE(blocker_returned.load()) << "the read waited for the blocked thread";
      wg.done();
    });
    goro::go([&] {  // the only runnable goroutine: blocks its thread until `got`
      goro::blocking([&] {
        // A plain thread writes; then this thread waits (bounded) for the reader.
        std::thread writer([&] { c.write("hello"); });
        writer.join();
        auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!got.load() && std::chrono::steady_clock::now() < limit) libc_sleep(std::chrono::milliseconds(1));
      });
      blocker_returned.store(true);
      wg.done();
    });
    wg.wait();
    EXPECT_TRUE(got.load());
    c.close();
    peer.close();
    ln.close();
  });
}

}  // namespace
