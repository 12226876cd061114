// os/futex.hpp — sleeping an OS thread on a 32-bit word (Linux futex).
//
// Owns: the only way a goro thread blocks in the kernel for lack of work
// (idle Ms, plain threads waiting on goro primitives, contended futex_locks).
// Callers re-check their condition in a loop: wake-ups may be spurious.
// errno is left unchanged.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>

namespace goro::detail::os {

// Sleeps while *word == expected (or until woken / `timeout_ns` elapses if >= 0).
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                std::int64_t timeout_ns = -1) noexcept;
// Wakes up to `count` threads sleeping on `word`.
void futex_wake(std::atomic<std::uint32_t>* word, int count = 1) noexcept;

}  // namespace goro::detail::os
