/* test-websocket.c: the server's own WebSocket framing (LkWebsocket), byte by byte
 *
 * The server end is an LkWebsocket on one end of a socket pair; the test plays the client on the
 * other end with frames written by hand, so that it can send what no well-behaved client would:
 * unmasked frames, reserved bits, broken fragments, oversize messages, invalid UTF-8. Most cases
 * run twice: on the socket watched through the epoll watch (plain TCP), and through the stream's
 * pollable source (as under TLS, and when the kernel refuses an epoll watch). The shared epoll
 * source (LkEpollWatch) is tested at the end.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "lk-epoll-watch.h"
#include "lk-websocket.h"

#define DEADLINE_US (5 * G_USEC_PER_SEC)

typedef struct
{
  GMainContext *context;
  LkWebsocket  *ws;
  int           fd;               /* the client's end */
  GPtrArray    *messages;         /* of GBytes, as the server received them */
  GByteArray   *inbox;            /* what the client read, not yet taken as frames */
  GArray       *types;            /* their SoupWebsocketDataType */
  guint         closed;           /* "closed" emissions */
} Fixture;

typedef struct
{
  guint8  opcode;
  gboolean fin;
  GBytes *payload;
} Frame;

static void
frame_clear (Frame *frame)
{
  g_clear_pointer (&frame->payload, g_bytes_unref);
}

static void
on_message_cb (LkWebsocket           *ws,
               SoupWebsocketDataType  type,
               GBytes                *message,
               gpointer               user_data)
{
  Fixture *fixture = user_data;

  g_ptr_array_add (fixture->messages, g_bytes_ref (message));
  g_array_append_val (fixture->types, type);
}

static void
on_closed_cb (LkWebsocket *ws,
              gpointer     user_data)
{
  Fixture *fixture = user_data;

  fixture->closed++;
}

/* @pending: bytes the client writes before the server end exists. */
static void
fixture_start (Fixture    *fixture,
               gboolean    watch_socket,
               const void *pending,
               gsize       pending_len)
{
  int fds[2];
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;

  fixture->context = g_main_context_new ();
  g_main_context_push_thread_default (fixture->context);
  fixture->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  fixture->types = g_array_new (FALSE, FALSE, sizeof (SoupWebsocketDataType));
  fixture->inbox = g_byte_array_new ();

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  fixture->fd = fds[1];
  if (pending_len > 0)
    g_assert_cmpint (write (fixture->fd, pending, pending_len), ==, (gssize) pending_len);
  socket = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  connection = g_socket_connection_factory_create_connection (socket);
  fixture->ws = lk_websocket_new (G_IO_STREAM (connection), watch_socket ? socket : NULL);
  g_signal_connect (fixture->ws, "message", G_CALLBACK (on_message_cb), fixture);
  g_signal_connect (fixture->ws, "closed", G_CALLBACK (on_closed_cb), fixture);
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  fixture_start (fixture, GPOINTER_TO_INT (data), NULL, 0);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->ws);
  if (fixture->fd >= 0)
    close (fixture->fd);
  /* Let a pending close finish before the context goes. */
  while (g_main_context_iteration (fixture->context, FALSE))
    ;
  g_main_context_pop_thread_default (fixture->context);
  g_clear_pointer (&fixture->context, g_main_context_unref);
  g_clear_pointer (&fixture->messages, g_ptr_array_unref);
  g_clear_pointer (&fixture->types, g_array_unref);
  g_clear_pointer (&fixture->inbox, g_byte_array_unref);
}

static void
iterate_until (Fixture  *fixture,
               gboolean (*done) (Fixture *fixture, gpointer data),
               gpointer  data)
{
  gint64 until = g_get_monotonic_time () + DEADLINE_US;

  while (!done (fixture, data) && g_get_monotonic_time () < until)
    {
      if (!g_main_context_iteration (fixture->context, FALSE))
        g_usleep (1000);
    }
  g_assert_true (done (fixture, data));
}

static gboolean
has_messages (Fixture *fixture,
              gpointer data)
{
  return fixture->messages->len >= GPOINTER_TO_UINT (data);
}

static gboolean
is_closed (Fixture *fixture,
           gpointer data)
{
  return fixture->closed > 0;
}

/* --- the client's side, by hand --- */

static void
write_all (int         fd,
           const void *data,
           gsize       len)
{
  const guint8 *p = data;

  while (len > 0)
    {
      gssize n = write (fd, p, len);

      g_assert_cmpint (n, >, 0);
      p += n;
      len -= n;
    }
}

/* A client frame: masked unless @unmasked; @first_byte_extra ORs reserved bits in. */
static GByteArray *
client_frame_full (guint8      opcode,
                   gboolean    fin,
                   const void *payload,
                   gsize       len,
                   gboolean    unmasked,
                   guint8      first_byte_extra)
{
  GByteArray *frame = g_byte_array_new ();
  guint8 header[10];
  gsize header_len;
  const guint8 mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

  header[0] = (fin ? 0x80 : 0) | first_byte_extra | opcode;
  if (len < 126)
    {
      header[1] = len;
      header_len = 2;
    }
  else if (len <= 0xffff)
    {
      header[1] = 126;
      header[2] = len >> 8;
      header[3] = len & 0xff;
      header_len = 4;
    }
  else
    {
      header[1] = 127;
      for (int i = 0; i < 8; i++)
        header[2 + i] = ((guint64) len >> (8 * (7 - i))) & 0xff;
      header_len = 10;
    }
  if (!unmasked)
    header[1] |= 0x80;
  g_byte_array_append (frame, header, header_len);
  if (!unmasked)
    g_byte_array_append (frame, mask, 4);
  for (gsize i = 0; i < len; i++)
    {
      guint8 b = ((const guint8 *) payload)[i] ^ (unmasked ? 0 : mask[i & 3]);

      g_byte_array_append (frame, &b, 1);
    }
  return frame;
}

static void
client_send (Fixture    *fixture,
             guint8      opcode,
             gboolean    fin,
             const void *payload,
             gsize       len)
{
  g_autoptr(GByteArray) frame = client_frame_full (opcode, fin, payload, len, FALSE, 0);

  write_all (fixture->fd, frame->data, frame->len);
}

/* Reads one server frame, running the server's context meanwhile. FALSE on EOF. */
static gboolean
client_read_frame (Fixture *fixture,
                   Frame   *frame)
{
  GByteArray *buffer = fixture->inbox;
  gint64 until = g_get_monotonic_time () + DEADLINE_US;

  for (;;)
    {
      struct pollfd pfd = { fixture->fd, POLLIN, 0 };
      guint8 chunk[65536];
      gssize n;

      if (buffer->len >= 2)
        {
          guint64 len = buffer->data[1] & 0x7f;
          gsize header_len = 2;

          g_assert_cmpuint (buffer->data[1] & 0x80, ==, 0);   /* a server never masks */
          if (len == 126 && buffer->len >= 4)
            {
              len = (buffer->data[2] << 8) | buffer->data[3];
              header_len = 4;
            }
          else if (len == 127 && buffer->len >= 10)
            {
              len = 0;
              for (int i = 0; i < 8; i++)
                len = (len << 8) | buffer->data[2 + i];
              header_len = 10;
            }
          if (len < 126 || header_len > 2)
            {
              if (buffer->len >= header_len + len)
                {
                  frame->fin = (buffer->data[0] & 0x80) != 0;
                  frame->opcode = buffer->data[0] & 0x0f;
                  frame->payload = g_bytes_new (buffer->data + header_len, len);
                  g_byte_array_remove_range (buffer, 0, header_len + len);
                  return TRUE;
                }
            }
        }

      g_assert_cmpint (g_get_monotonic_time (), <, until);
      while (g_main_context_iteration (fixture->context, FALSE))
        ;
      if (poll (&pfd, 1, 5) <= 0)
        continue;
      n = read (fixture->fd, chunk, sizeof chunk);
      if (n == 0)
        {
          g_byte_array_set_size (buffer, 0);
          return FALSE;
        }
      g_assert_cmpint (n, >, 0);
      g_byte_array_append (buffer, chunk, n);
    }
}

/* The server's close frame, then EOF; returns its code. */
static gushort
expect_close (Fixture *fixture)
{
  Frame frame = { 0 };
  gsize len;
  const guint8 *data;
  gushort code = 0;

  g_assert_true (client_read_frame (fixture, &frame));
  g_assert_cmpuint (frame.opcode, ==, 0x8);
  data = g_bytes_get_data (frame.payload, &len);
  if (len >= 2)
    code = (data[0] << 8) | data[1];
  frame_clear (&frame);
  g_assert_false (client_read_frame (fixture, &frame));
  iterate_until (fixture, is_closed, NULL);
  g_assert_cmpuint (fixture->closed, ==, 1);
  g_assert_cmpint (lk_websocket_get_state (fixture->ws), ==, SOUP_WEBSOCKET_STATE_CLOSED);
  return code;
}

static void
assert_message (Fixture    *fixture,
                guint       index,
                const char *text)
{
  GBytes *message = g_ptr_array_index (fixture->messages, index);
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  g_assert_cmpmem (data, len, text, strlen (text));
}

/* --- the cases --- */

static void
test_text_both_ways (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *long_text = g_strnfill (300, 'x');
  g_autofree char *longer_text = g_strnfill (70000, 'y');
  Frame frame = { 0 };

  client_send (fixture, 0x1, TRUE, "{\"type\":\"ping\"}", 15);
  iterate_until (fixture, has_messages, GUINT_TO_POINTER (1));
  assert_message (fixture, 0, "{\"type\":\"ping\"}");
  g_assert_cmpint (g_array_index (fixture->types, SoupWebsocketDataType, 0), ==,
                   SOUP_WEBSOCKET_DATA_TEXT);

  /* The three length encodings of RFC 6455, 5.2. */
  lk_websocket_send_text (fixture->ws, "短");
  lk_websocket_send_text (fixture->ws, long_text);
  lk_websocket_send_text (fixture->ws, longer_text);
  g_assert_true (client_read_frame (fixture, &frame));
  g_assert_cmpuint (frame.opcode, ==, 0x1);
  g_assert_true (frame.fin);
  g_assert_cmpmem (g_bytes_get_data (frame.payload, NULL), g_bytes_get_size (frame.payload), "短", 3);
  frame_clear (&frame);
  g_assert_true (client_read_frame (fixture, &frame));
  g_assert_cmpuint (g_bytes_get_size (frame.payload), ==, 300);
  frame_clear (&frame);
  g_assert_true (client_read_frame (fixture, &frame));
  g_assert_cmpuint (g_bytes_get_size (frame.payload), ==, 70000);
  frame_clear (&frame);

  /* A binary message is handed on as binary. */
  client_send (fixture, 0x2, TRUE, "\x00\x01", 2);
  iterate_until (fixture, has_messages, GUINT_TO_POINTER (2));
  g_assert_cmpint (g_array_index (fixture->types, SoupWebsocketDataType, 1), ==,
                   SOUP_WEBSOCKET_DATA_BINARY);
  g_assert_cmpuint (fixture->closed, ==, 0);
}

/* Several texts written together arrive as separate frames, in order, past the 32 that go in
 * one write. */
static void
test_send_texts (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);

  /* One of them over 125 bytes, for the longer header among the short ones. */
  for (guint i = 0; i < 70; i++)
    g_ptr_array_add (texts, i == 40 ? g_strdup_printf ("{\"n\":40,\"pad\":\"%0300d\"}", 0)
                                    : g_strdup_printf ("{\"n\":%u}", i));
  lk_websocket_send_texts (fixture->ws, (const char *const *) texts->pdata, texts->len);
  for (guint i = 0; i < texts->len; i++)
    {
      Frame frame = { 0 };
      const char *text = texts->pdata[i];

      g_assert_true (client_read_frame (fixture, &frame));
      g_assert_cmpuint (frame.opcode, ==, 0x1);
      g_assert_cmpmem (g_bytes_get_data (frame.payload, NULL), g_bytes_get_size (frame.payload),
                       text, strlen (text));
      frame_clear (&frame);
    }
}

/* Bytes that arrived before the connection was made are read without waiting for more. */
static void
test_bytes_already_there (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(GByteArray) frame = client_frame_full (0x1, TRUE, "early", 5, FALSE, 0);

  fixture_start (fixture, GPOINTER_TO_INT (data), frame->data, frame->len);
  iterate_until (fixture, has_messages, GUINT_TO_POINTER (1));
  assert_message (fixture, 0, "early");
}

/* Frames split anywhere, and several in one write, come out as whole messages in order. */
static void
test_split_and_joined (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *text = g_strnfill (200, 'z');
  g_autoptr(GByteArray) first = client_frame_full (0x1, TRUE, text, 200, FALSE, 0);
  g_autoptr(GByteArray) two = client_frame_full (0x1, TRUE, "a", 1, FALSE, 0);
  g_autoptr(GByteArray) three = client_frame_full (0x1, TRUE, "b", 1, FALSE, 0);

  for (guint i = 0; i < first->len; i++)
    {
      write_all (fixture->fd, first->data + i, 1);
      g_main_context_iteration (fixture->context, FALSE);
    }
  iterate_until (fixture, has_messages, GUINT_TO_POINTER (1));
  g_assert_cmpuint (g_bytes_get_size (g_ptr_array_index (fixture->messages, 0)), ==, 200);

  g_byte_array_append (two, three->data, three->len);
  write_all (fixture->fd, two->data, two->len);
  iterate_until (fixture, has_messages, GUINT_TO_POINTER (3));
  assert_message (fixture, 1, "a");
  assert_message (fixture, 2, "b");
}

/* A fragmented message, with a ping between its fragments (5.4): one message; the ping is
 * answered at once with its own payload. */
static void
test_fragments_and_ping (Fixture       *fixture,
                         gconstpointer  data)
{
  Frame frame = { 0 };

  client_send (fixture, 0x1, FALSE, "{\"type\":", 8);
  client_send (fixture, 0x9, TRUE, "are you there", 13);
  client_send (fixture, 0x0, FALSE, "\"sta", 4);
  client_send (fixture, 0x0, TRUE, "tus\"}", 5);
  g_assert_true (client_read_frame (fixture, &frame));
  g_assert_cmpuint (frame.opcode, ==, 0xA);
  g_assert_cmpmem (g_bytes_get_data (frame.payload, NULL), g_bytes_get_size (frame.payload),
                   "are you there", 13);
  frame_clear (&frame);
  iterate_until (fixture, has_messages, GUINT_TO_POINTER (1));
  assert_message (fixture, 0, "{\"type\":\"status\"}");

  /* A pong is taken and ignored. */
  client_send (fixture, 0xA, TRUE, "x", 1);
  client_send (fixture, 0x1, TRUE, "after", 5);
  iterate_until (fixture, has_messages, GUINT_TO_POINTER (2));
  assert_message (fixture, 1, "after");
  g_assert_cmpuint (fixture->messages->len, ==, 2);
}

/* The client closes: the server echoes its code, then closes the TCP connection first. */
static void
test_client_closes (Fixture       *fixture,
                    gconstpointer  data)
{
  client_send (fixture, 0x8, TRUE, "\x03\xe8" "bye", 5);
  g_assert_cmpuint (expect_close (fixture), ==, 1000);
  g_assert_cmpuint (lk_websocket_get_close_code (fixture->ws), ==, 1000);
  /* Closed is closed: sending does nothing. */
  lk_websocket_send_text (fixture->ws, "too late");
  g_assert_cmpuint (fixture->closed, ==, 1);
}

/* The server closes: its close frame carries the code and reason; once the client answers, the
 * server closes the connection. */
static void
test_server_closes (Fixture       *fixture,
                    gconstpointer  data)
{
  Frame frame = { 0 };
  const guint8 *payload;
  gsize len;

  lk_websocket_close (fixture->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "server stopping");
  g_assert_cmpint (lk_websocket_get_state (fixture->ws), ==, SOUP_WEBSOCKET_STATE_CLOSING);
  /* Messages queued after the close frame are not sent. */
  lk_websocket_send_text (fixture->ws, "not sent");
  g_assert_true (client_read_frame (fixture, &frame));
  g_assert_cmpuint (frame.opcode, ==, 0x8);
  payload = g_bytes_get_data (frame.payload, &len);
  g_assert_cmpuint (len, ==, 2 + strlen ("server stopping"));
  g_assert_cmpuint ((payload[0] << 8) | payload[1], ==, 1001);
  g_assert_cmpmem (payload + 2, len - 2, "server stopping", strlen ("server stopping"));
  frame_clear (&frame);
  g_assert_cmpuint (fixture->closed, ==, 0);

  client_send (fixture, 0x8, TRUE, "\x03\xe9", 2);
  g_assert_false (client_read_frame (fixture, &frame));
  iterate_until (fixture, is_closed, NULL);
  g_assert_cmpuint (fixture->closed, ==, 1);
}

/* A peer that never answers the close frame is cut off after the timeout. */
static void
test_close_timeout (Fixture       *fixture,
                    gconstpointer  data)
{
  Frame frame = { 0 };

  lk_websocket_set_close_timeout (100);
  lk_websocket_close (fixture->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  lk_websocket_set_close_timeout (5000);
  g_assert_true (client_read_frame (fixture, &frame));
  g_assert_cmpuint (frame.opcode, ==, 0x8);
  frame_clear (&frame);
  iterate_until (fixture, is_closed, NULL);
  g_assert_false (client_read_frame (fixture, &frame));
}

/* A peer that goes away without a close frame: "closed", once. */
static void
test_peer_vanishes (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GByteArray) frame = client_frame_full (0x1, TRUE, "half a frame", 12, FALSE, 0);

  write_all (fixture->fd, frame->data, 6);
  close (fixture->fd);
  fixture->fd = -1;
  iterate_until (fixture, is_closed, NULL);
  g_assert_cmpuint (fixture->messages->len, ==, 0);
  g_assert_cmpuint (fixture->closed, ==, 1);
}

typedef struct
{
  const char *name;
  guint8      opcode;
  gboolean    fin;
  const char *payload;
  gsize       len;
  gboolean    unmasked;
  guint8      extra;           /* reserved bits */
  const char *before;          /* a text fragment sent first, if any */
  gushort     code;            /* the close code the server must send */
} BadFrame;

static const BadFrame bad_frames[] = {
  { "unmasked", 0x1, TRUE, "hi", 2, TRUE, 0, NULL, 1002 },
  { "rsv1", 0x1, TRUE, "hi", 2, FALSE, 0x40, NULL, 1002 },
  { "rsv3", 0x1, TRUE, "hi", 2, FALSE, 0x10, NULL, 1002 },
  { "opcode-3", 0x3, TRUE, "hi", 2, FALSE, 0, NULL, 1002 },
  { "opcode-b", 0xB, TRUE, "", 0, FALSE, 0, NULL, 1002 },
  { "fragmented-ping", 0x9, FALSE, "p", 1, FALSE, 0, NULL, 1002 },
  { "long-ping", 0x9, TRUE, NULL, 126, FALSE, 0, NULL, 1002 },
  { "continuation-of-nothing", 0x0, TRUE, "x", 1, FALSE, 0, NULL, 1002 },
  { "text-inside-fragments", 0x1, TRUE, "x", 1, FALSE, 0, "{\"a\":", 1002 },
  { "invalid-utf8", 0x1, TRUE, "\xc3\x28", 2, FALSE, 0, NULL, 1007 },
  { "invalid-utf8-fragments", 0x0, TRUE, "\x28", 1, FALSE, 0, "ok \xe2\x82", 1007 },
  { "oversize", 0x1, TRUE, NULL, 5000, FALSE, 0, NULL, 1009 },
  { "oversize-fragments", 0x0, TRUE, NULL, 3000, FALSE, 0, "", 1009 },
  { "close-one-byte", 0x8, TRUE, "\x03", 1, FALSE, 0, NULL, 1002 },
  { "close-reserved-1005", 0x8, TRUE, "\x03\xed", 2, FALSE, 0, NULL, 1002 },
  { "close-reason-not-utf8", 0x8, TRUE, "\x03\xe8\xff", 3, FALSE, 0, NULL, 1007 },
};

/* Each broken frame fails the connection with the right code (7.4.1), delivers nothing of the
 * broken message, and ends with the TCP connection closed. */
static void
test_bad_frame (Fixture       *fixture,
                gconstpointer  data)
{
  const BadFrame *bad = data;
  g_autofree char *filler = NULL;
  g_autoptr(GByteArray) frame = NULL;
  const char *payload = bad->payload;

  fixture_start (fixture, TRUE, NULL, 0);
  lk_websocket_set_max_incoming_payload_size (fixture->ws, 4096);
  if (payload == NULL)
    payload = filler = g_strnfill (bad->len, 'p');
  if (bad->before != NULL)
    {
      g_autofree char *first = bad->len >= 3000 ? g_strnfill (2000, 'f') : g_strdup (bad->before);

      client_send (fixture, 0x1, FALSE, first, strlen (first));
    }
  frame = client_frame_full (bad->opcode, bad->fin, payload, bad->len, bad->unmasked, bad->extra);
  write_all (fixture->fd, frame->data, frame->len);
  g_assert_cmpuint (expect_close (fixture), ==, bad->code);
  g_assert_cmpuint (fixture->messages->len, ==, 0);
}

/* A peer that stops reading is dropped once LK_WEBSOCKET_MAX_QUEUED bytes wait, instead of
 * holding the server's memory. */
static void
test_peer_not_reading (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autofree char *text = g_strnfill (64 * 1024, 'q');
  guint sent = 0;

  while (fixture->closed == 0 && sent < 2 * LK_WEBSOCKET_MAX_QUEUED / (64 * 1024))
    {
      lk_websocket_send_text (fixture->ws, text);
      sent++;
      g_main_context_iteration (fixture->context, FALSE);
    }
  iterate_until (fixture, is_closed, NULL);
  g_assert_cmpuint (sent, <, 2 * LK_WEBSOCKET_MAX_QUEUED / (64 * 1024));
}

/* A peer that reads steadily gets everything, in order, however much passes in all: three
 * times the queue's limit here, through many partial writes. */
static void
test_slow_reader (Fixture       *fixture,
                  gconstpointer  data)
{
  const guint size = 64 * 1024;
  const guint total = 3 * LK_WEBSOCKET_MAX_QUEUED / size;
  g_autofree char *text = g_strnfill (size, 'r');
  guint received = 0;

  for (guint sent = 0; sent < total; sent++)
    {
      /* Each message says its number in its first bytes. */
      g_snprintf (text, 9, "%08u", sent);
      text[8] = 'r';
      lk_websocket_send_text (fixture->ws, text);
      while (received + 16 <= sent || (sent == total - 1 && received < total))
        {
          Frame frame = { 0 };
          g_autofree char *expected = g_strdup_printf ("%08u", received);

          g_assert_true (client_read_frame (fixture, &frame));
          g_assert_cmpuint (g_bytes_get_size (frame.payload), ==, size);
          g_assert_cmpmem (g_bytes_get_data (frame.payload, NULL), 8, expected, 8);
          frame_clear (&frame);
          received++;
        }
    }
  g_assert_cmpuint (received, ==, total);
  g_assert_cmpuint (fixture->closed, ==, 0);
  g_assert_cmpint (lk_websocket_get_state (fixture->ws), ==, SOUP_WEBSOCKET_STATE_OPEN);
}

/* The connection's object may go while its close is under way (a handler dropped the last
 * reference in "closed"): nothing is touched after. */
static void
on_closed_drop_cb (LkWebsocket *ws,
                   gpointer     user_data)
{
  Fixture *fixture = user_data;

  g_clear_object (&fixture->ws);
}

static void
test_unref_in_closed (Fixture       *fixture,
                      gconstpointer  data)
{
  g_signal_connect (fixture->ws, "closed", G_CALLBACK (on_closed_drop_cb), fixture);
  client_send (fixture, 0x8, TRUE, "\x03\xe8", 2);
  iterate_until (fixture, is_closed, NULL);
  g_assert_null (fixture->ws);
}

/* --- the shared epoll source under the plain-socket connections --- */

typedef struct
{
  int           fds[2];
  LkEpollWatch *watch;
  guint         calls;
  LkEpollWatch **free_in_callback;    /* a watch to free from this one's callback */
} Watched;

static void
on_ready_cb (gpointer user_data)
{
  Watched *w = user_data;

  w->calls++;
  if (w->free_in_callback != NULL)
    g_clear_pointer (w->free_in_callback, lk_epoll_watch_free);
}

static void
watched_init (Watched *w)
{
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, w->fds), ==, 0);
  w->watch = lk_epoll_watch_new (w->fds[0], on_ready_cb, w);
}

static void
watched_clear (Watched *w)
{
  g_clear_pointer (&w->watch, lk_epoll_watch_free);
  close (w->fds[0]);
  close (w->fds[1]);
}

/* A few iterations, not "until idle": a socket nobody reads stays ready. */
static void
run_context (GMainContext *context)
{
  for (int i = 0; i < 5; i++)
    g_main_context_iteration (context, FALSE);
}

/* One source per context however many sockets; gone with the last watch. Level-triggered: a
 * callback that reads nothing is called again. */
static void
test_epoll_sources (void)
{
  g_autoptr(GMainContext) first = g_main_context_new ();
  g_autoptr(GMainContext) second = g_main_context_new ();
  Watched a = { 0 }, b = { 0 }, c = { 0 };

  g_assert_cmpuint (lk_epoll_watch_n_sources (), ==, 0);
  g_main_context_push_thread_default (first);
  watched_init (&a);
  watched_init (&b);
  g_main_context_pop_thread_default (first);
  g_main_context_push_thread_default (second);
  watched_init (&c);
  g_main_context_pop_thread_default (second);
  g_assert_cmpuint (lk_epoll_watch_n_sources (), ==, 2);

  g_assert_cmpint (write (a.fds[1], "x", 1), ==, 1);
  run_context (second);
  g_assert_cmpuint (a.calls, ==, 0);          /* another context's socket */
  run_context (first);
  g_assert_cmpuint (a.calls, >=, 2);          /* not read: called again */
  g_assert_cmpuint (b.calls, ==, 0);

  watched_clear (&a);
  watched_clear (&b);
  g_assert_cmpuint (lk_epoll_watch_n_sources (), ==, 1);
  watched_clear (&c);
  g_assert_cmpuint (lk_epoll_watch_n_sources (), ==, 0);
  run_context (first);
  run_context (second);
}

/* A callback frees another watch whose socket is ready in the same round, then its own, the
 * last one of the context: neither is called after it is freed, and nothing freed is touched
 * (ASan checks the second half). A new watch on that context works. */
static void
test_epoll_free_in_callback (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  Watched a = { 0 }, b = { 0 };

  g_main_context_push_thread_default (context);
  watched_init (&a);
  watched_init (&b);
  a.free_in_callback = &b.watch;
  b.free_in_callback = &a.watch;
  g_assert_cmpint (write (a.fds[1], "x", 1), ==, 1);
  g_assert_cmpint (write (b.fds[1], "x", 1), ==, 1);
  /* One iteration, one epoll_wait() with both sockets ready: whichever came first freed the
   * other before its turn. */
  g_main_context_iteration (context, FALSE);
  g_assert_cmpuint (a.calls + b.calls, ==, 1);
  g_assert_true (a.watch == NULL || b.watch == NULL);
  if (a.calls == 1)
    a.free_in_callback = &a.watch;
  else
    b.free_in_callback = &b.watch;
  g_main_context_iteration (context, FALSE);
  run_context (context);
  g_assert_null (a.watch);
  g_assert_null (b.watch);
  g_assert_cmpuint (a.calls + b.calls, ==, 2);
  g_assert_cmpuint (lk_epoll_watch_n_sources (), ==, 0);

  watched_clear (&a);
  watched_clear (&b);
  watched_init (&a);
  g_assert_cmpint (write (a.fds[1], "y", 1), ==, 1);
  run_context (context);
  g_assert_cmpuint (a.calls, >=, 1);
  watched_clear (&a);
  g_main_context_pop_thread_default (context);
}

/* A descriptor the kernel will not watch (a regular file: EPERM) gives NULL and a warning, and
 * leaves no source behind, so the caller can fall back to a source of its own. */
static void
test_epoll_refused (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("lk-epoll-XXXXXX", &path, NULL);

  g_assert_cmpint (fd, >=, 0);
  g_main_context_push_thread_default (context);
  g_test_expect_message ("lingka-epoll", G_LOG_LEVEL_WARNING, "epoll_ctl (ADD, *");
  g_assert_null (lk_epoll_watch_new (fd, on_ready_cb, NULL));
  g_test_assert_expected_messages ();
  g_assert_cmpuint (lk_epoll_watch_n_sources (), ==, 0);
  g_main_context_pop_thread_default (context);
  close (fd);
  g_unlink (path);
}

static void
add (const char *name,
     void      (*func) (Fixture *, gconstpointer),
     gboolean    both)
{
  g_autofree char *plain = g_strdup_printf ("/server/websocket/%s", name);
  g_autofree char *pollable = g_strdup_printf ("/server/websocket/pollable/%s", name);

  g_test_add (plain, Fixture, GINT_TO_POINTER (TRUE), fixture_setup, func, fixture_teardown);
  if (both)
    g_test_add (pollable, Fixture, GINT_TO_POINTER (FALSE), fixture_setup, func, fixture_teardown);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  add ("text-both-ways", test_text_both_ways, TRUE);
  add ("send-texts", test_send_texts, TRUE);
  add ("split-and-joined", test_split_and_joined, TRUE);
  add ("fragments-and-ping", test_fragments_and_ping, TRUE);
  add ("client-closes", test_client_closes, TRUE);
  add ("server-closes", test_server_closes, TRUE);
  add ("close-timeout", test_close_timeout, FALSE);
  add ("peer-vanishes", test_peer_vanishes, TRUE);
  add ("peer-not-reading", test_peer_not_reading, TRUE);
  add ("slow-reader", test_slow_reader, TRUE);
  add ("unref-in-closed", test_unref_in_closed, FALSE);
  g_test_add ("/server/websocket/bytes-already-there", Fixture, GINT_TO_POINTER (TRUE), NULL,
              test_bytes_already_there, fixture_teardown);
  g_test_add ("/server/websocket/pollable/bytes-already-there", Fixture, GINT_TO_POINTER (FALSE),
              NULL, test_bytes_already_there, fixture_teardown);
  g_test_add_func ("/server/epoll-watch/sources", test_epoll_sources);
  g_test_add_func ("/server/epoll-watch/free-in-callback", test_epoll_free_in_callback);
  g_test_add_func ("/server/epoll-watch/refused", test_epoll_refused);
  for (guint i = 0; i < G_N_ELEMENTS (bad_frames); i++)
    {
      g_autofree char *path = g_strdup_printf ("/server/websocket/bad-frame/%s", bad_frames[i].name);

      g_test_add (path, Fixture, &bad_frames[i], NULL, test_bad_frame, fixture_teardown);
    }

  return g_test_run ();
}
