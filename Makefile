# ferry -- top-level build. See README.md.
#   make              user/ferry + kmod/ferry.ko for the running kernel (or KDIR=)
#   make modules-all  ferry.ko for every installed Debian kernel's headers
#   make deps         install every Debian package the project needs
#   make check        unit tests, module builds, DKMS build, VM scenarios
#   make bench        benchmarks in QEMU guests (ratios against baselines)
#   make soak         hours of back-to-back ferry.ko requests and migrations in QEMU guests
#   make check-containers  container scenarios in QEMU guests (Podman is slow under TCG)
#   make demo         install deps, build, run the main job in a QEMU guest

VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
KVER    ?= $(shell uname -r)
KDIR    ?= /lib/modules/$(KVER)/build
BUILD   := build

CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter -Werror \
           -D_GNU_SOURCE -DFERRY_VERSION='"$(VERSION)"' -Iinclude/uapi $(USER_INC)
LDLIBS  += -lmnl -lzstd -lelf -lgnutls -lpthread -lm

# user/ by subsystem: cmd (one file per command), migrate (the source's
# engine, pre-flight, restore guard), recv (the destination), criu (CRIU's
# images, worker and lazy pages), dirty (dirty tracking backends), tcp,
# wire (framing, messages, TLS), lib (netlink, JSON, helpers). Headers are
# included by name: every subsystem directory is on the include path.
USER_DIRS := $(sort $(dir $(wildcard user/*/*.c user/*/*.h)))
USER_INC  := $(patsubst %/,-I%,$(USER_DIRS))
USER_SRCS := $(filter-out user/cmd/main.c,$(wildcard user/*/*.c))
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
USER_HDRS := $(wildcard user/*/*.h) include/uapi/linux/ferry.h
PROG_SRCS := $(wildcard tests/progs/*.c)
PROGS     := $(patsubst tests/progs/%.c,$(BUILD)/progs/%,$(PROG_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNITS     := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))

.PHONY: all user module modules-all progs unit deps check bench soak demo clean dkms-check vm-check install \
	fuzz fuzz-check check-containers

all: user module

user: user/ferry progs $(BUILD)/test-pki/.done

# Certificates for the VM tests, the demo and the benchmarks: one CA, host a
# (10.99.0.1) and host b (10.99.0.2) as the two-host test bed names them.
# Test credentials only: made fresh by every clean build, never installed.
$(BUILD)/test-pki/.done: user/ferry
	@rm -rf $(BUILD)/test-pki
	@user/ferry pki init --ca-dir $(BUILD)/test-pki/ca >/dev/null
	@user/ferry pki issue a --dns ferry-a --ip 10.99.0.1 --ip 127.0.0.1 \
		--ca-dir $(BUILD)/test-pki/ca --out $(BUILD)/test-pki/a >/dev/null
	@user/ferry pki issue b --dns ferry-b --ip 10.99.0.2 --ip 127.0.0.1 \
		--ca-dir $(BUILD)/test-pki/ca --out $(BUILD)/test-pki/b >/dev/null
	@touch $@

user/ferry: $(BUILD)/user/cmd/main.o $(BUILD)/libferry.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libferry.a: $(USER_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/user/%.o: user/%.c $(USER_HDRS) dkms.conf
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

progs: $(PROGS)

$(BUILD)/progs/%: tests/progs/%.c $(wildcard tests/progs/*.h) $(BUILD)/libferry.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/progs -o $@ $< $(BUILD)/libferry.a $(LDLIBS)

# The module for one kernel (the running one, or KDIR=).
module:
	@if [ -d "$(KDIR)" ]; then \
		$(MAKE) -C "$(KDIR)" M="$(CURDIR)" modules; \
	else \
		echo "NOTE: no kernel headers at $(KDIR) (running kernel $(KVER));"; \
		echo "      ferry.ko not built for it. Use 'make modules-all' or KDIR=/path."; \
	fi

# The module for every installed Debian kernel, each in its own tree
# (build/kmod/KVER/kmod/ferry.ko), failing on any compiler warning.
modules-all:
	@scripts/modules-all.sh $(BUILD)/kmod

unit: $(UNITS)
	@scripts/run-unit.sh $(UNITS)

$(BUILD)/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libferry.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libferry.a $(LDLIBS) -lcmocka

# libFuzzer harnesses (clang, ASan + UBSan) for the parsers that read what
# a peer or CRIU wrote: tests/fuzz/fuzz_*.c. `make fuzz` builds them,
# `make fuzz-check` runs each for FUZZ_SECONDS (default 60) from its seed
# corpus (tests/fuzz/corpus/NAME) and fails on any crash, leak or UB.
FUZZ_CC      ?= clang
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=undefined -std=gnu11 -D_GNU_SOURCE \
		-DFERRY_VERSION='"$(VERSION)"' -Iinclude/uapi $(USER_INC)
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS      := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS    := $(patsubst user/%.c,$(BUILD)/fuzz/obj/%.o,$(USER_SRCS))
FUZZ_SECONDS ?= 60

fuzz: $(FUZZERS)

$(BUILD)/fuzz/obj/%.o: user/%.c $(USER_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

fuzz-check: fuzz
	@scripts/fuzz-check.sh $(FUZZ_SECONDS) $(FUZZERS)

deps:
	@scripts/deps.sh

dkms-check:
	@scripts/dkms-check.sh

vm-check: user modules-all
	@tests/vm/run --all-kernels tests/vm/scenarios/*.sh

# Not in make check: one Podman checkpoint or restore takes about a minute
# under TCG.
check-containers: user modules-all
	@tests/vm/run --all-kernels --timeout 1800 tests/vm/ctr/*.sh

check: user
	@scripts/check.sh

bench: user modules-all
	@scripts/bench.sh

soak: user modules-all
	@scripts/soak.sh

demo: deps
	@$(MAKE) --no-print-directory user modules-all
	@scripts/demo.sh

install: user/ferry
	install -D -m 0755 user/ferry $(DESTDIR)/usr/local/sbin/ferry

clean:
	rm -rf $(BUILD) user/ferry
	rm -f kmod/*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd kmod/modules.order \
	      kmod/Module.symvers .*.cmd modules.order Module.symvers
