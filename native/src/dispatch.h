// CPU-feature dispatch (dispatch.cc).
#pragma once
#include <string>
#include <vector>
#include "table.h"

namespace ck {
struct IsaLevel {
  const char* name;     // "avx512", "avx2", "baseline" (best first)
  std::string missing;  // CPU flags this CPU lacks for the level, comma-separated; empty when it runs it
};
// The levels this build has, best first.
std::vector<IsaLevel> isaLevels();
// The table of `requested` (a level name), or of the best level the CPU runs when requested is null or empty;
// null with `error` set when the level is unknown or the CPU lacks its flags.
const KernelTable* selectTable(const char* requested, std::string& error);
}  // namespace ck
