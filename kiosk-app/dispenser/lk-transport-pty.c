/* lk-transport-pty.c: a terminal through termios, for pseudo-terminals
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "lk-transport.h"
#include "lk-transport-private.h"

#define LK_TYPE_TRANSPORT_PTY (lk_transport_pty_get_type ())
G_DECLARE_FINAL_TYPE (LkTransportPty, lk_transport_pty, LK, TRANSPORT_PTY, GObject)

struct _LkTransportPty
{
  GObject  parent_instance;

  int      fd;
  char    *name;
};

static void lk_transport_pty_iface_init (LkTransportInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LkTransportPty, lk_transport_pty, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (LK_TYPE_TRANSPORT,
                                                      lk_transport_pty_iface_init))

static speed_t
baud_to_speed (guint baud)
{
  switch (baud)
    {
    case 4800:
      return B4800;
    case 9600:
      return B9600;
    case 19200:
      return B19200;
    case 38400:
      return B38400;
    case 57600:
      return B57600;
    default:
      return B115200;
    }
}

static gboolean
set_closed_error (LkTransportPty  *self,
                  GError         **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "%s is closed", self->name);
  return FALSE;
}

static gboolean
lk_transport_pty_write_all (LkTransport  *transport,
                            const guint8 *data,
                            gsize         len,
                            GError      **error)
{
  LkTransportPty *self = LK_TRANSPORT_PTY (transport);
  gsize done = 0;

  if (self->fd < 0)
    return set_closed_error (self, error);

  /* One write() for the whole frame: the tty layer then queues it as one run of bytes. The
   * loop only continues after a short write on a full queue. */
  while (done < len)
    {
      ssize_t n = write (self->fd, data + done, len - done);

      if (n > 0)
        {
          done += n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          struct pollfd pfd = { self->fd, POLLOUT, 0 };

          if (poll (&pfd, 1, 1000) <= 0)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           "Writing to %s timed out", self->name);
              return FALSE;
            }
          continue;
        }

      {
        int saved = errno;

        /* EIO: the other end of the pty went away */
        g_set_error (error, G_IO_ERROR,
                     saved == EIO ? G_IO_ERROR_BROKEN_PIPE : g_io_error_from_errno (saved),
                     "Writing to %s failed: %s", self->name, g_strerror (saved));
        return FALSE;
      }
    }

  if (tcdrain (self->fd) < 0 && errno != EINTR)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR,
                   saved == EIO ? G_IO_ERROR_BROKEN_PIPE : g_io_error_from_errno (saved),
                   "Draining %s failed: %s", self->name, g_strerror (saved));
      return FALSE;
    }

  return TRUE;
}

static gssize
lk_transport_pty_read (LkTransport  *transport,
                       guint8       *buffer,
                       gsize         len,
                       gint64        deadline,
                       GError      **error)
{
  LkTransportPty *self = LK_TRANSPORT_PTY (transport);

  if (self->fd < 0)
    {
      set_closed_error (self, error);
      return -1;
    }

  for (;;)
    {
      struct pollfd pfd = { self->fd, POLLIN, 0 };
      int r = poll (&pfd, 1, lk_transport_ms_until (deadline));
      ssize_t n;

      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "Waiting on %s failed: %s", self->name, g_strerror (saved));
          return -1;
        }
      if (r == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "Nothing received from %s", self->name);
          return -1;
        }

      n = read (self->fd, buffer, len);
      if (n > 0)
        return n;
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        continue;

      if (n == 0 || errno == EIO)
        {
          /* The other end of the pty went away: nothing will come any more. */
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "%s hung up", self->name);
          return -1;
        }

      {
        int saved = errno;

        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                     "Reading from %s failed: %s", self->name, g_strerror (saved));
        return -1;
      }
    }
}

static gboolean
lk_transport_pty_flush_input (LkTransport  *transport,
                              GError      **error)
{
  LkTransportPty *self = LK_TRANSPORT_PTY (transport);

  if (self->fd < 0)
    return set_closed_error (self, error);

  if (tcflush (self->fd, TCIFLUSH) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Flushing %s failed: %s", self->name, g_strerror (saved));
      return FALSE;
    }

  return TRUE;
}

static void
lk_transport_pty_close (LkTransport *transport)
{
  LkTransportPty *self = LK_TRANSPORT_PTY (transport);

  if (self->fd >= 0)
    {
      close (self->fd);
      self->fd = -1;
    }
}

static const char *
lk_transport_pty_get_name (LkTransport *transport)
{
  return LK_TRANSPORT_PTY (transport)->name;
}

static void
lk_transport_pty_iface_init (LkTransportInterface *iface)
{
  iface->write_all = lk_transport_pty_write_all;
  iface->read = lk_transport_pty_read;
  iface->flush_input = lk_transport_pty_flush_input;
  iface->close = lk_transport_pty_close;
  iface->get_name = lk_transport_pty_get_name;
}

static void
lk_transport_pty_finalize (GObject *object)
{
  LkTransportPty *self = LK_TRANSPORT_PTY (object);

  lk_transport_pty_close (LK_TRANSPORT (self));
  g_clear_pointer (&self->name, g_free);

  G_OBJECT_CLASS (lk_transport_pty_parent_class)->finalize (object);
}

static void
lk_transport_pty_class_init (LkTransportPtyClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lk_transport_pty_finalize;
}

static void
lk_transport_pty_init (LkTransportPty *self)
{
  self->fd = -1;
}

LkTransport *
lk_transport_pty_open (const char  *path,
                       guint        baud,
                       GError     **error)
{
  g_autoptr(LkTransportPty) self = NULL;
  struct termios tio;

  g_return_val_if_fail (path != NULL, NULL);

  if (!lk_transport_baud_is_valid (baud))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Unsupported baud rate %u", baud);
      return NULL;
    }

  self = g_object_new (LK_TYPE_TRANSPORT_PTY, NULL);
  self->name = g_strdup (path);
  self->fd = open (path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (self->fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot open %s: %s", path, g_strerror (saved));
      return NULL;
    }

  if (!isatty (self->fd) || tcgetattr (self->fd, &tio) < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s is not a terminal", path);
      return NULL;
    }

  /* 8N1, raw, no flow control, no modem control */
  cfmakeraw (&tio);
  tio.c_cflag &= ~(CSTOPB | PARENB | CRTSCTS | CSIZE);
  tio.c_cflag |= CS8 | CLOCAL | CREAD;
  tio.c_iflag &= ~(IXON | IXOFF | IXANY);
  tio.c_cc[VMIN] = 0;
  tio.c_cc[VTIME] = 0;
  cfsetispeed (&tio, baud_to_speed (baud));
  cfsetospeed (&tio, baud_to_speed (baud));

  if (tcsetattr (self->fd, TCSANOW, &tio) < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot configure %s: %s", path, g_strerror (saved));
      return NULL;
    }

  tcflush (self->fd, TCIOFLUSH);

  return LK_TRANSPORT (g_steal_pointer (&self));
}
