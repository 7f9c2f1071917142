/* lk-kiosk-link.h: the kiosk's WebSocket link to the server (DESIGN.md, "Kiosks")
 *
 * Connects to /api/v1/kiosk/ws with HTTP Basic SN:secret and keeps connecting, with
 * exponential backoff and jitter, for as long as it runs. Every codes.snapshot replaces the
 * local code table; code.added and code.removed are applied as they come. On every connect it
 * resends each report that waits in the journal until the server acknowledges it (the server
 * answers the same id with the same answer, so a resend is safe: exactly once in effect).
 * An application heartbeat (ping, with a deadline for anything to arrive) notices a dead
 * peer, which libsoup 3.2 does not (MEASURED.md, pitfall 3).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "lk-kiosk-config.h"
#include "lk-kiosk-store.h"

G_BEGIN_DECLS

#define LK_TYPE_KIOSK_LINK (lk_kiosk_link_get_type ())
G_DECLARE_FINAL_TYPE (LkKioskLink, lk_kiosk_link, LK, KIOSK_LINK, GObject)

/* Times in milliseconds; defaults: backoff 500 → 60000, heartbeat 15000 / deadline 45000
 * (LK_HEARTBEAT_*), status every 300000. Tests shorten them. */
typedef struct
{
  guint backoff_min_ms;
  guint backoff_max_ms;
  guint heartbeat_interval_ms;
  guint heartbeat_deadline_ms;
  guint status_interval_ms;
} LkKioskLinkTiming;

LkKioskLink *lk_kiosk_link_new              (LkKioskConfig           *config,
                                             LkKioskStore            *store);
void         lk_kiosk_link_set_timing       (LkKioskLink             *self,
                                             const LkKioskLinkTiming *timing);
/* Starts connecting (and reconnecting) on the thread-default main context. */
void         lk_kiosk_link_start            (LkKioskLink             *self);
/* Closes the connection and stops reconnecting. */
void         lk_kiosk_link_stop             (LkKioskLink             *self);
/* Drops the connection at once, as a lost network would, and reconnects after the backoff. */
void         lk_kiosk_link_drop             (LkKioskLink             *self);

/* Property "connected": a WebSocket is open and a snapshot has arrived on it. */
gboolean     lk_kiosk_link_get_connected    (LkKioskLink             *self);
/* How many times a connection has been established (for the service screen and tests). */
guint        lk_kiosk_link_get_n_connects   (LkKioskLink             *self);

/* Sends claim.request for @code and waits up to @timeout_ms for the matching answer.
 * Completes with the answer object (claim.authorized or claim.rejected), or
 * LK_KIOSK_ERROR_OFFLINE / LK_KIOSK_ERROR_TIMEOUT. A request left unanswered is asked again
 * on the next connect, and a late authorization is reported failed ("cancelled") through
 * the journal, so a code is never left reserved for a student who has walked away.
 * @cancellable only turns a late answer into G_IO_ERROR_CANCELLED. */
void         lk_kiosk_link_claim_async      (LkKioskLink             *self,
                                             const char              *code,
                                             guint                    timeout_ms,
                                             GCancellable            *cancellable,
                                             GAsyncReadyCallback      callback,
                                             gpointer                 user_data);
JsonObject  *lk_kiosk_link_claim_finish     (LkKioskLink             *self,
                                             GAsyncResult            *result,
                                             GError                 **error);

/* Sends every journal report not yet sent on this connection. Call after a claim ends. */
void         lk_kiosk_link_flush_reports    (LkKioskLink             *self);

/* The dispenser's state; sent when it changes and every status interval. @faults is
 * NULL-terminated (may be NULL for none). */
void         lk_kiosk_link_set_status       (LkKioskLink             *self,
                                             const char              *stock,
                                             const char * const      *faults);

G_END_DECLS
