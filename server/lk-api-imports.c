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
#include "lk-json-guard.h"
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

/* Parsing a frame of up to 200,000 rows and applying it take long enough to stall every other
 * connection of the listener thread, so both run in a worker thread while the message is
 * paused (MEASURED.md, pitfall 6). The worker only computes the answer; the message is touched
 * on its own thread before and after. */
typedef struct
{
  LkServer          *server;
  SoupServerMessage *msg;
  LkAuthContext      auth;
  GBytes            *body;
  gint64             batch_id;
  char              *checksum;
  /* the answer */
  guint              status;
  JsonNode          *reply;
  char              *code;
  char              *message;
  char              *field;
  JsonNode          *rows;
  GError            *error;
} ImportJob;

static void
import_job_free (ImportJob *job)
{
  g_clear_object (&job->server);
  g_clear_object (&job->msg);
  g_clear_pointer (&job->body, g_bytes_unref);
  g_clear_pointer (&job->checksum, g_free);
  g_clear_pointer (&job->reply, json_node_unref);
  g_clear_pointer (&job->code, g_free);
  g_clear_pointer (&job->message, g_free);
  g_clear_pointer (&job->field, g_free);
  g_clear_pointer (&job->rows, json_node_unref);
  g_clear_error (&job->error);
  g_free (job);
}

static void
job_refuse (ImportJob  *job,
            guint       status,
            const char *code,
            const char *message,
            const char *field,
            JsonNode   *rows)
{
  job->status = status;
  job->code = g_strdup (code);
  job->message = g_strdup (message);
  job->field = g_strdup (field);
  job->rows = rows;
}

static void
upload_in_thread (ImportJob *job)
{
  LkStore *store = lk_server_get_store (job->server);
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *checksum = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  gint64 batch_id;

  if (!lk_json_depth_ok (g_bytes_get_data (job->body, NULL), g_bytes_get_size (job->body), LK_JSON_MAX_DEPTH))
    {
      job_refuse (job, SOUP_STATUS_BAD_REQUEST, "invalid_json", _("The rows are nested too deeply"), NULL, NULL);
      return;
    }
  rows = lk_import_frame_parse (job->body, &error);
  if (rows == NULL)
    {
      job_refuse (job, SOUP_STATUS_BAD_REQUEST,
                  g_error_matches (error, LK_ERROR, LK_ERROR_BAD_FRAME) ? "bad_frame" : "invalid_json",
                  error->message, NULL, NULL);
      return;
    }

  errors = lk_import_rows_validate (rows);
  if (errors->len > 0)
    {
      job_refuse (job, 422, "invalid_rows", _("Some rows are not valid"), NULL, row_errors_json (errors));
      return;
    }

  /* A teacher imports only their own school. */
  if (!job->auth.operator)
    {
      g_autofree char *province = NULL;
      g_autofree char *school = NULL;

      if (!lk_store_school_get (store, job->auth.school_id, &province, &school, &job->error))
        return;
      for (guint i = 0; i < rows->len; i++)
        {
          LkImportRow *row = g_ptr_array_index (rows, i);
          const char *field = g_str_equal (row->province, province) ? "school" : "province";
          g_autoptr(GPtrArray) denied = NULL;

          if (g_str_equal (row->province, province) && g_str_equal (row->school, school))
            continue;
          denied = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_row_error_free);
          g_ptr_array_add (denied, lk_row_error_new (row->seq, field,
                                                     _("A teacher may import only their own school")));
          job_refuse (job, SOUP_STATUS_FORBIDDEN, "forbidden",
                      _("A teacher may import only their own school"), field, row_errors_json (denied));
          return;
        }
    }

  payload = lk_import_rows_canonical_json (rows);
  checksum = lk_import_rows_checksum (rows);
  batch_id = lk_store_import_create (store, job->auth.user_id, rows->len, checksum, payload, &job->error);
  if (batch_id == 0)
    return;
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
  job->status = SOUP_STATUS_CREATED;
  job->reply = json_builder_get_root (builder);
}

static void
commit_in_thread (ImportJob *job)
{
  LkConfig *config = lk_server_get_config (job->server);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonBuilder) builder = NULL;
  LkStoreImportResult result;

  if (!lk_store_import_commit (lk_server_get_store (job->server), job->batch_id, job->auth.user_id,
                               job->auth.operator ? 0 : job->auth.school_id, job->checksum,
                               lk_config_get_digest_alg (config), lk_config_get_digest_iterations (config),
                               &result, &error))
    {
      if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_NOT_FOUND))
        job_refuse (job, SOUP_STATUS_NOT_FOUND, "not_found", _("There is no such import"), NULL, NULL);
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_FORBIDDEN))
        job_refuse (job, SOUP_STATUS_FORBIDDEN, "forbidden", _("This import belongs to someone else"), NULL, NULL);
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_CONFLICT))
        job_refuse (job, SOUP_STATUS_CONFLICT, "batch_not_pending", _("This import was already applied"), NULL, NULL);
      else if (g_error_matches (error, LK_STORE_ERROR, LK_STORE_ERROR_INVALID))
        job_refuse (job, 422, "checksum_mismatch", _("The checksum does not match the stored rows"),
                    "checksum", NULL);
      else
        job->error = g_steal_pointer (&error);
      return;
    }

  {
    g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, job->batch_id);
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
  job->status = SOUP_STATUS_OK;
  job->reply = json_builder_get_root (builder);
}

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  ImportJob *job = task_data;

  if (job->body != NULL)
    upload_in_thread (job);
  else
    commit_in_thread (job);
  g_task_return_boolean (task, TRUE);
}

/* Back on the listener thread: answer and let the message go on. */
static void
on_job_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  ImportJob *job = g_task_get_task_data (G_TASK (result));
  SoupServerMessage *msg = job->msg;

  if (job->error != NULL)
    lk_http_reply_gerror (msg, job->error);
  else if (job->reply != NULL)
    lk_http_reply_json (msg, job->status, job->reply);
  else
    lk_http_reply_error_with (msg, job->status, job->code, job->message, job->field,
                              job->rows != NULL ? "rows" : NULL, job->rows);
  soup_server_message_unpause (msg);
}

static void
run_job (ImportJob *job)
{
  g_autoptr(GTask) task = NULL;

  /* The task returns on this thread's context: the listener's. */
  soup_server_message_pause (job->msg);
  task = g_task_new (NULL, NULL, on_job_done_cb, NULL);
  g_task_set_source_tag (task, run_job);
  g_task_set_task_data (task, job, (GDestroyNotify) import_job_free);
  g_task_run_in_thread (task, job_thread);
}

static void
upload (LkServer            *server,
        SoupServerMessage   *msg,
        const LkAuthContext *auth)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  const char *content_type;
  ImportJob *job;

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

  job = g_new0 (ImportJob, 1);
  job->server = g_object_ref (server);
  job->msg = g_object_ref (msg);
  job->auth = *auth;
  job->body = soup_message_body_flatten (body);
  run_job (job);
}

static void
commit (LkServer            *server,
        SoupServerMessage   *msg,
        const LkAuthContext *auth,
        gint64               batch_id)
{
  g_autoptr(JsonObject) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *checksum = NULL;
  ImportJob *job;

  body = lk_http_read_json_object (msg, LK_JSON_MAX_BYTES, &error);
  if (body == NULL
      || !lk_json_only_members (body, &error, "checksum", NULL)
      || (checksum = lk_json_require_string (body, "checksum", 64, &error)) == NULL)
    {
      lk_http_reply_gerror (msg, error);
      return;
    }

  job = g_new0 (ImportJob, 1);
  job->server = g_object_ref (server);
  job->msg = g_object_ref (msg);
  job->auth = *auth;
  job->batch_id = batch_id;
  job->checksum = g_steal_pointer (&checksum);
  run_job (job);
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
