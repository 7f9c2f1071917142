/* lk-sms.c: the SMS sender interface and the logging sender
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-sms"

#include "config.h"

#include <gio/gio.h>

#include "lingka-common.h"
#include "lk-log.h"
#include "lk-sms.h"

G_DEFINE_INTERFACE (LkSmsSender, lk_sms_sender, G_TYPE_OBJECT)

static void
lk_sms_sender_default_init (LkSmsSenderInterface *iface)
{
}

gboolean
lk_sms_sender_send (LkSmsSender  *self,
                    const char   *phone,
                    const char   *template_name,
                    const char   *text,
                    GError      **error)
{
  g_return_val_if_fail (LK_IS_SMS_SENDER (self), FALSE);
  return LK_SMS_SENDER_GET_IFACE (self)->send (self, phone, template_name, text, error);
}

struct _LkLogSmsSender
{
  GObject parent_instance;

  guint   sent;       /* atomic */
  guint   fail_next;  /* atomic */
};

static void lk_log_sms_sender_iface_init (LkSmsSenderInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LkLogSmsSender, lk_log_sms_sender, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (LK_TYPE_SMS_SENDER, lk_log_sms_sender_iface_init))

static gboolean
log_sender_send (LkSmsSender  *sender,
                 const char   *phone,
                 const char   *template_name,
                 const char   *text,
                 GError      **error)
{
  LkLogSmsSender *self = LK_LOG_SMS_SENDER (sender);
  g_autofree char *masked = lk_mask_phone (phone);
  g_autofree char *length = g_strdup_printf ("%ld", g_utf8_strlen (text, -1));
  guint fail;

  do
    fail = g_atomic_int_get (&self->fail_next);
  while (fail > 0 && !g_atomic_int_compare_and_exchange (&self->fail_next, fail, fail - 1));
  if (fail > 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The SMS gateway refused the message");
      return FALSE;
    }

  lk_log_event (G_LOG_LEVEL_INFO, "SMS sent (logging sender)",
                "LK_PHONE", masked, "LK_SMS_TEMPLATE", template_name, "LK_SMS_CHARS", length,
                NULL);
  g_atomic_int_inc (&self->sent);
  return TRUE;
}

static void
lk_log_sms_sender_iface_init (LkSmsSenderInterface *iface)
{
  iface->send = log_sender_send;
}

static void
lk_log_sms_sender_class_init (LkLogSmsSenderClass *klass)
{
}

static void
lk_log_sms_sender_init (LkLogSmsSender *self)
{
}

LkLogSmsSender *
lk_log_sms_sender_new (void)
{
  return g_object_new (LK_TYPE_LOG_SMS_SENDER, NULL);
}

guint
lk_log_sms_sender_get_sent (LkLogSmsSender *self)
{
  g_return_val_if_fail (LK_IS_LOG_SMS_SENDER (self), 0);
  return g_atomic_int_get (&self->sent);
}

void
lk_log_sms_sender_fail_next (LkLogSmsSender *self,
                             guint           n)
{
  g_return_if_fail (LK_IS_LOG_SMS_SENDER (self));
  g_atomic_int_set (&self->fail_next, n);
}
