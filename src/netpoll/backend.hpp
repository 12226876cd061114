// netpoll/backend.hpp — the kernel poller behind poll_desc (contract in
// netpoll.hpp). One backend is compiled in: netpoll_epoll.cpp on Linux.
#pragma once

#include <cstdint>

namespace goro::detail {

class poll_desc;
struct g_list;

void backend_init();                        // throws std::system_error
int backend_open(int fd, poll_desc* pd);    // 0 or an errno value
void backend_close(int fd) noexcept;
// false: interrupted by backend_break; readied goroutines are appended to readied.
bool backend_poll(std::int64_t delay_ns, g_list& readied);
void backend_break() noexcept;

}  // namespace goro::detail
