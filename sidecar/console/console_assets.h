#pragma once

#include <string_view>

namespace warden {

// The console's page, embedded at build time from sidecar/console/assets/ (embed_assets.cmake):
// no file to install, no CDN. The page holds {{csrf}} and {{node}}, replaced when served.
extern const std::string_view kConsoleHtml;
extern const std::string_view kConsoleJs;
extern const std::string_view kConsoleCss;

}  // namespace warden
