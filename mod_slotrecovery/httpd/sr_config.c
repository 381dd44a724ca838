/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Directives of mod_slotrecovery. Every value is checked when the
 * configuration is read, so `apachectl configtest` refuses a malformed one
 * instead of the module failing on the first request.
 */
#include <stddef.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_uri.h>

#include "sr_config.h"

#define SR_SECRET_FILE_MAX 4096
#define SR_MAX_BODY_LIMIT (64 * 1024 * 1024)
/* Guessing 32 random characters is out of reach; 8 is a password a botnet tries. */
#define SR_MIN_INTERNAL_SECRET 32

sr_server_conf_t *sr_config_get(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &slotrecovery_module);
}

void *sr_config_create_server(apr_pool_t *p, server_rec *s)
{
    sr_server_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    conf->max_body = SR_UNSET;
    conf->sweep_interval = SR_UNSET;
    conf->worker_interval = SR_UNSET;
    conf->offer_max_attempts = SR_UNSET;
    conf->offer_cutoff = SR_UNSET;
    conf->offer_retry_delay = SR_UNSET;
    conf->payment_max_attempts = SR_UNSET;
    conf->http_timeout = SR_UNSET;
    conf->stripe_webhook_tolerance = SR_UNSET;
    conf->csrf_lifetime = SR_UNSET;
    return conf;
}

#define SR_MERGE_PTR(field) (add->field ? add->field : base->field)
#define SR_MERGE_NUM(field) (add->field != SR_UNSET ? add->field : base->field)

void *sr_config_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    const sr_server_conf_t *base = basev;
    const sr_server_conf_t *add = addv;
    sr_server_conf_t *conf = apr_pcalloc(p, sizeof(*conf));

    conf->internal_secret = SR_MERGE_PTR(internal_secret);
    conf->public_base_url = SR_MERGE_PTR(public_base_url);
    conf->twilio_account_sid = SR_MERGE_PTR(twilio_account_sid);
    conf->twilio_auth_token = SR_MERGE_PTR(twilio_auth_token);
    conf->twilio_api_base = SR_MERGE_PTR(twilio_api_base);
    conf->stripe_secret_key = SR_MERGE_PTR(stripe_secret_key);
    conf->stripe_webhook_secret = SR_MERGE_PTR(stripe_webhook_secret);
    conf->stripe_api_base = SR_MERGE_PTR(stripe_api_base);
    conf->max_body = SR_MERGE_NUM(max_body);
    conf->assets_dir = SR_MERGE_PTR(assets_dir);
    conf->sweep_interval = SR_MERGE_NUM(sweep_interval);
    conf->worker_interval = SR_MERGE_NUM(worker_interval);
    conf->offer_max_attempts = SR_MERGE_NUM(offer_max_attempts);
    conf->offer_cutoff = SR_MERGE_NUM(offer_cutoff);
    conf->offer_retry_delay = SR_MERGE_NUM(offer_retry_delay);
    conf->payment_max_attempts = SR_MERGE_NUM(payment_max_attempts);
    conf->http_timeout = SR_MERGE_NUM(http_timeout);
    conf->stripe_webhook_tolerance = SR_MERGE_NUM(stripe_webhook_tolerance);
    conf->csrf_lifetime = SR_MERGE_NUM(csrf_lifetime);
    return conf;
}

void sr_config_finalize(server_rec *s)
{
    for (; s; s = s->next) {
        sr_server_conf_t *conf = sr_config_get(s);

        if (!conf->twilio_api_base) {
            conf->twilio_api_base = SR_DEFAULT_TWILIO_API_BASE;
        }
        if (!conf->stripe_api_base) {
            conf->stripe_api_base = SR_DEFAULT_STRIPE_API_BASE;
        }
        if (conf->max_body == SR_UNSET) {
            conf->max_body = SR_DEFAULT_MAX_BODY;
        }
        if (conf->sweep_interval == SR_UNSET) {
            conf->sweep_interval = apr_time_from_sec(SR_DEFAULT_SWEEP_INTERVAL);
        }
        if (conf->worker_interval == SR_UNSET) {
            conf->worker_interval = apr_time_from_sec(SR_DEFAULT_WORKER_INTERVAL);
        }
        if (conf->offer_max_attempts == SR_UNSET) {
            conf->offer_max_attempts = SR_DEFAULT_OFFER_MAX_ATTEMPTS;
        }
        if (conf->offer_cutoff == SR_UNSET) {
            conf->offer_cutoff = apr_time_from_sec(SR_DEFAULT_OFFER_CUTOFF);
        }
        if (conf->offer_retry_delay == SR_UNSET) {
            conf->offer_retry_delay = apr_time_from_sec(SR_DEFAULT_OFFER_RETRY_DELAY);
        }
        if (conf->payment_max_attempts == SR_UNSET) {
            conf->payment_max_attempts = SR_DEFAULT_PAYMENT_MAX_ATTEMPTS;
        }
        if (conf->http_timeout == SR_UNSET) {
            conf->http_timeout = apr_time_from_sec(SR_DEFAULT_HTTP_TIMEOUT);
        }
        if (conf->stripe_webhook_tolerance == SR_UNSET) {
            conf->stripe_webhook_tolerance = apr_time_from_sec(SR_DEFAULT_STRIPE_WEBHOOK_TOLERANCE);
        }
        if (conf->csrf_lifetime == SR_UNSET) {
            conf->csrf_lifetime = apr_time_from_sec(SR_DEFAULT_CSRF_LIFETIME);
        }
    }
}

/* --- value checks ------------------------------------------------------- */

static const char *check_no_space(cmd_parms *cmd, const char *value)
{
    const char *c;

    if (!*value) {
        return apr_psprintf(cmd->pool, "%s must not be empty", cmd->cmd->name);
    }
    for (c = value; *c; c++) {
        if (apr_isspace(*c) || apr_iscntrl(*c)) {
            return apr_psprintf(cmd->pool, "%s must not contain white space or control characters", cmd->cmd->name);
        }
    }
    return NULL;
}

/*
 * An http(s) URL with a host. With allow_path false only scheme, host and
 * port are allowed (SlotRecoveryPublicBaseUrl); the trailing slash is removed.
 */
static const char *check_base_url(cmd_parms *cmd, const char *value, int allow_path, const char **normalized)
{
    apr_uri_t uri;
    char *url;
    apr_size_t len;
    const char *err = check_no_space(cmd, value);

    /* apr_uri_parse takes "https://shop example" as host "shop example". */
    if (err) {
        return err;
    }
    if (apr_uri_parse(cmd->pool, value, &uri) != APR_SUCCESS || !uri.scheme || !uri.hostname || !*uri.hostname) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not an absolute URL", cmd->cmd->name, value);
    }
    if (strcasecmp(uri.scheme, "http") && strcasecmp(uri.scheme, "https")) {
        return apr_psprintf(cmd->pool, "%s: '%s' must use http or https", cmd->cmd->name, value);
    }
    if (uri.query || uri.fragment || uri.user || uri.password) {
        return apr_psprintf(cmd->pool, "%s: '%s' must not carry credentials, a query or a fragment", cmd->cmd->name,
                            value);
    }
    if (!allow_path && uri.path && strcmp(uri.path, "/") && *uri.path) {
        return apr_psprintf(cmd->pool, "%s: '%s' must be scheme, host and port only (no path)", cmd->cmd->name, value);
    }
    url = apr_pstrdup(cmd->pool, value);
    len = strlen(url);
    while (len > 0 && url[len - 1] == '/') {
        url[--len] = '\0';
    }
    *normalized = url;
    return NULL;
}

static const char *read_secret_file(cmd_parms *cmd, const char *arg, const char **secret)
{
    const char *path = ap_server_root_relative(cmd->temp_pool, arg);
    apr_file_t *file;
    char buf[SR_SECRET_FILE_MAX + 1];
    apr_size_t len = 0;
    apr_status_t rv;

    if (!path) {
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'", cmd->cmd->name, arg);
    }
    rv = apr_file_open(&file, path, APR_FOPEN_READ, APR_OS_DEFAULT, cmd->temp_pool);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: cannot open '%s': %pm", cmd->cmd->name, path, &rv);
    }
    rv = apr_file_read_full(file, buf, SR_SECRET_FILE_MAX, &len);
    apr_file_close(file);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        return apr_psprintf(cmd->pool, "%s: cannot read '%s': %pm", cmd->cmd->name, path, &rv);
    }
    if (len == SR_SECRET_FILE_MAX) {
        return apr_psprintf(cmd->pool, "%s: '%s' is larger than %d bytes", cmd->cmd->name, path, SR_SECRET_FILE_MAX);
    }
    /* The secret is the first line (README); a trailing newline or CR is what editors and `echo` leave. */
    buf[len] = '\0';
    len = strcspn(buf, "\n");
    while (len > 0 && apr_isspace(buf[len - 1])) {
        len--;
    }
    buf[len] = '\0';
    if (len == 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' is empty", cmd->cmd->name, path);
    }
    *secret = apr_pstrmemdup(cmd->pool, buf, len);
    return NULL;
}

/* --- directive handlers --------------------------------------------------- */

/* Which kind of check a string directive gets; the offset says where it goes. */
typedef enum {
    SR_VALUE_INTERNAL_SECRET,
    SR_VALUE_TWILIO_SID,
    SR_VALUE_TWILIO_TOKEN,
    SR_VALUE_STRIPE_SECRET_KEY,
    SR_VALUE_STRIPE_WEBHOOK_SECRET
} sr_value_kind_t;

typedef struct {
    apr_size_t offset;
    sr_value_kind_t kind;
    int from_file;
} sr_string_directive_t;

static const char *check_value(cmd_parms *cmd, sr_value_kind_t kind, const char *value)
{
    const char *err = check_no_space(cmd, value);
    apr_size_t i, len = strlen(value);

    if (err) {
        return err;
    }
    switch (kind) {
    case SR_VALUE_INTERNAL_SECRET:
        if (len < SR_MIN_INTERNAL_SECRET) {
            return apr_psprintf(cmd->pool,
                                "%s must be at least %d characters long (this one has %" APR_SIZE_T_FMT
                                "); generate one with `openssl rand -hex 32`",
                                cmd->cmd->name, SR_MIN_INTERNAL_SECRET, len);
        }
        break;
    case SR_VALUE_TWILIO_SID:
        if (len != 34 || strncmp(value, "AC", 2)) {
            return apr_psprintf(cmd->pool, "%s must be a Twilio Account SID (AC followed by 32 characters)",
                                cmd->cmd->name);
        }
        for (i = 2; i < len; i++) {
            if (!apr_isalnum(value[i])) {
                return apr_psprintf(cmd->pool, "%s must be a Twilio Account SID (AC followed by 32 characters)",
                                    cmd->cmd->name);
            }
        }
        break;
    case SR_VALUE_TWILIO_TOKEN:
        break;
    case SR_VALUE_STRIPE_SECRET_KEY:
        if (strncmp(value, "sk_", 3) && strncmp(value, "rk_", 3)) {
            return apr_psprintf(cmd->pool, "%s must be a Stripe secret (sk_...) or restricted (rk_...) key",
                                cmd->cmd->name);
        }
        break;
    case SR_VALUE_STRIPE_WEBHOOK_SECRET:
        if (strncmp(value, "whsec_", 6)) {
            return apr_psprintf(cmd->pool, "%s must be a Stripe webhook signing secret (whsec_...)", cmd->cmd->name);
        }
        break;
    }
    return NULL;
}

static const char *set_string_value(cmd_parms *cmd, void *dconf, const char *arg)
{
    const sr_string_directive_t *d = cmd->info;
    sr_server_conf_t *conf = sr_config_get(cmd->server);
    const char *value = arg;
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);

    if (err) {
        return err;
    }
    if (d->from_file && (err = read_secret_file(cmd, arg, &value))) {
        return err;
    }
    if ((err = check_value(cmd, d->kind, value))) {
        return err;
    }
    *(const char **)((char *)conf + d->offset) = value;
    return NULL;
}

static const char *set_url(cmd_parms *cmd, void *dconf, const char *arg)
{
    sr_server_conf_t *conf = sr_config_get(cmd->server);
    apr_size_t offset = (apr_size_t)(apr_uintptr_t)cmd->info;
    int allow_path = offset != offsetof(sr_server_conf_t, public_base_url);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    const char *url = NULL;

    if (err || (err = check_base_url(cmd, arg, allow_path, &url))) {
        return err;
    }
    *(const char **)((char *)conf + offset) = url;
    return NULL;
}

/* A whole number within bounds; seconds become an interval. */
typedef struct {
    apr_size_t offset;
    apr_int64_t min, max;
    enum { SR_NUMBER_INT, SR_NUMBER_SECONDS, SR_NUMBER_BYTES } kind;
} sr_number_directive_t;

static const char *set_number(cmd_parms *cmd, void *dconf, const char *arg)
{
    const sr_number_directive_t *d = cmd->info;
    sr_server_conf_t *conf = sr_config_get(cmd->server);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    char *end;
    apr_int64_t n;

    if (err) {
        return err;
    }
    n = apr_strtoi64(arg, &end, 10);
    if (!apr_isdigit(*arg) || *end || n < d->min || n > d->max) {
        return apr_psprintf(cmd->pool, "%s must be a whole number from %" APR_INT64_T_FMT " to %" APR_INT64_T_FMT,
                            cmd->cmd->name, d->min, d->max);
    }
    switch (d->kind) {
    case SR_NUMBER_SECONDS:
        *(apr_interval_time_t *)((char *)conf + d->offset) = apr_time_from_sec(n);
        break;
    case SR_NUMBER_BYTES:
        *(apr_off_t *)((char *)conf + d->offset) = (apr_off_t)n;
        break;
    default:
        *(int *)((char *)conf + d->offset) = (int)n;
        break;
    }
    return NULL;
}

static const char *set_assets_dir(cmd_parms *cmd, void *dconf, const char *arg)
{
    sr_server_conf_t *conf = sr_config_get(cmd->server);
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    const char *dir;
    apr_finfo_t info;

    if (err) {
        return err;
    }
    dir = ap_server_root_relative(cmd->pool, arg);
    if (!dir || apr_stat(&info, dir, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS || info.filetype != APR_DIR) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a directory", cmd->cmd->name, arg);
    }
    conf->assets_dir = dir;
    return NULL;
}

/* The compound literal is wrapped in parentheses so its commas stay one macro argument. */
#define SR_STRING_DIRECTIVE(name, field, kind, from_file, help)                                                        \
    AP_INIT_TAKE1(name, set_string_value,                                                                              \
                  ((void *)&(const sr_string_directive_t){offsetof(sr_server_conf_t, field), kind, from_file}),        \
                  RSRC_CONF, help)
#define SR_NUMBER_DIRECTIVE(name, field, min, max, kind, help)                                                         \
    AP_INIT_TAKE1(name, set_number,                                                                                    \
                  ((void *)&(const sr_number_directive_t){offsetof(sr_server_conf_t, field), min, max, kind}),         \
                  RSRC_CONF, help)
#define SR_URL_DIRECTIVE(name, field, help)                                                                            \
    AP_INIT_TAKE1(name, set_url, (void *)(apr_uintptr_t)offsetof(sr_server_conf_t, field), RSRC_CONF, help)

const command_rec sr_config_directives[] = {
    SR_STRING_DIRECTIVE("SlotRecoveryInternalSecret", internal_secret, SR_VALUE_INTERNAL_SECRET, 0,
                        "Shared secret callers of the internal JSON API send in x-internal-secret"),
    SR_STRING_DIRECTIVE("SlotRecoveryInternalSecretFile", internal_secret, SR_VALUE_INTERNAL_SECRET, 1,
                        "File holding the internal API secret"),
    SR_URL_DIRECTIVE("SlotRecoveryPublicBaseUrl", public_base_url,
                     "Scheme, host and port the outside world reaches this server with"),
    SR_STRING_DIRECTIVE("SlotRecoveryTwilioAccountSid", twilio_account_sid, SR_VALUE_TWILIO_SID, 0,
                        "Twilio Account SID (AC...)"),
    SR_STRING_DIRECTIVE("SlotRecoveryTwilioAuthToken", twilio_auth_token, SR_VALUE_TWILIO_TOKEN, 0,
                        "Twilio auth token: signs webhooks and authenticates API calls"),
    SR_STRING_DIRECTIVE("SlotRecoveryTwilioAuthTokenFile", twilio_auth_token, SR_VALUE_TWILIO_TOKEN, 1,
                        "File holding the Twilio auth token"),
    SR_URL_DIRECTIVE("SlotRecoveryTwilioApiBase", twilio_api_base,
                     "Base URL of Twilio's REST API (default " SR_DEFAULT_TWILIO_API_BASE ")"),
    SR_STRING_DIRECTIVE("SlotRecoveryStripeSecretKey", stripe_secret_key, SR_VALUE_STRIPE_SECRET_KEY, 0,
                        "Stripe secret API key (sk_...)"),
    SR_STRING_DIRECTIVE("SlotRecoveryStripeSecretKeyFile", stripe_secret_key, SR_VALUE_STRIPE_SECRET_KEY, 1,
                        "File holding the Stripe secret API key"),
    SR_STRING_DIRECTIVE("SlotRecoveryStripeWebhookSecret", stripe_webhook_secret, SR_VALUE_STRIPE_WEBHOOK_SECRET, 0,
                        "Stripe webhook signing secret (whsec_...)"),
    SR_STRING_DIRECTIVE("SlotRecoveryStripeWebhookSecretFile", stripe_webhook_secret, SR_VALUE_STRIPE_WEBHOOK_SECRET, 1,
                        "File holding the Stripe webhook signing secret"),
    SR_URL_DIRECTIVE("SlotRecoveryStripeApiBase", stripe_api_base,
                     "Base URL of Stripe's REST API (default " SR_DEFAULT_STRIPE_API_BASE ")"),
    AP_INIT_TAKE1("SlotRecoveryAssetsDir", set_assets_dir, NULL, RSRC_CONF,
                  "Directory whose slotrecovery.css and favicon.svg replace the copies built into the module"),
    SR_NUMBER_DIRECTIVE("SlotRecoveryMaxBody", max_body, 1024, SR_MAX_BODY_LIMIT, SR_NUMBER_BYTES,
                        "Largest request body accepted, in bytes (default 262144)"),
    SR_NUMBER_DIRECTIVE("SlotRecoverySweepInterval", sweep_interval, 1, 3600, SR_NUMBER_SECONDS,
                        "Seconds between two sweeps of the offer loop (default 30)"),
    SR_NUMBER_DIRECTIVE("SlotRecoveryWorkerInterval", worker_interval, 1, 3600, SR_NUMBER_SECONDS,
                        "Seconds between two looks of the worker for due SMS, deposits, refunds (default 1)"),
    SR_NUMBER_DIRECTIVE("SlotRecoveryOfferMaxAttempts", offer_max_attempts, 1, 20, SR_NUMBER_INT,
                        "Tries to send one offer's SMS before the offer fails (default 3)"),
    SR_NUMBER_DIRECTIVE("SlotRecoveryOfferCutoff", offer_cutoff, 0, 7 * 86400, SR_NUMBER_SECONDS,
                        "Seconds before its start when a slot stops being offered (default 300)"),
    SR_NUMBER_DIRECTIVE("SlotRecoveryOfferRetryDelay", offer_retry_delay, 1, 3600, SR_NUMBER_SECONDS,
                        "Seconds before the first retry of a failed SMS; doubles each time (default 30)"),
    SR_NUMBER_DIRECTIVE("SlotRecoveryPaymentMaxAttempts", payment_max_attempts, 1, 20, SR_NUMBER_INT,
                        "Tries to create a deposit's PaymentIntent before the booking is released (default 5)"),
    SR_NUMBER_DIRECTIVE("SlotRecoveryHttpTimeout", http_timeout, 1, 120, SR_NUMBER_SECONDS,
                        "Seconds one call to Twilio or Stripe may take (default 10)"),
    SR_NUMBER_DIRECTIVE("SlotRecoveryStripeWebhookTolerance", stripe_webhook_tolerance, 1, 86400, SR_NUMBER_SECONDS,
                        "Seconds a Stripe webhook's signed timestamp may differ from now (default 300)"),
    SR_NUMBER_DIRECTIVE("SlotRecoveryCsrfLifetime", csrf_lifetime, 60, 7 * 86400, SR_NUMBER_SECONDS,
                        "Seconds a dashboard form stays valid after the page was shown (default 28800: 8 hours)"),
    {NULL}};
