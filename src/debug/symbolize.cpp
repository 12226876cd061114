// debug/symbolize.cpp — see symbolize.hpp.
#include "debug/symbolize.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <cxxabi.h>
#include <mutex>

#if GORO_HAVE_LIBDW
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#endif

namespace goro::detail {
namespace {

std::mutex symbolize_mutex;

std::string demangle(const char* name) {
  if (name == nullptr) return {};
  int status = 0;
  char* s = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 && s != nullptr ? s : name;
  std::free(s);
  return out;
}

void symbolize_dladdr(std::uintptr_t pc, std::vector<symbol_frame>& out) {
  symbol_frame f;
  f.pc = pc;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(pc - 1), &info) != 0) {
    if (info.dli_sname != nullptr) {
      f.function = demangle(info.dli_sname);
      f.offset = pc - reinterpret_cast<std::uintptr_t>(info.dli_saddr);
    } else {
      f.offset = pc - reinterpret_cast<std::uintptr_t>(info.dli_fbase);
    }
    if (info.dli_fname != nullptr) f.file = info.dli_fname;
  }
  out.push_back(std::move(f));
}

#if GORO_HAVE_LIBDW

Dwfl* process_dwfl = nullptr;  // guarded by symbolize_mutex; lives as long as the process

const Dwfl_Callbacks dwfl_callbacks = {
    dwfl_linux_proc_find_elf, dwfl_standard_find_debuginfo, nullptr, nullptr};

bool report_modules() {
  if (process_dwfl == nullptr) process_dwfl = dwfl_begin(&dwfl_callbacks);
  if (process_dwfl == nullptr) return false;
  dwfl_report_begin(process_dwfl);
  int rc = dwfl_linux_proc_report(process_dwfl, ::getpid());
  dwfl_report_end(process_dwfl, nullptr, nullptr);
  return rc == 0;
}

Dwfl_Module* module_of(Dwarf_Addr addr) {
  if (process_dwfl == nullptr && !report_modules()) return nullptr;
  Dwfl_Module* mod = dwfl_addrmodule(process_dwfl, addr);
  if (mod == nullptr && report_modules()) mod = dwfl_addrmodule(process_dwfl, addr);
  return mod;
}

std::string die_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  for (int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name})
    if (dwarf_attr_integrate(die, at, &attr) != nullptr)
      if (const char* s = dwarf_formstring(&attr)) return demangle(s);
  const char* s = dwarf_diename(die);
  return s != nullptr ? std::string(s) : std::string();
}

// Where the inlined call `die` was made (DW_AT_call_file/line in its CU).
void call_site(Dwarf_Die* cu, Dwarf_Die* die, symbol_frame& f) {
  Dwarf_Attribute attr;
  Dwarf_Word file = 0, line = 0;
  if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &file) != 0) return;
  if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &line) == 0)
    f.line = static_cast<int>(line);
  Dwarf_Files* files = nullptr;
  std::size_t nfiles = 0;
  if (dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && file < nfiles)
    if (const char* name = dwarf_filesrc(files, file, nullptr, nullptr)) f.file = name;
}

bool symbolize_dwfl(std::uintptr_t pc, std::vector<symbol_frame>& out) {
  Dwarf_Addr addr = pc - 1;  // inside the call instruction
  Dwfl_Module* mod = module_of(addr);
  if (mod == nullptr) return false;
  symbol_frame physical;
  physical.pc = pc;
  GElf_Off off = 0;
  GElf_Sym sym;
  if (const char* name = dwfl_module_addrinfo(mod, addr, &off, &sym, nullptr, nullptr, nullptr)) {
    physical.function = demangle(name);
    physical.offset = static_cast<std::uintptr_t>(off) + 1;
  } else {
    Dwarf_Addr base = 0;
    dwfl_module_info(mod, nullptr, &base, nullptr, nullptr, nullptr, nullptr, nullptr);
    physical.offset = pc - static_cast<std::uintptr_t>(base);
    if (const char* file = dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr,
                                            nullptr, nullptr))
      physical.file = file;
  }
  int line = 0;
  const char* file = nullptr;
  // The compilation unit: through .debug_aranges, or (clang emits none by
  // default, and libdw before 0.189 does not synthesize them) by asking
  // each unit whether it covers addr.
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl_module_addrdie(mod, addr, &bias);
  if (cu == nullptr) {
    while ((cu = dwfl_module_nextcu(mod, cu, &bias)) != nullptr)
      if (dwarf_haspc(cu, addr - bias) > 0) break;
  }
  if (cu != nullptr) {
    if (Dwarf_Line* l = dwarf_getsrc_die(cu, addr - bias)) {
      file = dwarf_linesrc(l, nullptr, nullptr);
      dwarf_lineno(l, &line);
    }
  }

  // Inlined calls at addr: innermost first, each located at the call site
  // recorded in the next one out.
  std::size_t first = out.size();
  if (cu != nullptr) {
    Dwarf_Die* scopes = nullptr;
    int n = dwarf_getscopes(cu, addr - bias, &scopes);
    for (int i = 0; i < n; ++i) {
      if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine) continue;
      symbol_frame f;
      f.pc = pc;
      f.inlined = true;
      f.function = die_name(&scopes[i]);
      out.push_back(std::move(f));
    }
    // Frame k's location is the call site of inlined DIE k-1 (k >= 1); the
    // innermost frame's is the line table's.
    std::size_t k = first;
    for (int i = 0; i < n; ++i) {
      if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine) continue;
      symbol_frame& next = k + 1 < out.size() ? out[k + 1] : physical;
      call_site(cu, &scopes[i], next);
      ++k;
    }
    std::free(scopes);
  }
  if (out.size() > first) {
    if (file != nullptr) out[first].file = file;
    out[first].line = line;
  } else if (file != nullptr) {
    physical.file = file;
    physical.line = line;
  } else if (physical.file.empty()) {  // no line information (built without -g): the module
    if (const char* path = dwfl_module_info(mod, nullptr, nullptr, nullptr, nullptr, nullptr,
                                            nullptr, nullptr))
      physical.file = path;
  }
  out.push_back(std::move(physical));
  return true;
}

#endif

}  // namespace

void symbolize(std::uintptr_t pc, std::vector<symbol_frame>& out) {
  std::lock_guard lock(symbolize_mutex);
#if GORO_HAVE_LIBDW
  if (symbolize_dwfl(pc, out)) return;
#endif
  symbolize_dladdr(pc, out);
}

bool symbolizer_has_debug_info() noexcept {
#if GORO_HAVE_LIBDW
  return true;
#else
  return false;
#endif
}

}  // namespace goro::detail
