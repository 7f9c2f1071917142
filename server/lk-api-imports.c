/* lk-api-imports.c: step 1, the import frame, its echo and its commit
 *
 * POST /api/v1/imports                      (frame)    → 201 {batch_id, rows, checksum}
 * POST /api/v1/imports/{batch_id}/commit    {checksum} → 200 {inserted, updated, unchanged}
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-server"

#include "config.h"

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-http.h"
#include "lk-log.h"
#include "lk-routes.h"

static JsonNode *
row_errors_json (GPtrArray *errors)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_array (builder);
  for (guint i = 0; i < errors->len; i++)
    {
      LkRowError *row_error = g_ptr_array_index (errors, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "seq");
      json_builder_add_int_value (builder, row_error->seq);
      json_builder_set_member_name (builder, "field");
      json_builder_add_string_value (builder, row_error->field);
      json_builder_set_member_name (builder, "message");
      json_builder_add_string_value (builder, row_error->message);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  return json_builder_get_root (builder);
}

static void
upload (LkServer            *server,
        SoupServerMessage   *msg,
        const LkAuthContext *auth)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  const char *content_type;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *checksum = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) reply = NULL;
  gint64 batch_id;

  content_type = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);
  if (content_type == NULL || g_ascii_strcasecmp (content_type, LK_IMPORT_FRAME_CONTENT_TYPE) != 0)
    {
      lk_http_reply_error (msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                           _("The body must be an import frame"), NULL);
      return;
    }
  if (body->length > LK_IMPORT_MAX_BYTES)
    {
      lk_http_reply_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "payload_too_large",
                           _("The body is too large"), NULL);
      return;
    }

  bytes = soup_message_body_flatten (body);
  rows = lk_import_frame_parse (bytes, &error);
  if (rows == NULL)
    {
      if (g_error_matches (error, LK_ERROR, LK_ERROR_BAD_FRAME))
        lk_http_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "bad_frame", error->message, NULL);
      else
        lk_http_reply_error (msg, SOUP_STATUS_BAD_REQUEST, "invalid_json", error->message, NULL);
      return;
    }

  errors = lk_import_rows_validate (rows);
  if (errors->len > 0)
    {
      g_autoptr(JsonNode) rows_json = row_errors_json (errors);

      lk_http_reply_error_with (msg, 422, "invalid_rows", _("Some rows are not valid"), NULL,
                                "rows", rows_json);
      return;
    }

  /* A teacher imports only their own school. */
  if (!auth->operator)
    {
      g_autofree char *province = NULL;
      g_autofree char *school = NULL;

      if (!lk_store_school_get (lk_server_get_store (server), auth->school_id, &province, &school, &error))
        {
          lk_http_reply_gerror (msg, error);
          return;
        }
      for (guint i = 0; i < rows->len; i++)
        {
          LkImportRow *row = g_ptr_array_index (rows, i);

          if (!g_str_equal (row->province, province) || !g_str_equal (row->school, school))
            {
              g_autoptr(GPtrArray) denied = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_row_error_free);
              g_autoptr(JsonNode) rows_json = NULL;

              g_ptr_array_add (denied, lk_row_error_new (row->seq,
                                                         g_str_equal (row->province, province) ? "school" : "province",
                                                         _("A teacher may import only their own school")));
              rows_json = row_errors_json (denied);
              lk_http_reply_error_with (msg, SOUP_STATUS_FORBIDDEN, "forbidden",
                                        _("A teacher may import only their own school"),
                                        g_str_equal (row->province, province) ? "school" : "province",
                                        "rows", rows_json);
              return;
            }
        }
    }

  payload = lk_import_rows_canonical_json (rows);
  checksum = lk_import_rows_checksum (rows);
  batch_id = lk_store_import_create (lk_server_get_store (server), auth->user_id, rows->len,
                                     checksum, payload, &error);
  if (batch_id == 0)
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  {
    g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, batch_id);
    g_autofree char *n = g_strdup_printf ("%u", rows->len);

    lk_log_event (G_LOG_LEVEL_INFO, "Import frame stored", "LK_BATCH_ID", id, "LK_ROWS", n, NULL);
  }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "batch_id");
  json_builder_add_int_value (builder, batch_id);
  json_builder_set_member_name (builder, "rows");
  json_builder_add_value (builder, lk_import_rows_to_json (rows));
  json_builder_set_member_name (builder, "checksum");
  json_builder_add_string_value (builder, checksum);
  json_builder_end_object (builder);
  reply = json_builder_get_root (builder);
  lk_http_reply_json (msg, SOUP_STATUS_CREATED, reply);
}

static void
commit (LkServer            *server,
        SoupServerMessage   *msg,
        const LkAuthContext *auth,
        gint64               batch_id)
{
  LkConfig *config = lk_server_get_config (server);
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *checksum = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  g_autoptr(JsonNode) reply = NULL;
  LkImportResult result;

  body = lk_http_read_json_object (msg, LK_JSON_MAX_BYTES, &error);
  if (body == NULL
      || !lk_json_only_members (body, &error, "checksum", NULL)
      || (checksum = lk_json_require_string (body, "checksum", 64, &error)) == NULL)
    {
      lk_http_reply_gerror (msg, error);
      return;
    }
  if (!lk_store_import_commit (lk_server_get_store (server), batch_id, auth->user_id,
                               auth->operator ? 0 : auth->school_id, checksum,
                               lk_config_get_digest_alg (config), lk_config_get_digest_iterations (config),
                               &result, &error))
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
        lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is no such import"), NULL);
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_FORBIDDEN))
        lk_http_reply_error (msg, SOUP_STATUS_FORBIDDEN, "forbidden",
                             _("This import belongs to someone else"), NULL);
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT))
        lk_http_reply_error (msg, SOUP_STATUS_CONFLICT, "batch_not_pending",
                             _("This import was already applied"), NULL);
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_INVALID))
        lk_http_reply_error (msg, 422, "checksum_mismatch",
                             _("The checksum does not match the stored rows"), "checksum");
      else
        lk_http_reply_gerror (msg, error);
      return;
    }

  {
    g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, batch_id);
    g_autofree char *counts = g_strdup_printf ("%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
                                               result.inserted, result.updated, result.unchanged);

    lk_log_event (G_LOG_LEVEL_INFO, "Import applied", "LK_BATCH_ID", id,
                  "LK_INSERTED_UPDATED_UNCHANGED", counts, NULL);
  }

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "inserted");
  json_builder_add_int_value (builder, result.inserted);
  json_builder_set_member_name (builder, "updated");
  json_builder_add_int_value (builder, result.updated);
  json_builder_set_member_name (builder, "unchanged");
  json_builder_add_int_value (builder, result.unchanged);
  json_builder_end_object (builder);
  reply = json_builder_get_root (builder);
  lk_http_reply_json (msg, SOUP_STATUS_OK, reply);
}

static void
imports_cb (LkServer          *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query)
{
  LkAuthContext auth;
  g_auto(GStrv) parts = NULL;

  if (g_str_equal (path, "/api/v1/imports"))
    {
      if (lk_http_allow_methods (msg, "POST", NULL) && lk_http_require_staff (server, msg, &auth))
        upload (server, msg, &auth);
      return;
    }

  /* "", "api", "v1", "imports", id, "commit" */
  parts = g_strsplit (path, "/", 0);
  if (g_strv_length (parts) == 6 && g_str_equal (parts[5], "commit") && lk_http_parse_id (parts[4]) > 0)
    {
      if (lk_http_allow_methods (msg, "POST", NULL) && lk_http_require_staff (server, msg, &auth))
        commit (server, msg, &auth, lk_http_parse_id (parts[4]));
      return;
    }
  lk_http_reply_error (msg, SOUP_STATUS_NOT_FOUND, "not_found", _("There is nothing here"), NULL);
}

void
lk_api_imports_register (LkServer   *server,
                         SoupServer *soup)
{
  lk_routes_add (server, soup, "/api/v1/imports", LK_IMPORT_MAX_BYTES, imports_cb);
}
