/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An sr_http_client_t of the tests' own (the core's interface, filled here as
 * httpd/sr_http.c fills it with libcurl): it keeps every request the code
 * under test made and answers each from a list of canned answers, in order.
 * The answers are the providers' documented shapes (see each test file).
 */
#ifndef SR_FAKE_HTTP_H
#define SR_FAKE_HTTP_H

#include "unit.h"

#include "sr_http_client.h"
#include "sr_log.h"

#define FAKE_HTTP_MAX 64

typedef struct {
    int status;       /* 0: no answer arrived, body is then why (curl's words) */
    const char *body; /* the answer's body */
} fake_answer_t;

typedef struct {
    sr_http_client_t client;
    const fake_answer_t *answers;
    int n_answers;
    sr_http_request_t reqs[FAKE_HTTP_MAX]; /* what was asked, in order */
    int n_reqs;
    int batches;    /* calls of perform_all */
    char log[4096]; /* the log lines written, each followed by '\n' */
    sr_log_t logger;
} fake_http_t;

static apr_status_t fake_perform(void *baton, apr_pool_t *p, const sr_http_request_t *req, sr_http_response_t *res)
{
    fake_http_t *f = baton;
    const fake_answer_t *a;

    ck_assert_int_lt(f->n_reqs, FAKE_HTTP_MAX);
    ck_assert_msg(f->n_reqs < f->n_answers, "request %d (%s %s) has no canned answer", f->n_reqs + 1, req->method,
                  req->url);
    a = &f->answers[f->n_reqs];
    f->reqs[f->n_reqs++] = *req;
    res->status = a->status;
    res->body = a->status ? a->body : "";
    res->body_len = strlen(res->body);
    res->error = a->status ? NULL : a->body;
    return a->status ? APR_SUCCESS : APR_TIMEUP;
}

static void fake_perform_all(void *baton, apr_pool_t *p, int n, const sr_http_request_t *reqs, sr_http_response_t *res)
{
    fake_http_t *f = baton;
    int i;

    f->batches++;
    for (i = 0; i < n; i++) {
        fake_perform(baton, p, &reqs[i], &res[i]);
    }
}

static void fake_log_write(void *baton, sr_log_level_t level, const char *message)
{
    fake_http_t *f = baton;
    apr_size_t used = strlen(f->log);

    apr_snprintf(f->log + used, sizeof(f->log) - used, "%d %s\n", (int)level, message);
}

/* A fake answering answers[0..n) in order; with_batch: it has perform_all too. */
static fake_http_t *fake_http(const fake_answer_t *answers, int n, int with_batch)
{
    fake_http_t *f = apr_pcalloc(pool, sizeof(*f));

    f->client.perform = fake_perform;
    f->client.perform_all = with_batch ? fake_perform_all : NULL;
    f->client.baton = f;
    f->answers = answers;
    f->n_answers = n;
    f->logger.write = fake_log_write;
    f->logger.baton = f;
    return f;
}

/* The number of headers of a request (0 for none). */
static int fake_header_count(const sr_http_request_t *req)
{
    return req->headers ? apr_table_elts(req->headers)->nelts : 0;
}

#define FAKE_ANSWERS(...) ((const fake_answer_t[]){__VA_ARGS__})
#define FAKE_N(...) ((int)(sizeof((const fake_answer_t[]){__VA_ARGS__}) / sizeof(fake_answer_t)))

#endif /* SR_FAKE_HTTP_H */
