/* lk-progress-page.c: card pickup per class, live
 *
 * Figures come from GET /api/v1/stats ({"by_school", "by_class", "by_day"}). Events from the
 * admin socket (card.issued, application.paid, application.cancelled) fetch them again, at most
 * twice a second, so a queue at the kiosks does not flood the server.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "lk-admin-json.h"
#include "lk-progress-page.h"
#include "lk-protocol.h"

#define EVENT_RELOAD_DELAY_MS 500

struct _LkProgressPage
{
  GtkWidget        parent_instance;

  GtkLabel        *applied_label;
  GtkLabel        *paid_label;
  GtkLabel        *issued_label;
  GtkLabel        *today_label;
  GtkLabel        *legend_label;
  GtkStack        *chart_stack;
  LkProgressChart *chart;

  LkApiClient     *client;
  GCancellable    *cancellable;
  guint            reload_source;
  gboolean         loading;
  gboolean         reload_again;
  gint64           applied;
  gint64           paid;
  gint64           issued;
  gint64           issued_today;
  guint            generation;
};

G_DEFINE_FINAL_TYPE (LkProgressPage, lk_progress_page, GTK_TYPE_WIDGET)

static void fetch_stats (LkProgressPage *self);

static gint64
count_member (JsonObject *object,
              const char *first,
              const char *second)
{
  gint64 value = lk_admin_json_int (object, first, -1);

  if (value < 0 && second != NULL)
    value = lk_admin_json_int (object, second, -1);
  return MAX (value, 0);
}

static void
read_counts (JsonObject      *object,
             LkClassProgress *progress)
{
  progress->students = count_member (object, "students", "roster");
  progress->applied = count_member (object, "applied", "applications");
  progress->paid = count_member (object, "paid", "payments");
  progress->issued = count_member (object, "issued", "cards_issued");
}

static char *
today_string (void)
{
  /* Days are counted in China's time zone, as the server counts them. */
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("Asia/Shanghai");
  g_autoptr (GDateTime) now = NULL;

  if (tz == NULL)
    tz = g_time_zone_new_offset (8 * 3600);
  now = g_date_time_new_now (tz);
  return g_date_time_format (now, "%Y-%m-%d");
}

static void
set_number (GtkLabel *label,
            gint64    value)
{
  g_autofree char *text = g_strdup_printf ("%d", (int) value);

  gtk_label_set_label (label, text);
}

static void
apply_stats (LkProgressPage *self,
             JsonObject     *stats)
{
  JsonArray *by_class = lk_admin_json_array (stats, "by_class");
  JsonArray *by_school = lk_admin_json_array (stats, "by_school");
  JsonArray *by_day = lk_admin_json_array (stats, "by_day");
  g_autoptr (GPtrArray) classes = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_class_progress_free);
  gboolean operator = self->client != NULL && lk_api_client_is_operator (self->client);
  g_autofree char *today = today_string ();
  g_autoptr (GHashTable) school_names = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                               g_free, NULL);
  LkClassProgress totals = { 0, };

  /* by_class names its school by id; by_school has the names. */
  for (guint i = 0; by_school != NULL && i < json_array_get_length (by_school); i++)
    {
      JsonNode *node = json_array_get_element (by_school, i);
      JsonObject *object;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      object = json_node_get_object (node);
      if (lk_admin_json_int (object, "school_id", 0) > 0 && lk_admin_json_string (object, "school"))
        {
          gint64 id = lk_admin_json_int (object, "school_id", 0);

          g_hash_table_insert (school_names, g_memdup2 (&id, sizeof id),
                               (gpointer) lk_admin_json_string (object, "school"));
        }
    }

  for (guint i = 0; by_class != NULL && i < json_array_get_length (by_class); i++)
    {
      JsonNode *node = json_array_get_element (by_class, i);
      JsonObject *object;
      const char *klass, *school;
      g_autofree char *label = NULL;
      LkClassProgress *progress;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      object = json_node_get_object (node);
      klass = lk_admin_json_string (object, "class");
      if (klass == NULL)
        klass = lk_admin_json_string (object, "class_name");
      school = lk_admin_json_string (object, "school");
      if (school == NULL)
        {
          gint64 school_id = lk_admin_json_int (object, "school_id", 0);

          school = g_hash_table_lookup (school_names, &school_id);
        }

      if (operator && school != NULL)
        label = g_strdup_printf ("%s · %s", school, klass != NULL ? klass : "");
      else
        label = g_strdup (klass != NULL ? klass : "");

      progress = lk_class_progress_new (label);
      read_counts (object, progress);
      g_ptr_array_add (classes, progress);

      totals.applied += progress->applied;
      totals.paid += progress->paid;
      totals.issued += progress->issued;
    }

  /* The school totals, when the server gives them, count every class. */
  if (by_school != NULL && json_array_get_length (by_school) > 0)
    {
      memset (&totals, 0, sizeof totals);
      for (guint i = 0; i < json_array_get_length (by_school); i++)
        {
          JsonNode *node = json_array_get_element (by_school, i);
          LkClassProgress school = { 0, };

          if (!JSON_NODE_HOLDS_OBJECT (node))
            continue;
          read_counts (json_node_get_object (node), &school);
          totals.applied += school.applied;
          totals.paid += school.paid;
          totals.issued += school.issued;
        }
    }

  self->issued_today = 0;
  for (guint i = 0; by_day != NULL && i < json_array_get_length (by_day); i++)
    {
      JsonNode *node = json_array_get_element (by_day, i);
      LkClassProgress day = { 0, };

      if (!JSON_NODE_HOLDS_OBJECT (node) ||
          g_strcmp0 (lk_admin_json_string (json_node_get_object (node), "day"), today) != 0)
        continue;
      read_counts (json_node_get_object (node), &day);
      self->issued_today += day.issued;
    }

  self->applied = totals.applied;
  self->paid = totals.paid;
  self->issued = totals.issued;
  set_number (self->applied_label, self->applied);
  set_number (self->paid_label, self->paid);
  set_number (self->issued_label, self->issued);
  set_number (self->today_label, self->issued_today);

  lk_progress_chart_set_classes (self->chart, classes);
  gtk_stack_set_visible_child_name (self->chart_stack, classes->len > 0 ? "chart" : "empty");
  self->generation++;
}

static void
on_stats_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (LkProgressPage) self = user_data;
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) error = NULL;

  node = lk_api_client_request_finish (LK_API_CLIENT (source), result, NULL, &error);
  if (node == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self->loading = FALSE;
  if (node == NULL)
    g_message ("Cannot load the pickup figures: %s", error->message);
  else if (JSON_NODE_HOLDS_OBJECT (node))
    apply_stats (self, json_node_get_object (node));

  if (self->reload_again)
    {
      self->reload_again = FALSE;
      fetch_stats (self);
    }
}

static void
fetch_stats (LkProgressPage *self)
{
  if (self->client == NULL || !lk_api_client_is_logged_in (self->client))
    return;
  if (self->loading)
    {
      /* One request at a time; the answer after this one will be fresh. */
      self->reload_again = TRUE;
      return;
    }

  self->loading = TRUE;
  lk_api_client_request_async (self->client, "GET", LK_API_PREFIX "/stats", NULL,
                               self->cancellable, on_stats_cb, g_object_ref (self));
}

static gboolean
reload_timeout_cb (gpointer user_data)
{
  LkProgressPage *self = user_data;

  self->reload_source = 0;
  fetch_stats (self);
  return G_SOURCE_REMOVE;
}

static void
lk_progress_page_dispose (GObject *object)
{
  LkProgressPage *self = LK_PROGRESS_PAGE (object);
  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->reload_source, g_source_remove);
  g_clear_object (&self->client);

  gtk_widget_dispose_template (GTK_WIDGET (self), LK_TYPE_PROGRESS_PAGE);
  /* The template's root child is not a bound child: unparent it ourselves. */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (lk_progress_page_parent_class)->dispose (object);
}

static void
lk_progress_page_class_init (LkProgressPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = lk_progress_page_dispose;

  g_type_ensure (LK_TYPE_PROGRESS_CHART);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/cn/lingka/Admin/lk-progress-page.ui");
  gtk_widget_class_bind_template_child (widget_class, LkProgressPage, applied_label);
  gtk_widget_class_bind_template_child (widget_class, LkProgressPage, paid_label);
  gtk_widget_class_bind_template_child (widget_class, LkProgressPage, issued_label);
  gtk_widget_class_bind_template_child (widget_class, LkProgressPage, today_label);
  gtk_widget_class_bind_template_child (widget_class, LkProgressPage, legend_label);
  gtk_widget_class_bind_template_child (widget_class, LkProgressPage, chart_stack);
  gtk_widget_class_bind_template_child (widget_class, LkProgressPage, chart);
}

static void
lk_progress_page_init (LkProgressPage *self)
{
  g_autofree char *legend = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();

  /* The colours match the chart's segments. */
  legend = g_strdup_printf ("<span foreground=\"#f5d32e\">■</span> %s   "
                            "<span foreground=\"#3584e4\">■</span> %s   "
                            "<span foreground=\"#33d17a\">■</span> %s",
                            C_("card status", "Applied"), C_("card status", "Paid"),
                            _("Picked Up"));
  gtk_label_set_markup (self->legend_label, legend);
  gtk_stack_set_visible_child_name (self->chart_stack, "empty");
}

void
lk_progress_page_set_client (LkProgressPage *self,
                             LkApiClient    *client)
{
  g_return_if_fail (LK_IS_PROGRESS_PAGE (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->loading = FALSE;
  self->reload_again = FALSE;
  g_clear_handle_id (&self->reload_source, g_source_remove);
  g_set_object (&self->client, client);

  lk_progress_chart_set_classes (self->chart, NULL);
  gtk_stack_set_visible_child_name (self->chart_stack, "empty");
  fetch_stats (self);
}

void
lk_progress_page_reload (LkProgressPage *self)
{
  g_return_if_fail (LK_IS_PROGRESS_PAGE (self));
  fetch_stats (self);
}

void
lk_progress_page_handle_event (LkProgressPage *self,
                               JsonObject     *event)
{
  const char *type;

  g_return_if_fail (LK_IS_PROGRESS_PAGE (self));

  type = lk_admin_json_string (event, "type");
  if (type == NULL || self->client == NULL)
    return;
  if (!g_str_equal (type, LK_EVENT_CARD_ISSUED) && !g_str_equal (type, LK_EVENT_APPLICATION_PAID)
      && !g_str_equal (type, LK_EVENT_APPLICATION_CANCELLED))
    return;
  if (self->reload_source == 0)
    self->reload_source = g_timeout_add (EVENT_RELOAD_DELAY_MS, reload_timeout_cb, self);
}

LkProgressChart *
lk_progress_page_get_chart (LkProgressPage *self)
{
  g_return_val_if_fail (LK_IS_PROGRESS_PAGE (self), NULL);
  return self->chart;
}

void
lk_progress_page_get_totals (LkProgressPage *self,
                             gint64         *applied,
                             gint64         *paid,
                             gint64         *issued,
                             gint64         *issued_today)
{
  g_return_if_fail (LK_IS_PROGRESS_PAGE (self));

  if (applied != NULL)
    *applied = self->applied;
  if (paid != NULL)
    *paid = self->paid;
  if (issued != NULL)
    *issued = self->issued;
  if (issued_today != NULL)
    *issued_today = self->issued_today;
}

guint
lk_progress_page_get_generation (LkProgressPage *self)
{
  g_return_val_if_fail (LK_IS_PROGRESS_PAGE (self), 0);
  return self->generation;
}
