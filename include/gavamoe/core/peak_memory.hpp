// peak_rss_mib: this process's peak resident set size so far, in MiB (getrusage's ru_maxrss,
// which Linux reports in KiB and which equals /proc/self/status's VmHWM). The trainers record it
// in their metrics.json, so the memory a run took is read from the run, not from a wrapper.
#pragma once

namespace gavamoe {

double peak_rss_mib();

}  // namespace gavamoe
