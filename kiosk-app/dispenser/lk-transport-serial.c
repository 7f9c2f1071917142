/* lk-transport-serial.c: a real serial port through libserialport
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <libserialport.h>

#include "lk-transport.h"
#include "lk-transport-private.h"

#define LK_TYPE_TRANSPORT_SERIAL (lk_transport_serial_get_type ())
G_DECLARE_FINAL_TYPE (LkTransportSerial, lk_transport_serial, LK, TRANSPORT_SERIAL, GObject)

struct _LkTransportSerial
{
  GObject          parent_instance;

  struct sp_port  *port;
  gboolean         open;
  char            *name;
};

static void lk_transport_serial_iface_init (LkTransportInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LkTransportSerial, lk_transport_serial, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (LK_TYPE_TRANSPORT,
                                                      lk_transport_serial_iface_init))

/* A frame of 300 bytes takes 0.6 s at 4800 baud; allow that and some. */
#define WRITE_TIMEOUT_MS 2000

static gboolean
set_sp_error (LkTransportSerial  *self,
              enum sp_return      ret,
              const char         *what,
              GError            **error)
{
  g_autofree char *message = NULL;

  if (ret == SP_ERR_FAIL)
    {
      char *sp_message = sp_last_error_message ();

      message = g_strdup (sp_message);
      sp_free_error_message (sp_message);
    }
  else if (ret == SP_ERR_ARG)
    message = g_strdup ("invalid argument");
  else if (ret == SP_ERR_MEM)
    message = g_strdup ("out of memory");
  else
    message = g_strdup ("not supported");

  g_set_error (error, G_IO_ERROR,
               ret == SP_ERR_ARG ? G_IO_ERROR_INVALID_ARGUMENT : G_IO_ERROR_FAILED,
               "%s %s: %s", what, self->name, message);
  return FALSE;
}

static gboolean
check_open (LkTransportSerial  *self,
            GError            **error)
{
  if (self->open)
    return TRUE;

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "%s is closed", self->name);
  return FALSE;
}

static gboolean
lk_transport_serial_write_all (LkTransport  *transport,
                               const guint8 *data,
                               gsize         len,
                               GError      **error)
{
  LkTransportSerial *self = LK_TRANSPORT_SERIAL (transport);
  enum sp_return ret;

  if (!check_open (self, error))
    return FALSE;

  ret = sp_blocking_write (self->port, data, len, WRITE_TIMEOUT_MS);
  if (ret < 0)
    return set_sp_error (self, ret, "Writing to", error);
  if ((gsize) ret != len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "Writing to %s timed out after %d of %" G_GSIZE_FORMAT " bytes",
                   self->name, (int) ret, len);
      return FALSE;
    }

  ret = sp_drain (self->port);
  if (ret < 0)
    return set_sp_error (self, ret, "Draining", error);

  return TRUE;
}

static gssize
lk_transport_serial_read (LkTransport  *transport,
                          guint8       *buffer,
                          gsize         len,
                          gint64        deadline,
                          GError      **error)
{
  LkTransportSerial *self = LK_TRANSPORT_SERIAL (transport);
  enum sp_return ret;
  int timeout_ms;

  if (!check_open (self, error))
    return -1;

  /* libserialport reads 0 ms as "wait forever": poll once without waiting instead. */
  timeout_ms = lk_transport_ms_until (deadline);
  if (timeout_ms == 0)
    ret = sp_nonblocking_read (self->port, buffer, len);
  else
    ret = sp_blocking_read_next (self->port, buffer, len, timeout_ms);

  if (ret < 0)
    {
      set_sp_error (self, ret, "Reading from", error);
      return -1;
    }
  if (ret == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "Nothing received from %s",
                   self->name);
      return -1;
    }

  return ret;
}

static gboolean
lk_transport_serial_flush_input (LkTransport  *transport,
                                 GError      **error)
{
  LkTransportSerial *self = LK_TRANSPORT_SERIAL (transport);
  enum sp_return ret;

  if (!check_open (self, error))
    return FALSE;

  ret = sp_flush (self->port, SP_BUF_INPUT);
  if (ret < 0)
    return set_sp_error (self, ret, "Flushing", error);

  return TRUE;
}

static void
lk_transport_serial_close (LkTransport *transport)
{
  LkTransportSerial *self = LK_TRANSPORT_SERIAL (transport);

  if (self->open)
    {
      sp_close (self->port);
      self->open = FALSE;
    }
}

static const char *
lk_transport_serial_get_name (LkTransport *transport)
{
  return LK_TRANSPORT_SERIAL (transport)->name;
}

static void
lk_transport_serial_iface_init (LkTransportInterface *iface)
{
  iface->write_all = lk_transport_serial_write_all;
  iface->read = lk_transport_serial_read;
  iface->flush_input = lk_transport_serial_flush_input;
  iface->close = lk_transport_serial_close;
  iface->get_name = lk_transport_serial_get_name;
}

static void
lk_transport_serial_finalize (GObject *object)
{
  LkTransportSerial *self = LK_TRANSPORT_SERIAL (object);

  lk_transport_serial_close (LK_TRANSPORT (self));
  g_clear_pointer (&self->port, sp_free_port);
  g_clear_pointer (&self->name, g_free);

  G_OBJECT_CLASS (lk_transport_serial_parent_class)->finalize (object);
}

static void
lk_transport_serial_class_init (LkTransportSerialClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = lk_transport_serial_finalize;
}

static void
lk_transport_serial_init (LkTransportSerial *self)
{
}

LkTransport *
lk_transport_serial_open (const char  *port,
                          guint        baud,
                          GError     **error)
{
  g_autoptr(LkTransportSerial) self = NULL;
  enum sp_return ret;

  g_return_val_if_fail (port != NULL, NULL);

  if (!lk_transport_baud_is_valid (baud))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Unsupported baud rate %u", baud);
      return NULL;
    }

  self = g_object_new (LK_TYPE_TRANSPORT_SERIAL, NULL);
  self->name = g_strdup (port);

  ret = sp_get_port_by_name (port, &self->port);
  if (ret != SP_OK)
    {
      self->port = NULL;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "libserialport does not know the port %s", port);
      return NULL;
    }

  ret = sp_open (self->port, SP_MODE_READ_WRITE);
  if (ret != SP_OK)
    {
      set_sp_error (self, ret, "Cannot open", error);
      return NULL;
    }
  self->open = TRUE;

  if ((ret = sp_set_baudrate (self->port, baud)) != SP_OK
      || (ret = sp_set_bits (self->port, 8)) != SP_OK
      || (ret = sp_set_parity (self->port, SP_PARITY_NONE)) != SP_OK
      || (ret = sp_set_stopbits (self->port, 1)) != SP_OK
      || (ret = sp_set_flowcontrol (self->port, SP_FLOWCONTROL_NONE)) != SP_OK)
    {
      set_sp_error (self, ret, "Cannot configure", error);
      return NULL;
    }

  sp_flush (self->port, SP_BUF_BOTH);

  return LK_TRANSPORT (g_steal_pointer (&self));
}
