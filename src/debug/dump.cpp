// debug/dump.cpp — goroutine dumps (see dump.hpp for the scan handshake and
// the lock order), goro::dump and SIGQUIT.
#include "debug/dump.hpp"

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <ostream>
#include <vector>

#include "debug/crash.hpp"
#include "debug/symbolize.hpp"
#include "debug/traceback.hpp"
#include "goro/debug.hpp"
#include "os/futex.hpp"
#include "os/membarrier.hpp"
#include "sched/sched.hpp"

namespace goro::detail {
namespace {

std::mutex dump_mutex;
thread_local bool dumping = false;  // a fatal error inside a dump must not dump again

struct record {
  enum class state { running, running_elsewhere, runnable, waiting };
  std::uint64_t id = 0;
  std::uint64_t parent = 0;
  const void* site = nullptr;  // see detail::site_of (goro/runtime.hpp)
  state what = state::running;
  const char* reason = nullptr;
  std::uint32_t since = 0;
  std::vector<std::uintptr_t> pcs;
};

record identity_of(const G& g, record::state what) {
  record r;
  r.id = g.id.load(std::memory_order_relaxed);
  r.parent = g.parent_id.load(std::memory_order_relaxed);
  r.site = g.created_at.load(std::memory_order_relaxed);
  r.what = what;
  return r;
}

void append_hex(std::string& s, std::uintptr_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%jx", static_cast<std::uintmax_t>(v));
  s += buf;
}

// Go hides the runtime's own frames (runtime.gopark, goexit...) unless
// GOTRACEBACK=system or crash; so does goro, for the frames that are only
// machinery: the innermost run of goro::detail frames (the park, the
// channel or semaphore code under a blocked call) and the goroutine's base
// (goroutine_entry, main_invoke). The trampolines that call the goroutine's
// function stay: an optimizer may have inlined the user's code into them.
bool runtime_frame(const std::string& function) {
  // Up to the parameters; a template function's name follows its return type.
  std::string_view name = std::string_view(function).substr(0, function.find('('));
  return name.starts_with("goro::detail::") || name.find(" goro::detail::") != name.npos ||
         name.starts_with("_ZN4goro6detail");
}

bool base_frame(const std::string& function) {
  return function.find("goroutine_entry") != std::string::npos ||
         function.find("runtime::main_invoke") != std::string::npos;
}

bool trampoline_frame(const std::string& function) {
  return function.find("closure_ops_for") != std::string::npos;
}

bool show_runtime_frames() {
  const char* v = std::getenv("GOTRACEBACK");
  return v != nullptr && (std::strcmp(v, "system") == 0 || std::strcmp(v, "crash") == 0);
}

void append_frame(std::string& s, const symbol_frame& f) {
  if (f.function.empty()) {
    s += "?()";
  } else {
    s += f.function;
    if (f.function.find('(') == std::string::npos) s += "(...)";
  }
  s += "\n\t";
  s += f.file.empty() ? "?" : f.file;
  if (f.line > 0) {
    s += ':';
    s += std::to_string(f.line);
  }
  if (!f.inlined) {
    s += " +";
    append_hex(s, f.offset);
  }
  if (f.file.empty() && f.function.empty()) {
    s += " pc=";
    append_hex(s, f.pc);
  }
  s += "\n";
}

void append_frames(std::string& s, const std::vector<std::uintptr_t>& pcs) {
  static const bool show_runtime = show_runtime_frames();
  std::vector<symbol_frame> frames, one;
  for (std::uintptr_t pc : pcs) {
    one.clear();
    symbolize(pc, one);
    frames.insert(frames.end(), one.begin(), one.end());
  }
  std::size_t first = 0;
  if (!show_runtime)
    while (first < frames.size() && runtime_frame(frames[first].function) &&
           !trampoline_frame(frames[first].function))
      ++first;
  for (std::size_t i = first; i < frames.size(); ++i)
    if (show_runtime || !base_frame(frames[i].function)) append_frame(s, frames[i]);
  if (pcs.size() >= static_cast<std::size_t>(max_traceback_frames)) s += "...additional frames elided...\n";
}

void append_record(std::string& s, const record& r, std::uint32_t now_sec) {
  // (Appends one piece at a time: g++ 12 -O3 warns (-Wrestrict) on
  // operator+ chains of literals and std::string.)
  s += "\ngoroutine ";
  s += std::to_string(r.id);
  s += " [";
  switch (r.what) {
    case record::state::running:
    case record::state::running_elsewhere: s += "running"; break;
    case record::state::runnable: s += "runnable"; break;
    case record::state::waiting:
      s += r.reason != nullptr ? r.reason : "waiting";
      // Go: ", N minutes" once the wait has lasted a minute.
      if (now_sec >= r.since && now_sec - r.since >= 60) {
        s += ", ";
        s += std::to_string((now_sec - r.since) / 60);
        s += " minutes";
      }
      break;
  }
  s += "]:\n";
  if (r.what == record::state::running_elsewhere)
    s += "\tgoroutine running on other thread; stack unavailable\n";
  append_frames(s, r.pcs);
  if (r.site != nullptr) {
    // { const char* file; const char* function; unsigned line; unsigned column; }
    struct {
      const char* file;
      const char* function;
      unsigned line;
      unsigned column;
    } site;
    std::memcpy(&site, r.site, sizeof site);
    s += "created by ";
    s += site.function;
    if (r.parent != 0) {
      s += " in goroutine ";
      s += std::to_string(r.parent);
    }
    s += "\n\t";
    s += site.file;
    s += ':';
    s += std::to_string(site.line);
    s += '\n';
  }
}

// --- SIGQUIT ---------------------------------------------------------------

std::atomic<std::atomic<std::uint32_t>*> sigquit_wake{nullptr};
struct sigaction previous_sigquit;
bool sigquit_installed = false;  // by run()'s thread only

void on_sigquit(int) {
  int saved = errno;
  sigquit_received.store(true, std::memory_order_relaxed);
  if (std::atomic<std::uint32_t>* word = sigquit_wake.load(std::memory_order_acquire))
    os::futex_wake(word);  // sysmon: it does the dump on its next tick
  errno = saved;
}

}  // namespace

traceback_level gotraceback() noexcept {
  const char* v = std::getenv("GOTRACEBACK");
  if (v == nullptr || *v == '\0') return traceback_level::single;
  if (std::strcmp(v, "none") == 0 || std::strcmp(v, "0") == 0) return traceback_level::none;
  if (std::strcmp(v, "all") == 0 || std::strcmp(v, "2") == 0 || std::strcmp(v, "system") == 0 ||
      std::strcmp(v, "crash") == 0)
    return traceback_level::all;
  return traceback_level::single;
}

std::string format_goroutines(runtime* rt, bool all, const void* entry_frame,
                              bool world_stopped, bool from_throw) {
  if (dumping) return {};
  std::lock_guard lock(dump_mutex);
  dumping = true;
  std::vector<record> records;
  G* self = current_g();
  if (self != nullptr) {
    record r = identity_of(*self, record::state::running);
    r.pcs.resize(max_traceback_frames);
    int n = traceback_here(entry_frame, r.pcs.data(), max_traceback_frames);
    if (from_throw) n = skip_throw_frames(r.pcs.data(), n);
    r.pcs.resize(static_cast<std::size_t>(n));
    records.push_back(std::move(r));
  }
  std::size_t others_from = records.size();
  if (all && rt != nullptr) {
    std::vector<G*> gs;
    rt->for_each_g([](const G& g, void* arg) { static_cast<std::vector<G*>*>(arg)->push_back(const_cast<G*>(&g)); },
                   &gs);
    std::erase(gs, self);
    for (G* g : gs) g->scan.store(1, std::memory_order_relaxed);
    os::heavy_barrier();
    std::uintptr_t pcs[max_traceback_frames];
#if GORO_TSAN
    const bool can_walk = true;
    (void)world_stopped;
#else
    const bool can_walk = world_stopped || os::membarrier_usable();
#endif
    for (G* g : gs) {
      switch (g->status.load(std::memory_order_acquire)) {
        case gstatus::waiting: {
          // Off its stack and unable to resume until scan is cleared.
          record r = identity_of(*g, record::state::waiting);
          r.reason = g->wait_reason;
          r.since = g->wait_since;
          int n = can_walk ? traceback_switched(g->sp, pcs, max_traceback_frames) : 0;
          r.pcs.assign(pcs, pcs + n);
          records.push_back(std::move(r));
          break;
        }
        case gstatus::running:
          records.push_back(identity_of(*g, record::state::running_elsewhere));
          break;
        case gstatus::runnable:
          records.push_back(identity_of(*g, record::state::runnable));
          break;
        case gstatus::idle:
        case gstatus::dead:
          break;
      }
      g->scan.store(0, std::memory_order_release);
    }
    std::sort(records.begin() + static_cast<std::ptrdiff_t>(others_from), records.end(),
              [](const record& a, const record& b) { return a.id < b.id; });
  }
  // Symbolized with every goroutine free to run again.
  std::uint32_t now_sec = rt != nullptr ? rt->seconds_now() : 0;
  std::string out;
  for (const record& r : records) append_record(out, r, now_sec);
  dumping = false;
  return out;
}

void wait_for_scan(G* g) noexcept {
  while (g->scan.load(std::memory_order_acquire) != 0) ::sched_yield();
}

bool install_sigquit_handler(std::atomic<std::uint32_t>* sysmon_wake_word) {
  struct sigaction current {};
  if (sigaction(SIGQUIT, nullptr, &current) != 0) return false;
  // The program's own handler (or SIG_IGN) wins, as with Go's os/signal.
  if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler != SIG_DFL) return false;
  if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction != nullptr) return false;
  sigquit_received.store(false, std::memory_order_relaxed);
  sigquit_wake.store(sysmon_wake_word, std::memory_order_release);
  struct sigaction action {};
  action.sa_handler = &on_sigquit;
  action.sa_flags = SA_RESTART | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGQUIT, &action, &previous_sigquit) != 0) {
    sigquit_wake.store(nullptr, std::memory_order_release);
    return false;
  }
  sigquit_installed = true;
  return true;
}

void remove_sigquit_handler() noexcept {
  if (!sigquit_installed) return;
  sigquit_installed = false;
  struct sigaction current {};
  if (sigaction(SIGQUIT, nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
      current.sa_handler == &on_sigquit)
    sigaction(SIGQUIT, &previous_sigquit, nullptr);
  sigquit_wake.store(nullptr, std::memory_order_release);
}

void dump_on_sigquit(runtime& rt) noexcept {
  std::string out = "SIGQUIT: quit\n";
  if (gotraceback() != traceback_level::none) out += format_goroutines(&rt, true, nullptr);
  std::fflush(stdout);
  write_stderr(out.data(), out.size());
  std::_Exit(2);
}

}  // namespace goro::detail

namespace goro {

[[gnu::noinline]] void dump(std::ostream& os) {
  const void* frame = __builtin_frame_address(0);
  std::string s = detail::format_goroutines(detail::current_runtime(), true, frame);
  if (!s.empty() && s.front() == '\n') s.erase(0, 1);
  os << s;
}

}  // namespace goro
