/* test-k7x0-frame.c: K7X0 framing against the worked frames of DISPENSER.md, reply parsing,
 * every status bit, BCC errors, and partial and noisy streams
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "lk-k7x0-frame.h"

static void
assert_frame (guint         address,
              const guint8 *payload,
              gsize         payload_len,
              const guint8 *expected,
              gsize         expected_len)
{
  g_autoptr(GByteArray) frame = lk_k7x0_frame_build (address, payload, payload_len);

  g_assert_nonnull (frame);
  g_assert_cmpmem (frame->data, frame->len, expected, expected_len);
}

static void
test_worked_frames (void)
{
  const guint8 ap[] = { 0x02, 0x30, 0x30, 0x00, 0x02, 0x41, 0x50, 0x03, 0x12 };
  const guint8 fc7[] = { 0x02, 0x30, 0x30, 0x00, 0x03, 0x46, 0x43, 0x37, 0x03, 0x30 };
  const guint8 check_key[] = { 0x02, 0x30, 0x30, 0x00, 0x0A, 0x3B, 0x32, 0x01, 0x30, 0xFF,
                               0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x03, 0x33 };
  const guint8 read4[] = { 0x02, 0x30, 0x30, 0x00, 0x03, 0x3B, 0x33, 0x04, 0x03, 0x0E };
  const guint8 key_payload[] = { LK_K7X0_CM_MIFARE_S50, LK_K7X0_PM_CHECK_KEY, 0x01,
                                 LK_K7X0_KEY_A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
  const guint8 read_payload[] = { LK_K7X0_CM_MIFARE_S50, LK_K7X0_PM_READ_BLOCK, 0x04 };

  assert_frame (0, (const guint8 *) LK_K7X0_CMD_STATUS, 2, ap, sizeof ap);
  assert_frame (0, (const guint8 *) LK_K7X0_CMD_DISPENSE, 3, fc7, sizeof fc7);
  assert_frame (0, key_payload, sizeof key_payload, check_key, sizeof check_key);
  assert_frame (0, read_payload, sizeof read_payload, read4, sizeof read4);

  /* The BCC covers STX through ETX. */
  g_assert_cmpuint (lk_k7x0_bcc (ap, sizeof ap - 1), ==, 0x12);
  g_assert_cmpuint (lk_k7x0_bcc (ap, sizeof ap), ==, 0);
}

static void
test_address (void)
{
  guint8 digits[2];
  guint8 control[3];
  g_autoptr(GByteArray) frame = NULL;

  g_assert_true (lk_k7x0_address_digits (0, digits));
  g_assert_cmpmem (digits, 2, "00", 2);
  g_assert_true (lk_k7x0_address_digits (10, digits));
  g_assert_cmpmem (digits, 2, "10", 2);
  g_assert_true (lk_k7x0_address_digits (99, digits));
  g_assert_cmpmem (digits, 2, "99", 2);
  g_assert_false (lk_k7x0_address_digits (100, digits));

  frame = lk_k7x0_frame_build (10, (const guint8 *) "AP", 2);
  g_assert_cmpuint (frame->data[1], ==, 0x31);
  g_assert_cmpuint (frame->data[2], ==, 0x30);
  g_assert_null (lk_k7x0_frame_build (100, (const guint8 *) "AP", 2));

  lk_k7x0_control_build (LK_K7X0_ENQ, 0, control);
  g_assert_cmpmem (control, 3, "\x05" "00", 3);
  lk_k7x0_control_build (LK_K7X0_ACK, 10, control);
  g_assert_cmpmem (control, 3, "\x06" "10", 3);
}

static void
test_frame_limits (void)
{
  guint8 payload[LK_K7X0_MAX_PAYLOAD + 1];
  g_autoptr(GByteArray) largest = NULL;

  memset (payload, 'x', sizeof payload);
  largest = lk_k7x0_frame_build (0, payload, LK_K7X0_MAX_PAYLOAD);
  g_assert_nonnull (largest);
  g_assert_cmpuint (largest->len, ==, LK_K7X0_MAX_FRAME);
  g_assert_null (lk_k7x0_frame_build (0, payload, LK_K7X0_MAX_PAYLOAD + 1));
  g_assert_null (lk_k7x0_frame_build (0, payload, 1));
}

static void
test_motion_commands (void)
{
  g_assert_true (lk_k7x0_is_motion_command ((const guint8 *) "FC7", 3));
  g_assert_true (lk_k7x0_is_motion_command ((const guint8 *) "FC0", 3));
  g_assert_true (lk_k7x0_is_motion_command ((const guint8 *) "CP", 2));
  g_assert_true (lk_k7x0_is_motion_command ((const guint8 *) "RS", 2));
  g_assert_true (lk_k7x0_is_motion_command ((const guint8 *) "DC", 2));
  g_assert_false (lk_k7x0_is_motion_command ((const guint8 *) "AP", 2));
  g_assert_false (lk_k7x0_is_motion_command ((const guint8 *) "\x3b\x30", 2));
}

static GByteArray *
build_reply (const char *payload,
             gsize       len)
{
  return lk_k7x0_frame_build (0, (const guint8 *) payload, len);
}

static void
test_reply_parse (void)
{
  g_autoptr(GError) error = NULL;
  LkK7x0Reply reply;
  g_autoptr(GByteArray) uid = build_reply ("P\x3b\x31\xa1\xb2\xc3\xd4", 7);
  g_autoptr(GByteArray) neg = build_reply ("N\x3b\x32\x43", 4);
  g_autoptr(GByteArray) status = build_reply ("SF0020", 6);
  g_autoptr(GByteArray) other = build_reply ("XYZ", 3);

  g_assert_true (lk_k7x0_reply_parse (uid->data, uid->len, &reply, &error));
  g_assert_no_error (error);
  g_assert_cmpint (reply.kind, ==, LK_K7X0_REPLY_KIND_POSITIVE);
  g_assert_cmpuint (reply.cm, ==, 0x3b);
  g_assert_cmpuint (reply.pm, ==, 0x31);
  g_assert_cmpmem (reply.data, reply.data_len, "\xa1\xb2\xc3\xd4", 4);

  g_assert_true (lk_k7x0_reply_parse (neg->data, neg->len, &reply, &error));
  g_assert_cmpint (reply.kind, ==, LK_K7X0_REPLY_KIND_NEGATIVE);
  g_assert_cmpuint (reply.error_code, ==, LK_K7X0_ERR_KEY_FAILED);
  g_assert_cmpstr (lk_k7x0_error_code_to_string (reply.error_code), ==, "key check failed");

  /* The status frame has no 'P' CM PM. */
  g_assert_true (lk_k7x0_reply_parse (status->data, status->len, &reply, &error));
  g_assert_cmpint (reply.kind, ==, LK_K7X0_REPLY_KIND_STATUS);
  g_assert_cmpmem (reply.data, reply.data_len, "0020", 4);
  g_assert_cmpuint (status->data[3], ==, 0x00);
  g_assert_cmpuint (status->data[4], ==, 0x06);

  g_assert_false (lk_k7x0_reply_parse (other->data, other->len, &reply, &error));
  g_assert_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_PROTOCOL);
  g_clear_error (&error);

  /* A wrong BCC, a wrong length, a wrong ETX */
  uid->data[uid->len - 1] ^= 0x01;
  g_assert_false (lk_k7x0_reply_parse (uid->data, uid->len, &reply, &error));
  g_assert_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_PROTOCOL);
  g_clear_error (&error);
  g_assert_false (lk_k7x0_reply_parse (neg->data, neg->len - 1, &reply, &error));
  g_clear_error (&error);
  status->data[status->len - 2] = 0x00;
  g_assert_false (lk_k7x0_reply_parse (status->data, status->len, &reply, &error));
  g_clear_error (&error);
}

static void
test_command_parse (void)
{
  g_autoptr(GByteArray) frame = lk_k7x0_frame_build (7, (const guint8 *) "FC7", 3);
  g_autoptr(GError) error = NULL;
  const guint8 *payload;
  gsize len;
  guint address;

  g_assert_true (lk_k7x0_command_parse (frame->data, frame->len, &address, &payload, &len,
                                        &error));
  g_assert_no_error (error);
  g_assert_cmpuint (address, ==, 7);
  g_assert_cmpmem (payload, len, "FC7", 3);
}

typedef struct
{
  guint  byte;    /* 0..3 */
  guint  value;   /* 8, 4, 2, 1 */
  gsize  offset;  /* of the gboolean in LkDispenserStatus */
} StatusBit;

static const StatusBit status_bits[] = {
  { 0, 8, offsetof (LkDispenserStatus, reject_full) },
  { 0, 4, offsetof (LkDispenserStatus, cannot_execute) },
  { 0, 2, offsetof (LkDispenserStatus, unused_bit) },
  { 0, 1, offsetof (LkDispenserStatus, hopper_pre_full) },
  { 1, 8, offsetof (LkDispenserStatus, dispensing) },
  { 1, 4, offsetof (LkDispenserStatus, capturing) },
  { 1, 2, offsetof (LkDispenserStatus, dispense_error) },
  { 1, 1, offsetof (LkDispenserStatus, capture_error) },
  { 2, 8, offsetof (LkDispenserStatus, hopper_full) },
  { 2, 4, offsetof (LkDispenserStatus, cards_overlapped) },
  { 2, 2, offsetof (LkDispenserStatus, jam) },
  { 2, 1, offsetof (LkDispenserStatus, low_stock) },
  { 3, 8, offsetof (LkDispenserStatus, hopper_empty) },
  { 3, 4, offsetof (LkDispenserStatus, sensor3) },
  { 3, 2, offsetof (LkDispenserStatus, sensor2) },
  { 3, 1, offsetof (LkDispenserStatus, sensor1) },
};

static gboolean
status_field (const LkDispenserStatus *status,
              gsize                    offset)
{
  return *(const gboolean *) ((const guint8 *) status + offset);
}

static void
test_status_every_bit (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (status_bits); i++)
    {
      guint8 chars[4] = { '0', '0', '0', '0' };
      guint8 encoded[4];
      LkDispenserStatus status;
      g_autoptr(GError) error = NULL;

      chars[status_bits[i].byte] = "0123456789ABCDEF"[status_bits[i].value];
      g_assert_true (lk_k7x0_status_decode (chars, &status, &error));
      g_assert_no_error (error);

      for (guint j = 0; j < G_N_ELEMENTS (status_bits); j++)
        {
          if (status_field (&status, status_bits[j].offset) != (i == j))
            g_error ("status %.4s: bit %u decoded as bit %u", (const char *) chars, i, j);
        }

      lk_k7x0_status_encode (&status, encoded);
      g_assert_cmpmem (encoded, 4, chars, 4);
    }
}

static void
test_status_examples (void)
{
  LkDispenserStatus status;
  g_auto(GStrv) faults = NULL;
  g_autoptr(GError) error = NULL;

  /* DISPENSER.md: 30 30 30 38 = hopper empty */
  g_assert_true (lk_k7x0_status_decode ((const guint8 *) "0008", &status, &error));
  g_assert_true (status.hopper_empty);
  g_assert_false (lk_dispenser_status_can_issue (&status));
  g_assert_cmpstr (lk_dispenser_status_stock (&status), ==, "empty");

  /* 30 30 32 30 = jam */
  g_assert_true (lk_k7x0_status_decode ((const guint8 *) "0020", &status, &error));
  g_assert_true (status.jam);
  faults = lk_dispenser_status_faults (&status);
  g_assert_true (g_strv_contains ((const char * const *) faults, LK_DISPENSER_FAULT_JAM));
  g_assert_cmpuint (g_strv_length (faults), ==, 1);
  g_clear_pointer (&faults, g_strfreev);

  /* 30 30 31 30 = low stock, which still issues */
  g_assert_true (lk_k7x0_status_decode ((const guint8 *) "0010", &status, &error));
  g_assert_true (status.low_stock);
  g_assert_true (lk_dispenser_status_can_issue (&status));
  g_assert_cmpstr (lk_dispenser_status_stock (&status), ==, "low");

  /* the read/write position is sensor LK_K7X0_SENSOR_READ_POSITION (3) */
  g_assert_cmpint (LK_K7X0_SENSOR_READ_POSITION, ==, 3);
  g_assert_true (lk_k7x0_status_decode ((const guint8 *) "0004", &status, &error));
  g_assert_true (status.card_at_read_position);
  g_assert_true (status.card_in_channel);
  g_assert_true (lk_k7x0_status_decode ((const guint8 *) "0001", &status, &error));
  g_assert_false (status.card_at_read_position);
  g_assert_true (status.card_in_channel);

  /* reject box full */
  g_assert_true (lk_k7x0_status_decode ((const guint8 *) "8000", &status, &error));
  faults = lk_dispenser_status_faults (&status);
  g_assert_true (g_strv_contains ((const char * const *) faults,
                                  LK_DISPENSER_FAULT_REJECT_FULL));
  g_assert_false (lk_dispenser_status_can_issue (&status));

  /* lower-case hex is accepted, raw keeps the upper-case form */
  g_assert_true (lk_k7x0_status_decode ((const guint8 *) "f00a", &status, &error));
  g_assert_cmpstr (status.raw, ==, "F00A");
  g_assert_true (status.reject_full && status.cannot_execute && status.hopper_empty);
}

static void
test_status_round_trip (void)
{
  for (guint value = 0; value <= 0xFFFF; value++)
    {
      guint8 chars[4], back[4];
      LkDispenserStatus status;

      for (guint i = 0; i < 4; i++)
        chars[i] = "0123456789ABCDEF"[(value >> (12 - 4 * i)) & 0xF];
      g_assert_true (lk_k7x0_status_decode (chars, &status, NULL));
      lk_k7x0_status_encode (&status, back);
      if (memcmp (chars, back, 4) != 0)
        g_error ("status %.4s encodes back as %.4s", (const char *) chars, (const char *) back);
    }
}

static void
test_status_invalid (void)
{
  LkDispenserStatus status;
  g_autoptr(GError) error = NULL;

  g_assert_false (lk_k7x0_status_decode ((const guint8 *) "00G0", &status, &error));
  g_assert_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_PROTOCOL);
}

static void
push_all (LkK7x0Parser *parser,
          GByteArray   *bytes)
{
  lk_k7x0_parser_push (parser, bytes->data, bytes->len);
}

static void
test_parser_partial (void)
{
  g_autoptr(LkK7x0Parser) parser = lk_k7x0_parser_new ();
  g_autoptr(GByteArray) frame = build_reply ("P\x3b\x33" "0123456789abcdef", 19);
  LkK7x0Token token;

  /* One byte at a time: nothing until the last byte. */
  for (guint i = 0; i < frame->len; i++)
    {
      lk_k7x0_parser_push (parser, &frame->data[i], 1);
      if (i + 1 < frame->len)
        {
          g_assert_false (lk_k7x0_parser_next (parser, &token));
          g_assert_cmpuint (lk_k7x0_parser_get_pending (parser), ==, i + 1);
        }
    }
  g_assert_true (lk_k7x0_parser_next (parser, &token));
  g_assert_cmpint (token.kind, ==, LK_K7X0_TOKEN_FRAME);
  g_assert_cmpmem (g_bytes_get_data (token.frame, NULL), g_bytes_get_size (token.frame),
                   frame->data, frame->len);
  lk_k7x0_token_clear (&token);
  g_assert_false (lk_k7x0_parser_next (parser, &token));
  g_assert_cmpuint (lk_k7x0_parser_get_skipped (parser), ==, 0);

  /* An ACK split over two reads */
  lk_k7x0_parser_push (parser, (const guint8 *) "\x06" "0", 2);
  g_assert_false (lk_k7x0_parser_next (parser, &token));
  lk_k7x0_parser_push (parser, (const guint8 *) "0", 1);
  g_assert_true (lk_k7x0_parser_next (parser, &token));
  g_assert_cmpint (token.kind, ==, LK_K7X0_TOKEN_ACK);
  g_assert_cmpuint (token.address, ==, 0);

  /* reset drops a partial token */
  lk_k7x0_parser_push (parser, frame->data, 5);
  lk_k7x0_parser_reset (parser);
  g_assert_cmpuint (lk_k7x0_parser_get_pending (parser), ==, 0);
}

static void
test_parser_noise (void)
{
  g_autoptr(LkK7x0Parser) parser = lk_k7x0_parser_new ();
  g_autoptr(GByteArray) status = build_reply ("SF0008", 6);
  g_autoptr(GByteArray) bad = build_reply ("SF0000", 6);
  g_autoptr(GByteArray) command = lk_k7x0_frame_build (12, (const guint8 *) "CP", 2);
  const guint8 noise[] = { 0xFF, 0x00, 0x41, 0x03, 0x06, 0x41, 0x02, 0x30, 0x7A };
  const guint8 controls[] = { 0x15, 0x30, 0x30, 0x05, 0x31, 0x32, 0x04, 0x30, 0x30 };
  const guint8 long_len[] = { 0x02, 0x30, 0x30, 0xFF, 0xFF };
  LkK7x0Token token;

  bad->data[bad->len - 1] ^= 0x5A;

  lk_k7x0_parser_push (parser, noise, sizeof noise);
  push_all (parser, status);
  lk_k7x0_parser_push (parser, long_len, sizeof long_len);
  lk_k7x0_parser_push (parser, noise, 3);
  push_all (parser, bad);
  lk_k7x0_parser_push (parser, controls, sizeof controls);
  push_all (parser, command);

  g_assert_true (lk_k7x0_parser_next (parser, &token));
  g_assert_cmpint (token.kind, ==, LK_K7X0_TOKEN_FRAME);
  g_assert_cmpmem (g_bytes_get_data (token.frame, NULL), g_bytes_get_size (token.frame),
                   status->data, status->len);
  lk_k7x0_token_clear (&token);

  g_assert_true (lk_k7x0_parser_next (parser, &token));
  g_assert_cmpint (token.kind, ==, LK_K7X0_TOKEN_BAD_FRAME);
  lk_k7x0_token_clear (&token);

  g_assert_true (lk_k7x0_parser_next (parser, &token));
  g_assert_cmpint (token.kind, ==, LK_K7X0_TOKEN_NAK);
  g_assert_true (lk_k7x0_parser_next (parser, &token));
  g_assert_cmpint (token.kind, ==, LK_K7X0_TOKEN_ENQ);
  g_assert_cmpuint (token.address, ==, 12);
  g_assert_true (lk_k7x0_parser_next (parser, &token));
  g_assert_cmpint (token.kind, ==, LK_K7X0_TOKEN_EOT);

  g_assert_true (lk_k7x0_parser_next (parser, &token));
  g_assert_cmpint (token.kind, ==, LK_K7X0_TOKEN_FRAME);
  g_assert_cmpuint (token.address, ==, 12);
  lk_k7x0_token_clear (&token);

  g_assert_false (lk_k7x0_parser_next (parser, &token));
  g_assert_cmpuint (lk_k7x0_parser_get_pending (parser), ==, 0);
  /* every noise byte was skipped, and counted */
  g_assert_cmpuint (lk_k7x0_parser_get_skipped (parser), ==,
                    sizeof noise + sizeof long_len + 3);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/k7x0/frame/worked-frames", test_worked_frames);
  g_test_add_func ("/k7x0/frame/address", test_address);
  g_test_add_func ("/k7x0/frame/limits", test_frame_limits);
  g_test_add_func ("/k7x0/frame/motion-commands", test_motion_commands);
  g_test_add_func ("/k7x0/reply/parse", test_reply_parse);
  g_test_add_func ("/k7x0/command/parse", test_command_parse);
  g_test_add_func ("/k7x0/status/every-bit", test_status_every_bit);
  g_test_add_func ("/k7x0/status/examples", test_status_examples);
  g_test_add_func ("/k7x0/status/round-trip", test_status_round_trip);
  g_test_add_func ("/k7x0/status/invalid", test_status_invalid);
  g_test_add_func ("/k7x0/parser/partial", test_parser_partial);
  g_test_add_func ("/k7x0/parser/noise", test_parser_noise);

  return g_test_run ();
}
