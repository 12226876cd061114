// tests/net/echo_server.hpp — a goroutine-per-connection echo server for the
// net tests: serve() accepts until the listener is closed; stop() closes it
// and waits for every connection goroutine to end (each ends when its peer
// closes or resets).
#pragma once

#include <array>
#include <atomic>
#include <system_error>

#include "goro/goro.hpp"

namespace net_test {

class echo_server {
 public:
  explicit echo_server(goro::net::listener ln) : ln_(std::move(ln)) {}
  echo_server(const echo_server&) = delete;
  echo_server& operator=(const echo_server&) = delete;

  std::string addr() const { return ln_.addr(); }
  long served() const { return served_.load(); }

  // Starts the accept loop in a goroutine.
  void serve() {
    wg_.add(1);
    goro::go([this] {
      for (;;) {
        goro::net::conn c;
        try {
          c = ln_.accept();
        } catch (const std::system_error&) {
          break;  // closed by stop()
        }
        served_.fetch_add(1);
        wg_.add(1);
        goro::go([this, c]() mutable {
          echo(c);
          wg_.done();
        });
      }
      wg_.done();
    });
  }

  void stop() {
    ln_.close();
    wg_.wait();
  }

  static void echo(goro::net::conn& c) {
    std::array<char, 4096> buf;
    try {
      while (std::size_t n = c.read(buf)) c.write(std::string_view(buf.data(), n));
    } catch (const std::system_error&) {
      // peer reset, deadline: the connection is done either way
    }
  }

 private:
  goro::net::listener ln_;
  goro::wait_group wg_;
  std::atomic<long> served_{0};
};

}  // namespace net_test
