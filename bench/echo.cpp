// bench/echo.cpp — the `echo` workload (../shared/anchors/go/echo): TCP echo
// over loopback. The server listens on 127.0.0.1 (ephemeral port) and runs a
// goroutine per accepted connection that reads a `size`-byte message
// (read_full) and writes it back. The client, in the same process, opens
// `n` connections (200), then — with the clock started only once all are
// connected — runs a goroutine per connection that sends `msgs` messages
// (2,000) of `size` bytes (64), reading and checking each echo before
// sending the next. Reports completed round trips per second (n * msgs /
// elapsed) as ops/s; n is the number of connections.
//
// Flags as the Go anchor's: -procs, -n, -msgs, -size. TCP_NODELAY is on (goro's
// default, like Go's). Every connection carries a 60 s deadline, so the
// program cannot hang; afterwards the client closes its connections, the
// server goroutines see end of stream and exit, and the listener is closed.
#include <goro/goro.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "bench_common.hpp"

namespace {

constexpr auto deadline = std::chrono::seconds(60);  // hard bound on the whole exchange

// Echoes fixed-size messages until the peer closes the connection.
void serve(goro::net::conn c, std::size_t size) {
  try {
    c.set_deadline(goro::clock::now() + deadline);
    std::vector<std::byte> buf(size);
    while (c.read_full(buf)) c.write(buf);  // false: end of stream once the client is done
  } catch (const std::system_error&) {
  }
  c.close();
}

// Sends m messages on c, each tagged with its index, and verifies every
// echo before sending the next. Returns an error message, or "" if all is well.
std::string client(goro::net::conn c, long m, std::size_t size) {
  std::vector<std::byte> msg(size), reply(size);
  try {
    for (long i = 0; i < m; ++i) {
      auto tag = static_cast<std::uint64_t>(i);  // little-endian, like Go's binary.LittleEndian
      for (int b = 0; b < 8; ++b) msg[b] = static_cast<std::byte>(tag >> (8 * b));
      c.write(msg);
      if (!c.read_full(reply)) return "unexpected EOF";
      if (std::memcmp(msg.data(), reply.data(), size) != 0) return "echo differs";
    }
  } catch (const std::system_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  bench::flags flags(argc, argv);
  long conns = flags.get("n", 200);
  long msgs = flags.get("msgs", 2'000);
  long size = flags.get("size", 64);
  int procs = static_cast<int>(flags.get("procs", 0));
  flags.check();
  if (size < 8) bench::fail("-size must be at least 8");
  if (conns < 1 || msgs < 1) bench::fail("-n and -msgs must be positive");
  return goro::run(
      [=] {
        auto sz = static_cast<std::size_t>(size);
        // Server: accept loop plus one goroutine per connection.
        goro::net::listener ln;
        try {
          ln = goro::net::listen("tcp", "127.0.0.1:0");
        } catch (const std::system_error& e) {
          bench::fail((std::string("listen: ") + e.what()).c_str());
        }
        goro::wait_group servers;
        goro::go([&servers, ln, sz]() mutable {
          for (;;) {
            goro::net::conn c;
            try {
              c = ln.accept();
            } catch (const std::system_error&) {
              return;  // listener closed
            }
            servers.add(1);
            goro::go([&servers, sz](goro::net::conn c) {
              serve(std::move(c), sz);
              servers.done();
            }, std::move(c));
          }
        });

        // Client: connect everything first (not timed).
        std::vector<goro::net::conn> cs(static_cast<std::size_t>(conns));
        for (auto& c : cs) {
          try {
            c = goro::net::dial("tcp", ln.addr());
          } catch (const std::system_error& e) {
            bench::fail((std::string("dial: ") + e.what()).c_str());
          }
          c.set_deadline(goro::clock::now() + deadline);
        }

        auto start = std::chrono::steady_clock::now();
        auto errs = goro::make_chan<std::string>(static_cast<std::size_t>(conns));
        for (auto& c : cs) goro::go([errs, c, msgs, sz] { errs.send(client(c, msgs, sz)); });
        for (long i = 0; i < conns; ++i) {
          std::string err = *errs.recv();
          if (!err.empty()) bench::fail(("client: " + err).c_str());
        }
        double elapsed = bench::seconds_since(start);

        // Shut down: client side closes, servers drain to EOF, listener closes.
        for (auto& c : cs) c.close();
        servers.wait();
        ln.close();

        double total = static_cast<double>(conns) * static_cast<double>(msgs);
        bench::report("echo", total / elapsed, "ops/s", goro::maxprocs(), conns);
        return 0;
      },
      goro::config{.procs = procs});
}
