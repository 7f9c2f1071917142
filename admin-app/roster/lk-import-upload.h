/* lk-import-upload.h: the framed double handshake of DESIGN.md step 1
 *
 * POST /api/v1/imports with the frame, compare the server's echo (row count and the
 * canonical checksum) with what was sent, and on a match POST /imports/{id}/commit. A
 * mismatch, a bad_frame answer, a 5xx or a transport error starts the next attempt; after
 * "max-attempts" (3) failed attempts in a row the upload fails with "上传失败" and the
 * reason. A 422 invalid_rows is not retried: the rows are wrong, and
 * lk_import_upload_get_row_errors() returns them for the preview. 401/403 are not retried.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "lk-api-client.h"

G_BEGIN_DECLS

#define LK_UPLOAD_ERROR (lk_upload_error_quark ())

typedef enum
{
  LK_UPLOAD_ERROR_FAILED,        /* every attempt failed; the message says why */
  LK_UPLOAD_ERROR_INVALID_ROWS,  /* 422: see lk_import_upload_get_row_errors() */
  LK_UPLOAD_ERROR_REJECTED,      /* 401/403 or another answer that a retry cannot fix */
  LK_UPLOAD_ERROR_EMPTY,         /* no rows to send */
} LkUploadError;

GQuark lk_upload_error_quark (void);

typedef struct
{
  gint64 batch_id;
  gint64 inserted;
  gint64 updated;
  gint64 unchanged;
  guint  attempts;     /* 1 when the first attempt went through */
} LkImportResult;

#define LK_TYPE_IMPORT_UPLOAD (lk_import_upload_get_type ())

G_DECLARE_FINAL_TYPE (LkImportUpload, lk_import_upload, LK, IMPORT_UPLOAD, GObject)

/* @rows: LkImportRow, normalized; the upload keeps a reference to the array. */
LkImportUpload *lk_import_upload_new             (LkApiClient     *client,
                                                  GPtrArray       *rows);

LkApiClient    *lk_import_upload_get_client      (LkImportUpload  *self);
guint           lk_import_upload_get_max_attempts (LkImportUpload *self);
void            lk_import_upload_set_max_attempts (LkImportUpload *self,
                                                   guint           max_attempts);
/* The attempt running now (or the last one), from 1. */
guint           lk_import_upload_get_attempt     (LkImportUpload  *self);
/* After a LK_UPLOAD_ERROR_INVALID_ROWS failure: the server's LkRowError list. */
GPtrArray      *lk_import_upload_get_row_errors  (LkImportUpload  *self);

/* Runs the handshake; emits ::progress (double fraction, const char *stage) in the
 * caller's main context. Only one run at a time. */
void            lk_import_upload_run_async       (LkImportUpload      *self,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
gboolean        lk_import_upload_run_finish      (LkImportUpload      *self,
                                                  GAsyncResult        *result,
                                                  LkImportResult      *out_result,
                                                  GError             **error);

G_END_DECLS
