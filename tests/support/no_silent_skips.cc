// GoogleTest reports the tests of a fixture whose SetUpTestSuite failed (a redis-server or
// mariadbd that did not start) as skipped, and ctest counts a skipped test as no failure: a
// broken set-up would pass CI having tested nothing. No Warden test skips itself on purpose,
// so a skipped test ends its process with a failure, before "[  SKIPPED ]" is printed (end
// events reach the listeners appended last first).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace {

class NoSilentSkips : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (!info.result()->Skipped()) return;
    std::printf("\n%s.%s did not run (its fixture failed to set up, see above): a failure.\n",
                info.test_suite_name(), info.name());
    std::fflush(stdout);
    std::_Exit(1);
  }
};

const bool registered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new NoSilentSkips);
  return true;
}();

}  // namespace
