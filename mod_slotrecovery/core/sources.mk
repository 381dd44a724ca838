# SPDX-License-Identifier: Apache-2.0
# The core's sources: code that includes APR, apr-util, jansson and OpenSSL
# only (no httpd, no mod_dbd, no libcurl). One list, read by Makefile.am
# (libslotrecovery_core.la: the module and `make check` link it) and by
# bench/fuzz/run (the fuzzers compile the same files into one archive).
SR_CORE_SOURCES = \
	mod_slotrecovery/core/sr_crypto.c \
	mod_slotrecovery/core/sr_crypto.h \
	mod_slotrecovery/core/sr_csrf.c \
	mod_slotrecovery/core/sr_csrf.h \
	mod_slotrecovery/core/sr_escape.c \
	mod_slotrecovery/core/sr_escape.h \
	mod_slotrecovery/core/sr_filter.c \
	mod_slotrecovery/core/sr_filter.h \
	mod_slotrecovery/core/sr_form.c \
	mod_slotrecovery/core/sr_form.h \
	mod_slotrecovery/core/sr_format.c \
	mod_slotrecovery/core/sr_format.h \
	mod_slotrecovery/core/sr_http_client.c \
	mod_slotrecovery/core/sr_http_client.h \
	mod_slotrecovery/core/sr_json.c \
	mod_slotrecovery/core/sr_json.h \
	mod_slotrecovery/core/sr_keyword.c \
	mod_slotrecovery/core/sr_keyword.h \
	mod_slotrecovery/core/sr_log.c \
	mod_slotrecovery/core/sr_log.h \
	mod_slotrecovery/core/sr_path.c \
	mod_slotrecovery/core/sr_path.h \
	mod_slotrecovery/core/sr_routes.c \
	mod_slotrecovery/core/sr_routes.h \
	mod_slotrecovery/core/sr_sms.c \
	mod_slotrecovery/core/sr_sms.h \
	mod_slotrecovery/core/sr_status.h \
	mod_slotrecovery/core/sr_texts.c \
	mod_slotrecovery/core/sr_texts.h \
	mod_slotrecovery/core/sr_stripe_client.c \
	mod_slotrecovery/core/sr_stripe_client.h \
	mod_slotrecovery/core/sr_stripe_protocol.c \
	mod_slotrecovery/core/sr_stripe_protocol.h \
	mod_slotrecovery/core/sr_twilio_client.c \
	mod_slotrecovery/core/sr_twilio_client.h \
	mod_slotrecovery/core/sr_twilio_protocol.c \
	mod_slotrecovery/core/sr_twilio_protocol.h \
	mod_slotrecovery/core/sr_validate.c \
	mod_slotrecovery/core/sr_validate.h \
	mod_slotrecovery/core/sr_view_row.c \
	mod_slotrecovery/core/sr_view_row.h
