/* lk-log.h: structured log lines
 *
 * Never pass a claim code, secret, password, token or full phone number; mask names with
 * lk_mask_name() and phones with lk_mask_phone().
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Logs @message (plain text, not a format) in G_LOG_DOMAIN with fields given as
 * NULL-terminated pairs of upper-case key and string value; a NULL value skips its pair only
 * if it is not the terminator, so write "" for an empty value. The pairs are also appended to
 * the message as key=value, for readers of plain logs. */
#define lk_log_event(level, message, ...) \
  lk_log_event_full (G_LOG_DOMAIN, (level), (message), __VA_ARGS__)

void lk_log_event_full (const char     *domain,
                        GLogLevelFlags  level,
                        const char     *message,
                        ...) G_GNUC_NULL_TERMINATED;

/* g_info() for hot paths: GLib formats a message before its writer drops it, so the line is
 * only formatted when it will be written (G_MESSAGES_DEBUG names the domain). */
#define lk_info(...) \
  G_STMT_START { \
    if (!g_log_writer_default_would_drop (G_LOG_LEVEL_INFO, G_LOG_DOMAIN)) \
      g_info (__VA_ARGS__); \
  } G_STMT_END

/* Drops the debug messages of the libraries on the request path (libsoup: four a WebSocket
 * message) at the first handler, unless G_MESSAGES_DEBUG asks for them. GLib still formats
 * them, but skips the structured writer's work on each. Call once, at start. */
void lk_log_quiet_library_debug (void);

G_END_DECLS
