/* lk-kiosk-ws.h: GET /api/v1/kiosk/ws, the kiosks' WebSocket
 *
 * HTTP Basic "SN:secret" is checked before the upgrade: a wrong one gets 401 with the error
 * shape and no upgrade. On connect the kiosk gets codes.snapshot, staff get kiosk.online, and
 * the connection joins the hub for its school and SN. Every kiosk message is answered.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "lk-server.h"

G_BEGIN_DECLS

/* Called once per listener thread with that thread's SoupServer. */
void  lk_kiosk_ws_register       (LkServer   *server,
                                  SoupServer *soup);

/* Heartbeat: a ping every @interval_s, and a kiosk silent for @deadline_s is dropped. The
 * defaults are LK_HEARTBEAT_INTERVAL_S and LK_HEARTBEAT_DEADLINE_S; tests shorten them.
 * Applies to connections made afterwards. */
void  lk_kiosk_ws_set_heartbeat  (guint       interval_s,
                                  guint       deadline_s);

G_END_DECLS
