# relais - one flat Makefile. `make`, `make test`, `make asan`, `make demo`,
# `make bench`, `make fuzz`, `make install`. Library flags come from
# pkg-config; nng has no .pc file on Debian bookworm, so it is linked by name.

CC       ?= gcc
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
VERSION  := 0.1.0
PKGS     := lmdb msgpack libsodium jansson inih cmocka
DEBS     := libnng-dev liblmdb-dev libmsgpack-dev libsodium-dev libjansson-dev \
            libinih-dev libcmocka-dev lmdb-utils pkg-config jq faketime python3
CFLAGS   ?= -O2 -g
XFLAGS   := -std=c11 -Wall -Wextra -Wshadow -Wno-missing-field-initializers \
            -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -DRL_VERSION='"$(VERSION)"' \
            -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs lmdb msgpack libsodium jansson inih 2>/dev/null) \
            -lnng -pthread
TESTLIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

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

.PHONY: all deps test unit integration asan clean demo bench install fuzz fuzz-build soak
all: deps $(BINS) $(UNIT) $(HELPERS)

# Installs missing Debian packages when root, else prints the line to run.
deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing >/dev/null || \
	    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing >/dev/null; } || exit 1; \
	  else echo "missing packages; run: sudo apt-get install -y --no-install-recommends$$missing"; exit 1; fi; \
	fi

$(BUILD)/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XFLAGS) -c -o $@ $<

$(LIB): $(COMMON) $(PROTO) $(CLIENT) $(SERVER)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/relais: $(BUILD)/client/main.o $(LIB)
	$(CC) $(CFLAGS) $(XFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/relais-server: $(BUILD)/server/main.o $(LIB)
	$(CC) $(CFLAGS) $(XFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(LIB) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XFLAGS) -Itests -o $@ $< $(LIB) $(LDLIBS) $(TESTLIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_util.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(LDLIBS)

unit: all
	@fail=0; for t in $(UNIT); do echo "== $$t"; $$t || fail=1; done; exit $$fail

integration: all
	@fail=0; for t in $(INTEG); do echo "== $$t"; BUILD=$(BUILD) bash $$t || { echo "FAILED: $$t"; fail=1; }; done; exit $$fail

test: all
	@BUILD=$(BUILD) bash tests/run.sh $(UNIT) -- $(INTEG)

# libfaketime (LD_PRELOAD, tests/integration/test_sync_*.sh) would come before
# the ASan runtime, which ASan refuses unless told.
asan:
	ASAN_OPTIONS="$${ASAN_OPTIONS:+$$ASAN_OPTIONS:}verify_asan_link_order=0" \
	$(MAKE) BUILD=build-asan RL_SANITIZED=1 \
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
# crash loop and the load run, longer (make test runs them short).
SOAK_SECONDS ?= 600
CRASH_KILLS  ?= 2000
LOAD_SECONDS ?= 300
soak: all
	@BUILD=$(BUILD) SOAK_SECONDS=$(SOAK_SECONDS) CRASH_KILLS=$(CRASH_KILLS) \
	  CRASH_MAX_SECONDS=$$(( $(CRASH_KILLS) + 600 )) LOAD_SECONDS=$(LOAD_SECONDS) bash tests/run.sh -- \
	  tests/integration/test_fault_soak.sh tests/integration/test_fault_crash.sh \
	  tests/integration/test_fault_load.sh

clean:
	rm -rf build build-asan build-fuzz

# Programs; example configurations, deploy scripts and docs in share/relais;
# systemd units (with this PREFIX's paths) in lib/systemd/system.
SHAREDIR ?= $(PREFIX)/share/relais
UNITDIR  ?= $(PREFIX)/lib/systemd/system
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(UNITDIR)
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 deploy/*.example deploy/lib.sh README.md proto/PROTOCOL.md $(DESTDIR)$(SHAREDIR)/
	install -m 755 $(filter-out deploy/lib.sh,$(wildcard deploy/*.sh)) $(DESTDIR)$(SHAREDIR)/
	for u in deploy/*.service deploy/*.timer; do \
	  sed -e 's|/usr/local/bin|$(PREFIX)/bin|g' -e 's|/usr/local/share/relais|$(SHAREDIR)|g' $$u \
	    >$(DESTDIR)$(UNITDIR)/$${u##*/} && chmod 644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; done

# The quick start: what is missing installed (as root), built, then the
# local network at work (deploy/demo.sh); DEMO_SHORT=1 for a short run.
demo: all
	RELAIS_BIN_DIR=$(BUILD) DEMO_SHORT=$(DEMO_SHORT) bash deploy/demo.sh

$(BUILD)/bench/relais-bench: bench/relais_bench.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lm

bench: all $(BUILD)/bench/relais-bench
	BUILD=$(BUILD) QUICK=$(QUICK) bash bench/run.sh
