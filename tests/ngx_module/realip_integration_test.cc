// realip before Warden decides, wherever the operator writes it: set_real_ip_from and
// real_ip_header inside a location (applied by realip's preaccess handler) or in the server
// (applied when the request is read). A forwarded address from a peer that is not trusted is
// never believed. nginx-tests style, after realip.t: a config per case, real requests.
#include <gtest/gtest.h>

#include <string>

#include "support/nginx_server.h"

namespace warden::test {
namespace {

// A limit of one request per address (1r/m, no burst): a second request from the same
// address is refused, one from another address is not. Which address Warden saw shows.
NginxServer::Options Config(const std::string& server_level, const std::string& location_level) {
  NginxServer::Options o;
  o.http =
      "warden_limit_zone $binary_remote_addr zone=z:1m rate=1r/m sync=off;\n"
      "log_format seen '$remote_addr $status $warden_decision';\n"
      "access_log @DIR@/seen.log seen;\n"
      "server {\n  listen 127.0.0.1:@PORT@;\n  root @DIR@/html;\n" +
      server_level + "  location / {\n    warden_limit zone=z nodelay;\n" + location_level +
      "  }\n}\n";
  return o;
}

int Status(const NginxServer& nginx, const std::string& forwarded_for) {
  return nginx.Get("/", {{"X-Forwarded-For", forwarded_for}}).status;
}

TEST(RealIpIntegrationTest, RealIpInALocationAppliesBeforeWardenDecides) {
  NginxServer nginx(
      Config("", "    set_real_ip_from 127.0.0.1;\n    real_ip_header X-Forwarded-For;\n"));
  EXPECT_EQ(Status(nginx, "192.0.2.1"), 200);
  EXPECT_EQ(Status(nginx, "192.0.2.1"), 429);                                 // the same client
  EXPECT_EQ(Status(nginx, "192.0.2.2"), 200) << nginx.AccessLog("seen.log");  // another one
}

TEST(RealIpIntegrationTest, RealIpInTheServerAppliesBeforeWardenDecides) {
  NginxServer nginx(
      Config("  set_real_ip_from 127.0.0.1;\n  real_ip_header X-Forwarded-For;\n", ""));
  EXPECT_EQ(Status(nginx, "192.0.2.1"), 200);
  EXPECT_EQ(Status(nginx, "192.0.2.1"), 429);
  EXPECT_EQ(Status(nginx, "192.0.2.2"), 200) << nginx.AccessLog("seen.log");
}

TEST(RealIpIntegrationTest, AForwardedAddressFromAnUntrustedPeerIsNotBelieved) {
  // The peer (127.0.0.1) is not in set_real_ip_from: every request is 127.0.0.1's.
  NginxServer nginx(
      Config("", "    set_real_ip_from 10.0.0.0/8;\n    real_ip_header X-Forwarded-For;\n"));
  EXPECT_EQ(Status(nginx, "192.0.2.1"), 200);
  EXPECT_EQ(Status(nginx, "192.0.2.2"), 429) << nginx.AccessLog("seen.log");
}

}  // namespace
}  // namespace warden::test
