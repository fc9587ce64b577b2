#pragma once

#include <cstdint>
#include <functional>

namespace warden {

// Milliseconds since the Unix epoch. Injected everywhere time matters so tests can drive it.
using Clock = std::function<int64_t()>;

int64_t SystemNowMs();

}  // namespace warden
