// goro/net.hpp — Go's net package: TCP, Unix and UDP sockets on the runtime's
// network poller. A goroutine per connection is the natural way to serve.
//
//   auto ln = goro::net::listen("tcp", "127.0.0.1:0");
//   goro::go([ln]() mutable {
//     for (;;) {
//       goro::net::conn c = ln.accept();             // parks, never blocks a thread
//       goro::go([c]() mutable {
//         std::array<char, 4096> buf;
//         while (std::size_t n = c.read(buf)) c.write(std::string_view(buf.data(), n));
//       });
//     }
//   });
//   auto c = goro::net::dial("tcp", ln.addr());
//
// Semantics follow Go:
//  - Addresses are "host:port" strings ("[::1]:80", ":8080" for every
//    interface, "localhost:0"); "unix" takes a path. Names are resolved with
//    getaddrinfo inside goro::blocking, off the scheduler's threads.
//  - Networks: "tcp", "tcp4", "tcp6", "unix" (stream); "udp", "udp4", "udp6"
//    for listen_packet/dial.
//  - read() returns the bytes read, 0 at end of stream (Go's io.EOF); write()
//    writes everything or throws. TCP_NODELAY is on by default.
//  - Deadlines are absolute (goro::clock), per direction, and apply to calls
//    in progress and later ones; moving a deadline while a call is blocked
//    takes effect at once; clock::time_point{} means none. A call past its
//    deadline throws std::system_error with code goro::errc::timeout
//    ("i/o timeout"), which also compares equal to std::errc::timed_out.
//  - A call on a closed connection (or one closed while the call was blocked)
//    throws std::system_error with goro::errc::closed ("use of closed network
//    connection"). Other failures throw std::system_error with the errno.
//  - Handles are shared references (like Go's net.Conn): copies refer to the
//    same socket, close() from any copy unblocks the others, and the socket
//    is closed when the last copy goes.
//  - Usable from goroutines and from plain threads while a goro::run is
//    running (a plain thread blocks).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "goro/context.hpp"
#include "goro/errc.hpp"
#include "goro/export.hpp"
#include "goro/time.hpp"

namespace goro::net {

namespace detail {
struct socket_state;
}

// The common part of every socket handle.
class GORO_EXPORT socket {
 public:
  socket() = default;
  explicit operator bool() const { return state_ != nullptr; }

  // Closes the socket; blocked calls on it fail with errc::closed. Throws
  // errc::closed if it was already closed (Go returns that error).
  void close();
  std::string local_addr() const;
  // Deadlines (clock::time_point{}: none). set_deadline sets both.
  void set_deadline(clock::time_point t);
  void set_read_deadline(clock::time_point t);
  void set_write_deadline(clock::time_point t);
  // The file descriptor (owned by the socket; non-blocking); -1 once closed.
  int native_handle() const;

 protected:
  explicit socket(std::shared_ptr<detail::socket_state> s) : state_(std::move(s)) {}
  std::shared_ptr<detail::socket_state> state_;
};

// A stream connection (Go's net.Conn: *TCPConn or *UnixConn).
class GORO_EXPORT conn : public socket {
 public:
  conn() = default;

  // Reads up to buf.size() bytes; returns how many, 0 at end of stream.
  std::size_t read(std::span<std::byte> buf);
  std::size_t read(std::span<char> buf) { return read(std::as_writable_bytes(buf)); }
  // Reads exactly buf.size() bytes (Go's io.ReadFull); false if the stream
  // ended first (then some bytes may have been read), true otherwise.
  bool read_full(std::span<std::byte> buf);
  bool read_full(std::span<char> buf) { return read_full(std::as_writable_bytes(buf)); }
  // Writes all of buf.
  void write(std::span<const std::byte> buf);
  void write(std::string_view s) { write(std::as_bytes(std::span(s.data(), s.size()))); }
  // Shuts down the writing side (the peer reads end of stream) or the reading side.
  void close_write();
  void close_read();
  std::string remote_addr() const;

 private:
  friend class listener;
  friend conn dial_until(std::string_view, std::string_view, clock::time_point, const context*);
  using socket::socket;
};

// A stream listener (Go's net.Listener).
class GORO_EXPORT listener : public socket {
 public:
  listener() = default;
  // Waits for a connection. Running out of file descriptors (EMFILE,
  // ENFILE) makes it wait and retry with a backoff from 5 ms to 1 s, as Go's
  // http.Server does, instead of failing or spinning.
  conn accept();
  // The listening address, e.g. "127.0.0.1:43121" (the port chosen for ":0").
  std::string addr() const { return local_addr(); }

 private:
  friend GORO_EXPORT listener listen(std::string_view, std::string_view);
  using socket::socket;
};

// A datagram socket (Go's net.PacketConn / *UDPConn).
class GORO_EXPORT packet_conn : public socket {
 public:
  packet_conn() = default;
  // Receives one datagram (truncated to buf); stores the sender in *from.
  std::size_t read_from(std::span<std::byte> buf, std::string* from = nullptr);
  // Sends buf as one datagram to addr ("host:port").
  std::size_t write_to(std::span<const std::byte> buf, std::string_view addr);

 private:
  friend GORO_EXPORT packet_conn listen_packet(std::string_view, std::string_view);
  using socket::socket;
};

// Go's net.Listen: "tcp", "tcp4", "tcp6" or "unix".
GORO_EXPORT listener listen(std::string_view network, std::string_view address);
// Go's net.Dial / DialTimeout for stream networks. timeout 0: none (the
// operating system's connect timeout still applies).
GORO_EXPORT conn dial(std::string_view network, std::string_view address,
                      clock::duration timeout = clock::duration::zero());
// Go's Dialer.DialContext: like dial, bounded by ctx's deadline, and
// abandoned when ctx is canceled (the error is then ctx.err()).
GORO_EXPORT conn dial(const context& ctx, std::string_view network, std::string_view address);
// Go's net.ListenPacket: "udp", "udp4" or "udp6".
GORO_EXPORT packet_conn listen_packet(std::string_view network, std::string_view address);

}  // namespace goro::net
