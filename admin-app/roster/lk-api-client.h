/* lk-api-client.h: the admin app's client of the Lingka REST API and its event socket
 *
 * One client per server. It keeps the staff session (token, role, school) after a login
 * and sends "Authorization: Bearer TOKEN" on every call. Every call is asynchronous and
 * completes in the thread-default main context of the thread that made the client.
 *
 * A non-2xx answer is a GError in the LK_API_ERROR domain whose message is the server's
 * "message" text (DESIGN.md's error shape); the server's "code", "field" and, for 422
 * invalid_rows, the "rows" stay attached to the GError (lk_api_error_get_*).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define LK_API_ERROR (lk_api_error_quark ())

typedef enum
{
  LK_API_ERROR_FAILED,            /* any other non-2xx answer */
  LK_API_ERROR_TRANSPORT,         /* no answer: connection refused, reset, TLS, timeout */
  LK_API_ERROR_INVALID_RESPONSE,  /* an answer that is not the JSON we expect */
  LK_API_ERROR_BAD_REQUEST,       /* 400 (bad_frame, invalid_json, ...) */
  LK_API_ERROR_UNAUTHORIZED,      /* 401: wrong password, or the session expired */
  LK_API_ERROR_FORBIDDEN,         /* 403 */
  LK_API_ERROR_NOT_FOUND,         /* 404 */
  LK_API_ERROR_CONFLICT,          /* 409 */
  LK_API_ERROR_INVALID,           /* 422 (invalid_rows, verification_failed, ...) */
  LK_API_ERROR_SERVER,            /* 5xx */
} LkApiError;

GQuark      lk_api_error_quark           (void);

/* The HTTP status of an LK_API_ERROR (0 for a transport error). */
guint       lk_api_error_get_status      (const GError *error);
/* The server's "code" ("invalid_rows", "bad_frame", ...) or NULL. */
const char *lk_api_error_get_code        (const GError *error);
/* The server's "field" or NULL. */
const char *lk_api_error_get_field       (const GError *error);
/* The "rows" of a 422 invalid_rows answer, as LkRowError, or NULL. Owned by the error. */
GPtrArray  *lk_api_error_get_rows        (const GError *error);

#define LK_TYPE_API_CLIENT (lk_api_client_get_type ())

G_DECLARE_FINAL_TYPE (LkApiClient, lk_api_client, LK, API_CLIENT, GObject)

/* @base_url: "http://host:port" (a trailing "/" is allowed). */
LkApiClient *lk_api_client_new                   (const char           *base_url);

const char  *lk_api_client_get_base_url          (LkApiClient          *self);
/* The session of the last successful login; NULL/0 when logged out. */
const char  *lk_api_client_get_token             (LkApiClient          *self);
void         lk_api_client_set_token             (LkApiClient          *self,
                                                  const char           *token);
const char  *lk_api_client_get_username          (LkApiClient          *self);
/* "teacher" or "operator" */
const char  *lk_api_client_get_role              (LkApiClient          *self);
gboolean     lk_api_client_is_operator           (LkApiClient          *self);
/* The teacher's school; 0 for an operator. */
gint64       lk_api_client_get_school_id         (LkApiClient          *self);
/* Unix seconds (UTC). */
gint64       lk_api_client_get_expires_at        (LkApiClient          *self);
gboolean     lk_api_client_is_logged_in          (LkApiClient          *self);
/* Forgets the session (no server call). */
void         lk_api_client_logout                (LkApiClient          *self);
SoupSession *lk_api_client_get_session           (LkApiClient          *self);

/* POST /api/v1/auth/login. On success the token, role, school-id and expires-at
 * properties change (and are notified). The password is never logged. */
void         lk_api_client_login_async           (LkApiClient          *self,
                                                  const char           *username,
                                                  const char           *password,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
gboolean     lk_api_client_login_finish          (LkApiClient          *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);

/* Any JSON call. @method "GET", "POST", "PATCH", ...; @path_and_query starts with "/"
 * ("/api/v1/students?q=%E5%BC%A0"): escape query values with g_uri_escape_string.
 * @body (nullable) is sent as application/json. */
void         lk_api_client_request_async         (LkApiClient          *self,
                                                  const char           *method,
                                                  const char           *path_and_query,
                                                  JsonNode             *body,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
/* Returns the parsed answer (a JSON null node for an empty 2xx body), or NULL with
 * @error set. @status (optional) gets the HTTP status, also on error (0 if none). */
JsonNode    *lk_api_client_request_finish        (LkApiClient          *self,
                                                  GAsyncResult         *result,
                                                  guint                *status,
                                                  GError              **error);

/* POST of raw bytes with @content_type, e.g. an import frame
 * (LK_IMPORT_FRAME_CONTENT_TYPE); the answer is JSON as for request. */
void         lk_api_client_post_bytes_async      (LkApiClient          *self,
                                                  const char           *path,
                                                  const char           *content_type,
                                                  GBytes               *body,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
JsonNode    *lk_api_client_post_bytes_finish     (LkApiClient          *self,
                                                  GAsyncResult         *result,
                                                  guint                *status,
                                                  GError              **error);

/* Opens the admin WebSocket (LK_ADMIN_EVENTS_PATH) with the token in the Authorization
 * header. The caller owns the connection and should connect to "message" and "closed". */
void         lk_api_client_connect_events_async  (LkApiClient          *self,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
SoupWebsocketConnection *
             lk_api_client_connect_events_finish (LkApiClient          *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);

G_END_DECLS
