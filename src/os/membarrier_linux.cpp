// os/membarrier_linux.cpp — membarrier(2) (see membarrier.hpp).
#include "os/membarrier.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <mutex>

namespace goro::detail::os {
namespace {

long membarrier(int cmd) noexcept { return ::syscall(SYS_membarrier, cmd, 0U, 0); }

}  // namespace

void membarrier_init() noexcept {
  static std::once_flag once;
  std::call_once(once, [] {
#if !GORO_TSAN
    long mask = membarrier(MEMBARRIER_CMD_QUERY);
    if (mask > 0 && (mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
        membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
      membarrier_ok.store(true, std::memory_order_release);
#endif
  });
}

void heavy_barrier() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (membarrier_usable()) membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}

}  // namespace goro::detail::os
