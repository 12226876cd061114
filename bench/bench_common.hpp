// bench/bench_common.hpp — what every workload binary shares with the Go
// anchors (../shared/anchors/go/internal/anchor): the -procs and -n flags,
// Go-style flag syntax (-name=value, -name value, --name=value), the RESULT
// line, and FAIL on a failed self-check.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace bench {

class flags {
 public:
  flags(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) == 0) a.erase(0, 2);
      else if (a.rfind("-", 0) == 0) a.erase(0, 1);
      else usage(argv[i]);
      auto eq = a.find('=');
      if (eq != std::string::npos) {
        values_[a.substr(0, eq)] = a.substr(eq + 1);
      } else if (i + 1 < argc) {
        values_[a] = argv[++i];
      } else {
        usage(argv[i]);
      }
    }
  }
  long get(const std::string& name, long fallback) {
    known_[name] = true;
    auto it = values_.find(name);
    return it == values_.end() ? fallback : std::strtol(it->second.c_str(), nullptr, 10);
  }
  std::string get_string(const std::string& name, const std::string& fallback) {
    known_[name] = true;
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  // Call after every get(): rejects flags the workload does not know.
  void check() const {
    for (const auto& [name, value] : values_)
      if (!known_.count(name)) usage(("-" + name).c_str());
  }

 private:
  [[noreturn]] static void usage(const char* arg) {
    std::fprintf(stderr, "unknown or incomplete flag: %s\n", arg);
    std::exit(2);
  }
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> known_;
};

inline void report(const char* name, double value, const char* unit, int procs, long n) {
  std::printf("RESULT name=%s value=%.2f unit=%s procs=%d n=%ld\n", name, value, unit, procs, n);
  std::fflush(stdout);
}

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "FAIL: %s\n", what);
  std::exit(1);
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace bench
