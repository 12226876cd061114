// os/futex_linux.cpp — futex(2) wrappers (see futex.hpp).
//
// They leave errno as they found it: a futex sleep inside a goro operation
// (a contended futex_lock, a plain thread's parker) must not change the
// caller's errno, which goro otherwise keeps per goroutine.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "os/futex.hpp"

namespace goro::detail::os {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                std::int64_t timeout_ns) noexcept {
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  const int saved_errno = errno;
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE,
          expected, tsp, nullptr, 0);
  errno = saved_errno;
}

void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept {
  const int saved_errno = errno;
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE,
          count, nullptr, nullptr, 0);
  errno = saved_errno;
}

}  // namespace goro::detail::os
