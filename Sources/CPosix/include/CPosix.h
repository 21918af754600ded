#ifndef QPSMTPD_CPOSIX_H
#define QPSMTPD_CPOSIX_H

/// pipe2(fds, O_CLOEXEC): a pipe whose ends no concurrently spawned child inherits. Swift's
/// Glibc module is built without _GNU_SOURCE and does not show pipe2. Returns 0 or -1 with errno.
int cposix_pipe_cloexec(int fds[2]);

#endif
