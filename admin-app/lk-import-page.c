/* lk-import-page.c: choose or drop a roster → preview with errors → upload → result
 *
 * The reader runs in a thread (lk_roster_read_file_async) and the preview is a GListModel
 * over the row array, so a 100,000-row file never freezes the window. Nothing is sent before
 * the teacher presses "Upload"; rows with errors (from the reader, or rejected by the server)
 * stop the upload. Students the server already has under another name or class are shown as
 * warnings: the import will update them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lk-admin-json.h"
#include "lk-import-page.h"
#include "lk-import-preview-row.h"
#include "lk-protocol.h"
#include "lk-roster-reader.h"
#include "lk-roster-writer.h"

/* Looking up conflicts lists the school's students page by page; past this many rows the
 * server's own checks on upload are enough. */
#define CONFLICT_CHECK_MAX_ROWS 20000
#define CONFLICT_CHECK_MAX_PAGES 200

struct _LkImportPage
{
  GtkWidget          parent_instance;

  GtkStack          *stack;
  GtkLabel          *choose_error_label;
  AdwStatusPage     *reading_page;
  GtkProgressBar    *reading_progress;
  GtkLabel          *preview_title;
  GtkLabel          *preview_summary;
  GtkLabel          *preview_general;
  GtkToggleButton   *errors_only_toggle;
  GtkButton         *upload_button;
  GtkColumnView     *preview_view;
  AdwStatusPage     *uploading_page;
  GtkProgressBar    *upload_progress;
  AdwStatusPage     *result_page;
  GtkButton         *retry_button;
  GtkButton         *back_button;
  GtkButton         *another_button;

  LkApiClient       *client;
  LkImportPreview   *preview;
  GtkFilterListModel *filtered;
  GtkCustomFilter   *errors_only_filter;
  GCancellable      *cancellable;
  LkImportUpload    *upload;
  char              *file_name;
  guint              max_attempts;
  gboolean           checking;
  gboolean           has_result;
  LkImportResult     result;

  /* the conflict look-up */
  GPtrArray         *server_students;
  gint64             conflict_page;
};

G_DEFINE_FINAL_TYPE (LkImportPage, lk_import_page, GTK_TYPE_WIDGET)

enum {
  IMPORTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  COLUMN_SEQ,
  COLUMN_PROVINCE,
  COLUMN_SCHOOL,
  COLUMN_NAME,
  COLUMN_CLASS,
  COLUMN_STUDENT_NO,
  COLUMN_CARD_NO,
  COLUMN_PROBLEM,
};

static void
reset_cancellable (LkImportPage *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
}

static void
show_choose_error (LkImportPage *self,
                   const char   *message)
{
  gtk_label_set_label (self->choose_error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->choose_error_label), message != NULL);
}

static void
update_preview_header (LkImportPage *self)
{
  GPtrArray *rows = lk_import_preview_get_rows (self->preview);
  guint n_rows = rows != NULL ? rows->len : 0;
  guint n_errors = lk_import_preview_get_n_error_rows (self->preview);
  guint n_warnings = lk_import_preview_get_n_warning_rows (self->preview);
  const char *general = lk_import_preview_get_general_problems (self->preview);
  g_autofree char *title = NULL;
  g_autoptr (GString) summary = g_string_new (NULL);

  /* 第 2 步，共 3 步：检查 名单.xlsx */
  title = g_strdup_printf (_("Step 2 of 3: check %s"), self->file_name ? self->file_name : "");
  gtk_label_set_label (self->preview_title, title);

  g_string_append_printf (summary, ngettext ("%u row read", "%u rows read", n_rows), n_rows);
  if (n_errors > 0)
    {
      g_string_append (summary, " · ");
      g_string_append_printf (summary, ngettext ("%u row has errors: correct the file and choose it again",
                                                 "%u rows have errors: correct the file and choose it again",
                                                 n_errors), n_errors);
    }
  else if (n_rows > 0)
    {
      g_string_append (summary, " · ");
      g_string_append (summary, _("no errors"));
    }
  if (n_warnings > 0)
    {
      g_string_append (summary, " · ");
      g_string_append_printf (summary, ngettext ("%u student will be updated on the server",
                                                 "%u students will be updated on the server",
                                                 n_warnings), n_warnings);
    }
  if (self->checking)
    {
      g_string_append (summary, " · ");
      g_string_append (summary, _("comparing with the server…"));
    }
  gtk_label_set_label (self->preview_summary, summary->str);

  gtk_label_set_label (self->preview_general, general != NULL ? general : "");
  gtk_widget_set_visible (GTK_WIDGET (self->preview_general), general != NULL);

  gtk_widget_set_sensitive (GTK_WIDGET (self->upload_button),
                            lk_import_page_get_can_upload (self));
}

static gboolean
errors_only_filter_func (gpointer item,
                         gpointer user_data)
{
  return lk_import_preview_row_get_problem (item) != NULL;
}

static void
on_errors_only_toggled_cb (LkImportPage *self)
{
  gtk_filter_list_model_set_filter (self->filtered,
                                    gtk_toggle_button_get_active (self->errors_only_toggle)
                                    ? GTK_FILTER (self->errors_only_filter) : NULL);
}

/* --- the conflict look-up --- */

static void fetch_conflict_page (LkImportPage *self);

static void
on_conflict_page_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr (LkImportPage) self = user_data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;
  JsonArray *array;
  gint64 total;

  node = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  if (node == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  array = lk_admin_json_list (node, "students", "items", NULL);
  if (array == NULL)
    {
      /* The server checks the rows again on upload; the preview only loses its warnings. */
      g_message ("Cannot compare the roster with the server: %s",
                 error != NULL ? error->message : "unexpected answer");
      self->checking = FALSE;
      g_clear_pointer (&self->server_students, g_ptr_array_unref);
      update_preview_header (self);
      return;
    }

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_OBJECT (element))
        g_ptr_array_add (self->server_students, json_object_ref (json_node_get_object (element)));
    }
  total = JSON_NODE_HOLDS_OBJECT (node)
    ? lk_admin_json_int (json_node_get_object (node), "total", self->server_students->len)
    : (gint64) self->server_students->len;

  if (json_array_get_length (array) > 0 && (gint64) self->server_students->len < total &&
      self->conflict_page < CONFLICT_CHECK_MAX_PAGES)
    {
      self->conflict_page++;
      fetch_conflict_page (self);
      return;
    }

  {
    g_autoptr (GPtrArray) conflicts =
      lk_roster_find_conflicts (lk_import_preview_get_rows (self->preview), self->server_students);

    lk_import_preview_add_problems (self->preview, conflicts, FALSE);
  }
  g_clear_pointer (&self->server_students, g_ptr_array_unref);
  self->checking = FALSE;
  update_preview_header (self);
}

static void
fetch_conflict_page (LkImportPage *self)
{
  g_autofree char *path = g_strdup_printf (LK_API_PREFIX "/students?page=%" G_GINT64_FORMAT,
                                           self->conflict_page);

  lk_api_client_request_async (self->client, "GET", path, NULL, self->cancellable,
                               on_conflict_page_cb, g_object_ref (self));
}

static void
start_conflict_check (LkImportPage *self)
{
  GPtrArray *rows = lk_import_preview_get_rows (self->preview);

  if (self->client == NULL || !lk_api_client_is_logged_in (self->client) ||
      rows == NULL || rows->len == 0 || rows->len > CONFLICT_CHECK_MAX_ROWS)
    return;

  self->checking = TRUE;
  self->conflict_page = 1;
  g_clear_pointer (&self->server_students, g_ptr_array_unref);
  self->server_students = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  fetch_conflict_page (self);
}

/* --- reading --- */

static void
on_read_progress_cb (double   fraction,
                     gpointer user_data)
{
  LkImportPage *self = user_data;

  gtk_progress_bar_set_fraction (self->reading_progress, CLAMP (fraction, 0.0, 1.0));
}

static void
on_read_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr (LkImportPage) self = user_data;
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (GPtrArray) errors = NULL;
  g_autoptr (GError) error = NULL;

  rows = lk_roster_read_file_finish (result, &errors, &error);
  if (rows == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      show_choose_error (self, error->message);
      gtk_stack_set_visible_child_name (self->stack, "choose");
      return;
    }

  gtk_toggle_button_set_active (self->errors_only_toggle, FALSE);
  lk_import_preview_set_rows (self->preview, rows, errors);
  g_debug ("Roster read: %u rows, %u errors", rows->len, errors != NULL ? errors->len : 0);

  start_conflict_check (self);
  update_preview_header (self);
  gtk_stack_set_visible_child_name (self->stack, "preview");
}

static void
on_cancel_clicked_cb (LkImportPage *self)
{
  reset_cancellable (self);
  gtk_stack_set_visible_child_name (self->stack, "choose");
}

static void
on_back_to_preview_cb (LkImportPage *self)
{
  update_preview_header (self);
  gtk_stack_set_visible_child_name (self->stack, "preview");
}

/* --- uploading --- */

static void
on_upload_progress_cb (LkImportUpload *upload,
                       double          fraction,
                       const char     *stage,
                       gpointer        user_data)
{
  LkImportPage *self = user_data;
  g_autofree char *text = NULL;

  gtk_progress_bar_set_fraction (self->upload_progress, CLAMP (fraction, 0.0, 1.0));
  /* 第 1 次，共 3 次 */
  text = g_strdup_printf (_("Attempt %u of %u"), lk_import_upload_get_attempt (upload),
                          lk_import_upload_get_max_attempts (upload));
  gtk_progress_bar_set_text (self->upload_progress, text);
  if (stage != NULL)
    adw_status_page_set_description (self->uploading_page, stage);
}

static void
show_result (LkImportPage *self,
             gboolean      success,
             const char   *description)
{
  /* The two words the teacher looks for: 上传成功 / 上传失败. */
  adw_status_page_set_title (self->result_page, success ? _("Upload succeeded") : _("Upload failed"));
  adw_status_page_set_icon_name (self->result_page,
                                 success ? "emblem-ok-symbolic" : "dialog-error-symbolic");
  adw_status_page_set_description (self->result_page, description);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), !success);
  gtk_widget_set_visible (GTK_WIDGET (self->back_button), !success);
  gtk_widget_set_visible (GTK_WIDGET (self->another_button), success);
  gtk_stack_set_visible_child_name (self->stack, "result");
}

static void
on_upload_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (LkImportPage) self = user_data;
  LkImportUpload *upload = LK_IMPORT_UPLOAD (source);
  g_autoptr (GError) error = NULL;
  LkImportResult counts = { 0, };

  g_signal_handlers_disconnect_by_func (upload, on_upload_progress_cb, self);

  if (!lk_import_upload_run_finish (upload, result, &counts, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      if (g_error_matches (error, LK_UPLOAD_ERROR, LK_UPLOAD_ERROR_INVALID_ROWS))
        {
          /* Back to the preview, with the server's reasons on the rows. */
          lk_import_preview_add_problems (self->preview, lk_import_upload_get_row_errors (upload),
                                          TRUE);
          gtk_toggle_button_set_active (self->errors_only_toggle, TRUE);
          update_preview_header (self);
          gtk_stack_set_visible_child_name (self->stack, "preview");
          return;
        }

      g_message ("Roster upload failed: %s", error->message);
      show_result (self, FALSE, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->retry_button),
                              !g_error_matches (error, LK_UPLOAD_ERROR, LK_UPLOAD_ERROR_REJECTED));
      return;
    }

  self->result = counts;
  self->has_result = TRUE;

  {
    g_autofree char *description = NULL;

    /* 12 新增 · 3 更新 · 40 未变 */
    description = g_strdup_printf (_("%d added · %d updated · %d unchanged"),
                                   (int) counts.inserted, (int) counts.updated,
                                   (int) counts.unchanged);
    show_result (self, TRUE, description);
  }

  g_signal_emit (self, signals[IMPORTED], 0);
}

/* --- files --- */

static void
on_open_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     gpointer         user_data)
{
  LkImportPage *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (file != NULL)
        lk_import_page_open_file (self, file);
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
template_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GError *error = NULL;

  if (!lk_roster_write_template (task_data, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_template_written_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  LkImportPage *self = LK_IMPORT_PAGE (source);
  g_autoptr (GError) error = NULL;
  g_autofree char *message = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    message = g_strdup_printf (_("Cannot save the template: %s"), error->message);
  else
    message = g_strdup (_("Template saved"));
  gtk_widget_activate_action (GTK_WIDGET (self), "win.toast", "s", message);
}

static void
on_template_response_cb (GtkNativeDialog *dialog,
                         int              response,
                         gpointer         user_data)
{
  LkImportPage *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        {
          g_autofree char *xlsx = g_str_has_suffix (path, ".xlsx") ? g_strdup (path)
                                                                   : g_strconcat (path, ".xlsx", NULL);

          lk_import_page_save_template_to_file (self, xlsx);
        }
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static gboolean
on_drop_cb (GtkDropTarget *target,
            const GValue  *value,
            double         x,
            double         y,
            gpointer       user_data)
{
  LkImportPage *self = user_data;
  GFile *file = NULL;

  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      GSList *files = g_value_get_boxed (value);

      if (files != NULL)
        file = files->data;
    }
  else if (G_VALUE_HOLDS (value, G_TYPE_FILE))
    file = g_value_get_object (value);

  if (file == NULL || self->client == NULL)
    return FALSE;

  lk_import_page_open_file (self, file);
  return TRUE;
}

/* --- the preview's columns --- */

static void
setup_cell_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               gpointer                  user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  if (GPOINTER_TO_INT (user_data) == COLUMN_PROBLEM)
    gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  else
    gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_list_item_set_child (item, label);
}

static void
bind_cell_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              gpointer                  user_data)
{
  LkImportPreviewRow *preview_row = gtk_list_item_get_item (item);
  const LkImportRow *row = lk_import_preview_row_get_row (preview_row);
  GtkWidget *label = gtk_list_item_get_child (item);
  gboolean blocking = lk_import_preview_row_get_blocking (preview_row);
  const char *problem = lk_import_preview_row_get_problem (preview_row);
  g_autofree char *seq = NULL;
  const char *text = NULL;

  switch (GPOINTER_TO_INT (user_data))
    {
    case COLUMN_SEQ:
      text = seq = g_strdup_printf ("%" G_GINT64_FORMAT, row->seq);
      break;
    case COLUMN_PROVINCE:
      text = row->province;
      break;
    case COLUMN_SCHOOL:
      text = row->school;
      break;
    case COLUMN_NAME:
      text = lk_import_preview_row_get_masked_name (preview_row);
      break;
    case COLUMN_CLASS:
      text = row->klass;
      break;
    case COLUMN_STUDENT_NO:
      text = row->student_no;
      break;
    case COLUMN_CARD_NO:
      text = row->card_no;
      break;
    case COLUMN_PROBLEM:
      text = problem;
      break;
    default:
      g_assert_not_reached ();
    }

  gtk_label_set_label (GTK_LABEL (label), text != NULL ? text : "");
  /* A row with an error is red from end to end; a warning only in its problem column. */
  if (blocking || (problem != NULL && GPOINTER_TO_INT (user_data) == COLUMN_PROBLEM))
    gtk_widget_add_css_class (label, blocking ? "row-error" : "warning");
  else
    {
      gtk_widget_remove_css_class (label, "row-error");
      gtk_widget_remove_css_class (label, "warning");
    }
  if (!blocking)
    gtk_widget_remove_css_class (label, "row-error");
}

static void
add_preview_column (LkImportPage *self,
                    const char   *title,
                    int           column,
                    gboolean      expand)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *view_column;

  g_signal_connect (factory, "setup", G_CALLBACK (setup_cell_cb), GINT_TO_POINTER (column));
  g_signal_connect (factory, "bind", G_CALLBACK (bind_cell_cb), GINT_TO_POINTER (column));
  view_column = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_expand (view_column, expand);
  gtk_column_view_column_set_resizable (view_column, TRUE);
  gtk_column_view_append_column (self->preview_view, view_column);
  g_object_unref (view_column);
}

static void
lk_import_page_dispose (GObject *object)
{
  LkImportPage *self = LK_IMPORT_PAGE (object);
  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->upload != NULL)
    g_signal_handlers_disconnect_by_data (self->upload, self);
  g_clear_object (&self->upload);
  g_clear_object (&self->client);

  gtk_widget_dispose_template (GTK_WIDGET (self), LK_TYPE_IMPORT_PAGE);
  /* The template's root child is not a bound child: unparent it ourselves. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  g_clear_object (&self->filtered);
  g_clear_object (&self->errors_only_filter);
  g_clear_object (&self->preview);
  g_clear_pointer (&self->server_students, g_ptr_array_unref);
  g_clear_pointer (&self->file_name, g_free);

  G_OBJECT_CLASS (lk_import_page_parent_class)->dispose (object);
}

static void
lk_import_page_class_init (LkImportPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lk_import_page_dispose;

  signals[IMPORTED] = g_signal_new ("imported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                    NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/cn/lingka/Admin/lk-import-page.ui");
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, stack);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, choose_error_label);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, reading_page);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, reading_progress);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, preview_title);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, preview_summary);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, preview_general);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, errors_only_toggle);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, upload_button);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, preview_view);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, uploading_page);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, upload_progress);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, result_page);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, retry_button);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, back_button);
  gtk_widget_class_bind_template_child (widget_class, LkImportPage, another_button);
  gtk_widget_class_bind_template_callback (widget_class, on_errors_only_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_cancel_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_back_to_preview_cb);
  gtk_widget_class_bind_template_callback (widget_class, lk_import_page_upload);
}

static void
lk_import_page_init (LkImportPage *self)
{
  GtkDropTarget *drop;
  GtkNoSelection *selection;
  GType types[] = { GDK_TYPE_FILE_LIST, G_TYPE_FILE };

  gtk_widget_init_template (GTK_WIDGET (self));

  self->max_attempts = 3;
  self->cancellable = g_cancellable_new ();
  self->preview = lk_import_preview_new ();
  self->errors_only_filter = gtk_custom_filter_new (errors_only_filter_func, NULL, NULL);
  self->filtered = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->preview)), NULL);
  /* Filtering 100,000 rows happens in slices between frames. */
  gtk_filter_list_model_set_incremental (self->filtered, TRUE);
  selection = gtk_no_selection_new (G_LIST_MODEL (g_object_ref (self->filtered)));
  gtk_column_view_set_model (self->preview_view, GTK_SELECTION_MODEL (selection));
  g_object_unref (selection);

  add_preview_column (self, _("No."), COLUMN_SEQ, FALSE);
  add_preview_column (self, _("Province"), COLUMN_PROVINCE, FALSE);
  add_preview_column (self, _("School"), COLUMN_SCHOOL, FALSE);
  add_preview_column (self, _("Name"), COLUMN_NAME, FALSE);
  add_preview_column (self, _("Class"), COLUMN_CLASS, FALSE);
  add_preview_column (self, _("Student No."), COLUMN_STUDENT_NO, FALSE);
  add_preview_column (self, _("IC Card No."), COLUMN_CARD_NO, FALSE);
  add_preview_column (self, _("Problem"), COLUMN_PROBLEM, TRUE);

  drop = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (drop, types, G_N_ELEMENTS (types));
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
}

void
lk_import_page_set_client (LkImportPage *self,
                           LkApiClient  *client)
{
  g_return_if_fail (LK_IS_IMPORT_PAGE (self));

  reset_cancellable (self);
  g_set_object (&self->client, client);
  g_clear_object (&self->upload);
  lk_import_preview_clear (self->preview);
  self->checking = FALSE;
  self->has_result = FALSE;
  show_choose_error (self, NULL);
  gtk_stack_set_visible_child_name (self->stack, "choose");
}

void
lk_import_page_choose_file (LkImportPage *self)
{
  GtkFileChooserNative *chooser;
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();

  g_return_if_fail (LK_IS_IMPORT_PAGE (self));

  chooser = gtk_file_chooser_native_new (_("Choose the Roster"),
                                         GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))),
                                         GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _("_Open"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Rosters (.xlsx, .xls, .csv)"));
  gtk_file_filter_add_suffix (filter, "xlsx");
  gtk_file_filter_add_suffix (filter, "xls");
  gtk_file_filter_add_suffix (filter, "csv");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_open_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

void
lk_import_page_open_file (LkImportPage *self,
                          GFile        *file)
{
  g_autofree char *description = NULL;

  g_return_if_fail (LK_IS_IMPORT_PAGE (self));
  g_return_if_fail (G_IS_FILE (file));

  reset_cancellable (self);
  g_clear_object (&self->upload);
  self->checking = FALSE;
  show_choose_error (self, NULL);
  g_free (self->file_name);
  self->file_name = g_file_get_basename (file);

  description = g_strdup_printf (_("Reading %s. Large files take a few seconds."), self->file_name);
  adw_status_page_set_description (self->reading_page, description);
  gtk_progress_bar_set_fraction (self->reading_progress, 0.0);
  gtk_stack_set_visible_child_name (self->stack, "reading");

  lk_roster_read_file_async (file, self->cancellable, on_read_progress_cb,
                            g_object_ref (self), g_object_unref,
                            on_read_cb, g_object_ref (self));
}

void
lk_import_page_save_template (LkImportPage *self)
{
  GtkFileChooserNative *chooser;
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();

  g_return_if_fail (LK_IS_IMPORT_PAGE (self));

  chooser = gtk_file_chooser_native_new (_("Save a Roster Template"),
                                         GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))),
                                         GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Save"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Excel workbook (.xlsx)"));
  gtk_file_filter_add_suffix (filter, "xlsx");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  /* 学生名单模板.xlsx */
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), _("roster-template.xlsx"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_template_response_cb),
                    g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

void
lk_import_page_save_template_to_file (LkImportPage *self,
                                      const char   *path)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (LK_IS_IMPORT_PAGE (self));
  g_return_if_fail (path != NULL);

  task = g_task_new (self, NULL, on_template_written_cb, NULL);
  g_task_set_source_tag (task, lk_import_page_save_template_to_file);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, template_thread);
}

void
lk_import_page_upload (LkImportPage *self)
{
  GPtrArray *rows;

  g_return_if_fail (LK_IS_IMPORT_PAGE (self));

  if (!lk_import_page_get_can_upload (self))
    return;

  rows = lk_import_preview_get_rows (self->preview);
  reset_cancellable (self);
  self->checking = FALSE;

  if (self->upload != NULL)
    g_signal_handlers_disconnect_by_data (self->upload, self);
  g_clear_object (&self->upload);
  self->upload = lk_import_upload_new (self->client, rows);
  lk_import_upload_set_max_attempts (self->upload, self->max_attempts);
  g_signal_connect (self->upload, "progress", G_CALLBACK (on_upload_progress_cb), self);

  gtk_progress_bar_set_fraction (self->upload_progress, 0.0);
  gtk_progress_bar_set_text (self->upload_progress, NULL);
  adw_status_page_set_description (self->uploading_page, NULL);
  gtk_stack_set_visible_child_name (self->stack, "uploading");

  lk_import_upload_run_async (self->upload, self->cancellable, on_upload_cb, g_object_ref (self));
}

void
lk_import_page_set_max_attempts (LkImportPage *self,
                                 guint         max_attempts)
{
  g_return_if_fail (LK_IS_IMPORT_PAGE (self));
  g_return_if_fail (max_attempts > 0);
  self->max_attempts = max_attempts;
}

const char *
lk_import_page_get_state (LkImportPage *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PAGE (self), NULL);
  return gtk_stack_get_visible_child_name (self->stack);
}

LkImportPreview *
lk_import_page_get_preview (LkImportPage *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PAGE (self), NULL);
  return self->preview;
}

gboolean
lk_import_page_get_checking (LkImportPage *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PAGE (self), FALSE);
  return self->checking;
}

gboolean
lk_import_page_get_can_upload (LkImportPage *self)
{
  GPtrArray *rows;

  g_return_val_if_fail (LK_IS_IMPORT_PAGE (self), FALSE);

  rows = lk_import_preview_get_rows (self->preview);
  return self->client != NULL && rows != NULL && rows->len > 0 &&
         lk_import_preview_get_n_error_rows (self->preview) == 0 &&
         lk_import_preview_get_general_problems (self->preview) == NULL;
}

const char *
lk_import_page_get_result_title (LkImportPage *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PAGE (self), NULL);
  return adw_status_page_get_title (self->result_page);
}

const char *
lk_import_page_get_result_description (LkImportPage *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PAGE (self), NULL);
  return adw_status_page_get_description (self->result_page);
}

gboolean
lk_import_page_get_can_retry (LkImportPage *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PAGE (self), FALSE);

  return g_strcmp0 (lk_import_page_get_state (self), "result") == 0 &&
         gtk_widget_get_visible (GTK_WIDGET (self->retry_button));
}

gboolean
lk_import_page_get_result (LkImportPage   *self,
                           LkImportResult *result)
{
  g_return_val_if_fail (LK_IS_IMPORT_PAGE (self), FALSE);

  if (self->has_result && result != NULL)
    *result = self->result;
  return self->has_result;
}
