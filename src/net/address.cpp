// net/address.cpp — see address.hpp.
#include "net/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

#include "goro/runtime.hpp"

namespace goro::net::detail {
namespace {

[[noreturn]] void bad_address(std::string_view address, const char* why) {
  throw std::system_error(EINVAL, std::generic_category(),
                          "address " + std::string(address) + ": " + why);
}

// Splits "host:port" (host may be "[v6]"); Go's SplitHostPort.
void split_host_port(std::string_view address, std::string& host, std::string& port) {
  std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) bad_address(address, "missing port in address");
  std::string_view h = address.substr(0, colon);
  if (!h.empty() && h.front() == '[') {
    if (h.back() != ']') bad_address(address, "missing ']' in address");
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string_view::npos) {
    bad_address(address, "too many colons in address");
  }
  host = h;
  port = address.substr(colon + 1);
}

bool numeric_port(const std::string& port, std::uint16_t& out) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535) return false;
  out = static_cast<std::uint16_t>(value);
  return true;
}

endpoint make_v4(const in_addr& a, std::uint16_t port) {
  endpoint e;
  auto* sin = reinterpret_cast<sockaddr_in*>(&e.addr);
  sin->sin_family = AF_INET;
  sin->sin_addr = a;
  sin->sin_port = htons(port);
  e.len = sizeof(sockaddr_in);
  return e;
}

endpoint make_v6(const in6_addr& a, std::uint16_t port) {
  endpoint e;
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_addr = a;
  sin6->sin6_port = htons(port);
  e.len = sizeof(sockaddr_in6);
  return e;
}

}  // namespace

network parse_network(std::string_view name, bool stream) {
  if (stream) {
    if (name == "tcp") return {net_kind::tcp, AF_UNSPEC, "tcp"};
    if (name == "tcp4") return {net_kind::tcp, AF_INET, "tcp4"};
    if (name == "tcp6") return {net_kind::tcp, AF_INET6, "tcp6"};
    if (name == "unix") return {net_kind::unix_stream, AF_UNIX, "unix"};
  } else {
    if (name == "udp") return {net_kind::udp, AF_UNSPEC, "udp"};
    if (name == "udp4") return {net_kind::udp, AF_INET, "udp4"};
    if (name == "udp6") return {net_kind::udp, AF_INET6, "udp6"};
  }
  throw std::system_error(EAFNOSUPPORT, std::generic_category(),
                          "unknown network " + std::string(name));
}

std::vector<endpoint> resolve(const network& net, std::string_view address, bool passive) {
  if (net.kind == net_kind::unix_stream) {
    endpoint e;
    auto* sun = reinterpret_cast<sockaddr_un*>(&e.addr);
    if (address.empty() || address.size() >= sizeof(sun->sun_path))
      bad_address(address, "invalid unix socket path");
    sun->sun_family = AF_UNIX;
    std::memcpy(sun->sun_path, address.data(), address.size());
    e.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() + 1);
    return {e};
  }
  std::string host, port;
  split_host_port(address, host, port);
  std::uint16_t port_number = 0;
  bool numeric = numeric_port(port, port_number);
  if (numeric) {
    in_addr v4{};
    in6_addr v6{};
    if (host.empty()) {
      // Every interface (listen) or this host (dial), like Go.
      bool v6_ok = net.family != AF_INET;
      bool v4_ok = net.family != AF_INET6;
      std::vector<endpoint> out;
      if (passive) {
        if (v6_ok) out.push_back(make_v6(in6addr_any, port_number));
        if (v4_ok) out.push_back(make_v4(in_addr{htonl(INADDR_ANY)}, port_number));
      } else {
        if (v4_ok) out.push_back(make_v4(in_addr{htonl(INADDR_LOOPBACK)}, port_number));
        if (v6_ok) out.push_back(make_v6(in6addr_loopback, port_number));
      }
      return out;
    }
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
      if (net.family == AF_INET6) bad_address(address, "no suitable address found");
      return {make_v4(v4, port_number)};
    }
    if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
      if (net.family == AF_INET) bad_address(address, "no suitable address found");
      return {make_v6(v6, port_number)};
    }
  }
  // A name: getaddrinfo blocks (DNS), so it runs as a blocking call.
  addrinfo hints{};
  hints.ai_family = net.family;
  hints.ai_socktype = net.kind == net_kind::udp ? SOCK_DGRAM : SOCK_STREAM;
  hints.ai_flags = (passive ? AI_PASSIVE : 0) | AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  int rc = goro::blocking([&] {
    return ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &list);
  });
  if (rc != 0) {
    std::string what = "lookup " + host + ": " + ::gai_strerror(rc);
    throw std::system_error(rc == EAI_SYSTEM ? errno : EHOSTUNREACH, std::generic_category(), what);
  }
  std::vector<endpoint> out;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    endpoint e;
    std::memcpy(&e.addr, ai->ai_addr, ai->ai_addrlen);
    e.len = ai->ai_addrlen;
    out.push_back(e);
  }
  ::freeaddrinfo(list);
  if (out.empty()) bad_address(address, "no suitable address found");
  return out;
}

std::string to_string(const sockaddr* sa, socklen_t len) {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (sa->sa_family) {
    case AF_INET: {
      auto* sin = reinterpret_cast<const sockaddr_in*>(sa);
      ::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
      std::string out(buf);
      out += ':';
      out += std::to_string(ntohs(sin->sin_port));
      return out;
    }
    case AF_INET6: {
      auto* sin6 = reinterpret_cast<const sockaddr_in6*>(sa);
      ::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
      std::string out = "[";
      out += buf;
      out += "]:";
      out += std::to_string(ntohs(sin6->sin6_port));
      return out;
    }
    case AF_UNIX: {
      auto* sun = reinterpret_cast<const sockaddr_un*>(sa);
      if (len <= static_cast<socklen_t>(offsetof(sockaddr_un, sun_path))) return "";
      return std::string(sun->sun_path, ::strnlen(sun->sun_path, sizeof sun->sun_path));
    }
    default:
      return "";
  }
}

std::string local_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  return to_string(reinterpret_cast<sockaddr*>(&ss), len);
}

std::string remote_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  return to_string(reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace goro::net::detail
