// goro::dump (goro/debug.hpp): the goroutine dump while the runtime runs.
// Stacks are walked while other goroutines keep starting, parking and
// exiting (procs 2); every dump must list each goroutine once, the one
// parked in a known function with that function, and never crash (ASan,
// TSan: the scan handshake of debug/dump.hpp).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "goro/goro.hpp"
#include "test_util.hpp"

#ifndef GORO_TEST_HAVE_SYMBOLIZER
#define GORO_TEST_HAVE_SYMBOLIZER 0
#endif

namespace {

constexpr bool have_symbolizer = GORO_TEST_HAVE_SYMBOLIZER != 0;

[[gnu::noinline]] void parked_in_known_function(goro::chan<int> c) {
  c.recv();
  asm volatile("" ::: "memory");  // not a tail call
}

struct goroutine_entry {
  std::string state;
  std::string block;  // header to the end of its frames
};

// Parses a dump; false (with a message) if a goroutine id appears twice.
bool parse_dump(const std::string& text, std::map<std::uint64_t, goroutine_entry>& out,
                std::string& error) {
  static const std::regex header("(^|\n)goroutine ([0-9]+) \\[([^\\]]*)\\]:\n");
  auto begin = std::sregex_iterator(text.begin(), text.end(), header);
  std::vector<std::pair<std::size_t, std::smatch>> found;
  for (auto it = begin; it != std::sregex_iterator(); ++it)
    found.emplace_back(static_cast<std::size_t>(it->position(0)) + it->length(1), *it);
  for (std::size_t i = 0; i < found.size(); ++i) {
    std::uint64_t id = std::stoull(found[i].second[2].str());
    std::size_t from = found[i].first;
    std::size_t to = i + 1 < found.size() ? found[i + 1].first : text.size();
    if (!out.emplace(id, goroutine_entry{found[i].second[3].str(), text.substr(from, to - from)}).second) {
      error = "goroutine " + std::to_string(id) + " listed twice";
      return false;
    }
  }
  return true;
}

std::string dump_text() {
  std::ostringstream os;
  goro::dump(os);
  return os.str();
}

TEST(Dump, EveryGoroutineOnceWhileOthersChurn) {
  int failures = 0;
  goro::run(
      [&] {
        auto block = goro::make_chan<int>();
        std::atomic<std::uint64_t> known_id{0};
        goro::wait_group ready, finished;
        ready.add(1);
        finished.add(1);
        const int go_line = __LINE__ + 1;
        goro::go([block, &known_id, &ready, &finished] {
          known_id = goro::goid();
          ready.done();
          parked_in_known_function(block);
          finished.done();
        });
        ready.wait();

        std::atomic<bool> stop{false};
        goro::wait_group churners;
        goro::mutex mu;
        long shared = 0;
        for (int i = 0; i < 4; ++i) {
          churners.add(1);
          goro::go([&] {
            auto c = goro::make_chan<int>();
            while (!stop.load(std::memory_order_relaxed)) {
              goro::go([c] { c.send(1); });  // short-lived goroutines: records recycled
              c.recv();
              { std::lock_guard lock(mu); ++shared; }
              goro::yield();
            }
            churners.done();
          });
        }

        // The known goroutine may still be on its way to parking: dump until
        // it shows as parked (bounded by wait_limit).
        std::map<std::uint64_t, goroutine_entry> gs;
        std::string error;
        bool parked = goro_test::yield_until([&] {
          gs.clear();
          return parse_dump(dump_text(), gs, error) && gs.count(known_id) != 0 &&
                 gs[known_id].state == "chan receive";
        });
        EXPECT_TRUE(parked) << error;
        if (!parked) ++failures;

        for (int iter = 0; iter < 100 && failures == 0; ++iter) {
          std::string text = dump_text();
          gs.clear();
          bool ok = parse_dump(text, gs, error);
          EXPECT_TRUE(ok) << error << "\n" << text;
          EXPECT_EQ(text.rfind("goroutine 1 [running]:\n", 0), 0u) << text;
          ok = ok && gs.count(known_id) == 1 && gs.count(1) == 1;
          EXPECT_TRUE(ok) << text;
          if (!ok) {
            ++failures;
            break;
          }
          const std::string& known = gs[known_id].block;
          EXPECT_EQ(gs[known_id].state, "chan receive") << text;
          EXPECT_NE(known.find("\ncreated by "), std::string::npos) << known;
          EXPECT_NE(known.find(" in goroutine 1\n\t"), std::string::npos) << known;
          EXPECT_NE(known.find("dump_test.cpp:" + std::to_string(go_line) + "\n"), std::string::npos) << known;
          if (have_symbolizer) {
            EXPECT_NE(known.find("parked_in_known_function(goro::chan<int>)\n\t"), std::string::npos) << known;
            // The caller of dump() is the first frame of goroutine 1.
            EXPECT_NE(gs[1].block.find("dump_test.cpp:"), std::string::npos) << gs[1].block;
          }
          for (const auto& [id, g] : gs) {
            if (g.state == "running" && id != 1) {
              EXPECT_NE(g.block.find("stack unavailable"), std::string::npos) << g.block;
            }
          }
          if (::testing::Test::HasFailure()) ++failures;
        }
        stop = true;
        churners.wait();
        block.close();
        finished.wait();  // its stack holds a copy of `block`
      },
      goro::config{.procs = 2});
  EXPECT_EQ(failures, 0);
}

TEST(Dump, FromAThreadThatIsNotAGoroutine) {
  goro::run(
      [] {
        goro::wait_group done;
        done.add(1);
        std::string text;
        std::thread t([&] {
          std::map<std::uint64_t, goroutine_entry> gs;
          std::string error;
          // Main parks in done.wait() soon; no goroutine is "the caller".
          bool seen = goro_test::spin_until([&] {
            text = dump_text();
            gs.clear();
            return parse_dump(text, gs, error) && gs.count(1) == 1 &&
                   gs[1].state == "sync.WaitGroup.Wait";
          });
          EXPECT_TRUE(seen) << error << "\n" << text;
          done.done();
        });
        done.wait();
        t.join();
        if (have_symbolizer) {
          EXPECT_NE(text.find("goro::wait_group::wait()"), std::string::npos) << text;
        }
      },
      goro::config{.procs = 2});
}

TEST(Dump, WithoutARuntimeWritesNothing) { EXPECT_EQ(dump_text(), ""); }

// go() records its call site through a defaulted std::source_location
// parameter: every call form still compiles and runs, including a plain
// `goro::go(f);` (which a class template would have made a declaration) and
// more than 8 arguments (no site recorded then).
void add_one(std::atomic<int>* n) { ++*n; }
TEST(Dump, EveryGoCallFormStillWorks) {
  std::atomic<int> n{0};
  goro::run(
      [&n] {
        goro::wait_group wg;
        wg.add(5);
        auto f = [&] { ++n; wg.done(); };
        goro::go(f);
        goro::go([&](int a, int b) { n += a + b - 2; wg.done(); }, 1, 2);
        goro::go(goro::go_options{.stack_size = 64 * 1024}, [&](int a) { n += a; wg.done(); }, 1);
        goro::go(
            [&](int a1, int a2, int a3, int a4, int a5, int a6, int a7, int a8, int a9) {
              n += a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 - 8;
              wg.done();
            },
            1, 1, 1, 1, 1, 1, 1, 1, 1);
        goro::go(goro::go_options{}, [&] { goro::go(add_one, &n); wg.done(); });
        wg.wait();
        EXPECT_TRUE(goro_test::yield_until([&] { return n.load() == 5; }));
      },
      goro::config{.procs = 1});
  EXPECT_EQ(n.load(), 5);
}

}  // namespace
