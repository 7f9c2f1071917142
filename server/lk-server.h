/* lk-server.h: lingka-server, in-process
 *
 * The server runs N listener threads. Each has its own GMainContext and SoupServer, listening
 * on the same port through its own SO_REUSEPORT socket, so idle connections on one thread do
 * not slow the others (MEASURED.md, pitfalls 1, 2 and 9). Handlers run on their listener's
 * thread and use the shared LkStore, which gives every thread its own SQLite connection.
 * A maintenance thread sends the SMS outbox, checkpoints the WAL and purges old sessions.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "lk-config.h"
#include "lk-hub.h"
#include "lk-payment.h"
#include "lk-rate-limit.h"
#include "lk-sms.h"
#include "lk-store.h"

G_BEGIN_DECLS

#define LK_TYPE_SERVER (lk_server_get_type ())
G_DECLARE_FINAL_TYPE (LkServer, lk_server, LK, SERVER, GObject)

#define LK_SERVER_KEY_LEN 32
#define LK_SESSION_LIFETIME_S (12 * 3600)

/* Creates the data dir (0700), the server key (secret.key, 0600) and the database. */
LkServer          *lk_server_new               (LkConfig     *config,
                                                GError      **error);
/* Binds the port and starts the listener and maintenance threads. */
gboolean           lk_server_start             (LkServer     *self,
                                                GError      **error);
/* Stops and joins every thread and closes every socket. Idempotent. */
void               lk_server_stop              (LkServer     *self);

guint              lk_server_get_port          (LkServer     *self);
/* "http://127.0.0.1:PORT" (https with TLS), for tests and logs. */
char              *lk_server_get_base_url      (LkServer     *self);
LkConfig          *lk_server_get_config        (LkServer     *self);
LkStore           *lk_server_get_store         (LkServer     *self);
LkHub             *lk_server_get_hub           (LkServer     *self);
/* The server's HMAC key (claim codes, lookups, sandbox notices). */
const guint8      *lk_server_get_key           (LkServer     *self,
                                                gsize        *len);
/* Failed application verifications, per client address. */
LkRateLimit       *lk_server_get_verify_limit  (LkServer     *self);
/* The provider of @channel ("wechat", "alipay", "sandbox"), or NULL if not configured. */
/* Failed logins, per client address. */
LkRateLimit       *lk_server_get_login_limit   (LkServer     *self);
LkPaymentProvider *lk_server_get_payment_provider (LkServer   *self,
                                                   const char *channel);
LkSmsSender       *lk_server_get_sms_sender    (LkServer     *self);
/* Wakes the SMS worker (a message was queued). Thread-safe. */
void               lk_server_kick_sms          (LkServer     *self);

G_END_DECLS
