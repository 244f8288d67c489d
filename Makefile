# ganc: build, test, demo, bench, install.  See README.md.
CC      ?= cc
LLVM_CONFIG ?= $(shell command -v llvm-config || ls /usr/bin/llvm-config-* 2>/dev/null | sort -V | tail -n1)
PREFIX  ?= /usr/local
B       := build
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter
OPT     ?= -O2 -g
CFLAGS  += $(OPT) $(WARN) -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
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

.PHONY: all deps demo test bench install clean fuzz
all: $(B)/ganc $(B)/libganrt.a

deps:
	@scripts/install-deps.sh

$(B)/grammar/gan.tab.c $(B)/grammar/gan.tab.h: grammar/gan.y
	@mkdir -p $(B)/grammar
	bison -Wall -o $(B)/grammar/gan.tab.c --defines=$(B)/grammar/gan.tab.h $<
$(B)/grammar/lex.yy.c $(B)/grammar/lex.yy.h: grammar/gan.l $(B)/grammar/gan.tab.h
	@mkdir -p $(B)/grammar
	flex -o $(B)/grammar/lex.yy.c --header-file=$(B)/grammar/lex.yy.h $<
$(B)/grammar/%.o: $(B)/grammar/%.c $(B)/grammar/gan.tab.h $(B)/grammar/lex.yy.h compiler/*.h
	$(CC) $(filter-out -Wmissing-prototypes -Wpedantic,$(CFLAGS)) -Wno-unused-function -Icompiler -I$(B)/grammar -c $< -o $@

$(B)/compiler/%.o: compiler/%.c compiler/*.h runtime/ganrt.h $(B)/grammar/gan.tab.h $(B)/grammar/lex.yy.h
	@mkdir -p $(B)/compiler
	$(CC) $(CFLAGS) $(LLVM_CFLAGS) -Icompiler -Iruntime -I$(B)/grammar -c $< -o $@

$(B)/libganc.a: $(LIB_OBJ)
	ar rcs $@ $^
$(B)/ganc: $(B)/compiler/main.o $(B)/libganc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LLVM_LIBS) -lz -lm

$(B)/runtime/%.o: runtime/%.c runtime/*.h
	@mkdir -p $(B)/runtime
	$(CC) $(CFLAGS) -pthread -Iruntime -c $< -o $@
$(B)/libganrt.a: $(RUNTIME_OBJ)
	ar rcs $@ $^

demo: deps all
	@scripts/demo.sh

test: deps all
	@tests/run.sh

bench: deps all
	@bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/ganc $(DESTDIR)$(PREFIX)/include/ganc
	install -m 755 $(B)/ganc $(DESTDIR)$(PREFIX)/bin/ganc
	install -m 644 $(B)/libganrt.a $(DESTDIR)$(PREFIX)/lib/ganc/libganrt.a
	install -m 644 runtime/ganrt.h $(DESTDIR)$(PREFIX)/include/ganc/ganrt.h

clean:
	rm -rf $(B)

# tests/opcheck.sh: the op-level test suite (every row of compiler/ops.h).
$(B)/opcheck: tests/opcheck.c $(B)/libganc.a compiler/*.h runtime/ganrt.h
	$(CC) $(CFLAGS) $(LLVM_CFLAGS) -Icompiler -Iruntime -o $@ $< $(B)/libganc.a $(LLVM_LIBS) -lz -lm
