#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace warden {

// Decodes %XX escapes in a URL part (user, password, path, query value); nullopt when an
// escape is cut short or not hexadecimal.
std::optional<std::string> PercentDecode(std::string_view in);

}  // namespace warden
