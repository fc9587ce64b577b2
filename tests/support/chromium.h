#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "support/process.h"

namespace warden::test {

// Debian's Chromium, headless, opening `url` in a fresh profile and printing the page's DOM
// once its scripts have run (up to `budget` of virtual time): what a browser ends up showing.
// `extra` switches go before the URL (e.g. "--enable-logging=stderr" to see console messages
// on stderr as "CONSOLE(line)" lines).
inline constexpr const char* kChromium = "/usr/bin/chromium";
RunResult ChromiumDumpDom(const std::string& url, int budget_ms = 20000,
                          std::chrono::seconds timeout = std::chrono::seconds(90),
                          const std::vector<std::string>& extra = {});

// The same page as a PNG of width x height pixels, written to `png`.
RunResult ChromiumScreenshot(const std::string& url, const std::string& png, int width = 1280,
                             int height = 1600, int budget_ms = 8000,
                             std::chrono::seconds timeout = std::chrono::seconds(90));

}  // namespace warden::test
