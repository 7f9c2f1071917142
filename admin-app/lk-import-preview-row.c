/* lk-import-preview-row.c: one roster row in the import preview, with its problems
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "lk-import-preview-row.h"
#include "lk-mask.h"

struct _LkImportPreviewRow
{
  GObject            parent_instance;

  const LkImportRow *row;
  char              *masked_name;
  char              *problem;
  gboolean           blocking;
};

G_DEFINE_FINAL_TYPE (LkImportPreviewRow, lk_import_preview_row, G_TYPE_OBJECT)

static void
lk_import_preview_row_finalize (GObject *object)
{
  LkImportPreviewRow *self = LK_IMPORT_PREVIEW_ROW (object);

  g_clear_pointer (&self->masked_name, g_free);
  g_clear_pointer (&self->problem, g_free);

  G_OBJECT_CLASS (lk_import_preview_row_parent_class)->finalize (object);
}

static void
lk_import_preview_row_class_init (LkImportPreviewRowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lk_import_preview_row_finalize;
}

static void
lk_import_preview_row_init (LkImportPreviewRow *self)
{
}

LkImportPreviewRow *
lk_import_preview_row_new (const LkImportRow *row,
                           const char        *problem,
                           gboolean           blocking)
{
  LkImportPreviewRow *self;

  g_return_val_if_fail (row != NULL, NULL);

  self = g_object_new (LK_TYPE_IMPORT_PREVIEW_ROW, NULL);
  self->row = row;
  /* PIPL: the preview shows masked names, like every other screen. */
  self->masked_name = row->name != NULL ? lk_mask_name (row->name) : g_strdup ("");
  self->problem = g_strdup (problem);
  self->blocking = problem != NULL && blocking;
  return self;
}

const LkImportRow *
lk_import_preview_row_get_row (LkImportPreviewRow *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PREVIEW_ROW (self), NULL);
  return self->row;
}

const char *
lk_import_preview_row_get_masked_name (LkImportPreviewRow *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PREVIEW_ROW (self), NULL);
  return self->masked_name;
}

const char *
lk_import_preview_row_get_problem (LkImportPreviewRow *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PREVIEW_ROW (self), NULL);
  return self->problem;
}

gboolean
lk_import_preview_row_get_blocking (LkImportPreviewRow *self)
{
  g_return_val_if_fail (LK_IS_IMPORT_PREVIEW_ROW (self), FALSE);
  return self->blocking;
}
