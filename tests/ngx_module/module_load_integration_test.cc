// Which module the workers run: the build's, or, in the AddressSanitizer run of these tests
// (WARDEN_TEST_MODULE_SO and WARDEN_TEST_NGINX_PRELOAD, `make test`), the ASan build with the
// ASan runtime mapped in. Keeps that run honest: it fails if nginx ran the plain module.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "support/nginx_server.h"
#include "support/temp_dir.h"

namespace warden::test {
namespace {

TEST(ModuleLoadTest, TheWorkersMapTheModuleUnderTest) {
  NginxServer::Options o;
  o.http =
      "server {\n  listen 127.0.0.1:@PORT@;\n  warden on;\n  location / { root @DIR@/html; }\n}\n";
  NginxServer nginx(o);
  ASSERT_EQ(nginx.Get("/").status, 200);
  const auto workers = nginx.WorkerPids();
  ASSERT_FALSE(workers.empty());
  const std::string maps = ReadFile("/proc/" + std::to_string(workers[0]) + "/maps");
  const char* asan_module = std::getenv("WARDEN_TEST_MODULE_SO");
  if (asan_module != nullptr && *asan_module != '\0') {
    EXPECT_NE(maps.find(asan_module), std::string::npos) << maps;
    EXPECT_NE(maps.find("libasan"), std::string::npos) << maps;
  } else {
    EXPECT_NE(maps.find(WARDEN_MODULE_SO), std::string::npos) << maps;
    EXPECT_EQ(maps.find("libasan"), std::string::npos) << maps;
  }
}

}  // namespace
}  // namespace warden::test
