/* lk-students-page.c: search, filter, add and edit students; export to xlsx
 *
 * The search runs as the teacher types, debounced, one request at a time (a newer search
 * cancels the older one). Pages of results are appended when the list is scrolled to its end.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lk-admin-json.h"
#include "lk-protocol.h"
#include "lk-roster-writer.h"
#include "lk-student-editor.h"
#include "lk-student-item.h"
#include "lk-students-page.h"

#define SEARCH_DEBOUNCE_MS 250
#define PAGE_SIZE 100

struct _LkStudentsPage
{
  GtkWidget       parent_instance;

  GtkSearchEntry *search_entry;
  GtkDropDown    *class_dropdown;
  GtkDropDown    *status_dropdown;
  GtkStack       *view_stack;
  GtkColumnView  *column_view;
  AdwStatusPage  *error_page;
  GtkSpinner     *spinner;
  GtkLabel       *count_label;

  LkApiClient    *client;
  GListStore     *students;
  GtkStringList  *classes;
  GCancellable   *cancellable;
  guint           search_source;
  guint           reload_source;
  gint64          total;
  gint64          next_page;
  gboolean        loading;
  /* the class filter's values; index 0 is "every class" */
  GPtrArray      *class_values;
};

G_DEFINE_FINAL_TYPE (LkStudentsPage, lk_students_page, GTK_TYPE_WIDGET)

/* The status filter, in the order of the drop-down. */
static const struct {
  const char *value;
  const char *label;
} status_filters[] = {
  { NULL, NC_("card status", "All statuses") },
  { "not_applied", NC_("card status", "Not applied") },
  { "applied", NC_("card status", "Applied") },
  { "paid", NC_("card status", "Paid") },
  { "claimable", NC_("card status", "Ready to collect") },
  { "issued", NC_("card status", "Card issued") },
};

enum {
  COLUMN_STUDENT_NO,
  COLUMN_NAME,
  COLUMN_CLASS,
  COLUMN_STATUS,
  COLUMN_CARD_NO,
  COLUMN_SCHOOL,
};

static void fetch_page (LkStudentsPage *self,
                        gint64          page);

static const char *
selected_class (LkStudentsPage *self)
{
  guint selected = gtk_drop_down_get_selected (self->class_dropdown);

  if (selected == 0 || selected == GTK_INVALID_LIST_POSITION ||
      selected >= self->class_values->len)
    return NULL;
  return g_ptr_array_index (self->class_values, selected);
}

static const char *
selected_status (LkStudentsPage *self)
{
  guint selected = gtk_drop_down_get_selected (self->status_dropdown);

  if (selected >= G_N_ELEMENTS (status_filters))
    return NULL;
  return status_filters[selected].value;
}

static char *
build_query (LkStudentsPage *self,
             gint64          page)
{
  GString *path = g_string_new (LK_API_PREFIX "/students?");
  g_autofree char *q = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->search_entry))));
  const char *klass = selected_class (self);
  const char *status = selected_status (self);

  /* The server's q matches names and student numbers; a class typed in full is a class filter. */
  for (guint i = 1; klass == NULL && *q != '\0' && i < self->class_values->len; i++)
    if (g_str_equal (g_ptr_array_index (self->class_values, i), q))
      {
        klass = g_ptr_array_index (self->class_values, i);
        *q = '\0';
      }

  if (*q != '\0')
    {
      g_string_append (path, "q=");
      g_string_append_uri_escaped (path, q, NULL, TRUE);
      g_string_append_c (path, '&');
    }
  if (klass != NULL)
    {
      g_string_append (path, "class=");
      g_string_append_uri_escaped (path, klass, NULL, TRUE);
      g_string_append_c (path, '&');
    }
  if (status != NULL)
    g_string_append_printf (path, "status=%s&", status);
  g_string_append_printf (path, "page=%" G_GINT64_FORMAT, page);

  return g_string_free (path, FALSE);
}

static void
set_loading (LkStudentsPage *self,
             gboolean        loading)
{
  self->loading = loading;
  gtk_spinner_set_spinning (self->spinner, loading);
}

static void
update_count (LkStudentsPage *self)
{
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->students));
  g_autofree char *text = NULL;

  guint total = (guint) MAX (self->total, 0);

  if (shown < total)
    text = g_strdup_printf (_("%u of %u students"), shown, total);
  else
    text = g_strdup_printf (ngettext ("%u student", "%u students", total), total);
  gtk_label_set_label (self->count_label, text);
}

static void
merge_classes (LkStudentsPage *self,
               JsonArray      *array)
{
  /* Classes for the filter come from what the server lists: the directory of a teacher's
   * school, and the results themselves (an operator has no single school). */
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      const char *klass = NULL;
      gboolean known = FALSE;

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        klass = json_node_get_string (node);
      else if (JSON_NODE_HOLDS_OBJECT (node))
        {
          klass = lk_admin_json_string (json_node_get_object (node), "class");
          if (klass == NULL)
            klass = lk_admin_json_string (json_node_get_object (node), "class_name");
        }
      if (klass == NULL || *klass == '\0')
        continue;

      for (guint j = 1; j < self->class_values->len && !known; j++)
        known = g_str_equal (g_ptr_array_index (self->class_values, j), klass);
      if (known)
        continue;

      g_ptr_array_add (self->class_values, g_strdup (klass));
      gtk_string_list_append (self->classes, klass);
    }
}

static void
on_search_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (LkStudentsPage) self = user_data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) items = NULL;
  JsonArray *array;

  node = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  if (node == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  set_loading (self, FALSE);

  if (node == NULL)
    {
      g_message ("Student search failed: %s", error->message);
      adw_status_page_set_description (self->error_page, error->message);
      gtk_stack_set_visible_child_name (self->view_stack, "error");
      return;
    }

  array = lk_admin_json_list (node, "students", "items", NULL);
  if (array == NULL)
    {
      adw_status_page_set_description (self->error_page,
                                       _("The server sent an answer that cannot be read."));
      gtk_stack_set_visible_child_name (self->view_stack, "error");
      return;
    }

  if (self->next_page <= 1)
    g_list_store_remove_all (self->students);

  items = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_OBJECT (element))
        g_ptr_array_add (items, lk_student_item_new (json_node_get_object (element)));
    }
  g_list_store_splice (self->students, g_list_model_get_n_items (G_LIST_MODEL (self->students)),
                       0, items->pdata, items->len);

  if (JSON_NODE_HOLDS_OBJECT (node))
    self->total = lk_admin_json_int (json_node_get_object (node), "total",
                                     g_list_model_get_n_items (G_LIST_MODEL (self->students)));
  else
    self->total = g_list_model_get_n_items (G_LIST_MODEL (self->students));
  self->next_page = items->len > 0 ? self->next_page + 1 : 0;

  merge_classes (self, array);

  gtk_stack_set_visible_child_name (self->view_stack,
                                    g_list_model_get_n_items (G_LIST_MODEL (self->students)) > 0
                                    ? "list" : "empty");
  update_count (self);
}

static void
fetch_page (LkStudentsPage *self,
            gint64          page)
{
  g_autofree char *path = NULL;

  if (self->client == NULL || !lk_api_client_is_logged_in (self->client))
    return;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  self->next_page = page;
  path = build_query (self, page);
  set_loading (self, TRUE);
  lk_api_client_request_async (self->client, "GET", path, NULL, self->cancellable,
                               on_search_cb, g_object_ref (self));
}

static void
on_classes_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (LkStudentsPage) self = user_data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;

  node = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  if (node == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("Cannot load the classes: %s", error->message);
      return;
    }
  merge_classes (self, lk_admin_json_list (node, "classes", NULL));
}

static void
load_classes (LkStudentsPage *self)
{
  g_autofree char *path = NULL;
  gint64 school_id;

  if (self->client == NULL || (school_id = lk_api_client_get_school_id (self->client)) <= 0)
    return;

  path = g_strdup_printf (LK_API_PREFIX "/directory/classes?school=%" G_GINT64_FORMAT, school_id);
  lk_api_client_request_async (self->client, "GET", path, NULL, self->cancellable,
                               on_classes_cb, g_object_ref (self));
}

static gboolean
search_timeout_cb (gpointer user_data)
{
  LkStudentsPage *self = user_data;

  self->search_source = 0;
  fetch_page (self, 1);
  return G_SOURCE_REMOVE;
}

static void
schedule_search (LkStudentsPage *self)
{
  g_clear_handle_id (&self->search_source, g_source_remove);
  if (self->client == NULL)
    return;
  set_loading (self, TRUE);
  self->search_source = g_timeout_add (SEARCH_DEBOUNCE_MS, search_timeout_cb, self);
}

static void
on_search_changed_cb (LkStudentsPage *self)
{
  schedule_search (self);
}

static void
on_filter_changed_cb (LkStudentsPage *self)
{
  /* A filter is a click, not typing: no need to wait. */
  g_clear_handle_id (&self->search_source, g_source_remove);
  fetch_page (self, 1);
}

static void
on_edge_reached_cb (LkStudentsPage  *self,
                    GtkPositionType  pos)
{
  if (pos != GTK_POS_BOTTOM || self->loading || self->next_page <= 1)
    return;
  if ((gint64) g_list_model_get_n_items (G_LIST_MODEL (self->students)) >= self->total)
    return;
  fetch_page (self, self->next_page);
}

static void
on_editor_saved_cb (LkStudentsPage *self)
{
  lk_students_page_reload (self);
}

static void
on_column_view_activate_cb (LkStudentsPage *self,
                            guint           position)
{
  lk_students_page_edit_student (self, position);
}

static void
setup_label_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                gpointer                  user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_list_item_set_child (item, label);
}

static void
bind_label_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               gpointer                  user_data)
{
  LkStudentItem *student = gtk_list_item_get_item (item);
  GtkLabel *label = GTK_LABEL (gtk_list_item_get_child (item));
  const char *text = NULL;

  switch (GPOINTER_TO_INT (user_data))
    {
    case COLUMN_STUDENT_NO:
      text = lk_student_item_get_student_no (student);
      break;
    case COLUMN_NAME:
      text = lk_student_item_get_masked_name (student);
      break;
    case COLUMN_CLASS:
      text = lk_student_item_get_class (student);
      break;
    case COLUMN_STATUS:
      text = lk_student_status_label (lk_student_item_get_status (student));
      break;
    case COLUMN_CARD_NO:
      text = lk_student_item_get_card_no (student);
      break;
    case COLUMN_SCHOOL:
      text = lk_student_item_get_school (student);
      break;
    default:
      g_assert_not_reached ();
    }
  gtk_label_set_label (label, text != NULL ? text : "—");
}

static void
add_column (LkStudentsPage *self,
            const char     *title,
            int             column,
            gboolean        expand)
{
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkColumnViewColumn *view_column;

  g_signal_connect (factory, "setup", G_CALLBACK (setup_label_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_label_cb), GINT_TO_POINTER (column));
  view_column = gtk_column_view_column_new (title, factory);
  gtk_column_view_column_set_expand (view_column, expand);
  gtk_column_view_column_set_resizable (view_column, TRUE);
  gtk_column_view_append_column (self->column_view, view_column);
  g_object_unref (view_column);
}

typedef struct
{
  char      *path;
  GPtrArray *students;   /* JsonObject */
} ExportData;

static void
export_data_free (ExportData *data)
{
  g_free (data->path);
  g_ptr_array_unref (data->students);
  g_free (data);
}

static void
export_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ExportData *data = task_data;
  GError *error = NULL;

  if (!lk_roster_export_students (data->path, data->students, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_export_written_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  LkStudentsPage *self = LK_STUDENTS_PAGE (source);
  g_autoptr (GError) error = NULL;
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autofree char *message = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    message = g_strdup_printf (_("Export failed: %s"), error->message);
  else
    message = g_strdup (_("Students exported"));

  if (root != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "win.toast", "s", message);
}

typedef struct
{
  LkStudentsPage *self;
  char           *path;
  GPtrArray      *students;
  gint64          page;
} ExportFetch;

static void export_fetch_next (ExportFetch *fetch);

static void
export_fetch_free (ExportFetch *fetch)
{
  g_object_unref (fetch->self);
  g_free (fetch->path);
  g_ptr_array_unref (fetch->students);
  g_free (fetch);
}

static void
on_export_page_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  ExportFetch *fetch = user_data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;
  JsonArray *array;
  gint64 total;

  node = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  array = lk_admin_json_list (node, "students", "items", NULL);
  if (array == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("Export failed: %s"),
                                                  error != NULL ? error->message : "?");

      gtk_widget_activate_action (GTK_WIDGET (fetch->self), "win.toast", "s", message);
      export_fetch_free (fetch);
      return;
    }

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_OBJECT (element))
        g_ptr_array_add (fetch->students, json_object_ref (json_node_get_object (element)));
    }
  total = JSON_NODE_HOLDS_OBJECT (node)
    ? lk_admin_json_int (json_node_get_object (node), "total", fetch->students->len)
    : (gint64) fetch->students->len;

  if (json_array_get_length (array) > 0 && (gint64) fetch->students->len < total)
    {
      fetch->page++;
      export_fetch_next (fetch);
      return;
    }

  {
    g_autoptr (GTask) task = g_task_new (fetch->self, NULL, on_export_written_cb, NULL);
    ExportData *data = g_new0 (ExportData, 1);

    data->path = g_steal_pointer (&fetch->path);
    data->students = g_ptr_array_ref (fetch->students);
    g_task_set_task_data (task, data, (GDestroyNotify) export_data_free);
    g_task_run_in_thread (task, export_thread);
  }
  export_fetch_free (fetch);
}

static void
export_fetch_next (ExportFetch *fetch)
{
  g_autofree char *path = build_query (fetch->self, fetch->page);

  lk_api_client_request_async (fetch->self->client, "GET", path, NULL, NULL,
                               on_export_page_cb, fetch);
}

static void
on_export_chooser_response_cb (GtkNativeDialog *dialog,
                               int              response,
                               gpointer         user_data)
{
  LkStudentsPage *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = g_file_get_path (file);

      if (path != NULL)
        {
          g_autofree char *xlsx = g_str_has_suffix (path, ".xlsx") ? g_strdup (path)
                                                                   : g_strconcat (path, ".xlsx", NULL);

          lk_students_page_export_to_file (self, xlsx);
        }
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
lk_students_page_dispose (GObject *object)
{
  LkStudentsPage *self = LK_STUDENTS_PAGE (object);
  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->search_source, g_source_remove);
  g_clear_handle_id (&self->reload_source, g_source_remove);
  g_clear_object (&self->client);

  gtk_widget_dispose_template (GTK_WIDGET (self), LK_TYPE_STUDENTS_PAGE);
  /* The template's root child is not a bound child: unparent it ourselves. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  g_clear_object (&self->students);
  g_clear_object (&self->classes);
  g_clear_pointer (&self->class_values, g_ptr_array_unref);

  G_OBJECT_CLASS (lk_students_page_parent_class)->dispose (object);
}

static void
lk_students_page_class_init (LkStudentsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lk_students_page_dispose;

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/cn/lingka/Admin/lk-students-page.ui");
  gtk_widget_class_bind_template_child (widget_class, LkStudentsPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, LkStudentsPage, class_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LkStudentsPage, status_dropdown);
  gtk_widget_class_bind_template_child (widget_class, LkStudentsPage, view_stack);
  gtk_widget_class_bind_template_child (widget_class, LkStudentsPage, column_view);
  gtk_widget_class_bind_template_child (widget_class, LkStudentsPage, error_page);
  gtk_widget_class_bind_template_child (widget_class, LkStudentsPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, LkStudentsPage, count_label);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_filter_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_edge_reached_cb);
  gtk_widget_class_bind_template_callback (widget_class, on_column_view_activate_cb);
}

static void
lk_students_page_init (LkStudentsPage *self)
{
  g_autoptr (GtkStringList) statuses = gtk_string_list_new (NULL);
  GtkSingleSelection *selection;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->students = g_list_store_new (LK_TYPE_STUDENT_ITEM);
  selection = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->students)));
  gtk_single_selection_set_autoselect (selection, FALSE);
  gtk_single_selection_set_can_unselect (selection, TRUE);
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (selection));
  g_object_unref (selection);

  add_column (self, _("Student No."), COLUMN_STUDENT_NO, FALSE);
  add_column (self, _("Name"), COLUMN_NAME, FALSE);
  add_column (self, _("Class"), COLUMN_CLASS, TRUE);
  add_column (self, _("Card Status"), COLUMN_STATUS, FALSE);
  add_column (self, _("IC Card No."), COLUMN_CARD_NO, FALSE);
  {
    g_autoptr (GtkColumnViewColumn) card_column =
      g_list_model_get_item (gtk_column_view_get_columns (self->column_view), COLUMN_CARD_NO);

    /* Eight hex digits, and room for the header. */
    gtk_column_view_column_set_fixed_width (card_column, 120);
  }

  self->class_values = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->class_values, NULL);
  self->classes = gtk_string_list_new (NULL);
  gtk_string_list_append (self->classes, _("All classes"));
  gtk_drop_down_set_model (self->class_dropdown, G_LIST_MODEL (self->classes));

  for (guint i = 0; i < G_N_ELEMENTS (status_filters); i++)
    gtk_string_list_append (statuses, g_dpgettext2 (NULL, "card status", status_filters[i].label));
  gtk_drop_down_set_model (self->status_dropdown, G_LIST_MODEL (statuses));

  gtk_stack_set_visible_child_name (self->view_stack, "empty");
  update_count (self);
}

void
lk_students_page_set_client (LkStudentsPage *self,
                             LkApiClient    *client)
{
  g_return_if_fail (LK_IS_STUDENTS_PAGE (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->search_source, g_source_remove);
  g_set_object (&self->client, client);

  g_list_store_remove_all (self->students);
  self->total = 0;
  set_loading (self, FALSE);
  g_ptr_array_set_size (self->class_values, 1);
  gtk_string_list_splice (self->classes, 1,
                          g_list_model_get_n_items (G_LIST_MODEL (self->classes)) - 1, NULL);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  g_clear_handle_id (&self->search_source, g_source_remove);

  if (client == NULL)
    {
      gtk_stack_set_visible_child_name (self->view_stack, "empty");
      update_count (self);
      return;
    }

  /* Only an operator sees every school's students. */
  {
    GListModel *columns = gtk_column_view_get_columns (self->column_view);
    guint n = g_list_model_get_n_items (columns);

    if (lk_api_client_is_operator (client) && n == COLUMN_SCHOOL)
      add_column (self, _("School"), COLUMN_SCHOOL, TRUE);
    else if (!lk_api_client_is_operator (client) && n > COLUMN_SCHOOL)
      {
        g_autoptr (GtkColumnViewColumn) column = g_list_model_get_item (columns, COLUMN_SCHOOL);

        gtk_column_view_remove_column (self->column_view, column);
      }
  }

  fetch_page (self, 1);
  load_classes (self);
}

void
lk_students_page_reload (LkStudentsPage *self)
{
  g_return_if_fail (LK_IS_STUDENTS_PAGE (self));

  g_clear_handle_id (&self->search_source, g_source_remove);
  fetch_page (self, 1);
  /* A new import may have brought new classes. */
  load_classes (self);
}

void
lk_students_page_focus_search (LkStudentsPage *self)
{
  g_return_if_fail (LK_IS_STUDENTS_PAGE (self));
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

void
lk_students_page_set_search (LkStudentsPage *self,
                             const char     *text)
{
  g_return_if_fail (LK_IS_STUDENTS_PAGE (self));

  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text != NULL ? text : "");
  /* GtkSearchEntry emits search-changed after its own delay; start ours now too. */
  schedule_search (self);
}

void
lk_students_page_set_status_filter (LkStudentsPage *self,
                                    const char     *status)
{
  g_return_if_fail (LK_IS_STUDENTS_PAGE (self));

  for (guint i = 0; i < G_N_ELEMENTS (status_filters); i++)
    if (g_strcmp0 (status_filters[i].value, status) == 0)
      gtk_drop_down_set_selected (self->status_dropdown, i);
}

LkStudentEditor *
lk_students_page_add_student (LkStudentsPage *self)
{
  LkStudentEditor *editor;

  g_return_val_if_fail (LK_IS_STUDENTS_PAGE (self), NULL);

  if (self->client == NULL)
    return NULL;
  editor = lk_student_editor_new (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))),
                                  self->client, NULL);
  g_signal_connect_object (editor, "saved", G_CALLBACK (on_editor_saved_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (editor));
  return editor;
}

LkStudentEditor *
lk_students_page_edit_student (LkStudentsPage *self,
                               guint           position)
{
  g_autoptr (LkStudentItem) item = NULL;
  LkStudentEditor *editor;

  g_return_val_if_fail (LK_IS_STUDENTS_PAGE (self), NULL);

  item = g_list_model_get_item (G_LIST_MODEL (self->students), position);
  if (item == NULL || self->client == NULL)
    return NULL;
  editor = lk_student_editor_new (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))),
                                  self->client, item);
  g_signal_connect_object (editor, "saved", G_CALLBACK (on_editor_saved_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (editor));
  return editor;
}

void
lk_students_page_export (LkStudentsPage *self)
{
  GtkFileChooserNative *chooser;
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();

  g_return_if_fail (LK_IS_STUDENTS_PAGE (self));

  if (self->client == NULL)
    return;

  chooser = gtk_file_chooser_native_new (_("Export Students"),
                                         GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))),
                                         GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _("_Export"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Excel workbook (.xlsx)"));
  gtk_file_filter_add_suffix (filter, "xlsx");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  /* 学生名单.xlsx */
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), _("students.xlsx"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_export_chooser_response_cb),
                    g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

void
lk_students_page_export_to_file (LkStudentsPage *self,
                                 const char     *path)
{
  ExportFetch *fetch;

  g_return_if_fail (LK_IS_STUDENTS_PAGE (self));
  g_return_if_fail (path != NULL);

  if (self->client == NULL)
    return;

  fetch = g_new0 (ExportFetch, 1);
  fetch->self = g_object_ref (self);
  fetch->path = g_strdup (path);
  fetch->students = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  fetch->page = 1;
  export_fetch_next (fetch);
}

static gboolean
reload_timeout_cb (gpointer user_data)
{
  LkStudentsPage *self = user_data;

  self->reload_source = 0;
  if (!self->loading)
    fetch_page (self, 1);
  return G_SOURCE_REMOVE;
}

void
lk_students_page_handle_event (LkStudentsPage *self,
                               JsonObject     *event)
{
  const char *type;

  g_return_if_fail (LK_IS_STUDENTS_PAGE (self));

  type = lk_admin_json_string (event, "type");
  if (self->client == NULL || type == NULL)
    return;

  /* A card status changed: refresh the list, at most once a second during a rush. */
  if ((g_str_equal (type, LK_EVENT_CARD_ISSUED) || g_str_equal (type, LK_EVENT_APPLICATION_PAID)
       || g_str_equal (type, LK_EVENT_APPLICATION_CANCELLED)) &&
      self->reload_source == 0)
    self->reload_source = g_timeout_add_seconds (1, reload_timeout_cb, self);
}

GListModel *
lk_students_page_get_model (LkStudentsPage *self)
{
  g_return_val_if_fail (LK_IS_STUDENTS_PAGE (self), NULL);
  return G_LIST_MODEL (self->students);
}

gint64
lk_students_page_get_total (LkStudentsPage *self)
{
  g_return_val_if_fail (LK_IS_STUDENTS_PAGE (self), 0);
  return self->total;
}

gboolean
lk_students_page_get_loading (LkStudentsPage *self)
{
  g_return_val_if_fail (LK_IS_STUDENTS_PAGE (self), FALSE);
  return self->loading || self->search_source != 0;
}
