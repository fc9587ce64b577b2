#pragma once

#include <chrono>
#include <functional>

namespace warden::test {

// Calls `condition` every `interval` until it returns true (→ true) or `timeout` passes
// (→ false, after one last try). Use it instead of sleeping: tests wait exactly as long as
// needed and fail with a clear deadline.
bool PollUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds(10));

}  // namespace warden::test
