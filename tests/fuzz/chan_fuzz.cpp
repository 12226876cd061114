// Channel fuzzer: random programs of channel operations across goroutines,
// every outcome checked against a sequential model of Go's channel semantics
// (docs/testing.md describes it for users).
//
// The input decodes into a program (decode() below): 1-3 channels (capacity
// 0-3, some nil), 1-4 worker goroutines, procs 1 or 2, and up to 48
// operations, each owned by one worker: send, recv, try_send, try_recv, close,
// len/cap, and select over 1-3 cases with or without default. The driver (the
// main goroutine) runs the operations one at a time in the input's order: it
// hands op j to its worker and waits until the op has either completed or
// parked (the worker's G is in status waiting, read through the scheduler's
// record: this harness includes goro's private headers). The model then says
// what the op must have done: the value received (values are unique), closed,
// "send on closed channel", try results, len and cap, and which earlier parked
// ops it must have completed (FIFO queues of parked senders and receivers per
// channel), which the driver waits for and checks too (in a "lazy" program
// only before that worker's next op, so woken goroutines resume while later
// ops run). A select with several ready cases may choose any of them; the
// model follows the one chosen. A worker with a parked op gets no new op until
// the op completes (its later ops are skipped).
//
// At the end the driver closes every channel (waking every parked op, which
// the model checks), drains the buffers (FIFO order checked), checks that only
// ops on nil channels stay parked, stops the other workers and ends the
// runtime; ops parked forever are discarded with it. ASan/LSan (the fuzz
// build) then catch leaks of values (unique_ptr<int>) and channels.
//
// Built as a libFuzzer target (GORO_BUILD_FUZZ, scripts/fuzz.sh) and, with
// GORO_FUZZ_REPLAY, as a plain program that replays files or directories (the
// seed corpus, as the ctest fuzz_corpus_replay).
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "goro/goro.hpp"
#include "sched/g.hpp"
#include "sched/sched.hpp"

#ifdef GORO_FUZZ_REPLAY
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#endif

namespace {

// String building without operator+ chains (g++ 12's -Wrestrict false
// positive on them at -O3, PR 105329).
inline void cat_one(std::string& s, std::string_view v) { s.append(v); }
template <class I>
  requires std::is_arithmetic_v<I>
void cat_one(std::string& s, I v) {
  s.append(std::to_string(v));
}
template <class... A>
std::string cat(const A&... a) {
  std::string s;
  (cat_one(s, a), ...);
  return s;
}

using V = std::unique_ptr<int>;
constexpr int max_chans = 3;
constexpr int max_workers = 4;
constexpr int max_ops = 48;
constexpr int max_cases = 3;

// --- the program ---------------------------------------------------------------

enum class op_kind : std::uint8_t { send, recv, try_send, try_recv, close, len_cap, select };
constexpr const char* op_names[] = {"send", "recv", "try_send", "try_recv", "close", "len_cap", "select"};

struct sel_case {
  int ch = 0;
  bool send = false;
};

struct op {
  int worker = 0;
  op_kind kind = op_kind::send;
  int ch = 0;                      // all but select
  int ncases = 0;                  // select
  sel_case cases[max_cases];
  bool has_default = false;
};

struct program {
  int procs = 1;
  int nchans = 1;
  int caps[max_chans] = {};
  bool nil[max_chans] = {};
  int nworkers = 1;
  // Deferred wakeup checks: the driver does not wait for the ops an op
  // completes before it issues the next one (see check_wakes).
  bool lazy = false;
  std::vector<op> ops;
};

// A send's value: unique per (op, case) and never 0. Sends on nil channels
// carry no value (an empty unique_ptr): they park forever and are discarded,
// so nothing on their stacks may own memory.
int value_id(int op_index, int case_index) { return op_index * 4 + case_index + 1; }

program decode(const std::uint8_t* data, std::size_t size) {
  std::size_t pos = 0;
  auto next = [&]() -> std::uint8_t { return pos < size ? data[pos++] : 0; };
  program p;
  std::uint8_t h = next();
  p.procs = 1 + (h & 1);
  p.nchans = 1 + (h >> 1) % 3;
  p.nworkers = 1 + (h >> 3) % 4;
  p.lazy = ((h >> 5) & 1) != 0;
  for (int i = 0; i < p.nchans; ++i) {
    std::uint8_t b = next();
    p.caps[i] = b % 4;
    p.nil[i] = (b >> 2) % 8 == 7;
  }
  while (pos < size && static_cast<int>(p.ops.size()) < max_ops) {
    std::uint8_t b1 = next(), b2 = next();
    op o;
    o.worker = b1 % p.nworkers;
    o.kind = static_cast<op_kind>((b1 >> 2) % 7);
    o.ch = b2 % p.nchans;
    if (o.kind == op_kind::select) {
      int n = 1 + (b2 >> 2) % 3;
      o.has_default = (b2 >> 4) & 1;
      for (int i = 0; i < n; ++i) {
        std::uint8_t b = next();
        sel_case c{b % p.nchans, ((b >> 2) & 1) != 0};
        bool dup = false;  // one case per (channel, direction): see the model
        for (int k = 0; k < o.ncases; ++k)
          dup |= o.cases[k].ch == c.ch && o.cases[k].send == c.send;
        if (!dup) o.cases[o.ncases++] = c;
      }
    }
    p.ops.push_back(o);
  }
  return p;
}

std::string describe(const program& p) {
  std::string s = cat("procs=", p.procs, " workers=", p.nworkers, p.lazy ? " lazy\n" : "\n");
  for (int i = 0; i < p.nchans; ++i)
    s += p.nil[i] ? cat("  c", i, " nil\n") : cat("  c", i, " cap ", p.caps[i], "\n");
  for (std::size_t j = 0; j < p.ops.size(); ++j) {
    const op& o = p.ops[j];
    s += cat("  op ", j, ": w", o.worker, " ", op_names[static_cast<int>(o.kind)]);
    if (o.kind == op_kind::select) {
      for (int k = 0; k < o.ncases; ++k)
        s += o.cases[k].send ? cat(" send(c", o.cases[k].ch, ",", value_id(static_cast<int>(j), k), ")")
                             : cat(" recv(c", o.cases[k].ch, ")");
      if (o.has_default) s += " default";
    } else {
      s += cat(" c", o.ch);
      if (o.kind == op_kind::send || o.kind == op_kind::try_send)
        s += cat(" ", value_id(static_cast<int>(j), 0));
    }
    s += "\n";
  }
  return s;
}

// --- what a worker observed ------------------------------------------------------

struct result {
  bool panicked = false;
  std::string panic_msg;
  int index = -2;          // select: the case chosen (-1: default)
  bool received = false;   // recv / select recv: a value (false: closed)
  int value = 0;           // the value received (0 if the element was empty)
  bool sent = false;       // try_send
  goro::recv_status status = goro::recv_status::empty;
  std::size_t len = 0, cap = 0;
};

std::string show(const result& r) {
  if (r.panicked) return cat("panic(", r.panic_msg, ")");
  return cat("index=", r.index, " received=", r.received, " value=", r.value, " sent=", r.sent,
             " status=", static_cast<int>(r.status), " len=", r.len, " cap=", r.cap);
}

struct shared_state {
  const program* prog = nullptr;
  std::vector<goro::chan<V>> chans;
  std::vector<goro::chan<int>> cmds;       // op index, or -1: quit
  std::vector<result> results;             // written by the worker before done
  std::atomic<goro::detail::G*> g[max_workers] = {};
  std::atomic<int> started[max_workers];   // op index the worker is executing
  std::atomic<int> done[max_workers];      // last op index completed
  goro::wait_group exited;
  shared_state() {
    for (int i = 0; i < max_workers; ++i) {
      started[i].store(-1);
      done[i].store(-1);
    }
  }
};

// --- the worker ---------------------------------------------------------------------

struct select_ctx {
  shared_state* st;
  const op* o;
  int op_index;
  result* res;
};

template <class... Cs>
int select_finish(const select_ctx& x, Cs&&... cs) {
  if (x.o->has_default) return goro::select(std::forward<Cs>(cs)..., goro::default_case());
  return goro::select(std::forward<Cs>(cs)...);
}

// Builds the select's cases one by one (their count and directions are only
// known at run time), then runs it.
template <class... Cs>
int select_build(const select_ctx& x, int i, Cs&&... cs) {
  if constexpr (sizeof...(Cs) == max_cases) {
    return select_finish(x, std::forward<Cs>(cs)...);
  } else {
    if (i == x.o->ncases) return select_finish(x, std::forward<Cs>(cs)...);
    const sel_case& c = x.o->cases[i];
    goro::chan<V>& ch = x.st->chans[static_cast<std::size_t>(c.ch)];
    if (c.send) {
      V v = ch ? std::make_unique<int>(value_id(x.op_index, i)) : V{};
      return select_build(x, i + 1, std::forward<Cs>(cs)..., goro::send_case(ch, std::move(v)));
    }
    result* r = x.res;
    return select_build(x, i + 1, std::forward<Cs>(cs)...,
                        goro::recv_case(ch, [r](std::optional<V> v) {
                          r->received = v.has_value();
                          r->value = v && *v ? **v : 0;
                        }));
  }
}

void run_op(shared_state* st, int j, result* r) {
  const op& o = st->prog->ops[static_cast<std::size_t>(j)];
  goro::chan<V>& ch = st->chans[static_cast<std::size_t>(o.ch)];
  try {
    switch (o.kind) {
      case op_kind::send:
        ch.send(ch ? std::make_unique<int>(value_id(j, 0)) : V{});
        break;
      case op_kind::recv: {
        std::optional<V> v = ch.recv();
        r->received = v.has_value();
        r->value = v && *v ? **v : 0;
        break;
      }
      case op_kind::try_send: {
        V v = std::make_unique<int>(value_id(j, 0));
        r->sent = ch.try_send(v);
        // Moved from only on success.
        if (r->sent == (v != nullptr)) r->value = -1;
        break;
      }
      case op_kind::try_recv: {
        goro::try_recv_result<V> t = ch.try_recv();
        r->status = t.status;
        r->received = t.value.has_value();
        r->value = t.value && *t.value ? **t.value : 0;
        break;
      }
      case op_kind::close:
        ch.close();
        break;
      case op_kind::len_cap:
        r->len = ch.len();
        r->cap = ch.cap();
        break;
      case op_kind::select:
        // select returns the argument index: the default case is the last.
        r->index = select_build(select_ctx{st, &o, j, r}, 0);
        if (o.has_default && r->index == o.ncases) r->index = -1;
        break;
    }
  } catch (const goro::panic_error& e) {
    r->panicked = true;
    r->panic_msg = e.what();
  }
}

// Holds nothing that owns memory on its stack while an op runs: a worker
// parked forever (nil channel) is discarded when the runtime ends.
void worker(shared_state* st, int w) {
  st->g[w].store(goro::detail::current_g());
  for (;;) {
    int j = -1;
    {
      std::optional<int> cmd = st->cmds[static_cast<std::size_t>(w)].recv();
      j = cmd ? *cmd : -1;
    }
    if (j < 0) break;
    result* r = &st->results[static_cast<std::size_t>(j)];
    st->started[w].store(j);
    run_op(st, j, r);
    st->done[w].store(j);
  }
  st->exited.done();
}

// --- the model ----------------------------------------------------------------------

enum class alt_kind : std::uint8_t { recv_value, recv_closed, sent, panic_send };

// One acceptable outcome of an op (for select: of its case `index`).
struct alt {
  int index = -2;
  alt_kind kind = alt_kind::sent;
  int value = 0;
};

std::string show(const alt& a) {
  static const char* names[] = {"recv_value", "recv_closed", "sent", "panic_send"};
  return cat(names[static_cast<int>(a.kind)], "(index=", a.index, ", value=", a.value, ")");
}

struct parked {
  bool active = false;
  int op_index = -1;
  std::vector<sel_case> cases;   // one for send/recv
  std::vector<int> values;       // per case (sends)
  bool is_select = false;
};

struct model_chan {
  bool nil = false;
  int cap = 0;
  bool closed = false;
  std::deque<int> buf;
  std::deque<int> sendq, recvq;  // parked workers, FIFO
};

struct wake {
  int worker = -1;
  std::vector<alt> alts;
};

[[noreturn]] void fail(const program& p, const std::string& what) {
  std::fprintf(stderr, "chan_fuzz: MODEL MISMATCH: %s\nprogram:\n%s", what.c_str(), describe(p).c_str());
  std::fflush(stderr);
  std::abort();
}

struct model {
  const program* prog;
  model_chan ch[max_chans];
  parked wk[max_workers];

  explicit model(const program& p) : prog(&p) {
    for (int i = 0; i < p.nchans; ++i) {
      ch[i].nil = p.nil[i];
      ch[i].cap = p.caps[i];
    }
  }

  int case_index(int w, int c, bool send) const {
    const parked& pk = wk[w];
    for (std::size_t k = 0; k < pk.cases.size(); ++k)
      if (pk.cases[k].ch == c && pk.cases[k].send == send) return pk.is_select ? static_cast<int>(k) : -2;
    return -3;
  }
  int parked_value(int w, int c) const {
    const parked& pk = wk[w];
    for (std::size_t k = 0; k < pk.cases.size(); ++k)
      if (pk.cases[k].ch == c && pk.cases[k].send) return pk.values[k];
    return 0;
  }
  void unpark(int w) {
    for (const sel_case& c : wk[w].cases) {
      auto& q = c.send ? ch[c.ch].sendq : ch[c.ch].recvq;
      for (auto it = q.begin(); it != q.end(); ++it)
        if (*it == w) {
          q.erase(it);
          break;
        }
    }
    wk[w] = parked{};
  }

  bool ready(const sel_case& c) const {
    const model_chan& m = ch[c.ch];
    if (m.nil) return false;
    if (c.send) return m.closed || !m.recvq.empty() || static_cast<int>(m.buf.size()) < m.cap;
    return !m.buf.empty() || !m.sendq.empty() || m.closed;
  }

  // Performs a ready case; returns what its op observes, and the parked ops it completes.
  alt perform(const sel_case& c, int value, int index, std::vector<wake>& wakes) {
    model_chan& m = ch[c.ch];
    if (c.send) {
      if (m.closed) return {index, alt_kind::panic_send, 0};
      if (!m.recvq.empty()) {
        int r = m.recvq.front();
        wakes.push_back({r, {{case_index(r, c.ch, false), alt_kind::recv_value, value}}});
        unpark(r);
      } else {
        m.buf.push_back(value);
      }
      return {index, alt_kind::sent, 0};
    }
    if (!m.buf.empty()) {
      int v = m.buf.front();
      m.buf.pop_front();
      if (!m.sendq.empty()) {
        int s = m.sendq.front();
        m.buf.push_back(parked_value(s, c.ch));
        wakes.push_back({s, {{case_index(s, c.ch, true), alt_kind::sent, 0}}});
        unpark(s);
      }
      return {index, alt_kind::recv_value, v};
    }
    if (!m.sendq.empty()) {
      int s = m.sendq.front();
      int v = parked_value(s, c.ch);
      wakes.push_back({s, {{case_index(s, c.ch, true), alt_kind::sent, 0}}});
      unpark(s);
      return {index, alt_kind::recv_value, v};
    }
    return {index, alt_kind::recv_closed, 0};  // closed and drained
  }

  // close(c) on an open, non-nil channel.
  void close(int c, std::vector<wake>& wakes) {
    model_chan& m = ch[c];
    m.closed = true;
    // A select parked on both directions of c may see either.
    auto alts_for = [&](int w) {
      std::vector<alt> a;
      int ri = case_index(w, c, false), si = case_index(w, c, true);
      if (ri != -3) a.push_back({ri, alt_kind::recv_closed, 0});
      if (si != -3) a.push_back({si, alt_kind::panic_send, 0});
      return a;
    };
    while (!m.recvq.empty()) {
      int w = m.recvq.front();
      wakes.push_back({w, alts_for(w)});
      unpark(w);
    }
    while (!m.sendq.empty()) {
      int w = m.sendq.front();
      wakes.push_back({w, alts_for(w)});
      unpark(w);
    }
  }

  void park(int w, int j, const op& o) {
    parked& pk = wk[w];
    pk.active = true;
    pk.op_index = j;
    pk.is_select = o.kind == op_kind::select;
    if (pk.is_select) {
      for (int k = 0; k < o.ncases; ++k) {
        pk.cases.push_back(o.cases[k]);
        pk.values.push_back(value_id(j, k));
      }
    } else {
      pk.cases.push_back({o.ch, o.kind == op_kind::send});
      pk.values.push_back(value_id(j, 0));
    }
    for (const sel_case& c : pk.cases) {
      if (ch[c.ch].nil) continue;
      (c.send ? ch[c.ch].sendq : ch[c.ch].recvq).push_back(w);
    }
  }

  bool parked_forever(int w) const {
    if (!wk[w].active) return false;
    for (const sel_case& c : wk[w].cases)
      if (!ch[c.ch].nil) return false;
    return true;
  }
};

bool matches(const result& r, const alt& a, bool is_select) {
  if (a.kind == alt_kind::panic_send) return r.panicked && r.panic_msg == "send on closed channel";
  if (r.panicked) return false;
  if (is_select && r.index != a.index) return false;
  switch (a.kind) {
    case alt_kind::recv_value: return r.received && r.value == a.value;
    case alt_kind::recv_closed: return !r.received;
    case alt_kind::sent: return true;
    case alt_kind::panic_send: break;
  }
  return false;
}

// --- the driver -------------------------------------------------------------------

class driver {
 public:
  driver(const program& p, shared_state& st) : p_(p), st_(st), m_(p) {}

  void run() {
    for (int w = 0; w < p_.nworkers; ++w) {
      st_.exited.add(1);
      goro::go(worker, &st_, w);
    }
    for (int w = 0; w < p_.nworkers; ++w)
      wait_until([&] { return st_.g[w].load() != nullptr; }, "worker start");
    for (std::size_t j = 0; j < p_.ops.size(); ++j) step(static_cast<int>(j));
    finish();
  }

 private:
  template <class Pred, class... M>
  void wait_until(Pred pred, const M&... what) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) fail(p_, cat("timed out waiting for ", what..., trace_));
      goro::yield();
    }
  }

  bool is_waiting(int w) const {
    goro::detail::G* g = st_.g[w].load();
    return g->status.load() == goro::detail::gstatus::waiting;
  }

  template <class... M>
  void expect(bool ok, const M&... what) {
    if (!ok) fail(p_, cat(what..., trace_));
  }

  void step(int j) {
    const op& o = p_.ops[static_cast<std::size_t>(j)];
    const int w = o.worker;
    if (m_.wk[w].active) {
      trace_ += cat("\n  op ", j, ": skipped (w", w, " parked)");
      return;
    }
    settle(w);  // its previous op, if completed by another's, must have completed as said
    st_.cmds[static_cast<std::size_t>(w)].send(j);
    bool blocked = false;
    wait_until([&] {
      if (st_.done[w].load() == j) return true;
      // Parked in op j, unless op j completed between the two loads and the
      // worker parked again waiting for its next command: done is stored
      // before that park, so read it again after seeing "waiting" (seq_cst
      // loads, in this order).
      if (st_.started[w].load() == j && is_waiting(w)) {
        if (st_.done[w].load() == j) return true;
        blocked = true;
        return true;
      }
      return false;
    }, "op ", j, " to complete or park");
    const result& r = st_.results[static_cast<std::size_t>(j)];
    std::string where = cat("op ", j, " (w", w, " ", op_names[static_cast<int>(o.kind)], ")");
    trace_ += cat("\n  ", where, ": ", blocked ? std::string("parked") : show(r));

    std::vector<wake> wakes;
    const model_chan& mc = m_.ch[o.ch];
    switch (o.kind) {
      case op_kind::send:
      case op_kind::recv: {
        sel_case c{o.ch, o.kind == op_kind::send};
        if (!m_.ready(c)) {
          expect(blocked, where, " should have parked");
          m_.park(w, j, o);
          break;
        }
        expect(!blocked, where, " parked but the model says it can proceed");
        alt a = m_.perform(c, value_id(j, 0), -2, wakes);
        expect(matches(r, a, false), where, ": got ", show(r), ", want ", show(a));
        break;
      }
      case op_kind::try_send: {
        expect(!blocked, where, " parked");
        sel_case c{o.ch, true};
        expect(r.value != -1, where, ": value moved from iff sent is false");
        if (!m_.ready(c)) {
          expect(!r.panicked && !r.sent, where, ": got ", show(r), ", want not sent");
          break;
        }
        alt a = m_.perform(c, value_id(j, 0), -2, wakes);
        if (a.kind == alt_kind::panic_send)
          expect(matches(r, a, false), where, ": got ", show(r), ", want ", show(a));
        else
          expect(!r.panicked && r.sent, where, ": got ", show(r), ", want sent");
        break;
      }
      case op_kind::try_recv: {
        expect(!blocked, where, " parked");
        sel_case c{o.ch, false};
        if (!m_.ready(c)) {
          expect(!r.panicked && r.status == goro::recv_status::empty && !r.received,
                 where, ": got ", show(r), ", want empty");
          break;
        }
        alt a = m_.perform(c, 0, -2, wakes);
        if (a.kind == alt_kind::recv_closed)
          expect(!r.panicked && r.status == goro::recv_status::closed && !r.received,
                 where, ": got ", show(r), ", want closed");
        else
          expect(!r.panicked && r.status == goro::recv_status::ok && r.received && r.value == a.value,
                 where, ": got ", show(r), ", want ", show(a));
        break;
      }
      case op_kind::close: {
        expect(!blocked, where, " parked");
        if (mc.nil) {
          expect(r.panicked && r.panic_msg == "close of nil channel", where, ": got ", show(r));
        } else if (mc.closed) {
          expect(r.panicked && r.panic_msg == "close of closed channel", where, ": got ", show(r));
        } else {
          expect(!r.panicked, where, ": got ", show(r));
          m_.close(o.ch, wakes);
        }
        break;
      }
      case op_kind::len_cap:
        expect(!blocked, where, " parked");
        expect(!r.panicked && r.len == mc.buf.size() && r.cap == static_cast<std::size_t>(mc.nil ? 0 : mc.cap),
               where, ": got ", show(r), ", want len ", mc.buf.size());
        break;
      case op_kind::select:
        check_select(j, o, r, blocked, where, wakes);
        break;
    }
    check_wakes(wakes);
  }

  void check_select(int j, const op& o, const result& r, bool blocked, const std::string& where,
                    std::vector<wake>& wakes) {
    bool any_ready = false, closed_send = false;
    for (int k = 0; k < o.ncases; ++k) {
      any_ready |= m_.ready(o.cases[k]);
      closed_send |= o.cases[k].send && !m_.ch[o.cases[k].ch].nil && m_.ch[o.cases[k].ch].closed;
    }
    if (blocked) {
      expect(!any_ready && !o.has_default, where, " parked but a case is ready or it has a default");
      m_.park(o.worker, j, o);
      return;
    }
    if (r.panicked) {
      expect(closed_send && r.panic_msg == "send on closed channel", where, ": got ", show(r));
      return;
    }
    if (r.index == -1) {
      expect(o.has_default && !any_ready, where, ": chose default with a ready case");
      return;
    }
    expect(r.index >= 0 && r.index < o.ncases, where, ": index out of range: ", show(r));
    const sel_case& c = o.cases[r.index];
    expect(m_.ready(c), where, ": chose case ", r.index, ", which is not ready");
    alt a = m_.perform(c, value_id(j, r.index), r.index, wakes);
    expect(matches(r, a, true), where, ": got ", show(r), ", want ", show(a));
  }

  // Every op the model says completed must complete with an acceptable
  // outcome. Its outcome was fixed when its partner came (the value handed
  // over, "closed", a panic), so a lazy program checks it only before its
  // worker gets its next op, or at the end: meanwhile the woken goroutine
  // resumes (a select unlinking its other waiters) while the driver goes on
  // with other ops on the same channels.
  void check_wakes(const std::vector<wake>& wakes) {
    for (const wake& wk : wakes) {
      const int w = wk.worker;
      pending_[w] = wk;
      pending_op_[w] = st_.started[w].load();
      if (!p_.lazy) settle(w);
    }
    // Everything the model has parked is still parked.
    for (int w = 0; w < p_.nworkers; ++w) {
      if (!m_.wk[w].active) continue;
      expect(st_.done[w].load(std::memory_order_acquire) != m_.wk[w].op_index && is_waiting(w),
             "op ", m_.wk[w].op_index, " of w", w,
                 " completed but the model has it parked");
    }
  }

  void settle(int w) {
    const int j = pending_op_[w];
    if (j < 0) return;
    pending_op_[w] = -1;
    wait_until([&] { return st_.done[w].load() == j; }, "parked op ", j, " of w", w, " to complete");
    const result& r = st_.results[static_cast<std::size_t>(j)];
    const bool is_select = p_.ops[static_cast<std::size_t>(j)].kind == op_kind::select;
    bool ok = false;
    std::string want;
    for (const alt& a : pending_[w].alts) {
      ok |= matches(r, a, is_select);
      want += cat(" ", show(a));
    }
    trace_ += cat("\n    woken op ", j, ": ", show(r));
    expect(ok, "woken op ", j, ": got ", show(r), ", want one of", want);
  }

  void finish() {
    // Close every open channel: every op parked on a real channel completes.
    for (int c = 0; c < p_.nchans; ++c) {
      if (m_.ch[c].nil || m_.ch[c].closed) continue;
      st_.chans[static_cast<std::size_t>(c)].close();
      std::vector<wake> wakes;
      m_.close(c, wakes);
      trace_ += cat("\n  final close c", c);
      check_wakes(wakes);
    }
    // Drain: the buffers hold what the model says, in order.
    for (int c = 0; c < p_.nchans; ++c) {
      if (m_.ch[c].nil) continue;
      for (int want : m_.ch[c].buf) {
        goro::try_recv_result<V> t = st_.chans[static_cast<std::size_t>(c)].try_recv();
        expect(t.status == goro::recv_status::ok && t.value && *t.value && **t.value == want,
               "drain c", c, ": want ", want);
      }
      m_.ch[c].buf.clear();
      expect(st_.chans[static_cast<std::size_t>(c)].try_recv().status == goro::recv_status::closed,
             "drain c", c, ": want closed after the model's values");
    }
    for (int w = 0; w < p_.nworkers; ++w) settle(w);
    // Only ops on nil channels stay parked; stop the other workers.
    int live = 0;
    for (int w = 0; w < p_.nworkers; ++w) {
      if (m_.wk[w].active) {
        expect(m_.parked_forever(w) && is_waiting(w), "w", w, " parked at the end");
        continue;
      }
      ++live;
      st_.cmds[static_cast<std::size_t>(w)].send(-1);
    }
    for (int w = 0; w < p_.nworkers; ++w)
      if (m_.wk[w].active) st_.exited.done();  // never returns: do not wait for it
    st_.exited.wait();
    // The stopped workers have called done() and are returning.
    const int forever = p_.nworkers - live;
    wait_until([&] { return goro::num_goroutine() == 1 + forever; },
               "the stopped workers to exit (goroutines: ", goro::num_goroutine(),
                   ", want ", 1 + forever, ")");
  }

  const program& p_;
  shared_state& st_;
  model m_;
  std::string trace_;
  wake pending_[max_workers] = {};
  int pending_op_[max_workers] = {-1, -1, -1, -1};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  program p = decode(data, size);
  shared_state st;
  st.prog = &p;
  for (int i = 0; i < p.nchans; ++i)
    st.chans.push_back(p.nil[i] ? goro::chan<V>{} : goro::make_chan<V>(static_cast<std::size_t>(p.caps[i])));
  for (int w = 0; w < p.nworkers; ++w) st.cmds.push_back(goro::make_chan<int>(1));
  st.results.resize(p.ops.size());
  goro::run([&] { driver(p, st).run(); }, goro::config{.procs = p.procs});
  return 0;
}

#ifdef GORO_FUZZ_REPLAY
// Replays each file given, or each file of each directory given, --repeat=N
// times (default 1; select choices and procs=2 schedules vary between runs).
int main(int argc, char** argv) {
  int n = 0, repeat = 1;
  auto replay = [&](const std::filesystem::path& f) {
    std::ifstream in(f, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (int i = 0; i < repeat; ++i) {
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++n;
    }
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view a(argv[i]);
    if (a.starts_with("--repeat=")) {
      repeat = std::max(1, std::atoi(argv[i] + 9));
      continue;
    }
    std::filesystem::path p(a);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file()) replay(e.path());
    } else {
      replay(p);
    }
  }
  if (n == 0) {
    std::fprintf(stderr, "usage: %s [--repeat=N] <corpus file or directory>...\n", argv[0]);
    return 2;
  }
  std::printf("chan_fuzz: replayed %d runs, all outcomes as the model says\n", n);
  return 0;
}
#endif
