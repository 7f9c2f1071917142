/* lingka-dispenser-sim: a K7X0 card dispenser on a pseudo-terminal
 *
 * Prints the port ("pty:/dev/pts/N") as the first line of stdout, then takes commands, one a
 * line, on stdin and on an optional control socket (--control PATH), and answers each with one
 * line. See lk-dispenser-sim.h for the commands.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>

#include "lk-dispenser-sim.h"

typedef struct
{
  LkDispenserSim   *sim;
  GMainLoop        *loop;
  GSocketService   *service;
  char             *control_path;
} App;

typedef struct
{
  App               *app;
  GSocketConnection *connection;
  GDataInputStream  *input;
} Client;

static void read_client_line (Client *client);

static void
client_free (Client *client)
{
  g_clear_object (&client->input);
  g_clear_object (&client->connection);
  g_free (client);
}

static void
on_client_line_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  Client *client = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *out = NULL;
  GOutputStream *output;

  line = g_data_input_stream_read_line_finish_utf8 (client->input, result, NULL, &error);
  if (line == NULL)
    {
      client_free (client);
      return;
    }

  answer = lk_dispenser_sim_command (client->app->sim, line);
  out = g_strconcat (answer, "\n", NULL);
  output = g_io_stream_get_output_stream (G_IO_STREAM (client->connection));
  if (!g_output_stream_write_all (output, out, strlen (out), NULL, NULL, &error))
    {
      client_free (client);
      return;
    }

  read_client_line (client);
}

static void
read_client_line (Client *client)
{
  g_data_input_stream_read_line_async (client->input, G_PRIORITY_DEFAULT, NULL,
                                       on_client_line_cb, client);
}

static gboolean
on_incoming_cb (GSocketService    *service,
                GSocketConnection *connection,
                GObject           *source_object,
                gpointer           data)
{
  Client *client = g_new0 (Client, 1);

  client->app = data;
  client->connection = g_object_ref (connection);
  client->input = g_data_input_stream_new (
    g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  read_client_line (client);
  return TRUE;
}

static void
on_stdin_line_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  App *app = data;
  GDataInputStream *input = G_DATA_INPUT_STREAM (source);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_autofree char *answer = NULL;

  line = g_data_input_stream_read_line_finish_utf8 (input, result, NULL, &error);
  if (line == NULL)
    {
      /* stdin closed: keep serving the pty and the control socket. */
      g_object_unref (input);
      return;
    }

  answer = lk_dispenser_sim_command (app->sim, line);
  printf ("%s\n", answer);
  fflush (stdout);

  g_data_input_stream_read_line_async (input, G_PRIORITY_DEFAULT, NULL, on_stdin_line_cb, app);
}

static gboolean
on_signal_cb (gpointer data)
{
  App *app = data;

  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  LkDispenserSimOptions options;
  App app = { 0 };
  GDataInputStream *stdin_lines;
  int cards = -1, address = -1, motion_ms = -1, auto_take_ms = -2, low = -1, reject = -1;
  int gap_ms = -1;
  gboolean reply_motion = FALSE;
  g_autofree char *control = NULL;
  g_autofree char *first_uid = NULL;
  const GOptionEntry entries[] = {
    { "cards", 0, 0, G_OPTION_ARG_INT, &cards, "Cards in the hopper (20)", "N" },
    { "address", 0, 0, G_OPTION_ARG_INT, &address, "DIP-switch address (0)", "N" },
    { "motion-ms", 0, 0, G_OPTION_ARG_INT, &motion_ms, "Time of one motion (800)", "MS" },
    { "auto-take", 0, 0, G_OPTION_ARG_INT, &auto_take_ms,
      "The student takes an ejected card after MS (default: only on 'take')", "MS" },
    { "reply-motion", 0, 0, G_OPTION_ARG_NONE, &reply_motion,
      "Firmware that answers motion commands", NULL },
    { "low", 0, 0, G_OPTION_ARG_INT, &low, "Low stock at or below N cards (3)", "N" },
    { "reject-capacity", 0, 0, G_OPTION_ARG_INT, &reject, "Reject box capacity (30)", "N" },
    { "gap-ms", 0, 0, G_OPTION_ARG_INT, &gap_ms,
      "Void frames with a longer pause between bytes (50, 0 = off)", "MS" },
    { "first-uid", 0, 0, G_OPTION_ARG_STRING, &first_uid, "UID of the first card (hex)", "HEX" },
    { "control", 0, 0, G_OPTION_ARG_FILENAME, &control, "Control socket path", "PATH" },
    { NULL }
  };

  context = g_option_context_new ("- a K7X0 card dispenser on a pseudo-terminal");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  lk_dispenser_sim_options_init (&options);
  if (cards >= 0)
    options.cards = cards;
  if (address >= 0)
    options.address = address;
  if (motion_ms >= 0)
    options.motion_ms = motion_ms;
  if (auto_take_ms >= -1)
    options.auto_take_ms = auto_take_ms;
  if (low >= 0)
    options.low_threshold = low;
  if (reject >= 0)
    options.reject_capacity = reject;
  if (gap_ms >= 0)
    options.gap_ms = gap_ms;
  options.reply_motion = reply_motion;
  if (first_uid != NULL)
    {
      guint64 uid;

      if (!g_ascii_string_to_unsigned (first_uid, 16, 0, G_MAXUINT32, &uid, &error))
        {
          g_printerr ("--first-uid: %s\n", error->message);
          return 2;
        }
      options.first_uid = uid;
    }

  app.sim = lk_dispenser_sim_new (&options, &error);
  if (app.sim == NULL)
    {
      g_printerr ("Cannot start the simulator: %s\n", error->message);
      return 1;
    }

  app.loop = g_main_loop_new (NULL, FALSE);

  if (control != NULL)
    {
      g_autoptr(GSocketAddress) socket_address = NULL;

      g_unlink (control);
      socket_address = g_unix_socket_address_new (control);
      app.service = g_socket_service_new ();
      if (!g_socket_listener_add_address (G_SOCKET_LISTENER (app.service), socket_address,
                                          G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                          NULL, NULL, &error))
        {
          g_printerr ("Cannot listen on %s: %s\n", control, error->message);
          return 1;
        }
      g_signal_connect (app.service, "incoming", G_CALLBACK (on_incoming_cb), &app);
      g_socket_service_start (app.service);
      app.control_path = g_strdup (control);
    }

  printf ("%s\n", lk_dispenser_sim_get_port (app.sim));
  fflush (stdout);

  stdin_lines = g_data_input_stream_new (g_unix_input_stream_new (0, FALSE));
  g_data_input_stream_read_line_async (stdin_lines, G_PRIORITY_DEFAULT, NULL, on_stdin_line_cb,
                                       &app);

  g_unix_signal_add (SIGINT, on_signal_cb, &app);
  g_unix_signal_add (SIGTERM, on_signal_cb, &app);

  g_main_loop_run (app.loop);

  if (app.service != NULL)
    {
      g_socket_service_stop (app.service);
      g_socket_listener_close (G_SOCKET_LISTENER (app.service));
      g_clear_object (&app.service);
      g_unlink (app.control_path);
    }
  g_free (app.control_path);
  g_clear_object (&app.sim);
  g_main_loop_unref (app.loop);
  return 0;
}
