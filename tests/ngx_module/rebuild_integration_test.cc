// A rebuild of the module while nginx runs from it (`make` during `make run`): the project's
// own install step must replace the file by rename, so the running workers keep mapping the old
// one. Writing over a loaded .so in place crashed every worker at once, then every respawned one.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <string>

#include "support/nginx_server.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

ino_t Inode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

TEST(ModuleRebuildTest, ARunningNginxSurvivesARebuildOfItsModule) {
  TempDir dir("warden-rebuild");
  const std::string so = dir.File("ngx_http_warden_module.so");
  RunResult copy = test::Run({"cp", WARDEN_MODULE_SO, so});
  ASSERT_EQ(copy.exit_code, 0) << Show(copy);
  // One byte more than the build's (ELF ignores it): the script leaves an identical file be.
  RunResult differ = test::Run({"sh", "-c", "printf x >> \"$0\"", so});
  ASSERT_EQ(differ.exit_code, 0) << Show(differ);

  NginxServer::Options o;
  o.module_path = so;
  o.http =
      "warden_limit_zone $binary_remote_addr zone=api:1m rate=100r/s;\n"
      "server {\n  listen 127.0.0.1:@PORT@;\n  warden on;\n"
      "  location / { warden_limit zone=api burst=100; root @DIR@/html; }\n}\n";
  NginxServer nginx(o);
  ASSERT_EQ(nginx.Get("/").status, 200);
  const auto workers = nginx.WorkerPids();
  const ino_t before = Inode(so);

  // The rebuild, by the project's own script, installing into the file nginx runs from.
  ProcessOptions build;
  build.argv = {WARDEN_SOURCE_DIR "/scripts/build-module.sh"};
  build.env = {{"WARDEN_BUILD_DIR", WARDEN_BUILD_DIR}, {"WARDEN_MODULE_OUT", so}};
  RunResult rebuilt = test::Run(build, std::nullopt, 300s);
  ASSERT_EQ(rebuilt.exit_code, 0) << Show(rebuilt);

  EXPECT_NE(Inode(so), before) << "the module was written over in place while nginx maps it";
  for (int i = 0; i < 20; ++i) ASSERT_EQ(nginx.Get("/").status, 200) << "request " << i;
  EXPECT_EQ(nginx.WorkerPids(), workers) << nginx.ErrorLog();
  EXPECT_EQ(nginx.ErrorLog().find("exited on signal"), std::string::npos) << nginx.ErrorLog();

  // A reload goes on serving. It keeps the old module: dlopen() of the same path returns the
  // copy the master has mapped. Loading the new one takes nginx's binary upgrade (SIGUSR2),
  // which `make run` does and tests/scripts/run_local_test.sh checks.
  nginx.Reload();
  EXPECT_EQ(nginx.Get("/").status, 200);
  EXPECT_EQ(nginx.ErrorLog().find("exited on signal"), std::string::npos) << nginx.ErrorLog();
}

}  // namespace
}  // namespace warden::test
