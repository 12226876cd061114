// goro::trace (Chrome trace-event JSON of the scheduler) and GORO_SCHEDTRACE.
//
// Traces small programs, parses the file back with a minimal JSON parser and
// checks its structure: every "B" closed by an "E" of the same name on the
// same track (in time order), the expected events present, goroutine ids
// consistent (every traced goroutine but main was created in the trace,
// by a goroutine that exists). GORO_SCHEDTRACE is checked in a child process
// (this binary, re-executed with GORO_TRACE_TEST_CHILD set).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <span>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "goro/goro.hpp"
#include "test_util.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;

// --- a minimal JSON parser ------------------------------------------------------

struct jv {
  enum kind { null_v, bool_v, num_v, str_v, arr_v, obj_v } k = null_v;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<jv> arr;
  // An object: keys[i] names vals[i] (a vector of pairs would need jv
  // complete).
  std::vector<std::string> keys;
  std::vector<jv> vals;
  const jv* get(const std::string& key) const {
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key) return &vals[i];
    return nullptr;
  }
};

class parser {
 public:
  explicit parser(const std::string& text) : s_(text) {}
  jv parse() {
    jv v = value();
    ws();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("JSON: ") + what + " at offset " + std::to_string(i_));
  }
  void ws() {
    while (i_ < s_.size() && std::strchr(" \t\r\n", s_[i_]) != nullptr) ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail("unexpected character");
  }
  std::string string() {
    expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c == '\\') {
        if (i_ >= s_.size()) fail("bad escape");
        char e = s_[i_++];
        switch (e) {
          case '"': case '\\': case '/': out += e; break;
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'u':
            if (i_ + 4 > s_.size()) fail("bad \\u");
            out += static_cast<char>(std::stoi(s_.substr(i_, 4), nullptr, 16));
            i_ += 4;
            break;
          default: fail("bad escape");
        }
      } else {
        out += c;
      }
    }
    if (i_ >= s_.size()) fail("unterminated string");
    ++i_;
    return out;
  }
  jv value() {
    ws();
    if (i_ >= s_.size()) fail("unexpected end");
    jv v;
    char c = s_[i_];
    if (c == '{') {
      ++i_;
      v.k = jv::obj_v;
      if (eat('}')) return v;
      do {
        ws();
        std::string key = string();
        expect(':');
        v.keys.push_back(key);
        v.vals.push_back(value());
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++i_;
      v.k = jv::arr_v;
      if (eat(']')) return v;
      do v.arr.push_back(value());
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.k = jv::str_v;
      v.str = string();
    } else if (s_.compare(i_, 4, "true") == 0) {
      v.k = jv::bool_v;
      v.b = true;
      i_ += 4;
    } else if (s_.compare(i_, 5, "false") == 0) {
      v.k = jv::bool_v;
      i_ += 5;
    } else if (s_.compare(i_, 4, "null") == 0) {
      i_ += 4;
    } else {
      std::size_t used = 0;
      try {
        v.num = std::stod(s_.substr(i_, 40), &used);
      } catch (...) {
        fail("bad value");
      }
      v.k = jv::num_v;
      i_ += used;
    }
    return v;
  }
  const std::string& s_;
  std::size_t i_ = 0;
};

// --- checking a trace -------------------------------------------------------------

struct trace_summary {
  std::multiset<std::string> names;            // every event name (instants, slices)
  std::set<std::string> track_names;           // thread_name metadata
  std::set<std::uint64_t> created;             // goroutines with a "go create"
  std::set<std::uint64_t> ran;                 // goroutines with a run slice
  std::set<std::string> reasons;               // wait reasons of "block" events
  std::size_t events = 0;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::uint64_t num_arg(const jv& ev, const char* key) {
  const jv* args = ev.get("args");
  const jv* v = args != nullptr ? args->get(key) : nullptr;
  return v != nullptr && v->k == jv::num_v ? static_cast<std::uint64_t>(v->num) : 0;
}

// Parses and validates the file; failures are reported through gtest.
// from_start: no goroutine but main existed when the trace started.
trace_summary check_trace(const std::string& path, bool from_start = true) {
  trace_summary sum;
  std::string text = read_file(path);
  jv root;
  try {
    root = parser(text).parse();
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": " << e.what();
    return sum;
  }
  const jv* events = root.get("traceEvents");
  if (events == nullptr || events->k != jv::arr_v) {
    ADD_FAILURE() << path << ": no traceEvents array";
    return sum;
  }
  struct edge {
    double ts;
    std::size_t order;
    bool begin;
    std::string name;
  };
  std::map<std::pair<double, double>, std::vector<edge>> tracks;  // (pid, tid)
  std::map<std::uint64_t, std::uint64_t> parent_of;
  for (std::size_t i = 0; i < events->arr.size(); ++i) {
    const jv& ev = events->arr[i];
    const jv* name = ev.get("name");
    const jv* ph = ev.get("ph");
    const jv* pid = ev.get("pid");
    const jv* tid = ev.get("tid");
    if (name == nullptr || name->k != jv::str_v || ph == nullptr || ph->k != jv::str_v ||
        pid == nullptr || pid->k != jv::num_v || tid == nullptr || tid->k != jv::num_v) {
      ADD_FAILURE() << "event " << i << " lacks name, ph, pid or tid";
      continue;
    }
    ++sum.events;
    if (ph->str == "M") {
      if (name->str == "thread_name") {
        const jv* args = ev.get("args");
        const jv* n = args != nullptr ? args->get("name") : nullptr;
        if (n != nullptr) sum.track_names.insert(n->str);
      }
      continue;
    }
    const jv* ts = ev.get("ts");
    if (ts == nullptr || ts->k != jv::num_v || ts->num < 0) {
      ADD_FAILURE() << "event " << i << " (" << name->str << ") has no valid ts";
      continue;
    }
    sum.names.insert(name->str);
    if (ph->str == "B" || ph->str == "E") {
      tracks[{pid->num, tid->num}].push_back({ts->num, i, ph->str == "B", name->str});
      if (name->str.size() > 1 && name->str[0] == 'G')
        sum.ran.insert(std::stoull(name->str.substr(1)));
    } else if (ph->str == "X") {
      const jv* dur = ev.get("dur");
      EXPECT_TRUE(dur != nullptr && dur->k == jv::num_v && dur->num >= 0) << "event " << i;
    } else if (ph->str != "i") {
      ADD_FAILURE() << "event " << i << ": unexpected phase " << ph->str;
    }
    if (name->str == "block") {
      const jv* args = ev.get("args");
      const jv* r = args != nullptr ? args->get("reason") : nullptr;
      if (r != nullptr && r->k == jv::str_v) sum.reasons.insert(r->str);
    }
    if (name->str == "go create") {
      std::uint64_t g = num_arg(ev, "g");
      EXPECT_TRUE(sum.created.insert(g).second) << "goroutine " << g << " created twice";
      parent_of[g] = num_arg(ev, "parent");
    }
  }
  // Slices: per track, in time order (file order for ties), properly nested.
  for (auto& [key, edges] : tracks) {
    std::stable_sort(edges.begin(), edges.end(),
                     [](const edge& a, const edge& b) { return a.ts < b.ts; });
    std::vector<std::string> open;
    for (const edge& e : edges) {
      if (e.begin) {
        open.push_back(e.name);
        continue;
      }
      if (open.empty()) {
        ADD_FAILURE() << "track " << key.second << ": E \"" << e.name << "\" at " << e.ts
                      << " without a B";
        continue;
      }
      EXPECT_EQ(open.back(), e.name) << "track " << key.second << " at " << e.ts;
      open.pop_back();
    }
    EXPECT_TRUE(open.empty()) << "track " << key.second << ": " << open.size()
                              << " slices never end (first: " << (open.empty() ? "" : open[0]) << ")";
  }
  // Goroutine ids: every goroutine that ran was created in the trace (but
  // main, goroutine 1, made by run()), by a goroutine that exists (0: by a
  // plain thread).
  if (!from_start) return sum;
  for (std::uint64_t g : sum.ran)
    if (g != 1) {
      EXPECT_TRUE(sum.created.count(g)) << "G" << g << " ran but was never created";
    }
  for (auto [g, parent] : parent_of)
    EXPECT_TRUE(parent <= 1 || sum.created.count(parent)) << "G" << g << " has unknown parent " << parent;
  return sum;
}

std::string temp_path(const char* name) {
  return ::testing::TempDir() + "goro_trace_" + std::to_string(::getpid()) + "_" + name + ".json";
}

void libc_sleep_us(long us) {
  timespec ts{us / 1'000'000, (us % 1'000'000) * 1000};
  while (::nanosleep(&ts, &ts) != 0) {
  }
}

// The traced program: spawns, a channel ping-pong, a sleep, goro::blocking.
void small_program() {
  goro::wait_group wg;
  for (int i = 0; i < 8; ++i) {
    wg.add(1);
    goro::go([&wg] { wg.done(); });
  }
  wg.wait();
  auto ping = goro::make_chan<int>();
  auto pong = goro::make_chan<int>();
  goro::go([=] {
    for (auto v : ping) pong.send(v + 1);
    pong.close();
  });
  for (int i = 0; i < 100; ++i) {
    ping.send(i);
    EXPECT_EQ(pong.recv(), i + 1);
  }
  ping.close();
  EXPECT_FALSE(pong.recv().has_value());
  goro::sleep(1ms);
  EXPECT_EQ(goro::blocking([] {
              libc_sleep_us(200);
              return 5;
            }),
            5);
}

TEST(Trace, SmallProgramAtProcs2) {
  std::string path = temp_path("small");
  goro::trace::start(path);
  EXPECT_TRUE(goro::trace::active());
  goro::run([] { small_program(); }, goro::config{.procs = 2});
  // run() ending stopped the trace.
  EXPECT_FALSE(goro::trace::active());
  EXPECT_FALSE(goro::trace::stop());
  trace_summary sum = check_trace(path);
  for (const char* name : {"go create", "unblock", "block", "timer fire", "blocking enter",
                           "blocking exit", "G1"})
    EXPECT_TRUE(sum.names.count(name)) << "no \"" << name << "\" event";
  // Either P may have run everything (the other's thread can steal main).
  EXPECT_TRUE(sum.track_names.count("P0") || sum.track_names.count("P1"));
  EXPECT_GE(sum.created.size(), 9u);
  EXPECT_TRUE(sum.ran.count(1));
  std::remove(path.c_str());
}

// Start and stop inside a runtime, twice, and once more in a second runtime.
TEST(Trace, StartStopTwice) {
  EXPECT_FALSE(goro::trace::stop());  // stop without start
  std::string p1 = temp_path("twice1"), p2 = temp_path("twice2"), p3 = temp_path("twice3");
  goro::run(
      [&] {
        goro::trace::start(p1);
        EXPECT_THROW(goro::trace::start(p2), std::logic_error);
        small_program();
        EXPECT_TRUE(goro::trace::stop());
        EXPECT_FALSE(goro::trace::stop());
        goro::trace::start(p2);
        small_program();
        EXPECT_TRUE(goro::trace::stop());
      },
      goro::config{.procs = 2});
  goro::run(
      [&] {
        goro::trace::start(p3);
        small_program();
        EXPECT_TRUE(goro::trace::stop());
      },
      goro::config{.procs = 1});
  for (const std::string& p : {p1, p2, p3}) {
    SCOPED_TRACE(p);
    trace_summary sum = check_trace(p);
    EXPECT_TRUE(sum.names.count("go create"));
    EXPECT_TRUE(sum.names.count("block"));
    std::remove(p.c_str());
  }
}

TEST(Trace, Errors) {
  EXPECT_THROW(goro::trace::start("/nonexistent-dir/x/trace.json"), std::system_error);
  EXPECT_FALSE(goro::trace::active());
  EXPECT_FALSE(goro::trace::stop());
}

// procs = 1: main spawns a goroutine, then blocks in goro::blocking until it
// ran, which it can only do once sysmon hands the processor to another
// thread: the trace shows the retake and the spare/idle threads.
TEST(Trace, RetakeOfBlockingCall) {
  std::string path = temp_path("retake");
  goro::trace::start(path);
  goro::run(
      [] {
        std::atomic<bool> ran{false};
        goro::go([&] { ran.store(true); });
        goro::blocking([&] { EXPECT_TRUE(goro_test::spin_until([&] { return ran.load(); })); });
      },
      goro::config{.procs = 1});
  trace_summary sum = check_trace(path);
  EXPECT_TRUE(sum.names.count("retake"));
  EXPECT_TRUE(sum.names.count("blocking enter"));
  std::remove(path.c_str());
}

// Many goroutines created from a plain thread and from goroutines, at procs 2
// (steals, the global queue): the trace stays well formed.
TEST(Trace, ForeignThreadsAndSpawnStorm) {
  std::string path = temp_path("storm");
  goro::trace::start(path);
  goro::run(
      [] {
        goro::wait_group wg;
        wg.add(200);
        std::thread plain([&] {
          for (int i = 0; i < 100; ++i) goro::go([&wg] { wg.done(); });
        });
        for (int i = 0; i < 100; ++i)
          goro::go([&wg] {
            goro::yield();
            wg.done();
          });
        wg.wait();
        plain.join();
      },
      goro::config{.procs = 2});
  trace_summary sum = check_trace(path);
  EXPECT_GE(sum.created.size(), 200u);
  std::remove(path.c_str());
}

// procs = 1: a goroutine blocks reading a socket before main writes to it,
// so it can only be readied by the network poller.
TEST(Trace, NetworkPollerReadies) {
  std::string path = temp_path("netpoll");
  goro::trace::start(path);
  goro::run(
      [] {
        auto ln = goro::net::listen("tcp", "127.0.0.1:0");
        goro::net::conn client = goro::net::dial("tcp", ln.addr());
        goro::net::conn server = ln.accept();
        auto reading = goro::make_chan<int>();
        auto got = goro::make_chan<std::size_t>();
        goro::go([&server, reading, got] {
          reading.send(1);  // main runs again only once this goroutine parks
          std::array<char, 4> buf{};
          got.send(server.read(std::span<char>(buf)));
        });
        reading.recv();
        client.write("ping");
        EXPECT_EQ(got.recv(), 4u);
      },
      goro::config{.procs = 1});
  trace_summary sum = check_trace(path);
  EXPECT_TRUE(sum.names.count("netpoll"));
  EXPECT_TRUE(sum.reasons.count("IO wait"));
  std::remove(path.c_str());
}

// Traces started and stopped by a plain thread while goroutines at procs 2
// spawn, pass messages and sit in goro::blocking (sysmon hands their Ps to
// other threads): every trace is well formed whenever it was cut (TSan:
// recording races neither with stop nor with a P changing threads).
TEST(Trace, StartStopWhileBusy) {
  constexpr int rounds = 4;
  std::vector<std::string> paths;
  for (int i = 0; i < rounds; ++i) paths.push_back(temp_path(("busy" + std::to_string(i)).c_str()));
  goro::run(
      [&] {
        std::atomic<bool> done{false};
        goro::wait_group wg;
        auto ch = goro::make_chan<int>(4);
        for (int w = 0; w < 8; ++w) {
          wg.add(1);
          goro::go([&, w] {
            for (int i = 0; !done.load(); ++i) {
              if ((i + w) % 4 == 0) goro::blocking([] { libc_sleep_us(50); });
              goro::go([ch, i]() mutable { ch.send(i); });
              ch.recv();
              if (i % 8 == 0) goro::sleep(10us);
            }
            wg.done();
          });
        }
        std::thread toggler([&] {
          for (const std::string& p : paths) {
            goro::trace::start(p);
            libc_sleep_us(5000);  // the workload runs on meanwhile
            EXPECT_TRUE(goro::trace::stop());
          }
          done.store(true);
        });
        wg.wait();
        toggler.join();
      },
      goro::config{.procs = 2});
  // A 5 ms window may see little under a sanitizer on a loaded machine: the
  // structure is checked in each, the content over all of them.
  std::size_t creates = 0;
  for (const std::string& p : paths) {
    SCOPED_TRACE(p);
    trace_summary sum = check_trace(p, false);
    creates += sum.names.count("go create");
    std::remove(p.c_str());
  }
  EXPECT_GT(creates, 0u);
}

// --- GORO_SCHEDTRACE -----------------------------------------------------------

// The child: run with GORO_SCHEDTRACE=1 for a while.
TEST(SchedTraceChild, Run) {
  if (std::getenv("GORO_TRACE_TEST_CHILD") == nullptr) GTEST_SKIP() << "child scenario only";
  goro::run([] { goro::sleep(100ms); }, goro::config{.procs = 2});
}

TEST(SchedTrace, PrintsGoLines) {
#ifdef GORO_TRACE_TEST_NO_CHILD
  GTEST_SKIP() << "re-executing the test binary is not possible under an emulator";
#endif
  int err_pipe[2];
  ASSERT_EQ(pipe2(err_pipe, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::string self = "/proc/self/exe";
  std::string filter = "--gtest_filter=SchedTraceChild.Run";
  char* argv[] = {self.data(), filter.data(), nullptr};
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "GORO_SCHEDTRACE=", 16) != 0) env_store.emplace_back(*e);
  env_store.emplace_back("GORO_SCHEDTRACE=1");
  env_store.emplace_back("GORO_TRACE_TEST_CHILD=1");
  std::vector<char*> envp;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(err_pipe[1]);
  ASSERT_EQ(rc, 0) << std::strerror(rc);
  std::string err;
  auto deadline = std::chrono::steady_clock::now() + goro_test::wait_limit;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      ADD_FAILURE() << "child timed out";
      break;
    }
    pollfd fd{err_pipe[0], POLLIN, 0};
    int n = poll(&fd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (n == 0) continue;
    char buf[4096];
    ssize_t got = read(err_pipe[0], buf, sizeof buf);
    if (got <= 0) break;
    err.append(buf, static_cast<std::size_t>(got));
  }
  close(err_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << err;
  std::regex line(
      R"(SCHED ([0-9]+)ms: gomaxprocs=2 idleprocs=[0-2] threads=[0-9]+ spinningthreads=[0-9]+ )"
      R"(idlethreads=[0-9]+ runqueue=[0-9]+ \[[0-9]+ [0-9]+\])");
  std::istringstream lines(err);
  std::string l;
  int matched = 0;
  long last_ms = -1;
  while (std::getline(lines, l)) {
    std::smatch m;
    if (!std::regex_match(l, m, line)) continue;
    long ms = std::stol(m[1].str());
    EXPECT_GE(ms, last_ms);
    last_ms = ms;
    ++matched;
  }
  EXPECT_GE(matched, 1) << err;
}

}  // namespace
