/* lk-websocket.h: the server's side of a WebSocket (RFC 6455) on a stream taken from libsoup
 *
 * libsoup does the HTTP part: it reads the upgrade request, and soup_websocket_server_
 * process_handshake() checks it and writes the 101. lk_websocket_accept() then takes the stream
 * over and frames messages on it itself, in place of SoupWebsocketConnection.
 *
 * Why not SoupWebsocketConnection: with libsoup 3.2 on GLib 2.74, every read it makes destroys
 * its input source and attaches a new one, three sources deep (the stream's buffer over the
 * socket), and GLib dispatches each of the three, blocking and unblocking each, and every block
 * and unblock writes to the context's eventfd. That is six write()s and one more main-loop
 * iteration for each message a kiosk sends, plus the formatting of several g_debug() lines that
 * nobody reads. Measured on the claim benchmark, they were two thirds of the server's system
 * calls (docs/bench-server.md, "Eighth session"). Here a connection is watched the same way
 * for its whole life (on a plain socket, through its thread's one epoll descriptor), by a
 * source GLib never blocks (g_source_set_can_recurse()), with no logging per message.
 *
 * What is implemented of RFC 6455, for a server: text and binary messages, fragmented or not,
 * up to a maximum size (1009 beyond it); ping answered with pong; the closing handshake either
 * way, with a timeout; client frames must be masked, reserved bits and unknown opcodes are
 * protocol errors (1002), text must be UTF-8 (1007). No extensions are negotiated. A peer that
 * stops reading is dropped once LK_WEBSOCKET_MAX_QUEUED bytes wait for it.
 *
 * A connection belongs to the thread-default main context of the thread that accepted it, and
 * is used from that thread only.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* What may wait unsent for one peer before it is dropped as not reading. */
#define LK_WEBSOCKET_MAX_QUEUED (4 * 1024 * 1024)

#define LK_TYPE_WEBSOCKET (lk_websocket_get_type ())
G_DECLARE_FINAL_TYPE (LkWebsocket, lk_websocket, LK, WEBSOCKET, GObject)

/* Called once the 101 is written, with the new connection (the callee takes its own reference
 * if it keeps it). */
typedef void (*LkWebsocketAcceptedFunc) (SoupServerMessage *msg,
                                         LkWebsocket       *websocket,
                                         gpointer           user_data);

/* Checks @msg's upgrade request and answers it. On a bad handshake it returns FALSE with the
 * 400 set by libsoup, and frees @user_data. Otherwise it sets the 101; once that is written,
 * @accepted gets the connection, and then @user_data is freed. If the 101 is never written
 * (the client went away), @accepted is never called, and @user_data is freed with @msg. */
gboolean            lk_websocket_accept                      (SoupServerMessage       *msg,
                                                              LkWebsocketAcceptedFunc  accepted,
                                                              gpointer                 user_data,
                                                              GDestroyNotify           destroy);

/* The server's side of a WebSocket on @stream, whose handshake is done. @socket, if not NULL,
 * is the plain TCP socket under @stream (owned by it), watched directly; give NULL under TLS. */
LkWebsocket        *lk_websocket_new                         (GIOStream               *stream,
                                                              GSocket                 *socket);

SoupWebsocketState  lk_websocket_get_state                   (LkWebsocket             *self);
/* The code of the peer's close frame, or 0 (none yet, or none given). */
gushort             lk_websocket_get_close_code              (LkWebsocket             *self);
void                lk_websocket_set_max_incoming_payload_size (LkWebsocket           *self,
                                                              guint64                  max_size);

/* Queues a text message; does nothing unless the connection is open. */
void                lk_websocket_send_text                   (LkWebsocket             *self,
                                                              const char              *text);
/* Queues several text messages, in order, written together (one system call where the socket
 * takes them all). */
void                lk_websocket_send_texts                  (LkWebsocket             *self,
                                                              const char *const       *texts,
                                                              guint                    n_texts);
/* Starts the closing handshake with @code and @reason (may be NULL); "closed" follows once the
 * peer answers, or after a timeout. */
void                lk_websocket_close                       (LkWebsocket             *self,
                                                              gushort                  code,
                                                              const char              *reason);

/* Tests: the closing handshake's timeout, in milliseconds (5,000 by default). */
void                lk_websocket_set_close_timeout           (guint                    timeout_ms);

/* Signals, with SoupWebsocketConnection's signatures:
 *   "message" (LkWebsocket *, SoupWebsocketDataType type, GBytes *message, gpointer)
 *   "closed"  (LkWebsocket *, gpointer): once, when the stream is closed, cleanly or not. */

G_END_DECLS
