/* lk-import-frame.c: roster rows, their canonical checksum, and the import frame
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "lk-claim-code.h"
#include "lk-error.h"
#include "lk-import-frame.h"

#define FRAME_START "LKIMPORT/1 "
#define FRAME_END "\nLKEND "
#define SHA256_HEX_LEN 64
#define COUNT_MAX_DIGITS 7   /* LK_IMPORT_MAX_ROWS has 6 */
#define STUDENT_NO_MAX_CHARS 32
#define CARD_NO_MAX_DIGITS 20

typedef enum
{
  ROW_KEY_SEQ,
  ROW_KEY_PROVINCE,
  ROW_KEY_SCHOOL,
  ROW_KEY_CLASS,
  ROW_KEY_NAME,
  ROW_KEY_STUDENT_NO,
  ROW_KEY_CARD_NO,
  N_ROW_KEYS
} RowKey;

/* The canonical order of the keys (DESIGN.md). */
static const char * const row_keys[N_ROW_KEYS] = {
  "seq", "province", "school", "class", "name", "student_no", "card_no",
};

static char **
row_text_field (LkImportRow *row,
                RowKey       key)
{
  switch (key)
    {
    case ROW_KEY_PROVINCE:
      return &row->province;
    case ROW_KEY_SCHOOL:
      return &row->school;
    case ROW_KEY_CLASS:
      return &row->klass;
    case ROW_KEY_NAME:
      return &row->name;
    case ROW_KEY_STUDENT_NO:
      return &row->student_no;
    case ROW_KEY_CARD_NO:
      return &row->card_no;
    case ROW_KEY_SEQ:
    case N_ROW_KEYS:
    default:
      g_return_val_if_reached (NULL);
    }
}

/* Whitespace that spreadsheets and copy-paste leave around cells: Unicode white space
 * (U+0020, U+00A0, U+3000, U+2000..U+200A, line and paragraph separators...) and the
 * invisible format characters that behave like it. */
static gboolean
is_trimmable (gunichar c)
{
  return g_unichar_isspace (c) ||
         c == 0x00A0 || c == 0x1680 || c == 0x180E ||
         (c >= 0x2000 && c <= 0x200D) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x2060 || c == 0x3000 || c == 0xFEFF;
}

/* Characters that no mapping here touches and that NFC leaves as they are, whatever surrounds
 * them: ASCII, and the CJK Unified Ideographs (with Extension A), which have no decomposition,
 * combine with nothing and are not full-width forms. (The compatibility ideographs, U+F900 on,
 * do decompose, and are not in these ranges.) */
static gboolean
is_nfc_stable (gunichar c)
{
  return c < 0x80 || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF);
}

static gboolean
has_control_chars (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c < 0x20 || (c >= 0x7F && c < 0xA0))
        return TRUE;
    }

  return FALSE;
}

static const char *
field_label (const char *field)
{
  if (g_str_equal (field, "seq"))
    return _("Row number");
  if (g_str_equal (field, "province"))
    return _("Province");
  if (g_str_equal (field, "school"))
    return _("School name");
  if (g_str_equal (field, "class"))
    return _("Class");
  if (g_str_equal (field, "name"))
    return _("Student name");
  if (g_str_equal (field, "student_no"))
    return _("Student number");
  if (g_str_equal (field, "card_no"))
    return _("IC card number");
  return field;
}

static const char *
missing_message (RowKey key)
{
  switch (key)
    {
    case ROW_KEY_PROVINCE:
      return _("Province is missing");
    case ROW_KEY_SCHOOL:
      return _("School name is missing");
    case ROW_KEY_CLASS:
      return _("Class is missing");
    case ROW_KEY_NAME:
      return _("Student name is missing");
    case ROW_KEY_STUDENT_NO:
      return _("Student number is missing");
    case ROW_KEY_SEQ:
    case ROW_KEY_CARD_NO:
    case N_ROW_KEYS:
    default:
      g_return_val_if_reached (NULL);
    }
}

static void
add_error (GPtrArray  *errors,
           gint64      seq,
           const char *field,
           const char *message)
{
  if (errors != NULL)
    g_ptr_array_add (errors, lk_row_error_new (seq, field, message));
}

static gboolean
is_student_no (const char *text)
{
  gsize len = strlen (text);

  if (len == 0 || len > STUDENT_NO_MAX_CHARS)
    return FALSE;

  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '-')
      return FALSE;

  return TRUE;
}

static gboolean
is_all (const char *text,
        gboolean  (*pred) (gchar c))
{
  for (const char *p = text; *p != '\0'; p++)
    if (!pred (*p))
      return FALSE;
  return TRUE;
}

static gboolean
is_ascii_digit (gchar c)
{
  return g_ascii_isdigit (c);
}

static gboolean
is_ascii_xdigit (gchar c)
{
  return g_ascii_isxdigit (c);
}

static gboolean
is_card_no (const char *text)
{
  gsize len = strlen (text);

  if (len == 8 && is_all (text, is_ascii_xdigit))
    return TRUE;

  return len > 0 && len <= CARD_NO_MAX_DIGITS && is_all (text, is_ascii_digit);
}

static gint
compare_rows_by_seq (gconstpointer a,
                     gconstpointer b)
{
  const LkImportRow *row_a = *(LkImportRow * const *) a;
  const LkImportRow *row_b = *(LkImportRow * const *) b;

  return (row_a->seq > row_b->seq) - (row_a->seq < row_b->seq);
}

static void
append_json_string (GString    *out,
                    const char *text)
{
  g_string_append_c (out, '"');

  for (const guchar *p = (const guchar *) text; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\b':
          g_string_append (out, "\\b");
          break;
        case '\f':
          g_string_append (out, "\\f");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, (char) *p);
          break;
        }
    }

  g_string_append_c (out, '"');
}

static gboolean
parse_row_object (JsonObject   *object,
                  guint         index,
                  LkImportRow  *row,
                  GError      **error)
{
  g_autoptr(GList) members = json_object_get_members (object);
  guint row_number = index + 1;

  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *member = l->data;
      gboolean known = FALSE;

      for (guint k = 0; k < N_ROW_KEYS; k++)
        known = known || g_str_equal (member, row_keys[k]);

      if (!known)
        {
          g_set_error (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                       _("Row %u has an unknown field \"%s\""), row_number, member);
          return FALSE;
        }
    }

  for (guint k = 0; k < N_ROW_KEYS; k++)
    {
      JsonNode *node = json_object_get_member (object, row_keys[k]);

      if (node == NULL)
        {
          g_set_error (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                       _("Row %u has no \"%s\" field"), row_number, row_keys[k]);
          return FALSE;
        }

      if (k == ROW_KEY_SEQ)
        {
          if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
            {
              g_set_error (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                           _("Row %u: \"seq\" must be an integer"), row_number);
              return FALSE;
            }
          row->seq = json_node_get_int (node);
          continue;
        }

      if (k == ROW_KEY_CARD_NO && JSON_NODE_HOLDS_NULL (node))
        continue;

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        {
          if (k == ROW_KEY_CARD_NO)
            g_set_error (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                         _("Row %u: \"card_no\" must be a string or null"), row_number);
          else
            g_set_error (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                         _("Row %u: \"%s\" must be a string"), row_number, row_keys[k]);
          return FALSE;
        }

      *row_text_field (row, (RowKey) k) = g_strdup (json_node_get_string (node));
    }

  return TRUE;
}

LkImportRow *
lk_import_row_new (void)
{
  return g_new0 (LkImportRow, 1);
}

LkImportRow *
lk_import_row_copy (const LkImportRow *row)
{
  LkImportRow *copy;

  g_return_val_if_fail (row != NULL, NULL);

  copy = lk_import_row_new ();
  copy->seq = row->seq;
  copy->province = g_strdup (row->province);
  copy->school = g_strdup (row->school);
  copy->klass = g_strdup (row->klass);
  copy->name = g_strdup (row->name);
  copy->student_no = g_strdup (row->student_no);
  copy->card_no = g_strdup (row->card_no);

  return copy;
}

void
lk_import_row_free (LkImportRow *row)
{
  if (row == NULL)
    return;

  g_free (row->province);
  g_free (row->school);
  g_free (row->klass);
  g_free (row->name);
  g_free (row->student_no);
  g_free (row->card_no);
  g_free (row);
}

gboolean
lk_import_row_equal (const LkImportRow *a,
                     const LkImportRow *b)
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL)
    return FALSE;

  return a->seq == b->seq &&
         g_strcmp0 (a->province, b->province) == 0 &&
         g_strcmp0 (a->school, b->school) == 0 &&
         g_strcmp0 (a->klass, b->klass) == 0 &&
         g_strcmp0 (a->name, b->name) == 0 &&
         g_strcmp0 (a->student_no, b->student_no) == 0 &&
         g_strcmp0 (a->card_no, b->card_no) == 0;
}

LkRowError *
lk_row_error_new (gint64      seq,
                  const char *field,
                  const char *message)
{
  LkRowError *error = g_new0 (LkRowError, 1);

  error->seq = seq;
  error->field = g_strdup (field);
  error->message = g_strdup (message);

  return error;
}

void
lk_row_error_free (LkRowError *error)
{
  if (error == NULL)
    return;

  g_free (error->field);
  g_free (error->message);
  g_free (error);
}

char *
lk_normalize_text (const char *text)
{
  g_autofree char *repaired = NULL;
  g_autofree char *nfc = NULL;
  g_autoptr(GString) mapped = NULL;
  const char *src = text;
  const char *start;
  const char *end;
  gboolean stable = TRUE;

  if (text == NULL)
    return NULL;

  if (!g_utf8_validate (text, -1, NULL))
    src = repaired = g_utf8_make_valid (text, -1);

  for (const char *p = src; *p != '\0' && stable; p = g_utf8_next_char (p))
    stable = is_nfc_stable (g_utf8_get_char (p));

  /* ASCII and CJK ideographs need no mapping and are already NFC: only trim them (most names,
   * classes, schools and student numbers). */
  if (stable)
    {
      nfc = g_strdup (src);
    }
  else
    {
      mapped = g_string_sized_new (strlen (src));

      for (const char *p = src; *p != '\0'; p = g_utf8_next_char (p))
        {
          gunichar c = g_utf8_get_char (p);

          /* Full-width ASCII (U+FF01..FF5E) from Chinese input methods, and the ideographic
           * space */
          if (c >= 0xFF01 && c <= 0xFF5E)
            c -= 0xFEE0;
          else if (c == 0x3000)
            c = ' ';

          g_string_append_unichar (mapped, c);
        }

      nfc = g_utf8_normalize (mapped->str, (gssize) mapped->len, G_NORMALIZE_NFC);
      if (nfc == NULL)
        return g_strdup ("");
    }

  start = nfc;
  while (*start != '\0' && is_trimmable (g_utf8_get_char (start)))
    start = g_utf8_next_char (start);

  end = nfc + strlen (nfc);
  while (end > start)
    {
      const char *prev = g_utf8_prev_char (end);

      if (!is_trimmable (g_utf8_get_char (prev)))
        break;
      end = prev;
    }

  return g_strndup (start, (gsize) (end - start));
}

void
lk_import_row_normalize (LkImportRow *row)
{
  g_return_if_fail (row != NULL);

  for (guint k = ROW_KEY_PROVINCE; k < N_ROW_KEYS; k++)
    {
      char **field = row_text_field (row, (RowKey) k);
      char *normalized = lk_normalize_text (*field);

      g_free (*field);
      *field = normalized;
    }

  if (row->card_no != NULL && *row->card_no == '\0')
    g_clear_pointer (&row->card_no, g_free);

  /* Card numbers are UIDs in hex: one spelling, upper case, everywhere. */
  if (row->card_no != NULL && strlen (row->card_no) == 8 && is_all (row->card_no, is_ascii_xdigit))
    {
      char *upper = g_ascii_strup (row->card_no, -1);

      g_free (row->card_no);
      row->card_no = upper;
    }
}

gboolean
lk_import_row_validate (const LkImportRow *row,
                        GPtrArray         *errors)
{
  gboolean ok = TRUE;

  g_return_val_if_fail (row != NULL, FALSE);

  if (row->seq <= 0)
    {
      add_error (errors, row->seq, "seq", _("Row number must be a positive integer"));
      ok = FALSE;
    }

  for (guint k = ROW_KEY_PROVINCE; k < N_ROW_KEYS; k++)
    {
      const char *field = row_keys[k];
      const char *text = *row_text_field ((LkImportRow *) row, (RowKey) k);

      if (text == NULL || *text == '\0')
        {
          if (k != ROW_KEY_CARD_NO)
            {
              add_error (errors, row->seq, field, missing_message ((RowKey) k));
              ok = FALSE;
            }
          continue;
        }

      if (!g_utf8_validate (text, -1, NULL))
        {
          g_autofree char *message = g_strdup_printf (_("%s is not valid UTF-8 text"),
                                                      field_label (field));
          add_error (errors, row->seq, field, message);
          ok = FALSE;
          continue;
        }

      if (has_control_chars (text))
        {
          g_autofree char *message = g_strdup_printf (_("%s contains control characters"),
                                                      field_label (field));
          add_error (errors, row->seq, field, message);
          ok = FALSE;
          continue;
        }

      if (k == ROW_KEY_STUDENT_NO)
        {
          if (!is_student_no (text))
            {
              add_error (errors, row->seq, field,
                         _("Student number must be 1 to 32 letters, digits or hyphens"));
              ok = FALSE;
            }
        }
      else if (k == ROW_KEY_CARD_NO)
        {
          if (!is_card_no (text))
            {
              add_error (errors, row->seq, field,
                         _("IC card number must be 8 hexadecimal digits or up to 20 digits"));
              ok = FALSE;
            }
        }
      else if (g_utf8_strlen (text, -1) > LK_IMPORT_FIELD_MAX_CHARS)
        {
          g_autofree char *message = g_strdup_printf (_("%s is longer than %d characters"),
                                                      field_label (field),
                                                      LK_IMPORT_FIELD_MAX_CHARS);
          add_error (errors, row->seq, field, message);
          ok = FALSE;
        }
    }

  return ok;
}

GPtrArray *
lk_import_rows_validate (GPtrArray *rows)
{
  g_autoptr(GHashTable) seen_seq = NULL;
  g_autoptr(GHashTable) seen_student = NULL;
  GPtrArray *errors;

  g_return_val_if_fail (rows != NULL, NULL);

  errors = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_row_error_free);
  seen_seq = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, NULL);
  seen_student = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < rows->len; i++)
    {
      const LkImportRow *row = g_ptr_array_index (rows, i);
      g_autofree char *seq_str = g_strdup_printf ("%" G_GINT64_FORMAT, row->seq);

      lk_import_row_validate (row, errors);

      if (g_hash_table_contains (seen_seq, &row->seq))
        {
          g_autofree char *message = g_strdup_printf (_("Duplicate row number %s"), seq_str);
          add_error (errors, row->seq, "seq", message);
        }
      else
        {
          /* The keys point into the rows, which outlive this table. */
          g_hash_table_add (seen_seq, (gpointer) &row->seq);
        }

      if (row->school != NULL && row->student_no != NULL && *row->student_no != '\0')
        {
          /* school ‖ U+001F ‖ student_no: control characters are invalid in both fields, so
           * two different valid pairs never pack to the same key. */
          gsize school_len = strlen (row->school);
          char *packed = g_malloc (school_len + 1 + strlen (row->student_no) + 1);
          const LkImportRow *first;

          memcpy (packed, row->school, school_len);
          packed[school_len] = '\x1f';
          strcpy (packed + school_len + 1, row->student_no);

          first = g_hash_table_lookup (seen_student, packed);
          if (first != NULL)
            {
              g_autofree char *first_str = g_strdup_printf ("%" G_GINT64_FORMAT, first->seq);
              g_autofree char *message =
                g_strdup_printf (_("Duplicate student number %s in rows %s and %s"),
                                 row->student_no, first_str, seq_str);

              add_error (errors, row->seq, "student_no", message);
              g_free (packed);
            }
          else
            {
              g_hash_table_insert (seen_student, packed, (gpointer) row);
            }
        }
    }

  return errors;
}

GPtrArray *
lk_import_rows_from_json (JsonNode  *node,
                          GError   **error)
{
  g_autoptr(GPtrArray) rows = NULL;
  JsonArray *array;
  guint n_rows;

  g_return_val_if_fail (node != NULL, NULL);

  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                           _("The rows are not a JSON array"));
      return NULL;
    }

  array = json_node_get_array (node);
  n_rows = json_array_get_length (array);
  if (n_rows > LK_IMPORT_MAX_ROWS)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                   _("Too many rows: %u (at most %d)"), n_rows, LK_IMPORT_MAX_ROWS);
      return NULL;
    }

  rows = g_ptr_array_new_full (n_rows, (GDestroyNotify) lk_import_row_free);

  for (guint i = 0; i < n_rows; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      g_autoptr(LkImportRow) row = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (element))
        {
          g_set_error (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                       _("Row %u is not a JSON object"), i + 1);
          return NULL;
        }

      row = lk_import_row_new ();
      if (!parse_row_object (json_node_get_object (element), i, row, error))
        return NULL;

      g_ptr_array_add (rows, g_steal_pointer (&row));
    }

  return g_steal_pointer (&rows);
}

JsonNode *
lk_import_row_to_json (const LkImportRow *row)
{
  g_autoptr(JsonBuilder) builder = NULL;

  g_return_val_if_fail (row != NULL, NULL);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "seq");
  json_builder_add_int_value (builder, row->seq);

  for (guint k = ROW_KEY_PROVINCE; k < N_ROW_KEYS; k++)
    {
      const char *text = *row_text_field ((LkImportRow *) row, (RowKey) k);

      json_builder_set_member_name (builder, row_keys[k]);
      if (text != NULL)
        json_builder_add_string_value (builder, text);
      else if (k == ROW_KEY_CARD_NO)
        json_builder_add_null_value (builder);
      else
        json_builder_add_string_value (builder, "");
    }

  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

JsonNode *
lk_import_rows_to_json (GPtrArray *rows)
{
  JsonArray *array;
  JsonNode *node;

  g_return_val_if_fail (rows != NULL, NULL);

  array = json_array_sized_new (rows->len);
  for (guint i = 0; i < rows->len; i++)
    json_array_add_element (array, lk_import_row_to_json (g_ptr_array_index (rows, i)));

  node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, array);

  return node;
}

char *
lk_import_rows_canonical_json (GPtrArray *rows)
{
  g_autoptr(GPtrArray) sorted = NULL;
  GString *out;

  g_return_val_if_fail (rows != NULL, NULL);

  /* json-glib's generator escapes non-ASCII and has its own key order, so the canonical form
   * is written by hand: both sides must produce the same bytes from the same rows. */
  sorted = g_ptr_array_copy (rows, NULL, NULL);
  /* The copy borrows the rows; g_ptr_array_copy () also copied the free func. */
  g_ptr_array_set_free_func (sorted, NULL);
  g_ptr_array_sort (sorted, compare_rows_by_seq);

  out = g_string_sized_new (128 * (sorted->len + 1));
  g_string_append_c (out, '[');

  for (guint i = 0; i < sorted->len; i++)
    {
      LkImportRow *row = g_ptr_array_index (sorted, i);

      if (i > 0)
        g_string_append_c (out, ',');

      g_string_append_printf (out, "{\"seq\":%" G_GINT64_FORMAT, row->seq);

      for (guint k = ROW_KEY_PROVINCE; k < N_ROW_KEYS; k++)
        {
          const char *text = *row_text_field (row, (RowKey) k);

          g_string_append_printf (out, ",\"%s\":", row_keys[k]);
          if (text != NULL)
            append_json_string (out, text);
          else if (k == ROW_KEY_CARD_NO)
            g_string_append (out, "null");
          else
            g_string_append (out, "\"\"");
        }

      g_string_append_c (out, '}');
    }

  g_string_append_c (out, ']');

  return g_string_free (out, FALSE);
}

char *
lk_import_rows_checksum (GPtrArray *rows)
{
  g_autofree char *json = NULL;

  g_return_val_if_fail (rows != NULL, NULL);

  json = lk_import_rows_canonical_json (rows);

  return lk_sha256_hex (json, strlen (json));
}

GBytes *
lk_import_frame_build (GPtrArray *rows)
{
  g_autofree char *payload = NULL;
  g_autofree char *checksum = NULL;
  GString *frame;
  gsize payload_len;

  g_return_val_if_fail (rows != NULL, NULL);

  payload = lk_import_rows_canonical_json (rows);
  payload_len = strlen (payload);
  checksum = lk_sha256_hex (payload, payload_len);

  frame = g_string_sized_new (payload_len + 96);
  g_string_append_printf (frame, FRAME_START "%u\n", rows->len);
  g_string_append_len (frame, payload, (gssize) payload_len);
  g_string_append (frame, FRAME_END);
  g_string_append (frame, checksum);
  g_string_append_c (frame, '\n');

  return g_string_free_to_bytes (frame);
}

GPtrArray *
lk_import_frame_parse (GBytes  *frame,
                       GError **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *computed = NULL;
  const char *data;
  const char *count_start;
  const char *count_end;
  const char *payload;
  const char *end_field = NULL;
  const char *checksum;
  const char *frame_end;
  gsize len;
  gsize payload_len;
  guint64 count = 0;

  g_return_val_if_fail (frame != NULL, NULL);

  data = g_bytes_get_data (frame, &len);
  frame_end = data + len;

  /* Start field: "LKIMPORT/1 <count>\n" */
  if (len < strlen (FRAME_START) || memcmp (data, FRAME_START, strlen (FRAME_START)) != 0)
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_BAD_FRAME,
                           _("The frame does not start with \"LKIMPORT/1\""));
      return NULL;
    }

  count_start = data + strlen (FRAME_START);
  count_end = count_start;
  while (count_end < frame_end && g_ascii_isdigit (*count_end))
    count_end++;

  if (count_end == count_start || count_end >= frame_end || *count_end != '\n' ||
      count_end - count_start > COUNT_MAX_DIGITS ||
      (count_end - count_start > 1 && *count_start == '0'))
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_BAD_FRAME,
                           _("The start field does not carry a row count"));
      return NULL;
    }

  for (const char *p = count_start; p < count_end; p++)
    count = count * 10 + (guint64) (*p - '0');

  if (count > LK_IMPORT_MAX_ROWS)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BAD_FRAME,
                   _("Too many rows: %u (at most %d)"), (guint) count, LK_IMPORT_MAX_ROWS);
      return NULL;
    }

  payload = count_end + 1;

  /* End field: the last "\nLKEND " in the frame. JSON text never contains that sequence
   * outside a string, and strings cannot hold a raw newline, so the last one is the field. */
  for (const char *p = frame_end - strlen (FRAME_END); p >= payload - 1; p--)
    {
      if (memcmp (p, FRAME_END, strlen (FRAME_END)) == 0)
        {
          end_field = p;
          break;
        }
    }

  if (end_field == NULL || end_field < payload)
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_BAD_FRAME,
                           _("The frame has no \"LKEND\" end field"));
      return NULL;
    }

  checksum = end_field + strlen (FRAME_END);
  if ((gsize) (frame_end - checksum) < SHA256_HEX_LEN + 1 ||
      checksum[SHA256_HEX_LEN] != '\n')
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_BAD_FRAME,
                           _("The end field does not carry a SHA-256 checksum"));
      return NULL;
    }

  for (guint i = 0; i < SHA256_HEX_LEN; i++)
    {
      if (!g_ascii_isdigit (checksum[i]) && !(checksum[i] >= 'a' && checksum[i] <= 'f'))
        {
          g_set_error_literal (error, LK_ERROR, LK_ERROR_BAD_FRAME,
                               _("The checksum must be 64 lower-case hexadecimal digits"));
          return NULL;
        }
    }

  if (checksum + SHA256_HEX_LEN + 1 != frame_end)
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_BAD_FRAME,
                           _("The frame has data after its end field"));
      return NULL;
    }

  payload_len = (gsize) (end_field - payload);
  computed = lk_sha256_hex (payload, payload_len);
  if (computed == NULL || memcmp (computed, checksum, SHA256_HEX_LEN) != 0)
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_BAD_FRAME,
                           _("The checksum does not match the payload"));
      return NULL;
    }

  if (payload_len > G_MAXSSIZE || !g_utf8_validate_len (payload, payload_len, NULL))
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                           _("The payload is not valid UTF-8 text"));
      return NULL;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, payload, (gssize) payload_len, &local_error))
    {
      g_set_error (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                   _("The payload is not valid JSON: %s"), local_error->message);
      return NULL;
    }

  if (json_parser_get_root (parser) == NULL)
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                           _("The rows are not a JSON array"));
      return NULL;
    }

  rows = lk_import_rows_from_json (json_parser_get_root (parser), error);
  if (rows == NULL)
    return NULL;

  if (rows->len != count)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BAD_FRAME,
                   _("The start field counts %u rows but the payload has %u"),
                   (guint) count, rows->len);
      return NULL;
    }

  for (guint i = 0; i < rows->len; i++)
    lk_import_row_normalize (g_ptr_array_index (rows, i));

  return g_steal_pointer (&rows);
}
