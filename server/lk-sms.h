/* lk-sms.h: SMS senders behind one interface
 *
 * Messages go through the outbox table (lk_store_sms_*): the maintenance thread of LkServer
 * sends what is due, and retries with a growing delay until a send succeeds, across restarts.
 * The claim code is never stored: it is re-derived at send time.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define LK_TYPE_SMS_SENDER (lk_sms_sender_get_type ())
G_DECLARE_INTERFACE (LkSmsSender, lk_sms_sender, LK, SMS_SENDER, GObject)

struct _LkSmsSenderInterface
{
  GTypeInterface parent_iface;

  /* Blocking; runs on the maintenance thread. */
  gboolean (*send) (LkSmsSender  *self,
                    const char   *phone,
                    const char   *template_name,
                    const char   *text,
                    GError      **error);
};

gboolean lk_sms_sender_send (LkSmsSender  *self,
                             const char   *phone,
                             const char   *template_name,
                             const char   *text,
                             GError      **error);

/* The sender of --sandbox and [sms] provider = log: it logs the masked phone and the template,
 * never the text (which holds the claim code). */
#define LK_TYPE_LOG_SMS_SENDER (lk_log_sms_sender_get_type ())
G_DECLARE_FINAL_TYPE (LkLogSmsSender, lk_log_sms_sender, LK, LOG_SMS_SENDER, GObject)

LkLogSmsSender *lk_log_sms_sender_new          (void);
/* Messages sent so far. */
guint           lk_log_sms_sender_get_sent     (LkLogSmsSender *self);
/* Makes the next @n sends fail, as a real gateway sometimes does (tests of the retries). */
void            lk_log_sms_sender_fail_next    (LkLogSmsSender *self,
                                                guint           n);

G_END_DECLS
