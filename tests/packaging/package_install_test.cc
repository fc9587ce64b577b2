// The Debian packages, installed for real: apt-get installs the two .debs `make deb` built (the
// ctest fixture packaging.build), the installed files are checked, the system's nginx
// configuration accepts the module the package enabled, the installed nginx binary runs the
// installed module against a throwaway redis-server, the installed `warden` bans this client and
// the installed daemon (the unit's ExecStart) purges an expired ban; then apt-get remove leaves
// a working nginx, and the packages are purged whatever happened.
//
// It changes the system (packages, /etc/nginx/modules-enabled, /etc/warden): it runs as root, on
// its own (RUN_SERIAL), and holds /run/lock/warden-packaging-test.lock against a run from
// another tree. It refuses to replace a Warden that it did not install.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/process.h"
#include "support/redis_server.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

#ifndef WARDEN_DEB_DIR
#error "WARDEN_DEB_DIR must name the directory of the built packages"
#endif

namespace warden::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kModulePackage = "libnginx-mod-http-warden";
constexpr const char* kCliPackage = "warden";
constexpr const char* kModuleSo = "/usr/lib/nginx/modules/ngx_http_warden_module.so";
constexpr const char* kModuleConf = "/usr/share/nginx/modules-available/mod-http-warden.conf";
constexpr const char* kEnabledLink = "/etc/nginx/modules-enabled/50-mod-http-warden.conf";
constexpr const char* kLogFormat = "/etc/nginx/snippets/warden-log-format.conf";
constexpr const char* kCountryDb = "/usr/share/warden/country.mmdb";
constexpr const char* kWarden = "/usr/bin/warden";
constexpr const char* kSettings = "/etc/warden/warden.toml";
constexpr const char* kManPage = "/usr/share/man/man1/warden.1.gz";
constexpr const char* kCompletion = "/usr/share/bash-completion/completions/warden";
constexpr const char* kUnit = "/lib/systemd/system/warden.service";
// Written before the test installs the packages, removed once they are purged: a run killed in
// between lets the next one purge them, and nothing else.
constexpr const char* kStamp = "/var/tmp/warden-packaging-test.installed";
constexpr const char* kLock = "/run/lock/warden-packaging-test.lock";
constexpr const char* kPolicyRcD = "/usr/sbin/policy-rc.d";
constexpr const char* kPolicyRcDMark = "# warden packaging test: no service starts or reloads\n";

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// dpkg's two-letter state of a package: "ii" installed, "rc" removed with its conffiles kept,
// "" unknown to dpkg (or purged).
std::string PackageState(const std::string& package) {
  RunResult r = Run({"dpkg-query", "-W", "-f=${db:Status-Abbrev}", package});
  if (r.exit_code != 0) return "";
  std::string state = r.out.substr(0, 2);
  return state == "un" || state == "pn" ? "" : state;
}

RunResult Apt(std::vector<std::string> args) {
  std::vector<std::string> argv = {"apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, {{"DEBIAN_FRONTEND", "noninteractive"}}, std::nullopt, 600s);
}

std::string FindDeb(const std::string& package) {
  std::vector<std::string> found;
  if (DIR* dir = opendir(WARDEN_DEB_DIR)) {
    while (dirent* e = readdir(dir)) {
      std::string name = e->d_name;
      if (name.rfind(package + "_", 0) == 0 && name.size() > 4 &&
          name.compare(name.size() - 4, 4, ".deb") == 0) {
        found.push_back(std::string(WARDEN_DEB_DIR) + "/" + name);
      }
    }
    closedir(dir);
  }
  return found.size() == 1 ? found[0] : "";
}

// A policy-rc.d that forbids every service action while the packages are installed and removed,
// so that on a machine that runs systemd the test neither starts warden.service nor reloads the
// system's nginx. Left alone when the machine has one already.
class NoServiceActions {
 public:
  NoServiceActions() {
    if (Exists(kPolicyRcD)) return;
    WriteFile(kPolicyRcD, std::string("#!/bin/sh\n") + kPolicyRcDMark + "exit 101\n");
    chmod(kPolicyRcD, 0755);
    owned_ = true;
  }
  ~NoServiceActions() {
    if (owned_ && Exists(kPolicyRcD) &&
        ReadFile(kPolicyRcD).find(kPolicyRcDMark) != std::string::npos) {
      unlink(kPolicyRcD);
    }
  }

 private:
  bool owned_ = false;
};

// ExecStart= of the installed unit, split at spaces (it has no quoting).
std::vector<std::string> UnitExecStart() {
  std::istringstream unit(ReadFile(kUnit));
  for (std::string line; std::getline(unit, line);) {
    if (line.rfind("ExecStart=", 0) != 0) continue;
    std::istringstream words(line.substr(10));
    std::vector<std::string> argv;
    for (std::string w; words >> w;) argv.push_back(w);
    return argv;
  }
  return {};
}

// The installed `warden`, with the environment tests give the build's (no WARDEN_* of this
// process, WARDEN_CONFIG=config).
ProcessOptions InstalledWarden(std::vector<std::string> args, const std::string& config) {
  ProcessOptions po = WardenProcessOptions({.args = std::move(args), .config = config});
  po.argv[0] = kWarden;
  return po;
}

// Completions bash offers for the words of `line` (the last one being completed), with the
// installed completion loaded.
std::string Complete(const std::string& line) {
  std::string script = std::string("source ") + kCompletion + "\nCOMP_LINE='" + line +
                       "'\nread -ra COMP_WORDS <<<\"$COMP_LINE\"\n" +
                       (line.back() == ' ' ? "COMP_WORDS+=('')\n" : "") +
                       "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\nCOMP_POINT=${#COMP_LINE}\n"
                       "_warden warden\necho \"${COMPREPLY[*]}\"\n";
  return Run({"bash", "--norc", "-c", script}).out;
}

class PackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lock_fd_ = open(kLock, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    ASSERT_GE(lock_fd_, 0) << kLock;
    ASSERT_TRUE(PollUntil([&] { return flock(lock_fd_, LOCK_EX | LOCK_NB) == 0; }, 300s, 500ms))
        << "another packaging test held " << kLock << " for 5 minutes";
    no_service_actions_.emplace();

    module_deb_ = FindDeb(kModulePackage);
    cli_deb_ = FindDeb(kCliPackage);
    ASSERT_FALSE(module_deb_.empty() || cli_deb_.empty())
        << "want one " << kModulePackage << "_*.deb and one " << kCliPackage << "_*.deb in "
        << WARDEN_DEB_DIR << " (make deb; ctest runs it as the test packaging.build)";

    if (Exists(kStamp)) {
      Purge();  // a run that was killed before its clean-up
    }
    for (const char* package : {kModulePackage, kCliPackage}) {
      ASSERT_EQ(PackageState(package), "")
          << package << " is installed, and not by this test: it would replace and then purge it";
    }
    for (const char* path : {kModuleSo, kEnabledLink, kLogFormat, kWarden, kSettings, kUnit}) {
      ASSERT_FALSE(Exists(path)) << path << " exists but no Warden package is installed: a source "
                                 << "install (make install)? The test does not overwrite it; "
                                 << "`make uninstall` and remove /etc/warden to run it";
    }

    WriteFile(kStamp, "");
    RunResult r = Apt({"install", "--no-install-recommends", module_deb_, cli_deb_});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    ASSERT_EQ(PackageState(kModulePackage), "ii");
    ASSERT_EQ(PackageState(kCliPackage), "ii");
  }

  void TearDown() override {
    if (Exists(kStamp)) {
      Purge();
      for (const char* path : {kModuleSo, kEnabledLink, kWarden, "/etc/warden", kUnit}) {
        EXPECT_FALSE(Exists(path)) << path << " is left after apt-get purge";
      }
      EXPECT_FALSE(Exists(std::string(kEnabledLink) + ".removed"));
    }
    no_service_actions_.reset();
    if (lock_fd_ >= 0) close(lock_fd_);
  }

  // Purges what dpkg knows of the two packages (apt-get refuses names it never saw).
  void Purge() {
    std::vector<std::string> args = {"purge"};
    for (const char* package : {kModulePackage, kCliPackage}) {
      if (!PackageState(package).empty()) args.push_back(package);
    }
    if (args.size() > 1) {
      RunResult r = Apt(args);
      EXPECT_EQ(r.exit_code, 0) << Show(r);
    }
    EXPECT_EQ(PackageState(kModulePackage), "");
    EXPECT_EQ(PackageState(kCliPackage), "");
    if (PackageState(kModulePackage).empty() && PackageState(kCliPackage).empty()) {
      unlink(kStamp);
    }
  }

  std::optional<NoServiceActions> no_service_actions_;  // once the lock is held
  int lock_fd_ = -1;
  std::string module_deb_, cli_deb_;
};

TEST_F(PackageTest, InstallRunRemove) {
  {
    SCOPED_TRACE("the installed files");
    struct stat st;
    ASSERT_EQ(stat(kModuleSo, &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u);
    EXPECT_NE(ReadFile(kModuleConf).find("load_module modules/ngx_http_warden_module.so;"),
              std::string::npos);
    char target[256] = {};
    ASSERT_GT(readlink(kEnabledLink, target, sizeof target - 1), 0) << kEnabledLink;
    EXPECT_STREQ(target, kModuleConf);
    ASSERT_EQ(stat(kCountryDb, &st), 0);
    EXPECT_GT(st.st_size, 1 << 20);
    EXPECT_NE(ReadFile(kLogFormat).find("log_format warden_json"), std::string::npos);
    ASSERT_EQ(stat(kWarden, &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    ASSERT_EQ(stat(kSettings, &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_gid, 0u);
    RunResult conffiles = warden::test::Run({"dpkg-query", "-W", "-f=${Conffiles}", kCliPackage});
    EXPECT_NE(conffiles.out.find(kSettings), std::string::npos) << conffiles.out;
    RunResult man = warden::test::Run({"zcat", kManPage});
    EXPECT_NE(man.out.find(".TH WARDEN \"1\""), std::string::npos) << Show(man);
    EXPECT_NE(man.out.find("unban"), std::string::npos);  // the commands are in it
    EXPECT_NE(ReadFile(kUnit).find("DynamicUser=yes"), std::string::npos);
    EXPECT_EQ(UnitExecStart(), (std::vector<std::string>{kWarden, "daemon"}));
    // systemd's own reading of the unit (without systemd running): its keys, that ExecStart is
    // executable, that man:warden(1) is there.
    RunResult verify = warden::test::Run({"systemd-analyze", "verify", kUnit});
    EXPECT_EQ(verify.exit_code, 0) << Show(verify);
    EXPECT_EQ(verify.err, "") << Show(verify);
    RunResult depends = warden::test::Run({"dpkg-query", "-W", "-f=${Depends}", kModulePackage});
    EXPECT_NE(depends.out.find("nginx-abi-"), std::string::npos) << depends.out;
  }
  {
    SCOPED_TRACE("the installed warden: its version, the shipped settings, its completion");
    RunResult version = warden::test::Run({kWarden, "--version"});
    RunResult package = warden::test::Run({"dpkg-query", "-W", "-f=${Version}", kCliPackage});
    std::string upstream = package.out.substr(0, package.out.rfind('-'));
    EXPECT_EQ(version.out, "warden " + upstream + "\n") << "debian/changelog and warden --version";
    // The settings as shipped: found at their default path, and valid.
    ProcessOptions check = InstalledWarden({"config", "check"}, "");
    check.env.erase("WARDEN_CONFIG");
    check.unset_env.push_back("WARDEN_CONFIG");
    RunResult checked = warden::test::Run(check);
    EXPECT_EQ(checked.exit_code, 0) << Show(checked);
    EXPECT_NE(checked.out.find(kSettings), std::string::npos) << Show(checked);
    EXPECT_NE(Complete("warden unb").find("unban"), std::string::npos);
    EXPECT_NE(Complete("warden job ").find("history"), std::string::npos);
    EXPECT_NE(Complete("warden ban --t").find("--ttl"), std::string::npos);
  }
  {
    SCOPED_TRACE("nginx -t with the system's configuration, which now loads the module");
    RunResult t = warden::test::Run({"nginx", "-t"});
    EXPECT_EQ(t.exit_code, 0) << Show(t);
    RunResult dump = warden::test::Run({"nginx", "-T"});
    EXPECT_NE(dump.out.find("load_module modules/ngx_http_warden_module.so;"), std::string::npos)
        << Show(dump);
  }
  {
    SCOPED_TRACE("the installed nginx, module, warden and daemon against a redis-server");
    RedisServer redis;
    TempDir dir("warden-packaging");
    std::string config = dir.Write("warden.toml", "[redis]\nurl = \"" + redis.url() +
                                                      "\"\n[daemon]\nlisten = \"off\"\n"
                                                      "purge_interval = \"100ms\"\n");
    // The unit's command, given its settings the way systemd's LoadCredential= does.
    ProcessOptions daemon_options = InstalledWarden({}, config);
    daemon_options.argv = UnitExecStart();
    ASSERT_FALSE(daemon_options.argv.empty()) << kUnit << " has no ExecStart=";
    daemon_options.stderr_path = dir.File("daemon.log");
    Process daemon = Process::Start(daemon_options);
    ASSERT_TRUE(PollUntil(
        [&] {
          return ReadFile(dir.File("daemon.log")).find("daemon started") != std::string::npos;
        },
        10s))
        << ReadFile(dir.File("daemon.log"));

    NginxServer::Options o;
    o.module_path = kModuleSo;
    o.http = std::string("include ") + kLogFormat +
             ";\n"
             "access_log @DIR@/access.log warden_json;\n"
             "warden_redis 127.0.0.1:" +
             std::to_string(redis.port()) + ";\nwarden_geoip " + kCountryDb +
             ";\n"
             "server {\n  listen 127.0.0.1:@PORT@;\n  warden on;\n"
             "  location / { root @DIR@/html; }\n}\n";
    NginxServer nginx(o);
    std::vector<pid_t> workers = nginx.WorkerPids();
    ASSERT_FALSE(workers.empty());
    EXPECT_NE(ReadFile("/proc/" + std::to_string(workers[0]) + "/maps").find(kModuleSo),
              std::string::npos);
    ASSERT_EQ(nginx.Get("/").status, 200);

    RunResult ban =
        warden::test::Run(InstalledWarden({"ban", "127.0.0.1", "--reason", "packaging"}, config));
    ASSERT_EQ(ban.exit_code, 0) << Show(ban);
    EXPECT_TRUE(PollUntil([&] { return nginx.Get("/").status == 403; }, 5s)) << nginx.ErrorLog();
    EXPECT_NE(nginx.AccessLog().find("\"warden_decision\":\"block\""), std::string::npos)
        << nginx.AccessLog();

    // The daemon at work: it removes a ban that expired from Redis (nothing else does).
    RunResult expiring =
        warden::test::Run(InstalledWarden({"ban", "192.0.2.1", "--ttl", "1s"}, config));
    ASSERT_EQ(expiring.exit_code, 0) << Show(expiring);
    ASSERT_EQ(redis.Command({"HEXISTS", "warden:bl:entries", "192.0.2.1"}).integer, 1);
    EXPECT_TRUE(PollUntil(
        [&] {
          return redis.Command({"HEXISTS", "warden:bl:entries", "192.0.2.1"}).integer == 0;
        },
        10s, 100ms))
        << ReadFile(dir.File("daemon.log"));

    ASSERT_TRUE(daemon.Running()) << ReadFile(dir.File("daemon.log"));
    daemon.Signal(SIGTERM);
    EXPECT_EQ(daemon.Wait(30s), std::optional<int>(0)) << ReadFile(dir.File("daemon.log"));
  }
  {
    SCOPED_TRACE("apt-get remove: nginx still starts without the module");
    RunResult r = Apt({"remove", kModulePackage, kCliPackage});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    EXPECT_EQ(PackageState(kModulePackage), "rc");
    EXPECT_EQ(PackageState(kCliPackage), "rc");
    for (const char* path : {kModuleSo, kEnabledLink, kWarden, kUnit}) {
      EXPECT_FALSE(Exists(path)) << path << " is left after apt-get remove";
    }
    // The conffiles stay until purge, the log format too: harmless, nginx.conf does not
    // include snippets/.
    EXPECT_TRUE(Exists(kLogFormat));
    RunResult t = warden::test::Run({"nginx", "-t"});
    EXPECT_EQ(t.exit_code, 0) << Show(t);
    RunResult dump = warden::test::Run({"nginx", "-T"});
    EXPECT_EQ(dump.out.find("ngx_http_warden_module"), std::string::npos) << Show(dump);
  }
}

}  // namespace
}  // namespace warden::test

// The test needs root to install packages. Not as root, it says so and ends with ctest's
// SKIP_RETURN_CODE before GoogleTest starts: ctest lists it as skipped, never as passed (a
// GoogleTest skip would be turned into a failure by no_silent_skips.cc, which is there for
// fixtures that failed to set up).
int main(int argc, char** argv) {
  if (geteuid() != 0) {
    std::printf("packaging test: skipped: it installs and removes packages, and needs root\n");
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
