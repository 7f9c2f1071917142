/* lk-test-kiosk-server.h: a small in-process server speaking the kiosk WebSocket messages of
 * DESIGN.md, for the link, flow and GUI tests (the end-to-end tests use the real server)
 *
 * It keeps claims in memory with the contract's rules: one code is authorized to one claim;
 * any later request gets already_issued; a repeated request id gets the same answer; a
 * failed report makes the code usable again; every report is acknowledged (unless told not
 * to) and counted by id, so tests can check "exactly once in effect".
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <libsoup/soup.h>

#include "lingka-common.h"

G_BEGIN_DECLS

typedef struct _LkTestKioskServer LkTestKioskServer;

/* Listens on 127.0.0.1, a free port; kiosk @sn with @secret; digest @alg. */
LkTestKioskServer *lk_test_kiosk_server_new          (const char        *sn,
                                                      const char        *secret,
                                                      LkDigestAlg        alg);
void               lk_test_kiosk_server_free         (LkTestKioskServer *self);
/* "http://127.0.0.1:PORT" */
const char        *lk_test_kiosk_server_get_url      (LkTestKioskServer *self);

/* Adds an open code with a student; pushes code.added to connected kiosks. Returns its
 * code_id. */
guint              lk_test_kiosk_server_add_code     (LkTestKioskServer *self,
                                                      const char        *code,
                                                      const char        *name,
                                                      const char        *klass,
                                                      const char        *student_no);
/* Removes a code and pushes code.removed. */
void               lk_test_kiosk_server_remove_code  (LkTestKioskServer *self,
                                                      guint              code_id);
/* Marks a code as revoked (answers "revoked"). */
void               lk_test_kiosk_server_revoke_code  (LkTestKioskServer *self,
                                                      guint              code_id);

/* Network faults. */
void               lk_test_kiosk_server_disconnect_all (LkTestKioskServer *self);
/* While refusing, no upgrade succeeds (answered 401). */
void               lk_test_kiosk_server_set_refusing (LkTestKioskServer *self,
                                                      gboolean           refusing);
/* While silent, nothing is answered (claims, reports, pings): a dead peer. */
void               lk_test_kiosk_server_set_silent   (LkTestKioskServer *self,
                                                      gboolean           silent);
/* While set, reports are recorded but not acknowledged. */
void               lk_test_kiosk_server_set_drop_acks (LkTestKioskServer *self,
                                                       gboolean           drop);
/* While set, claim.request is received but not answered. */
void               lk_test_kiosk_server_set_hold_claims (LkTestKioskServer *self,
                                                         gboolean           hold);

/* Observations. */
guint              lk_test_kiosk_server_get_n_connections  (LkTestKioskServer *self); /* ever accepted */
guint              lk_test_kiosk_server_get_n_open         (LkTestKioskServer *self); /* open now */
guint              lk_test_kiosk_server_get_n_claim_requests (LkTestKioskServer *self);
guint              lk_test_kiosk_server_get_n_auth_failures (LkTestKioskServer *self);
/* Reports received, counting repeats of the same id once (n_reports) or all (n_report_messages). */
guint              lk_test_kiosk_server_get_n_reports      (LkTestKioskServer *self);
guint              lk_test_kiosk_server_get_n_report_messages (LkTestKioskServer *self);
/* How many claims were completed / failed (in effect: once per claim). */
guint              lk_test_kiosk_server_get_n_completed    (LkTestKioskServer *self);
guint              lk_test_kiosk_server_get_n_failed       (LkTestKioskServer *self);
/* The card bound to the code's student ("" none), and the last failure reason of its claim. */
const char        *lk_test_kiosk_server_get_card_no        (LkTestKioskServer *self,
                                                            guint              code_id);
const char        *lk_test_kiosk_server_get_fail_reason    (LkTestKioskServer *self,
                                                            guint              code_id);
/* The last status message's stock and faults ("jam,reject_full"), NULL before any. */
const char        *lk_test_kiosk_server_get_stock          (LkTestKioskServer *self);
const char        *lk_test_kiosk_server_get_faults         (LkTestKioskServer *self);
guint              lk_test_kiosk_server_get_n_status       (LkTestKioskServer *self);

G_END_DECLS
