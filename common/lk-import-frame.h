/* lk-import-frame.h: roster rows, their canonical checksum, and the import frame
 *
 * The frame is the body of POST /api/v1/imports (DESIGN.md, step 1):
 *
 *   LKIMPORT/1 <row count>\n
 *   <payload: a JSON array of rows>\n
 *   LKEND <sha256 of the payload bytes, lower-case hex>\n
 *
 * The admin app builds it, the server parses it. Both compute the echo checksum
 * with lk_import_rows_checksum(), so the two sides can never disagree on it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define LK_IMPORT_FRAME_CONTENT_TYPE "application/vnd.lingka.import-frame"
#define LK_IMPORT_MAX_ROWS 200000
#define LK_IMPORT_FIELD_MAX_CHARS 64

typedef struct
{
  gint64  seq;         /* 序号, > 0, unique in a frame */
  char   *province;    /* 学校所在省份 */
  char   *school;      /* 学校名称 */
  char   *klass;       /* 学生班级 (JSON key "class") */
  char   *name;        /* 学生姓名 */
  char   *student_no;  /* 学生学号 */
  char   *card_no;     /* IC卡号, NULL when blank */
} LkImportRow;

/* One problem with one row; seq is the row's 序号 (0 if unknown). field is the JSON key
 * ("province", "school", "class", "name", "student_no", "card_no", "seq"). */
typedef struct
{
  gint64  seq;
  char   *field;
  char   *message;     /* translated, human text */
} LkRowError;

LkImportRow *lk_import_row_new            (void);
LkImportRow *lk_import_row_copy           (const LkImportRow *row);
void         lk_import_row_free           (LkImportRow       *row);
gboolean     lk_import_row_equal          (const LkImportRow *a,
                                           const LkImportRow *b);

LkRowError  *lk_row_error_new             (gint64             seq,
                                           const char        *field,
                                           const char        *message);
void         lk_row_error_free            (LkRowError        *error);

/* Trims leading and trailing whitespace, ASCII and Unicode (U+3000 ideographic space,
 * U+00A0, U+FEFF...), and turns full-width ASCII forms (Ｕ+FF01..FF5E) into ASCII.
 * Returns a new string; NULL in gives NULL out. */
char        *lk_normalize_text            (const char        *text);

/* Normalizes every text field in place (lk_normalize_text); an empty card_no becomes NULL. */
void         lk_import_row_normalize      (LkImportRow       *row);

/* Checks one normalized row: required fields present, lengths, student_no and card_no
 * characters. Appends LkRowError items to @errors (an array with lk_row_error_free as its
 * free func). Returns TRUE if the row had no error. Duplicate student numbers across rows
 * are checked by lk_import_rows_validate(). */
gboolean     lk_import_row_validate       (const LkImportRow *row,
                                           GPtrArray         *errors);

/* Validates every row and duplicates (same school + student_no, same seq).
 * Returns a new array of LkRowError (empty when all rows are good). */
GPtrArray   *lk_import_rows_validate      (GPtrArray         *rows);

/* Strict: @node must be an array of objects with exactly the row keys and the right types
 * (seq an integer; text fields strings; card_no a string or null). Unknown keys are an error.
 * Returns an array of LkImportRow (free func set), not yet normalized. */
GPtrArray   *lk_import_rows_from_json     (JsonNode          *node,
                                           GError           **error);
JsonNode    *lk_import_rows_to_json       (GPtrArray         *rows);
JsonNode    *lk_import_row_to_json        (const LkImportRow *row);

/* Canonical JSON of the rows: sorted by seq, keys in the order
 * seq, province, school, class, name, student_no, card_no; no spaces; UTF-8 unescaped
 * (only ", \\ and control characters are escaped). */
char        *lk_import_rows_canonical_json (GPtrArray        *rows);
/* SHA-256 of the canonical JSON, lower-case hex. */
char        *lk_import_rows_checksum      (GPtrArray         *rows);

/* Builds a frame from rows (payload = canonical JSON). */
GBytes      *lk_import_frame_build        (GPtrArray         *rows);
/* Parses a frame. A bad start field, end field, count or checksum gives LK_ERROR_BAD_FRAME;
 * a payload that is not the expected JSON gives LK_ERROR_INVALID_JSON.
 * Returns the rows, normalized. */
GPtrArray   *lk_import_frame_parse        (GBytes            *frame,
                                           GError           **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkImportRow, lk_import_row_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkRowError, lk_row_error_free)

G_END_DECLS
