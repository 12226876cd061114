// Stream connections on loopback: Go's TestCloseUnblocksRead (net_test.go),
// close semantics (net.ErrClosed), peer reset, half-close, whole writes, dial
// errors and address formats; at 1 and 2 processors.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "echo_server.hpp"
#include "net_test.hpp"

namespace {

using namespace net_test;
namespace net = goro::net;

class Conn : public Procs {};

// Go's TestCloseUnblocksRead: the peer closes; a Read blocked on the other
// end returns (0, EOF). At procs=1 the read is certainly blocked when the
// peer closes (the reader keeps the processor until it parks); at procs=2
// it may not be yet, and the outcome must be the same.
TEST_P(Conn, CloseUnblocksRead) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    auto reading = goro::make_chan<int>();
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      net::conn peer = ln.accept();
      reading.recv();
      peer.close();
      wg.done();
    });
    net::conn c = net::dial("tcp", ln.addr());
    reading.send(1);
    std::array<char, 1> b;
    EXPECT_EQ(c.read(b), 0u);  // EOF
    EXPECT_EQ(c.read(b), 0u);  // and again
    wg.wait();
  });
}

// Closing our own end while a read, a write and an accept are blocked:
// each fails with "use of closed network connection" (net.ErrClosed), and
// so does every later call, including a second close.
TEST_P(Conn, CloseUnblocksOwnBlockedCalls) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    auto accepted = goro::make_chan<net::conn>(1);
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      accepted.send(ln.accept());
      wg.done();
    });
    net::conn c = net::dial("tcp", ln.addr());
    net::conn peer = *accepted.recv();  // never reads: c's writes fill the buffers
    wg.wait();

    auto results = goro::make_chan<std::pair<std::error_code, std::string>>(3);
    auto started = goro::make_chan<int>(3);
    goro::go([&] {  // blocked read
      std::string what;
      std::array<char, 16> b;
      started.send(1);
      auto ec = error_of([&] { c.read(b); }, &what);
      results.send({ec, what});
    });
    goro::go([&] {  // blocked write: 64 MiB cannot fit in the socket buffers
      std::string what;
      std::vector<char> big(64 << 20, 'x');
      started.send(1);
      auto ec = error_of([&] { c.write(std::string_view(big.data(), big.size())); }, &what);
      results.send({ec, what});
    });
    goro::go([&] {  // blocked accept
      std::string what;
      started.send(1);
      auto ec = error_of([&] { ln.accept(); }, &what);
      results.send({ec, what});
    });
    for (int i = 0; i < 3; ++i) started.recv();
    c.close();
    ln.close();
    for (int i = 0; i < 3; ++i) {
      auto [ec, what] = *results.recv();
      EXPECT_TRUE(is_closed(ec, what));
    }
    std::string what;
    std::array<char, 1> b;
    EXPECT_TRUE(is_closed(error_of([&] { c.read(b); }, &what), what));
    EXPECT_TRUE(is_closed(error_of([&] { c.write("x"); }, &what), what));
    EXPECT_TRUE(is_closed(error_of([&] { c.close(); }, &what), what));
    EXPECT_TRUE(is_closed(error_of([&] { ln.accept(); }, &what), what));
    EXPECT_TRUE(is_closed(error_of([&] { ln.close(); }, &what), what));
    peer.close();
  });
}

// A closed handle must never reach another socket. Descriptors are recycled
// (the kernel reuses the fd number, goro reuses its poll descriptor), so a
// call on a closed conn that is not refused by the conn itself lands on
// whichever socket was opened next.
TEST_P(Conn, ClosedConnDoesNotTouchTheNextSocket) {
  go_run([] {
    echo_server srv(net::listen("tcp", "127.0.0.1:0"));
    srv.serve();
    {
      net::conn a = net::dial("tcp", srv.addr());
      a.close();
      net::conn b = net::dial("tcp", srv.addr());  // likely takes a's fd and descriptor
      b.set_deadline(goro::clock::now() + 10s);     // bounds the test if a's calls reach b
      std::string what;
      std::array<char, 8> buf;
      EXPECT_TRUE(is_closed(error_of([&] { a.write("ping"); }, &what), what));
      EXPECT_TRUE(is_closed(error_of([&] { a.read(buf); }, &what), what));
      EXPECT_TRUE(is_closed(error_of([&] { a.close(); }, &what), what));
      // A deadline set through the closed handle must not apply to b.
      try {
        a.set_read_deadline(goro::clock::now() - 1s);
      } catch (const std::system_error&) {
        // Go returns ErrClosed here; ignoring the call is fine too
      }
      std::string echoed;
      EXPECT_FALSE(error_of([&] {
        b.write("pong");
        echoed = read_n(b, 4);
      }, &what)) << what;
      EXPECT_EQ(echoed, "pong");
      b.close();
    }
    srv.stop();
  });
}

// Peer reset in the middle of a read: the peer closes with SO_LINGER {1, 0}
// (an RST instead of a FIN), and the blocked read throws ECONNRESET.
TEST_P(Conn, PeerResetMidRead) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    auto reading = goro::make_chan<int>();
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      net::conn peer = ln.accept();
      peer.write("partial");
      reading.recv();
      linger lg{1, 0};
      EXPECT_EQ(::setsockopt(peer.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
      peer.close();
      wg.done();
    });
    net::conn c = net::dial("tcp", ln.addr());
    EXPECT_EQ(read_n(c, 7), "partial");
    reading.send(1);
    std::string what;
    std::array<char, 16> b;
    std::error_code ec = error_of([&] { c.read(b); }, &what);
    EXPECT_EQ(ec, std::errc::connection_reset) << what;
    EXPECT_EQ(what.rfind("read tcp ", 0), 0u) << what;
    wg.wait();
  });
}

// Half-close: close_write sends FIN; the peer reads everything and then end
// of stream, and can still answer; our end still reads the answer. A write
// after close_write fails (EPIPE, with no SIGPIPE).
TEST_P(Conn, HalfClose) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      net::conn peer = ln.accept();
      std::string got = read_all(peer);  // returns at the FIN
      EXPECT_EQ(got, "hello, half-closed world");
      peer.write("got " + std::to_string(got.size()) + " bytes");
      peer.close();
      wg.done();
    });
    net::conn c = net::dial("tcp", ln.addr());
    c.write("hello, ");
    c.write("half-closed world");
    c.close_write();
    std::string what;
    EXPECT_EQ(error_of([&] { c.write("more"); }, &what), std::errc::broken_pipe) << what;
    EXPECT_EQ(read_all(c), "got 24 bytes");
    wg.wait();
  });
}

// close_read: later reads see end of stream at once.
TEST_P(Conn, CloseRead) {
  go_run([] {
    echo_server srv(net::listen("tcp", "127.0.0.1:0"));
    srv.serve();
    net::conn c = net::dial("tcp", srv.addr());
    c.close_read();
    std::array<char, 4> b;
    EXPECT_EQ(c.read(b), 0u);
    c.close();
    srv.stop();
  });
}

// write() writes everything: 16 MiB in one call, far more than the socket
// buffers hold, so it waits for writability many times while the peer reads.
TEST_P(Conn, WriteWritesEverything) {
  go_run([] {
    constexpr std::size_t size = 16u << 20;
    auto ln = net::listen("tcp", "127.0.0.1:0");
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {
      net::conn peer = ln.accept();
      std::array<unsigned char, 65536> buf;
      std::size_t total = 0;
      bool pattern_ok = true;
      while (std::size_t n = peer.read(std::as_writable_bytes(std::span(buf)))) {
        for (std::size_t i = 0; i < n; ++i)
          pattern_ok &= buf[i] == static_cast<unsigned char>((total + i) * 7 % 251);
        total += n;
      }
      EXPECT_EQ(total, size);
      EXPECT_TRUE(pattern_ok);
      wg.done();
    });
    std::vector<unsigned char> data(size);
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<unsigned char>(i * 7 % 251);
    net::conn c = net::dial("tcp", ln.addr());
    c.write(std::as_bytes(std::span(data)));
    c.close();
    wg.wait();
  });
}

// Two goroutines blocked in accept on one listener, two connections arriving
// together: both are accepted (Go serialises Accept calls on a listener, so
// neither waiter can sleep through a pending connection). The connections
// are made with plain blocking connect(2) calls, which complete in the
// kernel's backlog without any goro switch point, so at procs=1 both arrive
// before the poller next looks.
TEST_P(Conn, TwoAcceptorsBothAccept) {
  go_run([] {
    auto ln = net::listen("tcp", "127.0.0.1:0");
    auto results = goro::make_chan<bool>(2);
    auto started = goro::make_chan<int>(2);
    for (int i = 0; i < 2; ++i)
      goro::go([&] {
        started.send(1);
        bool ok = false;
        try {
          net::conn c = ln.accept();
          ok = true;
        } catch (const std::system_error&) {
        }
        results.send(ok);
      });
    started.recv();
    started.recv();
    goro::yield();  // procs=1: both acceptors are now parked in the poller
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(static_cast<std::uint16_t>(port_of(ln.addr())));
    int fds[2];
    for (int& fd : fds) {
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    }
    int accepted = 0;
    bool timed_out = false;
    while (accepted < 2 && !timed_out) {
      goro::select(goro::recv_case(results, [&](std::optional<bool> ok) { accepted += *ok; }),
                   goro::recv_case(goro::after(5s), [&](auto) { timed_out = true; }));
    }
    EXPECT_EQ(accepted, 2) << "a goroutine blocked in accept slept through a pending connection";
    ln.close();  // releases a stuck acceptor
    for (int i = accepted; i < 2; ++i) EXPECT_FALSE(*results.recv());
    for (int fd : fds) ::close(fd);
  });
}

// Two goroutines reading one UDP socket, two datagrams arriving together:
// each reader gets one (the same hazard as TwoAcceptorsBothAccept).
TEST_P(Conn, TwoUdpReadersBothRead) {
  go_run([] {
    auto pc = net::listen_packet("udp", "127.0.0.1:0");
    auto results = goro::make_chan<std::string>(2);
    auto started = goro::make_chan<int>(2);
    for (int i = 0; i < 2; ++i)
      goro::go([&] {
        started.send(1);
        std::array<char, 64> buf;
        std::string got;
        try {
          std::size_t n = pc.read_from(std::as_writable_bytes(std::span(buf)));
          got.assign(buf.data(), n);
        } catch (const std::system_error&) {
          got = "closed";
        }
        results.send(got);
      });
    started.recv();
    started.recv();
    goro::yield();
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(static_cast<std::uint16_t>(port_of(pc.local_addr())));
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    for (const char* msg : {"one", "two"})
      EXPECT_EQ(::sendto(fd, msg, 3, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 3);
    ::close(fd);
    std::vector<std::string> got;
    bool timed_out = false;
    while (got.size() < 2 && !timed_out) {
      goro::select(goro::recv_case(results, [&](std::optional<std::string> s) { got.push_back(*s); }),
                   goro::recv_case(goro::after(5s), [&](auto) { timed_out = true; }));
    }
    EXPECT_EQ(got.size(), 2u) << "a goroutine blocked in read_from slept through a queued datagram";
    pc.close();
    for (std::size_t i = got.size(); i < 2; ++i) EXPECT_EQ(*results.recv(), "closed");
  });
}

// Dialing a port nobody listens on: ECONNREFUSED, with Go's "dial tcp ..." text.
TEST_P(Conn, DialRefused) {
  go_run([] {
    std::string addr;
    {
      auto ln = net::listen("tcp", "127.0.0.1:0");
      addr = ln.addr();
      ln.close();
    }
    std::string what;
    EXPECT_EQ(error_of([&] { net::dial("tcp", addr); }, &what), std::errc::connection_refused)
        << what;
    EXPECT_EQ(what.rfind("dial tcp " + addr, 0), 0u) << what;
    // With a timeout the outcome is the same (and immediate).
    auto start = goro::clock::now();
    EXPECT_EQ(error_of([&] { net::dial("tcp", addr, 5s); }), std::errc::connection_refused);
    EXPECT_LT(goro::clock::now() - start, 4s);
  });
}

// Malformed addresses, unknown networks and a port in use.
TEST_P(Conn, AddressAndNetworkErrors) {
  go_run([] {
    std::string what;
    EXPECT_EQ(error_of([&] { net::dial("tcp", "127.0.0.1"); }, &what), std::errc::invalid_argument);
    EXPECT_NE(what.find("missing port"), std::string::npos) << what;
    EXPECT_EQ(error_of([&] { net::dial("tcp", "::1:80"); }, &what), std::errc::invalid_argument);
    EXPECT_NE(what.find("too many colons"), std::string::npos) << what;
    EXPECT_EQ(error_of([&] { net::listen("tcpx", "127.0.0.1:0"); }, &what),
              std::errc::address_family_not_supported);
    EXPECT_NE(what.find("unknown network tcpx"), std::string::npos) << what;
    EXPECT_EQ(error_of([&] { net::listen_packet("tcp", "127.0.0.1:0"); }),
              std::errc::address_family_not_supported);
    EXPECT_EQ(error_of([&] { net::listen("udp", "127.0.0.1:0"); }),
              std::errc::address_family_not_supported);
    EXPECT_EQ(error_of([&] { net::listen("tcp6", "127.0.0.1:0"); }), std::errc::invalid_argument);
    auto ln = net::listen("tcp", "127.0.0.1:0");
    EXPECT_EQ(error_of([&] { net::listen("tcp", ln.addr()); }, &what), std::errc::address_in_use)
        << what;
    EXPECT_EQ(error_of([&] { net::conn().read(std::span<char>()); }, &what), goro::errc::closed);
  });
}

// Address formats: "127.0.0.1:0", "[::1]:0" (when the kernel has IPv6),
// "localhost:0"; local and remote addresses agree across the connection.
TEST_P(Conn, AddressFormats) {
  go_run([] {
    struct variant {
      const char* network;
      const char* address;
      const char* want_host;  // nullptr: any loopback
    };
    std::vector<variant> variants = {{"tcp", "127.0.0.1:0", "127.0.0.1"},
                                     {"tcp4", "127.0.0.1:0", "127.0.0.1"},
                                     {"tcp", "localhost:0", nullptr},
                                     {"tcp4", "localhost:0", "127.0.0.1"}};
    if (have_ipv6_loopback()) {
      variants.push_back({"tcp", "[::1]:0", "[::1]"});
      variants.push_back({"tcp6", "[::1]:0", "[::1]"});
    } else {
      std::printf("  (no IPv6 loopback in this kernel: [::1] variants not run)\n");
    }
    for (const variant& v : variants) {
      echo_server srv(net::listen(v.network, v.address));
      std::string addr = srv.addr();
      std::string host = host_of(addr);
      if (v.want_host != nullptr) EXPECT_EQ(host, v.want_host) << v.network << " " << v.address;
      else EXPECT_TRUE(host == "127.0.0.1" || host == "[::1]") << addr;
      EXPECT_GT(port_of(addr), 0) << addr;
      srv.serve();
      std::vector<std::string> targets = {addr};
      // "localhost" need not resolve to ::1 (/etc/hosts may list only
      // 127.0.0.1), so only IPv4 listeners are also dialled by name.
      if (host == "127.0.0.1") targets.push_back("localhost:" + std::to_string(port_of(addr)));
      for (const std::string& target : targets) {
        net::conn c = net::dial(v.network, target);
        EXPECT_EQ(c.remote_addr(), addr);
        EXPECT_EQ(host_of(c.local_addr()), host);
        c.write("addr");
        EXPECT_EQ(read_n(c, 4), "addr");
        c.close();
      }
      srv.stop();
      EXPECT_EQ(srv.served(), static_cast<long>(targets.size()));
    }
  });
}

// Unix-domain stream sockets: a round trip, Go's address strings, and the
// socket file is removed when the listener closes (so the path can be
// listened on again).
TEST_P(Conn, UnixRoundTrip) {
  temp_dir dir;
  std::string path = dir.path() + "/echo.sock";
  go_run([&] {
    for (int round = 0; round < 2; ++round) {
      echo_server srv(net::listen("unix", path));
      EXPECT_EQ(srv.addr(), path);
      EXPECT_EQ(::access(path.c_str(), F_OK), 0) << "socket file missing while listening";
      srv.serve();
      net::conn c = net::dial("unix", path);
      EXPECT_EQ(c.remote_addr(), path);
      std::string msg = "over a unix socket, round " + std::to_string(round);
      c.write(msg);
      EXPECT_EQ(read_n(c, msg.size()), msg);
      c.close();
      srv.stop();
      EXPECT_NE(::access(path.c_str(), F_OK), 0) << "socket file left behind after close";
    }
    EXPECT_EQ(error_of([&] { net::dial("unix", path); }), std::errc::no_such_file_or_directory);
  });
}

// UDP: a datagram round trip between two packet sockets, with the sender's
// address reported.
TEST_P(Conn, UdpRoundTrip) {
  go_run([] {
    auto a = net::listen_packet("udp", "127.0.0.1:0");
    auto b = net::listen_packet("udp4", "127.0.0.1:0");
    goro::wait_group wg;
    wg.add(1);
    goro::go([&] {  // b answers every datagram with it reversed, until "stop"
      std::array<char, 1500> buf;
      for (;;) {
        std::string from;
        std::size_t n = b.read_from(std::as_writable_bytes(std::span(buf)), &from);
        std::string msg(buf.data(), n);
        EXPECT_EQ(from, a.local_addr());
        if (msg == "stop") break;
        std::string reply(msg.rbegin(), msg.rend());
        EXPECT_EQ(b.write_to(bytes(reply), from), reply.size());
      }
      wg.done();
    });
    for (int i = 0; i < 100; ++i) {
      std::string msg = "datagram " + std::to_string(i);
      EXPECT_EQ(a.write_to(bytes(msg), b.local_addr()), msg.size());
      std::array<char, 1500> buf;
      std::string from;
      std::size_t n = a.read_from(std::as_writable_bytes(std::span(buf)), &from);
      EXPECT_EQ(std::string(buf.data(), n), std::string(msg.rbegin(), msg.rend()));
      EXPECT_EQ(from, b.local_addr());
    }
    a.write_to(bytes("stop"), b.local_addr());
    wg.wait();
  });
}

// The API from a plain std::thread while a runtime runs: the thread dials a
// goroutine server, times out on a read deadline, and serves a goroutine
// client from a listener of its own (its calls block the thread).
TEST_P(Conn, FromPlainThread) {
  go_run([] {
    echo_server srv(net::listen("tcp", "127.0.0.1:0"));
    srv.serve();
    auto thread_done = goro::make_chan<int>(1);
    auto thread_ln = goro::make_chan<std::string>(1);
    std::thread t([&] {
      net::conn c = net::dial("tcp", srv.addr());
      c.write("from a thread");
      EXPECT_EQ(read_n(c, 13), "from a thread");
      c.set_read_deadline(goro::clock::now() + 20ms);
      std::string what;
      std::array<char, 1> b;
      EXPECT_TRUE(is_timeout(error_of([&] { c.read(b); }, &what), what, "read"));
      c.close();

      auto ln = net::listen("tcp", "127.0.0.1:0");
      thread_ln.send(ln.addr());
      net::conn peer = ln.accept();  // blocks this thread
      EXPECT_EQ(read_n(peer, 5), "hello");
      peer.write("thread");
      peer.close();
      ln.close();
      thread_done.send(1);
    });
    net::conn c = net::dial("tcp", *thread_ln.recv());
    c.write("hello");
    EXPECT_EQ(read_all(c), "thread");
    thread_done.recv();
    t.join();
    srv.stop();
  });
}

NET_PROCS(Conn, 1, 2);

}  // namespace
