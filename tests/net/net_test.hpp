// tests/net/net_test.hpp — helpers shared by the goro::net tests (ports of
// the behaviour checked by Go's net/net_test.go, net/timeout_test.go and
// runtime's TestNetpollBreak, plus goro's own scale and failure tests).
//
// Conventions (on top of tests/conformance/conformance.hpp's):
//  - loopback only (127.0.0.1, [::1], unix sockets in a fresh temporary
//    directory); every listener uses an ephemeral port;
//  - every goroutine that holds a socket handle returns before the main
//    goroutine does (handles own heap state that a discarded goroutine
//    would leak), so tests run with at_exit::wait_for_goroutines;
//  - synchronisation is by channels and wait groups; the only waiting on
//    time is where time is the subject (deadlines, "must not return within
//    100 ms" checks, the EMFILE back-off);
//  - a hang is reported by the conformance watchdog, not by CTest's timeout.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "conformance.hpp"
#include "goro/goro.hpp"

namespace net_test {

using namespace std::chrono_literals;
using conformance::Procs;
using conformance::procs_name;

#define NET_PROCS(suite, ...) \
  INSTANTIATE_TEST_SUITE_P(Procs, suite, ::testing::Values(__VA_ARGS__), ::conformance::procs_name)

// The error a call threw (a default error_code if it returned normally);
// `what` receives the exception's message.
template <class F>
std::error_code error_of(F&& f, std::string* what = nullptr) {
  try {
    f();
  } catch (const std::system_error& e) {
    if (what != nullptr) *what = e.what();
    return e.code();
  }
  return {};
}

// Go's isDeadlineExceeded: the error is goro::errc::timeout ("i/o timeout"),
// which is also a std::errc::timed_out condition (Go's Timeout() == true),
// and the message names the operation first, like Go's *OpError
// ("read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout").
inline ::testing::AssertionResult is_timeout(std::error_code ec, const std::string& what,
                                             std::string_view op) {
  if (ec != goro::errc::timeout)
    return ::testing::AssertionFailure() << "error " << ec.message() << " (" << what
                                         << "); want i/o timeout";
  if (ec != std::errc::timed_out)
    return ::testing::AssertionFailure() << "timeout error does not compare equal to timed_out";
  if (what.rfind(std::string(op) + " ", 0) != 0 || what.find(": i/o timeout") == std::string::npos)
    return ::testing::AssertionFailure() << "message \"" << what << "\"; want \"" << op
                                         << " <net> <addrs>: i/o timeout\"";
  return ::testing::AssertionSuccess();
}

// Go's net.ErrClosed: "use of closed network connection", not a timeout.
inline ::testing::AssertionResult is_closed(std::error_code ec, const std::string& what) {
  if (ec != goro::errc::closed)
    return ::testing::AssertionFailure() << "error " << ec.message() << " (" << what
                                         << "); want use of closed network connection";
  if (ec == std::errc::timed_out)
    return ::testing::AssertionFailure() << "closed error compares equal to timed_out";
  if (what.find("use of closed network connection") == std::string::npos)
    return ::testing::AssertionFailure() << "message \"" << what << "\"";
  return ::testing::AssertionSuccess();
}

inline std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// Reads exactly n bytes as a string (shorter if the stream ended).
inline std::string read_n(goro::net::conn& c, std::size_t n) {
  std::string s(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    std::size_t k = c.read(std::span(s.data() + got, n - got));
    if (k == 0) break;
    got += k;
  }
  s.resize(got);
  return s;
}

// Reads until end of stream.
inline std::string read_all(goro::net::conn& c) {
  std::string s;
  std::array<char, 4096> buf;
  while (std::size_t n = c.read(buf)) s.append(buf.data(), n);
  return s;
}

// The host part of a listener's "host:port".
inline std::string host_of(const std::string& addr) { return addr.substr(0, addr.rfind(':')); }
inline int port_of(const std::string& addr) { return std::stoi(addr.substr(addr.rfind(':') + 1)); }

// IPv6 loopback usable (the kernel has IPv6 and ::1 is configured).
inline bool have_ipv6_loopback() {
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Raises RLIMIT_NOFILE's soft limit to at least n (and the hard one if
// needed and allowed); false if that is not possible.
inline bool raise_nofile(rlim_t n) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return false;
  if (lim.rlim_cur >= n) return true;
  if (lim.rlim_max < n) lim.rlim_max = n;
  lim.rlim_cur = n;
  return ::setrlimit(RLIMIT_NOFILE, &lim) == 0;
}

// A fresh temporary directory, removed (with what is left in it) at scope end.
class temp_dir {
 public:
  temp_dir() {
    char tmpl[] = "/tmp/goro-net-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace net_test
