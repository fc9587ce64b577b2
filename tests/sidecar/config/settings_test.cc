#include "config/settings.h"

#include <gtest/gtest.h>

#include "base/errors.h"
#include "config/config_file.h"
#include "support/temp_dir.h"

namespace warden {
namespace {

using test::TempDir;

class SettingsTest : public ::testing::Test {
 protected:
  std::string Config(std::string_view name, std::string_view text) {
    return dir_.Write(name, text);
  }
  std::string NoDefault() const { return dir_.File("absent.toml"); }

  TempDir dir_{"warden-settings"};
};

TEST_F(SettingsTest, DefaultsWithoutAnything) {
  Settings s = Settings::Resolve({}, Environment::FromMap({}), NoDefault());
  EXPECT_EQ(s.redis().Describe(), "redis 127.0.0.1:6379");
  EXPECT_EQ(s.redis_origin(), "default");
  EXPECT_EQ(s.prefix(), "warden:");
  EXPECT_EQ(s.timeout_ms(), 2000);
  EXPECT_EQ(s.config_path(), "");
}

TEST_F(SettingsTest, FlagBeatsEnvironmentBeatsFile) {
  std::string file = Config("w.toml", "[redis]\nurl = \"redis://file-host:1/0\"\n");
  auto env =
      Environment::FromMap({{"WARDEN_CONFIG", file}, {"WARDEN_REDIS", "redis://env-host:2/0"}});

  SettingsFlags flags;
  flags.redis = "redis://flag-host:3/0";
  Settings s = Settings::Resolve(flags, env, NoDefault());
  EXPECT_EQ(s.redis().Describe(), "redis flag-host:3");
  EXPECT_EQ(s.redis_origin(), "--redis");

  s = Settings::Resolve({}, env, NoDefault());
  EXPECT_EQ(s.redis().Describe(), "redis env-host:2");
  EXPECT_EQ(s.redis_origin(), "WARDEN_REDIS");

  s = Settings::Resolve({}, Environment::FromMap({{"WARDEN_CONFIG", file}}), NoDefault());
  EXPECT_EQ(s.redis().Describe(), "redis file-host:1");
  EXPECT_EQ(s.redis_origin(), file);
}

TEST_F(SettingsTest, ConfigFlagBeatsConfigVariableBeatsDefaultPath) {
  std::string from_flag = Config("a.toml", "[redis]\nprefix = \"a:\"\n");
  std::string from_env = Config("b.toml", "[redis]\nprefix = \"b:\"\n");
  std::string default_path = Config("c.toml", "[redis]\nprefix = \"c:\"\n");
  auto env = Environment::FromMap({{"WARDEN_CONFIG", from_env}});

  SettingsFlags flags;
  flags.config = from_flag;
  EXPECT_EQ(Settings::Resolve(flags, env, default_path).prefix(), "a:");
  EXPECT_EQ(Settings::Resolve({}, env, default_path).prefix(), "b:");
  EXPECT_EQ(Settings::Resolve({}, Environment::FromMap({}), default_path).prefix(), "c:");
  EXPECT_EQ(Settings::Resolve({}, Environment::FromMap({}), default_path).config_path(),
            default_path);
}

TEST_F(SettingsTest, PrefixAndTimeoutFromFileAndFlags) {
  std::string file =
      Config("w.toml", "[redis]\nprefix = \"prod:\"\ntimeout = \"500ms\"\n[jobs]\nx = 1\n");
  SettingsFlags flags;
  flags.config = file;
  Settings s = Settings::Resolve(flags, Environment::FromMap({}), NoDefault());
  EXPECT_EQ(s.prefix(), "prod:");
  EXPECT_EQ(s.timeout_ms(), 500);

  flags.prefix = "test:";
  flags.timeout = "5s";
  s = Settings::Resolve(flags, Environment::FromMap({}), NoDefault());
  EXPECT_EQ(s.prefix(), "test:");
  EXPECT_EQ(s.timeout_ms(), 5000);
}

// timeout= in the Redis URL in use: after --timeout, before [redis] timeout (it was parsed and
// then ignored).
TEST_F(SettingsTest, TimeoutInTheRedisUrlIsApplied) {
  std::string file = Config("w.toml",
                            "[redis]\nurl = \"redis://127.0.0.1:6390?timeout=750ms\"\n"
                            "timeout = \"500ms\"\n");
  SettingsFlags flags;
  flags.config = file;
  Settings s = Settings::Resolve(flags, Environment::FromMap({}), NoDefault());
  EXPECT_EQ(s.timeout_ms(), 750);

  flags.redis = "redis://127.0.0.1:6390";  // no timeout=: the file's key
  s = Settings::Resolve(flags, Environment::FromMap({}), NoDefault());
  EXPECT_EQ(s.timeout_ms(), 500);

  flags.redis = "redis://127.0.0.1:6390?timeout=3s";
  s = Settings::Resolve(flags, Environment::FromMap({}), NoDefault());
  EXPECT_EQ(s.timeout_ms(), 3000);
  flags.timeout = "5s";
  s = Settings::Resolve(flags, Environment::FromMap({}), NoDefault());
  EXPECT_EQ(s.timeout_ms(), 5000);
}

TEST_F(SettingsTest, ExplicitConfigMustExist) {
  SettingsFlags flags;
  flags.config = dir_.File("missing.toml");
  try {
    Settings::Resolve(flags, Environment::FromMap({}), NoDefault());
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.toml: cannot read"), std::string::npos);
  }
  EXPECT_THROW(
      Settings::Resolve({}, Environment::FromMap({{"WARDEN_CONFIG", *flags.config}}), NoDefault()),
      UsageError);
}

TEST_F(SettingsTest, BadValuesAreUsageErrors) {
  SettingsFlags flags;
  flags.redis = "http://x";
  EXPECT_THROW(Settings::Resolve(flags, Environment::FromMap({}), NoDefault()), UsageError);
  EXPECT_THROW(
      Settings::Resolve({}, Environment::FromMap({{"WARDEN_REDIS", "sentinel://h1"}}), NoDefault()),
      UsageError);
  flags = {};
  flags.timeout = "0s";
  EXPECT_THROW(Settings::Resolve(flags, Environment::FromMap({}), NoDefault()), UsageError);
  flags = {};
  flags.prefix = "has space";
  EXPECT_THROW(Settings::Resolve(flags, Environment::FromMap({}), NoDefault()), UsageError);
}

std::string LoadError(const std::string& path) {
  try {
    ConfigFile::Load(path);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST_F(SettingsTest, ConfigFileErrorsNamePathAndKey) {
  std::string path = Config("bad-url.toml", "[redis]\nurl = \"http://x\"\n");
  EXPECT_EQ(LoadError(path).rfind(path + ": redis.url: bad Redis deployment", 0), 0u)
      << LoadError(path);

  path = Config("bad-type.toml", "[redis]\ntimeout = true\n");
  EXPECT_EQ(LoadError(path), path + ": redis.timeout: expected a string, got a boolean");

  path = Config("unknown.toml", "[redis]\nurll = \"redis://x\"\n");
  EXPECT_NE(LoadError(path).find("redis.urll: unknown key"), std::string::npos);

  path = Config("not-table.toml", "redis = 3\n");
  EXPECT_EQ(LoadError(path), path + ": redis: expected a table, got an integer");

  path = Config("syntax.toml", "[redis\nurl = 1\n");
  EXPECT_EQ(LoadError(path).rfind(path + ":1:", 0), 0u) << LoadError(path);

  path = Config("timeout-int.toml", "[redis]\ntimeout = 3\n");
  EXPECT_EQ(LoadError(path), "");
  EXPECT_EQ(ConfigFile::Load(path).timeout_ms(), 3000);
}

TEST_F(SettingsTest, MysqlFlagBeatsEnvironmentBeatsFile) {
  std::string file = Config("m.toml", "[mysql]\nurl = \"mysql://u:p@file-host/db\"\n");
  auto env = Environment::FromMap(
      {{"WARDEN_CONFIG", file}, {"WARDEN_MYSQL", "mysql://u:p@env-host:3307/db"}});

  SettingsFlags flags;
  flags.mysql = "mysql://u:p@/db?socket=/run/flag.sock";
  Settings s = Settings::Resolve(flags, env, NoDefault());
  EXPECT_EQ(s.RequireMysql().Endpoint(), "/run/flag.sock");
  EXPECT_EQ(s.mysql_origin(), "--mysql");

  s = Settings::Resolve({}, env, NoDefault());
  EXPECT_EQ(s.RequireMysql().Endpoint(), "env-host:3307");
  EXPECT_EQ(s.mysql_origin(), "WARDEN_MYSQL");

  s = Settings::Resolve({}, Environment::FromMap({{"WARDEN_CONFIG", file}}), NoDefault());
  EXPECT_EQ(s.RequireMysql().Endpoint(), "file-host:3306");
  EXPECT_EQ(s.RequireMysql().password, "p");
  EXPECT_EQ(s.mysql_origin(), file);
}

TEST_F(SettingsTest, MysqlHasNoDefault) {
  Settings s = Settings::Resolve({}, Environment::FromMap({}), NoDefault());
  EXPECT_FALSE(s.mysql().has_value());
  EXPECT_EQ(s.mysql_origin(), "");
  try {
    s.RequireMysql();
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--mysql"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("WARDEN_MYSQL"), std::string::npos) << e.what();
  }
}

TEST_F(SettingsTest, BadMysqlUrlsAreUsageErrorsNamingTheOrigin) {
  SettingsFlags flags;
  flags.mysql = "mysql://u:secret@h";
  try {
    Settings::Resolve(flags, Environment::FromMap({}), NoDefault());
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--mysql: bad MySQL URL", 0), 0u) << e.what();
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
    EXPECT_EQ(e.exit_code(), kExitUsage);
  }
  try {
    Settings::Resolve({}, Environment::FromMap({{"WARDEN_MYSQL", "postgres://x/y"}}), NoDefault());
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("WARDEN_MYSQL: bad MySQL URL", 0), 0u) << e.what();
  }
}

TEST_F(SettingsTest, MysqlConfigErrorsNamePathAndKey) {
  std::string path = Config("bad-mysql.toml", "[mysql]\nurl = \"mysql://h\"\n");
  EXPECT_EQ(LoadError(path).rfind(path + ": mysql.url: bad MySQL URL", 0), 0u) << LoadError(path);

  path = Config("mysql-type.toml", "[mysql]\nurl = 3306\n");
  EXPECT_EQ(LoadError(path), path + ": mysql.url: expected a string, got an integer");

  path = Config("mysql-unknown.toml", "[mysql]\nhost = \"db\"\n");
  EXPECT_EQ(LoadError(path), path + ": mysql.host: unknown key (known: url)");

  path = Config("mysql-not-table.toml", "mysql = \"mysql://u@h/db\"\n");
  EXPECT_EQ(LoadError(path), path + ": mysql: expected a table, got a string");

  path = Config("mysql-ok.toml",
                "[redis]\nprefix = \"p:\"\n[mysql]\nurl = \"mysql://u:p@/db?socket=/s.sock\"\n");
  EXPECT_EQ(LoadError(path), "");
  EXPECT_EQ(ConfigFile::Load(path).mysql_url()->socket_path, "/s.sock");
  EXPECT_EQ(ConfigFile::Load(path).prefix(), "p:");
}

}  // namespace
}  // namespace warden
