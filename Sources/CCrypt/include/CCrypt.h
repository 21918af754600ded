#ifndef QPSMTPD_CCRYPT_H
#define QPSMTPD_CCRYPT_H

#include <stddef.h>

/// Size of the buffer `ccrypt_hash` writes into (libxcrypt's CRYPT_OUTPUT_SIZE).
#define CCRYPT_OUTPUT_SIZE 384

/// Hashes `phrase` with the method and salt of `setting` (a whole stored hash works as the
/// setting) through libxcrypt's crypt_r, and copies the NUL-terminated result into `out`.
/// Returns 0 on success, -1 when the method is unknown or disabled, the setting is malformed,
/// or `out` is too small. Thread-safe: each call has its own crypt_data, wiped after use.
int ccrypt_hash(const char *phrase, const char *setting, char *out, size_t out_size);

/// What crypt_checksalt says about `setting`: 0 usable, 1 usable but legacy (weak),
/// 2 disabled or unknown method, 3 malformed.
int ccrypt_check_setting(const char *setting);

#endif
