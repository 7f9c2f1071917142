/* lk-websocket.c: the server's side of a WebSocket (RFC 6455); see lk-websocket.h for why
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-websocket"

#include "config.h"

#include <string.h>

#include "lk-epoll-watch.h"
#include "lk-websocket.h"

#define READ_SIZE (16 * 1024)
#define DEFAULT_MAX_PAYLOAD (128 * 1024)
#define MAX_CONTROL_PAYLOAD 125
#define UPGRADE_KEY "lk-websocket-upgrade"
#define TEXTS_PER_WRITE 32

enum
{
  OP_CONTINUATION = 0x0,
  OP_TEXT = 0x1,
  OP_BINARY = 0x2,
  OP_CLOSE = 0x8,
  OP_PING = 0x9,
  OP_PONG = 0xA,
};

enum
{
  SIGNAL_MESSAGE,
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];
static guint close_timeout_ms = 5000;

struct _LkWebsocket
{
  GObject                parent_instance;

  GIOStream             *stream;
  GPollableInputStream  *input;
  GPollableOutputStream *output;
  GMainContext          *context;

  LkEpollWatch          *input_watch;     /* a plain socket, for the connection's life */
  GSource               *input_source;    /* else (TLS): the stream's pollable source */
  GSource               *output_source;   /* only while something waits to be written */
  GSource               *close_timeout;

  GByteArray            *incoming;        /* read, not yet taken as frames */
  GByteArray            *message;         /* a fragmented message being put together */
  guint8                 message_opcode;  /* its first frame's opcode; 0 when none */
  GByteArray            *outgoing;        /* what the socket did not take yet */

  guint64                max_payload;
  SoupWebsocketState     state;
  gushort                peer_close_code;
  gboolean               close_sent;
  gboolean               close_received;
  gboolean               io_closing;      /* the stream is being closed; "closed" follows */
};

G_DEFINE_FINAL_TYPE (LkWebsocket, lk_websocket, G_TYPE_OBJECT)

static void start_output (LkWebsocket *self);
static void close_io (LkWebsocket *self);

/* --- sources --- */

static void
attach_source (LkWebsocket *self,
               GSource     *source,
               GSourceFunc  callback,
               const char  *name)
{
  /* Our callbacks never run the context recursively, and an unblocked source spares GLib two
   * eventfd writes per dispatch. */
  g_source_set_can_recurse (source, TRUE);
  g_source_set_callback (source, callback, self, NULL);
  g_source_set_static_name (source, name);
  g_source_attach (source, self->context);
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* Nothing more is read. */
static void
stop_input (LkWebsocket *self)
{
  g_clear_pointer (&self->input_watch, lk_epoll_watch_free);
  clear_source (&self->input_source);
}

/* --- closing --- */

static void
on_stream_closed_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  LkWebsocket *self = user_data;   /* our reference, taken in close_io() */

  g_io_stream_close_finish (G_IO_STREAM (object), result, NULL);
  self->state = SOUP_WEBSOCKET_STATE_CLOSED;
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0);
  g_object_unref (self);
}

/* Closes the stream at once (what is queued is dropped); "closed" follows. */
static void
close_io (LkWebsocket *self)
{
  if (self->io_closing)
    return;
  self->io_closing = TRUE;
  self->state = SOUP_WEBSOCKET_STATE_CLOSING;
  stop_input (self);
  clear_source (&self->output_source);
  clear_source (&self->close_timeout);
  g_byte_array_set_size (self->outgoing, 0);
  g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, on_stream_closed_cb,
                           g_object_ref (self));
}

/* Closes the stream once what is queued (the close frame, above all) is written. */
static void
close_io_after_output (LkWebsocket *self)
{
  if (self->outgoing->len == 0)
    close_io (self);
  /* else on_output_cb() calls close_io() once it has written everything */
}

static gboolean
on_close_timeout_cb (gpointer user_data)
{
  LkWebsocket *self = user_data;

  g_clear_pointer (&self->close_timeout, g_source_unref);
  g_debug ("The peer did not finish the closing handshake in time");
  close_io (self);
  return G_SOURCE_REMOVE;
}

/* --- writing --- */

static gsize
frame_header (guint8 *header,
              guint8  opcode,
              gsize   len)
{
  header[0] = 0x80 | opcode;               /* FIN; a server never masks */
  if (len < 126)
    {
      header[1] = len;
      return 2;
    }
  if (len <= G_MAXUINT16)
    {
      header[1] = 126;
      header[2] = len >> 8;
      header[3] = len & 0xff;
      return 4;
    }
  header[1] = 127;
  for (int i = 0; i < 8; i++)
    header[2 + i] = ((guint64) len >> (8 * (7 - i))) & 0xff;
  return 10;
}

/* A write failed: the peer is gone. */
static void
fail_io (LkWebsocket *self,
         GError      *error)
{
  g_debug ("WebSocket stream failed: %s", error->message);
  close_io (self);
}

/* Writes @vectors now if nothing is queued before them; queues what the socket does not take. */
static void
write_vectors (LkWebsocket   *self,
               GOutputVector *vectors,
               guint          n_vectors)
{
  gsize total = 0;
  gsize written = 0;

  for (guint i = 0; i < n_vectors; i++)
    total += vectors[i].size;

  if (self->outgoing->len == 0)
    {
      g_autoptr(GError) error = NULL;
      GPollableReturn ret = g_pollable_output_stream_writev_nonblocking (self->output, vectors,
                                                                         n_vectors, &written,
                                                                         NULL, &error);
      if (ret == G_POLLABLE_RETURN_FAILED)
        {
          fail_io (self, error);
          return;
        }
      if (ret == G_POLLABLE_RETURN_WOULD_BLOCK)
        written = 0;
      if (written == total)
        return;
    }

  if (self->outgoing->len + total - written > LK_WEBSOCKET_MAX_QUEUED)
    {
      g_message ("A WebSocket peer that does not read was dropped (%u bytes waiting)",
                 self->outgoing->len);
      close_io (self);
      return;
    }
  for (guint i = 0; i < n_vectors; i++)
    {
      gsize skip = MIN (written, vectors[i].size);

      g_byte_array_append (self->outgoing, (const guint8 *) vectors[i].buffer + skip,
                           vectors[i].size - skip);
      written -= skip;
    }
  start_output (self);
}

/* Frames each of @texts and writes them all with one writev (one sendmsg() on a socket). */
static void
send_text_frames (LkWebsocket       *self,
                  const char *const *texts,
                  guint              n_texts)
{
  guint8 headers[TEXTS_PER_WRITE][10];
  GOutputVector vectors[2 * TEXTS_PER_WRITE];

  while (n_texts > 0 && !self->io_closing && !self->close_sent)
    {
      guint n = MIN (n_texts, TEXTS_PER_WRITE);

      for (guint i = 0; i < n; i++)
        {
          gsize len = strlen (texts[i]);

          vectors[2 * i].buffer = headers[i];
          vectors[2 * i].size = frame_header (headers[i], OP_TEXT, len);
          vectors[2 * i + 1].buffer = texts[i];
          vectors[2 * i + 1].size = len;
        }
      write_vectors (self, vectors, 2 * n);
      texts += n;
      n_texts -= n;
    }
}

static void
send_frame (LkWebsocket *self,
            guint8       opcode,
            const void  *payload,
            gsize        len)
{
  guint8 header[10];
  GOutputVector vectors[2];

  if (self->io_closing || self->close_sent)
    return;
  vectors[0].buffer = header;
  vectors[0].size = frame_header (header, opcode, len);
  vectors[1].buffer = payload;
  vectors[1].size = len;
  if (opcode == OP_CLOSE)
    self->close_sent = TRUE;
  write_vectors (self, vectors, len > 0 ? 2 : 1);
}

/* A pollable stream's source calls back with the stream first (GPollableSourceFunc). */
static gboolean
on_output_cb (GObject  *stream,
              gpointer  user_data)
{
  LkWebsocket *self = user_data;
  g_autoptr(GError) error = NULL;
  gssize n;

  n = g_pollable_output_stream_write_nonblocking (self->output, self->outgoing->data,
                                                  self->outgoing->len, NULL, &error);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;
  if (n < 0)
    {
      g_clear_pointer (&self->output_source, g_source_unref);
      fail_io (self, error);
      return G_SOURCE_REMOVE;
    }
  /* What was written leaves the queue, so a peer that reads slowly but steadily does not make
   * it grow for the connection's life. */
  g_byte_array_remove_range (self->outgoing, 0, n);
  if (self->outgoing->len > 0)
    return G_SOURCE_CONTINUE;

  g_clear_pointer (&self->output_source, g_source_unref);
  if (self->close_sent && self->close_received)
    close_io (self);
  return G_SOURCE_REMOVE;
}

static void
start_output (LkWebsocket *self)
{
  if (self->output_source != NULL || self->io_closing)
    return;
  self->output_source = g_pollable_output_stream_create_source (self->output, NULL);
  attach_source (self, self->output_source, (GSourceFunc) (void (*) (void)) on_output_cb,
                 "[lingka] websocket output");
}

/* --- reading --- */

/* Fails the connection with @code (RFC 6455, 7.1.7): a close frame, then the stream closes. */
static void
fail_connection (LkWebsocket *self,
                 gushort      code,
                 const char  *why)
{
  guint8 payload[2] = { code >> 8, code & 0xff };

  g_debug ("Closing a WebSocket (%u): %s", code, why);
  if (self->io_closing)
    return;
  self->state = SOUP_WEBSOCKET_STATE_CLOSING;
  send_frame (self, OP_CLOSE, payload, sizeof payload);
  self->close_received = TRUE;     /* nothing more is read */
  stop_input (self);
  close_io_after_output (self);
}

static gboolean
close_code_is_valid (gushort code)
{
  /* RFC 6455, 7.4: the codes a peer may send. */
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014)
         || (code >= 3000 && code <= 4999);
}

static void
handle_close (LkWebsocket  *self,
              const guint8 *payload,
              gsize         len)
{
  gushort code = 0;

  if (len == 1)
    {
      fail_connection (self, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, "a close frame of one byte");
      return;
    }
  if (len >= 2)
    {
      code = (payload[0] << 8) | payload[1];
      if (!close_code_is_valid (code))
        {
          fail_connection (self, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, "a reserved close code");
          return;
        }
      if (!g_utf8_validate_len ((const char *) payload + 2, len - 2, NULL))
        {
          fail_connection (self, SOUP_WEBSOCKET_CLOSE_BAD_DATA, "a close reason that is not UTF-8");
          return;
        }
    }

  self->peer_close_code = code;
  self->close_received = TRUE;
  stop_input (self);
  if (!self->close_sent)
    {
      guint8 answer[2] = { code >> 8, code & 0xff };

      self->state = SOUP_WEBSOCKET_STATE_CLOSING;
      /* Echo the code (5.5.1); none given, none echoed. */
      send_frame (self, OP_CLOSE, answer, code != 0 ? 2 : 0);
    }
  /* The server closes the TCP connection first (7.1.1). */
  close_io_after_output (self);
}

static void
deliver (LkWebsocket  *self,
         guint8        opcode,
         const guint8 *data,
         gsize         len)
{
  g_autoptr(GBytes) bytes = NULL;

  if (opcode == OP_TEXT && !g_utf8_validate_len ((const char *) data, len, NULL))
    {
      fail_connection (self, SOUP_WEBSOCKET_CLOSE_BAD_DATA, "a text message that is not UTF-8");
      return;
    }
  bytes = g_bytes_new (data, len);
  g_signal_emit (self, signals[SIGNAL_MESSAGE], 0,
                 opcode == OP_TEXT ? SOUP_WEBSOCKET_DATA_TEXT : SOUP_WEBSOCKET_DATA_BINARY, bytes);
}

/* The last fragment is in: hands the whole message on (deliver() copies it). */
static void
deliver_fragmented (LkWebsocket *self)
{
  guint8 opcode = self->message_opcode;

  self->message_opcode = 0;
  deliver (self, opcode, self->message->data, self->message->len);
  g_byte_array_set_size (self->message, 0);
}

/* Takes one frame from the start of @data; returns its length, 0 if it is not all there yet,
 * or -1 if the connection was failed. */
static gssize
process_frame (LkWebsocket *self,
               guint8      *data,
               gsize        avail)
{
  guint8 opcode;
  gboolean fin;
  gsize header_len;
  guint64 len;
  guint8 *mask;
  guint8 *payload;

  if (avail < 2)
    return 0;
  fin = (data[0] & 0x80) != 0;
  opcode = data[0] & 0x0f;
  if ((data[0] & 0x70) != 0)
    {
      fail_connection (self, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, "reserved bits set");
      return -1;
    }
  if ((data[1] & 0x80) == 0)
    {
      fail_connection (self, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, "an unmasked client frame");
      return -1;
    }
  if (opcode != OP_CONTINUATION && opcode != OP_TEXT && opcode != OP_BINARY
      && opcode != OP_CLOSE && opcode != OP_PING && opcode != OP_PONG)
    {
      fail_connection (self, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, "an unknown opcode");
      return -1;
    }

  len = data[1] & 0x7f;
  header_len = 2;
  if (len == 126)
    {
      if (avail < 4)
        return 0;
      len = (data[2] << 8) | data[3];
      header_len = 4;
    }
  else if (len == 127)
    {
      if (avail < 10)
        return 0;
      len = 0;
      for (int i = 0; i < 8; i++)
        len = (len << 8) | data[2 + i];
      header_len = 10;
    }

  if ((opcode & 0x08) != 0 && (!fin || len > MAX_CONTROL_PAYLOAD))
    {
      fail_connection (self, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, "a fragmented or long control frame");
      return -1;
    }
  /* len alone first: a 64-bit length could wrap the sum. */
  if ((opcode & 0x08) == 0
      && (len > self->max_payload || self->message->len + len > self->max_payload))
    {
      fail_connection (self, SOUP_WEBSOCKET_CLOSE_TOO_BIG, "a message over the size limit");
      return -1;
    }
  if (avail < header_len + 4 + len)
    return 0;

  mask = data + header_len;
  payload = mask + 4;
  for (gsize i = 0; i < len; i++)
    payload[i] ^= mask[i & 3];

  switch (opcode)
    {
    case OP_PING:
      send_frame (self, OP_PONG, payload, len);
      break;

    case OP_PONG:
      break;

    case OP_CLOSE:
      handle_close (self, payload, len);
      break;

    case OP_TEXT:
    case OP_BINARY:
      if (self->message_opcode != 0)
        {
          fail_connection (self, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, "a new message inside a fragmented one");
          return -1;
        }
      if (fin)
        deliver (self, opcode, payload, len);
      else
        {
          self->message_opcode = opcode;
          g_byte_array_append (self->message, payload, len);
        }
      break;

    case OP_CONTINUATION:
      if (self->message_opcode == 0)
        {
          fail_connection (self, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, "a continuation of nothing");
          return -1;
        }
      g_byte_array_append (self->message, payload, len);
      if (fin)
        deliver_fragmented (self);
      break;

    default:
      g_assert_not_reached ();
    }

  return header_len + 4 + len;
}

/* Reads what the stream has and handles every complete frame. FALSE once nothing more is to be
 * read (the stream is closing). */
static gboolean
read_input (LkWebsocket *self)
{
  g_autoptr(LkWebsocket) keep = g_object_ref (self);   /* handlers may drop theirs */

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      guint old_len = self->incoming->len;
      gsize done = 0;
      gssize n;

      g_byte_array_set_size (self->incoming, old_len + READ_SIZE);
      n = g_pollable_input_stream_read_nonblocking (self->input, self->incoming->data + old_len,
                                                    READ_SIZE, NULL, &error);
      g_byte_array_set_size (self->incoming, old_len + MAX (n, 0));
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return TRUE;
      if (n < 0)
        {
          g_debug ("WebSocket read failed: %s", error->message);
          close_io (self);
          return FALSE;
        }
      if (n == 0)
        {
          /* The peer went away without (or right after) the closing handshake. */
          close_io (self);
          return FALSE;
        }

      while (!self->close_received && !self->io_closing)
        {
          gssize used = process_frame (self, self->incoming->data + done,
                                       self->incoming->len - done);
          if (used <= 0)
            break;
          done += used;
        }
      if (self->close_received || self->io_closing)
        return FALSE;
      g_byte_array_remove_range (self->incoming, 0, done);

      /* On a plain socket, a short read means it is drained for now: the level-triggered
       * source says when more comes, and the read that would only say EAGAIN is saved. Under
       * TLS, decrypted bytes may wait with nothing left on the socket: read until it blocks. */
      if (self->input_watch != NULL && n < READ_SIZE)
        return TRUE;
    }
}

static void
on_socket_ready_cb (gpointer user_data)
{
  read_input (user_data);
}

/* Under TLS, as a GPollableSourceFunc. */
static gboolean
on_pollable_input_cb (GObject  *stream,
                      gpointer  user_data)
{
  if (read_input (user_data))
    return G_SOURCE_CONTINUE;
  /* The source was destroyed (and its pointer cleared) already. */
  return G_SOURCE_REMOVE;
}

/* The first read: libsoup may hold bytes the client sent right behind its upgrade request,
 * which no socket readiness will announce. */
static gboolean
on_first_read_cb (gpointer user_data)
{
  LkWebsocket *self = user_data;

  if (self->input_watch != NULL || self->input_source != NULL)
    read_input (self);
  return G_SOURCE_REMOVE;
}

/* --- the object --- */

static void
lk_websocket_dispose (GObject *object)
{
  LkWebsocket *self = LK_WEBSOCKET (object);

  stop_input (self);
  clear_source (&self->output_source);
  clear_source (&self->close_timeout);
  /* close_io() holds a reference until the stream is closed; a connection whose owner lets go
   * of it while it is open is closed here, without the closing handshake. */
  if (self->stream != NULL && !self->io_closing)
    g_io_stream_close (self->stream, NULL, NULL);

  G_OBJECT_CLASS (lk_websocket_parent_class)->dispose (object);
}

static void
lk_websocket_finalize (GObject *object)
{
  LkWebsocket *self = LK_WEBSOCKET (object);

  g_clear_object (&self->stream);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->incoming, g_byte_array_unref);
  g_clear_pointer (&self->message, g_byte_array_unref);
  g_clear_pointer (&self->outgoing, g_byte_array_unref);

  G_OBJECT_CLASS (lk_websocket_parent_class)->finalize (object);
}

static void
lk_websocket_class_init (LkWebsocketClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = lk_websocket_dispose;
  object_class->finalize = lk_websocket_finalize;

  signals[SIGNAL_MESSAGE] = g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_FIRST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                          SOUP_TYPE_WEBSOCKET_DATA_TYPE, G_TYPE_BYTES);
  signals[SIGNAL_CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_FIRST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
lk_websocket_init (LkWebsocket *self)
{
  self->incoming = g_byte_array_sized_new (READ_SIZE);
  self->message = g_byte_array_new ();
  self->outgoing = g_byte_array_new ();
  self->max_payload = DEFAULT_MAX_PAYLOAD;
  self->state = SOUP_WEBSOCKET_STATE_OPEN;
}

LkWebsocket *
lk_websocket_new (GIOStream *stream,
                  GSocket   *socket)
{
  LkWebsocket *self;
  GInputStream *input;
  GOutputStream *output;
  g_autoptr(GSource) first_read = NULL;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (socket == NULL || G_IS_SOCKET (socket), NULL);
  input = g_io_stream_get_input_stream (stream);
  output = g_io_stream_get_output_stream (stream);
  g_return_val_if_fail (G_IS_POLLABLE_INPUT_STREAM (input), NULL);
  g_return_val_if_fail (G_IS_POLLABLE_OUTPUT_STREAM (output), NULL);

  self = g_object_new (LK_TYPE_WEBSOCKET, NULL);
  self->stream = g_object_ref (stream);
  self->input = G_POLLABLE_INPUT_STREAM (input);
  self->output = G_POLLABLE_OUTPUT_STREAM (output);
  self->context = g_main_context_ref_thread_default ();

  /* A plain socket sits behind its thread's epoll descriptor (lk-epoll-watch.h), unless the
   * kernel refuses one more watch. */
  if (socket != NULL)
    self->input_watch = lk_epoll_watch_new (g_socket_get_fd (socket), on_socket_ready_cb, self);
  if (self->input_watch == NULL)
    {
      self->input_source = g_pollable_input_stream_create_source (self->input, NULL);
      attach_source (self, self->input_source,
                     (GSourceFunc) (void (*) (void)) on_pollable_input_cb,
                     "[lingka] websocket input");
    }

  first_read = g_idle_source_new ();
  g_source_set_priority (first_read, G_PRIORITY_DEFAULT);
  g_source_set_callback (first_read, on_first_read_cb, g_object_ref (self), g_object_unref);
  g_source_set_static_name (first_read, "[lingka] websocket first read");
  g_source_attach (first_read, self->context);

  return self;
}

SoupWebsocketState
lk_websocket_get_state (LkWebsocket *self)
{
  g_return_val_if_fail (LK_IS_WEBSOCKET (self), SOUP_WEBSOCKET_STATE_CLOSED);
  return self->state;
}

gushort
lk_websocket_get_close_code (LkWebsocket *self)
{
  g_return_val_if_fail (LK_IS_WEBSOCKET (self), 0);
  return self->peer_close_code;
}

void
lk_websocket_set_max_incoming_payload_size (LkWebsocket *self,
                                            guint64      max_size)
{
  g_return_if_fail (LK_IS_WEBSOCKET (self));
  self->max_payload = max_size;
}

void
lk_websocket_send_text (LkWebsocket *self,
                        const char  *text)
{
  g_return_if_fail (LK_IS_WEBSOCKET (self));
  g_return_if_fail (text != NULL);

  if (self->state == SOUP_WEBSOCKET_STATE_OPEN)
    send_frame (self, OP_TEXT, text, strlen (text));
}

void
lk_websocket_send_texts (LkWebsocket       *self,
                         const char *const *texts,
                         guint              n_texts)
{
  g_return_if_fail (LK_IS_WEBSOCKET (self));
  g_return_if_fail (texts != NULL || n_texts == 0);

  if (self->state == SOUP_WEBSOCKET_STATE_OPEN)
    send_text_frames (self, texts, n_texts);
}

void
lk_websocket_close (LkWebsocket *self,
                    gushort      code,
                    const char  *reason)
{
  guint8 payload[MAX_CONTROL_PAYLOAD];
  gsize len = 0;

  g_return_if_fail (LK_IS_WEBSOCKET (self));

  if (self->state != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  self->state = SOUP_WEBSOCKET_STATE_CLOSING;
  if (code != 0)
    {
      payload[0] = code >> 8;
      payload[1] = code & 0xff;
      len = 2;
      if (reason != NULL)
        {
          /* At most 123 bytes of reason, cut at a character's boundary: @end stops at the
           * first byte that does not complete a character. */
          const char *end = NULL;

          g_utf8_validate (reason, MIN (strlen (reason), sizeof payload - 2), &end);
          memcpy (payload + 2, reason, end - reason);
          len += end - reason;
        }
    }
  /* Open means no close frame came yet: wait for the peer's (5.5.1), but not forever. */
  send_frame (self, OP_CLOSE, payload, len);
  if (!self->io_closing)
    {
      self->close_timeout = g_timeout_source_new (close_timeout_ms);
      g_source_set_callback (self->close_timeout, on_close_timeout_cb, self, NULL);
      g_source_set_static_name (self->close_timeout, "[lingka] websocket close timeout");
      g_source_attach (self->close_timeout, self->context);
    }
}

void
lk_websocket_set_close_timeout (guint timeout_ms)
{
  close_timeout_ms = timeout_ms;
}

/* --- taking the stream over from libsoup --- */

typedef struct
{
  LkWebsocketAcceptedFunc accepted;
  gpointer                user_data;
  GDestroyNotify          destroy;
} Upgrade;

static void
upgrade_free (Upgrade *upgrade)
{
  if (upgrade->destroy != NULL)
    upgrade->destroy (upgrade->user_data);
  g_free (upgrade);
}

/* The 101 is written: the stream is ours. */
static void
on_wrote_informational_cb (SoupServerMessage *msg,
                           gpointer           user_data)
{
  Upgrade *upgrade = g_object_steal_data (G_OBJECT (msg), UPGRADE_KEY);
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(LkWebsocket) websocket = NULL;
  GSocket *socket;
  gboolean tls;

  g_signal_handlers_disconnect_by_func (msg, on_wrote_informational_cb, NULL);
  if (upgrade == NULL)
    return;

  /* Asked before the steal, while the message still has its connection. */
  tls = g_strcmp0 (g_uri_get_scheme (soup_server_message_get_uri (msg)), "https") == 0;
  socket = soup_server_message_get_socket (msg);
  if (socket != NULL)
    g_object_ref (socket);
  stream = soup_server_message_steal_connection (msg);
  if (stream != NULL)
    {
      websocket = lk_websocket_new (stream, tls ? NULL : socket);
      upgrade->accepted (msg, websocket, upgrade->user_data);
    }
  g_clear_object (&socket);
  upgrade_free (upgrade);
}

gboolean
lk_websocket_accept (SoupServerMessage       *msg,
                     LkWebsocketAcceptedFunc  accepted,
                     gpointer                 user_data,
                     GDestroyNotify           destroy)
{
  Upgrade *upgrade;

  g_return_val_if_fail (SOUP_IS_SERVER_MESSAGE (msg), FALSE);
  g_return_val_if_fail (accepted != NULL, FALSE);

  /* No extensions offered: messages here are small JSON texts. */
  if (!soup_websocket_server_process_handshake (msg, NULL, NULL, NULL, NULL))
    {
      if (destroy != NULL)
        destroy (user_data);
      return FALSE;
    }

  upgrade = g_new0 (Upgrade, 1);
  upgrade->accepted = accepted;
  upgrade->user_data = user_data;
  upgrade->destroy = destroy;
  g_object_set_data_full (G_OBJECT (msg), UPGRADE_KEY, upgrade, (GDestroyNotify) upgrade_free);
  g_signal_connect (msg, "wrote-informational", G_CALLBACK (on_wrote_informational_cb), NULL);
  return TRUE;
}
