/* lk-events-ws.h: the event WebSockets
 *
 * GET /api/v1/admin/events: staff (the session token in "Authorization: Bearer" or, for
 * clients that cannot set a header, a "token" query parameter). A teacher gets the events of
 * their own school, an operator those of every school.
 *
 * GET /api/v1/applications/{id}/events: the parent (the application token, given the same
 * two ways). It gets the application's status at once, then each change.
 *
 * Both are refused with 401 and the error shape before any upgrade. Clients may send
 * {"type": "ping", "id"} and get {"type": "pong", "re"}; dead peers are found by TCP
 * keepalive with a user timeout, so a browser page that never pings is not dropped.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "lk-server.h"

G_BEGIN_DECLS

/* Called once per listener thread with that thread's SoupServer. The application events are
 * taken before routing (SoupServer::request-read), so whichever handler serves
 * /api/v1/applications never sees them. */
void  lk_events_ws_register  (LkServer   *server,
                              SoupServer *soup);

/* The parent's event: {"type": "application.status", "at", "id", "status", "card_no",
 * "issued_at"[, "kiosk_sn"]}; @card_no NULL and @issued_at 0 are sent as null, @kiosk_sn NULL
 * is left out. */
char *lk_events_status_json     (const char *application_id,
                                 const char *status,
                                 gint64      at,
                                 const char *card_no,
                                 gint64      issued_at,
                                 const char *kiosk_sn);
/* Publishes it now to the application's event sockets. */
void  lk_events_publish_status  (LkServer   *server,
                                 const char *application_id,
                                 const char *status,
                                 const char *card_no,
                                 gint64      issued_at,
                                 const char *kiosk_sn);

G_END_DECLS
