// warden_challenge's proof of work at its default difficulty, solved by a real headless
// Chromium (Debian's): how long from opening the page to the content, against the same
// Chromium opening the same content without a challenge, in alternating runs. The difference
// is what a visitor waits for: the solve, the reload with the proof, and the pass.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "support/chromium.h"
#include "support/nginx_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace warden::test;
using warden::bench::Median;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Visit {
  double seconds = 0;
  bool content = false;  // ended on the page's content, not on the challenge
};

Visit Open(const std::string& url) {
  auto start = Clock::now();
  RunResult r = ChromiumDumpDom(url);
  Visit v;
  v.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  v.content = r.exit_code == 0 && r.out.find("bench content") != std::string::npos &&
              r.out.find("warden-challenge") == std::string::npos;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--runs") runs = std::stoi(argv[i + 1]);
  }
  if (access(kChromium, X_OK) != 0) {
    std::fprintf(stderr, "challenge bench: chromium is missing: run make deps\n");
    return 1;
  }
  TempDir keys("warden-bench-keys");
  std::string key_file = keys.Write("challenge.keys", "bench-challenge-key-0123456789abcdefghij\n");
  NginxServer::Options o;
  o.http = "warden_challenge_key " + key_file +
           ";\n"
           "server {\n  listen 127.0.0.1:@PORT@;\n"
           "  location /plain/ { root @DIR@/html; try_files /content.html =404; }\n"
           "  location /guarded/ {\n    warden_challenge on;\n"
           "    root @DIR@/html;\n    try_files /content.html =404;\n  }\n}\n";
  NginxServer nginx(o);
  {
    FILE* f = std::fopen((nginx.dir() + "/html/content.html").c_str(), "w");
    if (!f) return 1;
    std::fputs("<!DOCTYPE html><html><body><p>bench content</p></body></html>\n", f);
    std::fclose(f);
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(nginx.port());
  std::printf("== challenge: headless Chromium, default difficulty, %d alternating runs ==\n",
              runs);
  std::printf("load average before: %.2f\n", warden::bench::LoadAverage());
  std::vector<double> plain, guarded;
  for (int r = 0; r < runs; ++r) {
    Visit a, b;
    if (r % 2 == 0) {
      a = Open(base + "/plain/");
      b = Open(base + "/guarded/");
    } else {
      b = Open(base + "/guarded/");
      a = Open(base + "/plain/");
    }
    if (!a.content || !b.content) {
      std::fprintf(stderr, "run %d: chromium did not reach the content (%s)\n%s\n", r + 1,
                   a.content ? "through the challenge" : "without a challenge",
                   nginx.ErrorLog().c_str());
      return 1;
    }
    plain.push_back(a.seconds);
    guarded.push_back(b.seconds);
    std::printf("run %d: without %.2f s, through the challenge %.2f s\n", r + 1, a.seconds,
                b.seconds);
  }
  std::printf("median: without %.2f s, through the challenge %.2f s; the challenge adds %.2f s\n",
              Median(plain), Median(guarded), Median(guarded) - Median(plain));
  return 0;
}
