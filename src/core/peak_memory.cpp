// This process's peak resident memory (peak_memory.hpp).
#include "gavamoe/core/peak_memory.hpp"

#include <sys/resource.h>

namespace gavamoe {

double peak_rss_mib() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace gavamoe
