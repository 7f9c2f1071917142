/* lk-api-auth.c: POST /api/v1/auth/login and POST /api/v1/users
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-server"

#include "config.h"

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-http.h"
#include "lk-log.h"
#include "lk-password.h"
#include "lk-routes.h"

#define USERNAME_MAX_CHARS 64

static gboolean
username_is_valid (const char *username)
{
  for (const char *p = username; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-' && *p != '.' && *p != '@')
      return FALSE;
  return TRUE;
}

static void
login_cb (LkServer          *server,
          SoupServerMessage *msg,
          const char        *path,
          GHashTable        *query)
{
  LkStore *store = lk_server_get_store (server);
  const char *address = lk_http_client_address (msg);
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *username = NULL;
  g_autofree char *token = NULL;
  g_autofree char *token_hash = NULL;
  g_autoptr(LkUserRecord) user = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) reply = NULL;
  const char *password;
  gint64 now, expires_at;
  JsonNode *node;

  if (!g_str_equal (path, "/api/v1/auth/login"))
    {
      lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
      return;
    }
  if (!lk_http_allow_methods (msg, "POST", NULL))
    return;
  body = lk_http_read_json_object (msg, LK_JSON_MAX_BYTES, &error);
  if (body == NULL
      || !lk_json_only_members (body, &error, "username", "password", NULL)
      || (username = lk_json_require_string (body, "username", USERNAME_MAX_CHARS, &error)) == NULL)
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  /* The password is taken as it is: no trimming. */
  node = json_object_get_member (body, "password");
  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE
      || json_node_get_value_type (node) != G_TYPE_STRING
      || strlen (json_node_get_string (node)) > LK_PASSWORD_MAX_BYTES)
    {
      lk_http_reply_error (msg, 422, "invalid_field", _("“password” must be a string"), "password");
      return;
    }
  password = json_node_get_string (node);

  if (!lk_rate_limit_check (lk_server_get_login_limit (server), address))
    {
      lk_log_event (G_LOG_LEVEL_MESSAGE, "Login refused: too many failures",
                    "LK_CLIENT", address, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After", "30");
      lk_http_reply_error (msg, 429, "rate_limited",
                           _("Too many failed attempts; wait a moment"), NULL);
      return;
    }

  user = lk_store_user_find (store, username, &error);
  if (user == NULL && !g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  if (user == NULL)
    lk_password_verify_dummy (password);
  if (user == NULL || user->disabled || !lk_password_verify (password, user->password_hash))
    {
      lk_rate_limit_take (lk_server_get_login_limit (server), address);
      lk_log_event (G_LOG_LEVEL_MESSAGE, "Login failed", "LK_CLIENT", address, NULL);
      lk_http_reply_error (msg, SOUP_STATUS_UNAUTHORIZED, "invalid_credentials",
                           _("Wrong user name or password"), NULL);
      return;
    }

  token = lk_random_hex (32);
  token_hash = lk_sha256_hex (token, strlen (token));
  now = g_get_real_time () / G_USEC_PER_SEC;
  expires_at = now + LK_SESSION_LIFETIME_S;
  if (!lk_store_session_create (store, token_hash, user->id, now, expires_at, &error))
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  {
    g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, user->id);
    lk_log_event (G_LOG_LEVEL_INFO, "Logged in", "LK_USER_ID", id, "LK_ROLE", user->role,
                  "LK_CLIENT", address, NULL);
  }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "token");
  json_builder_add_string_value (builder, token);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, user->role);
  json_builder_set_member_name (builder, "school_id");
  if (user->school_id > 0)
    json_builder_add_int_value (builder, user->school_id);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "expires_at");
  json_builder_add_int_value (builder, expires_at);
  json_builder_end_object (builder);
  reply = json_builder_get_root (builder);
  lk_http_reply_json (msg, SOUP_STATUS_OK, reply);
}

static void
users_cb (LkServer          *server,
          SoupServerMessage *msg,
          const char        *path,
          GHashTable        *query)
{
  LkStore *store = lk_server_get_store (server);
  LkAuthContext auth;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *username = NULL;
  g_autofree char *role = NULL;
  g_autofree char *hash = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) reply = NULL;
  const char *password;
  gint64 school_id = 0;
  gint64 id;
  JsonNode *node;

  if (!g_str_equal (path, "/api/v1/users"))
    {
      lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
      return;
    }
  if (!lk_http_allow_methods (msg, "POST", NULL) || !lk_http_require_operator (server, msg, &auth))
    return;
  body = lk_http_read_json_object (msg, LK_JSON_MAX_BYTES, &error);
  if (body == NULL
      || !lk_json_only_members (body, &error, "username", "password", "role", "school_id", NULL)
      || (username = lk_json_require_string (body, "username", USERNAME_MAX_CHARS, &error)) == NULL
      || (role = lk_json_require_string (body, "role", 16, &error)) == NULL)
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  if (!username_is_valid (username))
    {
      lk_http_reply_error (msg, 422, "invalid_field",
                           _("A user name may hold letters, digits and _ - . @ only"), "username");
      return;
    }
  node = json_object_get_member (body, "password");
  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE
      || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      lk_http_reply_error (msg, 422, "invalid_field", _("“password” must be a string"), "password");
      return;
    }
  password = json_node_get_string (node);
  if (g_utf8_strlen (password, -1) < LK_PASSWORD_MIN_CHARS || strlen (password) > LK_PASSWORD_MAX_BYTES)
    {
      lk_http_reply_error (msg, 422, "weak_password",
                           _("The password must have at least 8 characters"), "password");
      return;
    }
  if (!g_str_equal (role, "teacher") && !g_str_equal (role, "operator"))
    {
      lk_http_reply_error (msg, 422, "invalid_field", _("“role” must be teacher or operator"), "role");
      return;
    }
  if (g_str_equal (role, "teacher"))
    {
      if (!lk_json_require_int (body, "school_id", 1, G_MAXINT64, &school_id, &error))
        {
          lk_http_reply_gerror (msg, error);
          return;
        }
      if (!lk_store_school_get (store, school_id, NULL, NULL, &error))
        {
          if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
            lk_http_reply_error (msg, 422, "unknown_school", _("There is no such school"), "school_id");
          else
            lk_http_reply_gerror (msg, error);
          return;
        }
    }

  hash = lk_password_hash (password, lk_config_get_password_iterations (lk_server_get_config (server)));
  id = hash != NULL ? lk_store_user_create (store, username, hash, role, school_id, &error) : 0;
  if (id == 0)
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT))
        lk_http_reply_error (msg, SOUP_STATUS_CONFLICT, "user_exists",
                             _("This user name is taken"), "username");
      else if (error != NULL)
        lk_http_reply_gerror (msg, error);
      else
        lk_http_reply_error (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal_error",
                             _("Internal server error"), NULL);
      return;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, id);
  json_builder_set_member_name (builder, "username");
  json_builder_add_string_value (builder, username);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, role);
  json_builder_set_member_name (builder, "school_id");
  if (school_id > 0)
    json_builder_add_int_value (builder, school_id);
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);
  reply = json_builder_get_root (builder);
  lk_http_reply_json (msg, SOUP_STATUS_CREATED, reply);
}

void
lk_api_auth_register (LkServer   *server,
                      SoupServer *soup)
{
  lk_routes_add (server, soup, "/api/v1/auth", LK_JSON_MAX_BYTES, login_cb);
  lk_routes_add (server, soup, "/api/v1/users", LK_JSON_MAX_BYTES, users_cb);
}
