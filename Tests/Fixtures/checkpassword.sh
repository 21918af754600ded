#!/bin/sh
# A checkpassword-compatible program for tests (https://cr.yp.to/checkpwd/interface.html):
# reads `user\0password\0timestamp\0` from file descriptor 3, then
#   - exec's its arguments (the `true` program) when the pair is in the table below,
#   - exits 1 for a wrong pair, 111 for user temp@example.com, 2 for malformed input,
#   - sleeps (for timeout tests) for user slow@example.com,
#   - takes 2 s to check user slowcheck@example.com, as a costly password hash would.
# POSIX sh plus dd and tr: the fields are turned into lines, so passwords in the table must
# not contain newlines.
set -u
[ $# -ge 1 ] || exit 2
input=$(dd bs=512 count=1 2>/dev/null <&3 | tr '\000' '\n') || exit 111
user=$(printf '%s\n' "$input" | sed -n 1p)
password=$(printf '%s\n' "$input" | sed -n 2p)
timestamp=$(printf '%s\n' "$input" | sed -n 3p)
[ -n "$user" ] && [ -n "$timestamp" ] || exit 2

case "$user" in
temp@example.com) exit 111 ;;
slow@example.com) exec sleep 30 ;;
slowcheck@example.com) sleep 2 ;;
esac

case "$user:$password" in
"test@example.com:s3cret pass" | "other@example.com:x\"y\\z" | "slowcheck@example.com:right")
    # The protocol: on success, run the next program with the user's environment.
    USER=$user
    HOME=/nonexistent
    export USER HOME
    exec "$@"
    ;;
esac
exit 1
