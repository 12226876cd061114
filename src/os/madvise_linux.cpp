// os/madvise_linux.cpp — see madvise.hpp.
#include "os/madvise.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

namespace goro::detail::os {
namespace {

constexpr int pidfd_self = -10001;  // PIDFD_SELF (Linux 6.14 headers; the kernel decides)
constexpr std::size_t max_ranges_per_call = 1024;  // UIO_MAXIOV

// Cleared the first time the kernel refuses a batch (too old, or seccomp).
std::atomic<bool> batch_usable{true};

bool advise_batch(const iovec* ranges, std::size_t count, int advice) noexcept {
#ifdef SYS_process_madvise
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < count; ++i) bytes += ranges[i].iov_len;
  long done = syscall(SYS_process_madvise, pidfd_self, ranges, count, advice, 0U);
  if (done == static_cast<long>(bytes)) return true;
  if (done < 0) batch_usable.store(false, std::memory_order_relaxed);
  return false;
#else
  (void)ranges, (void)count, (void)advice;
  batch_usable.store(false, std::memory_order_relaxed);
  return false;
#endif
}

}  // namespace

std::size_t madvise_ranges(const iovec* ranges, std::size_t count, int advice) noexcept {
  std::size_t failed = 0;
  for (std::size_t at = 0; at < count; at += max_ranges_per_call) {
    std::size_t n = std::min(count - at, max_ranges_per_call);
    if (n > 1 && batch_usable.load(std::memory_order_relaxed) && advise_batch(ranges + at, n, advice))
      continue;
    for (std::size_t i = at; i < at + n; ++i)
      if (madvise(ranges[i].iov_base, ranges[i].iov_len, advice) != 0) ++failed;
  }
  return failed;
}

}  // namespace goro::detail::os
