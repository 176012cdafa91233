// Progress: what a long loop prints when stderr is not a terminal (as under ctest).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "gavamoe/core/progress.hpp"

namespace gavamoe {
namespace {

TEST(Progress, LogsStepRateEtaAndLoss) {
  testing::internal::CaptureStderr();
  {
    Progress progress("epoch 1", 10, "step", /*log_interval_s=*/0.0);
    EXPECT_TRUE(progress.due());
    progress.update(5, 1.5);
    progress.update(10);  // keeps the last loss
    progress.finish();
  }
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_NE(printed.find("epoch 1 5/10 step"), std::string::npos) << printed;
  EXPECT_NE(printed.find("step/s, ETA "), std::string::npos) << printed;
  EXPECT_NE(printed.find("loss 1.5000"), std::string::npos) << printed;
  EXPECT_NE(printed.find("10/10 step"), std::string::npos) << printed;
}

TEST(Progress, SlowLoopsShowSecondsPerStep) {
  testing::internal::CaptureStderr();
  {
    Progress progress("slow", 4, "step", /*log_interval_s=*/0.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    progress.update(1);
    progress.finish();
  }
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_NE(printed.find(" s/step, ETA "), std::string::npos) << printed;
  EXPECT_EQ(printed.find("0.0 step/s"), std::string::npos) << printed;
}

TEST(Progress, ShortLoopsStayQuiet) {
  testing::internal::CaptureStderr();
  {
    Progress progress("quick", 3, "step", /*log_interval_s=*/60.0);
    EXPECT_FALSE(progress.due());
    for (int i = 1; i <= 3; ++i) progress.update(i, 0.5);
    progress.finish();
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace gavamoe
