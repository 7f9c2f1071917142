/* lk-roster-reader.h: reads a school office's roster (.xlsx, .xls, .csv) into import rows
 *
 * The columns are found by their Chinese header (序号, 学校所在省份, 学校名称, 学生姓名,
 * 学生班级, 学生学号, IC卡号) in any order, on the first worksheet that has them. Every
 * returned row is normalized (lk_import_row_normalize) and the row errors already include
 * lk_import_rows_validate()'s (missing fields, duplicate student numbers).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "lk-import-frame.h"

G_BEGIN_DECLS

#define LK_ROSTER_ERROR (lk_roster_error_quark ())

typedef enum
{
  LK_ROSTER_ERROR_FAILED,
  LK_ROSTER_ERROR_UNSUPPORTED,     /* not a spreadsheet format we read */
  LK_ROSTER_ERROR_CORRUPT,         /* broken zip, missing part, malformed XML or CSV */
  LK_ROSTER_ERROR_NO_HEADER,       /* no sheet has the roster header */
  LK_ROSTER_ERROR_MISSING_COLUMN,  /* a header without one of the required columns */
  LK_ROSTER_ERROR_ENCODING,        /* CSV that is neither UTF-8 nor GB18030 */
  LK_ROSTER_ERROR_TOO_MANY_ROWS,   /* more than LK_IMPORT_MAX_ROWS */
} LkRosterError;

GQuark lk_roster_error_quark (void);

typedef enum
{
  LK_ROSTER_FORMAT_UNKNOWN,
  LK_ROSTER_FORMAT_XLSX,
  LK_ROSTER_FORMAT_XLS,
  LK_ROSTER_FORMAT_CSV,
} LkRosterFormat;

/* Called with a fraction in [0, 1]. From lk_roster_read_file() it runs in the reading
 * thread; from lk_roster_read_file_async() it runs in the caller's thread-default main
 * context, so a GUI may touch widgets from it. */
typedef void (*LkRosterProgressFunc) (double   fraction,
                                      gpointer user_data);

/* Guesses the format from the first bytes (zip, OLE2 compound file) and then the name. */
LkRosterFormat lk_roster_detect_format   (GFile                *file,
                                          GCancellable         *cancellable,
                                          GError              **error);

/* Reads a roster, blocking. Returns a new array of LkImportRow (free func set), in file
 * order, normalized. @row_errors (optional) receives a new array of LkRowError: cells
 * that could not be read, then lk_import_rows_validate()'s errors. A file that cannot be
 * read as a roster at all is a LK_ROSTER_ERROR with a translated message. */
GPtrArray     *lk_roster_read_file       (GFile                *file,
                                          GCancellable         *cancellable,
                                          LkRosterProgressFunc  progress,
                                          gpointer              progress_data,
                                          GPtrArray           **row_errors,
                                          GError              **error);

/* The same in a GTask thread. @progress (nullable) is called in the thread-default main
 * context of the caller; @progress_data_destroy runs when the task is done. */
void           lk_roster_read_file_async  (GFile                *file,
                                           GCancellable         *cancellable,
                                           LkRosterProgressFunc  progress,
                                           gpointer              progress_data,
                                           GDestroyNotify        progress_data_destroy,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
GPtrArray     *lk_roster_read_file_finish (GAsyncResult         *result,
                                           GPtrArray           **row_errors,
                                           GError              **error);

/* Compares rows with the students the server already has (JSON objects as the server
 * lists them, with at least "student_no", "name" and "class"; "school" is compared when
 * present). Returns a new array of LkRowError, one per row whose student number is
 * known with a different name or class, saying which. */
GPtrArray     *lk_roster_find_conflicts  (GPtrArray            *rows,
                                          GPtrArray            *students);

G_END_DECLS
