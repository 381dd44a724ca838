/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the fuzz targets: an APR pool per input and exact-size heap copies
 * of the input's fields, so AddressSanitizer sees any read past their end
 * (pool memory would hide it).
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#define FUZZ_CHECK(cond)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                   \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

static apr_pool_t *fuzz_root;

static void fuzz_init(void)
{
    if (!fuzz_root) {
        apr_initialize();
        apr_pool_create(&fuzz_root, NULL);
    }
}

/* A NUL-terminated copy of data[0..len) in its own malloc block (freed by fuzz_free_all). */
#define FUZZ_MAX_COPIES 1024
static char *fuzz_copies[FUZZ_MAX_COPIES];
static int fuzz_ncopies;

static char *fuzz_strndup(const uint8_t *data, size_t len)
{
    char *s = malloc(len + 1);

    memcpy(s, data, len);
    s[len] = '\0';
    FUZZ_CHECK(fuzz_ncopies < FUZZ_MAX_COPIES); /* a target bug, not the module's */
    fuzz_copies[fuzz_ncopies++] = s;
    return s;
}

static void fuzz_free_all(void)
{
    int i;

    for (i = 0; i < fuzz_ncopies; i++) {
        free(fuzz_copies[i]);
    }
    fuzz_ncopies = 0;
}

/*
 * Splits data at the first '\n' (the separator is dropped): rest and rest_len
 * get what follows; returns the length of the first field.
 */
static size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **rest, size_t *rest_len)
{
    const uint8_t *nl = memchr(data, '\n', size);

    if (!nl) {
        *rest = data + size;
        *rest_len = 0;
        return size;
    }
    *rest = nl + 1;
    *rest_len = size - (size_t)(nl + 1 - data);
    return (size_t)(nl - data);
}

#endif
