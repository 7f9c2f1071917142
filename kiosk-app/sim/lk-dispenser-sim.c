/* lk-dispenser-sim.c: a K7X0 card dispenser on a pseudo-terminal
 *
 * All state lives on the simulator's own thread; other threads reach it through
 * sim_call_sync(), which runs a function there and waits for it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define _GNU_SOURCE

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>

#include "lk-dispenser-sim.h"
#include "lk-k7x0-frame.h"

#define SIM_BLOCKS 64
#define SIM_BLOCK_LEN 16

typedef enum
{
  POS_NONE,
  POS_READ,
  POS_MOUTH,
  POS_STUCK,
} Position;

typedef enum
{
  MOTION_IDLE,
  MOTION_DISPENSE,
  MOTION_EJECT,
  MOTION_HOLD,
  MOTION_CAPTURE,
  MOTION_RESET,
} Motion;

typedef struct
{
  guint8 uid[4];
  guint8 mem[SIM_BLOCKS][SIM_BLOCK_LEN];
} SimCard;

struct _LkDispenserSim
{
  GObject                parent_instance;

  LkDispenserSimOptions  options;
  GThread               *thread;
  GMainContext          *context;
  GMainLoop             *loop;
  GSource               *fd_source;
  int                    master_fd;
  int                    slave_fd;
  char                  *port;

  LkK7x0Parser          *parser;
  gint64                 last_byte_time;

  /* cards: all of them own here; the others point into it */
  GPtrArray             *cards;
  GQueue                 hopper;
  SimCard               *card;             /* in the channel */
  Position               position;
  guint                  rejected;
  GQueue                 reject_box;        /* the cards in it, since the last "clear" */
  guint                  taken;
  guint32                next_uid;

  /* protocol */
  GBytes                *pending;          /* ACKed frame waiting for ENQ */
  guint                  executed;
  guint                  naks_sent;
  gboolean               selected;
  int                    auth_sector;

  /* motion */
  Motion                 motion;
  GSource               *motion_source;
  GSource               *take_source;
  guint8                 motion_cm;
  guint8                 motion_pm;

  /* faults */
  gboolean               jam;
  gboolean               reject_forced_full;
  gboolean               cannot_execute;
  gboolean               dispense_error;
  gboolean               capture_error;
  gboolean               silent;
  gboolean               untaken_next;
  guint                  nak_remaining;
  guint                  fail_write_remaining;
  guint                  fail_read_remaining;
  guint                  noise_remaining;
  guint                  fail_dispense_remaining;
  guint                  corrupt_remaining;
};

G_DEFINE_FINAL_TYPE (LkDispenserSim, lk_dispenser_sim, G_TYPE_OBJECT)

typedef gpointer (*SimFunc) (LkDispenserSim *self,
                             gpointer        data);

typedef struct
{
  LkDispenserSim *self;
  SimFunc         func;
  gpointer        data;
  gpointer        ret;
  GMutex          mutex;
  GCond           cond;
  gboolean        done;
} SyncCall;

static const char *
position_to_string (Position position)
{
  switch (position)
    {
    case POS_READ:
      return "read";
    case POS_MOUTH:
      return "mouth";
    case POS_STUCK:
      return "stuck";
    default:
      return "none";
    }
}

static guint
sim_stock (LkDispenserSim *self)
{
  return g_queue_get_length (&self->hopper);
}

static gboolean
sim_reject_full (LkDispenserSim *self)
{
  return self->reject_forced_full || self->rejected >= self->options.reject_capacity;
}

static SimCard *
sim_card_new (LkDispenserSim *self)
{
  SimCard *card = g_new0 (SimCard, 1);
  guint32 uid = self->next_uid;

  /* Consecutive cards differ in every byte, so no test can pass on a partial UID. */
  self->next_uid += 0x01010101;

  card->uid[0] = uid >> 24;
  card->uid[1] = uid >> 16;
  card->uid[2] = uid >> 8;
  card->uid[3] = uid;

  /* block 0: UID, BCC, manufacturer data */
  memcpy (card->mem[0], card->uid, 4);
  card->mem[0][4] = card->uid[0] ^ card->uid[1] ^ card->uid[2] ^ card->uid[3];
  card->mem[0][5] = 0x08;
  card->mem[0][6] = 0x04;

  /* transport configuration: key A = key B = FF×6, access bits FF 07 80 69 */
  for (guint sector = 0; sector < SIM_BLOCKS / 4; sector++)
    {
      guint8 *trailer = card->mem[sector * 4 + 3];

      memset (trailer, 0xFF, 6);
      trailer[6] = 0xFF;
      trailer[7] = 0x07;
      trailer[8] = 0x80;
      trailer[9] = 0x69;
      memset (trailer + 10, 0xFF, 6);
    }

  g_ptr_array_add (self->cards, card);
  return card;
}

static void
sim_status (LkDispenserSim    *self,
            LkDispenserStatus *st)
{
  guint stock = sim_stock (self);

  memset (st, 0, sizeof *st);
  st->reject_full = sim_reject_full (self);
  st->cannot_execute = self->cannot_execute;
  st->hopper_pre_full = stock * 10 >= self->options.hopper_capacity * 9;
  st->dispensing = self->motion == MOTION_DISPENSE || self->motion == MOTION_EJECT
                   || self->motion == MOTION_HOLD;
  st->capturing = self->motion == MOTION_CAPTURE;
  st->dispense_error = self->dispense_error;
  st->capture_error = self->capture_error;
  st->hopper_full = stock >= self->options.hopper_capacity;
  st->jam = self->jam;
  st->low_stock = stock <= self->options.low_threshold;
  st->hopper_empty = stock == 0;

  switch (self->position)
    {
    case POS_READ:
#if LK_K7X0_SENSOR_READ_POSITION == 3
      st->sensor3 = TRUE;
#elif LK_K7X0_SENSOR_READ_POSITION == 2
      st->sensor2 = TRUE;
#else
      st->sensor1 = TRUE;
#endif
      break;
    case POS_MOUTH:
#if LK_K7X0_SENSOR_MOUTH == 1
      st->sensor1 = TRUE;
#elif LK_K7X0_SENSOR_MOUTH == 2
      st->sensor2 = TRUE;
#else
      st->sensor3 = TRUE;
#endif
      break;
    case POS_STUCK:
      st->sensor2 = TRUE;
      break;
    default:
      break;
    }
}

static void
sim_write (LkDispenserSim *self,
           const guint8   *data,
           gsize           len)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t n = write (self->master_fd, data + done, len - done);

      if (n > 0)
        done += n;
      else if (n < 0 && errno == EINTR)
        continue;
      else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          struct pollfd pfd = { self->master_fd, POLLOUT, 0 };

          if (poll (&pfd, 1, 1000) <= 0)
            {
              g_warning ("sim: the pty does not drain; %" G_GSIZE_FORMAT " bytes lost",
                         len - done);
              return;
            }
        }
      else
        {
          g_warning ("sim: writing to the pty failed: %s", g_strerror (errno));
          return;
        }
    }
}

/* Line noise: bytes that start no K7X0 token, sent before the next few answers. */
static void
sim_maybe_noise (LkDispenserSim *self)
{
  static const guint8 noise[] = { 0xFF, 0x00, 0x7E, 0x30, 0x41, 0x03, 0x80 };

  if (self->noise_remaining == 0)
    return;
  self->noise_remaining--;
  sim_write (self, noise, sizeof noise);
}

static void
sim_send_control (LkDispenserSim *self,
                  guint8          control)
{
  guint8 bytes[3];

  lk_k7x0_control_build (control, self->options.address, bytes);
  sim_maybe_noise (self);
  sim_write (self, bytes, sizeof bytes);
}

static void
sim_send_payload (LkDispenserSim *self,
                  const guint8   *payload,
                  gsize           len)
{
  g_autoptr(GByteArray) frame = lk_k7x0_frame_build (self->options.address, payload, len);

  if (frame == NULL)
    return;

  if (self->corrupt_remaining > 0)
    {
      self->corrupt_remaining--;
      frame->data[frame->len - 1] ^= 0x5A;
    }
  sim_maybe_noise (self);
  sim_write (self, frame->data, frame->len);
}

static void
sim_reply_positive (LkDispenserSim *self,
                    guint8          cm,
                    guint8          pm,
                    const guint8   *data,
                    gsize           len)
{
  guint8 payload[3 + 32];

  payload[0] = LK_K7X0_REPLY_POSITIVE;
  payload[1] = cm;
  payload[2] = pm;
  if (len > 0)
    memcpy (payload + 3, data, MIN (len, sizeof payload - 3));
  sim_send_payload (self, payload, 3 + MIN (len, sizeof payload - 3));
}

static void
sim_reply_negative (LkDispenserSim *self,
                    guint8          cm,
                    guint8          pm,
                    guint8          code)
{
  guint8 payload[4] = { LK_K7X0_REPLY_NEGATIVE, cm, pm, code };

  sim_send_payload (self, payload, sizeof payload);
}

static void
sim_reply_status (LkDispenserSim *self)
{
  LkDispenserStatus st;
  guint8 payload[6] = { 'S', 'F' };

  sim_status (self, &st);
  lk_k7x0_status_encode (&st, payload + 2);
  sim_send_payload (self, payload, sizeof payload);
}

static void
sim_motion_reply (LkDispenserSim *self,
                  gboolean        ok,
                  guint8          code)
{
  if (!self->options.reply_motion)
    return;

  if (ok)
    sim_reply_positive (self, self->motion_cm, self->motion_pm, NULL, 0);
  else
    sim_reply_negative (self, self->motion_cm, self->motion_pm, code);
}

static gboolean
on_take_timeout_cb (gpointer data)
{
  LkDispenserSim *self = data;

  g_clear_pointer (&self->take_source, g_source_unref);
  if (self->position == POS_MOUTH && self->motion == MOTION_IDLE)
    {
      self->position = POS_NONE;
      self->card = NULL;
      self->taken++;
    }
  return G_SOURCE_REMOVE;
}

static void
sim_cancel_take (LkDispenserSim *self)
{
  if (self->take_source != NULL)
    {
      g_source_destroy (self->take_source);
      g_clear_pointer (&self->take_source, g_source_unref);
    }
}

static void
sim_schedule_take (LkDispenserSim *self)
{
  sim_cancel_take (self);

  if (self->untaken_next)
    {
      self->untaken_next = FALSE;
      return;
    }
  if (self->options.auto_take_ms < 0)
    return;

  self->take_source = g_timeout_source_new (self->options.auto_take_ms);
  g_source_set_callback (self->take_source, on_take_timeout_cb, self, NULL);
  g_source_attach (self->take_source, self->context);
}

static gboolean
on_motion_done_cb (gpointer data)
{
  LkDispenserSim *self = data;
  Motion motion = self->motion;

  g_clear_pointer (&self->motion_source, g_source_unref);

  /* A jam that came up while the card moved stops it half-way. */
  if (self->jam && motion != MOTION_RESET)
    {
      if (motion == MOTION_DISPENSE && self->card == NULL && sim_stock (self) > 0)
        self->card = g_queue_pop_head (&self->hopper);
      if (self->card != NULL)
        self->position = POS_STUCK;
      if (motion == MOTION_CAPTURE)
        self->capture_error = TRUE;
      else
        self->dispense_error = TRUE;
      sim_motion_reply (self, FALSE, LK_K7X0_ERR_FAILED);
      self->motion = MOTION_IDLE;
      return G_SOURCE_REMOVE;
    }

  /* The reply goes out before the state changes, so a host that polls sees it first. */
  sim_motion_reply (self, TRUE, 0);
  self->motion = MOTION_IDLE;

  switch (motion)
    {
    case MOTION_DISPENSE:
      self->card = g_queue_pop_head (&self->hopper);
      self->position = POS_READ;
      break;
    case MOTION_EJECT:
      self->position = POS_MOUTH;
      sim_schedule_take (self);
      break;
    case MOTION_HOLD:
      self->position = POS_MOUTH;
      break;
    case MOTION_CAPTURE:
      g_queue_push_tail (&self->reject_box, self->card);
      self->card = NULL;
      self->position = POS_NONE;
      self->rejected++;
      break;
    case MOTION_RESET:
    case MOTION_IDLE:
    default:
      break;
    }

  return G_SOURCE_REMOVE;
}

static void
sim_start_motion (LkDispenserSim *self,
                  Motion          motion)
{
  self->motion = motion;
  self->selected = FALSE;
  self->auth_sector = -1;
  self->motion_source = g_timeout_source_new (self->options.motion_ms);
  g_source_set_callback (self->motion_source, on_motion_done_cb, self, NULL);
  g_source_attach (self->motion_source, self->context);
}

/* Refuses a motion: the error bit says why to a host that polls, the N reply to firmware
 * that answers. */
static void
sim_refuse_motion (LkDispenserSim *self,
                   gboolean       *error_bit)
{
  if (error_bit != NULL)
    *error_bit = TRUE;
  else
    self->cannot_execute = TRUE;
  sim_motion_reply (self, FALSE, LK_K7X0_ERR_CANNOT_EXECUTE);
}

static void
sim_execute_motion (LkDispenserSim *self,
                    const guint8   *payload,
                    gsize           len)
{
  self->motion_cm = payload[0];
  self->motion_pm = payload[1];

  if (self->motion != MOTION_IDLE)
    {
      sim_refuse_motion (self, NULL);
      return;
    }

  if (len == 2 && payload[0] == 'R' && payload[1] == 'S')
    {
      /* The reset clears the error bits at once; no mechanism moves. */
      self->cannot_execute = FALSE;
      self->dispense_error = FALSE;
      self->capture_error = FALSE;
      sim_motion_reply (self, TRUE, 0);
      return;
    }

  if (len == 3 && payload[0] == 'F' && payload[1] == 'C' && payload[2] == '7')
    {
      if (self->jam)
        sim_refuse_motion (self, &self->dispense_error);
      else if (self->position != POS_NONE)
        sim_refuse_motion (self, NULL);
      else if (sim_stock (self) == 0)
        sim_motion_reply (self, FALSE, LK_K7X0_ERR_CANNOT_EXECUTE);
      else if (self->fail_dispense_remaining > 0)
        {
          /* a misfeed: the card does not leave the hopper */
          self->fail_dispense_remaining--;
          self->dispense_error = TRUE;
          sim_motion_reply (self, FALSE, LK_K7X0_ERR_FAILED);
        }
      else
        {
          self->cannot_execute = FALSE;
          self->dispense_error = FALSE;
          sim_start_motion (self, MOTION_DISPENSE);
        }
      return;
    }

  if (len == 3 && payload[0] == 'F' && payload[1] == 'C' && payload[2] == '0')
    {
      if (self->jam)
        sim_refuse_motion (self, &self->dispense_error);
      else if (self->position != POS_READ)
        sim_refuse_motion (self, NULL);
      else
        {
          self->cannot_execute = FALSE;
          sim_start_motion (self, MOTION_EJECT);
        }
      return;
    }

  if (len == 2 && payload[0] == 'D' && payload[1] == 'C')
    {
      if (self->jam)
        sim_refuse_motion (self, &self->dispense_error);
      else if (self->position != POS_READ)
        sim_refuse_motion (self, NULL);
      else
        sim_start_motion (self, MOTION_HOLD);
      return;
    }

  if (len == 2 && payload[0] == 'C' && payload[1] == 'P')
    {
      if (self->jam || sim_reject_full (self))
        sim_refuse_motion (self, &self->capture_error);
      else if (self->position == POS_NONE)
        sim_refuse_motion (self, NULL);
      else
        {
          sim_cancel_take (self);
          self->cannot_execute = FALSE;
          self->capture_error = FALSE;
          sim_start_motion (self, MOTION_CAPTURE);
        }
      return;
    }

  /* FC4, FC6, FC8, DB, baud and LED commands: not simulated */
  sim_motion_reply (self, FALSE, LK_K7X0_ERR_UNDEFINED_COMMAND);
}

static void
sim_execute_mifare (LkDispenserSim *self,
                    guint8          pm,
                    const guint8   *data,
                    gsize           len)
{
  const guint8 cm = LK_K7X0_CM_MIFARE_S50;
  SimCard *card = self->position == POS_READ && self->motion == MOTION_IDLE ? self->card : NULL;

  switch (pm)
    {
    case LK_K7X0_PM_SEARCH:
      if (card == NULL)
        {
          self->selected = FALSE;
          sim_reply_negative (self, cm, pm, LK_K7X0_ERR_SEARCH_FAILED);
          return;
        }
      self->selected = TRUE;
      self->auth_sector = -1;
      sim_reply_positive (self, cm, pm, (const guint8 *) "Y", 1);
      return;

    case LK_K7X0_PM_READ_UID:
      if (card == NULL || !self->selected)
        sim_reply_negative (self, cm, pm, LK_K7X0_ERR_UID_FAILED);
      else
        sim_reply_positive (self, cm, pm, card->uid, 4);
      return;

    case LK_K7X0_PM_CHECK_KEY:
      {
        const guint8 *trailer;
        const guint8 *stored;

        if (len != 8 || data[0] >= SIM_BLOCKS
            || (data[1] != LK_K7X0_KEY_A && data[1] != LK_K7X0_KEY_B))
          {
            sim_reply_negative (self, cm, pm, LK_K7X0_ERR_PARAMETER);
            return;
          }
        if (card == NULL || !self->selected)
          {
            sim_reply_negative (self, cm, pm, LK_K7X0_ERR_KEY_FAILED);
            return;
          }

        trailer = card->mem[(data[0] / 4) * 4 + 3];
        stored = data[1] == LK_K7X0_KEY_A ? trailer : trailer + 10;
        if (memcmp (stored, data + 2, 6) != 0)
          {
            /* A failed authentication halts a Mifare card. */
            self->selected = FALSE;
            self->auth_sector = -1;
            sim_reply_negative (self, cm, pm, LK_K7X0_ERR_KEY_FAILED);
            return;
          }
        self->auth_sector = data[0] / 4;
        sim_reply_positive (self, cm, pm, NULL, 0);
        return;
      }

    case LK_K7X0_PM_READ_BLOCK:
      {
        guint8 out[SIM_BLOCK_LEN];

        if (len != 1 || data[0] >= SIM_BLOCKS)
          {
            sim_reply_negative (self, cm, pm, LK_K7X0_ERR_PARAMETER);
            return;
          }
        if (card == NULL || !self->selected || self->auth_sector != data[0] / 4)
          {
            sim_reply_negative (self, cm, pm, LK_K7X0_ERR_READ_FAILED);
            return;
          }
        if (self->fail_read_remaining > 0)
          {
            self->fail_read_remaining--;
            sim_reply_negative (self, cm, pm, LK_K7X0_ERR_READ_FAILED);
            return;
          }
        memcpy (out, card->mem[data[0]], sizeof out);
        /* Key A of a trailer never reads back. */
        if (data[0] % 4 == 3)
          memset (out, 0, 6);
        sim_reply_positive (self, cm, pm, out, sizeof out);
        return;
      }

    case LK_K7X0_PM_WRITE_BLOCK:
      if (len != 1 + SIM_BLOCK_LEN || data[0] >= SIM_BLOCKS)
        {
          sim_reply_negative (self, cm, pm, LK_K7X0_ERR_PARAMETER);
          return;
        }
      if (card == NULL || !self->selected || self->auth_sector != data[0] / 4 || data[0] == 0)
        {
          sim_reply_negative (self, cm, pm, LK_K7X0_ERR_WRITE_FAILED);
          return;
        }
      if (self->fail_write_remaining > 0)
        {
          self->fail_write_remaining--;
          sim_reply_negative (self, cm, pm, LK_K7X0_ERR_WRITE_FAILED);
          return;
        }
      memcpy (card->mem[data[0]], data + 1, SIM_BLOCK_LEN);
      sim_reply_positive (self, cm, pm, NULL, 0);
      return;

    case LK_K7X0_PM_HALT:
      self->selected = FALSE;
      self->auth_sector = -1;
      sim_reply_positive (self, cm, pm, NULL, 0);
      return;

    default:
      sim_reply_negative (self, cm, pm, LK_K7X0_ERR_UNDEFINED_COMMAND);
      return;
    }
}

static void
sim_execute (LkDispenserSim *self,
             GBytes         *frame)
{
  const guint8 *payload;
  gsize payload_len, len;
  const guint8 *bytes = g_bytes_get_data (frame, &len);
  guint address;

  if (!lk_k7x0_command_parse (bytes, len, &address, &payload, &payload_len, NULL))
    return;

  self->executed++;

  if (payload_len == 2 && payload[0] == 'A' && payload[1] == 'P')
    sim_reply_status (self);
  else if (lk_k7x0_is_motion_command (payload, payload_len))
    sim_execute_motion (self, payload, payload_len);
  else if (payload[0] == LK_K7X0_CM_MIFARE_S50)
    sim_execute_mifare (self, payload[1], payload + 2, payload_len - 2);
  else
    sim_reply_negative (self, payload[0], payload[1], LK_K7X0_ERR_UNDEFINED_COMMAND);
}

static void
sim_handle_token (LkDispenserSim *self,
                  LkK7x0Token    *token)
{
  if (self->silent || token->address != self->options.address)
    return;

  switch (token->kind)
    {
    case LK_K7X0_TOKEN_FRAME:
      g_clear_pointer (&self->pending, g_bytes_unref);
      if (self->nak_remaining > 0)
        {
          self->nak_remaining--;
          self->naks_sent++;
          sim_send_control (self, LK_K7X0_NAK);
          return;
        }
      self->pending = g_bytes_ref (token->frame);
      sim_send_control (self, LK_K7X0_ACK);
      return;

    case LK_K7X0_TOKEN_BAD_FRAME:
      g_clear_pointer (&self->pending, g_bytes_unref);
      self->naks_sent++;
      sim_send_control (self, LK_K7X0_NAK);
      return;

    case LK_K7X0_TOKEN_ENQ:
      if (self->pending != NULL)
        {
          g_autoptr(GBytes) frame = g_steal_pointer (&self->pending);

          sim_execute (self, frame);
        }
      return;

    case LK_K7X0_TOKEN_EOT:
      g_clear_pointer (&self->pending, g_bytes_unref);
      return;

    case LK_K7X0_TOKEN_ACK:
    case LK_K7X0_TOKEN_NAK:
    default:
      return;
    }
}

static gboolean
on_master_readable_cb (int           fd,
                       GIOCondition  condition,
                       gpointer      data)
{
  LkDispenserSim *self = data;
  guint8 buffer[512];
  ssize_t n;
  gint64 now;
  LkK7x0Token token;

  n = read (fd, buffer, sizeof buffer);
  if (n <= 0)
    {
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return G_SOURCE_CONTINUE;
      /* EIO: nobody has the other end open; we hold it ourselves, so this is transient. */
      return G_SOURCE_CONTINUE;
    }

  now = g_get_monotonic_time ();
  /* The device voids a frame whose characters come with a long pause between them. */
  if (self->options.gap_ms > 0 && lk_k7x0_parser_get_pending (self->parser) > 0
      && now - self->last_byte_time > (gint64) self->options.gap_ms * 1000)
    lk_k7x0_parser_reset (self->parser);
  self->last_byte_time = now;

  lk_k7x0_parser_push (self->parser, buffer, n);
  while (lk_k7x0_parser_next (self->parser, &token))
    {
      sim_handle_token (self, &token);
      lk_k7x0_token_clear (&token);
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
parse_count (const char *text,
             guint      *out)
{
  guint64 value;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, 100000, &value, NULL))
    return FALSE;
  *out = value;
  return TRUE;
}

static SimCard *
sim_find_card (LkDispenserSim *self,
               const char     *uid)
{
  guint8 want[4];

  if (uid == NULL || strlen (uid) != 8)
    return NULL;
  for (guint i = 0; i < 4; i++)
    {
      int hi = g_ascii_xdigit_value (uid[2 * i]);
      int lo = g_ascii_xdigit_value (uid[2 * i + 1]);

      if (hi < 0 || lo < 0)
        return NULL;
      want[i] = hi << 4 | lo;
    }

  for (guint i = 0; i < self->cards->len; i++)
    {
      SimCard *card = g_ptr_array_index (self->cards, i);

      if (memcmp (card->uid, want, 4) == 0)
        return card;
    }
  return NULL;
}

static char *
sim_describe (LkDispenserSim *self)
{
  LkDispenserStatus st;
  g_autofree char *uid = NULL;

  sim_status (self, &st);
  lk_k7x0_status_encode (&st, (guint8 *) st.raw);
  st.raw[4] = '\0';
  if (self->card != NULL)
    uid = g_strdup_printf ("%02X%02X%02X%02X", self->card->uid[0], self->card->uid[1],
                           self->card->uid[2], self->card->uid[3]);

  return g_strdup_printf ("ok stock=%u reject=%u taken=%u position=%s card=%s status=%s "
                          "jam=%d reject_full=%d silent=%d nak=%u corrupt=%u noise=%u "
                          "executed=%u",
                          sim_stock (self), self->rejected, self->taken,
                          position_to_string (self->position), uid != NULL ? uid : "-", st.raw,
                          self->jam, sim_reject_full (self), self->silent, self->nak_remaining,
                          self->corrupt_remaining, self->noise_remaining, self->executed);
}

static gpointer
sim_command_on_thread (LkDispenserSim *self,
                       gpointer        data)
{
  g_auto(GStrv) words = g_strsplit_set (g_strstrip ((char *) data), " \t", -1);
  const char *verb = words[0];
  const char *arg = words[0] != NULL && words[0][0] != '\0' ? words[1] : NULL;
  guint n = 1;

  if (verb == NULL || verb[0] == '\0')
    return g_strdup ("error: empty command");

  if (g_str_equal (verb, "jam"))
    self->jam = TRUE;
  else if (g_str_equal (verb, "clear"))
    {
      /* A technician clears the jam and empties the reject box by hand; the stuck card goes
       * with the rejects. The error bits stay until the host sends RS, as on the device. */
      self->jam = FALSE;
      self->reject_forced_full = FALSE;
      self->rejected = 0;
      g_queue_clear (&self->reject_box);
      self->fail_write_remaining = self->fail_read_remaining = 0;
      self->noise_remaining = self->corrupt_remaining = 0;
      self->fail_dispense_remaining = 0;
      if (self->position == POS_STUCK)
        {
          self->card = NULL;
          self->position = POS_NONE;
        }
    }
  else if (g_str_equal (verb, "reload"))
    {
      /* A technician puts the rejected cards back on top of the hopper. */
      SimCard *card;

      while ((card = g_queue_pop_tail (&self->reject_box)) != NULL)
        g_queue_push_head (&self->hopper, card);
      self->rejected = 0;
    }
  else if (g_str_equal (verb, "empty"))
    g_queue_clear (&self->hopper);
  else if (g_str_equal (verb, "fill"))
    {
      if (!parse_count (arg, &n))
        return g_strdup ("error: fill N");
      for (guint i = 0; i < n; i++)
        g_queue_push_tail (&self->hopper, sim_card_new (self));
    }
  else if (g_str_equal (verb, "reject-full"))
    self->reject_forced_full = TRUE;
  else if (g_str_equal (verb, "nak"))
    {
      if (arg != NULL && !parse_count (arg, &n))
        return g_strdup ("error: nak N");
      self->nak_remaining = n;
    }
  else if (g_str_equal (verb, "silent"))
    self->silent = TRUE;
  else if (g_str_equal (verb, "talk"))
    self->silent = FALSE;
  else if (g_str_equal (verb, "untaken"))
    self->untaken_next = TRUE;
  else if (g_str_equal (verb, "take"))
    {
      if (self->position != POS_MOUTH || self->motion != MOTION_IDLE)
        return g_strdup ("error: no card in the mouth");
      sim_cancel_take (self);
      self->card = NULL;
      self->position = POS_NONE;
      self->taken++;
    }
  else if (g_str_equal (verb, "fail-write"))
    {
      if (arg != NULL && !parse_count (arg, &n))
        return g_strdup ("error: fail-write [N]");
      self->fail_write_remaining = n;
    }
  else if (g_str_equal (verb, "fail-read"))
    {
      if (arg != NULL && !parse_count (arg, &n))
        return g_strdup ("error: fail-read [N]");
      self->fail_read_remaining = n;
    }
  else if (g_str_equal (verb, "fail-dispense"))
    {
      if (arg != NULL && !parse_count (arg, &n))
        return g_strdup ("error: fail-dispense [N]");
      self->fail_dispense_remaining = n;
    }
  else if (g_str_equal (verb, "noise"))
    {
      if (arg != NULL && !parse_count (arg, &n))
        return g_strdup ("error: noise [N]");
      self->noise_remaining = n;
    }
  else if (g_str_equal (verb, "corrupt"))
    {
      if (arg != NULL && !parse_count (arg, &n))
        return g_strdup ("error: corrupt [N]");
      self->corrupt_remaining = n;
    }
  else if (g_str_equal (verb, "reply-motion"))
    {
      if (g_strcmp0 (arg, "on") == 0)
        self->options.reply_motion = TRUE;
      else if (g_strcmp0 (arg, "off") == 0)
        self->options.reply_motion = FALSE;
      else
        return g_strdup ("error: reply-motion on|off");
    }
  else if (g_str_equal (verb, "motion-ms"))
    {
      if (!parse_count (arg, &n))
        return g_strdup ("error: motion-ms MS");
      self->options.motion_ms = n;
    }
  else if (g_str_equal (verb, "auto-take"))
    {
      if (g_strcmp0 (arg, "off") == 0)
        self->options.auto_take_ms = -1;
      else if (parse_count (arg, &n))
        self->options.auto_take_ms = n;
      else
        return g_strdup ("error: auto-take MS|off");
    }
  else if (g_str_equal (verb, "read"))
    {
      SimCard *card = sim_find_card (self, arg);
      guint block;

      if (card == NULL || !parse_count (words[2], &block) || block >= SIM_BLOCKS)
        return g_strdup ("error: read UID BLOCK");
      {
        g_autoptr(GString) hex = g_string_new ("ok ");

        for (guint i = 0; i < SIM_BLOCK_LEN; i++)
          g_string_append_printf (hex, "%02X", card->mem[block][i]);
        return g_string_free (g_steal_pointer (&hex), FALSE);
      }
    }
  else if (g_str_equal (verb, "status"))
    return sim_describe (self);
  else if (g_str_equal (verb, "help"))
    return g_strdup ("ok commands: jam clear empty fill reject-full nak silent talk untaken "
                     "take reload fail-dispense fail-write fail-read noise corrupt reply-motion motion-ms auto-take read "
                     "status");
  else
    return g_strdup_printf ("error: unknown command %s", verb);

  return g_strdup ("ok");
}

static gboolean
sync_call_dispatch (gpointer data)
{
  SyncCall *call = data;
  gpointer ret = call->func (call->self, call->data);

  g_mutex_lock (&call->mutex);
  call->ret = ret;
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->mutex);

  return G_SOURCE_REMOVE;
}

/* Runs @func on the simulator's thread and waits for its answer. */
static gpointer
sim_call_sync (LkDispenserSim *self,
               SimFunc         func,
               gpointer        data)
{
  SyncCall call = { self, func, data, NULL };
  gpointer ret;

  if (g_thread_self () == self->thread)
    return func (self, data);

  g_mutex_init (&call.mutex);
  g_cond_init (&call.cond);

  g_main_context_invoke (self->context, sync_call_dispatch, &call);

  g_mutex_lock (&call.mutex);
  while (!call.done)
    g_cond_wait (&call.cond, &call.mutex);
  ret = call.ret;
  g_mutex_unlock (&call.mutex);

  g_mutex_clear (&call.mutex);
  g_cond_clear (&call.cond);
  return ret;
}

static gpointer
sim_thread_main (gpointer data)
{
  LkDispenserSim *self = data;

  g_main_context_push_thread_default (self->context);
  g_main_loop_run (self->loop);
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

static gboolean
quit_loop_cb (gpointer data)
{
  LkDispenserSim *self = data;

  g_main_loop_quit (self->loop);
  return G_SOURCE_REMOVE;
}

static void
lk_dispenser_sim_dispose (GObject *object)
{
  LkDispenserSim *self = LK_DISPENSER_SIM (object);

  if (self->thread != NULL)
    {
      g_main_context_invoke (self->context, quit_loop_cb, self);
      g_thread_join (g_steal_pointer (&self->thread));
    }

  if (self->fd_source != NULL)
    {
      g_source_destroy (self->fd_source);
      g_clear_pointer (&self->fd_source, g_source_unref);
    }
  if (self->motion_source != NULL)
    {
      g_source_destroy (self->motion_source);
      g_clear_pointer (&self->motion_source, g_source_unref);
    }
  sim_cancel_take (self);

  G_OBJECT_CLASS (lk_dispenser_sim_parent_class)->dispose (object);
}

static void
lk_dispenser_sim_finalize (GObject *object)
{
  LkDispenserSim *self = LK_DISPENSER_SIM (object);

  if (self->master_fd >= 0)
    close (self->master_fd);
  if (self->slave_fd >= 0)
    close (self->slave_fd);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->parser, lk_k7x0_parser_free);
  g_clear_pointer (&self->pending, g_bytes_unref);
  g_queue_clear (&self->hopper);
  g_queue_clear (&self->reject_box);
  g_clear_pointer (&self->cards, g_ptr_array_unref);
  g_clear_pointer (&self->port, g_free);

  G_OBJECT_CLASS (lk_dispenser_sim_parent_class)->finalize (object);
}

static void
lk_dispenser_sim_class_init (LkDispenserSimClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lk_dispenser_sim_dispose;
  object_class->finalize = lk_dispenser_sim_finalize;
}

static void
lk_dispenser_sim_init (LkDispenserSim *self)
{
  self->master_fd = -1;
  self->slave_fd = -1;
  self->auth_sector = -1;
  self->cards = g_ptr_array_new_with_free_func (g_free);
  g_queue_init (&self->hopper);
  g_queue_init (&self->reject_box);
  self->parser = lk_k7x0_parser_new ();
}

void
lk_dispenser_sim_options_init (LkDispenserSimOptions *options)
{
  memset (options, 0, sizeof *options);
  options->address = 0;
  options->cards = 20;
  options->hopper_capacity = 100;
  options->low_threshold = 3;
  options->reject_capacity = 30;
  options->motion_ms = 800;
  options->auto_take_ms = -1;
  options->reply_motion = FALSE;
  options->gap_ms = 50;
  options->first_uid = 0xA1B2C3D4;
}

static gboolean
set_errno_error (GError     **error,
                 const char  *what)
{
  int saved = errno;

  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", what,
               g_strerror (saved));
  return FALSE;
}

LkDispenserSim *
lk_dispenser_sim_new (const LkDispenserSimOptions  *options,
                      GError                      **error)
{
  g_autoptr(LkDispenserSim) self = NULL;
  struct termios tio;
  const char *slave_name;

  g_return_val_if_fail (options != NULL, NULL);

  if (options->address > LK_K7X0_MAX_ADDRESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Address %u is not 0..%u", options->address, LK_K7X0_MAX_ADDRESS);
      return NULL;
    }

  self = g_object_new (LK_TYPE_DISPENSER_SIM, NULL);
  self->options = *options;
  self->next_uid = options->first_uid;

  self->master_fd = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (self->master_fd < 0)
    {
      set_errno_error (error, "posix_openpt");
      return NULL;
    }
  if (grantpt (self->master_fd) < 0 || unlockpt (self->master_fd) < 0)
    {
      set_errno_error (error, "grantpt/unlockpt");
      return NULL;
    }

  slave_name = ptsname (self->master_fd);
  if (slave_name == NULL)
    {
      set_errno_error (error, "ptsname");
      return NULL;
    }
  self->port = g_strconcat ("pty:", slave_name, NULL);

  /* Hold the slave open, raw, so that the pty does not hang up between two hosts and
   * nothing the host sends is echoed back. */
  self->slave_fd = open (slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (self->slave_fd < 0 || tcgetattr (self->slave_fd, &tio) < 0)
    {
      set_errno_error (error, slave_name);
      return NULL;
    }
  cfmakeraw (&tio);
  tio.c_cflag |= CLOCAL | CREAD;
  cfsetispeed (&tio, B9600);
  cfsetospeed (&tio, B9600);
  if (tcsetattr (self->slave_fd, TCSANOW, &tio) < 0)
    {
      set_errno_error (error, slave_name);
      return NULL;
    }

  if (!g_unix_set_fd_nonblocking (self->master_fd, TRUE, error))
    return NULL;

  for (guint i = 0; i < options->cards; i++)
    g_queue_push_tail (&self->hopper, sim_card_new (self));

  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);

  self->fd_source = g_unix_fd_source_new (self->master_fd, G_IO_IN);
  g_source_set_callback (self->fd_source, G_SOURCE_FUNC (on_master_readable_cb), self, NULL);
  g_source_attach (self->fd_source, self->context);

  self->thread = g_thread_new ("lk-dispenser-sim", sim_thread_main, self);

  return g_steal_pointer (&self);
}

const char *
lk_dispenser_sim_get_port (LkDispenserSim *self)
{
  g_return_val_if_fail (LK_IS_DISPENSER_SIM (self), NULL);

  return self->port;
}

char *
lk_dispenser_sim_command (LkDispenserSim *self,
                          const char     *line)
{
  g_autofree char *copy = NULL;

  g_return_val_if_fail (LK_IS_DISPENSER_SIM (self), NULL);
  g_return_val_if_fail (line != NULL, NULL);

  copy = g_strdup (line);
  return sim_call_sync (self, sim_command_on_thread, copy);
}

static gpointer
get_counts (LkDispenserSim *self,
            gpointer        data)
{
  guint *out = data;

  out[0] = sim_stock (self);
  out[1] = self->rejected;
  out[2] = self->taken;
  out[3] = self->executed;
  out[4] = self->naks_sent;
  out[5] = self->position;
  return NULL;
}

static guint
get_count (LkDispenserSim *self,
           guint           which)
{
  guint counts[6];

  sim_call_sync (self, get_counts, counts);
  return counts[which];
}

guint
lk_dispenser_sim_get_stock (LkDispenserSim *self)
{
  g_return_val_if_fail (LK_IS_DISPENSER_SIM (self), 0);
  return get_count (self, 0);
}

guint
lk_dispenser_sim_get_reject_count (LkDispenserSim *self)
{
  g_return_val_if_fail (LK_IS_DISPENSER_SIM (self), 0);
  return get_count (self, 1);
}

guint
lk_dispenser_sim_get_taken_count (LkDispenserSim *self)
{
  g_return_val_if_fail (LK_IS_DISPENSER_SIM (self), 0);
  return get_count (self, 2);
}

guint
lk_dispenser_sim_get_executed (LkDispenserSim *self)
{
  g_return_val_if_fail (LK_IS_DISPENSER_SIM (self), 0);
  return get_count (self, 3);
}

guint
lk_dispenser_sim_get_naks_sent (LkDispenserSim *self)
{
  g_return_val_if_fail (LK_IS_DISPENSER_SIM (self), 0);
  return get_count (self, 4);
}

char *
lk_dispenser_sim_get_position (LkDispenserSim *self)
{
  g_return_val_if_fail (LK_IS_DISPENSER_SIM (self), NULL);
  return g_strdup (position_to_string (get_count (self, 5)));
}

typedef struct
{
  const char *uid;
  guint       block;
  guint8     *out;
} BlockQuery;

static gpointer
get_block (LkDispenserSim *self,
           gpointer        data)
{
  BlockQuery *query = data;
  SimCard *card = sim_find_card (self, query->uid);

  if (card == NULL || query->block >= SIM_BLOCKS)
    return GINT_TO_POINTER (FALSE);
  memcpy (query->out, card->mem[query->block], SIM_BLOCK_LEN);
  return GINT_TO_POINTER (TRUE);
}

gboolean
lk_dispenser_sim_get_block (LkDispenserSim *self,
                            const char     *uid,
                            guint           block,
                            guint8          out[16])
{
  BlockQuery query = { uid, block, out };

  g_return_val_if_fail (LK_IS_DISPENSER_SIM (self), FALSE);
  return GPOINTER_TO_INT (sim_call_sync (self, get_block, &query));
}
