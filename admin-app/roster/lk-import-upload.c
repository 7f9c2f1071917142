/* lk-import-upload.c: the framed double handshake of DESIGN.md step 1
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lingka-common.h"
#include "lk-import-upload.h"

#define DEFAULT_MAX_ATTEMPTS 3
/* A short pause before the next attempt, longer each time: a server that just failed
 * under load gets a moment, a teacher waits at most a second or two. */
#define RETRY_DELAY_MS 250

struct _LkImportUpload
{
  GObject      parent_instance;

  LkApiClient *client;
  GPtrArray   *rows;
  guint        max_attempts;

  /* the run */
  GTask       *task;
  GBytes      *frame;
  char        *checksum;
  guint        attempt;
  char        *batch_id;
  char        *last_reason;
  GSource     *retry_source;
  GPtrArray   *row_errors;
};

G_DEFINE_FINAL_TYPE (LkImportUpload, lk_import_upload, G_TYPE_OBJECT)

G_DEFINE_QUARK (lk-upload-error-quark, lk_upload_error)

enum {
  PROP_0,
  PROP_CLIENT,
  PROP_ROWS,
  PROP_MAX_ATTEMPTS,
  PROP_ATTEMPT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  PROGRESS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void start_attempt (LkImportUpload *self);

static void
cancel_retry (LkImportUpload *self)
{
  if (self->retry_source != NULL)
    {
      g_source_destroy (self->retry_source);
      g_clear_pointer (&self->retry_source, g_source_unref);
    }
}

static void
emit_progress (LkImportUpload *self,
               double          fraction,
               const char     *stage)
{
  g_signal_emit (self, signals[PROGRESS], 0, fraction, stage);
}

/* Progress within the current attempt: each attempt restarts the bar's sending part. */
static void
emit_stage (LkImportUpload *self,
            double          fraction,
            const char     *stage)
{
  g_autofree char *text = NULL;

  if (self->attempt > 1)
    text = g_strdup_printf (_("%s (attempt %u of %u)"), stage, self->attempt, self->max_attempts);
  emit_progress (self, fraction, text ? text : stage);
}

static void
finish_run (LkImportUpload *self,
            GError         *error,
            LkImportResult *result)
{
  g_autoptr(GTask) task = NULL;

  cancel_retry (self);
  task = g_steal_pointer (&self->task);
  if (error != NULL)
    {
      g_message ("import upload failed after %u attempt(s): %s", self->attempt, error->message);
      g_task_return_error (task, error);
      return;
    }

  emit_progress (self, 1.0, _("Upload succeeded"));
  g_task_return_pointer (task, g_memdup2 (result, sizeof *result), g_free);
}

static gboolean
is_retryable (const GError *error)
{
  if (error->domain != LK_API_ERROR)
    return TRUE;

  switch (error->code)
    {
    case LK_API_ERROR_TRANSPORT:
    case LK_API_ERROR_INVALID_RESPONSE:
    case LK_API_ERROR_SERVER:
    case LK_API_ERROR_CONFLICT:
      return TRUE;
    case LK_API_ERROR_BAD_REQUEST:
      /* bad_frame: the frame was damaged on the way; another copy may arrive whole. */
      return g_strcmp0 (lk_api_error_get_code (error), "bad_frame") == 0;
    default:
      return FALSE;
    }
}

static gboolean
on_retry_timeout_cb (gpointer user_data)
{
  LkImportUpload *self = user_data;

  g_clear_pointer (&self->retry_source, g_source_unref);
  start_attempt (self);
  return G_SOURCE_REMOVE;
}

/* One attempt failed. Retry while attempts remain, else fail with the reason. */
static void
attempt_failed (LkImportUpload *self,
                const char     *reason,
                gboolean        retryable)
{
  g_free (self->last_reason);
  self->last_reason = g_strdup (reason);
  g_debug ("import attempt %u of %u failed: %s", self->attempt, self->max_attempts, reason);

  if (g_task_return_error_if_cancelled (self->task))
    {
      g_clear_object (&self->task);
      return;
    }

  if (!retryable)
    {
      finish_run (self, g_error_new (LK_UPLOAD_ERROR, LK_UPLOAD_ERROR_REJECTED,
                                     _("Upload failed: %s"), reason), NULL);
      return;
    }

  if (self->attempt >= self->max_attempts)
    {
      finish_run (self, g_error_new (LK_UPLOAD_ERROR, LK_UPLOAD_ERROR_FAILED,
                                     g_dngettext (GETTEXT_PACKAGE,
                                                  "Upload failed: %s (after %u attempt)",
                                                  "Upload failed: %s (after %u attempts)",
                                                  self->attempt),
                                     reason, self->attempt), NULL);
      return;
    }

  emit_progress (self, 0.0, _("Sending again…"));
  {
    /* in the run's context, which need not be the global default (the CLI has its own) */
    self->retry_source = g_timeout_source_new (RETRY_DELAY_MS * self->attempt);
    g_source_set_callback (self->retry_source, on_retry_timeout_cb, self, NULL);
    g_source_set_static_name (self->retry_source, "[lingka] import retry");
    g_source_attach (self->retry_source, g_task_get_context (self->task));
  }
}

static void
on_commit_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(LkImportUpload) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = NULL;
  LkImportResult import_result = { 0 };
  JsonObject *object;

  answer = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  if (answer == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        finish_run (self, g_steal_pointer (&error), NULL);
      else
        {
          g_autofree char *reason = g_strdup_printf (_("the server did not apply the import: %s"),
                                                     error->message);
          attempt_failed (self, reason, is_retryable (error));
        }
      return;
    }

  if (!JSON_NODE_HOLDS_OBJECT (answer))
    {
      attempt_failed (self, _("the server's answer to the commit is not a JSON object"), TRUE);
      return;
    }

  object = json_node_get_object (answer);
  import_result.batch_id = g_ascii_strtoll (self->batch_id, NULL, 10);
  import_result.inserted = json_object_get_int_member_with_default (object, "inserted", 0);
  import_result.updated = json_object_get_int_member_with_default (object, "updated", 0);
  import_result.unchanged = json_object_get_int_member_with_default (object, "unchanged", 0);
  import_result.attempts = self->attempt;
  g_debug ("import batch %s committed: %" G_GINT64_FORMAT " inserted, %" G_GINT64_FORMAT
           " updated, %" G_GINT64_FORMAT " unchanged", self->batch_id, import_result.inserted,
           import_result.updated, import_result.unchanged);

  finish_run (self, NULL, &import_result);
}

static void
send_commit (LkImportUpload *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autofree char *escaped = g_uri_escape_string (self->batch_id, NULL, FALSE);
  g_autofree char *path = g_strdup_printf (LK_API_PREFIX "/imports/%s/commit", escaped);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "checksum");
  json_builder_add_string_value (builder, self->checksum);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);

  emit_stage (self, 0.8, _("Applying the import"));
  lk_api_client_request_async (self->client, SOUP_METHOD_POST, path, body,
                               g_task_get_cancellable (self->task), on_commit_cb,
                               g_object_ref (self));
}

/* The expected echo, and the server's answer to compare with it, for a worker thread. */
typedef struct
{
  JsonNode *answer;    /* dropped in the thread: freeing 100,000 echoed rows takes time too */
  guint     n_rows;
  char     *checksum;
  char     *batch_id;  /* from the answer */
} EchoCheck;

static void
echo_check_free (EchoCheck *check)
{
  g_clear_pointer (&check->answer, json_node_unref);
  g_free (check->checksum);
  g_free (check->batch_id);
  g_free (check);
}

/* Compares the echo with what was sent. Returns NULL on a match, else the reason. */
static char *
compare_echo (JsonObject *answer,
              guint       n_rows,
              const char *checksum)
{
  g_autoptr(GPtrArray) echoed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *echo_checksum = NULL;
  const char *claimed;
  JsonNode *rows;

  rows = json_object_get_member (answer, "rows");
  claimed = json_object_get_string_member_with_default (answer, "checksum", NULL);
  if (rows == NULL || claimed == NULL)
    return g_strdup (_("the server's answer has no echo of the rows"));

  echoed = lk_import_rows_from_json (rows, &error);
  if (echoed == NULL)
    return g_strdup_printf (_("the server's echo cannot be read: %s"), error->message);

  if (echoed->len != n_rows)
    return g_strdup_printf (_("the server stored %u rows, %u were sent"), echoed->len, n_rows);

  /* Check both the checksum the server claims and the rows it actually echoed. */
  echo_checksum = lk_import_rows_checksum (echoed);
  if (g_strcmp0 (echo_checksum, checksum) != 0 || g_strcmp0 (claimed, checksum) != 0)
    return g_strdup (_("the server's copy of the rows differs from what was sent"));

  return NULL;
}

/* Reading 100,000 echoed rows back and hashing them takes a while: not on the GUI thread. */
static void
compare_echo_thread_cb (GTask        *task,
                        gpointer      source_object,
                        gpointer      task_data,
                        GCancellable *cancellable)
{
  EchoCheck *check = task_data;
  JsonObject *answer = json_node_get_object (check->answer);
  char *mismatch = compare_echo (answer, check->n_rows, check->checksum);
  JsonNode *batch = json_object_get_member (answer, "batch_id");

  if (batch != NULL && JSON_NODE_TYPE (batch) == JSON_NODE_VALUE)
    {
      if (json_node_get_value_type (batch) == G_TYPE_STRING)
        check->batch_id = g_strdup (json_node_get_string (batch));
      else if (json_node_get_value_type (batch) == G_TYPE_INT64)
        check->batch_id = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (batch));
    }
  g_clear_pointer (&check->answer, json_node_unref);

  /* "" for a match: a NULL pointer result would read as an error */
  g_task_return_pointer (task, mismatch ? mismatch : g_strdup (""), g_free);
}

static void
on_echo_compared_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(LkImportUpload) self = user_data;
  g_autofree char *mismatch = g_task_propagate_pointer (G_TASK (result), NULL);
  EchoCheck *check = g_task_get_task_data (G_TASK (result));

  if (mismatch != NULL && *mismatch != '\0')
    {
      attempt_failed (self, mismatch, TRUE);
      return;
    }
  if (g_task_return_error_if_cancelled (self->task))
    {
      g_clear_object (&self->task);
      return;
    }

  g_free (self->batch_id);
  self->batch_id = g_steal_pointer (&check->batch_id);
  if (self->batch_id == NULL || *self->batch_id == '\0')
    {
      attempt_failed (self, _("the server's answer has no batch number"), TRUE);
      return;
    }

  send_commit (self);
}

static void
on_frame_posted_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(LkImportUpload) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GTask) compare = NULL;
  EchoCheck *check;

  answer = lk_api_client_post_bytes_finish (LK_API_CLIENT (source), result, NULL, &error);
  if (answer == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          finish_run (self, g_steal_pointer (&error), NULL);
          return;
        }
      if (g_strcmp0 (lk_api_error_get_code (error), "invalid_rows") == 0 ||
          (error->domain == LK_API_ERROR && error->code == LK_API_ERROR_INVALID &&
           lk_api_error_get_rows (error) != NULL))
        {
          GPtrArray *rows = lk_api_error_get_rows (error);

          g_clear_pointer (&self->row_errors, g_ptr_array_unref);
          self->row_errors = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_row_error_free);
          for (guint i = 0; rows != NULL && i < rows->len; i++)
            {
              LkRowError *e = g_ptr_array_index (rows, i);

              g_ptr_array_add (self->row_errors, lk_row_error_new (e->seq, e->field, e->message));
            }
          finish_run (self, g_error_new (LK_UPLOAD_ERROR, LK_UPLOAD_ERROR_INVALID_ROWS,
                                         g_dngettext (GETTEXT_PACKAGE,
                                                      "Upload failed: the server rejected %u row",
                                                      "Upload failed: the server rejected %u rows",
                                                      self->row_errors->len),
                                         self->row_errors->len), NULL);
          return;
        }
      attempt_failed (self, error->message, is_retryable (error));
      return;
    }

  if (!JSON_NODE_HOLDS_OBJECT (answer))
    {
      attempt_failed (self, _("the server's answer to the frame is not a JSON object"), TRUE);
      return;
    }

  emit_stage (self, 0.6, _("Comparing the server's copy"));
  check = g_new0 (EchoCheck, 1);
  check->answer = g_steal_pointer (&answer);
  check->n_rows = self->rows->len;
  check->checksum = g_strdup (self->checksum);
  compare = g_task_new (NULL, NULL, on_echo_compared_cb, g_object_ref (self));
  g_task_set_source_tag (compare, compare_echo_thread_cb);
  g_task_set_name (compare, "[lingka] compare echo");
  g_task_set_task_data (compare, check, (GDestroyNotify) echo_check_free);
  g_task_run_in_thread (compare, compare_echo_thread_cb);
}

static void
start_attempt (LkImportUpload *self)
{
  g_autofree char *stage = NULL;

  if (g_task_return_error_if_cancelled (self->task))
    {
      g_clear_object (&self->task);
      return;
    }

  self->attempt++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTEMPT]);
  stage = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Sending %u row", "Sending %u rows",
                                        self->rows->len), self->rows->len);
  emit_stage (self, 0.1, stage);
  lk_api_client_post_bytes_async (self->client, LK_API_PREFIX "/imports",
                                  LK_IMPORT_FRAME_CONTENT_TYPE, self->frame,
                                  g_task_get_cancellable (self->task), on_frame_posted_cb,
                                  g_object_ref (self));
}

typedef struct
{
  GBytes *frame;
  char   *checksum;
} Prepared;

static void
prepared_free (Prepared *prepared)
{
  g_clear_pointer (&prepared->frame, g_bytes_unref);
  g_free (prepared->checksum);
  g_free (prepared);
}

static void
prepare_thread_cb (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  GPtrArray *rows = task_data;
  Prepared *prepared = g_new0 (Prepared, 1);

  prepared->frame = lk_import_frame_build (rows);
  prepared->checksum = lk_import_rows_checksum (rows);
  g_task_return_pointer (task, prepared, (GDestroyNotify) prepared_free);
}

static void
on_prepared_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(LkImportUpload) self = user_data;
  Prepared *prepared = g_task_propagate_pointer (G_TASK (result), NULL);

  self->frame = g_steal_pointer (&prepared->frame);
  self->checksum = g_steal_pointer (&prepared->checksum);
  prepared_free (prepared);
  start_attempt (self);
}

static void
lk_import_upload_dispose (GObject *object)
{
  LkImportUpload *self = (LkImportUpload *) object;

  cancel_retry (self);
  g_clear_object (&self->client);

  G_OBJECT_CLASS (lk_import_upload_parent_class)->dispose (object);
}

static void
lk_import_upload_finalize (GObject *object)
{
  LkImportUpload *self = (LkImportUpload *) object;

  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_clear_pointer (&self->frame, g_bytes_unref);
  g_clear_pointer (&self->checksum, g_free);
  g_clear_pointer (&self->batch_id, g_free);
  g_clear_pointer (&self->last_reason, g_free);
  g_clear_pointer (&self->row_errors, g_ptr_array_unref);

  G_OBJECT_CLASS (lk_import_upload_parent_class)->finalize (object);
}

static void
lk_import_upload_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  LkImportUpload *self = LK_IMPORT_UPLOAD (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    case PROP_ROWS:
      g_value_set_boxed (value, self->rows);
      break;
    case PROP_MAX_ATTEMPTS:
      g_value_set_uint (value, self->max_attempts);
      break;
    case PROP_ATTEMPT:
      g_value_set_uint (value, self->attempt);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lk_import_upload_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  LkImportUpload *self = LK_IMPORT_UPLOAD (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      self->client = g_value_dup_object (value);
      break;
    case PROP_ROWS:
      self->rows = g_value_dup_boxed (value);
      break;
    case PROP_MAX_ATTEMPTS:
      lk_import_upload_set_max_attempts (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
lk_import_upload_class_init (LkImportUploadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lk_import_upload_dispose;
  object_class->finalize = lk_import_upload_finalize;
  object_class->get_property = lk_import_upload_get_property;
  object_class->set_property = lk_import_upload_set_property;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, LK_TYPE_API_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ROWS] =
    g_param_spec_boxed ("rows", NULL, NULL, G_TYPE_PTR_ARRAY,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MAX_ATTEMPTS] =
    g_param_spec_uint ("max-attempts", NULL, NULL, 1, 10, DEFAULT_MAX_ATTEMPTS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ATTEMPT] =
    g_param_spec_uint ("attempt", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * LkImportUpload::progress:
   * @fraction: 0 to 1 within the current attempt
   * @stage: what is happening, translated
   */
  signals[PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 2, G_TYPE_DOUBLE, G_TYPE_STRING);
}

static void
lk_import_upload_init (LkImportUpload *self)
{
  self->max_attempts = DEFAULT_MAX_ATTEMPTS;
}

LkImportUpload *
lk_import_upload_new (LkApiClient *client,
                      GPtrArray   *rows)
{
  g_return_val_if_fail (LK_IS_API_CLIENT (client), NULL);
  g_return_val_if_fail (rows != NULL, NULL);

  return g_object_new (LK_TYPE_IMPORT_UPLOAD, "client", client, "rows", rows, NULL);
}

LkApiClient *
lk_import_upload_get_client (LkImportUpload *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_UPLOAD (self), NULL);
  return self->client;
}

guint
lk_import_upload_get_max_attempts (LkImportUpload *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_UPLOAD (self), 0);
  return self->max_attempts;
}

void
lk_import_upload_set_max_attempts (LkImportUpload *self,
                                   guint           max_attempts)
{
  g_return_if_fail (LK_IS_IMPORT_UPLOAD (self));
  g_return_if_fail (max_attempts >= 1);

  if (self->max_attempts == max_attempts)
    return;
  self->max_attempts = max_attempts;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_ATTEMPTS]);
}

guint
lk_import_upload_get_attempt (LkImportUpload *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_UPLOAD (self), 0);
  return self->attempt;
}

GPtrArray *
lk_import_upload_get_row_errors (LkImportUpload *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_UPLOAD (self), NULL);
  return self->row_errors;
}

void
lk_import_upload_run_async (LkImportUpload      *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (LK_IS_IMPORT_UPLOAD (self));
  g_return_if_fail (self->task == NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, lk_import_upload_run_async);
  g_task_set_name (task, "[lingka] import upload");

  g_clear_pointer (&self->row_errors, g_ptr_array_unref);
  g_clear_pointer (&self->last_reason, g_free);
  self->attempt = 0;

  if (self->rows->len == 0)
    {
      g_task_return_new_error (task, LK_UPLOAD_ERROR, LK_UPLOAD_ERROR_EMPTY,
                               _("Upload failed: the roster has no rows"));
      return;
    }

  self->task = g_steal_pointer (&task);
  emit_progress (self, 0.0, _("Preparing the upload"));

  /* The frame and the expected echo are computed once, in a thread (100,000 rows take a
   * good part of a second); every attempt sends the same. */
  if (self->frame == NULL)
    {
      g_autoptr(GTask) prepare = g_task_new (NULL, NULL, on_prepared_cb, g_object_ref (self));

      g_task_set_source_tag (prepare, prepare_thread_cb);
      g_task_set_name (prepare, "[lingka] build import frame");
      g_task_set_task_data (prepare, g_ptr_array_ref (self->rows), (GDestroyNotify) g_ptr_array_unref);
      g_task_run_in_thread (prepare, prepare_thread_cb);
      return;
    }

  start_attempt (self);
}

gboolean
lk_import_upload_run_finish (LkImportUpload  *self,
                             GAsyncResult    *result,
                             LkImportResult  *out_result,
                             GError         **error)
{
  g_autofree LkImportResult *import_result = NULL;

  g_return_val_if_fail (LK_IS_IMPORT_UPLOAD (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lk_import_upload_run_async, FALSE);

  import_result = g_task_propagate_pointer (G_TASK (result), error);
  if (import_result == NULL)
    return FALSE;
  if (out_result != NULL)
    *out_result = *import_result;

  return TRUE;
}
