/* lk-claims.h: the claim lifecycle behind the kiosk WebSocket (steps 4 to 6)
 *
 * LkClaims turns kiosk messages into store transactions and answers, and publishes what
 * follows to the hub once the transaction has committed: code.removed / code.added to the
 * school's kiosks, card.issued and kiosk events to staff, the application's status to the
 * parent. It also keeps which kiosks are online and the wrong-code rate limits (per kiosk and
 * per client address). One LkClaims per LkServer, shared by every listener thread.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

#include "lk-server.h"
#include "lk-store-claims.h"

G_BEGIN_DECLS

/* Wrong codes: a kiosk may try LK_CLAIMS_KIOSK_BURST in a row, then one more every
 * LK_CLAIMS_KIOSK_REFILL_S seconds (the kiosk shows a 60 s lockout). An address, which may
 * front several kiosks, gets a larger budget. */
#define LK_CLAIMS_KIOSK_BURST 5
#define LK_CLAIMS_KIOSK_REFILL_S 12.0
#define LK_CLAIMS_ADDRESS_BURST 20
#define LK_CLAIMS_ADDRESS_REFILL_S 3.0

#define LK_TYPE_CLAIMS (lk_claims_get_type ())
G_DECLARE_FINAL_TYPE (LkClaims, lk_claims, LK, CLAIMS, GObject)

/* The server's LkClaims (created on first use; thread-safe). */
LkClaims   *lk_claims_get                (LkServer      *server);

/* Online bookkeeping. connected: publishes kiosk.online when it is the kiosk's first
 * connection; disconnected: kiosk.offline when it was the last. */
void        lk_claims_kiosk_connected    (LkClaims            *self,
                                          const LkKioskRecord *kiosk);
void        lk_claims_kiosk_disconnected (LkClaims            *self,
                                          const LkKioskRecord *kiosk);
gboolean    lk_claims_kiosk_is_online    (LkClaims            *self,
                                          const char          *sn);

/* codes.snapshot for a kiosk of @school_id, as JSON text. */
/* Tells the school's kiosks that a code is gone (claimed elsewhere, or its application
 * cancelled): {"type": "code.removed", "code_id"}. */
void        lk_claims_publish_code_removed (LkClaims    *self,
                                            gint64       school_id,
                                            gint64       code_id);

char       *lk_claims_snapshot           (LkClaims      *self,
                                          gint64         school_id,
                                          GError       **error);

/* Each returns the answer to send (JSON text), or NULL with @error set on a store failure.
 * A resent @msg_id gets the stored answer and changes nothing. */
/* The kiosk's messages. Each is one job of the store's batch writer; the callback runs in the
 * caller's thread-default main context once the change is committed and published, and
 * lk_claims_message_finish() gives the answer to send (JSON text), stored or replayed. */
void        lk_claims_request_async      (LkClaims            *self,
                                          const LkKioskRecord *kiosk,
                                          const char          *address,
                                          const char          *msg_id,
                                          const char          *code,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
void        lk_claims_complete_async     (LkClaims            *self,
                                          const LkKioskRecord *kiosk,
                                          const char          *msg_id,
                                          gint64               claim_id,
                                          const char          *card_no,
                                          const char          *card_data_json,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
void        lk_claims_fail_async         (LkClaims            *self,
                                          const LkKioskRecord *kiosk,
                                          const char          *msg_id,
                                          gint64               claim_id,
                                          LkFailReason         reason,
                                          const char          *card_no,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
void        lk_claims_status_async       (LkClaims            *self,
                                          const LkKioskRecord *kiosk,
                                          const char          *msg_id,
                                          const char          *stock,
                                          JsonArray           *faults,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
char       *lk_claims_message_finish     (LkClaims            *self,
                                          GAsyncResult        *result,
                                          GError             **error);

gboolean    lk_claims_release            (LkClaims      *self,
                                          gint64         claim_id,
                                          gint64         user_id,
                                          GError       **error);

/* The issue date written to cards, YYYY-MM-DD in China Standard Time. */
char       *lk_claims_issue_date         (gint64         unix_time);

G_END_DECLS
