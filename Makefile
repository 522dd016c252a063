# Makefile - llmsyn-fhir. `make` builds build/llmsyn-fhir and build/libllmsyn.a.
# Knobs: DEVELOPER=1 (strict warnings, -Werror), SANITIZER=address,undefined, PREFIX, DESTDIR, SAN_BUILD.

PREFIX ?= /usr/local
DATADIR ?= $(PREFIX)/share/llmsyn-fhir
BUILD ?= build
CC ?= cc
PKGS := libcurl libcjson libxml-2.0 uuid openssl zlib

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Iinclude -Isrc $(PKG_CFLAGS) \
	-Wall -Wextra -pthread -MMD -MP -DLLMSYN_DATADIR='"$(DATADIR)"'
LDLIBS += $(PKG_LIBS) -lm -pthread

ifeq ($(DEVELOPER),1)
CFLAGS += -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wcast-qual \
	-Wwrite-strings -Wformat=2 -Wundef -Wvla -Wno-unused-parameter
endif
ifneq ($(SANITIZER),)
CFLAGS += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZER)
endif

LIB_SRC := $(sort $(wildcard src/*/*.c))
LIB_SRC := $(filter-out src/cli/%,$(LIB_SRC))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libllmsyn.a
BIN := $(BUILD)/llmsyn-fhir

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all run test test-san unit-bins unit-test integration-test check-src deps install uninstall clean bench fuzz

all: $(BIN) $(LIB)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

# The README's first command: set up, build, and write 100 records with the builtin backend.
run: $(BIN)
	$(BIN) --out out/bundles --force

deps:
	./tools/install-deps.sh

# The README's second command: everything, from a clean build: the suite on this build, then the suite again
# on a sanitized build (test-san). Both passes run even when the first fails; either failing fails make test.
test: all $(UNIT_BIN) check-src
	@status=0; ./tests/run-tests.sh $(BUILD) || status=1; \
	$(MAKE) --no-print-directory test-san || status=1; exit $$status

# The suite under AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer, built in SAN_BUILD with
# clang when installed (its UBSan writes reports to per-test log files; gcc 12's does not). docs/testing.md.
SAN_BUILD ?= build-san
SAN_CC ?= $(shell command -v clang >/dev/null 2>&1 && echo clang || echo $(CC))
test-san:
	@[ "$(SAN_BUILD)" != "$(BUILD)" ] || { echo "make test-san: SAN_BUILD must not be BUILD" >&2; exit 2; }
	@[ "$$(cat $(SAN_BUILD)/.cc 2>/dev/null)" = "$(SAN_CC)" ] || \
		{ rm -rf $(SAN_BUILD); mkdir -p $(SAN_BUILD); echo "$(SAN_CC)" >$(SAN_BUILD)/.cc; }
	$(MAKE) --no-print-directory $(if $(findstring jobserver,$(MAKEFLAGS)),,-j2) BUILD=$(SAN_BUILD) \
		CC=$(SAN_CC) SANITIZER=address,undefined all unit-bins
	./tests/run-tests.sh $(SAN_BUILD) --sanitized

unit-bins: $(UNIT_BIN)

# Every libFuzzer target in tests/fuzz/ for FUZZ_SECONDS each (clang; docs/fuzzing.md).
FUZZ_SECONDS ?= 60
fuzz:
	./tests/fuzz/run.sh $(FUZZ_SECONDS) $(BUILD)

bench: all
	./bench/run.sh $(BUILD)

check-src:
	./tools/check-src.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/llmsyn
	install -d $(DESTDIR)$(DATADIR)/prompts $(DESTDIR)$(DATADIR)/mappings
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/llmsyn-fhir
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libllmsyn.a
	install -m 644 include/llmsyn/*.h $(DESTDIR)$(PREFIX)/include/llmsyn/
	install -m 644 prompts/*.prompt prompts/system.txt $(DESTDIR)$(DATADIR)/prompts/
	install -m 644 mappings/*.json mappings/*.tsv $(DESTDIR)$(DATADIR)/mappings/
	install -d $(DESTDIR)$(DATADIR)/mappings/codes
	install -m 644 mappings/codes/*.tsv $(DESTDIR)$(DATADIR)/mappings/codes/
	install -d $(DESTDIR)$(DATADIR)/tools
	install -m 755 tools/utility.py $(DESTDIR)$(DATADIR)/tools/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/llmsyn-fhir $(DESTDIR)$(PREFIX)/lib/libllmsyn.a
	rm -rf $(DESTDIR)$(PREFIX)/include/llmsyn $(DESTDIR)$(DATADIR)

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
