// examples/echo_server — a TCP echo server: one goroutine per connection,
// and a graceful shutdown on SIGINT or SIGTERM.
//
//   echo_server [address]          (default 127.0.0.1:7007; "unix" paths work too: unix:/tmp/e.sock)
//   printf 'hello\n' | nc -q1 127.0.0.1 7007
//
// Shutdown, step by step: the signals are blocked in every thread (the mask
// is set before goro::run starts its threads) and a plain std::thread waits
// for them with sigwait(). It hands the signal to a goroutine over a goro
// channel (channels work from plain threads). That goroutine closes the
// listener, which makes the blocked accept() fail with "use of closed
// network connection" and ends the accept loop; it then gives every open
// connection a grace period (a read deadline). Connections that finish in
// time end normally; the others are cut off by the deadline ("i/o timeout").
// main waits for all of them with a wait_group, then returns.
#include <goro/goro.hpp>

#include <signal.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace {

constexpr auto grace = std::chrono::seconds(5);

// Open connections, so that shutdown can give each a deadline. A std::mutex
// is fine for a short critical section with no goro call inside.
class registry {
 public:
  // Registers c; if shutdown has begun, c gets its deadline at once.
  std::uint64_t add(goro::net::conn c) {
    std::lock_guard lock(mu_);
    if (shutting_down_) c.set_read_deadline(cutoff_);
    conns_.emplace(++next_, c);
    return next_;
  }
  void remove(std::uint64_t id) {
    std::lock_guard lock(mu_);
    conns_.erase(id);
  }
  // Gives every connection, present and future, until `cutoff` to finish.
  std::size_t shut_down(goro::clock::time_point cutoff) {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
    cutoff_ = cutoff;
    for (auto& [id, c] : conns_) c.set_read_deadline(cutoff);
    return conns_.size();
  }

 private:
  std::mutex mu_;
  std::map<std::uint64_t, goro::net::conn> conns_;
  std::uint64_t next_ = 0;
  bool shutting_down_ = false;
  goro::clock::time_point cutoff_{};
};

void handle(goro::net::conn c, registry& conns, goro::wait_group& wg) {
  std::string peer = c.remote_addr();
  if (peer.empty()) peer = "(unix peer)";
  std::uint64_t id = conns.add(c);
  std::printf("conn %s: open\n", peer.c_str());
  std::size_t total = 0;
  std::array<char, 4096> buf;
  try {
    while (std::size_t n = c.read(buf)) {  // 0: the peer closed its side
      c.write(std::string_view(buf.data(), n));
      total += n;
    }
    std::printf("conn %s: closed by peer after %zu bytes\n", peer.c_str(), total);
  } catch (const std::system_error& e) {
    // A grace-period deadline ("i/o timeout"), a reset by the peer, ...
    std::printf("conn %s: %s (after %zu bytes)\n", peer.c_str(), e.what(), total);
  }
  c.close();
  conns.remove(id);
  wg.done();
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = argc > 1 ? argv[1] : "127.0.0.1:7007";
  std::string network = "tcp";
  if (address.rfind("unix:", 0) == 0) {
    network = "unix";
    address.erase(0, 5);
  }

  // Block SIGINT and SIGTERM before any thread exists: every thread goro
  // starts inherits the mask, so only sigwait() below ever sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  return goro::run([&]() -> int {
    goro::net::listener ln;
    try {
      ln = goro::net::listen(network, address);
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "echo_server: %s\n", e.what());
      return 1;
    }
    std::printf("echo_server: listening on %s %s (Ctrl-C to stop)\n", network.c_str(),
                ln.addr().c_str());
    std::fflush(stdout);

    // A plain thread waits for the signal and hands it to the goroutines.
    auto stop = goro::make_chan<int>(1);
    std::thread waiter([stop, signals] {
      int sig = 0;
      sigwait(&signals, &sig);
      stop.send(sig);
    });

    registry conns;
    goro::wait_group wg;
    goro::go([&] {
      int sig = *stop.recv();
      std::printf("echo_server: got %s: closing the listener\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
      ln.close();
      std::size_t open = conns.shut_down(goro::clock::now() + grace);
      std::printf("echo_server: %zu connection(s) open; they have %lld s to finish\n", open,
                  static_cast<long long>(grace.count()));
      std::fflush(stdout);
    });

    // The accept loop: a goroutine per connection.
    for (;;) {
      goro::net::conn c;
      try {
        c = ln.accept();
      } catch (const std::system_error& e) {
        if (e.code() == goro::errc::closed) break;  // shutdown
        std::fprintf(stderr, "echo_server: accept: %s\n", e.what());
        continue;
      }
      wg.add(1);
      goro::go(handle, c, std::ref(conns), std::ref(wg));
    }
    wg.wait();
    waiter.join();
    std::printf("echo_server: all connections finished; bye\n");
    return 0;
  });
}
