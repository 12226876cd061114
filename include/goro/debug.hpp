// goro/debug.hpp — goroutine dumps (Go's runtime.Stack(buf, true)).
//
//   goro::dump(std::cerr);
//
// Writes every goroutine of the running runtime, as Go prints them:
//
//   goroutine 1 [running]:
//   main()
//   	/src/main.cpp:12 +0x2f
//
//   goroutine 7 [chan receive, 3 minutes]:
//   worker(goro::chan<int>)
//   	/src/main.cpp:5 +0x41
//   ...
//   created by main() in goroutine 1
//   	/src/main.cpp:10
//
// The calling goroutine comes first (its stack starts at the caller of
// dump), then the others by id. Goroutines running on another thread at
// that moment are listed without a stack (they are never interrupted);
// waiting ones cannot resume while their stack is read, which takes
// microseconds per goroutine. Frames carry file:line when goro was built
// with libdw (see docs/debugging.md, "Reading a goroutine dump").
//
// The same dump goes to stderr on SIGQUIT (then exit status 2, like Go) and
// after a panic or fatal error report (GOTRACEBACK=all for every goroutine,
// none for no stacks).
#pragma once

#include <iosfwd>

#include "goro/export.hpp"

namespace goro {

// Writes the dump of every goroutine to `os`; writes nothing when no
// runtime runs. Callable from goroutines and from any thread.
GORO_EXPORT void dump(std::ostream& os);

}  // namespace goro
