/* lk-http.h: what every REST handler uses: replies, the one error shape, strict JSON bodies,
 * bearer tokens and staff authentication
 *
 * Every 4xx/5xx goes out as {"error": {"code", "message", "field"?}} (DESIGN.md).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _LkServer LkServer;

#define LK_HTTP_ERROR (lk_http_error_quark ())

/* A request problem. The error's code is the HTTP status; lk_http_set_error() packs the
 * snake_case code and the field into the message, lk_http_reply_gerror() unpacks them. */
GQuark    lk_http_error_quark        (void);

#define LK_JSON_MAX_BYTES (1024 * 1024)
#define LK_IMPORT_MAX_BYTES (64 * 1024 * 1024)

/* A GError in LK_HTTP_ERROR carrying the HTTP @status, the snake_case @code and the @field. */
void      lk_http_set_error          (GError      **error,
                                      guint         status,
                                      const char   *code,
                                      const char   *field,
                                      const char   *format,
                                      ...) G_GNUC_PRINTF (5, 6);
/* Replies with an error from lk_http_set_error(); any other domain becomes a 500
 * internal_error (the details are logged, not sent). */
void      lk_http_reply_gerror       (SoupServerMessage *msg,
                                      const GError      *error);

void      lk_http_reply_json         (SoupServerMessage *msg,
                                      guint              status,
                                      JsonNode          *node);
void      lk_http_reply_error        (SoupServerMessage *msg,
                                      guint              status,
                                      const char        *code,
                                      const char        *message,
                                      const char        *field);
/* Like lk_http_reply_error, with more members in the error object (e.g. "rows"). */
void      lk_http_reply_error_with   (SoupServerMessage *msg,
                                      guint              status,
                                      const char        *code,
                                      const char        *message,
                                      const char        *field,
                                      const char        *extra_name,
                                      JsonNode          *extra);

/* TRUE if the method is one of the NULL-terminated list; else replies 405 and returns FALSE. */
gboolean  lk_http_allow_methods      (SoupServerMessage *msg,
                                      ...) G_GNUC_NULL_TERMINATED;

/* The request body as a JSON object: Content-Type must be application/json (415), the body at
 * most @max_bytes (413), valid UTF-8 and one JSON object (400 invalid_json). */
JsonObject *lk_http_read_json_object (SoupServerMessage *msg,
                                      gsize              max_bytes,
                                      GError           **error);

/* Typed member getters: a missing or wrong-typed member is a 422 invalid_field naming it.
 * Strings are normalized (lk_normalize_text), non-empty and at most @max_chars characters. */
char     *lk_json_require_string     (JsonObject  *object,
                                      const char  *name,
                                      guint        max_chars,
                                      GError     **error);
/* Absent or null gives NULL without error; otherwise as lk_json_require_string(). */
gboolean  lk_json_optional_string    (JsonObject  *object,
                                      const char  *name,
                                      guint        max_chars,
                                      char       **value,
                                      gboolean    *present,
                                      GError     **error);
gboolean  lk_json_require_int        (JsonObject  *object,
                                      const char  *name,
                                      gint64       min,
                                      gint64       max,
                                      gint64      *value,
                                      GError     **error);
gboolean  lk_json_require_bool       (JsonObject  *object,
                                      const char  *name,
                                      gboolean    *value,
                                      GError     **error);
/* 422 invalid_field for the first member not in the NULL-terminated list. */
gboolean  lk_json_only_members       (JsonObject  *object,
                                      GError     **error,
                                      ...) G_GNUC_NULL_TERMINATED;

/* The token of an "Authorization: Bearer …" header, or NULL. */
const char *lk_http_bearer_token     (SoupServerMessage *msg);
/* The client's address as text (never NULL). */
const char *lk_http_client_address   (SoupServerMessage *msg);

/* A positive integer path segment ("/api/v1/students/42" → 42), 0 if it is not one. */
gint64    lk_http_parse_id           (const char *segment);

typedef struct
{
  gint64   user_id;
  gboolean operator;
  gint64   school_id;   /* the teacher's school; 0 for an operator */
} LkAuthContext;

/* Checks the bearer token of a staff session. On failure replies 401 unauthorized (no or
 * unknown token) or 401 token_expired, and returns FALSE. */
gboolean  lk_http_require_staff      (LkServer          *server,
                                      SoupServerMessage *msg,
                                      LkAuthContext     *auth);
/* As lk_http_require_staff, and replies 403 forbidden unless the user is an operator. */
gboolean  lk_http_require_operator   (LkServer          *server,
                                      SoupServerMessage *msg,
                                      LkAuthContext     *auth);
/* TRUE if @auth may act on @school_id; else replies 403 forbidden. */
gboolean  lk_http_check_school       (SoupServerMessage *msg,
                                      const LkAuthContext *auth,
                                      gint64             school_id);

/* A GET with If-None-Match equal to the ETag of @node gets 304; else 200 with the ETag. */
void      lk_http_reply_json_etag    (SoupServerMessage *msg,
                                      JsonNode          *node);

/* Structured log of a request outcome: method, path (never the query), status, address. */
void      lk_http_log_request        (SoupServerMessage *msg);

G_END_DECLS
