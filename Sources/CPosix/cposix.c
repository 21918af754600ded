#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
#include "CPosix.h"

int cposix_pipe_cloexec(int fds[2]) {
#ifdef __APPLE__
    /* No pipe2 on Darwin: set the flag right after (a spawn in between could inherit them). */
    if (pipe(fds) != 0) return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#else
    return pipe2(fds, O_CLOEXEC);
#endif
}
