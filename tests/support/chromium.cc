#include "support/chromium.h"

#include "support/temp_dir.h"

namespace warden::test {

namespace {

RunResult RunChromium(const std::string& url, int budget_ms, std::chrono::seconds timeout,
                      const std::vector<std::string>& switches) {
  TempDir profile("warden-chromium");
  ProcessOptions chromium;
  chromium.argv = {kChromium,
                   "--headless",
                   "--no-sandbox",  // runs as root here, in a throwaway profile
                   "--disable-gpu",
                   "--disable-dev-shm-usage",
                   "--user-data-dir=" + profile.path(),
                   "--virtual-time-budget=" + std::to_string(budget_ms)};
  chromium.argv.insert(chromium.argv.end(), switches.begin(), switches.end());
  chromium.argv.push_back(url);
  return Run(chromium, std::nullopt, timeout);
}

}  // namespace

RunResult ChromiumDumpDom(const std::string& url, int budget_ms, std::chrono::seconds timeout,
                          const std::vector<std::string>& extra) {
  std::vector<std::string> switches = extra;
  switches.push_back("--dump-dom");
  return RunChromium(url, budget_ms, timeout, switches);
}

RunResult ChromiumScreenshot(const std::string& url, const std::string& png, int width, int height,
                             int budget_ms, std::chrono::seconds timeout) {
  return RunChromium(url, budget_ms, timeout,
                     {"--hide-scrollbars", "--screenshot=" + png,
                      "--window-size=" + std::to_string(width) + "," + std::to_string(height)});
}

}  // namespace warden::test
