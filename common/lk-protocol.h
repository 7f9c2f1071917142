/* lk-protocol.h: names shared by the kiosk WebSocket, the event sockets and the REST API
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define LK_API_PREFIX "/api/v1"
#define LK_KIOSK_WS_PATH "/api/v1/kiosk/ws"
#define LK_ADMIN_EVENTS_PATH "/api/v1/admin/events"

/* kiosk WebSocket, server → kiosk */
#define LK_MSG_CODES_SNAPSHOT   "codes.snapshot"
#define LK_MSG_CODE_ADDED       "code.added"
#define LK_MSG_CODE_REMOVED     "code.removed"
#define LK_MSG_CLAIM_AUTHORIZED "claim.authorized"
#define LK_MSG_CLAIM_REJECTED   "claim.rejected"
#define LK_MSG_ACK              "ack"
#define LK_MSG_ERROR            "error"
/* kiosk WebSocket, kiosk → server */
#define LK_MSG_CLAIM_REQUEST    "claim.request"
#define LK_MSG_CLAIM_COMPLETED  "claim.completed"
#define LK_MSG_CLAIM_FAILED     "claim.failed"
#define LK_MSG_STATUS           "status"
/* both ways: application heartbeat (libsoup 3.2 has no pong timeout) */
#define LK_MSG_PING             "ping"
#define LK_MSG_PONG             "pong"

/* event sockets */
#define LK_EVENT_CARD_ISSUED      "card.issued"
#define LK_EVENT_KIOSK_ONLINE     "kiosk.online"
#define LK_EVENT_KIOSK_OFFLINE    "kiosk.offline"
#define LK_EVENT_KIOSK_STATUS     "kiosk.status"
#define LK_EVENT_APPLICATION_PAID "application.paid"
#define LK_EVENT_APPLICATION_CANCELLED "application.cancelled"
#define LK_EVENT_STATUS_CHANGED   "application.status"

/* claim.rejected reasons */
#define LK_REJECT_ALREADY_ISSUED "already_issued"
#define LK_REJECT_INVALID        "invalid"
#define LK_REJECT_REVOKED        "revoked"
#define LK_REJECT_RATE_LIMITED   "rate_limited"

/* claim.failed reasons */
typedef enum
{
  LK_FAIL_JAM,
  LK_FAIL_EMPTY,
  LK_FAIL_READ_FAILED,
  LK_FAIL_WRITE_FAILED,
  LK_FAIL_NOT_TAKEN,
  LK_FAIL_DISPENSER_SILENT,
  LK_FAIL_CANCELLED,
  LK_N_FAIL_REASONS
} LkFailReason;

const char *lk_fail_reason_to_string   (LkFailReason reason);
gboolean    lk_fail_reason_from_string (const char   *str,
                                        LkFailReason *reason);

/* Heartbeat: each side sends ping every LK_HEARTBEAT_INTERVAL_S and drops the connection
 * when nothing has arrived for LK_HEARTBEAT_DEADLINE_S. */
#define LK_HEARTBEAT_INTERVAL_S 15
#define LK_HEARTBEAT_DEADLINE_S 45

/* Application statuses */
#define LK_APP_VERIFIED  "verified"
#define LK_APP_PAID      "paid"
#define LK_APP_CLAIMABLE "claimable"
#define LK_APP_ISSUED    "issued"
#define LK_APP_CANCELLED "cancelled"

/* A new message {"type": type} as a builder positioned inside the object, ready for more
 * members; finish with lk_message_finish(). */
JsonBuilder *lk_message_begin          (const char  *type);
/* Ends the object and returns it as compact JSON text. Unrefs nothing. */
char        *lk_message_finish         (JsonBuilder *builder);

/* Parses a JSON object from (not NUL-terminated) bytes; strict: invalid UTF-8, a non-object,
 * or a missing string "type" is LK_ERROR_INVALID_JSON. */
JsonObject  *lk_message_parse          (const char  *data,
                                        gsize        len,
                                        const char **type,
                                        GError     **error);

/* Compact JSON text of a node. */
char        *lk_json_to_string         (JsonNode    *node);

G_END_DECLS
