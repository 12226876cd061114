// Deadlines: ports of Go's net/timeout_test.go — TestAcceptTimeout (+
// MustReturn, MustNotReturn), TestReadTimeout (+ MustNotReturn),
// TestReadFromTimeout, TestWriteTimeout (+ MustNotReturn),
// TestVariousDeadlines (1 and 4 processors), TestReadWriteProlongedTimeout,
// TestReadWriteDeadlineRace, TestConcurrentSetDeadline — plus moving a
// deadline while a call is blocked, and a slow client held off by a server's
// deadlines. Time is the subject here, so these tests wait on it.
#include <atomic>
#include <string>
#include <vector>

#include "echo_server.hpp"
#include "net_test.hpp"

namespace {

using namespace net_test;
namespace net = goro::net;
using goro::clock;

class Timeout : public Procs {};

// Go's TestAcceptTimeout: a deadline in the past fails accept even with a
// connection pending; a 50 ms deadline lets pending connections through and
// then fails.
TEST_P(Timeout, AcceptTimeout) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    struct step {
      clock::duration timeout;
      bool first_may_succeed;
    };
    for (step s : {step{-5s, false}, step{50ms, true}}) {
      goro::wait_group wg;
      if (s.timeout < 0s) {
        wg.add(1);
        goro::go([&] {  // a pending connection the deadline must not let through
          net::conn c = net::dial("tcp", ln.addr(), 100ms);
          c.close();
          wg.done();
        });
      }
      ln.set_deadline(clock::now() + s.timeout);
      for (int j = 0; j < 2; ++j) {
        for (;;) {
          std::string what;
          std::error_code ec = error_of([&] { ln.accept().close(); }, &what);
          if (!ec) {
            EXPECT_TRUE(s.first_may_succeed && j == 0) << "accept succeeded past its deadline";
            goro::sleep(10ms);
            continue;
          }
          EXPECT_TRUE(is_timeout(ec, what, "accept"));
          break;
        }
      }
      wg.wait();
    }
  });
}

// Go's TestAcceptTimeoutMustReturn: a deadline set after clearing one fires.
TEST_P(Timeout, AcceptTimeoutMustReturn) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    auto result = goro::make_chan<std::pair<std::error_code, std::string>>(1);
    goro::go([&] {
      ln.set_deadline(clock::time_point{});
      ln.set_deadline(clock::now() + 10ms);
      std::string what;
      auto ec = error_of([&] { ln.accept().close(); }, &what);
      result.send({ec, what});
    });
    bool returned = false;
    goro::select(goro::recv_case(result, [&](auto r) {
                   returned = true;
                   EXPECT_TRUE(is_timeout(r->first, r->second, "accept"));
                 }),
                 goro::recv_case(goro::after(1s), [](auto) {}));
    EXPECT_TRUE(returned) << "accept did not return within 1 s of a 10 ms deadline";
    if (!returned) {
      ln.close();
      result.recv();
    }
  });
}

// Go's TestAcceptTimeoutMustNotReturn: a past deadline, then cleared:
// accept blocks (for at least 100 ms) until the listener is closed, and then
// fails with ErrClosed, not a timeout.
TEST_P(Timeout, AcceptTimeoutMustNotReturn) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    auto result = goro::make_chan<std::pair<std::error_code, std::string>>(1);
    goro::go([&] {
      ln.set_deadline(clock::now() - 5s);
      ln.set_deadline(clock::time_point{});
      std::string what;
      auto ec = error_of([&] { ln.accept().close(); }, &what);
      result.send({ec, what});
    });
    goro::select(goro::recv_case(result, [](auto r) {
                   ADD_FAILURE() << "accept returned: " << r->second;
                 }),
                 goro::recv_case(goro::after(100ms), [&](auto) {
                   ln.close();
                   auto r = *result.recv();
                   EXPECT_TRUE(is_closed(r.first, r.second));
                 }));
  });
}

// Go's TestReadTimeout: a past read deadline fails reads even with data
// ready; a 50 ms one lets the data through, then fails; a failed read reads
// nothing.
TEST_P(Timeout, ReadTimeout) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    auto done = goro::make_chan<int>();
    goro::go([&] {
      net::conn c = ln.accept();
      c.write("READ TIMEOUT TEST");
      done.recv();  // keep the connection open (no EOF) until the test ends
      c.close();
    });
    net::conn c = net::dial("tcp", ln.addr());
    EXPECT_EQ(read_n(c, 1), "R");  // the data is there now
    for (clock::duration timeout : {clock::duration(-5s), clock::duration(50ms)}) {
      c.set_read_deadline(clock::now() + timeout);
      for (int j = 0; j < 2; ++j) {
        for (;;) {
          std::array<char, 1> b;
          std::size_t n = 0;
          std::string what;
          std::error_code ec = error_of([&] { n = c.read(b); }, &what);
          if (!ec) {
            EXPECT_GT(timeout, 0s) << "read succeeded past its deadline";
            EXPECT_EQ(n, 1u);
            goro::sleep(timeout / 3);
            continue;
          }
          EXPECT_TRUE(is_timeout(ec, what, "read"));
          break;
        }
      }
    }
    c.close();
    done.send(1);
  });
}

// Go's TestReadTimeoutMustNotReturn: past deadlines, then the read one
// cleared: read blocks until close, then fails with ErrClosed.
TEST_P(Timeout, ReadTimeoutMustNotReturn) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    net::conn c = net::dial("tcp", ln.addr());
    auto result = goro::make_chan<std::pair<std::error_code, std::string>>(1);
    goro::go([&] {
      c.set_deadline(clock::now() - 5s);
      c.set_write_deadline(clock::now() - 5s);
      c.set_read_deadline(clock::time_point{});
      std::string what;
      std::array<char, 1> b;
      auto ec = error_of([&] { c.read(b); }, &what);
      result.send({ec, what});
    });
    goro::select(goro::recv_case(result, [](auto r) { ADD_FAILURE() << "read returned: " << r->second; }),
                 goro::recv_case(goro::after(100ms), [&](auto) {
                   c.close();
                   auto r = *result.recv();
                   EXPECT_TRUE(is_closed(r.first, r.second));
                 }));
    // The write deadline is still in the past (on a closed conn: ErrClosed wins).
    ln.close();
  });
}

// Go's TestReadFromTimeout (UDP).
TEST_P(Timeout, ReadFromTimeout) {
  go_run([] {
    auto server = net::listen_packet("udp", "127.0.0.1:0");
    auto c = net::listen_packet("udp", "127.0.0.1:0");
    server.write_to(bytes("READFROM TIMEOUT TEST"), c.local_addr());
    std::array<char, 1> first;
    c.set_read_deadline(clock::now() - 5s);
    std::string what;
    EXPECT_TRUE(is_timeout(error_of([&] { c.read_from(std::as_writable_bytes(std::span(first))); }, &what),
                           what, "read"));
    c.set_read_deadline(clock::now() + 50ms);
    // The datagram is delivered (truncated to one byte), then reads time out.
    std::string from;
    EXPECT_EQ(c.read_from(std::as_writable_bytes(std::span(first)), &from), 1u);
    EXPECT_EQ(from, server.local_addr());
    for (int j = 0; j < 2; ++j)
      EXPECT_TRUE(is_timeout(error_of([&] { c.read_from(std::as_writable_bytes(std::span(first))); }, &what),
                             what, "read"));
  });
}

// Go's TestWriteTimeout: a past write deadline fails writes even with buffer
// space; a 10 ms one lets writes through until it passes, then fails.
TEST_P(Timeout, WriteTimeout) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    std::vector<net::conn> keep;
    for (clock::duration timeout : {clock::duration(-5s), clock::duration(10ms)}) {
      net::conn c = net::dial("tcp", ln.addr());
      keep.push_back(c);
      c.set_write_deadline(clock::now() + timeout);
      for (int j = 0; j < 2; ++j) {
        for (;;) {
          std::string what;
          std::error_code ec = error_of([&] { c.write("WRITE TIMEOUT TEST"); }, &what);
          if (!ec) {
            EXPECT_GT(timeout, 0s) << "write succeeded past its deadline";
            goro::sleep(timeout / 3);
            continue;
          }
          EXPECT_TRUE(is_timeout(ec, what, "write"));
          break;
        }
      }
    }
    for (auto& c : keep) c.close();
  });
}

// Go's TestWriteTimeoutMustNotReturn: the write side blocks (full buffers)
// until close, then fails with ErrClosed.
TEST_P(Timeout, WriteTimeoutMustNotReturn) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    net::conn c = net::dial("tcp", ln.addr());
    auto result = goro::make_chan<std::pair<std::error_code, std::string>>(1);
    goro::go([&] {
      c.set_deadline(clock::now() - 5s);
      c.set_read_deadline(clock::now() - 5s);
      c.set_write_deadline(clock::time_point{});
      std::string what;
      std::error_code ec;
      while (!ec) ec = error_of([&] { c.write("x"); }, &what);
      result.send({ec, what});
    });
    goro::select(goro::recv_case(result, [](auto r) { ADD_FAILURE() << "write returned: " << r->second; }),
                 goro::recv_case(goro::after(100ms), [&](auto) {
                   c.close();
                   auto r = *result.recv();
                   EXPECT_TRUE(is_closed(r.first, r.second));
                 }));
    ln.close();
  });
}

// Go's testVariousDeadlines: deadlines from 1 ns to 1 s on a connection
// whose peer never writes; a copy to nowhere ends with a timeout every time.
void various_deadlines() {
  auto ln = net::listen("tcp", "127.0.0.1:0");
  goro::wait_group wg;
  wg.add(1);
  goro::go([&] {
    for (;;) {
      net::conn c;
      try {
        c = ln.accept();
      } catch (const std::system_error&) {
        break;
      }
      std::array<char, 1> b;
      try {
        c.read(b);  // waits for the client to close
      } catch (const std::system_error&) {
      }
      c.close();
    }
    wg.done();
  });
  using std::chrono::nanoseconds;
  const nanoseconds timeouts[] = {1ns, 2ns, 5ns, 50ns, 100ns, 200ns, 500ns, 750ns, 1us, 5us,
                                  25us, 250us, 500us, 1ms, 5ms, 100ms, 250ms, 500ms, 1s};
  for (nanoseconds timeout : timeouts) {
    for (int run = 0; run < 3; ++run) {
      net::conn c = net::dial("tcp", ln.addr());
      auto t0 = clock::now();
      c.set_deadline(t0 + timeout);
      std::size_t copied = 0;
      std::string what;
      std::error_code ec = error_of([&] {
        std::array<char, 4096> buf;
        while (std::size_t n = c.read(buf)) copied += n;
      }, &what);
      auto dt = clock::now() - t0;
      c.close();
      EXPECT_TRUE(is_timeout(ec, what, "read")) << timeout.count() << " ns, run " << run;
      EXPECT_EQ(copied, 0u);
      EXPECT_GE(dt, timeout) << "returned before its deadline";
    }
  }
  ln.close();
  wg.wait();
}

// Go's TestReadWriteProlongedTimeout: while a read and a write are pending,
// their deadlines keep being pushed an hour ahead; nothing breaks.
TEST_P(Timeout, ReadWriteProlongedTimeout) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    goro::wait_group handler;
    handler.add(1);
    goro::go([&] {
      net::conn c = ln.accept();
      goro::wait_group wg;
      wg.add(2);
      goro::go([&] {
        std::array<char, 1> b;
        try {
          for (;;) {
            c.set_read_deadline(clock::now() + 1h);
            if (c.read(b) == 0) break;
          }
        } catch (const std::system_error& e) {
          EXPECT_NE(e.code(), goro::errc::timeout) << e.what();
        }
        wg.done();
      });
      goro::go([&] {
        try {
          for (;;) {
            c.set_write_deadline(clock::now() + 1h);
            c.write("x");
          }
        } catch (const std::system_error& e) {
          EXPECT_NE(e.code(), goro::errc::timeout) << e.what();
        }
        wg.done();
      });
      wg.wait();
      c.close();
      handler.done();
    });
    net::conn c = net::dial("tcp", ln.addr());
    std::array<char, 1> b;
    for (int i = 0; i < 1000; ++i) {
      c.write("y");
      c.read(b);
    }
    // Go's test ends by closing; a reset (unread data) or EOF ends the handler.
    linger lg{1, 0};
    ::setsockopt(c.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    c.close();
    handler.wait();
  });
}

// Go's TestReadWriteDeadlineRace: deadlines 2 us ahead reset every tick of a
// 2 us ticker while a reader and a writer run (errors ignored); it must not
// crash, hang or race.
TEST_P(Timeout, ReadWriteDeadlineRace) {
  go_run([] {
    const int n = static_cast<int>(conformance::scaled(1000, 4));
    auto ln = net::listen("tcp", "127.0.0.1:0");
    net::conn c = net::dial("tcp", ln.addr());
    goro::wait_group wg;
    wg.add(3);
    goro::go([&] {
      goro::ticker tic(2us);
      for (int i = 0; i < n; ++i) {
        c.set_read_deadline(clock::now() + 2us);
        c.set_write_deadline(clock::now() + 2us);
        tic.c().recv();
      }
      wg.done();
    });
    goro::go([&] {
      std::array<char, 1> b;
      for (int i = 0; i < n; ++i) error_of([&] { c.read(b); });
      wg.done();
    });
    goro::go([&] {
      for (int i = 0; i < n; ++i) error_of([&] { c.write("x"); });
      wg.done();
    });
    wg.wait();
    c.close();
    ln.close();
  });
}

// Go's TestConcurrentSetDeadline (issue 35367): 8 goroutines move the
// deadlines of 10 connections steadily earlier, 100 times each.
TEST_P(Timeout, ConcurrentSetDeadline) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    constexpr int goroutines = 8, conns = 10, tries = 100;
    std::vector<net::conn> c;
    for (int i = 0; i < conns; ++i) c.push_back(net::dial("tcp", ln.addr()));
    goro::wait_group wg;
    wg.add(goroutines);
    auto now = clock::now();
    for (int i = 0; i < goroutines; ++i)
      goro::go([&, i] {
        for (int j = tries; j > 0; --j)
          for (int k = 0; k < conns; ++k) {
            c[k].set_read_deadline(now + 2h + std::chrono::seconds(i * j * k));
            c[k].set_write_deadline(now + 1h + std::chrono::seconds(i * j * k));
          }
        wg.done();
      });
    wg.wait();
    for (auto& x : c) x.close();
  });
}

// Moving a deadline while a call is blocked takes effect at once: pushed
// later, the read keeps waiting (and gets the data); pulled earlier, it
// times out then; cleared, it waits again.
TEST_P(Timeout, MovingDeadlineWhileBlocked) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    auto accepted = goro::make_chan<net::conn>(1);
    goro::go([&] { accepted.send(ln.accept()); });
    net::conn c = net::dial("tcp", ln.addr());
    net::conn peer = *accepted.recv();

    // 1. A 50 ms deadline pulled to "now" from another goroutine.
    auto result = goro::make_chan<std::pair<std::error_code, std::string>>(1);
    auto reading = goro::make_chan<int>();
    c.set_read_deadline(clock::now() + 1h);
    goro::go([&] {
      std::string what;
      std::array<char, 1> b;
      reading.send(1);
      auto ec = error_of([&] { c.read(b); }, &what);
      result.send({ec, what});
    });
    reading.recv();
    c.set_read_deadline(clock::now() + 30ms);
    bool returned = false;
    goro::select(goro::recv_case(result, [&](auto r) {
                   returned = true;
                   EXPECT_TRUE(is_timeout(r->first, r->second, "read"));
                 }),
                 goro::recv_case(goro::after(10s), [](auto) {}));
    EXPECT_TRUE(returned) << "the earlier deadline did not apply to the blocked read";
    if (!returned) {
      c.close();
      peer.close();
      ln.close();
      result.recv();
      return;
    }

    // 2. A 30 ms deadline pushed an hour ahead: the read outlives it and gets data.
    c.set_read_deadline(clock::now() + 30ms);
    goro::go([&] {
      std::string what;
      std::array<char, 4> b;
      reading.send(1);
      std::size_t n = 0;
      auto ec = error_of([&] { n = c.read(b); }, &what);
      result.send({ec, ec ? what : std::string(b.data(), n)});
    });
    reading.recv();
    c.set_read_deadline(clock::now() + 1h);
    goro::sleep(60ms);  // past the old deadline
    peer.write("data");
    auto r = *result.recv();
    EXPECT_FALSE(r.first) << r.second;
    EXPECT_EQ(r.second, "data");

    // 3. An expired deadline cleared: reads work again.
    c.set_read_deadline(clock::now() - 1s);
    std::string what;
    std::array<char, 4> b;
    EXPECT_TRUE(is_timeout(error_of([&] { c.read(b); }, &what), what, "read"));
    c.set_read_deadline(clock::time_point{});
    peer.write("more");
    EXPECT_EQ(read_n(c, 4), "more");

    // 4. The write deadline is independent of the read one.
    c.set_write_deadline(clock::now() - 1s);
    EXPECT_TRUE(is_timeout(error_of([&] { c.write("w"); }, &what), what, "write"));
    peer.write("read side still fine");
    EXPECT_EQ(read_n(c, 20), "read side still fine");
    c.close();
    peer.close();
    ln.close();
  });
}

// A slow client held off by deadlines: the server gives each connection a
// read deadline for its request and a write deadline for its answer. One
// client sends half a request and stalls; another never reads a large
// answer. Both are cut off (the server sees i/o timeout and closes), while
// a well-behaved client is served at the same time.
TEST_P(Timeout, SlowClientHeldOffByDeadlines) {
  go_run([] {
    constexpr std::size_t request_size = 16;
    constexpr std::size_t answer_size = 32u << 20;  // far more than socket buffers hold
    auto ln = net::listen("tcp", "127.0.0.1:0");
    std::atomic<int> timeouts{0}, served{0};
    goro::wait_group cut_off;  // done once per connection the server gives up on
    cut_off.add(2);
    goro::wait_group server;
    server.add(1);
    goro::go([&] {
      goro::wait_group conns;
      for (;;) {
        net::conn c;
        try {
          c = ln.accept();
        } catch (const std::system_error&) {
          break;
        }
        conns.add(1);
        goro::go([&, c]() mutable {
          try {
            c.set_read_deadline(clock::now() + 100ms);
            std::string req = read_n(c, request_size);
            if (req.size() == request_size) {
              c.set_read_deadline(clock::time_point{});
              c.set_write_deadline(clock::now() + 200ms);
              std::string answer(req[0] == 'L' ? answer_size : request_size, req[1]);
              c.write(answer);
              served.fetch_add(1);
            }
          } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), goro::errc::timeout) << e.what();
            if (timeouts.fetch_add(1) < 2) cut_off.done();
          }
          c.close();
          conns.done();
        });
      }
      conns.wait();
      server.done();
    });

    goro::wait_group clients;
    clients.add(3);
    goro::go([&] {  // stalls after half a request: the server's read deadline cuts it off
      net::conn c = net::dial("tcp", ln.addr());
      c.write(std::string(request_size / 2, 'S'));
      EXPECT_EQ(read_all(c), "");  // closed by the server, nothing answered
      clients.done();
    });
    auto large_sent = goro::make_chan<int>(1);
    goro::go([&] {  // asks for a large answer and does not read it until cut off
      net::conn c = net::dial("tcp", ln.addr());
      std::string request(request_size, '.');  // "Lx...."
      request[0] = 'L';
      request[1] = 'x';
      c.write(request);
      large_sent.send(1);
      cut_off.wait();  // without reading, until the server has given up; then drain

      std::size_t got = 0;
      std::string what;
      error_of([&] {
        std::array<char, 65536> buf;
        while (std::size_t n = c.read(buf)) got += n;
      }, &what);
      EXPECT_LT(got, answer_size) << "the server wrote everything to a client that never read";
      clients.done();
    });
    goro::go([&] {  // well-behaved, served while the others stall
      large_sent.recv();
      for (int i = 0; i < 10; ++i) {
        net::conn c = net::dial("tcp", ln.addr());
        std::string request(request_size, '.');  // "F<letter>...."
        request[0] = 'F';
        request[1] = static_cast<char>('a' + i);
        c.write(request);
        EXPECT_EQ(read_all(c), std::string(request_size, static_cast<char>('a' + i)));
      }
      clients.done();
    });
    clients.wait();
    ln.close();
    server.wait();
    EXPECT_EQ(timeouts.load(), 2);
    EXPECT_EQ(served.load(), 10);
  });
}

NET_PROCS(Timeout, 1, 2);

// Poll descriptors outlive a runtime (they are pooled for the process), and
// so do their deadline timers. A deadline that fired in one goro::run must
// not leave the descriptor's timer pointing into that runtime's (freed)
// timer heap: the next run that recycles the descriptor and sets a deadline
// must work. (A failure here is a use-after-free: ASan reports it; other
// builds may hang in the dead heap's lock or crash.)
TEST(DeadlineAcrossRuntimes, RecycledDescriptorAfterRestart) {
  for (int run = 0; run < 3; ++run) {
    conformance::run(1 + run % 2, [] {
      auto ln = net::listen("tcp", "127.0.0.1:0");
      net::conn c = net::dial("tcp", ln.addr());
      for (int i = 0; i < 2; ++i) {
        c.set_read_deadline(clock::now() + 1ms);  // armed, then fired: the timer was in a heap
        std::string what;
        std::array<char, 1> b;
        EXPECT_TRUE(is_timeout(error_of([&] { c.read(b); }, &what), what, "read"));
      }
      c.close();
      ln.close();
    });
  }
}

// Go runs testVariousDeadlines at the default GOMAXPROCS, 1 and 4.
class VariousDeadlines : public Procs {};
TEST_P(VariousDeadlines, CopyTimesOut) { go_run(various_deadlines); }
NET_PROCS(VariousDeadlines, 1, 2, 4);

}  // namespace
