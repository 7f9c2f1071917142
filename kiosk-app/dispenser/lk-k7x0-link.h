/* lk-k7x0-link.h: one K7X0 command exchange at a time, blocking (worker threads only)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "lk-dispenser.h"
#include "lk-transport.h"

G_BEGIN_DECLS

/* NAKed or unanswered frames are sent again this many times. */
#define LK_K7X0_MAX_RESENDS 3

typedef struct _LkK7x0Link LkK7x0Link;

LkK7x0Link *lk_k7x0_link_new            (LkTransport   *transport,
                                         guint          address);
void        lk_k7x0_link_free           (LkK7x0Link    *link);
void        lk_k7x0_link_set_reply_timeout_ms (LkK7x0Link *link,
                                               guint       timeout_ms);

/* Sends @payload (CM PM DATA) with the ACK/NAK/ENQ handshake. For a command that is not a
 * motion, waits for its reply frame and returns it (STX..BCC). For a motion command, returns
 * after the ENQ with *@reply NULL: the outcome is learnt by polling, and a reply frame that
 * such firmware may send is picked up on the way (lk_k7x0_link_take_motion_reply()).
 * Errors: LK_DISPENSER_ERROR_SILENT, _NAK, _PROTOCOL, _CANCELLED, or the transport's. */
gboolean    lk_k7x0_link_exchange       (LkK7x0Link    *link,
                                         const guint8  *payload,
                                         gsize          len,
                                         GBytes       **reply,
                                         GCancellable  *cancellable,
                                         GError       **error);

/* AP, decoded. */
gboolean    lk_k7x0_link_get_status     (LkK7x0Link        *link,
                                         LkDispenserStatus *status,
                                         GCancellable      *cancellable,
                                         GError           **error);

/* A Mifare S50 command (CM 0x3B). An 'N' reply gives LK_DISPENSER_ERROR_DEVICE and sets
 * *@device_error (if not NULL) to its code. On success, the reply data is copied to @out (at
 * most @out_len bytes) and its length stored in *@out_got. */
gboolean    lk_k7x0_link_mifare         (LkK7x0Link    *link,
                                         guint8         pm,
                                         const guint8  *data,
                                         gsize          len,
                                         guint8        *out,
                                         gsize          out_len,
                                         gsize         *out_got,
                                         guint8        *device_error,
                                         GCancellable  *cancellable,
                                         GError       **error);

/* If the firmware answered the last motion command, whether it said 'P' (TRUE) or 'N'
 * (FALSE, with its code). Returns FALSE in *@answered when it has not answered (yet). */
void        lk_k7x0_link_take_motion_reply (LkK7x0Link *link,
                                            gboolean   *answered,
                                            gboolean   *positive,
                                            guint8     *error_code);

/* Counters, for tests and the service mode. */
guint       lk_k7x0_link_get_resends    (LkK7x0Link    *link);

/* TRUE once the port itself failed (not a silent device): unplugged, hung up. The link is
 * useless after that; the port must be opened again. */
gboolean    lk_k7x0_link_get_transport_failed (LkK7x0Link *link);

G_END_DECLS
