// goro::errgroup: ports of golang.org/x/sync/errgroup's tests (TestZeroGroup,
// TestWithContext, TestTryGo, TestGoLimit, TestCancelCause), plus
// exceptions as errors and the task signatures.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "goro/goro.hpp"
#include "test_util.hpp"

namespace {

class Errgroup : public ::testing::TestWithParam<int> {
 protected:
  goro::config cfg() const { return goro::config{.procs = GetParam()}; }
};
INSTANTIATE_TEST_SUITE_P(Procs, Errgroup, ::testing::Values(1, 2),
                         [](const auto& info) { return "procs" + std::to_string(info.param); });

std::string what(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
}

// TestZeroGroup: wait() returns the first error of tasks run one by one.
TEST_P(Errgroup, ZeroGroup) {
  goro::run(
      [] {
        const std::error_code err1 = std::make_error_code(std::errc::io_error);
        const std::error_code err2 = std::make_error_code(std::errc::broken_pipe);
        std::vector<std::vector<std::error_code>> cases = {
            {}, {{}}, {err1}, {err1, {}}, {{}, err1, err2}};
        for (const auto& errs : cases) {
          goro::errgroup g;
          std::error_code first;
          for (const auto& e : errs) {
            if (!first) first = e;
            g.go([e]() { return e; });
            // Each wait sees the first error so far.
            std::exception_ptr got = g.wait();
            if (!first) {
              EXPECT_FALSE(got);
            } else {
              ASSERT_TRUE(got);
              try {
                std::rethrow_exception(got);
              } catch (const std::system_error& se) {
                EXPECT_EQ(se.code(), first);
              }
            }
          }
        }
      },
      cfg());
}

// TestWithContext: the derived context is canceled by the first error
// (with its code as the cause) and by wait().
TEST_P(Errgroup, WithContext) {
  goro::run(
      [] {
        const std::error_code err = std::make_error_code(std::errc::address_in_use);
        {
          goro::errgroup g(goro::background());
          g.go([] {});
          EXPECT_FALSE(g.ctx().err());
          EXPECT_FALSE(g.wait());
          EXPECT_EQ(g.ctx().err(), goro::errc::canceled) << "wait() cancels the context";
          EXPECT_EQ(g.ctx().cause(), goro::errc::canceled);
        }
        {
          goro::errgroup g(goro::background());
          g.go([err] { return err; });
          g.go([](const goro::context& ctx) { ctx.done().recv(); });  // ends by the cancel
          g.ctx().done().recv();
          EXPECT_EQ(g.ctx().err(), goro::errc::canceled);
          EXPECT_EQ(g.ctx().cause(), err) << "TestCancelCause";
          std::exception_ptr e = g.wait();
          ASSERT_TRUE(e);
          EXPECT_EQ(what(e), std::system_error(err).what());
        }
      },
      cfg());
}

// An exception thrown by a task is its error; the first one wins.
TEST_P(Errgroup, ExceptionIsTheError) {
  goro::run(
      [] {
        goro::errgroup g(goro::background());
        auto gate = goro::make_chan<bool>();
        g.go([] { throw std::runtime_error("first"); });
        g.go([&](const goro::context& ctx) {
          ctx.done().recv();  // after the first error
          gate.close();
          throw std::runtime_error("second");
        });
        gate.recv();
        std::exception_ptr e = g.wait();
        ASSERT_TRUE(e);
        EXPECT_EQ(what(e), "first");
        EXPECT_EQ(g.ctx().cause(), goro::errc::canceled) << "a plain exception carries no code";
        EXPECT_EQ(g.ctx().err(), goro::errc::canceled);
      },
      cfg());
}

// TestTryGo: try_go fails while the limit is reached.
TEST_P(Errgroup, TryGo) {
  goro::run(
      [] {
        goro::errgroup g;
        const int limit = 10;
        g.set_limit(limit);
        auto ch = goro::make_chan<bool>();
        std::atomic<int> n{0};
        auto fn = [&] {
          n.fetch_add(1);
          ch.send(true);
        };
        for (int i = 0; i < limit; ++i) EXPECT_TRUE(g.try_go(fn));
        EXPECT_FALSE(g.try_go(fn)) << "should fail at the limit";
        // Let one finish.
        ch.recv();
        ASSERT_TRUE(goro_test::yield_until([&] { return g.try_go([] {}); }));
        for (int i = 1; i < limit; ++i) ch.recv();
        EXPECT_FALSE(g.wait());
        // Without a limit.
        g.set_limit(-1);
        for (int i = 0; i < 3 * limit; ++i) EXPECT_TRUE(g.try_go([] {}));
        EXPECT_FALSE(g.wait());
        // set_limit while active panics.
        g.set_limit(1);
        auto hold = goro::make_chan<bool>();
        g.go([hold] { hold.recv(); });
        try {
          g.set_limit(2);
          ADD_FAILURE() << "set_limit while active did not panic";
        } catch (const goro::panic_error& e) {
          EXPECT_STREQ(e.what(), "errgroup: modify limit while 1 goroutines in the group are still active");
        }
        hold.send(true);
        EXPECT_FALSE(g.wait());
      },
      cfg());
}

// TestGoLimit: never more than the limit active.
TEST_P(Errgroup, GoLimit) {
  goro::run(
      [] {
        const int limit = 10;
        goro::errgroup g;
        g.set_limit(limit);
        std::atomic<int> active{0}, over{0};
        for (int i = 0; i < 200; ++i) {
          g.go([&]() -> std::error_code {
            if (active.fetch_add(1) + 1 > limit) over.fetch_add(1);
            goro::yield();
            active.fetch_sub(1);
            return {};
          });
        }
        EXPECT_FALSE(g.wait());
        EXPECT_EQ(over.load(), 0);
      },
      cfg());
}

// The destructor waits for the group's goroutines.
TEST_P(Errgroup, DestructorWaits) {
  goro::run(
      [] {
        std::atomic<int> finished{0};
        {
          goro::errgroup g;
          for (int i = 0; i < 20; ++i)
            g.go([&] {
              goro::yield();
              finished.fetch_add(1);
            });
        }
        EXPECT_EQ(finished.load(), 20);
      },
      cfg());
}

}  // namespace
