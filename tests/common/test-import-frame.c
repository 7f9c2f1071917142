/* test-import-frame.c: roster rows, canonical JSON, and the import frame
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "lk-claim-code.h"
#include "lk-error.h"
#include "lk-import-frame.h"

/* The canonical JSON of make_rows (), written by hand, and its SHA-256 from python3 hashlib. */
static const char canonical_vector[] =
  "[{\"seq\":1,\"province\":\"浙江省\",\"school\":\"杭州市第一小学\",\"class\":\"三年级(2)班\","
  "\"name\":\"张小明\",\"student_no\":\"2023001\",\"card_no\":\"A1B2C3D4\"},"
  "{\"seq\":2,\"province\":\"浙江省\",\"school\":\"杭州市第一小学\",\"class\":\"三年级(2)班\","
  "\"name\":\"李\\\"小\\\\明\",\"student_no\":\"2023002\",\"card_no\":null}]";
static const char checksum_vector[] =
  "5b35f58a3290950ace464616600ccc2b9dc4df6cc4703c4d173162a317e5ebd5";

static LkImportRow *
make_row (gint64      seq,
          const char *name,
          const char *student_no,
          const char *card_no)
{
  LkImportRow *row = lk_import_row_new ();

  row->seq = seq;
  row->province = g_strdup ("浙江省");
  row->school = g_strdup ("杭州市第一小学");
  row->klass = g_strdup ("三年级(2)班");
  row->name = g_strdup (name);
  row->student_no = g_strdup (student_no);
  row->card_no = g_strdup (card_no);

  return row;
}

static GPtrArray *
make_rows (void)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);

  /* Out of order on purpose: the canonical form sorts by seq. */
  g_ptr_array_add (rows, make_row (2, "李\"小\\明", "2023002", NULL));
  g_ptr_array_add (rows, make_row (1, "张小明", "2023001", "A1B2C3D4"));

  return rows;
}

static GBytes *
frame_from_parts (const char *start,
                  const char *payload,
                  const char *end)
{
  g_autofree char *checksum = lk_sha256_hex (payload, strlen (payload));
  g_autofree char *text = NULL;

  if (end == NULL)
    text = g_strdup_printf ("%s%s\nLKEND %s\n", start, payload, checksum);
  else
    text = g_strdup_printf ("%s%s%s", start, payload, end);

  return g_bytes_new (text, strlen (text));
}

static void
assert_parse_fails (GBytes *frame,
                    gint    code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = lk_import_frame_parse (frame, &error);

  g_assert_null (rows);
  g_assert_error (error, LK_ERROR, code);
  g_assert_nonnull (error->message);
  g_assert_cmpstr (error->message, !=, "");
}

static void
assert_text_fails (const char *text,
                   gint        code)
{
  g_autoptr(GBytes) frame = g_bytes_new (text, strlen (text));

  assert_parse_fails (frame, code);
}

static void
test_canonical_vector (void)
{
  g_autoptr(GPtrArray) rows = make_rows ();
  g_autofree char *json = lk_import_rows_canonical_json (rows);
  g_autofree char *checksum = lk_import_rows_checksum (rows);

  g_assert_cmpstr (json, ==, canonical_vector);
  g_assert_cmpstr (checksum, ==, checksum_vector);

  /* The input order is untouched. */
  g_assert_cmpint (((LkImportRow *) g_ptr_array_index (rows, 0))->seq, ==, 2);
}

static void
test_canonical_escapes (void)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);
  g_autofree char *json = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) back = NULL;

  g_ptr_array_add (rows, make_row (7, "a\tb\nc\rd\be\ff\x01g\x1fh/\xe2\x80\xa8", "S-1", NULL));
  json = lk_import_rows_canonical_json (rows);
  g_assert_nonnull (strstr (json, "\"name\":\"a\\tb\\nc\\rd\\be\\ff\\u0001g\\u001fh/\xe2\x80\xa8\""));

  /* It is JSON that reads back to the same row. */
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  back = lk_import_rows_from_json (json_parser_get_root (parser), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->len, ==, 1);
  g_assert_true (lk_import_row_equal (g_ptr_array_index (back, 0), g_ptr_array_index (rows, 0)));
}

static void
test_round_trip (void)
{
  g_autoptr(GPtrArray) rows = make_rows ();
  g_autoptr(GBytes) frame = lk_import_frame_build (rows);
  g_autoptr(GPtrArray) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *checksum = NULL;
  gsize len;
  const char *data = g_bytes_get_data (frame, &len);

  expected = g_strdup_printf ("LKIMPORT/1 2\n%s\nLKEND %s\n", canonical_vector, checksum_vector);
  g_assert_cmpmem (data, len, expected, strlen (expected));

  parsed = lk_import_frame_parse (frame, &error);
  g_assert_no_error (error);
  g_assert_nonnull (parsed);
  g_assert_cmpuint (parsed->len, ==, 2);
  /* The frame carries the rows in canonical (seq) order. */
  g_assert_true (lk_import_row_equal (g_ptr_array_index (parsed, 0), g_ptr_array_index (rows, 1)));
  g_assert_true (lk_import_row_equal (g_ptr_array_index (parsed, 1), g_ptr_array_index (rows, 0)));

  checksum = lk_import_rows_checksum (parsed);
  g_assert_cmpstr (checksum, ==, checksum_vector);
}

static void
test_parse_normalizes (void)
{
  const char *payload =
    "[{\"seq\":3,\"province\":\"\xe3\x80\x80浙江省 \",\"school\":\"\\u00a0杭州市第一小学\","
    "\"class\":\"三年级（2）班\",\"name\":\" 王\xe3\x80\x80五\xef\xbb\xbf\","
    "\"student_no\":\"２０２３００３\",\"card_no\":\"  a1b2c3d4 \"},"
    "{\"seq\":4,\"province\":\"浙江省\",\"school\":\"杭州市第一小学\",\"class\":\"三年级(2)班\","
    "\"name\":\"Zoe\",\"student_no\":\"2023004\",\"card_no\":\"   \"}]";
  g_autoptr(GBytes) frame = frame_from_parts ("LKIMPORT/1 2\n", payload, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = lk_import_frame_parse (frame, &error);
  LkImportRow *row;

  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 2);

  row = g_ptr_array_index (rows, 0);
  g_assert_cmpint (row->seq, ==, 3);
  g_assert_cmpstr (row->province, ==, "浙江省");
  g_assert_cmpstr (row->school, ==, "杭州市第一小学");
  g_assert_cmpstr (row->klass, ==, "三年级(2)班");
  g_assert_cmpstr (row->name, ==, "王 五");
  g_assert_cmpstr (row->student_no, ==, "2023003");
  g_assert_cmpstr (row->card_no, ==, "A1B2C3D4");

  row = g_ptr_array_index (rows, 1);
  g_assert_null (row->card_no);
}

static void
test_normalize_text (void)
{
  struct { const char *in; const char *out; } cases[] = {
    { "  abc  ", "abc" },
    { "\xe3\x80\x80张三\xe3\x80\x80", "张三" },             /* U+3000 */
    { "\xc2\xa0张三\xc2\xa0", "张三" },                     /* U+00A0 */
    { "\xef\xbb\xbf张三\xe2\x80\x8b", "张三" },             /* U+FEFF, U+200B */
    { "\t\r\n张三\n", "张三" },
    { "张\xe3\x80\x80三", "张 三" },                        /* U+3000 inside → space */
    { "ＡＢＣ１２３！～", "ABC123!~" },                     /* full-width ASCII */
    { "e\xcc\x81", "\xc3\xa9" },                            /* NFC: e + U+0301 → é */
    { "三年级2班", "三年级2班" },                           /* ASCII and ideographs: as they are */
    { "张三e\xcc\x81", "张三\xc3\xa9" },                    /* …until a combining mark */
    { "\xef\xa4\x80", "\xe8\xb1\x88" },                       /* U+F900 (compatibility) → U+8C48 */
    { "\xe3\x90\x80\xe4\xb8\x80", "\xe3\x90\x80\xe4\xb8\x80" },         /* U+3400, U+4E00 */
    { "", "" },
    { "   ", "" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = lk_normalize_text (cases[i].in);
      g_assert_cmpstr (out, ==, cases[i].out);
    }

  g_assert_null (lk_normalize_text (NULL));
}

static void
test_normalize_idempotent (void)
{
  /* The admin app normalizes, the server normalizes again, and the echo must not change. */
  static const char * const pieces[] = {
    " ", "\t", "\xe3\x80\x80", "\xc2\xa0", "\xef\xbb\xbf", "\xe2\x80\x8b", "a", "Z", "5",
    "\xef\xbc\xa1", "\xef\xbc\x95", "\xef\xbd\x9e", "\xef\xbc\x88", "e", "\xcc\x81",
    "\xe5\xbc\xa0", "(", "-", "\xe2\x80\x83", "\xe3\x80\x80\xe3\x80\x80",
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);

  for (guint n = 0; n < 5000; n++)
    {
      g_autoptr(GString) text = g_string_new (NULL);
      g_autofree char *once = NULL;
      g_autofree char *twice = NULL;
      guint len = g_rand_int_range (rand, 0, 12);

      for (guint i = 0; i < len; i++)
        g_string_append (text, pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))]);

      once = lk_normalize_text (text->str);
      twice = lk_normalize_text (once);
      g_assert_cmpstr (once, ==, twice);
      g_assert_true (g_utf8_validate (once, -1, NULL));
    }
}

static void
test_bad_frames (void)
{
  const char *good_payload =
    "[{\"seq\":1,\"province\":\"浙江省\",\"school\":\"杭州市第一小学\",\"class\":\"三年级(2)班\","
    "\"name\":\"张小明\",\"student_no\":\"2023001\",\"card_no\":null}]";
  g_autofree char *checksum = lk_sha256_hex (good_payload, strlen (good_payload));
  g_autofree char *upper = g_ascii_strup (checksum, -1);
  g_autofree char *text = NULL;

  /* Sanity: the good frame parses. */
  {
    g_autoptr(GBytes) frame = frame_from_parts ("LKIMPORT/1 1\n", good_payload, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) rows = lk_import_frame_parse (frame, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (rows->len, ==, 1);
  }

  /* Start field */
  assert_text_fails ("", LK_ERROR_BAD_FRAME);
  {
    g_autoptr(GBytes) f1 = frame_from_parts ("LKIMPORT/2 1\n", good_payload, NULL);
    g_autoptr(GBytes) f2 = frame_from_parts ("lkimport/1 1\n", good_payload, NULL);
    g_autoptr(GBytes) f3 = frame_from_parts ("LKIMPORT/1 one\n", good_payload, NULL);
    g_autoptr(GBytes) f4 = frame_from_parts ("LKIMPORT/1 \n", good_payload, NULL);
    g_autoptr(GBytes) f5 = frame_from_parts ("LKIMPORT/1 -1\n", good_payload, NULL);
    g_autoptr(GBytes) f6 = frame_from_parts ("LKIMPORT/1 1 \n", good_payload, NULL);
    g_autoptr(GBytes) f7 = frame_from_parts ("LKIMPORT/1 01\n", good_payload, NULL);
    g_autoptr(GBytes) f8 = frame_from_parts ("LKIMPORT/1 99999999999\n", good_payload, NULL);
    g_autoptr(GBytes) f9 = frame_from_parts (" LKIMPORT/1 1\n", good_payload, NULL);

    assert_parse_fails (f1, LK_ERROR_BAD_FRAME);
    assert_parse_fails (f2, LK_ERROR_BAD_FRAME);
    assert_parse_fails (f3, LK_ERROR_BAD_FRAME);
    assert_parse_fails (f4, LK_ERROR_BAD_FRAME);
    assert_parse_fails (f5, LK_ERROR_BAD_FRAME);
    assert_parse_fails (f6, LK_ERROR_BAD_FRAME);
    assert_parse_fails (f7, LK_ERROR_BAD_FRAME);
    assert_parse_fails (f8, LK_ERROR_BAD_FRAME);
    assert_parse_fails (f9, LK_ERROR_BAD_FRAME);
  }

  /* Count: mismatching, and above the limit */
  {
    g_autoptr(GBytes) f1 = frame_from_parts ("LKIMPORT/1 2\n", good_payload, NULL);
    g_autoptr(GBytes) f2 = frame_from_parts ("LKIMPORT/1 0\n", good_payload, NULL);
    g_autoptr(GBytes) f3 = frame_from_parts ("LKIMPORT/1 200001\n", good_payload, NULL);

    assert_parse_fails (f1, LK_ERROR_BAD_FRAME);
    assert_parse_fails (f2, LK_ERROR_BAD_FRAME);
    assert_parse_fails (f3, LK_ERROR_BAD_FRAME);
  }

  /* End field: missing, garbled, no newline, trailing garbage */
  text = g_strdup_printf ("LKIMPORT/1 1\n%s\n", good_payload);
  assert_text_fails (text, LK_ERROR_BAD_FRAME);
  g_free (text);
  text = g_strdup_printf ("LKIMPORT/1 1\n%s\nLKEN %s\n", good_payload, checksum);
  assert_text_fails (text, LK_ERROR_BAD_FRAME);
  g_free (text);
  text = g_strdup_printf ("LKIMPORT/1 1\n%s\nLKEND %s", good_payload, checksum);
  assert_text_fails (text, LK_ERROR_BAD_FRAME);
  g_free (text);
  text = g_strdup_printf ("LKIMPORT/1 1\n%s\nLKEND %s\nextra", good_payload, checksum);
  assert_text_fails (text, LK_ERROR_BAD_FRAME);
  g_free (text);
  text = g_strdup_printf ("LKIMPORT/1 1\n%s\nLKEND %s\n\n", good_payload, checksum);
  assert_text_fails (text, LK_ERROR_BAD_FRAME);
  g_free (text);
  text = g_strdup_printf ("LKIMPORT/1 1\n%sLKEND %s\n", good_payload, checksum);
  assert_text_fails (text, LK_ERROR_BAD_FRAME);
  g_free (text);

  /* Checksum: wrong, upper case, short */
  text = g_strdup_printf ("LKIMPORT/1 1\n%s\nLKEND %064d\n", good_payload, 0);
  assert_text_fails (text, LK_ERROR_BAD_FRAME);
  g_free (text);
  text = g_strdup_printf ("LKIMPORT/1 1\n%s\nLKEND %s\n", good_payload, upper);
  assert_text_fails (text, LK_ERROR_BAD_FRAME);
  g_free (text);
  text = g_strdup_printf ("LKIMPORT/1 1\n%s\nLKEND %.63s\n", good_payload, checksum);
  assert_text_fails (text, LK_ERROR_BAD_FRAME);
  g_free (text);
  /* One payload byte changed after the checksum was taken */
  text = g_strdup_printf ("LKIMPORT/1 1\n%s\nLKEND %s\n", good_payload, checksum);
  text[strlen ("LKIMPORT/1 1\n") + 8] = '2';
  assert_text_fails (text, LK_ERROR_BAD_FRAME);
  g_free (text);
  text = NULL;
}

static void
test_bad_payloads (void)
{
  const char *payloads[] = {
    "",
    "[",
    "{\"seq\":1}",
    "[1]",
    "[[]]",
    "\"rows\"",
    /* missing key */
    "[{\"seq\":1,\"province\":\"p\",\"school\":\"s\",\"class\":\"c\",\"name\":\"n\",\"student_no\":\"1\"}]",
    /* unknown key */
    "[{\"seq\":1,\"province\":\"p\",\"school\":\"s\",\"class\":\"c\",\"name\":\"n\",\"student_no\":\"1\","
    "\"card_no\":null,\"phone\":\"1\"}]",
    /* wrong types */
    "[{\"seq\":\"1\",\"province\":\"p\",\"school\":\"s\",\"class\":\"c\",\"name\":\"n\",\"student_no\":\"1\",\"card_no\":null}]",
    "[{\"seq\":1.5,\"province\":\"p\",\"school\":\"s\",\"class\":\"c\",\"name\":\"n\",\"student_no\":\"1\",\"card_no\":null}]",
    "[{\"seq\":1,\"province\":null,\"school\":\"s\",\"class\":\"c\",\"name\":\"n\",\"student_no\":\"1\",\"card_no\":null}]",
    "[{\"seq\":1,\"province\":\"p\",\"school\":\"s\",\"class\":\"c\",\"name\":\"n\",\"student_no\":1,\"card_no\":null}]",
    "[{\"seq\":1,\"province\":\"p\",\"school\":\"s\",\"class\":\"c\",\"name\":\"n\",\"student_no\":\"1\",\"card_no\":12345678}]",
    "[{\"seq\":1,\"province\":\"p\",\"school\":\"s\",\"class\":[],\"name\":\"n\",\"student_no\":\"1\",\"card_no\":null}]",
    "[{\"seq\":true,\"province\":\"p\",\"school\":\"s\",\"class\":\"c\",\"name\":\"n\",\"student_no\":\"1\",\"card_no\":null}]",
    /* invalid UTF-8 */
    "[{\"seq\":1,\"province\":\"\xff\xfe\",\"school\":\"s\",\"class\":\"c\",\"name\":\"n\",\"student_no\":\"1\",\"card_no\":null}]",
    "[{\"seq\":1,\"province\":\"\xe6\xb5\",\"school\":\"s\",\"class\":\"c\",\"name\":\"n\",\"student_no\":\"1\",\"card_no\":null}]",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (payloads); i++)
    {
      g_autoptr(GBytes) frame = frame_from_parts ("LKIMPORT/1 1\n", payloads[i], NULL);

      assert_parse_fails (frame, LK_ERROR_INVALID_JSON);
    }

  /* A NUL byte inside the payload */
  {
    static const char payload[] = "[{\"seq\":1}\0]";
    g_autofree char *checksum = lk_sha256_hex (payload, sizeof payload - 1);
    g_autoptr(GByteArray) bytes = g_byte_array_new ();
    g_autoptr(GBytes) frame = NULL;

    g_byte_array_append (bytes, (const guint8 *) "LKIMPORT/1 1\n", 13);
    g_byte_array_append (bytes, (const guint8 *) payload, sizeof payload - 1);
    g_byte_array_append (bytes, (const guint8 *) "\nLKEND ", 7);
    g_byte_array_append (bytes, (const guint8 *) checksum, 64);
    g_byte_array_append (bytes, (const guint8 *) "\n", 1);
    frame = g_byte_array_free_to_bytes (g_steal_pointer (&bytes));

    assert_parse_fails (frame, LK_ERROR_INVALID_JSON);
  }
}

static void
test_empty_and_pretty (void)
{
  g_autoptr(GError) error = NULL;

  /* Zero rows is a well-formed frame. */
  {
    g_autoptr(GBytes) frame = frame_from_parts ("LKIMPORT/1 0\n", "[]", NULL);
    g_autoptr(GPtrArray) rows = lk_import_frame_parse (frame, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (rows->len, ==, 0);
  }

  /* A payload written by another client may contain newlines between tokens. */
  {
    const char *payload =
      "[\n  {\"seq\": 1, \"province\": \"p\", \"school\": \"s\", \"class\": \"c\",\n"
      "   \"name\": \"n\", \"student_no\": \"1\", \"card_no\": null}\n]";
    g_autoptr(GBytes) frame = frame_from_parts ("LKIMPORT/1 1\n", payload, NULL);
    g_autoptr(GPtrArray) rows = lk_import_frame_parse (frame, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (rows->len, ==, 1);
  }
}

static void
test_mutated_frames (void)
{
  /* Frames come from the network: any damage gives a GError of the right kind, never a crash
   * (run under the asan setup to catch memory errors too). */
  g_autoptr(GPtrArray) rows = make_rows ();
  g_autoptr(GBytes) frame = lk_import_frame_build (rows);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);
  guint parsed_ok = 0;

  for (guint n = 0; n < 3000; n++)
    {
      g_autoptr(GByteArray) copy = g_byte_array_new ();
      g_autoptr(GBytes) mutated = NULL;
      g_autoptr(GPtrArray) result = NULL;
      g_autoptr(GError) error = NULL;
      guint pos;

      g_byte_array_append (copy, data, len);
      pos = g_rand_int_range (rand, 0, copy->len);
      switch (n % 4)
        {
        case 0:   /* flip one bit */
          copy->data[pos] ^= (guint8) (1 << g_rand_int_range (rand, 0, 8));
          break;
        case 1:   /* truncate */
          g_byte_array_set_size (copy, pos);
          break;
        case 2:   /* insert a random byte */
          {
            guint8 byte = (guint8) g_rand_int_range (rand, 0, 256);
            g_autoptr(GByteArray) longer = g_byte_array_sized_new (copy->len + 1);

            g_byte_array_append (longer, copy->data, pos);
            g_byte_array_append (longer, &byte, 1);
            g_byte_array_append (longer, copy->data + pos, copy->len - pos);
            g_byte_array_unref (copy);
            copy = g_steal_pointer (&longer);
          }
          break;
        default:  /* remove a byte */
          g_byte_array_remove_index (copy, pos);
          break;
        }

      mutated = g_byte_array_free_to_bytes (g_steal_pointer (&copy));
      result = lk_import_frame_parse (mutated, &error);
      if (result != NULL)
        {
          g_assert_no_error (error);
          parsed_ok++;
        }
      else
        {
          g_assert_true (g_error_matches (error, LK_ERROR, LK_ERROR_BAD_FRAME) ||
                         g_error_matches (error, LK_ERROR, LK_ERROR_INVALID_JSON));
        }
    }

  /* The checksum covers the payload and the start and end fields are exact: no damage of
   * this kind gets through. */
  g_assert_cmpuint (parsed_ok, ==, 0);
}

static gboolean
has_error (GPtrArray  *errors,
           gint64      seq,
           const char *field,
           const char *message)
{
  for (guint i = 0; i < errors->len; i++)
    {
      LkRowError *e = g_ptr_array_index (errors, i);

      if (e->seq == seq && g_strcmp0 (e->field, field) == 0 &&
          (message == NULL || g_strcmp0 (e->message, message) == 0))
        return TRUE;
    }

  return FALSE;
}

static void
test_validate (void)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GString) long_name = g_string_new (NULL);
  LkImportRow *row;

  for (guint i = 0; i < LK_IMPORT_FIELD_MAX_CHARS + 1; i++)
    g_string_append (long_name, "名");

  g_ptr_array_add (rows, make_row (1, "张小明", "2023001", "A1B2C3D4"));
  g_ptr_array_add (rows, make_row (2, "李四", "2023002", "12345678901234567890"));
  g_ptr_array_add (rows, make_row (3, "", "2023003", NULL));
  g_ptr_array_add (rows, make_row (4, "王五", "2023 004", NULL));
  g_ptr_array_add (rows, make_row (5, "赵六", "2023005", "G1B2C3D4"));
  g_ptr_array_add (rows, make_row (6, "钱七", "2023006", "123456789012345678901"));
  g_ptr_array_add (rows, make_row (7, long_name->str, "2023007", NULL));
  g_ptr_array_add (rows, make_row (8, "孙\x01八", "2023008", NULL));
  g_ptr_array_add (rows, make_row (9, "周九", "2023001", NULL));
  g_ptr_array_add (rows, make_row (9, "吴十", "2023010", NULL));
  g_ptr_array_add (rows, make_row (0, "郑一", "2023011", NULL));
  g_ptr_array_add (rows, make_row (12, "冯二", "123456789012345678901234567890123", NULL));
  row = make_row (13, "陈三", NULL, NULL);
  g_clear_pointer (&row->province, g_free);
  g_ptr_array_add (rows, row);
  /* Same student number at another school is fine. */
  row = make_row (14, "褚四", "2023001", NULL);
  g_free (row->school);
  row->school = g_strdup ("杭州市第二小学");
  g_ptr_array_add (rows, row);

  errors = lk_import_rows_validate (rows);

  g_assert_false (has_error (errors, 1, NULL, NULL) || has_error (errors, 1, "card_no", NULL));
  g_assert_false (has_error (errors, 2, "card_no", NULL));
  g_assert_true (has_error (errors, 3, "name", "Student name is missing"));
  g_assert_true (has_error (errors, 4, "student_no", NULL));
  g_assert_true (has_error (errors, 5, "card_no", NULL));
  g_assert_true (has_error (errors, 6, "card_no", NULL));
  g_assert_true (has_error (errors, 7, "name", "Student name is longer than 64 characters"));
  g_assert_true (has_error (errors, 8, "name", "Student name contains control characters"));
  g_assert_true (has_error (errors, 9, "student_no",
                            "Duplicate student number 2023001 in rows 1 and 9"));
  g_assert_true (has_error (errors, 9, "seq", "Duplicate row number 9"));
  g_assert_true (has_error (errors, 0, "seq", NULL));
  g_assert_true (has_error (errors, 12, "student_no", NULL));
  g_assert_true (has_error (errors, 13, "province", "Province is missing"));
  g_assert_true (has_error (errors, 13, "student_no", "Student number is missing"));
  g_assert_false (has_error (errors, 14, "student_no", NULL));
  g_assert_cmpuint (errors->len, ==, 12);

  /* One row on its own */
  {
    g_autoptr(GPtrArray) one = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_row_error_free);
    g_autoptr(LkImportRow) good = make_row (1, "张小明", "A-1b", "a1b2c3d4");

    g_assert_true (lk_import_row_validate (good, one));
    g_assert_cmpuint (one->len, ==, 0);
  }
}

static void
test_row_json (void)
{
  g_autoptr(GPtrArray) rows = make_rows ();
  g_autoptr(JsonNode) node = lk_import_rows_to_json (rows);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) back = lk_import_rows_from_json (node, &error);
  JsonObject *first;

  g_assert_no_error (error);
  g_assert_cmpuint (back->len, ==, 2);
  for (guint i = 0; i < rows->len; i++)
    g_assert_true (lk_import_row_equal (g_ptr_array_index (rows, i), g_ptr_array_index (back, i)));

  first = json_array_get_object_element (json_node_get_array (node), 0);
  g_assert_true (json_object_get_null_member (first, "card_no"));
  g_assert_cmpstr (json_object_get_string_member (first, "class"), ==, "三年级(2)班");

  /* copy and equal */
  {
    g_autoptr(LkImportRow) copy = lk_import_row_copy (g_ptr_array_index (rows, 0));

    g_assert_true (lk_import_row_equal (copy, g_ptr_array_index (rows, 0)));
    g_free (copy->card_no);
    copy->card_no = g_strdup ("");
    g_assert_false (lk_import_row_equal (copy, g_ptr_array_index (rows, 0)));
  }
}

static void
test_many_rows (void)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) lk_import_row_free);
  g_autoptr(GBytes) frame = NULL;
  g_autoptr(GPtrArray) parsed = NULL;
  g_autoptr(GPtrArray) errors = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  for (guint i = 0; i < 5000; i++)
    {
      g_autofree char *no = g_strdup_printf ("2023%05u", i);
      g_ptr_array_add (rows, make_row (5000 - i, "学生", no, NULL));
    }

  frame = lk_import_frame_build (rows);
  parsed = lk_import_frame_parse (frame, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (parsed->len, ==, 5000);

  errors = lk_import_rows_validate (parsed);
  g_assert_cmpuint (errors->len, ==, 0);

  a = lk_import_rows_checksum (rows);
  b = lk_import_rows_checksum (parsed);
  g_assert_cmpstr (a, ==, b);
}

int
main (int   argc,
      char *argv[])
{
  /* The validation messages are checked in English (the msgids). */
  g_setenv ("LANGUAGE", "en", TRUE);
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/common/import-frame/canonical-vector", test_canonical_vector);
  g_test_add_func ("/common/import-frame/canonical-escapes", test_canonical_escapes);
  g_test_add_func ("/common/import-frame/round-trip", test_round_trip);
  g_test_add_func ("/common/import-frame/parse-normalizes", test_parse_normalizes);
  g_test_add_func ("/common/import-frame/normalize-text", test_normalize_text);
  g_test_add_func ("/common/import-frame/normalize-idempotent", test_normalize_idempotent);
  g_test_add_func ("/common/import-frame/bad-frames", test_bad_frames);
  g_test_add_func ("/common/import-frame/bad-payloads", test_bad_payloads);
  g_test_add_func ("/common/import-frame/mutated-frames", test_mutated_frames);
  g_test_add_func ("/common/import-frame/empty-and-pretty", test_empty_and_pretty);
  g_test_add_func ("/common/import-frame/validate", test_validate);
  g_test_add_func ("/common/import-frame/row-json", test_row_json);
  g_test_add_func ("/common/import-frame/many-rows", test_many_rows);

  return g_test_run ();
}
