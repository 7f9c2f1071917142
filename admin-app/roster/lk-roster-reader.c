/* lk-roster-reader.c: reads a school office's roster (.xlsx, .xls, .csv) into import rows
 *
 * Every format is turned into rows of cell texts, which one builder (LkRosterBuilder in
 * lk-roster-private.h) matches against the Chinese header and turns into LkImportRow.
 * .xlsx: libgsf opens the zip container, libxml2's streaming reader reads the parts, so a
 * 100,000-row sheet is never held as a tree. .xls: FreeXL. .csv: our own RFC 4180 reader.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gi18n.h>
#include <gsf/gsf.h>
#include <libxml/xmlreader.h>
#include <freexl.h>

#include "lingka-common.h"
#include "lk-roster-reader.h"
#include "lk-roster-private.h"

G_DEFINE_QUARK (lk-roster-error-quark, lk_roster_error)

/* libgsf 1.14 declares no autoptr cleanups. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GsfInput, g_object_unref)

/* How many rows of a sheet are searched for the header before the sheet is skipped. */
#define HEADER_SEARCH_ROWS 50
/* Below this many rows, a row that looks like a header but lacks columns is reported. */
#define HEADER_MIN_MATCHES 3

typedef enum
{
  COL_SEQ,
  COL_PROVINCE,
  COL_SCHOOL,
  COL_NAME,
  COL_CLASS,
  COL_STUDENT_NO,
  COL_CARD_NO,
  N_COLUMNS
} RosterColumn;

/* The header texts, in the order of RosterColumn. They are matched after normalization
 * (lk_normalize_text, inner whitespace and '*' removed, ASCII upper-cased). */
static const char * const column_headers[N_COLUMNS] = {
  "序号", "学校所在省份", "学校名称", "学生姓名", "学生班级", "学生学号", "IC卡号",
};
/* 序号 may be absent (rows are then numbered in file order); IC卡号 may be absent. */
static const gboolean column_required[N_COLUMNS] = {
  FALSE, TRUE, TRUE, TRUE, TRUE, TRUE, FALSE,
};

struct _LkRosterBuilder
{
  GCancellable         *cancellable;
  LkRosterProgressFunc  progress;
  gpointer              progress_data;
  double                last_progress;

  /* the sheet being read */
  char                 *sheet_name;
  gboolean              header_found;
  guint                 rows_before_header;
  int                   column_of[N_COLUMNS];
  gint64                next_auto_seq;

  /* the best incomplete header seen so far, for the error message */
  guint                 best_matches;
  char                 *best_missing;

  /* Province, school and class repeat on every row: normalize each spelling once. */
  GHashTable           *normalized;

  GPtrArray            *rows;
  GPtrArray            *errors;
};

/* Beyond this many distinct spellings the cache stops growing (it is only a shortcut). */
#define NORMALIZED_CACHE_MAX 20000

static char *
normalize_header (const char *text)
{
  g_autofree char *norm = lk_normalize_text (text);
  GString *out;

  if (norm == NULL)
    return NULL;

  out = g_string_sized_new (strlen (norm));
  for (const char *p = norm; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isspace (c) || c == 0x3000 || c == '*' || c == 0xFF0A)
        continue;
      if (c < 0x80)
        g_string_append_c (out, g_ascii_toupper ((char) c));
      else
        g_string_append_unichar (out, c);
    }

  return g_string_free (out, FALSE);
}

LkRosterBuilder *
lk_roster_builder_new (GCancellable         *cancellable,
                       LkRosterProgressFunc  progress,
                       gpointer              progress_data)
{
  LkRosterBuilder *self = g_new0 (LkRosterBuilder, 1);

  self->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  self->progress = progress;
  self->progress_data = progress_data;
  self->last_progress = -1.0;
  self->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);
  self->errors = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_row_error_free);
  self->normalized = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < N_COLUMNS; i++)
    self->column_of[i] = -1;

  return self;
}

void
lk_roster_builder_free (LkRosterBuilder *self)
{
  if (self == NULL)
    return;

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->sheet_name, g_free);
  g_clear_pointer (&self->best_missing, g_free);
  g_clear_pointer (&self->normalized, g_hash_table_unref);
  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_clear_pointer (&self->errors, g_ptr_array_unref);
  g_free (self);
}

void
lk_roster_builder_report_progress (LkRosterBuilder *self,
                                   double           fraction)
{
  fraction = CLAMP (fraction, 0.0, 1.0);
  /* Every percent is plenty for a progress bar, and keeps a GUI's queue short. */
  if (self->progress == NULL || (fraction - self->last_progress < 0.01 && fraction < 1.0))
    return;
  if (fraction == self->last_progress)
    return;

  self->last_progress = fraction;
  self->progress (fraction, self->progress_data);
}

void
lk_roster_builder_begin_sheet (LkRosterBuilder *self,
                               const char      *sheet_name)
{
  g_free (self->sheet_name);
  self->sheet_name = g_strdup (sheet_name);
  self->header_found = FALSE;
  self->rows_before_header = 0;
  for (guint i = 0; i < N_COLUMNS; i++)
    self->column_of[i] = -1;
}

gboolean
lk_roster_builder_has_header (LkRosterBuilder *self)
{
  return self->header_found;
}

/* Looks at a row before the header: is it the header? */
static LkRowResult
builder_try_header (LkRosterBuilder *self,
                    GPtrArray       *cells)
{
  int found[N_COLUMNS];
  guint matches = 0;
  g_autoptr(GString) missing = NULL;

  for (guint i = 0; i < N_COLUMNS; i++)
    found[i] = -1;

  for (guint c = 0; c < cells->len; c++)
    {
      g_autofree char *norm = NULL;
      const char *text = g_ptr_array_index (cells, c);

      if (text == NULL || *text == '\0')
        continue;
      norm = normalize_header (text);
      for (guint i = 0; i < N_COLUMNS; i++)
        {
          if (found[i] < 0 && g_strcmp0 (norm, column_headers[i]) == 0)
            {
              found[i] = (int) c;
              matches++;
              break;
            }
        }
    }

  if (matches < HEADER_MIN_MATCHES)
    {
      if (++self->rows_before_header >= HEADER_SEARCH_ROWS)
        return LK_ROW_NEXT_SHEET;
      return LK_ROW_CONTINUE;
    }

  for (guint i = 0; i < N_COLUMNS; i++)
    {
      if (found[i] >= 0 || !column_required[i])
        continue;
      if (missing == NULL)
        missing = g_string_new (NULL);
      else
        g_string_append (missing, "、");
      g_string_append (missing, column_headers[i]);
    }

  if (missing != NULL)
    {
      /* A header without all the columns: not the roster; remember why for the error. */
      if (matches > self->best_matches)
        {
          self->best_matches = matches;
          g_free (self->best_missing);
          self->best_missing = g_string_free (g_steal_pointer (&missing), FALSE);
        }
      return LK_ROW_NEXT_SHEET;
    }

  memcpy (self->column_of, found, sizeof found);
  self->header_found = TRUE;
  self->next_auto_seq = 1;
  g_debug ("roster header found on sheet “%s”", self->sheet_name ? self->sheet_name : "");

  return LK_ROW_CONTINUE;
}

/* lk_normalize_text() of a repeated value, from the cache when it was seen before. */
static char *
builder_normalize_repeated (LkRosterBuilder *self,
                            const char      *text)
{
  const char *cached;
  char *norm;

  if (text == NULL)
    return NULL;
  cached = g_hash_table_lookup (self->normalized, text);
  if (cached != NULL)
    return g_strdup (cached);

  norm = lk_normalize_text (text);
  if (g_hash_table_size (self->normalized) < NORMALIZED_CACHE_MAX)
    g_hash_table_insert (self->normalized, g_strdup (text), g_strdup (norm));
  return norm;
}

/* Whether a cell holds nothing but white space, without allocating (most cells are not). */
static gboolean
text_is_blank (const char *text)
{
  if (text == NULL)
    return TRUE;

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c;

      if ((guchar) *p < 0x80)
        {
          if (!g_ascii_isspace (*p))
            return FALSE;
          continue;
        }
      c = g_utf8_get_char (p);
      if (!(g_unichar_isspace (c) || c == 0x00A0 || c == 0x3000 || c == 0xFEFF ||
            (c >= 0x2000 && c <= 0x200D) || c == 0x202F || c == 0x205F || c == 0x2060))
        return FALSE;
    }

  return TRUE;
}

static const char *
cell_at (GPtrArray *cells,
         int        column)
{
  if (column < 0 || (guint) column >= cells->len)
    return NULL;
  return g_ptr_array_index (cells, column);
}

static gboolean
parse_seq (const char *text,
           gint64     *out)
{
  guint64 value;
  const char *end = NULL;

  /* The rendering of numbers (lk_roster_format_number) gives "12", never "12.0". */
  if (text == NULL || !g_ascii_isdigit (*text))
    return FALSE;
  errno = 0;
  value = g_ascii_strtoull (text, (char **) &end, 10);
  if (errno != 0 || *end != '\0' || value == 0 || value > G_MAXINT64)
    return FALSE;

  *out = (gint64) value;
  return TRUE;
}

LkRowResult
lk_roster_builder_add_row (LkRosterBuilder  *self,
                           guint             sheet_row,
                           GPtrArray        *cells,
                           GError          **error)
{
  g_autoptr(LkImportRow) row = NULL;
  g_autofree char *seq_text = NULL;
  gboolean blank = TRUE;

  if ((self->rows->len & 1023) == 0 && g_cancellable_set_error_if_cancelled (self->cancellable, error))
    return LK_ROW_ERROR;

  if (!self->header_found)
    return builder_try_header (self, cells);

  for (guint i = 0; i < N_COLUMNS && blank; i++)
    blank = text_is_blank (cell_at (cells, self->column_of[i]));
  /* Blank rows (often left between classes, or formatted but empty) are skipped. */
  if (blank)
    return LK_ROW_CONTINUE;

  if (self->rows->len >= LK_IMPORT_MAX_ROWS)
    {
      g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_TOO_MANY_ROWS,
                   _("The roster has more than %d rows; split it into several files"),
                   LK_IMPORT_MAX_ROWS);
      return LK_ROW_ERROR;
    }

  /* lk_import_row_normalize() does the unique fields (and the card number's spelling);
   * the repeated ones, normalized the same way, come from the cache. */
  row = lk_import_row_new ();
  row->name = g_strdup (cell_at (cells, self->column_of[COL_NAME]));
  row->student_no = g_strdup (cell_at (cells, self->column_of[COL_STUDENT_NO]));
  row->card_no = g_strdup (cell_at (cells, self->column_of[COL_CARD_NO]));
  lk_import_row_normalize (row);
  row->province = builder_normalize_repeated (self, cell_at (cells, self->column_of[COL_PROVINCE]));
  row->school = builder_normalize_repeated (self, cell_at (cells, self->column_of[COL_SCHOOL]));
  row->klass = builder_normalize_repeated (self, cell_at (cells, self->column_of[COL_CLASS]));

  if (self->column_of[COL_SEQ] < 0)
    {
      row->seq = self->next_auto_seq++;
    }
  else
    {
      const char *raw = cell_at (cells, self->column_of[COL_SEQ]);
      /* numbers come as plain digits; anything else is normalized first */
      gboolean ok = parse_seq (raw, &row->seq);

      if (!ok)
        {
          seq_text = lk_normalize_text (raw);
          ok = parse_seq (seq_text, &row->seq);
        }
      if (!ok)
        {
          g_autofree char *message = NULL;

          if (seq_text == NULL || *seq_text == '\0')
            message = g_strdup_printf (_("Row %u: 序号 is empty"), sheet_row);
          else
            message = g_strdup_printf (_("Row %u: 序号 “%s” is not a positive whole number"),
                                       sheet_row, seq_text);
          g_ptr_array_add (self->errors, lk_row_error_new (0, "seq", message));
          row->seq = 0;
        }
    }

  g_ptr_array_add (self->rows, g_steal_pointer (&row));

  return LK_ROW_CONTINUE;
}

/* Ends the reading: a missing header is an error; else the rows are validated. */
static GPtrArray *
lk_roster_builder_finish (LkRosterBuilder  *self,
                          GPtrArray       **row_errors,
                          GError          **error)
{
  g_autoptr(GPtrArray) validation = NULL;

  if (!self->header_found && self->rows->len == 0)
    {
      if (self->best_missing != NULL)
        g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_MISSING_COLUMN,
                     _("The roster has no “%s” column. The header must have the columns "
                       "序号, 学校所在省份, 学校名称, 学生姓名, 学生班级, 学生学号, IC卡号."),
                     self->best_missing);
      else
        g_set_error_literal (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_NO_HEADER,
                             _("No sheet has the roster header (序号, 学校所在省份, 学校名称, "
                               "学生姓名, 学生班级, 学生学号, IC卡号)."));
      return NULL;
    }

  validation = lk_import_rows_validate (self->rows);
  for (guint i = 0; i < validation->len; i++)
    {
      LkRowError *e = g_ptr_array_index (validation, i);

      /* A row without a usable 序号 was reported above, with its line number. */
      if (e->seq == 0 && g_strcmp0 (e->field, "seq") == 0)
        continue;
      g_ptr_array_add (self->errors, g_steal_pointer (&validation->pdata[i]));
    }

  lk_roster_builder_report_progress (self, 1.0);

  if (row_errors != NULL)
    *row_errors = g_steal_pointer (&self->errors);
  return g_steal_pointer (&self->rows);
}

/* Numbers as a spreadsheet stores them ("2023001", "1.0E+5", "2.5", "-3E-2") rendered
 * as the decimal text a person typed: no exponent, no ".0", no float noise. */
char *
lk_roster_format_number (const char *text)
{
  g_autofree char *fallback = NULL;
  GString *digits;
  GString *out;
  const char *p = text;
  gboolean negative = FALSE;
  gint64 exponent = 0;
  gint64 point;
  guint significant = 0;
  gboolean seen_nonzero = FALSE;
  gboolean any_digit = FALSE;

  if (text == NULL)
    return NULL;

  while (g_ascii_isspace (*p))
    p++;
  if (*p == '+' || *p == '-')
    negative = (*p++ == '-');

  digits = g_string_new (NULL);
  point = -1;
  for (; *p != '\0'; p++)
    {
      if (g_ascii_isdigit (*p))
        {
          any_digit = TRUE;
          if (*p != '0')
            seen_nonzero = TRUE;
          if (seen_nonzero)
            significant++;
          g_string_append_c (digits, *p);
        }
      else if (*p == '.' && point < 0)
        point = (gint64) digits->len;
      else
        break;
    }
  if (point < 0)
    point = (gint64) digits->len;

  if (*p == 'e' || *p == 'E')
    {
      char *end = NULL;

      p++;
      errno = 0;
      exponent = g_ascii_strtoll (p, &end, 10);
      if (end == p || errno != 0)
        exponent = G_MAXINT64;
      p = end;
    }
  while (g_ascii_isspace (*p))
    p++;

  if (!any_digit || *p != '\0' || exponent > 40 || exponent < -40)
    {
      g_string_free (digits, TRUE);
      return g_strdup (text);
    }

  /* Spreadsheets keep 15 significant digits; beyond that the text is binary noise
   * (0.30000000000000004). Round once, then render the rounded text. */
  if (significant > 15)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      g_string_free (digits, TRUE);
      g_ascii_formatd (buf, sizeof buf, "%.15g", g_ascii_strtod (text, NULL));
      if (strchr (buf, 'n') != NULL || strchr (buf, 'N') != NULL)
        return g_strdup (text);
      fallback = g_strdup (buf);
      return lk_roster_format_number (fallback);
    }

  point += exponent;
  out = g_string_new (NULL);
  if (point <= 0)
    {
      g_string_append (out, "0.");
      for (gint64 i = point; i < 0; i++)
        g_string_append_c (out, '0');
      g_string_append (out, digits->str);
    }
  else if ((gsize) point >= digits->len)
    {
      g_string_append (out, digits->str);
      for (gint64 i = (gint64) digits->len; i < point; i++)
        g_string_append_c (out, '0');
    }
  else
    {
      g_string_append_len (out, digits->str, point);
      g_string_append_c (out, '.');
      g_string_append (out, digits->str + point);
    }
  g_string_free (digits, TRUE);

  /* Trim the fraction's trailing zeros, then the integer part's leading zeros. */
  if (strchr (out->str, '.') != NULL)
    {
      while (out->len > 0 && out->str[out->len - 1] == '0')
        g_string_truncate (out, out->len - 1);
      if (out->len > 0 && out->str[out->len - 1] == '.')
        g_string_truncate (out, out->len - 1);
    }
  {
    gsize lead = 0;

    while (lead + 1 < out->len && out->str[lead] == '0' && out->str[lead + 1] != '.')
      lead++;
    g_string_erase (out, 0, lead);
  }
  if (out->len == 0)
    g_string_assign (out, "0");

  if (negative && strcmp (out->str, "0") != 0)
    g_string_prepend_c (out, '-');

  return g_string_free (out, FALSE);
}

/* ------------------------------------------------------------------------------------ */
/* .xlsx                                                                               */
/* ------------------------------------------------------------------------------------ */

typedef struct
{
  GsfInput *input;
  char     *part;
  char     *error;   /* the first XML error, for the message */
} XmlSource;

typedef struct
{
  char *name;
  char *rel_id;
} XlsxSheet;

typedef struct
{
  char *type;
  char *target;
} XlsxRel;

typedef struct
{
  GsfInfile    *zip;
  char         *workbook_path;
  GHashTable   *rels;            /* id → XlsxRel */
  GPtrArray    *sheets;          /* XlsxSheet */
  char         *sst_path;        /* NULL if the workbook names none */
  gboolean      sst_loaded;
  GStringChunk *sst_chunk;
  GPtrArray    *sst;             /* const char *, in sst_chunk */
} XlsxBook;

static void
xlsx_sheet_free (XlsxSheet *sheet)
{
  g_free (sheet->name);
  g_free (sheet->rel_id);
  g_free (sheet);
}

static void
xlsx_rel_free (XlsxRel *rel)
{
  g_free (rel->type);
  g_free (rel->target);
  g_free (rel);
}

static void
xlsx_book_clear (XlsxBook *book)
{
  g_clear_object (&book->zip);
  g_clear_pointer (&book->workbook_path, g_free);
  g_clear_pointer (&book->rels, g_hash_table_unref);
  g_clear_pointer (&book->sheets, g_ptr_array_unref);
  g_clear_pointer (&book->sst_path, g_free);
  g_clear_pointer (&book->sst, g_ptr_array_unref);
  g_clear_pointer (&book->sst_chunk, g_string_chunk_free);
}

static void
set_damaged (GError     **error,
             const char  *reason)
{
  g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_CORRUPT,
               _("The Excel file is damaged: %s"), reason);
}

static GsfInput *
xlsx_open_part (XlsxBook   *book,
                const char *path)
{
  g_auto(GStrv) names = g_strsplit (path, "/", -1);
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();

  for (guint i = 0; names[i] != NULL; i++)
    if (*names[i] != '\0')
      g_ptr_array_add (parts, names[i]);
  g_ptr_array_add (parts, NULL);

  return gsf_infile_child_by_aname (book->zip, (const char **) parts->pdata);
}

/* Resolves a relationship target against the directory of the part that names it. */
static char *
resolve_target (const char *base_part,
                const char *target)
{
  g_autofree char *dir = NULL;
  g_autofree char *joined = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(GPtrArray) stack = g_ptr_array_new ();

  if (target[0] == '/')
    joined = g_strdup (target + 1);
  else
    {
      dir = g_path_get_dirname (base_part);
      joined = strcmp (dir, ".") == 0 ? g_strdup (target) : g_strconcat (dir, "/", target, NULL);
    }

  names = g_strsplit (joined, "/", -1);
  for (guint i = 0; names[i] != NULL; i++)
    {
      if (*names[i] == '\0' || strcmp (names[i], ".") == 0)
        continue;
      if (strcmp (names[i], "..") == 0)
        {
          if (stack->len > 0)
            g_ptr_array_remove_index (stack, stack->len - 1);
          continue;
        }
      g_ptr_array_add (stack, names[i]);
    }
  g_ptr_array_add (stack, NULL);

  return g_strjoinv ("/", (char **) stack->pdata);
}

static int
xml_source_read_cb (void *context,
                    char *buffer,
                    int   len)
{
  XmlSource *source = context;
  gsf_off_t remaining = gsf_input_remaining (source->input);
  size_t n;

  if (remaining <= 0 || len <= 0)
    return 0;
  n = (size_t) MIN ((gsf_off_t) len, remaining);
  if (gsf_input_read (source->input, n, (guint8 *) buffer) == NULL)
    return -1;

  return (int) n;
}

static void
xml_source_error_cb (void        *context,
                     xmlErrorPtr  xml_error)
{
  XmlSource *source = context;

  if (source->error == NULL && xml_error != NULL && xml_error->level >= XML_ERR_ERROR)
    source->error = g_strdup_printf ("%s, line %d: %s", source->part, xml_error->line,
                                     xml_error->message ? g_strstrip (xml_error->message) : "");
}

static xmlTextReaderPtr
xml_source_open (XmlSource *source)
{
  xmlTextReaderPtr reader;

  /* No network, no entity expansion: the file comes from outside. */
  reader = xmlReaderForIO (xml_source_read_cb, NULL, source, NULL, NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                           XML_PARSE_COMPACT | XML_PARSE_NOCDATA | XML_PARSE_HUGE);
  if (reader != NULL)
    xmlTextReaderSetStructuredErrorHandler (reader, xml_source_error_cb, source);

  return reader;
}

static void
xml_source_set_error (XmlSource  *source,
                      GError    **error)
{
  g_autofree char *reason = NULL;

  if (source->error != NULL)
    reason = g_strdup_printf (_("malformed XML in %s"), source->error);
  else
    reason = g_strdup_printf (_("%s cannot be read"), source->part);
  set_damaged (error, reason);
}

static gboolean
name_is (const xmlChar *name,
         const char    *expected)
{
  return name != NULL && strcmp ((const char *) name, expected) == 0;
}

static gboolean
ends_with (const char *text,
           const char *suffix)
{
  return text != NULL && g_str_has_suffix (text, suffix);
}

/* Reads a .rels part: Relationship Id → {Type, Target}. */
static GHashTable *
xlsx_read_rels (XlsxBook    *book,
                const char  *rels_path,
                GError     **error)
{
  g_autoptr(GsfInput) input = xlsx_open_part (book, rels_path);
  g_autoptr(GHashTable) rels = NULL;
  XmlSource source = { input, (char *) rels_path, NULL };
  xmlTextReaderPtr reader;
  int ret;

  if (input == NULL)
    {
      g_autofree char *reason = g_strdup_printf (_("the part %s is missing"), rels_path);
      set_damaged (error, reason);
      return NULL;
    }

  rels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) xlsx_rel_free);
  reader = xml_source_open (&source);
  while ((ret = xmlTextReaderRead (reader)) == 1)
    {
      if (xmlTextReaderNodeType (reader) == XML_READER_TYPE_ELEMENT &&
          name_is (xmlTextReaderConstLocalName (reader), "Relationship"))
        {
          xmlChar *id = xmlTextReaderGetAttribute (reader, BAD_CAST "Id");
          xmlChar *type = xmlTextReaderGetAttribute (reader, BAD_CAST "Type");
          xmlChar *target = xmlTextReaderGetAttribute (reader, BAD_CAST "Target");

          if (id != NULL && target != NULL)
            {
              XlsxRel *rel = g_new0 (XlsxRel, 1);

              rel->type = g_strdup ((const char *) type);
              rel->target = g_strdup ((const char *) target);
              g_hash_table_replace (rels, g_strdup ((const char *) id), rel);
            }
          xmlFree (id);
          xmlFree (type);
          xmlFree (target);
        }
    }
  xmlFreeTextReader (reader);

  if (ret < 0)
    {
      xml_source_set_error (&source, error);
      g_free (source.error);
      return NULL;
    }
  g_free (source.error);

  return g_steal_pointer (&rels);
}

static char *
rels_path_for (const char *part)
{
  g_autofree char *dir = g_path_get_dirname (part);
  g_autofree char *base = g_path_get_basename (part);

  if (strcmp (dir, ".") == 0)
    return g_strconcat ("_rels/", base, ".rels", NULL);
  return g_strconcat (dir, "/_rels/", base, ".rels", NULL);
}

static gboolean
xlsx_open_book (XlsxBook    *book,
                GsfInput    *file_input,
                GError     **error)
{
  g_autoptr(GError) zip_error = NULL;
  g_autoptr(GHashTable) root_rels = NULL;
  g_autoptr(GsfInput) input = NULL;
  g_autofree char *wb_rels_path = NULL;
  XmlSource source = { NULL, NULL, NULL };
  xmlTextReaderPtr reader;
  GHashTableIter iter;
  XlsxRel *rel;
  int ret;

  book->zip = gsf_infile_zip_new (file_input, &zip_error);
  if (book->zip == NULL)
    {
      g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_CORRUPT,
                   _("The file is not a valid Excel workbook (.xlsx): the zip container "
                     "cannot be opened (%s)"),
                   zip_error ? zip_error->message : _("unknown reason"));
      return FALSE;
    }

  /* The package's root relationships name the workbook part; fall back to the usual name. */
  root_rels = xlsx_read_rels (book, "_rels/.rels", NULL);
  if (root_rels != NULL)
    {
      g_hash_table_iter_init (&iter, root_rels);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &rel))
        if (ends_with (rel->type, "/officeDocument"))
          book->workbook_path = resolve_target ("", rel->target);
    }
  if (book->workbook_path == NULL)
    book->workbook_path = g_strdup ("xl/workbook.xml");

  input = xlsx_open_part (book, book->workbook_path);
  if (input == NULL)
    {
      g_autofree char *reason = g_strdup_printf (_("the part %s is missing"), book->workbook_path);
      set_damaged (error, reason);
      return FALSE;
    }

  wb_rels_path = rels_path_for (book->workbook_path);
  book->rels = xlsx_read_rels (book, wb_rels_path, error);
  if (book->rels == NULL)
    return FALSE;

  book->sheets = g_ptr_array_new_with_free_func ((GDestroyNotify) xlsx_sheet_free);
  source.input = input;
  source.part = book->workbook_path;
  reader = xml_source_open (&source);
  while ((ret = xmlTextReaderRead (reader)) == 1)
    {
      if (xmlTextReaderNodeType (reader) == XML_READER_TYPE_ELEMENT &&
          name_is (xmlTextReaderConstLocalName (reader), "sheet"))
        {
          XlsxSheet *sheet = g_new0 (XlsxSheet, 1);
          xmlChar *name = xmlTextReaderGetAttribute (reader, BAD_CAST "name");
          xmlChar *rid = NULL;

          /* r:id, whatever prefix the namespace got (transitional or strict) */
          if (xmlTextReaderMoveToFirstAttribute (reader) == 1)
            {
              do
                {
                  if (name_is (xmlTextReaderConstLocalName (reader), "id"))
                    rid = xmlTextReaderValue (reader);
                }
              while (rid == NULL && xmlTextReaderMoveToNextAttribute (reader) == 1);
              xmlTextReaderMoveToElement (reader);
            }
          sheet->name = g_strdup (name ? (const char *) name : "");
          sheet->rel_id = g_strdup (rid ? (const char *) rid : "");
          g_ptr_array_add (book->sheets, sheet);
          xmlFree (name);
          xmlFree (rid);
        }
    }
  xmlFreeTextReader (reader);
  if (ret < 0)
    {
      xml_source_set_error (&source, error);
      g_free (source.error);
      return FALSE;
    }
  g_free (source.error);

  g_hash_table_iter_init (&iter, book->rels);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &rel))
    if (ends_with (rel->type, "/sharedStrings"))
      book->sst_path = resolve_target (book->workbook_path, rel->target);

  return TRUE;
}

/* OOXML escapes characters that XML cannot carry as _xHHHH_. */
static char *
decode_ooxml_escapes (const char *text,
                      gsize       len)
{
  GString *out;

  if (memchr (text, '_', len) == NULL)
    return g_strndup (text, len);

  out = g_string_sized_new (len);
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == '_' && i + 6 < len && text[i + 1] == 'x' && text[i + 6] == '_' &&
          g_ascii_isxdigit (text[i + 2]) && g_ascii_isxdigit (text[i + 3]) &&
          g_ascii_isxdigit (text[i + 4]) && g_ascii_isxdigit (text[i + 5]))
        {
          gunichar c = (g_ascii_xdigit_value (text[i + 2]) << 12) |
                       (g_ascii_xdigit_value (text[i + 3]) << 8) |
                       (g_ascii_xdigit_value (text[i + 4]) << 4) |
                       g_ascii_xdigit_value (text[i + 5]);

          if (g_unichar_validate (c) && c != 0)
            g_string_append_unichar (out, c);
          i += 6;
          continue;
        }
      g_string_append_c (out, text[i]);
    }

  return g_string_free (out, FALSE);
}

static gboolean
xlsx_load_shared_strings (XlsxBook     *book,
                          GCancellable *cancellable,
                          GError      **error)
{
  g_autoptr(GsfInput) input = NULL;
  g_autoptr(GString) text = g_string_new (NULL);
  XmlSource source = { NULL, NULL, NULL };
  xmlTextReaderPtr reader;
  gboolean in_si = FALSE, in_t = FALSE;
  guint rph_depth = 0;
  int ret;

  book->sst_loaded = TRUE;
  book->sst_chunk = g_string_chunk_new (64 * 1024);
  book->sst = g_ptr_array_new ();

  if (book->sst_path == NULL)
    return TRUE;

  input = xlsx_open_part (book, book->sst_path);
  if (input == NULL)
    {
      g_autofree char *reason = g_strdup_printf (_("the shared strings part %s is missing"),
                                                 book->sst_path);
      set_damaged (error, reason);
      return FALSE;
    }

  source.input = input;
  source.part = book->sst_path;
  reader = xml_source_open (&source);
  while ((ret = xmlTextReaderRead (reader)) == 1)
    {
      int type = xmlTextReaderNodeType (reader);

      if (type == XML_READER_TYPE_ELEMENT)
        {
          const xmlChar *name = xmlTextReaderConstLocalName (reader);
          gboolean empty = xmlTextReaderIsEmptyElement (reader);

          if (name_is (name, "si"))
            {
              g_string_truncate (text, 0);
              in_si = !empty;
              if (empty)
                g_ptr_array_add (book->sst, (char *) "");
            }
          else if (name_is (name, "rPh"))
            rph_depth += empty ? 0 : 1;
          else if (name_is (name, "t") && in_si && rph_depth == 0)
            in_t = !empty;
        }
      else if (type == XML_READER_TYPE_END_ELEMENT)
        {
          const xmlChar *name = xmlTextReaderConstLocalName (reader);

          if (name_is (name, "t"))
            in_t = FALSE;
          else if (name_is (name, "rPh") && rph_depth > 0)
            rph_depth--;
          else if (name_is (name, "si") && in_si)
            {
              g_autofree char *decoded = decode_ooxml_escapes (text->str, text->len);

              g_ptr_array_add (book->sst, g_string_chunk_insert (book->sst_chunk, decoded));
              in_si = FALSE;
              if ((book->sst->len & 4095) == 0 &&
                  g_cancellable_is_cancelled (cancellable))
                break;
            }
        }
      else if (in_t && (type == XML_READER_TYPE_TEXT ||
                        type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE ||
                        type == XML_READER_TYPE_WHITESPACE ||
                        type == XML_READER_TYPE_CDATA))
        {
          g_string_append (text, (const char *) xmlTextReaderConstValue (reader));
        }
    }
  xmlFreeTextReader (reader);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      g_free (source.error);
      return FALSE;
    }
  if (ret < 0)
    {
      xml_source_set_error (&source, error);
      g_free (source.error);
      return FALSE;
    }
  g_free (source.error);

  return TRUE;
}

/* "C5" → column 2 (0-based); the row number is not needed here. */
static int
column_from_ref (const char *ref)
{
  int column = 0;
  gboolean any = FALSE;

  for (; ref != NULL && g_ascii_isalpha (*ref); ref++)
    {
      column = column * 26 + (g_ascii_toupper (*ref) - 'A' + 1);
      any = TRUE;
      if (column > 16384)
        return -1;
    }

  return any ? column - 1 : -1;
}

typedef enum
{
  CELL_NUMBER,
  CELL_SHARED,
  CELL_INLINE,
  CELL_STRING,
  CELL_BOOL,
  CELL_OTHER,
} CellType;

static CellType
cell_type_from_attr (const char *t)
{
  if (t == NULL || strcmp (t, "n") == 0)
    return CELL_NUMBER;
  if (strcmp (t, "s") == 0)
    return CELL_SHARED;
  if (strcmp (t, "inlineStr") == 0)
    return CELL_INLINE;
  if (strcmp (t, "str") == 0)
    return CELL_STRING;
  if (strcmp (t, "b") == 0)
    return CELL_BOOL;
  return CELL_OTHER;
}

static void
set_cell (GPtrArray *cells,
          int        column,
          char      *text)
{
  if (column < 0)
    {
      g_free (text);
      return;
    }
  if ((guint) column >= cells->len)
    g_ptr_array_set_size (cells, column + 1);
  g_free (cells->pdata[column]);
  cells->pdata[column] = text;
}

static void
clear_cells (GPtrArray *cells)
{
  for (guint i = 0; i < cells->len; i++)
    g_clear_pointer (&cells->pdata[i], g_free);
  g_ptr_array_set_size (cells, 0);
}

/* Reads one worksheet, handing its rows to the builder. Returns FALSE with @error set
 * on a fatal problem; a sheet without the header is simply left early. */
static gboolean
xlsx_read_sheet (XlsxBook         *book,
                 const char       *part,
                 LkRosterBuilder  *builder,
                 double            progress_from,
                 double            progress_to,
                 GError          **error)
{
  g_autoptr(GsfInput) input = xlsx_open_part (book, part);
  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) value = g_string_new (NULL);
  XmlSource source = { input, (char *) part, NULL };
  xmlTextReaderPtr reader;
  gsf_off_t size;
  guint row_number = 0;
  int column = -1;
  CellType cell_type = CELL_NUMBER;
  gboolean in_cell = FALSE, in_v = FALSE, in_is = FALSE, in_t = FALSE, has_value = FALSE;
  guint rph_depth = 0;
  gboolean stop = FALSE;
  gboolean ok = TRUE;
  int ret = 1;

  if (input == NULL)
    {
      g_autofree char *reason = g_strdup_printf (_("the worksheet part %s is missing"), part);
      set_damaged (error, reason);
      return FALSE;
    }
  size = gsf_input_size (input);

  reader = xml_source_open (&source);
  while (!stop && (ret = xmlTextReaderRead (reader)) == 1)
    {
      int type = xmlTextReaderNodeType (reader);

      if (type == XML_READER_TYPE_ELEMENT)
        {
          const xmlChar *name = xmlTextReaderConstLocalName (reader);
          gboolean empty = xmlTextReaderIsEmptyElement (reader);

          if (name_is (name, "c"))
            {
              gboolean has_type = FALSE;
              int ref_column = -1;

              if (xmlTextReaderMoveToFirstAttribute (reader) == 1)
                {
                  do
                    {
                      const xmlChar *attr = xmlTextReaderConstLocalName (reader);

                      if (name_is (attr, "r"))
                        ref_column = column_from_ref ((const char *) xmlTextReaderConstValue (reader));
                      else if (name_is (attr, "t"))
                        {
                          cell_type = cell_type_from_attr ((const char *) xmlTextReaderConstValue (reader));
                          has_type = TRUE;
                        }
                    }
                  while (xmlTextReaderMoveToNextAttribute (reader) == 1);
                  xmlTextReaderMoveToElement (reader);
                }
              if (!has_type)
                cell_type = CELL_NUMBER;
              /* Cells without r follow the previous one; skipped cells have their r. */
              column = ref_column >= 0 ? ref_column : column + 1;
              g_string_truncate (value, 0);
              has_value = FALSE;
              in_cell = !empty;
            }
          else if (name_is (name, "row"))
            {
              xmlChar *r = xmlTextReaderGetAttribute (reader, BAD_CAST "r");
              guint64 n = r ? g_ascii_strtoull ((const char *) r, NULL, 10) : 0;

              row_number = n > 0 ? (guint) n : row_number + 1;
              xmlFree (r);
              clear_cells (cells);
              column = -1;
              if (empty)
                {
                  LkRowResult result = lk_roster_builder_add_row (builder, row_number, cells, error);

                  if (result == LK_ROW_ERROR)
                    ok = FALSE;
                  stop = result != LK_ROW_CONTINUE;
                }
            }
          else if (in_cell && name_is (name, "v"))
            in_v = !empty, has_value = TRUE;
          else if (in_cell && name_is (name, "is"))
            in_is = !empty, has_value = TRUE;
          else if (in_is && name_is (name, "rPh"))
            rph_depth += empty ? 0 : 1;
          else if (in_is && rph_depth == 0 && name_is (name, "t"))
            in_t = !empty;
        }
      else if (type == XML_READER_TYPE_END_ELEMENT)
        {
          const xmlChar *name = xmlTextReaderConstLocalName (reader);

          if (name_is (name, "v"))
            in_v = FALSE;
          else if (name_is (name, "t"))
            in_t = FALSE;
          else if (name_is (name, "rPh") && rph_depth > 0)
            rph_depth--;
          else if (name_is (name, "is"))
            in_is = FALSE;
          else if (name_is (name, "c") && in_cell)
            {
              char *text = NULL;

              in_cell = FALSE;
              if (!has_value)
                continue;
              switch (cell_type)
                {
                case CELL_SHARED:
                  {
                    guint64 index = g_ascii_strtoull (value->str, NULL, 10);

                    if (!book->sst_loaded &&
                        !xlsx_load_shared_strings (book, lk_roster_builder_get_cancellable (builder),
                                                   error))
                      {
                        ok = FALSE;
                        stop = TRUE;
                        break;
                      }
                    if (book->sst_path == NULL || index >= book->sst->len)
                      {
                        g_autofree char *reason = NULL;
                        g_autofree char *index_text = g_strdup_printf ("%" G_GUINT64_FORMAT, index);

                        reason = book->sst_path == NULL
                          ? g_strdup (_("a cell refers to the shared strings, which are missing"))
                          : g_strdup_printf (_("a cell refers to shared string %s, which does not exist"),
                                             index_text);
                        set_damaged (error, reason);
                        ok = FALSE;
                        stop = TRUE;
                        break;
                      }
                    text = g_strdup (g_ptr_array_index (book->sst, index));
                  }
                  break;
                case CELL_INLINE:
                  text = decode_ooxml_escapes (value->str, value->len);
                  break;
                case CELL_NUMBER:
                  text = lk_roster_format_number (value->str);
                  break;
                case CELL_BOOL:
                  text = g_strdup (strcmp (value->str, "1") == 0 ? "TRUE" : "FALSE");
                  break;
                case CELL_STRING:
                case CELL_OTHER:
                default:
                  text = decode_ooxml_escapes (value->str, value->len);
                  break;
                }
              set_cell (cells, column, text);
            }
          else if (name_is (name, "row"))
            {
              LkRowResult result = lk_roster_builder_add_row (builder, row_number, cells, error);

              if (result == LK_ROW_ERROR)
                ok = FALSE;
              stop = result != LK_ROW_CONTINUE;
              if ((row_number & 255) == 0 && size > 0)
                lk_roster_builder_report_progress (builder, progress_from +
                                                   (progress_to - progress_from) *
                                                   (double) gsf_input_tell (input) / (double) size);
            }
          else if (name_is (name, "sheetData"))
            stop = TRUE;
        }
      else if ((in_v || (in_is && in_t && rph_depth == 0)) &&
               (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE ||
                type == XML_READER_TYPE_WHITESPACE || type == XML_READER_TYPE_CDATA))
        {
          g_string_append (value, (const char *) xmlTextReaderConstValue (reader));
        }
    }
  xmlFreeTextReader (reader);

  if (ok && ret < 0)
    {
      xml_source_set_error (&source, error);
      ok = FALSE;
    }
  g_free (source.error);

  return ok;
}

static GPtrArray *
read_xlsx (GFile            *file,
           LkRosterBuilder  *builder,
           GPtrArray       **row_errors,
           GError          **error)
{
  g_autoptr(GsfInput) input = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *path = g_file_get_path (file);
  XlsxBook book = { 0 };
  GPtrArray *rows = NULL;
  guint n_worksheets = 0;

  if (path != NULL)
    input = gsf_input_mmap_new (path, NULL);
  if (input == NULL)
    input = gsf_input_gio_new (file, &local_error);
  if (input == NULL)
    {
      g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_FAILED,
                   _("The file cannot be opened: %s"), local_error->message);
      return NULL;
    }

  if (!xlsx_open_book (&book, input, error))
    goto out;

  for (guint i = 0; i < book.sheets->len && !lk_roster_builder_has_header (builder); i++)
    {
      XlsxSheet *sheet = g_ptr_array_index (book.sheets, i);
      XlsxRel *rel = g_hash_table_lookup (book.rels, sheet->rel_id);
      g_autofree char *part = NULL;

      /* Chart sheets and dialog sheets have no cells. */
      if (rel == NULL || !ends_with (rel->type, "/worksheet"))
        continue;
      n_worksheets++;
      part = resolve_target (book.workbook_path, rel->target);
      lk_roster_builder_begin_sheet (builder, sheet->name);
      if (!xlsx_read_sheet (&book, part, builder,
                            (double) i / book.sheets->len, (double) (i + 1) / book.sheets->len,
                            error))
        goto out;
    }

  if (n_worksheets == 0)
    {
      set_damaged (error, _("the workbook has no worksheet"));
      goto out;
    }

  rows = lk_roster_builder_finish (builder, row_errors, error);

out:
  xlsx_book_clear (&book);
  return rows;
}

/* ------------------------------------------------------------------------------------ */
/* .xls (BIFF) through FreeXL                                                          */
/* ------------------------------------------------------------------------------------ */

static GPtrArray *
read_xls (GFile            *file,
          LkRosterBuilder  *builder,
          GPtrArray       **row_errors,
          GError          **error)
{
  g_autofree char *path = g_file_get_path (file);
  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  const void *handle = NULL;
  unsigned int n_sheets = 0;
  GPtrArray *rows = NULL;
  int ret;

  if (path == NULL)
    {
      g_set_error_literal (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_UNSUPPORTED,
                           _("An .xls file must be a local file"));
      return NULL;
    }

  ret = freexl_open (path, &handle);
  if (ret != FREEXL_OK ||
      freexl_get_info (handle, FREEXL_BIFF_SHEET_COUNT, &n_sheets) != FREEXL_OK)
    {
      g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_CORRUPT,
                   _("The Excel 97-2003 file (.xls) cannot be read (FreeXL error %d); "
                     "save it as .xlsx and try again"), ret);
      freexl_close (handle);
      return NULL;
    }

  for (unsigned int s = 0; s < n_sheets && !lk_roster_builder_has_header (builder); s++)
    {
      const char *sheet_name = NULL;
      unsigned int n_rows = 0;
      unsigned short n_cols = 0;
      gboolean next_sheet = FALSE;

      if (freexl_select_active_worksheet (handle, (unsigned short) s) != FREEXL_OK ||
          freexl_worksheet_dimensions (handle, &n_rows, &n_cols) != FREEXL_OK)
        continue;
      freexl_get_worksheet_name (handle, (unsigned short) s, &sheet_name);
      lk_roster_builder_begin_sheet (builder, sheet_name);

      for (unsigned int r = 0; r < n_rows && !next_sheet; r++)
        {
          LkRowResult result;

          clear_cells (cells);
          for (unsigned short c = 0; c < n_cols; c++)
            {
              FreeXL_CellValue cell;
              char *text = NULL;

              if (freexl_get_cell_value (handle, r, c, &cell) != FREEXL_OK)
                continue;
              switch (cell.type)
                {
                case FREEXL_CELL_INT:
                  text = g_strdup_printf ("%d", cell.value.int_value);
                  break;
                case FREEXL_CELL_DOUBLE:
                  {
                    char buf[G_ASCII_DTOSTR_BUF_SIZE];

                    g_ascii_formatd (buf, sizeof buf, "%.15g", cell.value.double_value);
                    text = lk_roster_format_number (buf);
                  }
                  break;
                case FREEXL_CELL_TEXT:
                case FREEXL_CELL_SST_TEXT:
                case FREEXL_CELL_DATE:
                case FREEXL_CELL_DATETIME:
                case FREEXL_CELL_TIME:
                  if (cell.value.text_value != NULL)
                    text = g_utf8_make_valid (cell.value.text_value, -1);
                  break;
                default:
                  break;
                }
              set_cell (cells, c, text);
            }

          result = lk_roster_builder_add_row (builder, r + 1, cells, error);
          if (result == LK_ROW_ERROR)
            {
              freexl_close (handle);
              return NULL;
            }
          next_sheet = result == LK_ROW_NEXT_SHEET;
          if ((r & 255) == 0 && n_rows > 0)
            lk_roster_builder_report_progress (builder, ((double) s + (double) r / n_rows) / n_sheets);
        }
    }
  freexl_close (handle);

  rows = lk_roster_builder_finish (builder, row_errors, error);
  return rows;
}

/* ------------------------------------------------------------------------------------ */
/* .csv                                                                                */
/* ------------------------------------------------------------------------------------ */

/* Turns the file's bytes into UTF-8: UTF-8 with or without BOM, UTF-16 with BOM (Excel's
 * "Unicode text"), else GB18030 (what Excel writes for "CSV" on a Chinese Windows). */
static char *
csv_to_utf8 (const char  *data,
             gsize        len,
             GError     **error)
{
  g_autoptr(GError) conv_error = NULL;
  char *utf8;

  if (len >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
    {
      data += 3;
      len -= 3;
    }
  else if (len >= 2 && (memcmp (data, "\xFF\xFE", 2) == 0 || memcmp (data, "\xFE\xFF", 2) == 0))
    {
      utf8 = g_convert (data + 2, len - 2, "UTF-8",
                        data[0] == '\xFF' ? "UTF-16LE" : "UTF-16BE", NULL, NULL, &conv_error);
      if (utf8 == NULL)
        g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_ENCODING,
                     _("The text file is not valid UTF-16: %s"), conv_error->message);
      return utf8;
    }

  if (g_utf8_validate_len (data, len, NULL))
    return g_strndup (data, len);

  utf8 = g_convert (data, len, "UTF-8", "GB18030", NULL, NULL, &conv_error);
  if (utf8 == NULL)
    g_set_error_literal (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_ENCODING,
                         _("The CSV file is neither UTF-8 nor GB18030 (GBK) text"));

  return utf8;
}

static char
csv_guess_separator (const char *text)
{
  guint commas = 0, tabs = 0, semicolons = 0;
  gboolean quoted = FALSE;

  /* Count on the first line only, outside quotes. */
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"')
        quoted = !quoted;
      else if (!quoted && (*p == '\n' || *p == '\r'))
        break;
      else if (!quoted && *p == ',')
        commas++;
      else if (!quoted && *p == '\t')
        tabs++;
      else if (!quoted && *p == ';')
        semicolons++;
    }

  if (tabs > commas && tabs >= semicolons)
    return '\t';
  if (semicolons > commas)
    return ';';
  return ',';
}

static GPtrArray *
read_csv (GFile            *file,
          LkRosterBuilder  *builder,
          GPtrArray       **row_errors,
          GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) field = g_string_new (NULL);
  g_autofree char *contents = NULL;
  g_autofree char *text = NULL;
  gsize len = 0;
  gsize text_len;
  guint line = 1;
  guint row_line = 1;
  char separator;
  const char *p;
  gboolean quoted = FALSE, field_started = FALSE;

  if (!g_file_load_contents (file, lk_roster_builder_get_cancellable (builder), &contents, &len,
                             NULL, &local_error))
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_FAILED,
                     _("The file cannot be opened: %s"), local_error->message);
      return NULL;
    }

  if (memchr (contents, '\0', len) != NULL && !(len >= 2 && (contents[0] == '\xFF' || contents[0] == '\xFE')))
    {
      g_set_error_literal (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_UNSUPPORTED,
                           _("The file is not a text (CSV) file"));
      return NULL;
    }

  text = csv_to_utf8 (contents, len, error);
  if (text == NULL)
    return NULL;
  g_clear_pointer (&contents, g_free);
  text_len = strlen (text);
  separator = csv_guess_separator (text);

  /* RFC 4180: quoted fields may hold separators, newlines and "" for a quote. */
  for (p = text; ; p++)
    {
      char c = *p;
      gboolean end_of_text = (c == '\0');

      if (quoted && !end_of_text)
        {
          if (c == '"' && p[1] == '"')
            {
              g_string_append_c (field, '"');
              p++;
            }
          else if (c == '"')
            quoted = FALSE;
          else
            {
              if (c == '\n')
                line++;
              g_string_append_c (field, c);
            }
          continue;
        }

      if (c == '"' && !field_started)
        {
          quoted = TRUE;
          field_started = TRUE;
          continue;
        }

      if (c == separator || c == '\n' || c == '\r' || end_of_text)
        {
          gboolean end_of_row = (c != separator);

          if (field_started || field->len > 0 || c == separator || cells->len > 0)
            g_ptr_array_add (cells, g_strndup (field->str, field->len));
          g_string_truncate (field, 0);
          field_started = FALSE;

          if (end_of_row)
            {
              LkRowResult result;

              if (c == '\r' && p[1] == '\n')
                p++;
              result = lk_roster_builder_add_row (builder, row_line, cells, error);
              if (result == LK_ROW_ERROR)
                return NULL;
              clear_cells (cells);
              if (result == LK_ROW_NEXT_SHEET)
                break;
              line++;
              row_line = line;
              if ((line & 1023) == 0)
                lk_roster_builder_report_progress (builder, (double) (p - text) / (double) text_len);
            }
          if (end_of_text)
            break;
          continue;
        }

      /* Text after a closing quote ("ab"c) is kept, as spreadsheet programs do. */
      field_started = TRUE;
      g_string_append_c (field, c);
    }

  if (quoted)
    {
      g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_CORRUPT,
                   _("The CSV file ends inside a quoted field that starts on line %u"), row_line);
      return NULL;
    }

  return lk_roster_builder_finish (builder, row_errors, error);
}

/* ------------------------------------------------------------------------------------ */
/* Public API                                                                          */
/* ------------------------------------------------------------------------------------ */

GCancellable *
lk_roster_builder_get_cancellable (LkRosterBuilder *self)
{
  return self->cancellable;
}

LkRosterFormat
lk_roster_detect_format (GFile         *file,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(GFileInputStream) stream = NULL;
  g_autofree char *basename = NULL;
  g_autofree char *lower = NULL;
  guint8 magic[8] = { 0 };
  gsize n = 0;

  g_return_val_if_fail (G_IS_FILE (file), LK_ROSTER_FORMAT_UNKNOWN);

  stream = g_file_read (file, cancellable, error);
  if (stream == NULL)
    return LK_ROSTER_FORMAT_UNKNOWN;
  if (!g_input_stream_read_all (G_INPUT_STREAM (stream), magic, sizeof magic, &n, cancellable, error))
    return LK_ROSTER_FORMAT_UNKNOWN;

  if (n >= 4 && memcmp (magic, "PK\x03\x04", 4) == 0)
    return LK_ROSTER_FORMAT_XLSX;
  if (n >= 8 && memcmp (magic, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) == 0)
    return LK_ROSTER_FORMAT_XLS;

  basename = g_file_get_basename (file);
  lower = g_ascii_strdown (basename ? basename : "", -1);
  if (g_str_has_suffix (lower, ".xlsx") || g_str_has_suffix (lower, ".xlsm") ||
      g_str_has_suffix (lower, ".xls"))
    {
      /* The name says Excel, the bytes do not: a damaged or mislabelled file. */
      g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_CORRUPT,
                   _("“%s” is not a valid Excel file (it is not a zip or Excel 97-2003 "
                     "container); it may be damaged or only renamed"), basename);
      return LK_ROSTER_FORMAT_UNKNOWN;
    }
  if (g_str_has_suffix (lower, ".csv") || g_str_has_suffix (lower, ".txt") ||
      g_str_has_suffix (lower, ".tsv"))
    return LK_ROSTER_FORMAT_CSV;

  g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_UNSUPPORTED,
               _("“%s” is not a roster file: use an Excel workbook (.xlsx or .xls) or a CSV "
                 "file"), basename);
  return LK_ROSTER_FORMAT_UNKNOWN;
}

GPtrArray *
lk_roster_read_file (GFile                *file,
                     GCancellable         *cancellable,
                     LkRosterProgressFunc  progress,
                     gpointer              progress_data,
                     GPtrArray           **row_errors,
                     GError              **error)
{
  static gsize gsf_initialized = 0;
  g_autoptr(GError) local_error = NULL;
  LkRosterBuilder *builder;
  GPtrArray *rows = NULL;
  LkRosterFormat format;
  gint64 start = g_get_monotonic_time ();

  g_return_val_if_fail (G_IS_FILE (file), NULL);
  g_return_val_if_fail (row_errors == NULL || *row_errors == NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_once_init_enter (&gsf_initialized))
    {
      gsf_init ();
      xmlInitParser ();
      g_once_init_leave (&gsf_initialized, 1);
    }

  format = lk_roster_detect_format (file, cancellable, &local_error);
  if (format == LK_ROSTER_FORMAT_UNKNOWN)
    {
      /* A file that cannot be opened at all is still a roster error for the caller. */
      if (local_error->domain == G_IO_ERROR && local_error->code != G_IO_ERROR_CANCELLED)
        g_set_error (error, LK_ROSTER_ERROR, LK_ROSTER_ERROR_FAILED,
                     _("The file cannot be opened: %s"), local_error->message);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  builder = lk_roster_builder_new (cancellable, progress, progress_data);
  switch (format)
    {
    case LK_ROSTER_FORMAT_XLSX:
      rows = read_xlsx (file, builder, row_errors, error);
      break;
    case LK_ROSTER_FORMAT_XLS:
      rows = read_xls (file, builder, row_errors, error);
      break;
    case LK_ROSTER_FORMAT_CSV:
      rows = read_csv (file, builder, row_errors, error);
      break;
    case LK_ROSTER_FORMAT_UNKNOWN:
    default:
      g_assert_not_reached ();
    }
  lk_roster_builder_free (builder);

  if (rows != NULL)
    g_debug ("roster read: %u rows in %.3f s", rows->len,
             (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);

  return rows;
}

/* Async: progress crosses from the reading thread to the caller's context. */

typedef struct
{
  LkRosterProgressFunc  func;
  gpointer              data;
  GDestroyNotify        destroy;
  GMainContext         *context;
} ProgressRelay;

typedef struct
{
  ProgressRelay *relay;  /* an atomic rc box */
  double         fraction;
} ProgressCall;

typedef struct
{
  GFile         *file;
  ProgressRelay *relay;
  GPtrArray     *row_errors;
} ReadData;

static void
progress_relay_clear (ProgressRelay *relay)
{
  if (relay->destroy != NULL)
    relay->destroy (relay->data);
  g_main_context_unref (relay->context);
}

static void
progress_relay_unref (ProgressRelay *relay)
{
  g_atomic_rc_box_release_full (relay, (GDestroyNotify) progress_relay_clear);
}

static void
read_data_free (ReadData *data)
{
  g_clear_object (&data->file);
  g_clear_pointer (&data->relay, progress_relay_unref);
  g_clear_pointer (&data->row_errors, g_ptr_array_unref);
  g_free (data);
}

static void
progress_call_free (ProgressCall *call)
{
  progress_relay_unref (call->relay);
  g_free (call);
}

static gboolean
progress_call_cb (gpointer user_data)
{
  ProgressCall *call = user_data;

  call->relay->func (call->fraction, call->relay->data);
  return G_SOURCE_REMOVE;
}

static void
relay_progress_cb (double   fraction,
                   gpointer user_data)
{
  ProgressRelay *relay = user_data;
  ProgressCall *call = g_new0 (ProgressCall, 1);

  call->relay = g_atomic_rc_box_acquire (relay);
  call->fraction = fraction;
  g_main_context_invoke_full (relay->context, G_PRIORITY_DEFAULT, progress_call_cb, call,
                              (GDestroyNotify) progress_call_free);
}

static void
read_thread_cb (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  ReadData *data = task_data;
  GError *error = NULL;
  GPtrArray *rows;

  rows = lk_roster_read_file (data->file, cancellable,
                              data->relay ? relay_progress_cb : NULL, data->relay,
                              &data->row_errors, &error);
  if (rows == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, rows, (GDestroyNotify) g_ptr_array_unref);
}

void
lk_roster_read_file_async (GFile                *file,
                           GCancellable         *cancellable,
                           LkRosterProgressFunc  progress,
                           gpointer              progress_data,
                           GDestroyNotify        progress_data_destroy,
                           GAsyncReadyCallback   callback,
                           gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  ReadData *data;

  g_return_if_fail (G_IS_FILE (file));

  data = g_new0 (ReadData, 1);
  data->file = g_object_ref (file);
  if (progress != NULL)
    {
      data->relay = g_atomic_rc_box_new0 (ProgressRelay);
      data->relay->func = progress;
      data->relay->data = progress_data;
      data->relay->destroy = progress_data_destroy;
      data->relay->context = g_main_context_ref_thread_default ();
    }
  else if (progress_data_destroy != NULL)
    progress_data_destroy (progress_data);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, lk_roster_read_file_async);
  g_task_set_name (task, "[lingka] roster read");
  g_task_set_task_data (task, data, (GDestroyNotify) read_data_free);
  g_task_run_in_thread (task, read_thread_cb);
}

GPtrArray *
lk_roster_read_file_finish (GAsyncResult  *result,
                            GPtrArray    **row_errors,
                            GError       **error)
{
  GPtrArray *rows;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == lk_roster_read_file_async, NULL);

  rows = g_task_propagate_pointer (G_TASK (result), error);
  if (rows != NULL && row_errors != NULL)
    {
      ReadData *data = g_task_get_task_data (G_TASK (result));

      *row_errors = data->row_errors ? g_ptr_array_ref (data->row_errors)
                                     : g_ptr_array_new_with_free_func ((GDestroyNotify) lk_row_error_free);
    }

  return rows;
}

/* Conflicts with the server's students */

static const char *
student_string (JsonObject *student,
                const char *key)
{
  JsonNode *node = json_object_get_member (student, key);

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static char *
conflict_key (const char *school,
              const char *student_no)
{
  return g_strconcat (school ? school : "", "\x1f", student_no, NULL);
}

GPtrArray *
lk_roster_find_conflicts (GPtrArray *rows,
                          GPtrArray *students)
{
  g_autoptr(GHashTable) known = NULL;
  GPtrArray *errors = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_row_error_free);
  gboolean by_school = FALSE;

  g_return_val_if_fail (rows != NULL, errors);

  if (students == NULL || students->len == 0)
    return errors;

  /* Compare schools only if the server says which school each student is in. */
  by_school = TRUE;
  for (guint i = 0; i < students->len && by_school; i++)
    by_school = student_string (g_ptr_array_index (students, i), "school") != NULL;

  known = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < students->len; i++)
    {
      JsonObject *student = g_ptr_array_index (students, i);
      const char *no = student_string (student, "student_no");
      g_autofree char *norm_school = NULL;

      if (no == NULL)
        continue;
      if (by_school)
        norm_school = lk_normalize_text (student_string (student, "school"));
      g_hash_table_replace (known, conflict_key (norm_school, no), student);
    }

  for (guint i = 0; i < rows->len; i++)
    {
      LkImportRow *row = g_ptr_array_index (rows, i);
      g_autofree char *key = NULL;
      g_autofree char *their_name = NULL;
      g_autofree char *their_class = NULL;
      g_autofree char *masked = NULL;
      g_autofree char *message = NULL;
      JsonObject *student;
      gboolean name_differs, class_differs;

      if (row->student_no == NULL)
        continue;
      key = conflict_key (by_school ? row->school : NULL, row->student_no);
      student = g_hash_table_lookup (known, key);
      if (student == NULL)
        continue;

      their_name = lk_normalize_text (student_string (student, "name"));
      their_class = lk_normalize_text (student_string (student, "class") ?
                                       student_string (student, "class") :
                                       student_string (student, "class_name"));
      name_differs = their_name != NULL && g_strcmp0 (their_name, row->name) != 0;
      class_differs = their_class != NULL && g_strcmp0 (their_class, row->klass) != 0;
      if (!name_differs && !class_differs)
        continue;

      /* The stored name is personal data: show it masked. */
      masked = lk_mask_name (their_name);
      if (name_differs && class_differs)
        message = g_strdup_printf (_("The server has this student number with another name "
                                     "(%s) and another class (%s)"), masked, their_class);
      else if (name_differs)
        message = g_strdup_printf (_("The server has this student number with another name (%s)"),
                                   masked);
      else
        message = g_strdup_printf (_("The server has this student number in another class (%s)"),
                                   their_class);
      g_ptr_array_add (errors, lk_row_error_new (row->seq, name_differs ? "name" : "class", message));
    }

  return errors;
}
