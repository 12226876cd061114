// Ports of golang/go's channel programs:
//   test/chan/fifo.go, goroutines.go, doubleselect.go, nonblock.go,
//   sieve1.go, sieve2.go; test/ken/chan.go, ken/chan1.go;
//   test/closedchan.go; test/chanlinear.go.
// The behaviour each one checks is described above its test.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "conformance.hpp"

namespace {

using conformance::keep;
using conformance::Procs;
using conformance::scaled;
using goro::chan;
using goro::recv_chan;
using goro::send_chan;

// ---------------------------------------------------------------------------
// fifo.go: (a) a buffered channel is a FIFO; (b) goroutines chained by a
// token each take exactly the next value from one shared unbuffered channel.

class Fifo : public Procs {};
CONFORMANCE_PROCS(Fifo, 1, 2, 4);

TEST_P(Fifo, Asynch) {
  go_run([] {
    const int n = 10;
    auto ch = goro::make_chan<int>(n);
    for (int i = 0; i < n; ++i) ch.send(i);
    for (int i = 0; i < n; ++i) EXPECT_EQ(ch.recv(), i) << "bad receive";
  });
}

TEST_P(Fifo, Synch) {
  go_run([] {
    const int n = 10;
    auto ch = goro::make_chan<int>();
    auto in = goro::make_chan<int>();
    chan<int> start = in;
    for (int i = 0; i < n; ++i) {
      auto out = goro::make_chan<int>();
      goro::go(
          [](recv_chan<int> ch, int val, recv_chan<int> in, send_chan<int> out) {
            in.recv();
            EXPECT_EQ(ch.recv(), val);
            out.send(1);
          },
          ch, i, in, out);
      in = out;
    }
    start.send(0);
    for (int i = 0; i < n; ++i) ch.send(i);
    EXPECT_EQ(in.recv(), 1);
  });
}

// ---------------------------------------------------------------------------
// goroutines.go: a long chain of goroutines, each forwarding one value from
// its right neighbour to its left; a value injected at the right end must
// reach the left end, and every goroutine then ends.

class Goroutines : public Procs {};
CONFORMANCE_PROCS(Goroutines, 1, 2, 4);

TEST_P(Goroutines, Chain) {
  const long n = scaled(10000, 5);
  go_run([n] {
    auto leftmost = goro::make_chan<int>();
    chan<int> left = leftmost;
    chan<int> right = leftmost;
    goro::wait_group wg;
    for (long i = 0; i < n; ++i) {
      right = goro::make_chan<int>();
      wg.add(1);
      goro::go(
          [&wg](send_chan<int> left, recv_chan<int> right) {
            left.send(*right.recv());
            wg.done();
          },
          left, right);
      left = right;
    }
    goro::go([](send_chan<int> c) { c.send(1); }, right);
    EXPECT_EQ(leftmost.recv(), 1);
    wg.wait();
  });
}

// ---------------------------------------------------------------------------
// doubleselect.go: a sender picks, by select, one of four unbuffered
// channels for each value; four forwarders merge them into one channel. No
// value may arrive twice (a select commits exactly one case), and all arrive.

class DoubleSelect : public Procs {};
CONFORMANCE_PROCS(DoubleSelect, 1, 2, 4);

TEST_P(DoubleSelect, NoDuplicates) {
  const long iterations = scaled(100000, 40);
  go_run([iterations] {
    std::array<chan<int>, 4> c;
    for (auto& ch : c) ch = goro::make_chan<int>();
    auto done = goro::make_chan<bool>();
    auto cmux = goro::make_chan<int>();

    goro::go(
        [iterations](send_chan<int> c1, send_chan<int> c2, send_chan<int> c3, send_chan<int> c4) {
          for (int i = 0; i < iterations; ++i) {
            goro::select(goro::send_case(c1, i), goro::send_case(c2, i), goro::send_case(c3, i),
                         goro::send_case(c4, i));
          }
          c1.close();
          c2.close();
          c3.close();
          c4.close();
        },
        c[0], c[1], c[2], c[3]);
    for (auto& ch : c) {
      goro::go(
          [](send_chan<int> out, recv_chan<int> in, send_chan<bool> done) {
            for (int v : in) out.send(v);
            done.send(true);
          },
          cmux, ch, done);
    }
    goro::go(
        [](recv_chan<bool> done, send_chan<int> cmux) {
          for (int i = 0; i < 4; ++i) done.recv();
          cmux.close();
        },
        done, cmux);

    std::vector<bool> seen(static_cast<std::size_t>(iterations), false);
    long n = 0;
    for (int v : cmux) {
      ASSERT_GE(v, 0);
      ASSERT_LT(v, iterations);
      if (seen[static_cast<std::size_t>(v)]) {
        ADD_FAILURE() << "got duplicate value: " << v;
        continue;
      }
      seen[static_cast<std::size_t>(v)] = true;
      ++n;
    }
    EXPECT_EQ(n, iterations);
  });
}

// ---------------------------------------------------------------------------
// nonblock.go: for buffer sizes 0 and 1 and several element types, a
// non-blocking receive on an empty channel takes the default; non-blocking
// sends and receives retried until the partner goroutine is ready get
// through with the right values. (Go backs off with a 10 us ticker between
// tries; here the back-off is yields, and the bound is a deadline.)

void backoff() { conformance::yield_n(3); }

template <class T>
void nonblock_round(std::size_t buffer, T to_receiver, T from_sender) {
  auto c = goro::make_chan<T>(buffer);
  auto strobe = goro::make_chan<bool>();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);

  int i = goro::select(goro::recv_case(c, [](auto) { ADD_FAILURE() << "blocked sender"; }),
                       goro::default_case());
  EXPECT_EQ(i, 1);

  goro::go(
      [to_receiver](recv_chan<T> c, send_chan<bool> strobe) {
        EXPECT_EQ(c.recv(), to_receiver) << "receiver value";
        strobe.send(true);
      },
      c, strobe);
  for (;;) {
    bool sent = false;
    goro::select(goro::send_case(c, to_receiver, [&] { sent = true; }), goro::default_case());
    if (sent) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "receiver never ready, buffer=" << buffer;
    backoff();
  }
  strobe.recv();

  goro::go(
      [from_sender](send_chan<T> c, send_chan<bool> strobe) {
        c.send(from_sender);
        strobe.send(true);
      },
      c, strobe);
  if (buffer > 0) strobe.recv();
  std::optional<T> got;
  for (;;) {
    goro::select(goro::recv_case(c, [&](std::optional<T> v) { got = std::move(v); }),
                 goro::default_case());
    if (got) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "sender never ready, buffer=" << buffer;
    backoff();
  }
  EXPECT_EQ(*got, from_sender) << "sender value";
  if (buffer == 0) strobe.recv();
}

class NonBlock : public Procs {};
CONFORMANCE_PROCS(NonBlock, 1, 2, 4);

TEST_P(NonBlock, AllTypes) {
  go_run([] {
    for (std::size_t buffer = 0; buffer < 2; ++buffer) {
      nonblock_round<std::int32_t>(buffer, 123, 234);
      nonblock_round<std::int64_t>(buffer, 123456, 234567);
      nonblock_round<bool>(buffer, true, true);
      nonblock_round<std::string>(buffer, "hello", "hello again");
    }
  });
}

// ---------------------------------------------------------------------------
// sieve1.go: the daisy-chained prime sieve (a generator, then one filter
// goroutine per prime). The first 25 primes must arrive in order. As in Go,
// the generator and filters are still blocked when main returns; they use
// channels kept outside the runtime (see conformance.hpp).

const std::array<int, 25> first_primes{2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41,
                                       43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97};

class Sieve : public Procs {};
CONFORMANCE_PROCS(Sieve, 1, 2, 4);

TEST_P(Sieve, DaisyChain) {
  keep<chan<int>> chans;
  go_run_discarding([&chans] {
    chan<int>* primes = chans.make(goro::make_chan<int>());
    goro::go(
        [&chans](chan<int>* primes) {
          chan<int>* ch = chans.make(goro::make_chan<int>());
          goro::go(
              [](chan<int>* ch) {
                for (int i = 2;; ++i) ch->send(i);
              },
              ch);
          for (;;) {
            int prime = *conformance::recv(*ch);
            primes->send(prime);
            chan<int>* ch1 = chans.make(goro::make_chan<int>());
            goro::go(
                [](chan<int>* in, chan<int>* out, int prime) {
                  for (int i : *in)
                    if (i % prime != 0) out->send(i);
                },
                ch, ch1, prime);
            ch = ch1;
          }
        },
        primes);
    for (int want : first_primes) EXPECT_EQ(primes->recv(), want);
  });
}

// sieve2.go: the Eratosthenes sieve. A merger keeps a heap of channels of
// multiples of each prime, ordered by their next value; a proxy goroutine
// gives the feedback channel an unbounded buffer, disabling its send case by
// using the nil channel while the buffer is empty.

struct peek_ch {
  int head;
  chan<int>* ch;
};
struct merger_state {
  std::vector<peek_ch> heap;  // a min-heap on head
};
struct proxy_state {
  std::deque<int> buf;
};
struct sieve2_arena {
  keep<chan<int>> chans;
  keep<merger_state> mergers;
  keep<proxy_state> proxies;
  const chan<int> nil{};
};

chan<int>* odds(sieve2_arena& a) {
  chan<int>* out = a.chans.make(goro::make_chan<int>(50));
  goro::go(
      [](chan<int>* out) {
        for (int n = 5;; n += 2) out->send(n);
      },
      out);
  return out;
}

chan<int>* multiples(sieve2_arena& a, int p) {
  chan<int>* out = a.chans.make(goro::make_chan<int>(10));
  goro::go(
      [](chan<int>* out, int p) {
        for (int n = p * p;; n += 2 * p) out->send(n);
      },
      out, p);
  return out;
}

chan<int>* sendproxy(sieve2_arena& a, chan<int>* out) {
  chan<int>* proxy = a.chans.make(goro::make_chan<int>(10));
  proxy_state* st = a.proxies.make();
  goro::go(
      [&a](chan<int>* proxy, chan<int>* out, proxy_state* st) {
        int e = 0;
        for (;;) {
          // Buffer empty: disable the output case with the nil channel.
          // (Both operands are lvalues: c is a reference, not a handle
          // copy, so this goroutine owns nothing when it is discarded.)
          const chan<int>& c = st->buf.empty() ? a.nil : *out;
          if (!st->buf.empty()) e = st->buf.front();
          goro::select(goro::recv_case(*proxy, [st](std::optional<int> v) { st->buf.push_back(*v); }),
                       goro::send_case(c, e, [st] { st->buf.pop_front(); }));
        }
      },
      proxy, out, st);
  return proxy;
}

chan<int>* sieve2(sieve2_arena& a) {
  chan<int>* out = a.chans.make(goro::make_chan<int>(10));
  out->send(2);
  out->send(3);
  chan<int>* composites = a.chans.make(goro::make_chan<int>(50));
  chan<int>* primes = a.chans.make(goro::make_chan<int>(10));
  primes->send(3);

  // Merge the channels of multiples of `primes` into `composites`.
  goro::go(
      [&a](chan<int>* primes, chan<int>* composites, merger_state* st) {
        auto later = [](const peek_ch& x, const peek_ch& y) { return x.head > y.head; };
        auto pop = [&] {
          std::pop_heap(st->heap.begin(), st->heap.end(), later);
          peek_ch top = st->heap.back();
          st->heap.pop_back();
          return top;
        };
        auto push = [&](peek_ch p) {
          st->heap.push_back(p);
          std::push_heap(st->heap.begin(), st->heap.end(), later);
        };
        int min = 15;
        for (;;) {
          chan<int>* m = multiples(a, *conformance::recv(*primes));
          int head = *conformance::recv(*m);
          while (min < head) {
            composites->send(min);
            peek_ch minchan = pop();
            min = minchan.head;
            minchan.head = *conformance::recv(*minchan.ch);
            push(minchan);
          }
          while (min == head) {
            peek_ch minchan = pop();
            min = minchan.head;
            minchan.head = *conformance::recv(*minchan.ch);
            push(minchan);
          }
          composites->send(head);
          push(peek_ch{*conformance::recv(*m), m});
        }
      },
      primes, composites, a.mergers.make());

  // Sieve the composites out of the candidates.
  goro::go(
      [&a](chan<int>* primes_in, chan<int>* composites, chan<int>* out) {
        chan<int>* primes = sendproxy(a, primes_in);
        chan<int>* candidates = odds(a);
        int p = *conformance::recv(*candidates);
        for (;;) {
          int c = *conformance::recv(*composites);
          while (p < c) {
            primes->send(p);
            out->send(p);
            p = *conformance::recv(*candidates);
          }
          if (p == c) p = *conformance::recv(*candidates);
        }
      },
      primes, composites, out);
  return out;
}

TEST_P(Sieve, Eratosthenes) {
  sieve2_arena arena;
  go_run_discarding([&arena] {
    chan<int>* primes = sieve2(arena);
    for (int want : first_primes) EXPECT_EQ(primes->recv(), want);
  });
}

// Larger: the first 1000 primes (checked against trial division), so that
// the proxy's buffer and the merger's heap grow.
TEST_P(Sieve, EratosthenesLong) {
  const int count = static_cast<int>(scaled(1000, 4));
  sieve2_arena arena;
  go_run_discarding([&arena, count] {
    chan<int>* primes = sieve2(arena);
    int candidate = 1;
    for (int i = 0; i < count; ++i) {
      for (;;) {
        ++candidate;
        bool prime = candidate >= 2;
        for (int d = 2; d * d <= candidate && prime; ++d) prime = candidate % d != 0;
        if (prime) break;
      }
      ASSERT_EQ(primes->recv(), candidate) << "prime #" << i;
    }
  });
}

// ---------------------------------------------------------------------------
// ken/chan.go: send/receive graphs over channels with per-channel sequence
// checking: direct send to direct receive, to select receive, select send to
// direct receive, select to select, and mixed graphs, each at buffer sizes
// 0, 1, 10 and 100. Every value (76 per channel) must arrive in order, and
// the totals of sends and receives must match.

struct ken {
  static constexpr int end = 10000;

  struct channel {
    chan<int> sc, rc;  // send and receive handles (nil once done)
    int sv = 0, rv = 0;  // next value to send / expected next receive
  };

  std::atomic<int> randx{0};
  int cval = 0;
  std::atomic<long> tots{0}, totr{0};
  std::deque<channel> all;  // stable addresses
  channel nc;               // nil channels: never ready
  goro::wait_group wg;

  int nrand(int n) {
    int r = randx.fetch_add(10007, std::memory_order_relaxed) + 10007;
    return (r % 1000000) % n;
  }

  std::vector<channel*> mkchan(std::size_t cap, int n) {
    std::vector<channel*> out;
    for (int i = 0; i < n; ++i) {
      cval += 100;
      channel& ch = all.emplace_back();
      ch.sc = goro::make_chan<int>(cap);
      ch.rc = ch.sc;
      ch.sv = ch.rv = cval;
      out.push_back(&ch);
    }
    return out;
  }

  static int expect(int v, int v0) {
    EXPECT_EQ(v, v0) << "got " << v << " expected " << v0;
    return v0 % 100 == 75 ? end : v0 + 1;
  }

  // The bookkeeping after a send (true: that channel is done).
  bool sent(channel* c) {
    tots.fetch_add(1, std::memory_order_relaxed);
    c->sv = expect(c->sv, c->sv);
    if (c->sv == end) {
      c->sc = {};
      return true;
    }
    return false;
  }

  bool received(channel* c, int v) {
    totr.fetch_add(1, std::memory_order_relaxed);
    c->rv = expect(v, c->rv);
    if (c->rv == end) {
      c->rc = {};
      return true;
    }
    return false;
  }

  void spin(int n) {
    for (int r = nrand(n); r >= 0; --r) goro::yield();
  }

  void send(channel* c) {
    wg.add(1);
    goro::go([this, c] {
      do {
        spin(10);
        c->sc.send(c->sv);
      } while (!sent(c));
      wg.done();
    });
  }

  void recv(channel* c) {
    wg.add(1);
    goro::go([this, c] {
      for (;;) {
        spin(10);
        int v = *c->rc.recv();
        if (received(c, v)) break;
      }
      wg.done();
    });
  }

  void sel(channel* r0, channel* r1, channel* r2, channel* r3, channel* s0, channel* s1,
           channel* s2, channel* s3) {
    wg.add(1);
    goro::go([=, this] {
      int a = 0;  // channels still running
      for (channel* r : {r0, r1, r2, r3}) a += r->rc ? 1 : 0;
      for (channel* s : {s0, s1, s2, s3}) a += s->sc ? 1 : 0;
      auto rcase = [&](channel* r) {
        return goro::recv_case(r->rc, [this, r, &a](std::optional<int> v) {
          if (received(r, *v)) --a;
        });
      };
      auto scase = [&](channel* s) {
        return goro::send_case(s->sc, s->sv, [this, s, &a] {
          if (sent(s)) --a;
        });
      };
      while (a != 0) {
        spin(5);
        goro::select(rcase(r0), rcase(r1), rcase(r2), rcase(r3), scase(s0), scase(s1), scase(s2),
                     scase(s3));
      }
      wg.done();
    });
  }

  void test1(channel* c) {
    send(c);
    recv(c);
  }
  void test2(std::size_t cap) {
    auto ca = mkchan(cap, 4);
    for (channel* c : ca) send(c);
    sel(ca[0], ca[1], ca[2], ca[3], &nc, &nc, &nc, &nc);
  }
  void test3(std::size_t cap) {
    auto ca = mkchan(cap, 4);
    for (channel* c : ca) recv(c);
    sel(&nc, &nc, &nc, &nc, ca[0], ca[1], ca[2], ca[3]);
  }
  void test4(std::size_t cap) {
    auto ca = mkchan(cap, 4);
    sel(&nc, &nc, &nc, &nc, ca[0], ca[1], ca[2], ca[3]);
    sel(ca[0], ca[1], ca[2], ca[3], &nc, &nc, &nc, &nc);
  }
  void test5(std::size_t cap) {
    auto ca = mkchan(cap, 8);
    sel(ca[4], ca[5], ca[6], ca[7], ca[0], ca[1], ca[2], ca[3]);
    sel(ca[0], ca[1], ca[2], ca[3], ca[4], ca[5], ca[6], ca[7]);
  }
  void test6(std::size_t cap) {
    auto ca = mkchan(cap, 12);
    for (int i = 4; i < 8; ++i) send(ca[static_cast<std::size_t>(i)]);
    for (int i = 8; i < 12; ++i) recv(ca[static_cast<std::size_t>(i)]);
    sel(ca[4], ca[5], ca[6], ca[7], ca[0], ca[1], ca[2], ca[3]);
    sel(ca[0], ca[1], ca[2], ca[3], ca[8], ca[9], ca[10], ca[11]);
  }

  void tests(std::size_t cap) {
    auto ca = mkchan(cap, 4);
    for (channel* c : ca) test1(c);
    wg.wait();
    test2(cap);
    wg.wait();
    test3(cap);
    wg.wait();
    test4(cap);
    wg.wait();
    test5(cap);
    wg.wait();
    test6(cap);
    wg.wait();
  }
};

class KenChan : public Procs {};
CONFORMANCE_PROCS(KenChan, 1, 2, 4);

TEST_P(KenChan, Graphs) {
  go_run([] {
    ken k;
    for (std::size_t cap : {0, 1, 10, 100}) k.tests(cap);
    const long t = 4 * (4 * 4 + 8 + 12) * 76;
    EXPECT_EQ(k.tots.load(), t);
    EXPECT_EQ(k.totr.load(), t);
  });
}

// ken/chan1.go: ten select-receivers on one channel of buffer 2; each of
// 1000 values must be received exactly once, after it was sent. (Go's
// receivers run forever; here the channel is closed at the end so that they
// finish.) h is plain memory: the channel orders its accesses.

TEST_P(KenChan, ManyReceivers) {
  go_run([] {
    const int n = 1000, m = 10, w = 2;
    std::vector<int> h(n, 0);
    auto c = goro::make_chan<int>(w);
    goro::wait_group wg;
    for (int j = 0; j < m; ++j) {
      wg.add(1);
      goro::go([&h, &wg, c] {
        for (bool open = true; open;) {
          goro::select(goro::recv_case(c, [&](std::optional<int> r) {
            if (!r) {
              open = false;
              return;
            }
            EXPECT_EQ(h[static_cast<std::size_t>(*r)], 1) << "r=" << *r;
            h[static_cast<std::size_t>(*r)] = 2;
          }));
        }
        wg.done();
      });
      goro::yield();
    }
    goro::yield();
    goro::yield();
    for (int r = 0; r < n; ++r) {
      EXPECT_EQ(h[static_cast<std::size_t>(r)], 0);
      h[static_cast<std::size_t>(r)] = 1;
      c.send(r);
    }
    c.close();
    wg.wait();
    EXPECT_EQ(std::count(h.begin(), h.end(), 2), n);
  });
}

// ---------------------------------------------------------------------------
// closedchan.go: every way of receiving (plain, with ok, non-blocking, as a
// one-case select, as a larger select) on closed channels, unbuffered and
// buffered (whose buffered value 1 comes out first). A non-blocking receive
// on a closed channel is "selected" with (0, false); sends panic; close of a
// nil or closed channel panics.

struct recv2_result {
  int x;
  bool ok;
};
struct nbrecv_result {
  int x;
  bool selected;
};
struct nbrecv2_result {
  int x;
  bool ok;
  bool selected;
};

// Direct operations (Go's "<-" operator; non-blocking ones as try_*).
struct xchan {
  chan<int> c;
  static constexpr const char* impl = "direct";
  void send(int x) const { c.send(x); }
  bool nbsend(int x) const { return c.try_send(x); }
  int recv() const { return c.recv().value_or(0); }
  recv2_result recv2() const {
    auto v = c.recv();
    return {v.value_or(0), v.has_value()};
  }
  nbrecv_result nbrecv() const {
    auto r = c.try_recv();
    return {r.value.value_or(0), r.status != goro::recv_status::empty};
  }
  nbrecv2_result nbrecv2() const {
    auto r = c.try_recv();
    return {r.value.value_or(0), r.status == goro::recv_status::ok,
            r.status != goro::recv_status::empty};
  }
};

// Every operation as a select with one case (plus the default).
struct schan {
  chan<int> c;
  static constexpr const char* impl = "select";
  void send(int x) const { goro::select(goro::send_case(c, x)); }
  bool nbsend(int x) const {
    return goro::select(goro::default_case(), goro::send_case(c, x)) == 1;
  }
  int recv() const {
    int x = -1;
    goro::select(goro::recv_case(c, [&](std::optional<int> v) { x = v.value_or(0); }));
    return x;
  }
  recv2_result recv2() const {
    recv2_result r{-1, true};
    goro::select(goro::recv_case(c, [&](std::optional<int> v) { r = {v.value_or(0), v.has_value()}; }));
    return r;
  }
  nbrecv_result nbrecv() const {
    nbrecv_result r{-1, false};
    int i = goro::select(goro::default_case([&] { r = {0, false}; }),
                         goro::recv_case(c, [&](std::optional<int> v) { r = {v.value_or(0), true}; }));
    EXPECT_EQ(i == 1, r.selected);
    return r;
  }
  nbrecv2_result nbrecv2() const {
    nbrecv2_result r{-1, false, false};
    goro::select(goro::default_case([&] { r = {0, false, false}; }),
                 goro::recv_case(c, [&](std::optional<int> v) { r = {v.value_or(0), v.has_value(), true}; }));
    return r;
  }
};

// Every operation as a larger select (a never-ready dummy case besides).
struct sschan {
  chan<int> c;
  chan<bool> dummy;
  static constexpr const char* impl = "larger select";
  void send(int x) const {
    goro::select(goro::send_case(c, x), goro::recv_case(dummy, [](auto) { ADD_FAILURE(); }));
  }
  bool nbsend(int x) const {
    return goro::select(goro::default_case(), goro::recv_case(dummy, [](auto) { ADD_FAILURE(); }),
                        goro::send_case(c, x)) == 2;
  }
  int recv() const {
    int x = -1;
    goro::select(goro::recv_case(dummy, [](auto) { ADD_FAILURE(); }),
                 goro::recv_case(c, [&](std::optional<int> v) { x = v.value_or(0); }));
    return x;
  }
  recv2_result recv2() const {
    recv2_result r{-1, true};
    goro::select(goro::recv_case(dummy, [](auto) { ADD_FAILURE(); }),
                 goro::recv_case(c, [&](std::optional<int> v) { r = {v.value_or(0), v.has_value()}; }));
    return r;
  }
  nbrecv_result nbrecv() const {
    nbrecv_result r{-1, false};
    goro::select(goro::recv_case(dummy, [](auto) { ADD_FAILURE(); }),
                 goro::default_case([&] { r = {0, false}; }),
                 goro::recv_case(c, [&](std::optional<int> v) { r = {v.value_or(0), true}; }));
    return r;
  }
  nbrecv2_result nbrecv2() const {
    nbrecv2_result r{-1, false, false};
    goro::select(goro::recv_case(dummy, [](auto) { ADD_FAILURE(); }),
                 goro::default_case([&] { r = {0, false, false}; }),
                 goro::recv_case(c, [&](std::optional<int> v) { r = {v.value_or(0), v.has_value(), true}; }));
    return r;
  }
};

template <class C>
void closed_test1(const C& c) {
  // (No SCOPED_TRACE: GoogleTest keeps traces per thread, and a goroutine
  // may resume on another thread.)
  const char* impl = C::impl;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.recv(), 0) << "recv on closed" << " [" << impl << "]";
    auto r2 = c.recv2();
    EXPECT_EQ(r2.x, 0) << " [" << impl << "]";
    EXPECT_FALSE(r2.ok) << "recv2 on closed" << " [" << impl << "]";
    auto nb = c.nbrecv();
    EXPECT_EQ(nb.x, 0) << " [" << impl << "]";
    EXPECT_TRUE(nb.selected) << "recv on closed nb" << " [" << impl << "]";
    auto nb2 = c.nbrecv2();
    EXPECT_EQ(nb2.x, 0) << " [" << impl << "]";
    EXPECT_FALSE(nb2.ok) << " [" << impl << "]";
    EXPECT_TRUE(nb2.selected) << "recv2 on closed nb" << " [" << impl << "]";
  }
  conformance::expect_panic("send on closed channel", [&] { c.nbsend(1); });
  EXPECT_EQ(c.recv(), 0) << "value of a send on closed was not discarded" << " [" << impl << "]";
  conformance::expect_panic("send on closed channel", [&] { c.send(2); });
  EXPECT_EQ(c.recv(), 0) << "value of a send on closed was not discarded" << " [" << impl << "]";
}

chan<int> closed_sync() {
  auto c = goro::make_chan<int>();
  c.close();
  return c;
}
chan<int> closed_async() {
  auto c = goro::make_chan<int>(2);
  c.send(1);
  c.close();
  return c;
}

class ClosedChan : public Procs {};
CONFORMANCE_PROCS(ClosedChan, 1, 2);

TEST_P(ClosedChan, AllReceiveForms) {
  go_run([] {
    auto dummy = goro::make_chan<bool>();
    closed_test1(xchan{closed_sync()});
    closed_test1(schan{closed_sync()});
    closed_test1(sschan{closed_sync(), dummy});

    auto async1 = [](const auto& c) {  // the buffered value through Recv
      EXPECT_EQ(c.recv(), 1);
      closed_test1(c);
    };
    auto async2 = [](const auto& c) {  // ... through Recv2
      auto r = c.recv2();
      EXPECT_EQ(r.x, 1);
      EXPECT_TRUE(r.ok);
      closed_test1(c);
    };
    auto async3 = [](const auto& c) {  // ... through Nbrecv
      auto r = c.nbrecv();
      EXPECT_EQ(r.x, 1);
      EXPECT_TRUE(r.selected);
      closed_test1(c);
    };
    auto async4 = [](const auto& c) {  // ... through Nbrecv2
      auto r = c.nbrecv2();
      EXPECT_EQ(r.x, 1);
      EXPECT_TRUE(r.ok);
      EXPECT_TRUE(r.selected);
      closed_test1(c);
    };
    auto all_impls = [&](auto test) {
      test(xchan{closed_async()});
      test(schan{closed_async()});
      test(sschan{closed_async(), dummy});
    };
    all_impls(async1);
    all_impls(async2);
    all_impls(async3);
    all_impls(async4);

    chan<int> nil;
    conformance::expect_panic("close of nil channel", [&] { nil.close(); });
    auto ch = goro::make_chan<int>();
    ch.close();
    conformance::expect_panic("close of closed channel", [&] { ch.close(); });
    // Through the send-only view too.
    send_chan<int> s = ch;
    conformance::expect_panic("close of closed channel", [&] { s.close(); });
    send_chan<int> snil;
    conformance::expect_panic("close of nil channel", [&] { snil.close(); });
  });
}

// ---------------------------------------------------------------------------
// chanlinear.go: n goroutines each select on a shared channel and their own
// channel and are woken 10 times each through their own; removing the losing
// waiter from the shared channel must be O(1), so 2n goroutines must take
// less than 3x the time of n. (As in Go, a failure is retried with larger n
// until n goroutines take at least a second, then five more times.)

double chanlinear_round(long n) {
  const int messages = 10;
  auto start = std::chrono::steady_clock::now();
  auto c = goro::make_chan<bool>();
  std::vector<chan<bool>> a;
  a.reserve(static_cast<std::size_t>(n));
  goro::wait_group wg;
  for (long i = 0; i < n; ++i) {
    auto d = goro::make_chan<bool>();
    a.push_back(d);
    wg.add(1);
    goro::go([c, d, &wg] {
      for (int j = 0; j < messages; ++j) goro::select(goro::recv_case(c), goro::recv_case(d));
      wg.done();
    });
  }
  for (int i = 0; i < messages; ++i)
    for (auto& d : a) d.send(true);
  wg.wait();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class ChanLinear : public Procs {};
CONFORMANCE_PROCS(ChanLinear, 1, 2, 4);

TEST_P(ChanLinear, SelectWaiterRemovalIsConstantTime) {
  go_run([] {
    long n = 1000;
    int fails = 0;
    for (;;) {
      double t1 = chanlinear_round(n);
      double t2 = chanlinear_round(2 * n);
      if (t2 < 3 * t1) return;
      if (t1 < 1.0 && n < 64000) {
        n *= 2;
        continue;
      }
      if (++fails >= 5) {
        ADD_FAILURE() << "too slow: " << n << " goroutines: " << t1 << "s; " << 2 * n
                      << " goroutines: " << t2 << "s";
        return;
      }
    }
  });
}

}  // namespace
