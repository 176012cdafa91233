// at::parallel_for in gavamoe's own code (the few-rows kernel, dequantisation, dropout masks)
// splits work across LibTorch's intra-op threads, and the process holds a single OpenMP
// runtime: the one the torch wheel ships, shared with LibTorch's own operators.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <link.h>

#include <cstring>
#include <mutex>
#include <set>
#include <string>

namespace {

int count_loaded_libraries(const std::string& prefix) {
  struct Search {
    std::string prefix;
    int count = 0;
  } search{prefix};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        const char* slash = std::strrchr(info->dlpi_name, '/');
        const char* name = slash ? slash + 1 : info->dlpi_name;
        if (std::strncmp(name, s->prefix.c_str(), s->prefix.size()) == 0) ++s->count;
        return 0;
      },
      &search);
  return search.count;
}

TEST(IntraOpThreads, ParallelForRunsOnEveryRequestedThread) {
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  std::mutex mutex;
  std::set<int> threads;
  at::parallel_for(0, 64, 1, [&](int64_t, int64_t) {
    std::lock_guard<std::mutex> lock(mutex);
    threads.insert(at::get_thread_num());
  });
  at::set_num_threads(before);
  EXPECT_EQ(threads, (std::set<int>{0, 1}));
}

TEST(IntraOpThreads, OneOpenMpRuntimeIsLoaded) {
  at::parallel_for(0, 2, 1, [](int64_t, int64_t) {});
  EXPECT_EQ(count_loaded_libraries("libgomp"), 1);
}

}  // namespace
