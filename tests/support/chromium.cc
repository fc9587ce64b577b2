#include "support/chromium.h"

#include "support/temp_dir.h"

namespace warden::test {

RunResult ChromiumDumpDom(const std::string& url, int budget_ms, std::chrono::seconds timeout) {
  TempDir profile("warden-chromium");
  ProcessOptions chromium;
  chromium.argv = {kChromium,
                   "--headless",
                   "--no-sandbox",  // runs as root here, in a throwaway profile
                   "--disable-gpu",
                   "--disable-dev-shm-usage",
                   "--user-data-dir=" + profile.path(),
                   "--virtual-time-budget=" + std::to_string(budget_ms),
                   "--dump-dom",
                   url};
  return Run(chromium, std::nullopt, timeout);
}

}  // namespace warden::test
