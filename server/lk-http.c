/* lk-http.c: replies, errors, strict JSON bodies and staff authentication
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-server"

#include "config.h"

#include <stdarg.h>
#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-json-guard.h"
#include "lk-http.h"
#include "lk-log.h"
#include "lk-server.h"
#include "lk-store.h"

#define SEP '\037'

G_DEFINE_QUARK (lk-http-error-quark, lk_http_error)

void
lk_http_set_error (GError     **error,
                   guint        status,
                   const char  *code,
                   const char  *field,
                   const char  *format,
                   ...)
{
  g_autofree char *text = NULL;
  va_list args;

  if (error == NULL)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, LK_HTTP_ERROR, status, "%s%c%s%c%s", code, SEP,
               field != NULL ? field : "", SEP, text);
}

static JsonNode *
error_node (const char *code,
            const char *message,
            const char *field,
            const char *extra_name,
            JsonNode   *extra)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "error");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "code");
  json_builder_add_string_value (builder, code);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, message);
  if (field != NULL && *field != '\0')
    {
      json_builder_set_member_name (builder, "field");
      json_builder_add_string_value (builder, field);
    }
  if (extra_name != NULL && extra != NULL)
    {
      json_builder_set_member_name (builder, extra_name);
      json_builder_add_value (builder, json_node_copy (extra));
    }
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

void
lk_http_reply_json (SoupServerMessage *msg,
                    guint              status,
                    JsonNode          *node)
{
  g_autofree char *text = lk_json_to_string (node);
  gsize len = strlen (text);

  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Cache-Control", "no-store");
  soup_server_message_set_response (msg, "application/json; charset=utf-8", SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&text), len);
}

void
lk_http_reply_error_with (SoupServerMessage *msg,
                          guint              status,
                          const char        *code,
                          const char        *message,
                          const char        *field,
                          const char        *extra_name,
                          JsonNode          *extra)
{
  g_autoptr(JsonNode) node = error_node (code, message, field, extra_name, extra);

  lk_http_reply_json (msg, status, node);
}

void
lk_http_reply_error (SoupServerMessage *msg,
                     guint              status,
                     const char        *code,
                     const char        *message,
                     const char        *field)
{
  lk_http_reply_error_with (msg, status, code, message, field, NULL, NULL);
}

void
lk_http_reply_gerror (SoupServerMessage *msg,
                      const GError      *error)
{
  if (error->domain == LK_HTTP_ERROR)
    {
      g_auto(GStrv) parts = g_strsplit (error->message, (char[]) { SEP, 0 }, 3);

      if (g_strv_length (parts) == 3)
        {
          lk_http_reply_error (msg, error->code, parts[0], parts[2], parts[1]);
          return;
        }
    }
  if (error->domain == LK_STORE_ERROR && error->code == LK_STORE_ERROR_BUSY)
    {
      g_warning ("Database busy: %s", error->message);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Retry-After", "1");
      lk_http_reply_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "busy",
                           _("The server is busy; try again in a moment"), NULL);
      return;
    }
  lk_log_event (G_LOG_LEVEL_WARNING, "Internal error",
                "LK_ERROR", error->message,
                "LK_PATH", g_uri_get_path (soup_server_message_get_uri (msg)),
                NULL);
  lk_http_reply_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                       _("Internal server error"), NULL);
}

gboolean
lk_http_allow_methods (SoupServerMessage *msg,
                       ...)
{
  const char *method = soup_server_message_get_method (msg);
  g_autoptr(GString) allow = g_string_new (NULL);
  const char *m;
  va_list args;

  va_start (args, msg);
  while ((m = va_arg (args, const char *)) != NULL)
    {
      if (g_str_equal (m, method))
        {
          va_end (args);
          return TRUE;
        }
      if (allow->len > 0)
        g_string_append (allow, ", ");
      g_string_append (allow, m);
    }
  va_end (args);

  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", allow->str);
  lk_http_reply_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
                       _("This method is not allowed here"), NULL);
  return FALSE;
}

JsonObject *
lk_http_read_json_object (SoupServerMessage  *msg,
                          gsize               max_bytes,
                          GError            **error)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  const char *content_type;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *data;
  gsize len;
  JsonNode *root;

  content_type = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);
  if (content_type == NULL || g_ascii_strcasecmp (content_type, "application/json") != 0)
    {
      lk_http_set_error (error, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", NULL,
                         _("The body must be application/json"));
      return NULL;
    }
  if (body->length > (goffset) max_bytes)
    {
      lk_http_set_error (error, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload_too_large", NULL,
                         _("The body is too large"));
      return NULL;
    }
  bytes = soup_message_body_flatten (body);
  data = g_bytes_get_data (bytes, &len);
  if (len == 0 || data == NULL)
    {
      lk_http_set_error (error, SOUP_STATUS_BAD_REQUEST, "invalid_json", NULL, _("The body is empty"));
      return NULL;
    }
  if (!g_utf8_validate_len (data, len, NULL))
    {
      lk_http_set_error (error, SOUP_STATUS_BAD_REQUEST, "invalid_json", NULL,
                         _("The body is not valid UTF-8"));
      return NULL;
    }
  /* json-glib hands strings out NUL-terminated, so an escaped NUL would silently cut a value
   * short: refuse it. */
  if (g_strstr_len (data, len, "\\u0000") != NULL)
    {
      lk_http_set_error (error, SOUP_STATUS_BAD_REQUEST, "invalid_json", NULL,
                         _("NUL characters are not allowed"));
      return NULL;
    }
  if (!lk_json_depth_ok (data, len, LK_JSON_MAX_DEPTH))
    {
      lk_http_set_error (error, SOUP_STATUS_BAD_REQUEST, "invalid_json", NULL,
                         _("The body is nested too deeply"));
      return NULL;
    }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, len, &local_error))
    {
      lk_http_set_error (error, SOUP_STATUS_BAD_REQUEST, "invalid_json", NULL,
                         _("The body is not valid JSON"));
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      lk_http_set_error (error, SOUP_STATUS_BAD_REQUEST, "invalid_json", NULL,
                         _("The body must be a JSON object"));
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

static gboolean
check_string (const char  *name,
              const char  *raw,
              guint        max_chars,
              char       **value,
              GError     **error)
{
  g_autofree char *text = lk_normalize_text (raw);

  if (text == NULL || *text == '\0')
    {
      lk_http_set_error (error, 422, "invalid_field", name, _("“%s” must not be empty"), name);
      return FALSE;
    }
  if (g_utf8_strlen (text, -1) > max_chars)
    {
      lk_http_set_error (error, 422, "invalid_field", name, _("“%s” is too long"), name);
      return FALSE;
    }
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      {
        lk_http_set_error (error, 422, "invalid_field", name,
                           _("“%s” contains control characters"), name);
        return FALSE;
      }
  *value = g_steal_pointer (&text);
  return TRUE;
}

char *
lk_json_require_string (JsonObject  *object,
                        const char  *name,
                        guint        max_chars,
                        GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);
  char *value = NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE
      || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      lk_http_set_error (error, 422, "invalid_field", name, _("“%s” must be a string"), name);
      return NULL;
    }
  if (!check_string (name, json_node_get_string (node), max_chars, &value, error))
    return NULL;
  return value;
}

gboolean
lk_json_optional_string (JsonObject  *object,
                         const char  *name,
                         guint        max_chars,
                         char       **value,
                         gboolean    *present,
                         GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);

  *value = NULL;
  if (present != NULL)
    *present = node != NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (JSON_NODE_TYPE (node) != JSON_NODE_VALUE || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      lk_http_set_error (error, 422, "invalid_field", name, _("“%s” must be a string"), name);
      return FALSE;
    }
  return check_string (name, json_node_get_string (node), max_chars, value, error);
}

gboolean
lk_json_require_int (JsonObject  *object,
                     const char  *name,
                     gint64       min,
                     gint64       max,
                     gint64      *value,
                     GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);
  gint64 v;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE
      || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      lk_http_set_error (error, 422, "invalid_field", name, _("“%s” must be an integer"), name);
      return FALSE;
    }
  v = json_node_get_int (node);
  if (v < min || v > max)
    {
      lk_http_set_error (error, 422, "invalid_field", name, _("“%s” is out of range"), name);
      return FALSE;
    }
  *value = v;
  return TRUE;
}

gboolean
lk_json_require_bool (JsonObject  *object,
                      const char  *name,
                      gboolean    *value,
                      GError     **error)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE
      || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      lk_http_set_error (error, 422, "invalid_field", name, _("“%s” must be true or false"), name);
      return FALSE;
    }
  *value = json_node_get_boolean (node);
  return TRUE;
}

gboolean
lk_json_only_members (JsonObject  *object,
                      GError     **error,
                      ...)
{
  g_autoptr(GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    {
      gboolean known = FALSE;
      const char *name;
      va_list args;

      va_start (args, error);
      while ((name = va_arg (args, const char *)) != NULL)
        if (g_str_equal (name, l->data))
          known = TRUE;
      va_end (args);
      if (!known)
        {
          lk_http_set_error (error, 422, "invalid_field", l->data, _("Unknown member “%s”"),
                             (const char *) l->data);
          return FALSE;
        }
    }
  return TRUE;
}

const char *
lk_http_bearer_token (SoupServerMessage *msg)
{
  const char *header;

  header = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Authorization");
  if (header == NULL || g_ascii_strncasecmp (header, "Bearer ", 7) != 0)
    return NULL;
  header += 7;
  while (*header == ' ')
    header++;
  return *header != '\0' ? header : NULL;
}

const char *
lk_http_client_address (SoupServerMessage *msg)
{
  const char *host = soup_server_message_get_remote_host (msg);

  return host != NULL ? host : "unknown";
}

gint64
lk_http_parse_id (const char *segment)
{
  guint64 value = 0;

  if (segment == NULL || *segment == '\0' || strlen (segment) > 18)
    return 0;
  for (const char *p = segment; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      return 0;
  value = g_ascii_strtoull (segment, NULL, 10);
  return (gint64) value;
}

gboolean
lk_http_require_staff (LkServer          *server,
                       SoupServerMessage *msg,
                       LkAuthContext     *auth)
{
  const char *token = lk_http_bearer_token (msg);
  g_autofree char *token_hash = NULL;
  g_autoptr(LkUserRecord) user = NULL;
  g_autoptr(GError) error = NULL;
  gboolean expired = FALSE;

  memset (auth, 0, sizeof *auth);
  if (token == NULL || strlen (token) > 256)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Bearer");
      lk_http_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized",
                           _("Log in first"), NULL);
      return FALSE;
    }
  token_hash = lk_sha256_hex (token, strlen (token));
  user = lk_store_session_find (lk_server_get_store (server), token_hash,
                                g_get_real_time () / G_USEC_PER_SEC, &expired, &error);
  if (user == NULL)
    {
      if (!g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
        {
          lk_http_reply_gerror (msg, error);
          return FALSE;
        }
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Bearer");
      if (expired)
        lk_http_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "token_expired",
                             _("The session has expired; log in again"), NULL);
      else
        lk_http_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized",
                             _("Log in first"), NULL);
      return FALSE;
    }
  auth->user_id = user->id;
  auth->operator = g_str_equal (user->role, "operator");
  auth->school_id = auth->operator ? 0 : user->school_id;
  return TRUE;
}

gboolean
lk_http_require_operator (LkServer          *server,
                          SoupServerMessage *msg,
                          LkAuthContext     *auth)
{
  if (!lk_http_require_staff (server, msg, auth))
    return FALSE;
  if (!auth->operator)
    {
      lk_http_reply_error (msg, SOUP_STATUS_FORBIDDEN, "forbidden",
                           _("Only an operator may do this"), NULL);
      return FALSE;
    }
  return TRUE;
}

gboolean
lk_http_check_school (SoupServerMessage   *msg,
                      const LkAuthContext *auth,
                      gint64               school_id)
{
  if (auth->operator || auth->school_id == school_id)
    return TRUE;
  {
    char user[24], school[24];

    g_snprintf (user, sizeof user, "%" G_GINT64_FORMAT, auth->user_id);
    g_snprintf (school, sizeof school, "%" G_GINT64_FORMAT, school_id);
    lk_log_event (G_LOG_LEVEL_MESSAGE, "Denied: a teacher reached another school",
                  "LK_USER_ID", user, "LK_SCHOOL_ID", school, NULL);
  }
  lk_http_reply_error (msg, SOUP_STATUS_FORBIDDEN, "forbidden",
                       _("This belongs to another school"), NULL);
  return FALSE;
}

void
lk_http_reply_json_etag (SoupServerMessage *msg,
                         JsonNode          *node)
{
  g_autofree char *text = lk_json_to_string (node);
  g_autofree char *hash = lk_sha256_hex (text, strlen (text));
  g_autofree char *etag = g_strdup_printf ("\"%.32s\"", hash);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);
  const char *if_none_match;
  gsize len = strlen (text);

  if_none_match = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                "If-None-Match");
  soup_message_headers_replace (response, "ETag", etag);
  soup_message_headers_replace (response, "Cache-Control", "no-cache");
  if (if_none_match != NULL && (g_str_equal (if_none_match, "*") || strstr (if_none_match, etag) != NULL))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_MODIFIED, NULL);
      return;
    }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json; charset=utf-8", SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&text), len);
}

void
lk_http_log_request (SoupServerMessage *msg)
{
  guint status = soup_server_message_get_status (msg);
  /* None for a request line libsoup could not parse (it answered 400 itself). */
  GUri *uri = soup_server_message_get_uri (msg);
  char status_text[8];

  g_snprintf (status_text, sizeof status_text, "%u", status);
  lk_log_event (status >= 500 ? G_LOG_LEVEL_MESSAGE : G_LOG_LEVEL_DEBUG, "Request",
                "LK_HTTP_METHOD", soup_server_message_get_method (msg),
                "LK_HTTP_PATH", uri != NULL ? g_uri_get_path (uri) : "-",
                "LK_HTTP_STATUS", status_text,
                "LK_CLIENT", lk_http_client_address (msg),
                NULL);
}
