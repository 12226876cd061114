// net/address.hpp — Go's address strings <-> socket addresses.
//
// Owns: parsing "host:port" / "[v6]:port" / unix paths for a network name,
// name resolution (getaddrinfo, run inside goro::blocking so it never holds a
// processor), and formatting a sockaddr the way Go prints it.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>
#include <vector>

namespace goro::net::detail {

struct endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family() const { return addr.ss_family; }
};

enum class net_kind { tcp, udp, unix_stream };

struct network {
  net_kind kind;
  int family;  // AF_UNSPEC, AF_INET, AF_INET6 or AF_UNIX
  const char* name;
};

// Throws std::system_error (EAFNOSUPPORT) for an unknown network name;
// `stream` selects which names are valid.
network parse_network(std::string_view name, bool stream);

// Candidate endpoints for `address` on `net`, in the order to try them.
// passive: for listening (an empty host means every interface).
// Throws std::system_error for a malformed address or a failed lookup.
std::vector<endpoint> resolve(const network& net, std::string_view address, bool passive);

// "127.0.0.1:80", "[::1]:80", a unix path, or "" for an unbound socket.
std::string to_string(const sockaddr* sa, socklen_t len);
std::string local_address(int fd);
std::string remote_address(int fd);

}  // namespace goro::net::detail
