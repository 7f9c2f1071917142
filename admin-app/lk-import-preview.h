/* lk-import-preview.h: a GListModel over the rows read from a roster, with their problems
 *
 * Made for 100,000 rows: items (LkImportPreviewRow) are created only when a view asks for
 * them, there is never one widget per row, and a large file reaches the views in slices
 * (the "loading" property) so that no main-loop iteration pays for all of it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "lk-import-preview-row.h"

G_BEGIN_DECLS

#define LK_TYPE_IMPORT_PREVIEW (lk_import_preview_get_type ())
G_DECLARE_FINAL_TYPE (LkImportPreview, lk_import_preview, LK, IMPORT_PREVIEW, GObject)

LkImportPreview *lk_import_preview_new              (void);

/* @rows: LkImportRow (a reference is kept); @errors: LkRowError (nullable) that stop the
 * upload. Replaces everything, including the warnings. */
void             lk_import_preview_set_rows         (LkImportPreview *self,
                                                     GPtrArray       *rows,
                                                     GPtrArray       *errors);
/* Adds errors (blocking) or warnings (not blocking) to the rows they name by seq. Errors with
 * a seq that no row has (0: the whole file) are kept in the general list. */
void             lk_import_preview_add_problems     (LkImportPreview *self,
                                                     GPtrArray       *problems,
                                                     gboolean         blocking);
void             lk_import_preview_clear            (LkImportPreview *self);

/* TRUE while rows are still being handed to the views (see :loading). */
gboolean         lk_import_preview_get_loading      (LkImportPreview *self);
GPtrArray       *lk_import_preview_get_rows         (LkImportPreview *self);
/* Rows with a blocking problem. */
guint            lk_import_preview_get_n_error_rows (LkImportPreview *self);
/* Rows with only warnings. */
guint            lk_import_preview_get_n_warning_rows (LkImportPreview *self);
/* Problems that name no row, one per line, or NULL. */
const char      *lk_import_preview_get_general_problems (LkImportPreview *self);

G_END_DECLS
