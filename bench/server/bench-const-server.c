/* bench-const-server: a plain libsoup server that returns a constant answer
 *
 * The yardstick for lingka-server's figures, measured on the same machine in the same run:
 * every HTTP request gets the same JSON body (built with json-glib each time, like a real
 * handler would), and every WebSocket text message (on the kiosk and event socket paths) gets a constant JSON answer.
 *
 * By default it runs one main context, as MEASURED.md measured. --threads N runs N listener
 * threads with SO_REUSEPORT sockets on one port, each with its own context and SoupServer,
 * for a comparison with the same threading as lingka-server.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

typedef struct
{
  int           fd;
  GMainContext *context;
  GMainLoop    *loop;
  SoupServer   *server;
  GPtrArray    *connections;
} Listener;

static int opt_port = 0;
static int opt_threads = 1;
static char *opt_listen = NULL;

static GOptionEntry entries[] = {
  { "listen", 'l', 0, G_OPTION_ARG_STRING, &opt_listen, "Address to listen on (loopback only)", "ADDR" },
  { "port", 'p', 0, G_OPTION_ARG_INT, &opt_port, "Port (0: any free port)", "N" },
  { "threads", 't', 0, G_OPTION_ARG_INT, &opt_threads, "Listener threads", "N" },
  { NULL }
};

static void
http_cb (SoupServer        *server,
         SoupServerMessage *msg,
         const char        *path,
         GHashTable        *query,
         gpointer           data)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  char *text;
  gsize len;

  /* libsoup runs the plain handler first: leaving the status unset lets a WebSocket upgrade
   * on the same path go on to the WebSocket handler. */
  if (soup_message_headers_header_contains (soup_server_message_get_request_headers (msg),
                                            "Upgrade", "websocket"))
    return;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, "4f1c2a9be0d34e6f8a7b5c3d2e1f0a9b");
  json_builder_set_member_name (builder, "token");
  json_builder_add_string_value (builder, "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071");
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, "verified");
  json_builder_set_member_name (builder, "fee_fen");
  json_builder_add_int_value (builder, 2000);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, &len);

  soup_server_message_set_status (msg, SOUP_STATUS_CREATED, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, text, len);
}

static void
on_ws_message_cb (SoupWebsocketConnection *connection,
                  SoupWebsocketDataType    type,
                  GBytes                  *message,
                  gpointer                 data)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *reply = NULL;
  const char *id = "";
  gsize len;
  const char *text = g_bytes_get_data (message, &len);

  /* Parse the request and echo its id, so that the work is comparable with a real answer. */
  if (json_parser_load_from_data (parser, text, len, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      JsonObject *object = json_node_get_object (json_parser_get_root (parser));

      if (json_object_has_member (object, "id"))
        id = json_object_get_string_member_with_default (object, "id", "");
    }

  reply = g_strdup_printf ("{\"type\":\"claim.rejected\",\"re\":\"%s\",\"reason\":\"invalid\"}", id);
  soup_websocket_connection_send_text (connection, reply);
}

static void
on_ws_closed_cb (SoupWebsocketConnection *connection,
                 gpointer                 data)
{
  Listener *listener = data;

  g_ptr_array_remove_fast (listener->connections, connection);
}

static void
websocket_cb (SoupServer              *server,
              SoupServerMessage       *msg,
              const char              *path,
              SoupWebsocketConnection *connection,
              gpointer                 data)
{
  Listener *listener = data;

  /* Our own reference until "closed" (MEASURED.md, pitfall 4). */
  g_ptr_array_add (listener->connections, g_object_ref (connection));
  g_signal_connect (connection, "message", G_CALLBACK (on_ws_message_cb), NULL);
  g_signal_connect (connection, "closed", G_CALLBACK (on_ws_closed_cb), listener);
}

static int
listen_socket (const char *address,
               int         port,
               GError    **error)
{
  struct sockaddr_in sin = { 0 };
  int fd, one = 1;

  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    goto fail;
  /* SO_REUSEPORT before bind(2), and no g_socket_bind (MEASURED.md, pitfall 9). */
  if (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
      || setsockopt (fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    goto fail;
  sin.sin_family = AF_INET;
  sin.sin_port = htons (port);
  if (inet_pton (AF_INET, address, &sin.sin_addr) != 1)
    {
      errno = EINVAL;
      goto fail;
    }
  if (bind (fd, (struct sockaddr *) &sin, sizeof sin) < 0)
    goto fail;
  /* A big backlog: the default of 10 drops SYNs under a burst (pitfall 1). */
  if (listen (fd, 4096) < 0)
    goto fail;
  return fd;

fail:
  {
    int saved = errno;

    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "listen on %s:%d: %s",
                 address, port, g_strerror (saved));
    if (fd >= 0)
      close (fd);
    return -1;
  }
}

static gpointer
listener_thread (gpointer data)
{
  Listener *listener = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;

  g_main_context_push_thread_default (listener->context);

  listener->server = soup_server_new ("server-header", "bench-const-server", NULL);
  /* The paths of lingka-server, so that the same clients run against both. */
  soup_server_add_websocket_handler (listener->server, "/api/v1/kiosk/ws", NULL, NULL,
                                     websocket_cb, listener, NULL);
  soup_server_add_websocket_handler (listener->server, "/api/v1/applications", NULL, NULL,
                                     websocket_cb, listener, NULL);
  soup_server_add_handler (listener->server, "/api/v1/applications", http_cb, listener, NULL);
  soup_server_add_handler (listener->server, NULL, http_cb, listener, NULL);

  socket = g_socket_new_from_fd (listener->fd, &error);
  if (socket == NULL || !soup_server_listen_socket (listener->server, socket, 0, &error))
    g_error ("bench-const-server: %s", error->message);

  g_main_loop_run (listener->loop);

  g_main_context_pop_thread_default (listener->context);
  return NULL;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) option_context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();
  struct sockaddr_in bound = { 0 };
  socklen_t bound_len = sizeof bound;
  const char *address;
  int port;

  option_context = g_option_context_new ("— a constant-answer libsoup server for benchmarks");
  g_option_context_add_main_entries (option_context, entries, NULL);
  if (!g_option_context_parse (option_context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  address = opt_listen != NULL ? opt_listen : "127.0.0.1";
  if (!g_str_has_prefix (address, "127."))
    {
      g_printerr ("bench-const-server: loopback addresses only\n");
      return 2;
    }
  if (opt_threads < 1 || opt_threads > 64)
    {
      g_printerr ("bench-const-server: --threads must be 1…64\n");
      return 2;
    }

  port = opt_port;
  for (int i = 0; i < opt_threads; i++)
    {
      Listener *listener = g_new0 (Listener, 1);

      listener->fd = listen_socket (address, port, &error);
      if (listener->fd < 0)
        {
          g_printerr ("bench-const-server: %s\n", error->message);
          return 1;
        }
      if (port == 0)
        {
          getsockname (listener->fd, (struct sockaddr *) &bound, &bound_len);
          port = ntohs (bound.sin_port);
        }
      listener->context = g_main_context_new ();
      listener->loop = g_main_loop_new (listener->context, FALSE);
      listener->connections = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (threads, g_thread_new ("listener", listener_thread, listener));
    }

  g_print ("listening on http://%s:%d/ with %d thread(s)\n", address, port, opt_threads);
  fflush (stdout);

  /* Runs until killed; the listener threads own everything. */
  for (guint i = 0; i < threads->len; i++)
    g_thread_join (g_ptr_array_index (threads, i));

  return 0;
}
