/* lk-hub.h: fan-out of events to WebSocket connections on every listener thread
 *
 * The server runs several listener threads, each with its own GMainContext and SoupServer
 * (MEASURED.md, pitfalls 2 and 9). A connection belongs to the thread that accepted it, and may
 * only be written from that thread's context. The hub keeps a registry of subscribed
 * connections with their context, and delivers each published message on the right context.
 *
 * Publish only after the store transaction that caused the event has committed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "lk-websocket.h"

G_BEGIN_DECLS

#define LK_TYPE_HUB (lk_hub_get_type ())
G_DECLARE_FINAL_TYPE (LkHub, lk_hub, LK, HUB, GObject)

typedef enum
{
  LK_HUB_KIOSK,        /* key: the kiosk's school id; also addressable by kiosk id */
  LK_HUB_STAFF,        /* key: school id (teacher) or 0 (operator: every school) */
  LK_HUB_APPLICATION,  /* key: application id */
} LkHubChannel;

LkHub    *lk_hub_new                      (void);

/* Subscribes @connection (which must belong to the thread-default main context of the caller)
 * until it closes. @school_id is used by LK_HUB_KIOSK and LK_HUB_STAFF (0 = operator, sees
 * all); @key is the application id for LK_HUB_APPLICATION, and the kiosk SN for LK_HUB_KIOSK.
 * Returns a subscription id for lk_hub_unsubscribe(). */
guint     lk_hub_subscribe                (LkHub                   *self,
                                           LkWebsocket             *connection,
                                           LkHubChannel             channel,
                                           gint64                   school_id,
                                           const char              *key);
void      lk_hub_unsubscribe              (LkHub                   *self,
                                           guint                    subscription_id);

/* Thread-safe. Sends @json (a complete JSON text) to every matching connection, each on its
 * own context, in publication order per connection. */
void      lk_hub_publish_to_kiosks        (LkHub      *self,
                                           gint64      school_id,
                                           const char *json);
/* One kiosk by SN (e.g. to tell a second connection of the same kiosk). */
void      lk_hub_publish_to_kiosk         (LkHub      *self,
                                           const char *sn,
                                           const char *json);
/* Teachers of @school_id and every operator. */
void      lk_hub_publish_to_staff         (LkHub      *self,
                                           gint64      school_id,
                                           const char *json);
void      lk_hub_publish_to_application   (LkHub      *self,
                                           const char *application_id,
                                           const char *json);

/* Number of live subscriptions (for tests and the status log). */
guint     lk_hub_count                    (LkHub        *self,
                                           LkHubChannel  channel);

G_END_DECLS
