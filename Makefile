# ganc: build, test, demo, bench, install.  See README.md.
CC      ?= cc
LLVM_CONFIG ?= $(shell command -v llvm-config || ls /usr/bin/llvm-config-* 2>/dev/null | sort -V | tail -n1)
PREFIX  ?= /usr/local
B       := build
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter
OPT     ?= -O2 -g
CFLAGS  += $(OPT) $(WARN) -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
# SANITIZE=1: AddressSanitizer + UBSan (undefined behaviour aborts) for the
# compiler, the runtime and, through GANC_FLAGS=--sanitize, the programs the
# tests compile.  `make test SANITIZE=1` runs the whole suite so.
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
export GANC_FLAGS := --sanitize
export RT_CFLAGS := -fsanitize=address,undefined
export UBSAN_OPTIONS := print_stacktrace=1
endif
# FUZZ=1 (set by `make fuzz` for the build dir $(FUZZ_B)): clang, libFuzzer
# coverage, ASan and UBSan on every object.
FUZZ_CC      ?= $(shell command -v clang || ls /usr/bin/clang-[0-9]* 2>/dev/null | sort -V | tail -n1)
FUZZ_B       ?= build/fuzz
HOST_CC      ?= cc
FUZZ_SECONDS ?= 60
ifeq ($(FUZZ),1)
override CC := $(FUZZ_CC)
OPT     := -O1 -g
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
           -fno-omit-frame-pointer
endif
LLVM_CFLAGS := $(shell $(LLVM_CONFIG) --cflags 2>/dev/null | sed 's/-Wcovered-switch-default//;s/-Wstring-conversion//;s/-Werror=unguarded-availability-new//')
LLVM_LIBS   := $(shell $(LLVM_CONFIG) --ldflags --libs core analysis target native passes bitwriter executionengine mcjit 2>/dev/null) \
               $(shell $(LLVM_CONFIG) --system-libs 2>/dev/null)

COMPILER_SRC := $(wildcard compiler/*.c)
COMPILER_OBJ := $(patsubst compiler/%.c,$(B)/compiler/%.o,$(COMPILER_SRC)) \
                $(B)/grammar/gan.tab.o $(B)/grammar/lex.yy.o
LIB_OBJ      := $(filter-out $(B)/compiler/main.o,$(COMPILER_OBJ))
RUNTIME_SRC  := $(wildcard runtime/*.c)
RUNTIME_OBJ  := $(patsubst runtime/%.c,$(B)/runtime/%.o,$(RUNTIME_SRC))
FRONT_OBJ    := $(patsubst %,$(B)/compiler/%.o,parse diag sema ast ir) \
                $(B)/grammar/gan.tab.o $(B)/grammar/lex.yy.o

# Objects depend on the flags they were built with: `make SANITIZE=1` after
# `make` (or the reverse) rebuilds everything instead of mixing the two.
FLAGS_STAMP  := $(B)/flags.stamp
FLAGS_NOW    := $(CC) $(CFLAGS) $(LDFLAGS)
ifneq ($(filter-out clean deps,$(or $(MAKECMDGOALS),all)),)
$(shell mkdir -p $(B) && { [ "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = '$(FLAGS_NOW)' ] || \
        printf '%s\n' '$(FLAGS_NOW)' >$(FLAGS_STAMP); })
endif

.PHONY: all deps demo test bench fid install clean fuzz fuzz-build fuzz-bins
all: $(B)/ganc $(B)/libganrt.a

deps:
	@scripts/install-deps.sh

$(B)/grammar/gan.tab.c $(B)/grammar/gan.tab.h: grammar/gan.y
	@mkdir -p $(B)/grammar
	bison -Wall -o $(B)/grammar/gan.tab.c --defines=$(B)/grammar/gan.tab.h $<
$(B)/grammar/lex.yy.c $(B)/grammar/lex.yy.h: grammar/gan.l $(B)/grammar/gan.tab.h
	@mkdir -p $(B)/grammar
	flex -o $(B)/grammar/lex.yy.c --header-file=$(B)/grammar/lex.yy.h $<
$(B)/grammar/%.o: $(B)/grammar/%.c $(B)/grammar/gan.tab.h $(B)/grammar/lex.yy.h compiler/*.h $(FLAGS_STAMP)
	$(CC) $(filter-out -Wmissing-prototypes -Wpedantic,$(CFLAGS)) -Wno-unused-function -Icompiler -I$(B)/grammar -c $< -o $@

$(B)/compiler/%.o: compiler/%.c compiler/*.h runtime/ganrt.h $(B)/grammar/gan.tab.h $(B)/grammar/lex.yy.h $(FLAGS_STAMP)
	@mkdir -p $(B)/compiler
	$(CC) $(CFLAGS) $(LLVM_CFLAGS) -Icompiler -Iruntime -I$(B)/grammar -c $< -o $@

$(B)/libganc.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^
$(B)/ganc: $(B)/compiler/main.o $(B)/libganc.a $(FLAGS_STAMP)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(FLAGS_STAMP),$^) $(LLVM_LIBS) -lz -lm -pthread

$(B)/runtime/%.o: runtime/%.c runtime/*.h $(FLAGS_STAMP)
	@mkdir -p $(B)/runtime
	$(CC) $(CFLAGS) -pthread -Iruntime -c $< -o $@
$(B)/libganrt.a: $(RUNTIME_OBJ)
	rm -f $@
	ar rcs $@ $^

demo: deps all
	@scripts/demo.sh

test: deps all
	@tests/run.sh

bench: deps all
	@bench/run.sh

# make fid: examples/dcgan.gan trained by ganc and by PyTorch (FID_STEPS,
# default 3000), scored by a Fashion-MNIST classifier's Frechet distance on
# FID_N samples; writes bench/fid.md.  About half an hour on two cores.
FID_STEPS ?= 3000
FID_N     ?= 10000
fid: deps all
	@sh scripts/install-deps.sh python3-torch libopenblas0-pthread python3-scipy
	@if [ -z "$${OPENBLAS_CORETYPE:-}" ]; then \
	    if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; \
	    elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi; fi; \
	OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/fid.py run --steps $(FID_STEPS) --n $(FID_N)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/ganc $(DESTDIR)$(PREFIX)/include/ganc
	install -m 755 $(B)/ganc $(DESTDIR)$(PREFIX)/bin/ganc
	install -m 644 $(B)/libganrt.a $(DESTDIR)$(PREFIX)/lib/ganc/libganrt.a
	install -m 644 runtime/ganrt.h $(DESTDIR)$(PREFIX)/include/ganc/ganrt.h

clean:
	rm -rf $(B)

# tests/opcheck.sh: the op-level test suite (every row of compiler/ops.h).
$(B)/opcheck: tests/opcheck.c $(B)/libganc.a compiler/*.h runtime/ganrt.h
	$(CC) $(CFLAGS) $(LLVM_CFLAGS) -Icompiler -Iruntime -o $@ $< $(B)/libganc.a $(LLVM_LIBS) -lz -lm -pthread

# Fuzzing (tests/fuzz/): libFuzzer targets built with clang into $(FUZZ_B).
# `make fuzz` runs each for FUZZ_SECONDS (default 60) after replaying the
# regression inputs; a short run is the `fuzz` suite of `make test`.
fuzz: deps
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

fuzz-build:
	@[ -n "$(FUZZ_CC)" ] || { echo "fuzz: clang not found (scripts/install-deps.sh installs it)"; exit 1; }
	@$(MAKE) --no-print-directory B=$(FUZZ_B) FUZZ=1 SANITIZE= fuzz-bins

fuzz-bins: $(B)/fuzz_front $(B)/fuzz_idx $(B)/fuzz_ckpt $(B)/fuzz_images

$(B)/fuzz_front: tests/fuzz/fuzz_front.c $(FRONT_OBJ)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -Icompiler -Iruntime -I$(B)/grammar -o $@ $^ -lz -lm
$(B)/fuzz_idx: tests/fuzz/fuzz_idx.c $(filter-out $(B)/runtime/main.o,$(RUNTIME_OBJ))
	$(CC) $(CFLAGS) -fsanitize=fuzzer -Iruntime -o $@ $^ -lstb -lz -lm -pthread
$(B)/fuzz_images: tests/fuzz/fuzz_images.c $(filter-out $(B)/runtime/main.o,$(RUNTIME_OBJ))
	$(CC) $(CFLAGS) -fsanitize=fuzzer -Iruntime -o $@ $^ -lstb -lz -lm -pthread
# the fake model's table uses sqrt() in static initialisers, which gcc folds
$(B)/rt_fake_model.o: tests/rt_fake_model.c runtime/ganrt.h
	$(HOST_CC) -O1 -g -Iruntime -c $< -o $@
$(B)/fuzz_ckpt: tests/fuzz/fuzz_ckpt.c $(B)/rt_fake_model.o $(filter-out $(B)/runtime/main.o,$(RUNTIME_OBJ))
	$(CC) $(CFLAGS) -fsanitize=fuzzer -Iruntime -o $@ $^ -lstb -lz -lm -pthread
