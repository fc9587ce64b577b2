#pragma once

#include <string>

namespace warden {

// `digits` random hex characters from std::random_device (the kernel's generator): epochs,
// session secrets, CSRF tokens.
std::string RandomHex(size_t digits);

}  // namespace warden
