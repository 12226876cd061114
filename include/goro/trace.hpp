// goro/trace.hpp — recording the scheduler's events (Go's runtime/trace,
// written as Chrome trace-event JSON).
//
//   goro::trace::start("sched.json");   // from any thread, before or inside run()
//   ...                                 // the program runs
//   goro::trace::stop();                // flushes and closes the file
//
// Open the file in https://ui.perfetto.dev (or chrome://tracing): one process
// per runtime ("goro runtime N"), one track per processor ("P0", "P1", ...)
// showing a slice "G12" each time goroutine 12 runs there, idle spans,
// goroutine creation, blocking with its wait reason, unblocking (who readied
// whom), goro::blocking, sysmon's hand-offs (retake), steals, timer firings
// and network-poller readies; threads without a processor (sysmon, spare
// threads, plain threads) get tracks of their own. See docs/debugging.md
// ("Tracing the scheduler") for every event.
//
// One trace at a time per process. When run() returns while a trace is being
// recorded, the trace is stopped (written and closed) then; a later stop()
// does nothing.
#pragma once

#include <string>

#include "goro/export.hpp"

namespace goro::trace {

// Starts recording into the file at `path` (created or truncated).
// Throws std::system_error if the file cannot be opened, and
// std::logic_error if a trace is already being recorded.
GORO_EXPORT void start(const std::string& path);

// Stops recording, writes every event recorded so far and closes the file.
// Returns false (and does nothing) if no trace was being recorded. Throws
// std::system_error if writing or closing the file failed (the trace is
// stopped anyway).
GORO_EXPORT bool stop();

// Whether a trace is being recorded.
GORO_EXPORT bool active() noexcept;

}  // namespace goro::trace
