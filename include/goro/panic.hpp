// goro/panic.hpp — the exception Go's runtime panics become.
//
// Misuse that Go reports with a recoverable panic (send on a closed channel,
// a negative WaitGroup counter, ...) throws goro::panic_error carrying Go's
// message. If it is not caught, it escapes the goroutine and ends the process
// the way an unrecovered Go panic does:
//
//     panic: sync: negative WaitGroup counter
//
//     goroutine 7 [running]:
//
// on stderr, and exit status 2. Unrecoverable misuse (Go's "fatal error: ...")
// does not throw: it prints the message and exits with status 2 at once.
#pragma once

#include <stdexcept>

#include "goro/export.hpp"

namespace goro {

class GORO_EXPORT panic_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace goro
