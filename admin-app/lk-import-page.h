/* lk-import-page.h: choose or drop a roster → preview with errors → upload → result
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "lk-api-client.h"
#include "lk-import-preview.h"
#include "lk-import-upload.h"

G_BEGIN_DECLS

#define LK_TYPE_IMPORT_PAGE (lk_import_page_get_type ())
G_DECLARE_FINAL_TYPE (LkImportPage, lk_import_page, LK, IMPORT_PAGE, GtkWidget)

void             lk_import_page_set_client       (LkImportPage *self,
                                                  LkApiClient  *client);
/* Opens the file chooser (filtered to .xlsx, .xls and .csv). */
void             lk_import_page_choose_file      (LkImportPage *self);
/* Reads @file in a thread and shows the preview (as choosing or dropping it does). */
void             lk_import_page_open_file        (LkImportPage *self,
                                                  GFile        *file);
/* Asks where, then lk_import_page_save_template_to_file(). */
void             lk_import_page_save_template    (LkImportPage *self);
/* Writes the roster template to @path in a thread; a toast says when it is done. */
void             lk_import_page_save_template_to_file (LkImportPage *self,
                                                       const char   *path);
/* Sends the previewed rows (the "Upload" and "Retry" buttons). */
void             lk_import_page_upload           (LkImportPage *self);
/* Attempts per upload (3 unless changed). */
void             lk_import_page_set_max_attempts (LkImportPage *self,
                                                  guint         max_attempts);

/* "choose", "reading", "preview", "uploading" or "result" */
const char      *lk_import_page_get_state        (LkImportPage *self);
LkImportPreview *lk_import_page_get_preview      (LkImportPage *self);
/* TRUE while the server conflicts of the preview are being looked up. */
gboolean         lk_import_page_get_checking     (LkImportPage *self);
gboolean         lk_import_page_get_can_upload   (LkImportPage *self);
/* The result page: "上传成功" or "上传失败", and the counts or the reason. */
const char      *lk_import_page_get_result_title (LkImportPage *self);
const char      *lk_import_page_get_result_description (LkImportPage *self);
/* TRUE when the result page offers "Retry" (a failure that another attempt may fix). */
gboolean         lk_import_page_get_can_retry    (LkImportPage *self);
/* The last successful upload's counts; FALSE if none. */
gboolean         lk_import_page_get_result       (LkImportPage   *self,
                                                  LkImportResult *result);

G_END_DECLS
