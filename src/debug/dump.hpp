// debug/dump.hpp — goroutine dumps: Go's traceback of every goroutine.
//
// Owns: the text of a goroutine dump (`goroutine N [state, M minutes]:`,
// symbolized frames, `created by F in goroutine P` + file:line of the go()
// call), which goroutines and frames it shows (GOTRACEBACK; goro's park
// machinery and goroutine base hidden unless system), the scan handshake that
// keeps a parked goroutine from resuming while its stack is walked, and
// the SIGQUIT handler (Go's: dump everything, exit 2).
//
// Safety of reading other goroutines' stacks (see sched/g.hpp: scan): the
// dumper sets G::scan on every G, runs os::heavy_barrier(), and then walks
// only the stacks of Gs it sees `waiting` (stored by the park's post-switch,
// after the G left its stack). switch_to stores `running`, runs a compiler
// barrier (the light side of os/membarrier.hpp's pair) and waits while scan
// is set; so a G seen waiting
// cannot run until the dumper clears its scan (right after walking it). Gs
// running elsewhere are shown without a stack; runnable ones without one.
//
// Lock order: dump_mutex (one dump at a time; scan has a single owner) ->
// G free-list lock (for_each_g, to list the records) -> symbolize's mutex.
// Nothing here runs in a signal handler except on_sigquit, which only sets
// a flag and wakes sysmon, which does the dump.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "sched/g.hpp"

namespace goro::detail {

class runtime;

// GOTRACEBACK: none (0), single (1, the default), all (2, system, crash).
enum class traceback_level { none, single, all };
traceback_level gotraceback() noexcept;

// The dump of the calling goroutine (shown as running, its frames starting
// at the caller of the function whose __builtin_frame_address(0) is
// entry_frame) and, if `all`, of every other goroutine of rt, sorted by id.
// Each goroutine's block starts with a newline (Go's layout after a panic or
// fatal error message). Empty if there is nothing to show.
// world_stopped: no goroutine can resume meanwhile (the deadlock report);
// otherwise other goroutines' stacks are walked only with the scan
// handshake, which needs membarrier(2) (switch_to pays a compiler barrier
// only), or under TSan (real fences on both sides).
// from_throw: called in std::terminate after an uncaught throw; the
// calling goroutine's frames start at the function that threw.
std::string format_goroutines(runtime* rt, bool all, const void* entry_frame,
                              bool world_stopped = false, bool from_throw = false);

// switch_to's slow path: waits until a dump has finished with g.
void wait_for_scan(G* g) noexcept;

// SIGQUIT (installed by run() unless the program has a handler of its own).
bool install_sigquit_handler(std::atomic<std::uint32_t>* sysmon_wake_word);
void remove_sigquit_handler() noexcept;
inline std::atomic<bool> sigquit_received{false};
inline bool sigquit_pending() noexcept { return sigquit_received.load(std::memory_order_relaxed); }
// On sysmon's thread: "SIGQUIT: quit", every goroutine, exit status 2.
[[noreturn]] void dump_on_sigquit(runtime& rt) noexcept;

}  // namespace goro::detail
