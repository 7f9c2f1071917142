/* lk-card-layout.c: the student record on a Mifare Classic 1K card (DISPENSER.md)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lk-card-layout.h"
#include "lk-error.h"

#define CARD_MAGIC_0 'L'
#define CARD_MAGIC_1 'K'
#define CARD_LAYOUT_VERSION 0x01
#define CARD_TEXT_CHARSET "GB18030"
#define CARD_MAC_LEN 16
#define SECTOR_KEY_LABEL "LK-SECTOR"

enum {
  BLOCK_HEADER,   /* block 4 */
  BLOCK_STUDENT,  /* block 5 */
  BLOCK_NAME,     /* block 6 */
  BLOCK_CLASS,    /* block 8 */
  BLOCK_MAC,      /* block 9 */
};

const guint8 lk_card_layout_blocks[LK_CARD_N_BLOCKS] = { 4, 5, 6, 8, 9 };

static void
put_u32_be (guint8  *out,
            guint32  value)
{
  out[0] = (guint8) (value >> 24);
  out[1] = (guint8) (value >> 16);
  out[2] = (guint8) (value >> 8);
  out[3] = (guint8) value;
}

static guint32
get_u32_be (const guint8 *in)
{
  return (guint32) in[0] << 24 | (guint32) in[1] << 16 | (guint32) in[2] << 8 | in[3];
}

/* "YYYY-MM-DD" → 8 digits, checking that it is a real date. */
static gboolean
parse_issue_date (const char *text,
                  char        digits[9])
{
  guint year, month, day;

  if (text == NULL || strlen (text) != 10 || text[4] != '-' || text[7] != '-')
    return FALSE;

  for (guint i = 0; i < 10; i++)
    if (i != 4 && i != 7 && !g_ascii_isdigit (text[i]))
      return FALSE;

  year = (guint) g_ascii_strtoull (text, NULL, 10);
  month = (guint) g_ascii_strtoull (text + 5, NULL, 10);
  day = (guint) g_ascii_strtoull (text + 8, NULL, 10);
  if (year < 1 || month < 1 || month > 12 || day < 1 ||
      !g_date_valid_dmy ((GDateDay) day, (GDateMonth) month, (GDateYear) year))
    return FALSE;

  memcpy (digits, text, 4);
  memcpy (digits + 4, text + 5, 2);
  memcpy (digits + 6, text + 8, 2);
  digits[8] = '\0';

  return TRUE;
}

static const char *
text_field_label (guint block)
{
  switch (block)
    {
    case BLOCK_STUDENT:
      return _("The student number");
    case BLOCK_NAME:
      return _("The student name");
    case BLOCK_CLASS:
      return _("The class name");
    default:
      g_return_val_if_reached ("");
    }
}

static gboolean
encode_text (const char  *text,
             guint        block,
             guint8       out[LK_CARD_BLOCK_LEN],
             GError     **error)
{
  g_autofree char *converted = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize converted_len = 0;

  memset (out, 0, LK_CARD_BLOCK_LEN);

  if (text == NULL || *text == '\0')
    return TRUE;

  converted = g_convert (text, -1, CARD_TEXT_CHARSET, "UTF-8", NULL, &converted_len,
                         &local_error);
  if (converted == NULL)
    {
      /* The text itself is personal data: the message names the field, not the value. */
      g_set_error (error, LK_ERROR, LK_ERROR_ENCODING,
                   _("%s cannot be written in GB18030"), text_field_label (block));
      return FALSE;
    }

  if (converted_len > LK_CARD_BLOCK_LEN)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_ENCODING,
                   _("%s does not fit on the card (%u bytes, at most %u)"),
                   text_field_label (block), (guint) converted_len, LK_CARD_BLOCK_LEN);
      return FALSE;
    }

  memcpy (out, converted, converted_len);

  return TRUE;
}

static char *
decode_text (const guint8   in[LK_CARD_BLOCK_LEN],
             guint          block,
             GError       **error)
{
  gsize len = 0;
  char *text;

  while (len < LK_CARD_BLOCK_LEN && in[len] != 0)
    len++;

  /* NUL padding only: anything after the first NUL is not ours. */
  for (gsize i = len; i < LK_CARD_BLOCK_LEN; i++)
    {
      if (in[i] != 0)
        {
          g_set_error (error, LK_ERROR, LK_ERROR_BAD_CARD,
                       _("%s on the card is not NUL-padded"), text_field_label (block));
          return NULL;
        }
    }

  if (len == 0)
    return g_strdup ("");

  text = g_convert ((const char *) in, (gssize) len, "UTF-8", CARD_TEXT_CHARSET,
                    NULL, NULL, NULL);
  if (text == NULL)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_ENCODING,
                   _("%s on the card is not valid GB18030 text"), text_field_label (block));
      return NULL;
    }

  return text;
}

/* HMAC-SHA256(card key, UID ‖ blocks 4, 5, 6, 8), first 16 bytes */
static gboolean
compute_mac (const guint8   blocks[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN],
             const guint8   uid[LK_CARD_UID_LEN],
             const guint8  *card_key,
             gsize          card_key_len,
             guint8         mac[CARD_MAC_LEN],
             GError       **error)
{
  guint8 input[LK_CARD_UID_LEN + 4 * LK_CARD_BLOCK_LEN];
  guint8 full[EVP_MAX_MD_SIZE];
  unsigned int full_len = 0;
  static const guint8 empty_key = 0;

  memcpy (input, uid, LK_CARD_UID_LEN);
  for (guint b = BLOCK_HEADER; b <= BLOCK_CLASS; b++)
    memcpy (input + LK_CARD_UID_LEN + b * LK_CARD_BLOCK_LEN, blocks[b], LK_CARD_BLOCK_LEN);

  if (card_key_len > G_MAXINT ||
      HMAC (EVP_sha256 (), card_key_len > 0 ? card_key : &empty_key, (int) card_key_len,
            input, sizeof input, full, &full_len) == NULL ||
      full_len < CARD_MAC_LEN)
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_CRYPTO,
                           _("Could not compute the card's MAC"));
      return FALSE;
    }

  memcpy (mac, full, CARD_MAC_LEN);
  OPENSSL_cleanse (full, sizeof full);

  return TRUE;
}

static gboolean
get_u32_member (JsonObject  *object,
                const char  *member,
                guint32     *out,
                GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64 ||
      json_node_get_int (node) < 0 || json_node_get_int (node) > G_MAXUINT32)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                   _("Card data: \"%s\" must be a whole number from 0 to 4294967295"), member);
      return FALSE;
    }

  *out = (guint32) json_node_get_int (node);

  return TRUE;
}

static gboolean
get_string_member (JsonObject  *object,
                   const char  *member,
                   char       **out,
                   GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                   _("Card data: \"%s\" must be a string"), member);
      return FALSE;
    }

  *out = g_strdup (json_node_get_string (node));

  return TRUE;
}

LkCardData *
lk_card_data_new (void)
{
  return g_new0 (LkCardData, 1);
}

LkCardData *
lk_card_data_copy (const LkCardData *data)
{
  LkCardData *copy;

  g_return_val_if_fail (data != NULL, NULL);

  copy = lk_card_data_new ();
  copy->school_id = data->school_id;
  copy->student_no = g_strdup (data->student_no);
  copy->name = g_strdup (data->name);
  copy->klass = g_strdup (data->klass);
  copy->issue_date = g_strdup (data->issue_date);
  copy->issue_seq = data->issue_seq;

  return copy;
}

void
lk_card_data_free (LkCardData *data)
{
  if (data == NULL)
    return;

  g_free (data->student_no);
  g_free (data->name);
  g_free (data->klass);
  g_free (data->issue_date);
  g_free (data);
}

/* NULL and "" are the same on a card: both are an all-NUL block. */
static gboolean
text_equal (const char *a,
            const char *b)
{
  return g_strcmp0 (a != NULL ? a : "", b != NULL ? b : "") == 0;
}

gboolean
lk_card_data_equal (const LkCardData *a,
                    const LkCardData *b)
{
  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL)
    return FALSE;

  return a->school_id == b->school_id &&
         a->issue_seq == b->issue_seq &&
         text_equal (a->student_no, b->student_no) &&
         text_equal (a->name, b->name) &&
         text_equal (a->klass, b->klass) &&
         text_equal (a->issue_date, b->issue_date);
}

JsonNode *
lk_card_data_to_json (const LkCardData *data)
{
  g_autoptr(JsonBuilder) builder = NULL;

  g_return_val_if_fail (data != NULL, NULL);

  builder = json_builder_new ();
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "school_id");
  json_builder_add_int_value (builder, data->school_id);
  json_builder_set_member_name (builder, "student_no");
  json_builder_add_string_value (builder, data->student_no != NULL ? data->student_no : "");
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, data->name != NULL ? data->name : "");
  json_builder_set_member_name (builder, "class");
  json_builder_add_string_value (builder, data->klass != NULL ? data->klass : "");
  json_builder_set_member_name (builder, "issue_date");
  json_builder_add_string_value (builder, data->issue_date != NULL ? data->issue_date : "");
  json_builder_set_member_name (builder, "issue_seq");
  json_builder_add_int_value (builder, data->issue_seq);
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

LkCardData *
lk_card_data_from_json (JsonNode  *node,
                        GError   **error)
{
  g_autoptr(LkCardData) data = NULL;
  JsonObject *object;
  char digits[9];

  g_return_val_if_fail (node != NULL, NULL);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                           _("Card data must be a JSON object"));
      return NULL;
    }

  object = json_node_get_object (node);
  data = lk_card_data_new ();

  if (!get_u32_member (object, "school_id", &data->school_id, error) ||
      !get_u32_member (object, "issue_seq", &data->issue_seq, error))
    return NULL;

  if (!get_string_member (object, "student_no", &data->student_no, error) ||
      !get_string_member (object, "name", &data->name, error) ||
      !get_string_member (object, "class", &data->klass, error) ||
      !get_string_member (object, "issue_date", &data->issue_date, error))
    return NULL;

  if (!parse_issue_date (data->issue_date, digits))
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_INVALID_JSON,
                           _("Card data: \"issue_date\" must be a date as YYYY-MM-DD"));
      return NULL;
    }

  return g_steal_pointer (&data);
}

gboolean
lk_card_layout_encode (const LkCardData *data,
                       const guint8      uid[LK_CARD_UID_LEN],
                       const guint8     *card_key,
                       gsize             card_key_len,
                       guint8            blocks[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN],
                       GError          **error)
{
  guint8 out[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN] = { { 0 } };
  char digits[9];
  guint8 *header = out[BLOCK_HEADER];

  g_return_val_if_fail (data != NULL, FALSE);
  g_return_val_if_fail (uid != NULL, FALSE);
  g_return_val_if_fail (card_key != NULL || card_key_len == 0, FALSE);
  g_return_val_if_fail (blocks != NULL, FALSE);

  if (!parse_issue_date (data->issue_date, digits))
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_ENCODING,
                           _("The issue date must be a date as YYYY-MM-DD"));
      return FALSE;
    }

  header[0] = CARD_MAGIC_0;
  header[1] = CARD_MAGIC_1;
  header[2] = CARD_LAYOUT_VERSION;
  header[3] = 0x00;
  put_u32_be (header + 4, data->school_id);
  for (guint i = 0; i < 4; i++)
    header[8 + i] = (guint8) ((digits[2 * i] - '0') << 4 | (digits[2 * i + 1] - '0'));
  put_u32_be (header + 12, data->issue_seq);

  if (!encode_text (data->student_no, BLOCK_STUDENT, out[BLOCK_STUDENT], error) ||
      !encode_text (data->name, BLOCK_NAME, out[BLOCK_NAME], error) ||
      !encode_text (data->klass, BLOCK_CLASS, out[BLOCK_CLASS], error))
    return FALSE;

  if (!compute_mac ((const guint8 (*)[LK_CARD_BLOCK_LEN]) out, uid, card_key, card_key_len,
                    out[BLOCK_MAC], error))
    return FALSE;

  memcpy (blocks, out, sizeof out);

  return TRUE;
}

LkCardData *
lk_card_layout_decode (const guint8      blocks[LK_CARD_N_BLOCKS][LK_CARD_BLOCK_LEN],
                       const guint8      uid[LK_CARD_UID_LEN],
                       const guint8     *card_key,
                       gsize             card_key_len,
                       GError          **error)
{
  g_autoptr(LkCardData) data = NULL;
  const guint8 *header = blocks[BLOCK_HEADER];
  guint8 mac[CARD_MAC_LEN];
  char digits[9];

  g_return_val_if_fail (blocks != NULL, NULL);
  g_return_val_if_fail (uid != NULL, NULL);
  g_return_val_if_fail (card_key != NULL || card_key_len == 0, NULL);

  if (header[0] != CARD_MAGIC_0 || header[1] != CARD_MAGIC_1)
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_BAD_CARD,
                           _("The card does not carry a Lingka record"));
      return NULL;
    }

  if (header[2] != CARD_LAYOUT_VERSION)
    {
      g_set_error (error, LK_ERROR, LK_ERROR_BAD_CARD,
                   _("The card's layout version %u is not supported"), header[2]);
      return NULL;
    }

  if (!compute_mac (blocks, uid, card_key, card_key_len, mac, error))
    return NULL;

  if (CRYPTO_memcmp (mac, blocks[BLOCK_MAC], CARD_MAC_LEN) != 0)
    {
      g_set_error_literal (error, LK_ERROR, LK_ERROR_BAD_CARD,
                           _("The card's data does not match its MAC"));
      return NULL;
    }

  for (guint i = 0; i < 4; i++)
    {
      guint hi = header[8 + i] >> 4;
      guint lo = header[8 + i] & 0x0f;

      if (hi > 9 || lo > 9)
        {
          g_set_error_literal (error, LK_ERROR, LK_ERROR_BAD_CARD,
                               _("The card's issue date is not a BCD date"));
          return NULL;
        }
      digits[2 * i] = (char) ('0' + hi);
      digits[2 * i + 1] = (char) ('0' + lo);
    }
  digits[8] = '\0';

  data = lk_card_data_new ();
  data->school_id = get_u32_be (header + 4);
  data->issue_seq = get_u32_be (header + 12);
  data->issue_date = g_strdup_printf ("%.4s-%.2s-%.2s", digits, digits + 4, digits + 6);

  data->student_no = decode_text (blocks[BLOCK_STUDENT], BLOCK_STUDENT, error);
  if (data->student_no == NULL)
    return NULL;
  data->name = decode_text (blocks[BLOCK_NAME], BLOCK_NAME, error);
  if (data->name == NULL)
    return NULL;
  data->klass = decode_text (blocks[BLOCK_CLASS], BLOCK_CLASS, error);
  if (data->klass == NULL)
    return NULL;

  return g_steal_pointer (&data);
}

void
lk_card_sector_key (const guint8 *card_key,
                    gsize         card_key_len,
                    const guint8  uid[LK_CARD_UID_LEN],
                    guint         sector,
                    guint8        key[LK_CARD_KEY_LEN])
{
  guint8 input[sizeof SECTOR_KEY_LABEL - 1 + LK_CARD_UID_LEN + 1];
  guint8 full[EVP_MAX_MD_SIZE];
  unsigned int full_len = 0;

  g_return_if_fail (uid != NULL);
  g_return_if_fail (key != NULL);
  g_return_if_fail (sector < 256);

  /* Blank cards and schools without a card key use the factory key. */
  if (card_key == NULL || card_key_len == 0)
    {
      memset (key, 0xFF, LK_CARD_KEY_LEN);
      return;
    }

  /* "LK-SECTOR" ‖ UID ‖ sector (one byte) */
  memcpy (input, SECTOR_KEY_LABEL, sizeof SECTOR_KEY_LABEL - 1);
  memcpy (input + sizeof SECTOR_KEY_LABEL - 1, uid, LK_CARD_UID_LEN);
  input[sizeof input - 1] = (guint8) sector;

  if (card_key_len > G_MAXINT ||
      HMAC (EVP_sha256 (), card_key, (int) card_key_len, input, sizeof input,
            full, &full_len) == NULL ||
      full_len < LK_CARD_KEY_LEN)
    {
      /* No GError in this signature: a failing HMAC means a broken OpenSSL install, and a
       * guessable key must never be written to a card. */
      g_error ("HMAC-SHA256 failed while deriving a sector key");
    }

  memcpy (key, full, LK_CARD_KEY_LEN);
  OPENSSL_cleanse (full, sizeof full);
}

char *
lk_card_uid_to_string (const guint8 uid[LK_CARD_UID_LEN])
{
  g_return_val_if_fail (uid != NULL, NULL);

  return g_strdup_printf ("%02X%02X%02X%02X", uid[0], uid[1], uid[2], uid[3]);
}

gboolean
lk_card_uid_from_string (const char *str,
                         guint8      uid[LK_CARD_UID_LEN])
{
  guint8 parsed[LK_CARD_UID_LEN];

  g_return_val_if_fail (uid != NULL, FALSE);

  if (str == NULL || strlen (str) != LK_CARD_UID_LEN * 2)
    return FALSE;

  for (guint i = 0; i < LK_CARD_UID_LEN; i++)
    {
      int hi = g_ascii_xdigit_value (str[2 * i]);
      int lo = g_ascii_xdigit_value (str[2 * i + 1]);

      if (hi < 0 || lo < 0)
        return FALSE;
      parsed[i] = (guint8) (hi << 4 | lo);
    }

  memcpy (uid, parsed, sizeof parsed);

  return TRUE;
}
