// net/net.cpp — goro/net.hpp on the network poller (Go's net/fd_posix.go,
// internal/poll/fd_unix.go).
//
// Owns: socket_state, one per socket, shared by every handle copy. Each
// operation takes a reference on the poll_desc (so close() never closes the
// fd under a running call), tries its system call, and on EAGAIN waits in
// poll_desc::wait for readiness, a deadline or close, then retries.
// Sockets are non-blocking and close-on-exec; sends use MSG_NOSIGNAL so a
// peer that went away gives EPIPE, not SIGPIPE.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "goro/net.hpp"
#include "net/address.hpp"
#include "netpoll/netpoll.hpp"
#include "timer/timer.hpp"

namespace goro::net {
namespace detail {

using goro::detail::poll_desc;
using goro::detail::poll_mode;
using goro::detail::poll_result;

struct socket_state {
  std::uint64_t gen = 0;      // pd's generation for this socket (see poll_desc::open);
                              // declared first: pd's initializer sets it
  poll_desc* pd;
  std::string network;        // for error messages: "tcp", "udp", "unix"
  std::string unlink_path;    // a unix listener's socket file, removed on close
  bool closed = false;        // guarded by close_mu
  goro::detail::spinlock close_mu;

  socket_state(int fd, std::string net) : pd(poll_desc::open(fd, &gen)), network(std::move(net)) {}
  ~socket_state() { close(); }
  socket_state(const socket_state&) = delete;
  socket_state& operator=(const socket_state&) = delete;

  bool close() {
    {
      std::lock_guard guard(close_mu);
      if (closed) return false;
      closed = true;
    }
    pd->close(gen);
    if (!unlink_path.empty()) ::unlink(unlink_path.c_str());
    return true;
  }
};

namespace {

std::int64_t to_nanotime(clock::time_point t) {
  if (t == clock::time_point{}) return 0;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return ns <= 0 ? 1 : ns;  // a time in the past (but not "none")
}

std::string describe(const socket_state& s, const char* op) {
  int fd = s.pd->fd_if(s.gen);
  std::string what = std::string(op) + " " + s.network;
  if (fd >= 0) {
    std::string local = local_address(fd), remote = remote_address(fd);
    if (!local.empty()) what += " " + local;
    if (!remote.empty()) what += "->" + remote;
  }
  return what;
}

[[noreturn]] void fail(const socket_state& s, const char* op, std::error_code ec) {
  throw std::system_error(ec, describe(s, op));
}

[[noreturn]] void fail_errno(const socket_state& s, const char* op, int err) {
  fail(s, op, std::error_code(err, std::generic_category()));
}

[[noreturn]] void fail_poll(const socket_state& s, const char* op, poll_result r) {
  fail(s, op, make_error_code(r == poll_result::closed ? errc::closed : errc::timeout));
}

socket_state& require(const std::shared_ptr<socket_state>& s) {
  if (!s) throw std::system_error(make_error_code(errc::closed), "goro::net: empty socket handle");
  return *s;
}

// Runs `call` (a system call returning -1 and errno on failure) until it
// succeeds, waiting for readiness on EAGAIN.
template <class Call>
long io(socket_state& s, poll_mode mode, const char* op, Call call) {
  if (poll_result r = s.pd->acquire(mode, s.gen); r != poll_result::ready) fail_poll(s, op, r);
  struct release_ref {
    poll_desc* pd;
    ~release_ref() { pd->release(); }
  } guard{s.pd};
  for (;;) {
    long n = call(s.pd->fd());
    if (n >= 0) return n;
    int err = errno;
    if (err == EINTR) continue;
    if (err != EAGAIN && err != EWOULDBLOCK) fail_errno(s, op, err);
    if (poll_result r = s.pd->wait(mode); r != poll_result::ready) fail_poll(s, op, r);
  }
}

int new_socket(int family, int type) {
  int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  return fd;
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int listen_backlog() {
  // Go reads the kernel's limit; SOMAXCONN is only the old default.
  static const int backlog = [] {
    int value = SOMAXCONN;
    if (int fd = ::open("/proc/sys/net/core/somaxconn", O_RDONLY | O_CLOEXEC); fd >= 0) {
      char buf[32] = {};
      if (::read(fd, buf, sizeof buf - 1) > 0) value = std::max(value, std::atoi(buf));
      ::close(fd);
    }
    return std::min(value, 65535);
  }();
  return backlog;
}

// Creates a socket for e and binds it (listen/listen_packet).
int bound_socket(const network& net, const endpoint& e, int type) {
  int fd = new_socket(e.family(), type);
  int one = 1;
  if (net.kind == net_kind::tcp) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (e.family() == AF_INET6) {
    int v6only = net.family == AF_INET6 ? 1 : 0;  // "tcp"/"udp" on [::] take IPv4 too
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&e.addr), e.len) != 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

const char* stream_name(const network& net) { return net.kind == net_kind::unix_stream ? "unix" : "tcp"; }

// listen / listen_packet: a socket bound to the first of address's
// candidates that works (and listening, for a stream).
std::shared_ptr<socket_state> bind_first(const network& net, std::string_view network_name,
                                         std::string_view address, int type) {
  int last_error = EADDRNOTAVAIL;
  for (const auto& e : resolve(net, address, true)) {
    int fd = bound_socket(net, e, type);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    if (type == SOCK_STREAM && ::listen(fd, listen_backlog()) != 0) {
      last_error = errno;
      ::close(fd);
      continue;
    }
    try {
      return std::make_shared<socket_state>(fd, type == SOCK_STREAM ? stream_name(net) : "udp");
    } catch (...) {
      ::close(fd);
      throw;
    }
  }
  throw std::system_error(last_error, std::generic_category(),
                          "listen " + std::string(network_name) + " " + std::string(address));
}

}  // namespace
}  // namespace detail

using detail::socket_state;

// --- socket -----------------------------------------------------------------

void socket::close() {
  socket_state& s = detail::require(state_);
  if (!s.close()) detail::fail(s, "close", make_error_code(errc::closed));
}

std::string socket::local_addr() const {
  const socket_state& s = detail::require(state_);
  int fd = s.pd->fd_if(s.gen);
  return fd >= 0 ? detail::local_address(fd) : "";
}

void socket::set_deadline(clock::time_point t) {
  set_read_deadline(t);
  set_write_deadline(t);
}

void socket::set_read_deadline(clock::time_point t) {
  socket_state& s = detail::require(state_);
  if (!s.pd->set_deadline(goro::detail::poll_mode::read, detail::to_nanotime(t), s.gen))
    detail::fail(s, "set_read_deadline", make_error_code(errc::closed));
}

void socket::set_write_deadline(clock::time_point t) {
  socket_state& s = detail::require(state_);
  if (!s.pd->set_deadline(goro::detail::poll_mode::write, detail::to_nanotime(t), s.gen))
    detail::fail(s, "set_write_deadline", make_error_code(errc::closed));
}

int socket::native_handle() const {
  const socket_state& s = detail::require(state_);
  return s.pd->fd_if(s.gen);
}

// --- conn -------------------------------------------------------------------

std::size_t conn::read(std::span<std::byte> buf) {
  socket_state& s = detail::require(state_);
  if (buf.empty()) return 0;
  return static_cast<std::size_t>(detail::io(s, goro::detail::poll_mode::read, "read", [&](int fd) {
    return static_cast<long>(::read(fd, buf.data(), buf.size()));
  }));
}

bool conn::read_full(std::span<std::byte> buf) {
  while (!buf.empty()) {
    std::size_t n = read(buf);
    if (n == 0) return false;
    buf = buf.subspan(n);
  }
  return true;
}

void conn::write(std::span<const std::byte> buf) {
  socket_state& s = detail::require(state_);
  while (!buf.empty()) {
    long n = detail::io(s, goro::detail::poll_mode::write, "write", [&](int fd) {
      return static_cast<long>(::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL));
    });
    buf = buf.subspan(static_cast<std::size_t>(n));
  }
}

void conn::close_write() {
  socket_state& s = detail::require(state_);
  detail::io(s, goro::detail::poll_mode::write, "close_write",
             [](int fd) { return static_cast<long>(::shutdown(fd, SHUT_WR)); });
}

void conn::close_read() {
  socket_state& s = detail::require(state_);
  detail::io(s, goro::detail::poll_mode::read, "close_read",
             [](int fd) { return static_cast<long>(::shutdown(fd, SHUT_RD)); });
}

std::string conn::remote_addr() const {
  const socket_state& s = detail::require(state_);
  int fd = s.pd->fd_if(s.gen);
  return fd >= 0 ? detail::remote_address(fd) : "";
}

// --- listener ---------------------------------------------------------------

conn listener::accept() {
  socket_state& s = detail::require(state_);
  auto backoff = std::chrono::milliseconds(5);
  for (;;) {
    try {
      long fd = detail::io(s, goro::detail::poll_mode::read, "accept", [](int lfd) {
        long n;
        // A connection reset before accept: take the next one.
        do n = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        while (n < 0 && errno == ECONNABORTED);
        return n;
      });
      int nfd = static_cast<int>(fd);
      if (s.network != "unix") detail::set_nodelay(nfd);
      try {
        return conn(std::make_shared<socket_state>(nfd, s.network));
      } catch (...) {
        ::close(nfd);
        throw;
      }
    } catch (const std::system_error& e) {
      int err = e.code().category() == std::generic_category() ? e.code().value() : 0;
      if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) throw;
      // Out of descriptors: wait for some to be released, never spin.
      goro::sleep(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
    }
  }
}

listener listen(std::string_view network_name, std::string_view address) {
  detail::network net = detail::parse_network(network_name, true);
  auto s = detail::bind_first(net, network_name, address, SOCK_STREAM);
  if (net.kind == detail::net_kind::unix_stream) s->unlink_path = std::string(address);
  return listener(std::move(s));
}

// --- dial -------------------------------------------------------------------

// Connects to the first address that answers before `deadline` (none if
// zero); a context's cancellation interrupts the wait.
conn dial_until(std::string_view network_name, std::string_view address, clock::time_point deadline,
                const context* ctx) {
  auto canceled = [&] { return ctx != nullptr && ctx->err(); };
  if (canceled())
    throw std::system_error(ctx->err(), "dial " + std::string(network_name) + " " + std::string(address));
  detail::network net = detail::parse_network(network_name, true);
  std::vector<detail::endpoint> candidates = detail::resolve(net, address, false);
  std::error_code last;
  for (const auto& e : candidates) {
    int fd = detail::new_socket(e.family(), SOCK_STREAM);
    std::shared_ptr<socket_state> s;
    try {
      s = std::make_shared<socket_state>(fd, detail::stream_name(net));
    } catch (...) {
      ::close(fd);
      throw;
    }
    conn c(s);
    if (deadline != clock::time_point{}) c.set_write_deadline(deadline);
    // Cancellation moves the deadline to the past, which wakes the wait.
    stop_func stop;
    if (ctx != nullptr)
      stop = after_func(*ctx, [s] { s->pd->set_deadline(goro::detail::poll_mode::write, 1, s->gen); });
    try {
      int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&e.addr), e.len);
      if (rc != 0 && errno != EINPROGRESS && errno != EINTR)
        throw std::system_error(errno, std::generic_category(), "dial");
      if (rc != 0) {
        // Wait until writable, then read the connection's outcome.
        detail::io(*s, goro::detail::poll_mode::write, "dial", [&](int sfd) -> long {
          int err = 0;
          socklen_t len = sizeof err;
          if (::getsockopt(sfd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return -1;
          if (err == 0) {
            // Writable and no error: connected if it has a peer.
            sockaddr_storage peer{};
            socklen_t plen = sizeof peer;
            if (::getpeername(sfd, reinterpret_cast<sockaddr*>(&peer), &plen) == 0) return 0;
            errno = EAGAIN;  // not yet
            return -1;
          }
          errno = err == EINPROGRESS || err == EALREADY ? EAGAIN : err;
          return -1;
        });
      }
    } catch (const std::system_error& err) {
      stop();
      if (canceled()) throw std::system_error(ctx->err(), err.what());
      last = err.code();
      continue;  // try the next address
    }
    if (ctx != nullptr && !stop() && canceled())  // canceled just as it connected
      throw std::system_error(ctx->err(), "dial " + std::string(network_name) + " " + std::string(address));
    if (deadline != clock::time_point{} || ctx != nullptr) c.set_write_deadline(clock::time_point{});
    if (net.kind == detail::net_kind::tcp) detail::set_nodelay(fd);
    return c;
  }
  throw std::system_error(last ? last : std::error_code(EADDRNOTAVAIL, std::generic_category()),
                          "dial " + std::string(network_name) + " " + std::string(address));
}

conn dial(std::string_view network, std::string_view address, clock::duration timeout) {
  return dial_until(network, address,
                    timeout > clock::duration::zero() ? clock::now() + timeout : clock::time_point{},
                    nullptr);
}

conn dial(const context& ctx, std::string_view network, std::string_view address) {
  return dial_until(network, address, ctx.deadline().value_or(clock::time_point{}), &ctx);
}

// --- packet_conn --------------------------------------------------------------

packet_conn listen_packet(std::string_view network_name, std::string_view address) {
  detail::network net = detail::parse_network(network_name, false);
  return packet_conn(detail::bind_first(net, network_name, address, SOCK_DGRAM));
}

std::size_t packet_conn::read_from(std::span<std::byte> buf, std::string* from) {
  socket_state& s = detail::require(state_);
  sockaddr_storage peer{};
  socklen_t len = 0;
  long n = detail::io(s, goro::detail::poll_mode::read, "read", [&](int fd) {
    len = sizeof peer;
    return static_cast<long>(
        ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&peer), &len));
  });
  if (from != nullptr) *from = detail::to_string(reinterpret_cast<sockaddr*>(&peer), len);
  return static_cast<std::size_t>(n);
}

std::size_t packet_conn::write_to(std::span<const std::byte> buf, std::string_view addr) {
  socket_state& s = detail::require(state_);
  sockaddr_storage local{};
  socklen_t local_len = sizeof local;
  ::getsockname(s.pd->fd_if(s.gen), reinterpret_cast<sockaddr*>(&local), &local_len);
  detail::network net{detail::net_kind::udp, local.ss_family == AF_INET ? AF_INET : AF_UNSPEC, "udp"};
  std::vector<detail::endpoint> targets = detail::resolve(net, addr, false);
  const detail::endpoint* target = &targets.front();
  for (const auto& t : targets)
    if (t.family() == local.ss_family) {
      target = &t;
      break;
    }
  detail::endpoint mapped;
  if (local.ss_family == AF_INET6 && target->family() == AF_INET) {
    // A dual-stack socket reaches IPv4 peers through v4-mapped addresses.
    auto* sin = reinterpret_cast<const sockaddr_in*>(&target->addr);
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&mapped.addr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = sin->sin_port;
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&sin6->sin6_addr.s6_addr[12], &sin->sin_addr, 4);
    mapped.len = sizeof(sockaddr_in6);
    target = &mapped;
  }
  long n = detail::io(s, goro::detail::poll_mode::write, "write", [&](int fd) {
    return static_cast<long>(::sendto(fd, buf.data(), buf.size(), MSG_NOSIGNAL,
                                      reinterpret_cast<const sockaddr*>(&target->addr), target->len));
  });
  return static_cast<std::size_t>(n);
}

}  // namespace goro::net
