/* lk-import-preview-row.h: one roster row in the import preview, with its problems
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

#include "lk-import-frame.h"

G_BEGIN_DECLS

#define LK_TYPE_IMPORT_PREVIEW_ROW (lk_import_preview_row_get_type ())
G_DECLARE_FINAL_TYPE (LkImportPreviewRow, lk_import_preview_row, LK, IMPORT_PREVIEW_ROW, GObject)

/* @row is borrowed: the preview model that made the item keeps the rows alive. */
LkImportPreviewRow *lk_import_preview_row_new          (const LkImportRow  *row,
                                                        const char         *problem,
                                                        gboolean            blocking);

const LkImportRow  *lk_import_preview_row_get_row      (LkImportPreviewRow *self);
const char         *lk_import_preview_row_get_masked_name (LkImportPreviewRow *self);
/* The problems of the row, one per line, or NULL. */
const char         *lk_import_preview_row_get_problem  (LkImportPreviewRow *self);
/* TRUE if a problem stops the upload (a reader or server error, not a warning). */
gboolean            lk_import_preview_row_get_blocking (LkImportPreviewRow *self);

G_END_DECLS
