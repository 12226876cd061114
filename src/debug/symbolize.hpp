// debug/symbolize.hpp — program counters to function, file and line.
//
// Owns: the process's symbol tables. With libdw (GORO_HAVE_LIBDW): one Dwfl
// for the process (dwfl_linux_proc_report, reported again when a pc falls in
// no known module, e.g. after dlopen), function names from the ELF symbol
// tables demangled with abi::__cxa_demangle, file:line from the DWARF line
// tables, and inlined calls expanded from the DWARF scopes. Without libdw:
// dladdr (names of exported symbols only) and the module's path.
//
// Thread safety: serialized by a mutex of its own (a leaf lock; libdw is not
// thread-safe). Allocates: never call it where malloc may not be (a signal
// handler).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace goro::detail {

struct symbol_frame {
  std::string function;     // demangled; empty if unknown
  std::string file;         // source file, or the module's path without line info
  int line = 0;             // 0: no line information
  std::uintptr_t pc = 0;    // the return address looked up
  std::uintptr_t offset = 0;// pc - the function's entry (or - the module's base without a function)
  bool inlined = false;     // a call inlined into the next frame: no offset of its own
};

// Appends the frames of return address pc (several when calls were inlined
// there), innermost first.
void symbolize(std::uintptr_t pc, std::vector<symbol_frame>& out);

// Whether file:line and names of non-exported functions are available.
bool symbolizer_has_debug_info() noexcept;

}  // namespace goro::detail
