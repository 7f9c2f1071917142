/* lk-k7x0-frame.c: the bytes of the TTCE K720/K730/K750 protocol
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "lk-k7x0-frame.h"

struct _LkK7x0Parser
{
  GByteArray *buffer;
  gsize       skipped;
};

static gboolean
is_digit (guint8 c)
{
  return c >= '0' && c <= '9';
}

static gboolean
is_control (guint8 c)
{
  return c == LK_K7X0_ACK || c == LK_K7X0_NAK || c == LK_K7X0_ENQ || c == LK_K7X0_EOT;
}

static int
hex_nibble (guint8 c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

const char *
lk_k7x0_error_code_to_string (guint8 code)
{
  switch (code)
    {
    case LK_K7X0_ERR_UNDEFINED_COMMAND:
      return "undefined command";
    case LK_K7X0_ERR_PARAMETER:
      return "parameter error";
    case LK_K7X0_ERR_DATA:
      return "data error";
    case LK_K7X0_ERR_CANNOT_EXECUTE:
      return "cannot execute";
    case LK_K7X0_ERR_FAILED:
      return "failed";
    case LK_K7X0_ERR_SEARCH_FAILED:
      return "card search failed";
    case LK_K7X0_ERR_UID_FAILED:
      return "UID read failed";
    case LK_K7X0_ERR_KEY_FAILED:
      return "key check failed";
    case LK_K7X0_ERR_READ_FAILED:
      return "read failed";
    case LK_K7X0_ERR_WRITE_FAILED:
      return "write failed";
    default:
      return "unknown error";
    }
}

gboolean
lk_k7x0_is_motion_command (const guint8 *payload,
                           gsize         len)
{
  static const char * const motion[] = { "DC", "CP", "DB", "RS", "FC", "CS" };

  if (payload == NULL || len < 2)
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (motion); i++)
    if (payload[0] == (guint8) motion[i][0] && payload[1] == (guint8) motion[i][1])
      return TRUE;

  return FALSE;
}

guint8
lk_k7x0_bcc (const guint8 *data,
             gsize         len)
{
  guint8 bcc = 0;

  for (gsize i = 0; i < len; i++)
    bcc ^= data[i];

  return bcc;
}

gboolean
lk_k7x0_address_digits (guint  address,
                        guint8 digits[2])
{
  if (address > LK_K7X0_MAX_ADDRESS)
    return FALSE;

  digits[0] = '0' + address / 10;
  digits[1] = '0' + address % 10;
  return TRUE;
}

GByteArray *
lk_k7x0_frame_build (guint         address,
                     const guint8 *payload,
                     gsize         len)
{
  GByteArray *frame;
  guint8 head[5];
  guint8 tail[2];

  g_return_val_if_fail (payload != NULL || len == 0, NULL);

  if (len < 2 || len > LK_K7X0_MAX_PAYLOAD)
    return NULL;

  head[0] = LK_K7X0_STX;
  if (!lk_k7x0_address_digits (address, &head[1]))
    return NULL;
  head[3] = (len >> 8) & 0xff;
  head[4] = len & 0xff;

  frame = g_byte_array_sized_new (len + LK_K7X0_FRAME_OVERHEAD);
  g_byte_array_append (frame, head, sizeof head);
  g_byte_array_append (frame, payload, len);
  tail[0] = LK_K7X0_ETX;
  g_byte_array_append (frame, tail, 1);
  tail[1] = lk_k7x0_bcc (frame->data, frame->len);
  g_byte_array_append (frame, &tail[1], 1);

  return frame;
}

void
lk_k7x0_control_build (guint8 control,
                       guint  address,
                       guint8 out[3])
{
  out[0] = control;
  if (!lk_k7x0_address_digits (address, &out[1]))
    out[1] = out[2] = '0';
}

static gboolean
frame_header (const guint8  *frame,
              gsize          len,
              guint         *address,
              const guint8 **payload,
              gsize         *payload_len,
              GError       **error)
{
  gsize declared;

  if (len < LK_K7X0_FRAME_OVERHEAD + 2 || frame[0] != LK_K7X0_STX
      || !is_digit (frame[1]) || !is_digit (frame[2]))
    {
      g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_PROTOCOL,
                   "Not a K7X0 frame (%" G_GSIZE_FORMAT " bytes)", len);
      return FALSE;
    }

  declared = ((gsize) frame[3] << 8) | frame[4];
  if (declared + LK_K7X0_FRAME_OVERHEAD != len || frame[len - 2] != LK_K7X0_ETX)
    {
      g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_PROTOCOL,
                   "K7X0 frame length %" G_GSIZE_FORMAT " does not match its %" G_GSIZE_FORMAT
                   " bytes", declared, len);
      return FALSE;
    }

  if (lk_k7x0_bcc (frame, len - 1) != frame[len - 1])
    {
      g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_PROTOCOL,
                   "K7X0 frame BCC mismatch");
      return FALSE;
    }

  *address = (frame[1] - '0') * 10 + (frame[2] - '0');
  *payload = frame + 5;
  *payload_len = declared;
  return TRUE;
}

gboolean
lk_k7x0_reply_parse (const guint8 *frame,
                     gsize         len,
                     LkK7x0Reply  *reply,
                     GError      **error)
{
  const guint8 *payload;
  gsize payload_len;

  g_return_val_if_fail (reply != NULL, FALSE);

  memset (reply, 0, sizeof *reply);
  if (!frame_header (frame, len, &reply->address, &payload, &payload_len, error))
    return FALSE;

  if (payload_len == 6 && payload[0] == 'S' && payload[1] == 'F')
    {
      reply->kind = LK_K7X0_REPLY_KIND_STATUS;
      reply->cm = 'S';
      reply->pm = 'F';
      reply->data = payload + 2;
      reply->data_len = 4;
      return TRUE;
    }

  if (payload_len >= 3 && payload[0] == LK_K7X0_REPLY_POSITIVE)
    {
      reply->kind = LK_K7X0_REPLY_KIND_POSITIVE;
      reply->cm = payload[1];
      reply->pm = payload[2];
      reply->data = payload + 3;
      reply->data_len = payload_len - 3;
      return TRUE;
    }

  if (payload_len >= 4 && payload[0] == LK_K7X0_REPLY_NEGATIVE)
    {
      reply->kind = LK_K7X0_REPLY_KIND_NEGATIVE;
      reply->cm = payload[1];
      reply->pm = payload[2];
      reply->error_code = payload[3];
      reply->data = payload + 3;
      reply->data_len = payload_len - 3;
      return TRUE;
    }

  g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_PROTOCOL,
               "K7X0 reply is neither P, N nor a status frame");
  return FALSE;
}

gboolean
lk_k7x0_command_parse (const guint8  *frame,
                       gsize          len,
                       guint         *address,
                       const guint8 **payload,
                       gsize         *payload_len,
                       GError       **error)
{
  g_return_val_if_fail (address != NULL && payload != NULL && payload_len != NULL, FALSE);

  return frame_header (frame, len, address, payload, payload_len, error);
}

gboolean
lk_k7x0_status_decode (const guint8       chars[4],
                       LkDispenserStatus *status,
                       GError           **error)
{
  int n[4];

  g_return_val_if_fail (status != NULL, FALSE);

  for (guint i = 0; i < 4; i++)
    {
      n[i] = hex_nibble (chars[i]);
      if (n[i] < 0)
        {
          g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_PROTOCOL,
                       "Status byte %u is not a hex digit (0x%02x)", i + 1, chars[i]);
          return FALSE;
        }
    }

  memset (status, 0, sizeof *status);
  for (guint i = 0; i < 4; i++)
    status->raw[i] = g_ascii_toupper (chars[i]);

  status->reject_full = (n[0] & 8) != 0;
  status->cannot_execute = (n[0] & 4) != 0;
  status->unused_bit = (n[0] & 2) != 0;
  status->hopper_pre_full = (n[0] & 1) != 0;

  status->dispensing = (n[1] & 8) != 0;
  status->capturing = (n[1] & 4) != 0;
  status->dispense_error = (n[1] & 2) != 0;
  status->capture_error = (n[1] & 1) != 0;

  status->hopper_full = (n[2] & 8) != 0;
  status->cards_overlapped = (n[2] & 4) != 0;
  status->jam = (n[2] & 2) != 0;
  status->low_stock = (n[2] & 1) != 0;

  status->hopper_empty = (n[3] & 8) != 0;
  status->sensor3 = (n[3] & 4) != 0;
  status->sensor2 = (n[3] & 2) != 0;
  status->sensor1 = (n[3] & 1) != 0;

  status->card_in_channel = status->sensor1 || status->sensor2 || status->sensor3;
#if LK_K7X0_SENSOR_READ_POSITION == 3
  status->card_at_read_position = status->sensor3;
#elif LK_K7X0_SENSOR_READ_POSITION == 2
  status->card_at_read_position = status->sensor2;
#else
  status->card_at_read_position = status->sensor1;
#endif

  return TRUE;
}

void
lk_k7x0_status_encode (const LkDispenserStatus *status,
                       guint8                   chars[4])
{
  static const char hex[] = "0123456789ABCDEF";
  guint n[4];

  n[0] = (status->reject_full ? 8 : 0) | (status->cannot_execute ? 4 : 0)
         | (status->unused_bit ? 2 : 0) | (status->hopper_pre_full ? 1 : 0);
  n[1] = (status->dispensing ? 8 : 0) | (status->capturing ? 4 : 0)
         | (status->dispense_error ? 2 : 0) | (status->capture_error ? 1 : 0);
  n[2] = (status->hopper_full ? 8 : 0) | (status->cards_overlapped ? 4 : 0)
         | (status->jam ? 2 : 0) | (status->low_stock ? 1 : 0);
  n[3] = (status->hopper_empty ? 8 : 0) | (status->sensor3 ? 4 : 0)
         | (status->sensor2 ? 2 : 0) | (status->sensor1 ? 1 : 0);

  for (guint i = 0; i < 4; i++)
    chars[i] = hex[n[i]];
}

void
lk_k7x0_token_clear (LkK7x0Token *token)
{
  g_clear_pointer (&token->frame, g_bytes_unref);
}

LkK7x0Parser *
lk_k7x0_parser_new (void)
{
  LkK7x0Parser *parser = g_new0 (LkK7x0Parser, 1);

  parser->buffer = g_byte_array_sized_new (LK_K7X0_MAX_FRAME);
  return parser;
}

void
lk_k7x0_parser_free (LkK7x0Parser *parser)
{
  if (parser == NULL)
    return;

  g_byte_array_unref (parser->buffer);
  g_free (parser);
}

void
lk_k7x0_parser_push (LkK7x0Parser *parser,
                     const guint8 *data,
                     gsize         len)
{
  g_byte_array_append (parser->buffer, data, len);
}

static void
parser_skip (LkK7x0Parser *parser,
             gsize         n)
{
  g_byte_array_remove_range (parser->buffer, 0, n);
  parser->skipped += n;
}

gboolean
lk_k7x0_parser_next (LkK7x0Parser *parser,
                     LkK7x0Token  *token)
{
  g_return_val_if_fail (parser != NULL && token != NULL, FALSE);

  memset (token, 0, sizeof *token);

  while (parser->buffer->len > 0)
    {
      const guint8 *b = parser->buffer->data;
      gsize avail = parser->buffer->len;

      if (is_control (b[0]))
        {
          if ((avail >= 2 && !is_digit (b[1])) || (avail >= 3 && !is_digit (b[2])))
            {
              parser_skip (parser, 1);
              continue;
            }
          if (avail < 3)
            return FALSE;

          switch (b[0])
            {
            case LK_K7X0_ACK:
              token->kind = LK_K7X0_TOKEN_ACK;
              break;
            case LK_K7X0_NAK:
              token->kind = LK_K7X0_TOKEN_NAK;
              break;
            case LK_K7X0_ENQ:
              token->kind = LK_K7X0_TOKEN_ENQ;
              break;
            default:
              token->kind = LK_K7X0_TOKEN_EOT;
              break;
            }
          token->address = (b[1] - '0') * 10 + (b[2] - '0');
          g_byte_array_remove_range (parser->buffer, 0, 3);
          return TRUE;
        }
      else if (b[0] == LK_K7X0_STX)
        {
          gsize declared, total;

          if ((avail >= 2 && !is_digit (b[1])) || (avail >= 3 && !is_digit (b[2])))
            {
              parser_skip (parser, 1);
              continue;
            }
          if (avail < 5)
            return FALSE;

          declared = ((gsize) b[3] << 8) | b[4];
          if (declared < 2 || declared > LK_K7X0_MAX_PAYLOAD)
            {
              parser_skip (parser, 1);
              continue;
            }

          total = declared + LK_K7X0_FRAME_OVERHEAD;
          if (avail < total)
            return FALSE;

          if (b[total - 2] != LK_K7X0_ETX)
            {
              parser_skip (parser, 1);
              continue;
            }

          token->kind = lk_k7x0_bcc (b, total - 1) == b[total - 1]
                        ? LK_K7X0_TOKEN_FRAME : LK_K7X0_TOKEN_BAD_FRAME;
          token->address = (b[1] - '0') * 10 + (b[2] - '0');
          token->frame = g_bytes_new (b, total);
          g_byte_array_remove_range (parser->buffer, 0, total);
          return TRUE;
        }
      else
        {
          parser_skip (parser, 1);
        }
    }

  return FALSE;
}

void
lk_k7x0_parser_reset (LkK7x0Parser *parser)
{
  g_byte_array_set_size (parser->buffer, 0);
}

gsize
lk_k7x0_parser_get_pending (LkK7x0Parser *parser)
{
  return parser->buffer->len;
}

gsize
lk_k7x0_parser_get_skipped (LkK7x0Parser *parser)
{
  return parser->skipped;
}
