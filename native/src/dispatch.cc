// CPU-feature dispatch: which ISA levels this build has, which this CPU runs, and the table of the chosen one.
// The best level the CPU supports by default; CONVKIT_NATIVE_ISA=avx512|avx2|baseline forces one (see dispatch.h).
#include "dispatch.h"
#include <cstdlib>
#include <cstring>
#include <string>

namespace ck {
namespace {

struct Level {
  const char* name;
  const KernelTable& (*table)();
  // CPU flags the level needs, as /proc/cpuinfo and __builtin_cpu_supports name them.
  const char* flags[5];
};

#if defined(CK_AVX512_EMULATED)  // (with CK_X86_LEVELS)
// The tests' emulated build (scripts/build-test-addon.mjs; never the addon users get): one level, the avx512 level's
// code compiled with -mavx2 -mfma only (simd.h), so it needs AVX2 + FMA and not AVX-512. Its errors call it
// "avx512 (emulated on AVX2)"; the name stays "avx512", which CONVKIT_NATIVE_ISA and setIsa select.
const Level kLevels[] = {{"avx512", ck_avx512::kernelTable, {"avx2", "fma", nullptr}}};
constexpr const char* kLevelNote = " (emulated on AVX2)";
#elif defined(CK_X86_LEVELS)
const Level kLevels[] = {
    {"avx512", ck_avx512::kernelTable, {"avx512f", "avx512bw", "avx512dq", "avx512vl", nullptr}},
    {"avx2", ck_avx2::kernelTable, {"avx2", "fma", nullptr}},
    {"baseline", ck_base::kernelTable, {nullptr}},
};
#else
const Level kLevels[] = {{"baseline", ck_base::kernelTable, {nullptr}}};
#endif
#ifndef CK_AVX512_EMULATED
constexpr const char* kLevelNote = "";
#endif

bool cpuHas(const char* flag) {
#ifdef CK_X86_LEVELS
  __builtin_cpu_init();
  if (!std::strcmp(flag, "avx512f")) return __builtin_cpu_supports("avx512f");
  if (!std::strcmp(flag, "avx512bw")) return __builtin_cpu_supports("avx512bw");
  if (!std::strcmp(flag, "avx512dq")) return __builtin_cpu_supports("avx512dq");
  if (!std::strcmp(flag, "avx512vl")) return __builtin_cpu_supports("avx512vl");
  if (!std::strcmp(flag, "avx2")) return __builtin_cpu_supports("avx2");
  if (!std::strcmp(flag, "fma")) return __builtin_cpu_supports("fma");
#endif
  (void)flag;
  return false;
}

// The flags of `level` this CPU lacks, comma-separated ("" when it runs the level).
std::string missingFlags(const Level& level) {
  std::string missing;
  for (const char* const* f = level.flags; *f; f++) {
    if (!cpuHas(*f)) missing += (missing.empty() ? "" : ", ") + std::string(*f);
  }
  return missing;
}

}  // namespace

std::vector<IsaLevel> isaLevels() {
  std::vector<IsaLevel> out;
  for (const Level& level : kLevels) out.push_back({level.name, missingFlags(level)});
  return out;
}

const KernelTable* selectTable(const char* requested, std::string& error) {
  if (requested && *requested) {
    for (const Level& level : kLevels) {
      if (std::strcmp(level.name, requested) != 0) continue;
      const std::string missing = missingFlags(level);
      if (!missing.empty()) {
        error = std::string("the ISA level '") + requested + "'" + kLevelNote + " needs CPU flags this CPU lacks: " + missing;
        return nullptr;
      }
      return &level.table();
    }
    std::string names;
    for (const Level& level : kLevels) names += (names.empty() ? "" : ", ") + std::string(level.name) + kLevelNote;
    error = std::string("unknown ISA level '") + requested + "' (this build has " + names + ")";
    return nullptr;
  }
  for (const Level& level : kLevels) {
    if (missingFlags(level).empty()) return &level.table();
  }
  error = "no ISA level runs on this CPU";
  return nullptr;
}

}  // namespace ck
