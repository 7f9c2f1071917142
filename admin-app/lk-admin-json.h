/* lk-admin-json.h: tolerant readers for the JSON the server sends to the admin app
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* NULL when @object is NULL, or the member is missing, null or not a string. */
const char *lk_admin_json_string  (JsonObject *object,
                                   const char *member);
/* @fallback when the member is missing or not a number. */
gint64      lk_admin_json_int     (JsonObject *object,
                                   const char *member,
                                   gint64      fallback);
/* The member as an array, or NULL. */
JsonArray  *lk_admin_json_array   (JsonObject *object,
                                   const char *member);
JsonObject *lk_admin_json_object  (JsonObject *object,
                                   const char *member);
/* A list answer is either a bare array or an object holding the array under one of the
 * given member names (NULL-terminated). Returns NULL if neither. */
JsonArray  *lk_admin_json_list    (JsonNode   *node,
                                   ...) G_GNUC_NULL_TERMINATED;

/* "2026-11-26 09:30" in local time from unix seconds; "—" for 0. */
char       *lk_admin_format_time  (gint64      unix_seconds);

G_END_DECLS
