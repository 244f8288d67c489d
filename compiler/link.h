/* link.h: linking the generated object with the runtime (link.c). */
#ifndef GANC_LINK_H
#define GANC_LINK_H
const char *link_runtime(void);
/* cc -o out objs... libganrt.a -lstb -lz -lm -pthread; 0 on failure (reported). */
int link_exe(char *const *objs, int n, const char *out, int sanitize);
#endif
