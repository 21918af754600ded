#define _GNU_SOURCE
#include "CCrypt.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

int ccrypt_hash(const char *phrase, const char *setting, char *out, size_t out_size) {
    // crypt_data is about 32 KiB: too big for a small worker-thread stack, so it lives on the heap.
    struct crypt_data *data = calloc(1, sizeof(struct crypt_data));
    if (data == NULL) return -1;
    int rc = -1;
    const char *hash = crypt_r(phrase, setting, data);
    // libxcrypt answers a failure with NULL or with a "*0"/"*1" token that never matches a hash.
    if (hash != NULL && hash[0] != '*') {
        size_t len = strlen(hash);
        if (len < out_size) {
            memcpy(out, hash, len + 1);
            rc = 0;
        }
    }
    // The work area held the passphrase; do not leave it in freed memory.
    explicit_bzero(data, sizeof(struct crypt_data));
    free(data);
    return rc;
}

int ccrypt_check_setting(const char *setting) {
    switch (crypt_checksalt(setting)) {
    case CRYPT_SALT_OK: return 0;
    case CRYPT_SALT_METHOD_LEGACY: return 1;
    case CRYPT_SALT_METHOD_DISABLED: return 2;
    default: return 3;
    }
}
