/* lk-transport.h: the byte pipe between the driver and a card dispenser
 *
 * Two implementations: libserialport for real ports (lk-transport-serial.c), and a termios file
 * descriptor for pseudo-terminals (lk-transport-pty.c), which libserialport refuses because
 * they have no /sys/class/tty entry. Every call blocks: use a transport only from a worker
 * thread, never from a main loop that a UI runs on.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define LK_TYPE_TRANSPORT (lk_transport_get_type ())

G_DECLARE_INTERFACE (LkTransport, lk_transport, LK, TRANSPORT, GObject)

struct _LkTransportInterface
{
  GTypeInterface parent_iface;

  gboolean (*write_all)   (LkTransport  *self,
                           const guint8 *data,
                           gsize         len,
                           GError      **error);
  gssize   (*read)        (LkTransport  *self,
                           guint8       *buffer,
                           gsize         len,
                           gint64        deadline,
                           GError      **error);
  gboolean (*flush_input) (LkTransport  *self,
                           GError      **error);
  void     (*close)       (LkTransport  *self);
  const char *(*get_name) (LkTransport  *self);
};

/* Opens @name at @baud, 8N1, no flow control:
 *   "pty:/dev/pts/N"    a pseudo-terminal, through termios;
 *   "/dev/ttyUSB0", "COM3", ...  a real port, through libserialport; when libserialport
 *                       rejects the path but it is a terminal device (a pty), termios is used.
 * @baud must be one of 4800, 9600, 19200, 38400, 57600, 115200. */
LkTransport *lk_transport_open_by_name (const char   *name,
                                        guint         baud,
                                        GError      **error);

/* Writes the whole of @data in one write (the K7X0 voids a frame that has gaps between its
 * characters) and waits until it has left the output queue. */
gboolean     lk_transport_write_all    (LkTransport  *self,
                                        const guint8 *data,
                                        gsize         len,
                                        GError      **error);

/* Reads what is available, at most @len bytes, waiting until @deadline (g_get_monotonic_time()
 * microseconds) for the first byte. Returns the count read (> 0), or -1 with
 * G_IO_ERROR_TIMED_OUT when nothing came before the deadline, or another error. */
gssize       lk_transport_read         (LkTransport  *self,
                                        guint8       *buffer,
                                        gsize         len,
                                        gint64        deadline,
                                        GError      **error);

/* Drops every byte received but not yet read (stale replies, line noise). */
gboolean     lk_transport_flush_input  (LkTransport  *self,
                                        GError      **error);

/* Closes the port; later calls fail with G_IO_ERROR_CLOSED. Also done on finalize. */
void         lk_transport_close        (LkTransport  *self);

/* The name the transport was opened with (never a secret). */
const char  *lk_transport_get_name     (LkTransport  *self);

/* The two implementations, for callers that know which one they want. */
LkTransport *lk_transport_serial_open  (const char   *port,
                                        guint         baud,
                                        GError      **error);
LkTransport *lk_transport_pty_open     (const char   *path,
                                        guint         baud,
                                        GError      **error);

G_END_DECLS
