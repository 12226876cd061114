// debug/trace.cpp — recording and writing the scheduler trace (see
// debug/trace.hpp for the hooks, goro/trace.hpp for the API).
//
// Owns: the per-thread recorders, their event buffers, the writer thread and
// the output file of the trace being recorded.
//
// Recording without locks: each thread that records has a recorder (its
// thread_local `local`, listed in the registry while the thread lives) with a
// `busy` flag and the buffer it appends to. An event is recorded as
//   busy = 1 (seq_cst); if on (seq_cst): append to buf; busy = 0 (release)
// and stop() does
//   on = false (seq_cst); for each recorder: wait until busy == 0, take buf
// (Dekker's protocol): once stop has seen busy == 0 the recorder either
// finished its append or will see `on` false, so stop owns the buffer. A
// recorder whose buf is null (a new thread, or a new trace) gets one from the
// writer's pool. A full buffer goes to the writer's queue (writer lock) and
// the recorder takes a fresh one: the only lock on the recording path, once
// per `buffer::capacity` events. A thread that exits hands its buffer to the
// writer (registry lock, then writer lock).
//
// Timestamps: clock_gettime(CLOCK_MONOTONIC), which the vDSO answers without
// a system call in about 20 ns on x86-64 and aarch64 — the clock nanotime()
// and the timers use, so timer lateness is exact and tracks from different
// threads line up. rdtsc would save ~10 ns per event but needs an invariant
// TSC, a calibration against this clock, and another path for aarch64.
//
// Writing: the writer thread formats full buffers into the file as they
// come (Chrome trace-event JSON, ts in microseconds since start()). Buffers
// reach it in any order, so it keeps, per track, the earliest and latest
// slice edge it wrote; at stop it closes the slice still open on each track
// (at the stop time) and opens the one whose end it saw without its
// beginning (at time 0): every "B" has its "E" on the same track.
//
// Lock order: api_mu -> registry mu -> a recorder's busy flag -> writer mu.
#include "debug/trace.hpp"

#include <time.h>

#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "goro/trace.hpp"
#include "os/spinlock.hpp"
#include "sched/sched.hpp"

namespace goro::detail::tr {

std::atomic<bool> on{false};

namespace {

enum class kind : std::uint8_t {
  create,      // a = new goid, b = parent goid (0: none)
  switch_,     // a = from goid (0: g0), b = to goid (0: g0), flag = post_switch kind, s = reason
  ready,       // a = goid, b = readier goid (0: not a goroutine)
  blocking,    // a = goid, flag = 1 enter / 0 exit
  retake,      // a = goid, flag = in goro::blocking
  steal,       // a = victim P, b = how many, flag = from runnext
  idle,        // flag = 1 begin / 0 end
  spare,       // flag = 1 begin / 0 end
  timer,       // a = lateness in ns
  netpoll,     // a = events, b = 1 if the poll could block
};

struct event {
  std::int64_t ts;
  std::uint64_t a;
  std::uint64_t b;
  const char* s;
  std::int32_t p;      // P index (the track), -1: the thread's own track
  std::uint32_t pid;   // runtime id
  kind k;
  std::uint8_t flag;
};

struct buffer {
  static constexpr std::uint32_t capacity = 4096;
  std::uint32_t n = 0;
  std::uint32_t thread_no = 0;
  const char* label = nullptr;
  event ev[capacity];
};

struct recorder {
  std::atomic<std::uint32_t> busy{0};
  buffer* buf = nullptr;  // see the protocol above
  std::uint32_t thread_no = 0;
  const char* label = nullptr;
};

std::int64_t now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// --- the writer ---------------------------------------------------------------

// Tracks of threads without a P come after every P's (procs <= 65536).
constexpr std::int64_t thread_track_base = 1 << 20;

struct edge {
  std::int64_t ts = -1;
  bool begin = false;
  std::uint8_t what = 0;  // 0: goroutine, 1: idle, 2: spare
  std::uint64_t g = 0;
};

struct track {
  edge first, last;
};

// JSON text is appended to one string (no allocation per event once it has
// grown) and written out in large pieces.
void add(std::string& out, const char* s) { out += s; }
void add_u(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}
void add_i(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}
// Nanoseconds as microseconds with three decimals.
void add_us(std::string& out, std::int64_t ns) {
  if (ns < 0) ns = 0;
  add_i(out, ns / 1000);
  int frac = static_cast<int>(ns % 1000);
  char d[4] = {'.', static_cast<char>('0' + frac / 100), static_cast<char>('0' + frac / 10 % 10),
               static_cast<char>('0' + frac % 10)};
  out.append(d, 4);
}
// The characters of a JSON string (without the quotes).
void add_escaped(std::string& out, const char* s) {
  if (s == nullptr) return;
  for (;;) {
    const char* run = s;  // the longest run that needs no escape, in one append
    while (*s != '\0' && *s != '"' && *s != '\\' && static_cast<unsigned char>(*s) >= 0x20) ++s;
    out.append(run, s);
    if (*s == '\0') return;
    unsigned char c = static_cast<unsigned char>(*s++);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      static const char hex[] = "0123456789abcdef";
      char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      out.append(esc, 6);
    } else {
      out += static_cast<char>(c);
    }
  }
}
void add_quoted(std::string& out, const char* s) {
  out += '"';
  add_escaped(out, s);
  out += '"';
}

class writer {
 public:
  std::mutex mu;
  std::condition_variable cv;
  std::vector<buffer*> full;       // guarded by mu
  std::vector<buffer*> pool;       // guarded by mu
  bool finishing = false;          // guarded by mu

  FILE* file = nullptr;
  std::int64_t t0 = 0;
  int error = 0;                   // first errno of a failed write (writer thread)
  std::uint64_t dropped = 0;       // events lost to a failed allocation (mu)
  std::thread thread;

  void run();
  void write_buffer(const buffer& b);
  void finish(std::int64_t t_end);

 private:
  void flush() {
    if (error == 0 && !out_.empty() && std::fwrite(out_.data(), 1, out_.size(), file) != out_.size())
      error = errno ? errno : EIO;
    out_.clear();
  }
  // An event up to its arguments: named `name`, or "G<g>" if g != 0.
  void head(const char* name, std::uint64_t g, char ph, std::int64_t ts, std::uint32_t pid,
            std::int64_t tid);
  // Arguments: key(...) then the value, then close(true); close(false) if none.
  void key(const char* k, bool first) {
    out_ += first ? ",\"args\":{\"" : ",\"";
    out_ += k;
    out_ += "\":";
  }
  void close(bool had_args) {
    out_ += had_args ? "}}" : "}";
    if (out_.size() >= (1u << 20)) flush();
  }
  // A slice edge (B or E) on a track; the caller adds arguments and closes.
  void edge_head(std::uint32_t pid, std::int64_t tid, std::int64_t ts, bool begin,
                 std::uint8_t what, std::uint64_t g);
  // The track's state, its metadata written the first time it is seen.
  track& track_for(std::uint32_t pid, std::int64_t tid, const buffer* b, std::int32_t p);

  std::map<std::pair<std::uint32_t, std::int64_t>, track> tracks_;
  std::map<std::uint32_t, bool> processes_;
  std::pair<std::uint32_t, std::int64_t> last_key_{0, -1};
  track* last_track_ = nullptr;
  bool first_line_ = true;
  std::string out_;
};

void writer::head(const char* name, std::uint64_t g, char ph, std::int64_t ts, std::uint32_t pid,
                  std::int64_t tid) {
  out_ += first_line_ ? "\n{\"name\":\"" : ",\n{\"name\":\"";
  first_line_ = false;
  if (g != 0) {
    out_ += 'G';
    add_u(out_, g);
  } else {
    add_escaped(out_, name);
  }
  out_ += "\",\"ph\":\"";
  out_ += ph;
  out_ += '"';
  if (ph == 'i') out_ += ",\"s\":\"t\"";
  if (ph != 'M') {
    out_ += ",\"ts\":";
    add_us(out_, ts - t0);
  }
  out_ += ",\"pid\":";
  add_u(out_, pid);
  out_ += ",\"tid\":";
  add_i(out_, tid);
}

track& writer::track_for(std::uint32_t pid, std::int64_t tid, const buffer* b, std::int32_t p) {
  std::pair<std::uint32_t, std::int64_t> k{pid, tid};
  if (last_track_ != nullptr && k == last_key_) return *last_track_;
  auto [it, fresh] = tracks_.try_emplace(k);
  last_key_ = k;
  last_track_ = &it->second;
  if (!fresh) return it->second;
  if (!processes_[pid]) {
    processes_[pid] = true;
    head("process_name", 0, 'M', 0, pid, 0);
    key("name", true);
    if (pid == 0) {
      add(out_, "\"no runtime\"");
    } else {
      add(out_, "\"goro runtime ");
      add_u(out_, pid);
      out_ += '"';
    }
    close(true);
  }
  head("thread_name", 0, 'M', 0, pid, tid);
  key("name", true);
  out_ += '"';
  if (p >= 0) {
    out_ += 'P';
    add_i(out_, p);
  } else {
    const char* label = b != nullptr && b->label != nullptr ? b->label : "thread";
    add_escaped(out_, label);
    add(out_, " (thread ");
    add_u(out_, b != nullptr ? b->thread_no : 0);
    add(out_, std::strcmp(label, "M") == 0 ? ", no P)" : ")");
  }
  out_ += '"';
  close(true);
  head("thread_sort_index", 0, 'M', 0, pid, tid);
  key("sort_index", true);
  add_i(out_, tid);
  close(true);
  return it->second;
}

void writer::edge_head(std::uint32_t pid, std::int64_t tid, std::int64_t ts, bool begin,
                       std::uint8_t what, std::uint64_t g) {
  static const char* const names[] = {nullptr, "idle", "no P (spare)"};
  track& t = track_for(pid, tid, nullptr, -1);  // known: its metadata is out
  head(names[what], what == 0 ? g : 0, begin ? 'B' : 'E', ts, pid, tid);
  edge e{ts, begin, what, g};
  // Ties: a switch writes E then B at one time; the E is the earlier edge.
  if (t.first.ts < 0 || ts < t.first.ts) t.first = e;
  if (t.last.ts < 0 || ts >= t.last.ts) t.last = e;
}

void writer::write_buffer(const buffer& b) {
  for (std::uint32_t i = 0; i < b.n; ++i) {
    const event& e = b.ev[i];
    std::int64_t tid = e.p >= 0 ? e.p : thread_track_base + std::int64_t{b.thread_no};
    track_for(e.pid, tid, &b, e.p);
    switch (e.k) {
      case kind::create:
        head("go create", 0, 'i', e.ts, e.pid, tid);
        key("g", true);
        add_u(out_, e.a);
        key("parent", false);
        add_u(out_, e.b);
        close(true);
        break;
      case kind::switch_: {
        if (e.a != 0 && e.p >= 0) {
          static const char* const why[] = {"switch", "block", "yield", "yield", "exit"};
          edge_head(e.pid, tid, e.ts, false, 0, e.a);
          key("end", true);
          add_quoted(out_, e.flag < 5 ? why[e.flag] : "switch");
          if (e.s != nullptr) {
            key("reason", false);
            add_quoted(out_, e.s);
          }
          close(true);
          if (e.s != nullptr) {
            head("block", 0, 'i', e.ts, e.pid, tid);
            key("g", true);
            add_u(out_, e.a);
            key("reason", false);
            add_quoted(out_, e.s);
            close(true);
          }
        }
        if (e.b != 0 && e.p >= 0) {
          edge_head(e.pid, tid, e.ts, true, 0, e.b);
          key("g", true);
          add_u(out_, e.b);
          close(true);
        }
        break;
      }
      case kind::ready:
        head("unblock", 0, 'i', e.ts, e.pid, tid);
        key("g", true);
        add_u(out_, e.a);
        key("by", false);
        if (e.b != 0) add_u(out_, e.b);
        else add_quoted(out_, e.s != nullptr ? e.s : "thread");
        close(true);
        break;
      case kind::blocking:
        head(e.flag ? "blocking enter" : "blocking exit", 0, 'i', e.ts, e.pid, tid);
        key("g", true);
        add_u(out_, e.a);
        close(true);
        break;
      case kind::retake:
        edge_head(e.pid, tid, e.ts, false, 0, e.a);
        key("end", true);
        add(out_, "\"retake\"");
        close(true);
        head("retake", 0, 'i', e.ts, e.pid, tid);
        key("g", true);
        add_u(out_, e.a);
        key("blocking", false);
        add(out_, e.flag ? "true" : "false");
        close(true);
        break;
      case kind::steal:
        head("steal", 0, 'i', e.ts, e.pid, tid);
        key("from", true);
        add(out_, "\"P");
        add_u(out_, e.a);
        out_ += '"';
        key("n", false);
        add_u(out_, e.b);
        key("runnext", false);
        add(out_, e.flag ? "true" : "false");
        close(true);
        break;
      case kind::idle:
      case kind::spare:
        edge_head(e.pid, tid, e.ts, e.flag != 0, e.k == kind::idle ? 1 : 2, 0);
        close(false);
        break;
      case kind::timer:
        head("timer fire", 0, 'i', e.ts, e.pid, tid);
        key("late_us", true);
        add_us(out_, static_cast<std::int64_t>(e.a));
        close(true);
        break;
      case kind::netpoll:
        head("netpoll", 0, 'i', e.ts, e.pid, tid);
        key("events", true);
        add_u(out_, e.a);
        key("blocking", false);
        add(out_, e.b ? "true" : "false");
        close(true);
        break;
    }
  }
  flush();
}

void writer::run() {
  std::unique_lock lock(mu);
  for (;;) {
    cv.wait(lock, [&] { return finishing || !full.empty(); });
    std::vector<buffer*> batch;
    batch.swap(full);
    if (batch.empty() && finishing) return;
    lock.unlock();
    for (buffer* b : batch) write_buffer(*b);
    lock.lock();
    for (buffer* b : batch) {
      b->n = 0;
      pool.push_back(b);
    }
  }
}

void writer::finish(std::int64_t t_end) {
  for (auto& [k, t] : tracks_) {
    edge first = t.first, last = t.last;
    if (first.ts >= 0 && !first.begin) {
      edge_head(k.first, k.second, t0, true, first.what, first.g);
      key("started", true);
      add(out_, "\"before the trace\"");
      close(true);
    }
    if (last.ts >= 0 && last.begin) {
      edge_head(k.first, k.second, t_end, false, last.what, last.g);
      key("end", true);
      add(out_, "\"trace stopped\"");
      close(true);
    }
  }
  add(out_, "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"generator\":\"goro::trace\",");
  add(out_, "\"dropped_events\":");
  add_u(out_, dropped);
  add(out_, "}}\n");
  flush();
}

// --- recorders and the session -------------------------------------------------

std::mutex api_mu;                 // serialises start and stop
std::mutex registry_mu;
std::vector<recorder*> registry;   // guarded by registry_mu
std::uint32_t threads_seen = 0;    // guarded by registry_mu
writer* session = nullptr;         // set under api_mu and registry_mu; read under either

thread_local const char* tl_label = nullptr;
thread_local bool tl_gone = false;  // the thread's recorder was destroyed

struct local {
  recorder rec;
  bool listed = false;
  ~local() {
    tl_gone = true;
    if (!listed) return;
    std::lock_guard lock(registry_mu);
    std::erase(registry, &rec);
    if (rec.buf != nullptr && session != nullptr) {
      // rec.buf is non-null only while the trace it belongs to is running
      // (stop takes every buffer under registry_mu).
      {
        std::lock_guard wlock(session->mu);
        session->full.push_back(rec.buf);
      }
      session->cv.notify_one();
    }
    rec.buf = nullptr;
  }
};
thread_local local tl_local;

recorder* self() noexcept {
  if (tl_gone) return nullptr;
  local& l = tl_local;
  if (!l.listed) {
    std::lock_guard lock(registry_mu);
    l.rec.thread_no = ++threads_seen;
    l.rec.label = tl_label;
    try {
      registry.push_back(&l.rec);
    } catch (...) {
      return nullptr;
    }
    l.listed = true;
  }
  return &l.rec;
}

// With busy held and `on` seen: a buffer with room, or null (out of memory).
buffer* room(recorder* r) noexcept {
  buffer* b = r->buf;
  if (b != nullptr && b->n < buffer::capacity) return b;
  writer* w = session;  // stable: stop waits for busy before it clears it
  buffer* fresh = nullptr;
  {
    std::lock_guard lock(w->mu);
    if (b != nullptr) w->full.push_back(b);
    if (!w->pool.empty()) {
      fresh = w->pool.back();
      w->pool.pop_back();
    } else {
      fresh = new (std::nothrow) buffer;
      if (fresh == nullptr) ++w->dropped;
    }
  }
  if (b != nullptr) w->cv.notify_one();
  if (fresh != nullptr) {
    fresh->n = 0;
    fresh->thread_no = r->thread_no;
    fresh->label = r->label;
  }
  r->buf = fresh;
  return fresh;
}

std::uint32_t runtime_pid(const M* m) noexcept {
  if (m != nullptr && m->rt != nullptr) return static_cast<std::uint32_t>(m->rt->id());
  runtime* rt = current_runtime();
  return rt != nullptr ? static_cast<std::uint32_t>(rt->id()) : 0;
}

// Records one event. p: the P whose track it goes on; `use_own_p`: the
// calling M's P (or the thread's track without one).
void emit(kind k, bool use_own_p, const P* p, std::uint64_t a, std::uint64_t b, const char* s,
          std::uint8_t flag, const M* m_for_pid = nullptr) noexcept {
  recorder* r = self();
  if (r == nullptr) return;
  r->busy.store(1, std::memory_order_seq_cst);
  if (!on.load(std::memory_order_seq_cst)) {
    r->busy.store(0, std::memory_order_release);
    return;
  }
  if (buffer* buf = room(r)) {
    const M* m = this_m();
    if (use_own_p) p = m != nullptr ? m->p : nullptr;
    event& e = buf->ev[buf->n++];
    e.ts = now_ns();
    e.a = a;
    e.b = b;
    e.s = s;
    e.p = p != nullptr ? p->id : -1;
    e.pid = runtime_pid(m_for_pid != nullptr ? m_for_pid : m);
    e.k = k;
    e.flag = flag;
  }
  r->busy.store(0, std::memory_order_release);
}

std::uint64_t goid_of(const G* g) noexcept { return g != nullptr && !g->is_g0 ? g->id.load(std::memory_order_relaxed) : 0; }

}  // namespace

// --- recording entry points ------------------------------------------------------

void record_create(const G* g) noexcept {
  emit(kind::create, true, nullptr, g->id.load(std::memory_order_relaxed), goid_of(current_g()), nullptr, 0);
}

void record_switch(const M* m, const G* from, const G* to) noexcept {
  auto why = m->post.what;
  const char* reason = why == post_switch::kind::park ? from->wait_reason : nullptr;
  emit(kind::switch_, false, m->p, goid_of(from), goid_of(to), reason,
       static_cast<std::uint8_t>(why), m);
}

void record_ready(const G* g) noexcept {
  const G* by = current_g();
  const char* ctx = nullptr;
  if (by == nullptr) {
    const M* m = this_m();
    ctx = m != nullptr ? "g0" : (tl_label != nullptr ? tl_label : "thread");
  }
  emit(kind::ready, true, nullptr, g->id.load(std::memory_order_relaxed), goid_of(by), ctx, 0);
}

void record_blocking(bool enter) noexcept {
  emit(kind::blocking, true, nullptr, goid_of(current_g()), 0, nullptr, enter ? 1 : 0);
}

void record_retake(const P* p, const M* m) noexcept {
  emit(kind::retake, false, p, goid_of(m->curg), 0, nullptr,
       m->in_blocking.load(std::memory_order_relaxed) ? 1 : 0, m);
}

void record_steal(const P* self_p, const P* victim, bool runnext) noexcept {
  std::uint64_t n = runnext ? 1 : std::uint64_t{self_p->runq.size()} + 1;
  emit(kind::steal, false, self_p, static_cast<std::uint64_t>(victim->id), n, nullptr,
       runnext ? 1 : 0);
}

void record_idle(bool begin) noexcept { emit(kind::idle, true, nullptr, 0, 0, nullptr, begin ? 1 : 0); }

void record_spare(bool begin) noexcept {
  emit(kind::spare, false, nullptr, 0, 0, nullptr, begin ? 1 : 0);
}

void record_timer(std::int64_t when, std::int64_t now) noexcept {
  emit(kind::timer, true, nullptr, static_cast<std::uint64_t>(now > when ? now - when : 0), 0,
       nullptr, 0);
}

void record_netpoll(int events, std::int64_t delay_ns) noexcept {
  emit(kind::netpoll, true, nullptr, static_cast<std::uint64_t>(events < 0 ? 0 : events),
       delay_ns != 0 ? 1 : 0, nullptr, 0);
}

void name_thread(const char* label) noexcept { tl_label = label; }

void runtime_ended() noexcept {
  if (!on.load(std::memory_order_relaxed)) return;
  try {
    goro::trace::stop();
  } catch (...) {
  }
}

}  // namespace goro::detail::tr

namespace goro::trace {

using namespace goro::detail::tr;

void start(const std::string& path) {
  std::lock_guard api(api_mu);
  if (session != nullptr) throw std::logic_error("goro::trace::start: a trace is already being recorded");
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    int err = errno;
    std::string what = "goro::trace::start: ";
    what += path;
    throw std::system_error(err, std::generic_category(), what);
  }
  auto w = std::make_unique<writer>();
  w->file = f;
  std::fputs("{\"traceEvents\":[", f);
  w->t0 = now_ns();
  try {
    w->thread = std::thread([p = w.get()] { p->run(); });
  } catch (...) {
    std::fclose(f);
    throw;
  }
  {
    std::lock_guard lock(registry_mu);
    session = w.release();
  }
  on.store(true, std::memory_order_seq_cst);
}

bool stop() {
  std::lock_guard api(api_mu);
  writer* w = session;
  if (w == nullptr) return false;
  on.store(false, std::memory_order_seq_cst);
  std::vector<buffer*> taken;
  {
    std::lock_guard lock(registry_mu);
    for (recorder* r : registry) {
      for (int spins = 0; r->busy.load(std::memory_order_acquire) != 0; ++spins) {
        if (spins < 100) goro::detail::cpu_relax();
        else std::this_thread::yield();  // its thread was preempted mid-event
      }
      if (r->buf != nullptr) taken.push_back(r->buf);
      r->buf = nullptr;
    }
    session = nullptr;  // thread exits from now on have no buffer to hand over
  }
  std::int64_t t_end = now_ns();
  {
    std::lock_guard lock(w->mu);
    for (buffer* b : taken) w->full.push_back(b);
    w->finishing = true;
  }
  w->cv.notify_one();
  w->thread.join();
  w->finish(t_end);
  int err = w->error;
  if (std::fflush(w->file) != 0 && err == 0) err = errno ? errno : EIO;
  if (std::fclose(w->file) != 0 && err == 0) err = errno ? errno : EIO;
  for (buffer* b : w->pool) delete b;
  delete w;
  if (err != 0) throw std::system_error(err, std::generic_category(), "goro::trace::stop: writing the trace");
  return true;
}

bool active() noexcept { return on.load(std::memory_order_relaxed); }

}  // namespace goro::trace
