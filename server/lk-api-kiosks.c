/* lk-api-kiosks.c: kiosk registration and list, and the operator's claim release
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-api"

#include "config.h"

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-api-kiosks.h"
#include "lk-claims.h"
#include "lk-http.h"
#include "lk-routes.h"
#include "lk-store-claims.h"

#define KIOSKS_PATH "/api/v1/kiosks"
#define CLAIMS_PATH "/api/v1/claims"
#define MAX_SN_CHARS 64
#define SECRET_BYTES 24

static gboolean
is_valid_sn (const char *sn)
{
  for (const char *p = sn; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return *sn != '\0';
}

static void
register_kiosk (LkServer          *server,
                SoupServerMessage *msg)
{
  LkStore *store = lk_server_get_store (server);
  LkAuthContext auth;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *sn = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *secret_hash = NULL;
  g_autofree char *province = NULL;
  g_autofree char *school = NULL;
  g_autofree char *target = NULL;
  gint64 school_id;

  if (!lk_http_require_operator (server, msg, &auth))
    return;
  body = lk_http_read_json_object (msg, LK_JSON_MAX_BYTES, &error);
  if (body == NULL
      || !lk_json_only_members (body, &error, "sn", "school_id", NULL)
      || (sn = lk_json_require_string (body, "sn", MAX_SN_CHARS, &error)) == NULL
      || !lk_json_require_int (body, "school_id", 1, G_MAXINT64, &school_id, &error))
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  if (!is_valid_sn (sn))
    {
      lk_http_reply_error (msg, 422, "invalid_field", _("A serial number has only letters, digits, “-”, “_” and “.”"),
                           "sn");
      return;
    }
  if (!lk_store_school_get (store, school_id, &province, &school, &error))
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
        lk_http_reply_error (msg, 422, "invalid_field", _("There is no such school"), "school_id");
      else
        lk_http_reply_gerror (msg, error);
      return;
    }

  /* Shown this once; only its hash is stored. */
  secret = lk_random_hex (SECRET_BYTES);
  secret_hash = lk_sha256_hex (secret, strlen (secret));
  if (lk_store_kiosk_register (store, sn, school_id, secret_hash, &error) <= 0)
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT))
        lk_http_reply_error (msg, SOUP_STATUS_CONFLICT, "kiosk_exists",
                             _("A kiosk with this serial number is already registered"), "sn");
      else
        lk_http_reply_gerror (msg, error);
      return;
    }
  target = g_strdup_printf ("kiosk:%s", sn);
  lk_store_audit (store, auth.user_id, "kiosks.register", school_id, target, NULL);
  g_message ("Kiosk %s registered to school %" G_GINT64_FORMAT " by user %" G_GINT64_FORMAT,
             sn, school_id, auth.user_id);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "sn");
  json_builder_add_string_value (builder, sn);
  json_builder_set_member_name (builder, "school_id");
  json_builder_add_int_value (builder, school_id);
  json_builder_set_member_name (builder, "secret");
  json_builder_add_string_value (builder, secret);
  json_builder_end_object (builder);
  reply = json_builder_get_root (builder);
  lk_http_reply_json (msg, SOUP_STATUS_CREATED, reply);
  memset (secret, 0, strlen (secret));
}

static void
list_kiosks (LkServer          *server,
             SoupServerMessage *msg,
             GHashTable        *query)
{
  LkClaims *claims = lk_claims_get (server);
  LkAuthContext auth;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) list = NULL;
  gint64 school_id = 0;
  JsonArray *array;
  const char *school;

  if (!lk_http_require_staff (server, msg, &auth))
    return;

  school = query != NULL ? g_hash_table_lookup (query, "school") : NULL;
  if (school != NULL && *school != '\0')
    {
      school_id = lk_http_parse_id (school);
      if (school_id <= 0)
        {
          lk_http_reply_error (msg, 422, "invalid_field", _("“school” must be a school id"), "school");
          return;
        }
    }
  /* A teacher sees their own school, whatever they ask for. */
  if (!auth.operator)
    {
      if (school_id != 0 && !lk_http_check_school (msg, &auth, school_id))
        return;
      school_id = auth.school_id;
    }

  list = lk_store_kiosks_list (lk_server_get_store (server), school_id, &error);
  if (list == NULL)
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  array = json_node_get_array (list);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *kiosk = json_array_get_object_element (array, i);

      json_object_set_boolean_member (kiosk, "online",
                                      lk_claims_kiosk_is_online (claims,
                                                                 json_object_get_string_member (kiosk, "sn")));
    }
  lk_http_reply_json (msg, SOUP_STATUS_OK, list);
}

static void
kiosks_cb (LkServer          *server,
           SoupServerMessage *msg,
           const char        *path,
           GHashTable        *query)
{
  if (!g_str_equal (path, KIOSKS_PATH) && !g_str_equal (path, KIOSKS_PATH "/"))
    {
      lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
      return;
    }
  if (!lk_http_allow_methods (msg, "GET", "POST", NULL))
    return;
  if (g_str_equal (soup_server_message_get_method (msg), "POST"))
    register_kiosk (server, msg);
  else
    list_kiosks (server, msg, query);
}

static void
claims_cb (LkServer          *server,
           SoupServerMessage *msg,
           const char        *path,
           GHashTable        *query)
{
  g_auto(GStrv) parts = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) reply = NULL;
  LkAuthContext auth;
  gint64 claim_id;

  /* /api/v1/claims/{id}/release → "", "api", "v1", "claims", id, "release" */
  parts = g_strsplit (path, "/", -1);
  if (g_strv_length (parts) != 6 || !g_str_equal (parts[5], "release")
      || (claim_id = lk_http_parse_id (parts[4])) <= 0)
    {
      lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
      return;
    }
  if (!lk_http_allow_methods (msg, "POST", NULL))
    return;
  if (!lk_http_require_operator (server, msg, &auth))
    return;

  if (!lk_claims_release (lk_claims_get (server), claim_id, auth.user_id, &error))
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
        lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is no such claim"), NULL);
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT))
        lk_http_reply_error (msg, SOUP_STATUS_CONFLICT, "claim_not_reserved",
                             _("Only a reserved claim can be released"), NULL);
      else
        lk_http_reply_gerror (msg, error);
      return;
    }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "claim_id");
  json_builder_add_int_value (builder, claim_id);
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, "released");
  json_builder_end_object (builder);
  reply = json_builder_get_root (builder);
  lk_http_reply_json (msg, SOUP_STATUS_OK, reply);
}

void
lk_api_kiosks_register (LkServer   *server,
                        SoupServer *soup)
{
  lk_routes_add (server, soup, KIOSKS_PATH, LK_JSON_MAX_BYTES, kiosks_cb);
  lk_routes_add (server, soup, CLAIMS_PATH, LK_JSON_MAX_BYTES, claims_cb);
}
