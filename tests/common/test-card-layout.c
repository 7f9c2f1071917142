/* test-card-layout.c: the student record on a Mifare Classic 1K card
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "lk-card-layout.h"
#include "lk-error.h"

static const guint8 test_uid[LK_CARD_UID_LEN] = { 0xA1, 0xB2, 0xC3, 0xD4 };
static const char test_key[] = "school-card-key-0001";

static LkCardData *
make_data (void)
{
  LkCardData *data = lk_card_data_new ();

  data->school_id = 7;
  data->student_no = g_strdup ("2023001234");
  data->name = g_strdup ("张小明");
  data->klass = g_strdup ("三年级(2)班");
  data->issue_date = g_strdup ("2026-09-01");
  data->issue_seq = 42;

  return data;
}

static void
encode_ok (const LkCardData *data,
           guint8            blocks[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN])
{
  g_autoptr(GError) error = NULL;

  g_assert_true (lk_card_layout_encode (data, test_uid, (const guint8 *) test_key,
                                        strlen (test_key), blocks, &error));
  g_assert_no_error (error);
}

static void
test_block_list (void)
{
  static const guint8 expected[] = { 4, 5, 6, 8, 9 };

  g_assert_cmpmem (lk_card_layout_blocks, LK_CARD_N_BLOCKS, expected, sizeof expected);
}

static void
test_encode_vector (void)
{
  g_autoptr(LkCardData) data = make_data ();
  guint8 blocks[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN];
  static const guint8 header[LK_CARD_BLOCK_LEN] = {
    'L', 'K', 0x01, 0x00, 0x00, 0x00, 0x00, 0x07, 0x20, 0x26, 0x09, 0x01, 0x00, 0x00, 0x00, 0x2A,
  };
  static const guint8 student[LK_CARD_BLOCK_LEN] = "2023001234";
  /* GB18030 of 张小明 and of 三年级(2)班, from python3 str.encode ('gb18030') */
  static const guint8 name[LK_CARD_BLOCK_LEN] = { 0xd5, 0xc5, 0xd0, 0xa1, 0xc3, 0xf7 };
  static const guint8 klass[LK_CARD_BLOCK_LEN] = {
    0xc8, 0xfd, 0xc4, 0xea, 0xbc, 0xb6, 0x28, 0x32, 0x29, 0xb0, 0xe0,
  };
  /* python3: hmac.new (key, uid + b4 + b5 + b6 + b8, 'sha256').digest ()[:16] */
  static const guint8 mac[LK_CARD_BLOCK_LEN] = {
    0xd5, 0x2d, 0x92, 0xbd, 0xd7, 0x42, 0xd7, 0xac, 0x9f, 0xcb, 0xca, 0x75, 0x7c, 0x8c, 0x09, 0x97,
  };

  encode_ok (data, blocks);

  g_assert_cmpmem (blocks[0], LK_CARD_BLOCK_LEN, header, sizeof header);
  g_assert_cmpmem (blocks[1], LK_CARD_BLOCK_LEN, student, sizeof student);
  g_assert_cmpmem (blocks[2], LK_CARD_BLOCK_LEN, name, sizeof name);
  g_assert_cmpmem (blocks[3], LK_CARD_BLOCK_LEN, klass, sizeof klass);
  g_assert_cmpmem (blocks[4], LK_CARD_BLOCK_LEN, mac, sizeof mac);
}

static void
test_round_trip (void)
{
  g_autoptr(LkCardData) data = make_data ();
  g_autoptr(LkCardData) decoded = NULL;
  g_autoptr(GError) error = NULL;
  guint8 blocks[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN];

  encode_ok (data, blocks);
  decoded = lk_card_layout_decode ((const guint8 (*)[LK_CARD_BLOCK_LEN]) blocks, test_uid,
                                   (const guint8 *) test_key, strlen (test_key), &error);
  g_assert_no_error (error);
  g_assert_true (lk_card_data_equal (data, decoded));
  g_assert_cmpstr (decoded->name, ==, "张小明");
  g_assert_cmpstr (decoded->issue_date, ==, "2026-09-01");

  /* Without a card key (HMAC with an empty key), too */
  {
    g_autoptr(LkCardData) no_key = NULL;

    g_assert_true (lk_card_layout_encode (data, test_uid, NULL, 0, blocks, &error));
    no_key = lk_card_layout_decode ((const guint8 (*)[LK_CARD_BLOCK_LEN]) blocks, test_uid,
                                    NULL, 0, &error);
    g_assert_no_error (error);
    g_assert_true (lk_card_data_equal (data, no_key));
  }
}

static void
test_tamper (void)
{
  g_autoptr(LkCardData) data = make_data ();
  guint8 blocks[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN];
  guint8 other_uid[LK_CARD_UID_LEN] = { 0xA1, 0xB2, 0xC3, 0xD5 };

  encode_ok (data, blocks);

  /* Any flipped bit in any block, the MAC included, is caught. */
  for (guint b = 0; b < LK_CARD_N_BLOCKS; b++)
    {
      for (guint i = 0; i < LK_CARD_BLOCK_LEN; i++)
        {
          guint8 copy[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN];
          g_autoptr(GError) error = NULL;
          g_autoptr(LkCardData) decoded = NULL;

          memcpy (copy, blocks, sizeof copy);
          copy[b][i] ^= 0x01;
          decoded = lk_card_layout_decode ((const guint8 (*)[LK_CARD_BLOCK_LEN]) copy, test_uid,
                                           (const guint8 *) test_key, strlen (test_key), &error);
          g_assert_null (decoded);
          g_assert_error (error, LK_ERROR, LK_ERROR_BAD_CARD);
        }
    }

  /* The data copied to another card, or checked with another school's key */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LkCardData) decoded = NULL;

    decoded = lk_card_layout_decode ((const guint8 (*)[LK_CARD_BLOCK_LEN]) blocks, other_uid,
                                     (const guint8 *) test_key, strlen (test_key), &error);
    g_assert_null (decoded);
    g_assert_error (error, LK_ERROR, LK_ERROR_BAD_CARD);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(LkCardData) decoded = NULL;

    decoded = lk_card_layout_decode ((const guint8 (*)[LK_CARD_BLOCK_LEN]) blocks, test_uid,
                                     (const guint8 *) "other", 5, &error);
    g_assert_null (decoded);
    g_assert_error (error, LK_ERROR, LK_ERROR_BAD_CARD);
  }

  /* A blank card */
  {
    guint8 blank[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN] = { { 0 } };
    g_autoptr(GError) error = NULL;
    g_autoptr(LkCardData) decoded = NULL;

    decoded = lk_card_layout_decode ((const guint8 (*)[LK_CARD_BLOCK_LEN]) blank, test_uid,
                                     NULL, 0, &error);
    g_assert_null (decoded);
    g_assert_error (error, LK_ERROR, LK_ERROR_BAD_CARD);
  }
}

static void
test_encode_errors (void)
{
  g_autoptr(LkCardData) data = make_data ();
  guint8 blocks[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN];
  guint8 untouched[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN];

  memset (blocks, 0x5A, sizeof blocks);
  memcpy (untouched, blocks, sizeof blocks);

  /* 8 Chinese characters are 16 bytes of GB18030 and fit; 9 do not. */
  g_free (data->name);
  data->name = g_strdup ("一二三四五六七八");
  encode_ok (data, blocks);

  {
    g_autoptr(GError) error = NULL;

    memcpy (blocks, untouched, sizeof blocks);
    g_free (data->name);
    data->name = g_strdup ("一二三四五六七八九");
    g_assert_false (lk_card_layout_encode (data, test_uid, NULL, 0, blocks, &error));
    g_assert_error (error, LK_ERROR, LK_ERROR_ENCODING);
    /* The message never carries the name itself (PIPL). */
    g_assert_null (strstr (error->message, "一二三"));
    g_assert_cmpmem (blocks, sizeof blocks, untouched, sizeof untouched);
  }

  {
    g_autoptr(GError) error = NULL;

    g_free (data->name);
    data->name = g_strdup ("张小明");
    g_free (data->klass);
    data->klass = g_strdup ("a-class-name-of-17");
    g_assert_false (lk_card_layout_encode (data, test_uid, NULL, 0, blocks, &error));
    g_assert_error (error, LK_ERROR, LK_ERROR_ENCODING);
  }

  {
    const char *bad_dates[] = { "2026-13-01", "2026-02-30", "2026/09/01", "26-09-01", "", NULL };

    g_free (data->klass);
    data->klass = g_strdup ("三年级(2)班");
    for (gsize i = 0; i < G_N_ELEMENTS (bad_dates); i++)
      {
        g_autoptr(GError) error = NULL;

        g_free (data->issue_date);
        data->issue_date = g_strdup (bad_dates[i]);
        g_assert_false (lk_card_layout_encode (data, test_uid, NULL, 0, blocks, &error));
        g_assert_error (error, LK_ERROR, LK_ERROR_ENCODING);
      }
  }
}

static void
test_sector_key (void)
{
  guint8 key[LK_CARD_KEY_LEN];
  guint8 key2[LK_CARD_KEY_LEN];
  static const guint8 factory[LK_CARD_KEY_LEN] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
  /* python3: hmac.new (key, b"LK-SECTOR" + uid + bytes ([1]), 'sha256').digest ()[:6] */
  static const guint8 expected[LK_CARD_KEY_LEN] = { 0x19, 0x88, 0xe4, 0x12, 0xc8, 0x1a };

  lk_card_sector_key (NULL, 0, test_uid, 1, key);
  g_assert_cmpmem (key, sizeof key, factory, sizeof factory);

  lk_card_sector_key ((const guint8 *) test_key, strlen (test_key), test_uid, 1, key);
  g_assert_cmpmem (key, sizeof key, expected, sizeof expected);

  lk_card_sector_key ((const guint8 *) test_key, strlen (test_key), test_uid, 2, key2);
  g_assert_true (memcmp (key, key2, sizeof key) != 0);
}

static void
test_uid_string (void)
{
  g_autofree char *str = lk_card_uid_to_string (test_uid);
  guint8 uid[LK_CARD_UID_LEN] = { 0 };

  g_assert_cmpstr (str, ==, "A1B2C3D4");
  g_assert_true (lk_card_uid_from_string ("a1b2c3d4", uid));
  g_assert_cmpmem (uid, sizeof uid, test_uid, sizeof test_uid);

  g_assert_false (lk_card_uid_from_string ("A1B2C3D", uid));
  g_assert_false (lk_card_uid_from_string ("A1B2C3D4E", uid));
  g_assert_false (lk_card_uid_from_string ("A1B2C3DG", uid));
  g_assert_false (lk_card_uid_from_string (NULL, uid));
}

static void
test_json (void)
{
  g_autoptr(LkCardData) data = make_data ();
  g_autoptr(JsonNode) node = lk_card_data_to_json (data);
  g_autoptr(LkCardData) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = json_to_string (node, FALSE);

  g_assert_cmpstr (text, ==,
                   "{\"school_id\":7,\"student_no\":\"2023001234\",\"name\":\"张小明\","
                   "\"class\":\"三年级(2)班\",\"issue_date\":\"2026-09-01\",\"issue_seq\":42}");

  back = lk_card_data_from_json (node, &error);
  g_assert_no_error (error);
  g_assert_true (lk_card_data_equal (data, back));

  {
    g_autoptr(LkCardData) copy = lk_card_data_copy (data);

    g_assert_true (lk_card_data_equal (data, copy));
    copy->issue_seq++;
    g_assert_false (lk_card_data_equal (data, copy));
  }

  {
    const char *bad[] = {
      "[]",
      "{\"school_id\":\"7\",\"student_no\":\"1\",\"name\":\"n\",\"class\":\"c\",\"issue_date\":\"2026-09-01\",\"issue_seq\":1}",
      "{\"school_id\":-1,\"student_no\":\"1\",\"name\":\"n\",\"class\":\"c\",\"issue_date\":\"2026-09-01\",\"issue_seq\":1}",
      "{\"school_id\":4294967296,\"student_no\":\"1\",\"name\":\"n\",\"class\":\"c\",\"issue_date\":\"2026-09-01\",\"issue_seq\":1}",
      "{\"school_id\":7,\"student_no\":1,\"name\":\"n\",\"class\":\"c\",\"issue_date\":\"2026-09-01\",\"issue_seq\":1}",
      "{\"school_id\":7,\"student_no\":\"1\",\"name\":null,\"class\":\"c\",\"issue_date\":\"2026-09-01\",\"issue_seq\":1}",
      "{\"school_id\":7,\"student_no\":\"1\",\"name\":\"n\",\"issue_date\":\"2026-09-01\",\"issue_seq\":1}",
      "{\"school_id\":7,\"student_no\":\"1\",\"name\":\"n\",\"class\":\"c\",\"issue_date\":\"2026-9-1\",\"issue_seq\":1}",
      "{\"school_id\":7,\"student_no\":\"1\",\"name\":\"n\",\"class\":\"c\",\"issue_date\":\"2026-09-01\",\"issue_seq\":1.0}",
    };

    for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(JsonNode) bad_node = json_from_string (bad[i], NULL);
        g_autoptr(GError) bad_error = NULL;
        g_autoptr(LkCardData) bad_data = NULL;

        g_assert_nonnull (bad_node);
        bad_data = lk_card_data_from_json (bad_node, &bad_error);
        g_assert_null (bad_data);
        g_assert_error (bad_error, LK_ERROR, LK_ERROR_INVALID_JSON);
      }
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/common/card-layout/blocks", test_block_list);
  g_test_add_func ("/common/card-layout/encode-vector", test_encode_vector);
  g_test_add_func ("/common/card-layout/round-trip", test_round_trip);
  g_test_add_func ("/common/card-layout/tamper", test_tamper);
  g_test_add_func ("/common/card-layout/encode-errors", test_encode_errors);
  g_test_add_func ("/common/card-layout/sector-key", test_sector_key);
  g_test_add_func ("/common/card-layout/uid-string", test_uid_string);
  g_test_add_func ("/common/card-layout/json", test_json);

  return g_test_run ();
}
