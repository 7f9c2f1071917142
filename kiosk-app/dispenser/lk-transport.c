/* lk-transport.c: the byte pipe interface, and the choice of implementation by port name
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "lk-transport.h"
#include "lk-transport-private.h"

G_DEFINE_INTERFACE (LkTransport, lk_transport, G_TYPE_OBJECT)

#define PTY_PREFIX "pty:"

static void
lk_transport_default_init (LkTransportInterface *iface)
{
}

/* A path that libserialport refused may still be a terminal: a pseudo-terminal has no
 * /sys/class/tty entry, which is what libserialport looks for. */
static gboolean
path_is_terminal (const char *path)
{
  int fd;
  gboolean tty;

  if (!g_str_has_prefix (path, "/"))
    return FALSE;

  fd = open (path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  tty = isatty (fd);
  close (fd);
  return tty;
}

LkTransport *
lk_transport_open_by_name (const char  *name,
                           guint        baud,
                           GError     **error)
{
  g_autoptr(GError) serial_error = NULL;
  LkTransport *transport;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_str_has_prefix (name, PTY_PREFIX))
    return lk_transport_pty_open (name + strlen (PTY_PREFIX), baud, error);

  transport = lk_transport_serial_open (name, baud, &serial_error);
  if (transport != NULL)
    return transport;

  if (!g_error_matches (serial_error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT)
      && path_is_terminal (name))
    {
      g_debug ("libserialport refused %s (%s); using termios", name, serial_error->message);
      return lk_transport_pty_open (name, baud, error);
    }

  g_propagate_error (error, g_steal_pointer (&serial_error));
  return NULL;
}

gboolean
lk_transport_write_all (LkTransport  *self,
                        const guint8 *data,
                        gsize         len,
                        GError      **error)
{
  g_return_val_if_fail (LK_IS_TRANSPORT (self), FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  return LK_TRANSPORT_GET_IFACE (self)->write_all (self, data, len, error);
}

gssize
lk_transport_read (LkTransport  *self,
                   guint8       *buffer,
                   gsize         len,
                   gint64        deadline,
                   GError      **error)
{
  g_return_val_if_fail (LK_IS_TRANSPORT (self), -1);
  g_return_val_if_fail (buffer != NULL && len > 0, -1);

  return LK_TRANSPORT_GET_IFACE (self)->read (self, buffer, len, deadline, error);
}

gboolean
lk_transport_flush_input (LkTransport  *self,
                          GError      **error)
{
  g_return_val_if_fail (LK_IS_TRANSPORT (self), FALSE);

  return LK_TRANSPORT_GET_IFACE (self)->flush_input (self, error);
}

void
lk_transport_close (LkTransport *self)
{
  g_return_if_fail (LK_IS_TRANSPORT (self));

  LK_TRANSPORT_GET_IFACE (self)->close (self);
}

const char *
lk_transport_get_name (LkTransport *self)
{
  g_return_val_if_fail (LK_IS_TRANSPORT (self), NULL);

  return LK_TRANSPORT_GET_IFACE (self)->get_name (self);
}

gboolean
lk_transport_baud_is_valid (guint baud)
{
  switch (baud)
    {
    case 4800:
    case 9600:
    case 19200:
    case 38400:
    case 57600:
    case 115200:
      return TRUE;
    default:
      return FALSE;
    }
}

int
lk_transport_ms_until (gint64 deadline)
{
  gint64 now = g_get_monotonic_time ();

  if (deadline <= now)
    return 0;
  return (int) MIN ((deadline - now + 999) / 1000, G_MAXINT);
}
