/* lk-progress-chart.c: one stacked bar per class: applied / paid / picked up
 *
 * Drawn with GtkSnapshot: for each class a label, a bar as wide as the class's roster (or its
 * applications when the roster size is unknown), and three stacked segments: picked up, paid
 * but not yet picked up, applied but not yet paid.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "lk-progress-chart.h"

#define ROW_HEIGHT 36
#define BAR_HEIGHT 20
#define LABEL_WIDTH 180
#define COUNT_WIDTH 150
#define PADDING 12

struct _LkProgressChart
{
  GtkWidget  parent_instance;

  GPtrArray *classes;
};

G_DEFINE_FINAL_TYPE (LkProgressChart, lk_progress_chart, GTK_TYPE_WIDGET)

/* libadwaita's palette: green 3, blue 3, yellow 3 */
static const GdkRGBA issued_color = { 0.2, 0.82, 0.48, 1.0 };
static const GdkRGBA paid_color = { 0.21, 0.52, 0.89, 1.0 };
static const GdkRGBA applied_color = { 0.96, 0.83, 0.18, 1.0 };

LkClassProgress *
lk_class_progress_new (const char *label)
{
  LkClassProgress *progress = g_new0 (LkClassProgress, 1);

  progress->label = g_strdup (label);
  return progress;
}

void
lk_class_progress_free (LkClassProgress *progress)
{
  if (progress == NULL)
    return;
  g_free (progress->label);
  g_free (progress);
}

static void
append_text (LkProgressChart *self,
             GtkSnapshot     *snapshot,
             const char      *text,
             float            x,
             float            y,
             int              width,
             gboolean         align_right,
             const GdkRGBA   *color)
{
  g_autoptr (PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);
  int text_width, text_height;

  pango_layout_set_width (layout, width * PANGO_SCALE);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  pango_layout_set_alignment (layout, align_right ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT);
  pango_layout_get_pixel_size (layout, &text_width, &text_height);

  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y + (ROW_HEIGHT - text_height) / 2.0f));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}

static void
lk_progress_chart_snapshot (GtkWidget   *widget,
                            GtkSnapshot *snapshot)
{
  LkProgressChart *self = LK_PROGRESS_CHART (widget);
  int width = gtk_widget_get_width (widget);
  float bar_x = LABEL_WIDTH + PADDING;
  float bar_width = MAX (width - bar_x - COUNT_WIDTH - PADDING, 40);
  gint64 scale = 1;
  GdkRGBA fg, trough;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  trough = fg;
  trough.alpha = 0.1f;

  if (self->classes == NULL)
    return;

  /* One scale for every bar, so that classes compare at a glance. */
  for (guint i = 0; i < self->classes->len; i++)
    {
      LkClassProgress *c = g_ptr_array_index (self->classes, i);

      scale = MAX (scale, MAX (c->students, c->applied));
    }

  for (guint i = 0; i < self->classes->len; i++)
    {
      LkClassProgress *c = g_ptr_array_index (self->classes, i);
      float y = i * ROW_HEIGHT;
      float bar_y = y + (ROW_HEIGHT - BAR_HEIGHT) / 2.0f;
      float full = bar_width * (float) MAX (c->students, c->applied) / (float) scale;
      float w_applied = bar_width * (float) c->applied / (float) scale;
      float w_paid = bar_width * (float) c->paid / (float) scale;
      float w_issued = bar_width * (float) c->issued / (float) scale;
      g_autofree char *counts = NULL;

      append_text (self, snapshot, c->label, 0, y, LABEL_WIDTH, FALSE, &fg);

      gtk_snapshot_append_color (snapshot, &trough,
                                 &GRAPHENE_RECT_INIT (bar_x, bar_y, MAX (full, 2), BAR_HEIGHT));
      gtk_snapshot_append_color (snapshot, &applied_color,
                                 &GRAPHENE_RECT_INIT (bar_x, bar_y, w_applied, BAR_HEIGHT));
      gtk_snapshot_append_color (snapshot, &paid_color,
                                 &GRAPHENE_RECT_INIT (bar_x, bar_y, w_paid, BAR_HEIGHT));
      gtk_snapshot_append_color (snapshot, &issued_color,
                                 &GRAPHENE_RECT_INIT (bar_x, bar_y, w_issued, BAR_HEIGHT));

      /* 12 / 10 / 7 */
      counts = g_strdup_printf ("%d / %d / %d", (int) c->applied, (int) c->paid, (int) c->issued);
      append_text (self, snapshot, counts, width - COUNT_WIDTH, y, COUNT_WIDTH, TRUE, &fg);
    }
}

static void
lk_progress_chart_measure (GtkWidget      *widget,
                           GtkOrientation  orientation,
                           int             for_size,
                           int            *minimum,
                           int            *natural,
                           int            *minimum_baseline,
                           int            *natural_baseline)
{
  LkProgressChart *self = LK_PROGRESS_CHART (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = LABEL_WIDTH + COUNT_WIDTH + 2 * PADDING + 40;
      *natural = *minimum + 400;
    }
  else
    {
      guint n = self->classes != NULL ? self->classes->len : 0;

      *minimum = *natural = (int) n * ROW_HEIGHT;
    }
}

static void
lk_progress_chart_finalize (GObject *object)
{
  LkProgressChart *self = LK_PROGRESS_CHART (object);

  g_clear_pointer (&self->classes, g_ptr_array_unref);

  G_OBJECT_CLASS (lk_progress_chart_parent_class)->finalize (object);
}

static void
lk_progress_chart_class_init (LkProgressChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = lk_progress_chart_finalize;
  widget_class->snapshot = lk_progress_chart_snapshot;
  widget_class->measure = lk_progress_chart_measure;

  gtk_widget_class_set_css_name (widget_class, "progresschart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lk_progress_chart_init (LkProgressChart *self)
{
}

GtkWidget *
lk_progress_chart_new (void)
{
  return g_object_new (LK_TYPE_PROGRESS_CHART, NULL);
}

void
lk_progress_chart_set_classes (LkProgressChart *self,
                               GPtrArray       *classes)
{
  g_return_if_fail (LK_IS_PROGRESS_CHART (self));

  if (classes != NULL)
    g_ptr_array_ref (classes);
  g_clear_pointer (&self->classes, g_ptr_array_unref);
  self->classes = classes;

  gtk_widget_queue_resize (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
lk_progress_chart_get_n_classes (LkProgressChart *self)
{
  g_return_val_if_fail (LK_IS_PROGRESS_CHART (self), 0);
  return self->classes != NULL ? self->classes->len : 0;
}

const LkClassProgress *
lk_progress_chart_get_class (LkProgressChart *self,
                             const char      *label)
{
  g_return_val_if_fail (LK_IS_PROGRESS_CHART (self), NULL);

  for (guint i = 0; self->classes != NULL && i < self->classes->len; i++)
    {
      LkClassProgress *c = g_ptr_array_index (self->classes, i);

      if (g_strcmp0 (c->label, label) == 0)
        return c;
    }
  return NULL;
}
