// One result row in the format every benchmark program prints and bench/run.sh collects:
//   | area | case | value | unit |
#pragma once

#include <cstdio>
#include <string>

namespace gavamoe::bench {

inline void print_row(const std::string& area, const std::string& what, double value,
                      const std::string& unit) {
  std::printf("| %s | %s | %.*f | %s |\n", area.c_str(), what.c_str(), value < 100 ? 2 : 0, value,
              unit.c_str());
  std::fflush(stdout);
}

}  // namespace gavamoe::bench
