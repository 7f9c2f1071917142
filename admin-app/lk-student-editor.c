/* lk-student-editor.c: add one student, or edit one, see their history, and cancel their open
 * card application
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lk-admin-json.h"
#include "lk-import-frame.h"
#include "lk-mask.h"
#include "lk-protocol.h"
#include "lk-student-editor.h"

struct _LkStudentEditor
{
  AdwWindow       parent_instance;

  AdwWindowTitle *window_title;
  GtkButton      *save_button;
  AdwEntryRow    *name_row;
  AdwEntryRow    *class_row;
  AdwEntryRow    *student_no_row;
  AdwEntryRow    *card_no_row;
  AdwEntryRow    *school_row;
  GtkLabel       *error_label;
  AdwPreferencesGroup *application_group;
  AdwActionRow   *application_row;
  GtkButton      *cancel_application_button;
  AdwPreferencesGroup *history_group;
  GtkListBox     *history_list;

  LkApiClient    *client;
  LkStudentItem  *student;
  GCancellable   *cancellable;
  guint           history_count;
  gboolean        application_cancelled;
};

G_DEFINE_FINAL_TYPE (LkStudentEditor, lk_student_editor, ADW_TYPE_WINDOW)

enum {
  SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static char *
row_text (AdwEntryRow *row)
{
  /* The same normalization as the import: trimmed, full-width ASCII folded. */
  return lk_normalize_text (gtk_editable_get_text (GTK_EDITABLE (row)));
}

static void
show_error (LkStudentEditor *self,
            const char      *message)
{
  gtk_label_set_label (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static const char *
reason_label (const char *reason)
{
  if (g_strcmp0 (reason, "import") == 0)
    return _("Roster import");
  if (g_strcmp0 (reason, "edit") == 0)
    return _("Edited");
  if (g_strcmp0 (reason, "card_bound") == 0)
    return _("Card bound");
  return reason != NULL ? reason : "";
}

static void
on_history_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (LkStudentEditor) self = user_data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;
  JsonArray *array;

  node = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  if (node == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error->message);
      return;
    }

  array = lk_admin_json_list (node, "history", "items", NULL);
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonObject *entry;
      g_autofree char *when = NULL;
      g_autofree char *title = NULL;
      g_autofree char *subtitle = NULL;
      g_autofree char *masked = NULL;
      const char *klass, *card_no, *name;
      GtkWidget *row;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        continue;
      entry = json_node_get_object (element);

      when = lk_admin_format_time (lk_admin_json_int (entry, "changed_at", 0));
      klass = lk_admin_json_string (entry, "class");
      if (klass == NULL)
        klass = lk_admin_json_string (entry, "class_name");
      card_no = lk_admin_json_string (entry, "card_no");
      name = lk_admin_json_string (entry, "name");
      masked = name != NULL ? lk_mask_name (name) : g_strdup ("");

      /* 版本 2 · 名单导入 */
      title = g_strdup_printf (_("Version %d · %s"),
                               (int) lk_admin_json_int (entry, "version", 0),
                               reason_label (lk_admin_json_string (entry, "reason")));
      subtitle = g_strdup_printf ("%s · %s · %s · %s · %s", when, masked,
                                  klass != NULL ? klass : "",
                                  lk_admin_json_string (entry, "student_no") ?: "",
                                  card_no != NULL ? card_no : _("no card"));

      row = adw_action_row_new ();
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
      gtk_list_box_append (self->history_list, row);
      self->history_count++;
    }

  if (self->history_count == 0)
    {
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("No earlier versions"));
      gtk_list_box_append (self->history_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->history_group), TRUE);
}

static void
on_saved_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (LkStudentEditor) self = user_data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;

  node = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  gtk_widget_set_sensitive (GTK_WIDGET (self->save_button), TRUE);
  if (node == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, error->message);
      return;
    }

  g_signal_emit (self, signals[SAVED], 0);
  gtk_window_close (GTK_WINDOW (self));
}

/* An application that staff may still cancel: applied, paid, or waiting at the kiosk. */
static gboolean
status_is_open (const char *status)
{
  return g_strcmp0 (status, LK_APP_VERIFIED) == 0 || g_strcmp0 (status, LK_APP_PAID) == 0
         || g_strcmp0 (status, LK_APP_CLAIMABLE) == 0;
}

static void
on_cancelled_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (LkStudentEditor) self = user_data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *subtitle = NULL;
  gint64 refund;

  node = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  if (node == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_application_button), TRUE);
          show_error (self, error->message);
        }
      return;
    }

  self->application_cancelled = TRUE;
  refund = lk_admin_json_int (json_node_get_object (node), "refund_due_fen", 0);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->application_row), _("Application cancelled"));
  if (refund > 0)
    {
      g_autofree char *amount = g_strdup_printf ("%" G_GINT64_FORMAT ".%02d", refund / 100, (int) (refund % 100));

      /* 应退 ¥20.00，请通过支付平台退还家长 */
      subtitle = g_strdup_printf (_("¥%s to refund to the parent through the payment platform"), amount);
    }
  else
    subtitle = g_strdup (_("Nothing was paid; nothing to refund"));
  adw_action_row_set_subtitle (self->application_row, subtitle);
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_application_button), FALSE);
  g_signal_emit (self, signals[SAVED], 0);
}

void
lk_student_editor_cancel_application (LkStudentEditor *self)
{
  g_autofree char *path = NULL;

  g_return_if_fail (LK_IS_STUDENT_EDITOR (self));
  g_return_if_fail (self->student != NULL);

  show_error (self, NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_application_button), FALSE);
  path = g_strdup_printf (LK_API_PREFIX "/students/%" G_GINT64_FORMAT "/application/cancel",
                          lk_student_item_get_id (self->student));
  lk_api_client_request_async (self->client, "POST", path, NULL, self->cancellable,
                               on_cancelled_cb, g_object_ref (self));
}

static void
on_confirm_response_cb (AdwMessageDialog *dialog,
                        const char       *response,
                        gpointer          user_data)
{
  LkStudentEditor *self = user_data;

  if (g_str_equal (response, "cancel-application"))
    lk_student_editor_cancel_application (self);
}

AdwMessageDialog *
lk_student_editor_confirm_cancel (LkStudentEditor *self)
{
  AdwMessageDialog *dialog;

  g_return_val_if_fail (LK_IS_STUDENT_EDITOR (self), NULL);

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), _("Cancel This Application?"),
                                                       NULL));
  adw_message_dialog_format_body (dialog,
                                  _("%s's claim code stops working at once, and no kiosk will issue a "
                                    "card with it. A fee already paid is to be refunded to the parent. "
                                    "The parent can apply again afterwards."),
                                  lk_student_item_get_masked_name (self->student));
  adw_message_dialog_add_responses (dialog,
                                    "keep", _("_Keep"),
                                    "cancel-application", _("_Cancel Application"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "cancel-application", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "keep");
  adw_message_dialog_set_close_response (dialog, "keep");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_confirm_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  return dialog;
}

static void
on_cancel_application_clicked_cb (LkStudentEditor *self)
{
  lk_student_editor_confirm_cancel (self);
}

gboolean
lk_student_editor_get_application_cancelled (LkStudentEditor *self)
{
  g_return_val_if_fail (LK_IS_STUDENT_EDITOR (self), FALSE);
  return self->application_cancelled;
}

static void
lk_student_editor_dispose (GObject *object)
{
  LkStudentEditor *self = LK_STUDENT_EDITOR (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  g_clear_object (&self->student);

  gtk_widget_dispose_template (GTK_WIDGET (self), LK_TYPE_STUDENT_EDITOR);

  G_OBJECT_CLASS (lk_student_editor_parent_class)->dispose (object);
}

static void
lk_student_editor_class_init (LkStudentEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lk_student_editor_dispose;

  signals[SAVED] = g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                 NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/cn/lingka/Admin/lk-student-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, LkStudentEditor, window_title);
  gtk_widget_class_bind_template_child (widget_class, LkStudentEditor, save_button);
  gtk_widget_class_bind_template_child (widget_class, LkStudentEditor, name_row);
  gtk_widget_class_bind_template_child (widget_class, LkStudentEditor, class_row);
  gtk_widget_class_bind_template_child (widget_class, LkStudentEditor, student_no_row);
  gtk_widget_class_bind_template_child (widget_class, LkStudentEditor, card_no_row);
  gtk_widget_class_bind_template_child (widget_class, LkStudentEditor, school_row);
  gtk_widget_class_bind_template_child (widget_class, LkStudentEditor, error_label);
  gtk_widget_class_bind_template_child (widget_class, LkStudentEditor, application_group);
  gtk_widget_class_bind_template_child (widget_class, LkStudentEditor, application_row);
  gtk_widget_class_bind_template_child (widget_class, LkStudentEditor, cancel_application_button);
  gtk_widget_class_bind_template_child (widget_class, LkStudentEditor, history_group);
  gtk_widget_class_bind_template_child (widget_class, LkStudentEditor, history_list);
  gtk_widget_class_bind_template_callback (widget_class, lk_student_editor_save);
  gtk_widget_class_bind_template_callback (widget_class, on_cancel_application_clicked_cb);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
lk_student_editor_init (LkStudentEditor *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

LkStudentEditor *
lk_student_editor_new (GtkWindow     *parent,
                       LkApiClient   *client,
                       LkStudentItem *student)
{
  LkStudentEditor *self;

  g_return_val_if_fail (LK_IS_API_CLIENT (client), NULL);

  self = g_object_new (LK_TYPE_STUDENT_EDITOR, "transient-for", parent, NULL);
  self->client = g_object_ref (client);

  if (student == NULL)
    {
      adw_window_title_set_title (self->window_title, _("Add a Student"));
      gtk_widget_set_visible (GTK_WIDGET (self->school_row), lk_api_client_is_operator (client));
      return self;
    }

  self->student = g_object_ref (student);
  adw_window_title_set_title (self->window_title, _("Edit Student"));
  adw_window_title_set_subtitle (self->window_title, lk_student_item_get_masked_name (student));
  lk_student_editor_set_fields (self, lk_student_item_get_name (student),
                                lk_student_item_get_class (student),
                                lk_student_item_get_student_no (student),
                                lk_student_item_get_card_no (student));

  if (status_is_open (lk_student_item_get_status (student)))
    {
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->application_row),
                                     lk_student_status_label (lk_student_item_get_status (student)));
      adw_action_row_set_subtitle (self->application_row,
                                   _("Cancel it if the student has left, or the parent applied by mistake."));
      gtk_widget_set_visible (GTK_WIDGET (self->application_group), TRUE);
    }

  {
    g_autofree char *path = g_strdup_printf (LK_API_PREFIX "/students/%" G_GINT64_FORMAT "/history",
                                             lk_student_item_get_id (student));

    lk_api_client_request_async (client, "GET", path, NULL, self->cancellable,
                                 on_history_cb, g_object_ref (self));
  }
  return self;
}

void
lk_student_editor_set_fields (LkStudentEditor *self,
                              const char      *name,
                              const char      *klass,
                              const char      *student_no,
                              const char      *card_no)
{
  g_return_if_fail (LK_IS_STUDENT_EDITOR (self));

  gtk_editable_set_text (GTK_EDITABLE (self->name_row), name ? name : "");
  gtk_editable_set_text (GTK_EDITABLE (self->class_row), klass ? klass : "");
  gtk_editable_set_text (GTK_EDITABLE (self->student_no_row), student_no ? student_no : "");
  gtk_editable_set_text (GTK_EDITABLE (self->card_no_row), card_no ? card_no : "");
}

void
lk_student_editor_save (LkStudentEditor *self)
{
  g_autofree char *name = NULL;
  g_autofree char *klass = NULL;
  g_autofree char *student_no = NULL;
  g_autofree char *card_no = NULL;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) body = NULL;
  g_autofree char *path = NULL;
  JsonObject *old = self->student != NULL ? lk_student_item_get_object (self->student) : NULL;
  gboolean changed = FALSE;

  g_return_if_fail (LK_IS_STUDENT_EDITOR (self));

  name = row_text (self->name_row);
  klass = row_text (self->class_row);
  student_no = row_text (self->student_no_row);
  card_no = row_text (self->card_no_row);

  if (*name == '\0' || *klass == '\0' || *student_no == '\0')
    {
      show_error (self, _("Name, class and student number are required."));
      return;
    }

  json_builder_begin_object (builder);
#define ADD_IF_CHANGED(key, value, old_value) \
  if (old == NULL || g_strcmp0 (value, old_value) != 0) \
    { \
      json_builder_set_member_name (builder, key); \
      json_builder_add_string_value (builder, value); \
      changed = TRUE; \
    }
  ADD_IF_CHANGED ("name", name, self->student ? lk_student_item_get_name (self->student) : NULL);
  ADD_IF_CHANGED ("class", klass, self->student ? lk_student_item_get_class (self->student) : NULL);
  ADD_IF_CHANGED ("student_no", student_no,
                  self->student ? lk_student_item_get_student_no (self->student) : NULL);
#undef ADD_IF_CHANGED
  {
    const char *old_card = self->student ? lk_student_item_get_card_no (self->student) : NULL;
    const char *new_card = *card_no != '\0' ? card_no : NULL;

    if (old == NULL || g_strcmp0 (old_card, new_card) != 0)
      {
        json_builder_set_member_name (builder, "card_no");
        if (new_card != NULL)
          json_builder_add_string_value (builder, new_card);
        else
          json_builder_add_null_value (builder);
        changed = TRUE;
      }
  }
  if (old == NULL && gtk_widget_get_visible (GTK_WIDGET (self->school_row)))
    {
      const char *school = gtk_editable_get_text (GTK_EDITABLE (self->school_row));
      gint64 school_id = g_ascii_strtoll (school, NULL, 10);

      if (school_id <= 0)
        {
          show_error (self, _("Enter the school's ID."));
          return;
        }
      json_builder_set_member_name (builder, "school_id");
      json_builder_add_int_value (builder, school_id);
    }
  json_builder_end_object (builder);

  if (!changed)
    {
      gtk_window_close (GTK_WINDOW (self));
      return;
    }

  body = json_builder_get_root (builder);
  show_error (self, NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->save_button), FALSE);

  if (self->student == NULL)
    lk_api_client_request_async (self->client, "POST", LK_API_PREFIX "/students", body,
                                 self->cancellable, on_saved_cb, g_object_ref (self));
  else
    {
      path = g_strdup_printf (LK_API_PREFIX "/students/%" G_GINT64_FORMAT,
                              lk_student_item_get_id (self->student));
      lk_api_client_request_async (self->client, "PATCH", path, body,
                                   self->cancellable, on_saved_cb, g_object_ref (self));
    }
}

guint
lk_student_editor_get_history_count (LkStudentEditor *self)
{
  g_return_val_if_fail (LK_IS_STUDENT_EDITOR (self), 0);
  return self->history_count;
}

const char *
lk_student_editor_get_error (LkStudentEditor *self)
{
  g_return_val_if_fail (LK_IS_STUDENT_EDITOR (self), NULL);

  if (!gtk_widget_get_visible (GTK_WIDGET (self->error_label)))
    return NULL;
  return gtk_label_get_label (self->error_label);
}
