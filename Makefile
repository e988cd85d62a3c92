# mxkit: one non-recursive Makefile.
#   make [all]          build bin/* (or san/bin/* with SANITIZE=1)
#   make check          install test dependencies if missing, build, run prove -r t/
#   make check SANITIZE=1   the same with AddressSanitizer + UBSan
#   make demo           verify the shipped sample mbox offline
#   make bench          speed against peers (not a test)
#   make fuzz           libFuzzer targets (clang), a short run over t/fuzz/ corpora
#   make install        PREFIX=/usr/local DESTDIR=

VERSION  = 0.1.0
PREFIX  ?= /usr/local
BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man
PKGS     = openssl ldns libidn2

CC      ?= cc
CSTD     = -std=c17 -D_GNU_SOURCE
WARN     = -Wall -Wextra -Werror
OPT     ?= -O2 -g
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SANITIZE),1)
O        = san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
O        = .
SANFLAGS =
endif
OBJ      = $(O)/obj
BIN      = $(O)/bin

CFLAGS_ALL  = $(CSTD) $(WARN) $(OPT) $(SANFLAGS) -Ilib $(PKG_CFLAGS) -DMXKIT_VERSION='"$(VERSION)"' $(CFLAGS)
LDFLAGS_ALL = $(SANFLAGS) $(LDFLAGS)
# libspf2 and libopendmarc ship no pkg-config file.  --as-needed keeps
# them out of the programs that do not use them (start-up time).
ENGINES     = -lspf2 -lopendmarc
LIBS_ALL    = -Wl,--as-needed $(PKG_LIBS) $(ENGINES) -lpthread
# STATIC_DEPS=1 links OpenSSL and ldns statically: about 0.6 ms less per
# process (procmail runs one per message), at the price of a 4 MB binary
# that needs a rebuild for every OpenSSL security update.
ifeq ($(STATIC_DEPS),1)
LIBS_ALL    = -Wl,--as-needed -Wl,-Bstatic -lldns -lssl -lcrypto -Wl,-Bdynamic -lidn2 $(ENGINES) -ldl -lpthread
endif

LIB_SRC  = $(wildcard lib/*.c)
LIB_OBJ  = $(LIB_SRC:lib/%.c=$(OBJ)/lib/%.o)
CMD_SRC  = $(wildcard cmd/*.c)
PROGS    = $(CMD_SRC:cmd/%.c=$(BIN)/%)
UNIT_SRC = $(wildcard t/unit/*.c)
UNITS    = $(UNIT_SRC:t/unit/%.c=$(BIN)/unit/%)
FUZZ_SRC = $(wildcard t/fuzz/*.c)
LIBA     = $(OBJ)/libmxkit.a

.PHONY: all check demo bench fuzz install clean deps deps-check deps-demo deps-bench
.SECONDARY:

all: $(PROGS)

$(OBJ)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(OBJ)/cmd/%.o: cmd/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/%: $(OBJ)/cmd/%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIBA) $(LIBS_ALL)

$(BIN)/unit/%: t/unit/%.c $(LIBA) $(wildcard lib/*.h) $(wildcard t/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIBA) $(LIBS_ALL) -lcmocka

deps-check deps:
	@sh contrib/deps.sh check
deps-demo:
	@sh contrib/deps.sh demo
deps-bench:
	@sh contrib/deps.sh bench

check: deps-check
	$(MAKE) -j$$(nproc) all units
	MXKIT_BIN=$(abspath $(BIN)) PATH="$(abspath $(BIN)):$$PATH" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	prove -r $(PROVEFLAGS) t/

units: $(UNITS)

demo: deps-demo
	$(MAKE) all
	@sh contrib/demo.sh $(abspath $(BIN))

bench: deps-bench
	$(MAKE) all OPT='-O2 -g'
	MXKIT_BIN=$(abspath $(BIN)) sh contrib/bench/run.sh

FUZZ_CC     = clang
FUZZ_FLAGS  = $(CSTD) -g -O1 -fsanitize=fuzzer-no-link,address,undefined -Ilib $(PKG_CFLAGS)
FUZZ_TIME  ?= 20
FUZZ_OBJ    = $(LIB_SRC:lib/%.c=fuzz-build/obj/%.o)
FUZZERS     = $(FUZZ_SRC:t/fuzz/%.c=fuzz-build/%)

fuzz-build/obj/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -c -o $@ $<

fuzz-build/%: t/fuzz/%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(PKG_LIBS) $(ENGINES) -lpthread

# Each target runs FUZZ_TIME seconds over its seed corpus t/fuzz/NAME/
# (new inputs go to fuzz-build/corpus-NAME, never into t/).
fuzz: deps-check
	$(MAKE) -j$$(nproc) $(FUZZERS)
	@set -e; for f in $(FUZZERS); do \
	  n=$$(basename $$f); c=t/fuzz/$${n#fuzz_}; \
	  mkdir -p fuzz-build/corpus-$$n; \
	  echo "fuzz: running $$n for $(FUZZ_TIME)s over $$c"; \
	  $$f -max_total_time=$(FUZZ_TIME) -max_len=65536 \
	    fuzz-build/corpus-$$n $$c >fuzz-build/$$n.log 2>&1 || \
	    { tail -n 60 fuzz-build/$$n.log; echo "fuzz: $$n FAILED"; exit 1; }; \
	  grep '^Done' fuzz-build/$$n.log; \
	done

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)/
	for m in man/*.1; do [ -e "$$m" ] && install -m 644 $$m $(DESTDIR)$(MANDIR)/man1/; done; true
	for m in man/*.8; do [ -e "$$m" ] && install -m 644 $$m $(DESTDIR)$(MANDIR)/man8/; done; true

clean:
	rm -rf obj bin san fuzz-build
