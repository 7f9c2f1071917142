/* lk-roster-writer.c: writes .xlsx files for teachers (template, export) with libxlsxwriter
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <xlsxwriter.h>

#include "lingka-common.h"
#include "lk-roster-reader.h"
#include "lk-roster-writer.h"

/* The roster columns; the header text is what the reader looks for, never translated. */
static const char * const roster_header[] = {
  "序号", "学校所在省份", "学校名称", "学生姓名", "学生班级", "学生学号", "IC卡号",
};
static const double roster_widths[] = { 8, 14, 28, 12, 16, 16, 14 };

typedef struct
{
  lxw_workbook  *workbook;
  lxw_worksheet *sheet;
  lxw_format    *header;
  lxw_format    *text;
} Book;

static gboolean
check (lxw_error    err,
       const char  *path,
       GError     **error)
{
  if (err == LXW_NO_ERROR)
    return TRUE;

  g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_FAILED,
               _("Cannot write “%s”: %s"), path, lxw_strerror (err));
  return FALSE;
}

static gboolean
book_open (Book        *book,
           const char  *path,
           const char  *sheet_name,
           GError     **error)
{
  book->workbook = workbook_new (path);
  if (book->workbook == NULL)
    {
      g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_FAILED,
                   _("Cannot create “%s”"), path);
      return FALSE;
    }
  book->sheet = workbook_add_worksheet (book->workbook, sheet_name);
  book->header = workbook_add_format (book->workbook);
  format_set_bold (book->header);
  format_set_bg_color (book->header, 0xDDEBF7);
  format_set_border (book->header, LXW_BORDER_THIN);
  /* "@" is Excel's text format: typed digits stay text, leading zeros stay. */
  book->text = workbook_add_format (book->workbook);
  format_set_num_format (book->text, "@");

  return TRUE;
}

static gboolean
book_close (Book        *book,
            const char  *path,
            GError     **error)
{
  lxw_error err = workbook_close (book->workbook);

  book->workbook = NULL;
  return check (err, path, error);
}

static void
book_abort (Book *book)
{
  /* libxlsxwriter frees a workbook only by closing it; the file is then removed. */
  if (book->workbook != NULL)
    {
      char *filename = g_strdup (book->workbook->filename);

      workbook_close (book->workbook);
      book->workbook = NULL;
      if (filename != NULL)
        g_unlink (filename);
      g_free (filename);
    }
}

static gboolean
write_header (Book        *book,
              const char  *path,
              const char * const *titles,
              const double *widths,
              guint         n,
              guint         text_from,
              guint         text_to,
              GError     **error)
{
  for (guint c = 0; c < n; c++)
    {
      lxw_format *column_format = (c >= text_from && c <= text_to) ? book->text : NULL;

      if (!check (worksheet_set_column (book->sheet, c, c, widths[c], column_format), path, error) ||
          !check (worksheet_write_string (book->sheet, 0, c, titles[c], book->header), path, error))
        return FALSE;
    }
  worksheet_freeze_panes (book->sheet, 1, 0);

  return TRUE;
}

static gboolean
write_text (Book        *book,
            const char  *path,
            guint        row,
            guint        column,
            const char  *text,
            lxw_format  *format,
            GError     **error)
{
  if (text == NULL || *text == '\0')
    return check (worksheet_write_blank (book->sheet, row, column, format), path, error);
  return check (worksheet_write_string (book->sheet, row, column, text, format), path, error);
}

gboolean
lk_roster_write_template (const char  *path,
                          GError     **error)
{
  Book book = { 0 };
  const char * const example[] = {
    NULL, "浙江省", "杭州市文三街小学", "张小明", "三年级(2)班", "0020230001", NULL,
  };

  g_return_val_if_fail (path != NULL, FALSE);

  if (!book_open (&book, path, _("Roster"), error))
    return FALSE;
  if (!write_header (&book, path, roster_header, roster_widths, G_N_ELEMENTS (roster_header),
                     5, 6, error))
    goto fail;

  if (!check (worksheet_write_number (book.sheet, 1, 0, 1, NULL), path, error))
    goto fail;
  for (guint c = 1; c < G_N_ELEMENTS (example); c++)
    if (!write_text (&book, path, 1, c, example[c], c >= 5 ? book.text : NULL, error))
      goto fail;

  return book_close (&book, path, error);

fail:
  book_abort (&book);
  return FALSE;
}

gboolean
lk_roster_write_rows (const char  *path,
                      GPtrArray   *rows,
                      GError     **error)
{
  Book book = { 0 };

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (rows != NULL, FALSE);

  if (!book_open (&book, path, _("Roster"), error))
    return FALSE;
  if (!write_header (&book, path, roster_header, roster_widths, G_N_ELEMENTS (roster_header),
                     5, 6, error))
    goto fail;

  for (guint i = 0; i < rows->len; i++)
    {
      LkImportRow *row = g_ptr_array_index (rows, i);
      guint r = i + 1;

      if (!check (worksheet_write_number (book.sheet, r, 0, (double) row->seq, NULL), path, error) ||
          !write_text (&book, path, r, 1, row->province, NULL, error) ||
          !write_text (&book, path, r, 2, row->school, NULL, error) ||
          !write_text (&book, path, r, 3, row->name, NULL, error) ||
          !write_text (&book, path, r, 4, row->klass, NULL, error) ||
          !write_text (&book, path, r, 5, row->student_no, book.text, error) ||
          !write_text (&book, path, r, 6, row->card_no, book.text, error))
        goto fail;
    }

  return book_close (&book, path, error);

fail:
  book_abort (&book);
  return FALSE;
}

const char *
lk_roster_status_label (const char *status)
{
  if (status == NULL || *status == '\0' || g_strcmp0 (status, "none") == 0)
    return _("Not applied");
  if (g_strcmp0 (status, LK_APP_VERIFIED) == 0)
    return _("Applied");
  if (g_strcmp0 (status, LK_APP_PAID) == 0)
    return _("Paid");
  if (g_strcmp0 (status, LK_APP_CLAIMABLE) == 0)
    return _("Ready to collect");
  if (g_strcmp0 (status, LK_APP_ISSUED) == 0)
    return _("Card issued");
  if (g_strcmp0 (status, LK_APP_CANCELLED) == 0)
    return _("Cancelled");
  return status;
}

static const char *
object_string (JsonObject *object,
               const char *key)
{
  JsonNode *node = json_object_get_member (object, key);

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gboolean
lk_roster_export_students (const char  *path,
                           GPtrArray   *students,
                           GError     **error)
{
  Book book = { 0 };
  const char *titles[] = {
    "学校所在省份", "学校名称", "学生姓名", "学生班级", "学生学号", "IC卡号", NULL,
  };
  const double widths[] = { 14, 28, 12, 16, 16, 14, 14 };
  const char *keys[] = { "province", "school", "name", "class", "student_no", "card_no" };

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (students != NULL, FALSE);

  /* The last column is the only one a person reads rather than a program. */
  titles[6] = _("Card status");

  if (!book_open (&book, path, _("Students"), error))
    return FALSE;
  if (!write_header (&book, path, titles, widths, G_N_ELEMENTS (titles), 4, 5, error))
    goto fail;

  for (guint i = 0; i < students->len; i++)
    {
      JsonObject *student = g_ptr_array_index (students, i);
      const char *klass = object_string (student, "class");

      if (klass == NULL)
        klass = object_string (student, "class_name");
      for (guint c = 0; c < G_N_ELEMENTS (keys); c++)
        {
          const char *value = c == 3 ? klass : object_string (student, keys[c]);

          if (!write_text (&book, path, i + 1, c, value, c >= 4 ? book.text : NULL, error))
            goto fail;
        }
      if (!write_text (&book, path, i + 1, 6,
                       lk_roster_status_label (object_string (student, "status")), NULL, error))
        goto fail;
    }
  if (students->len > 0)
    worksheet_autofilter (book.sheet, 0, 0, students->len, G_N_ELEMENTS (titles) - 1);

  return book_close (&book, path, error);

fail:
  book_abort (&book);
  return FALSE;
}
