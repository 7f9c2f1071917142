/* lk-k7x0-link.c: the ACK/NAK/ENQ handshake and resends
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "lk-k7x0-frame.h"
#include "lk-k7x0-link.h"

struct _LkK7x0Link
{
  LkTransport  *transport;
  LkK7x0Parser *parser;
  guint         address;
  guint         reply_timeout_ms;
  guint         resends;
  gboolean      transport_failed;

  /* the motion command in flight, for a reply that some firmware sends */
  guint8        motion_cm;
  guint8        motion_pm;
  gboolean      motion_pending;
  gboolean      motion_answered;
  gboolean      motion_positive;
  guint8        motion_error;
};

typedef enum
{
  WAIT_GOT,
  WAIT_TIMEOUT,
  WAIT_FAILED,
} WaitResult;

static gboolean
cancelled_error (GCancellable  *cancellable,
                 GError       **error)
{
  if (g_cancellable_is_cancelled (cancellable))
    {
      g_set_error_literal (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_CANCELLED,
                           "Cancelled");
      return TRUE;
    }
  return FALSE;
}

/* A reply frame that does not answer the command we wait for: late answers to a motion. */
static void
note_stray_frame (LkK7x0Link *link,
                  GBytes     *frame)
{
  LkK7x0Reply reply;
  gsize len;
  const guint8 *data = g_bytes_get_data (frame, &len);

  if (!lk_k7x0_reply_parse (data, len, &reply, NULL) || reply.address != link->address)
    return;

  if (link->motion_pending && reply.kind != LK_K7X0_REPLY_KIND_STATUS
      && reply.cm == link->motion_cm && reply.pm == link->motion_pm)
    {
      link->motion_answered = TRUE;
      link->motion_positive = reply.kind == LK_K7X0_REPLY_KIND_POSITIVE;
      link->motion_error = reply.error_code;
      return;
    }

  g_debug ("K7X0: ignoring a stray reply frame (%" G_GSIZE_FORMAT " bytes)", len);
}

/* Reads tokens until @want says yes, or the deadline. */
static WaitResult
wait_token (LkK7x0Link    *link,
            gboolean     (*want) (LkK7x0Link *, LkK7x0Token *, gpointer),
            gpointer       want_data,
            gint64         deadline,
            LkK7x0Token   *out,
            GError       **error)
{
  for (;;)
    {
      guint8 buffer[256];
      gssize n;
      g_autoptr(GError) local_error = NULL;

      while (lk_k7x0_parser_next (link->parser, out))
        {
          if (out->address == link->address && want (link, out, want_data))
            return WAIT_GOT;
          if (out->kind == LK_K7X0_TOKEN_FRAME)
            note_stray_frame (link, out->frame);
          lk_k7x0_token_clear (out);
        }

      n = lk_transport_read (link->transport, buffer, sizeof buffer, deadline, &local_error);
      if (n < 0)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
            {
              /* A partial token will not be finished: the device voids it too. */
              lk_k7x0_parser_reset (link->parser);
              return WAIT_TIMEOUT;
            }
          link->transport_failed = TRUE;
          g_propagate_error (error, g_steal_pointer (&local_error));
          return WAIT_FAILED;
        }
      lk_k7x0_parser_push (link->parser, buffer, n);
    }
}

static gboolean
want_ack_or_nak (LkK7x0Link  *link,
                 LkK7x0Token *token,
                 gpointer     data)
{
  return token->kind == LK_K7X0_TOKEN_ACK || token->kind == LK_K7X0_TOKEN_NAK;
}

static gboolean
want_reply (LkK7x0Link  *link,
            LkK7x0Token *token,
            gpointer     data)
{
  const guint8 *payload = data;
  LkK7x0Reply reply;
  gsize len;
  const guint8 *bytes;

  if (token->kind == LK_K7X0_TOKEN_BAD_FRAME)
    return TRUE;
  if (token->kind != LK_K7X0_TOKEN_FRAME)
    return FALSE;

  bytes = g_bytes_get_data (token->frame, &len);
  if (!lk_k7x0_reply_parse (bytes, len, &reply, NULL))
    return FALSE;

  if (payload[0] == 'A' && payload[1] == 'P')
    return reply.kind == LK_K7X0_REPLY_KIND_STATUS;

  return reply.kind != LK_K7X0_REPLY_KIND_STATUS && reply.cm == payload[0]
         && reply.pm == payload[1];
}

static gboolean
link_write (LkK7x0Link    *link,
            const guint8  *data,
            gsize          len,
            GError       **error)
{
  if (lk_transport_write_all (link->transport, data, len, error))
    return TRUE;

  link->transport_failed = TRUE;
  return FALSE;
}

static gboolean
send_control (LkK7x0Link  *link,
              guint8       control,
              GError     **error)
{
  guint8 bytes[3];

  lk_k7x0_control_build (control, link->address, bytes);
  return link_write (link, bytes, sizeof bytes, error);
}

LkK7x0Link *
lk_k7x0_link_new (LkTransport *transport,
                  guint        address)
{
  LkK7x0Link *link = g_new0 (LkK7x0Link, 1);

  link->transport = g_object_ref (transport);
  link->parser = lk_k7x0_parser_new ();
  link->address = address;
  link->reply_timeout_ms = 1000;
  return link;
}

void
lk_k7x0_link_free (LkK7x0Link *link)
{
  if (link == NULL)
    return;

  g_clear_object (&link->transport);
  g_clear_pointer (&link->parser, lk_k7x0_parser_free);
  g_free (link);
}

void
lk_k7x0_link_set_reply_timeout_ms (LkK7x0Link *link,
                                   guint       timeout_ms)
{
  link->reply_timeout_ms = timeout_ms;
}

gboolean
lk_k7x0_link_exchange (LkK7x0Link    *link,
                       const guint8  *payload,
                       gsize          len,
                       GBytes       **reply,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(GByteArray) frame = NULL;
  gboolean motion;
  guint naks = 0;
  guint silences = 0;
  guint bad_replies = 0;

  g_return_val_if_fail (link != NULL && payload != NULL && len >= 2, FALSE);

  if (reply != NULL)
    *reply = NULL;

  frame = lk_k7x0_frame_build (link->address, payload, len);
  if (frame == NULL)
    {
      g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_CONFIG,
                   "Cannot build a frame for address %u and %" G_GSIZE_FORMAT " bytes",
                   link->address, len);
      return FALSE;
    }

  motion = lk_k7x0_is_motion_command (payload, len);

  for (guint attempt = 0; ; attempt++)
    {
      LkK7x0Token token;
      WaitResult waited;
      gint64 deadline;

      if (attempt > LK_K7X0_MAX_RESENDS)
        {
          if (naks > 0 && silences == 0 && bad_replies == 0)
            g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_NAK,
                         "The dispenser refused the %c%c frame %u times", payload[0],
                         payload[1], naks);
          else if (bad_replies > 0 && silences == 0)
            g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_PROTOCOL,
                         "The dispenser answered %c%c with corrupt frames", payload[0],
                         payload[1]);
          else
            g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_SILENT,
                         "The dispenser did not answer %c%c (%u tries of %u ms)", payload[0],
                         payload[1], attempt, link->reply_timeout_ms);
          return FALSE;
        }

      if (cancelled_error (cancellable, error))
        return FALSE;

      if (attempt > 0)
        link->resends++;

      if (!link_write (link, frame->data, frame->len, error))
        return FALSE;

      deadline = g_get_monotonic_time () + (gint64) link->reply_timeout_ms * 1000;
      waited = wait_token (link, want_ack_or_nak, NULL, deadline, &token, error);
      if (waited == WAIT_FAILED)
        return FALSE;
      if (waited == WAIT_TIMEOUT)
        {
          silences++;
          continue;
        }
      if (token.kind == LK_K7X0_TOKEN_NAK)
        {
          g_debug ("K7X0: %c%c NAKed, sending it again", payload[0], payload[1]);
          naks++;
          continue;
        }

      /* Between ACK and ENQ the command can still be called off: EOT cancels it. */
      if (g_cancellable_is_cancelled (cancellable))
        {
          if (!send_control (link, LK_K7X0_EOT, error))
            return FALSE;
          return !cancelled_error (cancellable, error);
        }

      if (motion)
        {
          /* From the ENQ on, the motion runs: it is never sent again. */
          link->motion_pending = TRUE;
          link->motion_answered = FALSE;
          link->motion_cm = payload[0];
          link->motion_pm = payload[1];
        }

      if (!send_control (link, LK_K7X0_ENQ, error))
        return FALSE;

      if (motion)
        return TRUE;

      deadline = g_get_monotonic_time () + (gint64) link->reply_timeout_ms * 1000;
      waited = wait_token (link, want_reply, (gpointer) payload, deadline, &token, error);
      if (waited == WAIT_FAILED)
        return FALSE;
      if (waited == WAIT_TIMEOUT)
        {
          silences++;
          continue;
        }
      if (token.kind == LK_K7X0_TOKEN_BAD_FRAME)
        {
          /* Every command that is not a motion is safe to run again. */
          g_debug ("K7X0: corrupt reply to %c%c, sending it again", payload[0], payload[1]);
          bad_replies++;
          lk_k7x0_token_clear (&token);
          continue;
        }

      if (reply != NULL)
        *reply = g_steal_pointer (&token.frame);
      lk_k7x0_token_clear (&token);
      return TRUE;
    }
}

gboolean
lk_k7x0_link_get_status (LkK7x0Link        *link,
                         LkDispenserStatus *status,
                         GCancellable      *cancellable,
                         GError           **error)
{
  g_autoptr(GBytes) frame = NULL;
  LkK7x0Reply reply;
  const guint8 *bytes;
  gsize len;

  if (!lk_k7x0_link_exchange (link, (const guint8 *) LK_K7X0_CMD_STATUS, 2, &frame,
                              cancellable, error))
    return FALSE;

  bytes = g_bytes_get_data (frame, &len);
  if (!lk_k7x0_reply_parse (bytes, len, &reply, error))
    return FALSE;

  return lk_k7x0_status_decode (reply.data, status, error);
}

gboolean
lk_k7x0_link_mifare (LkK7x0Link    *link,
                     guint8         pm,
                     const guint8  *data,
                     gsize          len,
                     guint8        *out,
                     gsize          out_len,
                     gsize         *out_got,
                     guint8        *device_error,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autoptr(GBytes) frame = NULL;
  guint8 payload[2 + 32];
  LkK7x0Reply reply;
  const guint8 *bytes;
  gsize frame_len;

  g_return_val_if_fail (len <= sizeof payload - 2, FALSE);

  if (out_got != NULL)
    *out_got = 0;

  payload[0] = LK_K7X0_CM_MIFARE_S50;
  payload[1] = pm;
  if (len > 0)
    memcpy (payload + 2, data, len);

  if (!lk_k7x0_link_exchange (link, payload, len + 2, &frame, cancellable, error))
    return FALSE;

  bytes = g_bytes_get_data (frame, &frame_len);
  if (!lk_k7x0_reply_parse (bytes, frame_len, &reply, error))
    return FALSE;

  if (reply.kind == LK_K7X0_REPLY_KIND_NEGATIVE)
    {
      if (device_error != NULL)
        *device_error = reply.error_code;
      g_set_error (error, LK_DISPENSER_ERROR, LK_DISPENSER_ERROR_DEVICE,
                   "Mifare command 0x%02x: %s (0x%02x)", pm,
                   lk_k7x0_error_code_to_string (reply.error_code), reply.error_code);
      return FALSE;
    }

  if (out != NULL)
    {
      gsize n = MIN (out_len, reply.data_len);

      memcpy (out, reply.data, n);
      if (out_got != NULL)
        *out_got = n;
    }

  return TRUE;
}

void
lk_k7x0_link_take_motion_reply (LkK7x0Link *link,
                                gboolean   *answered,
                                gboolean   *positive,
                                guint8     *error_code)
{
  *answered = link->motion_answered;
  *positive = link->motion_positive;
  *error_code = link->motion_error;

  if (link->motion_answered)
    {
      link->motion_pending = FALSE;
      link->motion_answered = FALSE;
    }
}

guint
lk_k7x0_link_get_resends (LkK7x0Link *link)
{
  return link->resends;
}

gboolean
lk_k7x0_link_get_transport_failed (LkK7x0Link *link)
{
  return link->transport_failed;
}
