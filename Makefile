# Warden: `make run` starts the whole stack locally, `make test` runs every test.
# Both install what is missing first (scripts/install-deps.sh).

BUILD      ?= build
JOBS       ?= $(shell nproc)
SANITIZER  ?=
PREFIX     ?= /usr
DESTDIR    ?=
MODULE     := $(BUILD)/ngx_http_warden_module.so

.PHONY: all deps build module module-asan sidecar test test-asan run stop status tour \
        demo-traffic bench profile format lint install install-files uninstall deb clean fuzz

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)
	WARDEN_BUILD_DIR=$(abspath $(BUILD)) scripts/build-module.sh

# The whole suite through ctest (unit, integration with real redis-server, mariadbd and
# nginx, and the module's integration tests once more with the module built with
# AddressSanitizer), then the core's unit tests again under AddressSanitizer.
test: build module-asan
	cd $(BUILD) && ctest --output-on-failure --timeout 300 -j 2
	$(MAKE) test-asan

# The nginx module and its core built with AddressSanitizer (for the test above).
module-asan: deps
	WARDEN_BUILD_DIR=$(abspath $(BUILD)) scripts/build-module-asan.sh

# The core's unit tests and the fuzz targets under AddressSanitizer, built with clang for
# libFuzzer (label "core").
test-asan: deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DSANITIZER=address \
	    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	    -DWARDEN_INTEGRATION=OFF -DWARDEN_FUZZ=ON
	cmake --build $(BUILD)-asan -j $(JOBS) --target core_tests address_fuzz entry_fuzz \
	    cache_value_fuzz redis_reply_fuzz challenge_fuzz schedule_fuzz tzif_fuzz \
	    distinct_paths_fuzz sentinel_event_fuzz
	cd $(BUILD)-asan && ctest -L core --output-on-failure --timeout 300 -j 2

run: build
	@scripts/run-local.sh start

stop:
	@scripts/run-local.sh stop

status:
	@scripts/run-local.sh status

# The tour `make run` prints; `make tour CHECK=1` runs each step and checks its promise.
tour:
	@scripts/run-local.sh tour $(if $(CHECK),--check)

# A short, bounded burst from several loopback addresses to both nodes of `make run`.
demo-traffic:
	@scripts/demo-traffic.sh

bench: build
	@scripts/bench.sh

# Instructions per request of each piece of the request path, by callgrind (docs/performance.md).
profile: build
	@scripts/profile-request-path.sh

# Longer fuzzing runs than the ones in `make test`: FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 300
fuzz: deps
	cmake -S . -B $(BUILD)-asan -DSANITIZER=address -DCMAKE_C_COMPILER=clang \
	    -DCMAKE_CXX_COMPILER=clang++ -DWARDEN_INTEGRATION=OFF -DWARDEN_FUZZ=ON \
	    -DWARDEN_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(BUILD)-asan -j $(JOBS) --target address_fuzz entry_fuzz cache_value_fuzz \
	    redis_reply_fuzz challenge_fuzz schedule_fuzz tzif_fuzz distinct_paths_fuzz \
	    sentinel_event_fuzz
	cd $(BUILD)-asan && ctest -R '^fuzz\.' --output-on-failure --timeout 0 -j 2

format:
	clang-format -i $$(git ls-files '*.cc' '*.h' | grep -v '^ngx_module/ngx_')

lint: build
	clang-tidy -p $(BUILD) --quiet $$(git ls-files 'ngx_module/common/*.cc' 'ngx_module/core/*.cc' 'sidecar/*.cc')

# What a source install puts where: the files of `install-files`, then the link that enables
# the module (the Debian package's postinst makes it instead).
install: build
	$(MAKE) install-files
	mkdir -p $(DESTDIR)/etc/nginx/modules-enabled
	ln -sf /usr/share/nginx/modules-available/mod-http-warden.conf \
	    $(DESTDIR)/etc/nginx/modules-enabled/50-mod-http-warden.conf

# The installed files, one list: `make install` and the Debian packages (debian/rules runs
# `make install-files DESTDIR=debian/tmp BUILD=<its build>`; debian/*.install split the files
# into the two packages, and the package build fails on one that no package takes). Builds
# nothing. Settings already in /etc/warden/warden.toml are kept.
install-files:
	install -D -m 0644 $(MODULE) $(DESTDIR)/usr/lib/nginx/modules/ngx_http_warden_module.so
	install -D -m 0644 conf/mod-http-warden.conf \
	    $(DESTDIR)/usr/share/nginx/modules-available/mod-http-warden.conf
	install -D -m 0644 conf/warden-log-format.conf \
	    $(DESTDIR)/etc/nginx/snippets/warden-log-format.conf
	install -D -m 0644 .deps/country.mmdb $(DESTDIR)/usr/share/warden/country.mmdb
	install -D -m 0755 $(BUILD)/sidecar/warden $(DESTDIR)$(PREFIX)/bin/warden
	install -D -m 0644 $(BUILD)/sidecar/warden.1 $(DESTDIR)$(PREFIX)/share/man/man1/warden.1
	install -D -m 0644 $(BUILD)/sidecar/warden.bash-completion \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/warden
	install -D -m 0644 conf/warden.service $(DESTDIR)/lib/systemd/system/warden.service
	install -D -m 0644 conf/warden.toml $(DESTDIR)$(PREFIX)/share/doc/warden/examples/warden.toml
	test -e $(DESTDIR)/etc/warden/warden.toml || \
	    install -D -m 0640 conf/warden.toml $(DESTDIR)/etc/warden/warden.toml

# Removes what `make install` installed, except the settings in /etc/warden/ and the country
# database. (/etc/nginx/conf.d/warden-log-format.conf is where installs before 0.2.0 put the
# log format.)
uninstall:
	rm -f $(DESTDIR)/usr/lib/nginx/modules/ngx_http_warden_module.so \
	    $(DESTDIR)/usr/share/nginx/modules-available/mod-http-warden.conf \
	    $(DESTDIR)/etc/nginx/modules-enabled/50-mod-http-warden.conf \
	    $(DESTDIR)/etc/nginx/snippets/warden-log-format.conf \
	    $(DESTDIR)/etc/nginx/conf.d/warden-log-format.conf \
	    $(DESTDIR)$(PREFIX)/bin/warden $(DESTDIR)$(PREFIX)/share/man/man1/warden.1 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/warden \
	    $(DESTDIR)$(PREFIX)/share/doc/warden/examples/warden.toml \
	    $(DESTDIR)/lib/systemd/system/warden.service

# The Debian packages libnginx-mod-http-warden and warden (debian/), built by dpkg-buildpackage
# from a copy of the tree and checked by lintian: $(BUILD)/deb/*.deb. Install them with
# `apt install ./$(BUILD)/deb/*.deb`.
deb: deps
	WARDEN_BUILD_DIR=$(abspath $(BUILD)) JOBS=$(JOBS) scripts/build-deb.sh

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz
