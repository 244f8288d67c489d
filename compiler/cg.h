/* cg.h: the LLVM back end's interface (cg.c).  Kept apart from ganc.h so
 * that only the driver and tests see LLVM types. */
#ifndef GANC_CG_H
#define GANC_CG_H
#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include "ganc.h"

/* The target: host CPU and features unless given; *vw = vector width in floats. */
LLVMTargetMachineRef cg_target(const char *cpu, const char *features, int *vw);
/* The whole program as an LLVM module (unoptimised). */
LLVMModuleRef cg_module(const Schedule *s, LLVMContextRef cx, LLVMTargetMachineRef tm, int vw);
/* Verifies and optimises (new pass manager, O2 without unrolling); 0 on an internal error. */
int cg_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm);
/* Writes an object (assembly = 0) or assembly file; 0 on error (reported). */
int cg_emit_file(LLVMModuleRef m, LLVMTargetMachineRef tm, const char *path, int assembly);

/* split.c: the most parts a program is compiled in. */
#define SPLIT_MAX 8
/* Optimises and emits m (from cg_module, for target tm) as n object files
 * paths[0..n-1], compiled in parallel: part 0 is m itself (left with only
 * its part), the others copies in contexts of their own, with target
 * machines of their own for cpu and features (NULL: the host's).  1 on
 * success; errors are reported. */
int split_compile(LLVMModuleRef m, LLVMTargetMachineRef tm, const char *cpu, const char *features, int n,
                  char *const *paths);
#endif
