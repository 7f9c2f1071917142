/* lk-progress-chart.h: one stacked bar per class: applied / paid / picked up
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef struct
{
  char   *label;     /* the class, or "school · class" for an operator */
  gint64  students;  /* on the roster; 0 if unknown */
  gint64  applied;
  gint64  paid;
  gint64  issued;
} LkClassProgress;

LkClassProgress *lk_class_progress_new  (const char      *label);
void             lk_class_progress_free (LkClassProgress *progress);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkClassProgress, lk_class_progress_free)

#define LK_TYPE_PROGRESS_CHART (lk_progress_chart_get_type ())
G_DECLARE_FINAL_TYPE (LkProgressChart, lk_progress_chart, LK, PROGRESS_CHART, GtkWidget)

GtkWidget             *lk_progress_chart_new         (void);
/* @classes: LkClassProgress; the chart keeps a reference. */
void                   lk_progress_chart_set_classes (LkProgressChart *self,
                                                      GPtrArray       *classes);
guint                  lk_progress_chart_get_n_classes (LkProgressChart *self);
/* NULL if no class has that label. */
const LkClassProgress *lk_progress_chart_get_class   (LkProgressChart *self,
                                                      const char      *label);

G_END_DECLS
