# relais - one flat Makefile. `make`, `make test`, `make asan`, `make demo`,
# `make bench`, `make fuzz`, `make install`. Library flags come from
# pkg-config; nng and libunistring have no .pc file on Debian bookworm, so
# they are linked by name.
#
# The targets that may install Debian packages (all, test, demo, bench,
# asan, soak, unit, integration) run `deps` first and then make again: a
# pkg-config call made while this file is read, before the packages are
# there, would leave the flags empty. Debian's CPPFLAGS, CFLAGS and LDFLAGS
# (dpkg-buildflags) reach every compile and link. `make install` builds the
# two programs only: it needs the build libraries, not apt nor the test tools.

CC       ?= gcc
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
TEST_SCALE ?= 1
VERSION  := 0.1.0
PKGS     := lmdb msgpack libsodium jansson inih
DEBS     := libnng-dev liblmdb-dev libmsgpack-dev libsodium-dev libjansson-dev \
            libinih-dev libunistring-dev pkg-config
DEMODEBS := jq
TESTDEBS := libcmocka-dev lmdb-utils jq faketime python3 gdb dpkg-dev
CFLAGS   ?= -O2 -g
PKGCFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
XFLAGS   := -std=c11 -Wall -Wextra -Wshadow -Wno-missing-field-initializers \
            -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -DRL_VERSION='"$(VERSION)"' \
            -I. $(PKGCFLAGS)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lnng -lunistring -pthread
TESTLIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
COMPILE  = $(CC) $(CPPFLAGS) $(CFLAGS) $(XFLAGS)
LINK     = $(CC) $(CFLAGS) $(XFLAGS) $(LDFLAGS)

COMMON   := $(patsubst %.c,$(BUILD)/%.o,$(wildcard common/*.c))
PROTO    := $(patsubst %.c,$(BUILD)/%.o,$(wildcard proto/*.c))
CLIENT   := $(patsubst %.c,$(BUILD)/%.o,$(filter-out client/main.c,$(wildcard client/*.c)))
SERVER   := $(patsubst %.c,$(BUILD)/%.o,$(filter-out server/main.c,$(wildcard server/*.c)))
LIB      := $(BUILD)/librelais.a
BINS     := $(BUILD)/relais $(BUILD)/relais-server
UNIT     := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/common/test_*.c tests/proto/test_*.c tests/client/test_*.c tests/server/test_*.c))
HELPERS  := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/tools/*.c))
INTEG    := $(sort $(wildcard tests/integration/test_*.sh))
# libFuzzer targets: same sources, built with clang into build-fuzz.
FUZZCC   ?= $(shell command -v clang-14 || command -v clang)
FUZZFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZERS  := $(patsubst tests/fuzz/%.c,build-fuzz/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60

.DEFAULT_GOAL := all
.PHONY: all deps deps-test check-libs build bins test unit integration asan clean demo bench install \
        fuzz fuzz-build soak
ENTRY    := all test unit integration asan demo bench soak

# deps: what building the programs needs; deps-test: that and the tests'
# tools. Each installs what is missing when root, else prints the line.
deps:
	@bash deploy/install-deps.sh $(DEBS) $(DEMODEBS)
deps-test:
	@bash deploy/install-deps.sh $(DEBS) $(DEMODEBS) $(TESTDEBS)

ifndef RL_DEPS_CHECKED
# First pass: the packages, then the same target in a make that reads
# pkg-config afresh (the variables below are empty before the packages).
$(ENTRY):
	@$(MAKE) --no-print-directory $(if $(filter demo,$@),deps,deps-test)
	@$(MAKE) --no-print-directory RL_DEPS_CHECKED=1 $@
else
all: build
endif

bins: $(BINS)
build: $(BINS) $(UNIT) $(HELPERS)

# A clear line instead of a wall of compiler errors when a library is missing.
check-libs:
	@pkg-config --exists $(PKGS) && [ -e /usr/include/nng/nng.h ] && [ -e /usr/include/unistr.h ] || \
	  { echo "bibliothèques manquantes : make deps (en root) ou apt-get install $(DEBS)" >&2; exit 1; }

$(BUILD)/%.o: %.c $(wildcard */*.h) | check-libs
	@mkdir -p $(dir $@)
	$(COMPILE) -c -o $@ $<

$(LIB): $(COMMON) $(PROTO) $(CLIENT) $(SERVER)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/relais: $(BUILD)/client/main.o $(LIB)
	$(LINK) -o $@ $^ $(LDLIBS)

$(BUILD)/relais-server: $(BUILD)/server/main.o $(LIB)
	$(LINK) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(LIB) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(LINK) -Itests -o $@ $< $(LIB) $(LDLIBS) $(TESTLIBS)

$(BUILD)/bench/relais-bench: bench/relais_bench.c $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) -o $@ $< $(LIB) $(LDLIBS) -lm

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_util.h $(LIB)
	@mkdir -p $(dir $@)
	$(LINK) -fsanitize=fuzzer -o $@ $< $(LIB) $(LDLIBS)

ifdef RL_DEPS_CHECKED
unit: build
	@BUILD=$(BUILD) TEST_SCALE=$(TEST_SCALE) bash tests/run.sh $(UNIT) --

integration: build
	@BUILD=$(BUILD) TEST_SCALE=$(TEST_SCALE) bash tests/run.sh -- $(INTEG)

test: build
	@BUILD=$(BUILD) TEST_SCALE=$(TEST_SCALE) bash tests/run.sh $(UNIT) -- $(INTEG)

# libfaketime (LD_PRELOAD, tests/integration/test_sync_*.sh) would come before
# the ASan runtime, which ASan refuses unless told.
asan:
	ASAN_OPTIONS="$${ASAN_OPTIONS:+$$ASAN_OPTIONS:}verify_asan_link_order=0" \
	$(MAKE) BUILD=build-asan RL_SANITIZED=1 TEST_SCALE=3 \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

# Fuzz targets and the seed generator (build-fuzz/tests/fuzz/mkseeds DIR
# rewrites the corpus); `make fuzz` runs each target FUZZ_SECONDS over
# tests/fuzz/corpus, new inputs going to build-fuzz/corpus.
fuzz-build:
	@[ -n "$(FUZZCC)" ] || { echo "fuzz: clang not found (apt-get install clang-14 libclang-rt-14-dev)"; exit 1; }
	$(MAKE) BUILD=build-fuzz CC=$(FUZZCC) CFLAGS="$(FUZZFLAGS) -fsanitize=fuzzer-no-link" \
	  $(FUZZERS) build-fuzz/tests/fuzz/mkseeds

fuzz: fuzz-build
	@for f in $(FUZZERS); do t=$${f##*/}; mkdir -p build-fuzz/corpus/$$t; echo "== $$t"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build-fuzz/corpus/$$t \
	    tests/fuzz/corpus/$$t || exit 1; done

# The fault tests' long modes: the soak through the faulty proxy, the
# crash loop, the load run and the close stress (ten times the sessions),
# longer (make test runs them short).
SOAK_SECONDS ?= 600
CRASH_KILLS  ?= 2000
LOAD_SECONDS ?= 300
soak: build
	@BUILD=$(BUILD) TEST_SCALE=12 SOAK_SECONDS=$(SOAK_SECONDS) CRASH_KILLS=$(CRASH_KILLS) \
	  CRASH_MAX_SECONDS=$$(( $(CRASH_KILLS) + 600 )) LOAD_SECONDS=$(LOAD_SECONDS) \
	  NET_STRESS_SCALE=10 bash tests/run.sh -- \
	  tests/integration/test_fault_soak.sh tests/integration/test_fault_crash.sh \
	  tests/integration/test_fault_load.sh tests/integration/test_net_stress.sh

endif

clean:
	rm -rf build build-asan build-fuzz

# Programs; example configurations, deploy scripts and docs in share/relais;
# systemd units (with this PREFIX's paths) in lib/systemd/system.
SHAREDIR ?= $(PREFIX)/share/relais
UNITDIR  ?= $(PREFIX)/lib/systemd/system
install: bins
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(UNITDIR)
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 deploy/*.example deploy/lib.sh README.md proto/PROTOCOL.md $(DESTDIR)$(SHAREDIR)/
	install -m 755 $(filter-out deploy/lib.sh deploy/install-deps.sh,$(wildcard deploy/*.sh)) $(DESTDIR)$(SHAREDIR)/
	for u in deploy/*.service deploy/*.timer; do \
	  sed -e 's|/usr/local/bin|$(PREFIX)/bin|g' -e 's|/usr/local/share/relais|$(SHAREDIR)|g' $$u \
	    >$(DESTDIR)$(UNITDIR)/$${u##*/} && chmod 644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; done

# The quick start: what is missing installed (as root), built, then the
# local network at work (deploy/demo.sh); DEMO_SHORT=1 for a short run.
ifdef RL_DEPS_CHECKED
demo: bins
	RELAIS_BIN_DIR=$(BUILD) DEMO_SHORT=$(DEMO_SHORT) bash deploy/demo.sh

bench: build $(BUILD)/bench/relais-bench
	BUILD=$(BUILD) QUICK=$(QUICK) bash bench/run.sh
endif
