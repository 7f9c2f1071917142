/* lk-api-directory.c: step 2's directory, province → school → class, with ETags
 *
 * GET /api/v1/directory/provinces          → ["浙江省", …]
 * GET /api/v1/directory/schools?province=P → [{"id", "name"}]
 * GET /api/v1/directory/classes?school=ID  → ["三年级(2)班", …]
 *
 * Only schools that have students are listed. No authentication: parents use it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-server"

#include "config.h"

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-http.h"
#include "lk-routes.h"

static void
directory_cb (LkServer          *server,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query)
{
  LkStore *store = lk_server_get_store (server);
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;

  if (g_str_equal (path, "/api/v1/directory/provinces"))
    {
      if (!lk_http_allow_methods (msg, "GET", "HEAD", NULL))
        return;
      node = lk_store_directory_provinces (store, &error);
    }
  else if (g_str_equal (path, "/api/v1/directory/schools"))
    {
      const char *raw = query != NULL ? g_hash_table_lookup (query, "province") : NULL;
      g_autofree char *province = NULL;

      if (!lk_http_allow_methods (msg, "GET", "HEAD", NULL))
        return;
      if (raw == NULL || !g_utf8_validate (raw, -1, NULL)
          || (province = lk_normalize_text (raw)) == NULL || *province == '\0' || strlen (province) > 256)
        {
          lk_http_reply_error (msg, 422, "invalid_field", _("Give a province"), "province");
          return;
        }
      node = lk_store_directory_schools (store, province, &error);
    }
  else if (g_str_equal (path, "/api/v1/directory/classes"))
    {
      const char *raw = query != NULL ? g_hash_table_lookup (query, "school") : NULL;
      gint64 school_id = lk_http_parse_id (raw);

      if (!lk_http_allow_methods (msg, "GET", "HEAD", NULL))
        return;
      if (school_id <= 0)
        {
          lk_http_reply_error (msg, 422, "invalid_field", _("Give a school id"), "school");
          return;
        }
      node = lk_store_directory_classes (store, school_id, &error);
    }
  else
    {
      lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
      return;
    }

  if (node == NULL)
    lk_http_reply_gerror (msg, error);
  else
    lk_http_reply_json_etag (msg, node);
}

void
lk_api_directory_register (LkServer   *server,
                           SoupServer *soup)
{
  lk_routes_add (server, soup, "/api/v1/directory", LK_JSON_MAX_BYTES, directory_cb);
}
