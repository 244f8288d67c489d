/* link.c: the final link, by exec'ing the C compiler (never a shell).
 *
 * The runtime library is looked for beside the ganc binary (build layout:
 * build/ganc and build/libganrt.a) and then in ../lib/ganc/ relative to it
 * (install layout); $GANC_RUNTIME names the library explicitly.  $CC picks
 * the C compiler (default cc).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "link.h"

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Path of libganrt.a, or NULL. */
const char *link_runtime(void)
{
    static char out[PATH_MAX + 32];
    const char *env = getenv("GANC_RUNTIME");
    if (env && *env) return exists(env) ? env : NULL;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return NULL;
    self[n] = 0;
    char *dir = dirname(self);
    snprintf(out, sizeof out, "%s/libganrt.a", dir);
    if (exists(out)) return out;
    snprintf(out, sizeof out, "%s/../lib/ganc/libganrt.a", dir);
    if (exists(out)) return out;
    return NULL;
}

/* Whether program name is an executable file in a directory of $PATH. */
static int in_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path || !*path) return 0;
    char buf[PATH_MAX];
    for (const char *p = path, *end; *p; p = *end ? end + 1 : end) {
        end = strchr(p, ':');
        if (!end) end = p + strlen(p);
        int len = (int)(end - p);
        if (len > 0 && snprintf(buf, sizeof buf, "%.*s/%s", len, p, name) < (int)sizeof buf && access(buf, X_OK) == 0)
            return 1;
    }
    return 0;
}

int link_exe(char *const *objs, int n, const char *out, int sanitize)
{
    const char *rt = link_runtime();
    if (!rt) {
        fprintf(stderr, "ganc: error: cannot find the runtime library libganrt.a (set GANC_RUNTIME)\n");
        return 0;
    }
    const char *cc = getenv("CC");
    if (!cc || !*cc) cc = "cc";
    const char **argv = malloc(((size_t)n + 16) * sizeof *argv);
    if (!argv) {
        fprintf(stderr, "ganc: error: out of memory\n");
        return 0;
    }
    int a = 0;
    argv[a++] = cc;
    if (sanitize) argv[a++] = "-fsanitize=address,undefined";
    if (in_path("ld.gold")) argv[a++] = "-fuse-ld=gold";
    argv[a++] = "-o"; argv[a++] = out;
    for (int k = 0; k < n; k++) argv[a++] = objs[k];
    argv[a++] = rt; argv[a++] = "-lstb"; argv[a++] = "-lz"; argv[a++] = "-lm"; argv[a++] = "-pthread";
    argv[a] = NULL;
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "ganc: error: fork: %s\n", strerror(errno));
        free(argv);
        return 0;
    }
    if (pid == 0) {
        execvp(cc, (char *const *)argv);
        fprintf(stderr, "ganc: error: cannot run %s: %s\n", cc, strerror(errno));
        _exit(127);
    }
    free(argv);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "ganc: error: linking %s failed\n", out);
        return 0;
    }
    return 1;
}
