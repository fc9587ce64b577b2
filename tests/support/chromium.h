#pragma once

#include <chrono>
#include <string>

#include "support/process.h"

namespace warden::test {

// Debian's Chromium, headless, opening `url` in a fresh profile and printing the page's DOM
// once its scripts have run (up to `budget` of virtual time): what a browser ends up showing.
inline constexpr const char* kChromium = "/usr/bin/chromium";
RunResult ChromiumDumpDom(const std::string& url, int budget_ms = 20000,
                          std::chrono::seconds timeout = std::chrono::seconds(90));

}  // namespace warden::test
