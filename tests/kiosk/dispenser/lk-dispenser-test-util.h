/* lk-dispenser-test-util.h: helpers for the driver, simulator and service tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "lk-dispenser.h"
#include "lk-dispenser-sim.h"

G_BEGIN_DECLS

typedef gboolean (*LkTestCondition) (gpointer data);

/* Iterates the thread-default main context until @condition holds or @timeout_ms passes.
 * Returns whether the condition held. */
gboolean     lk_test_wait_until       (LkTestCondition condition,
                                       gpointer        data,
                                       guint           timeout_ms);

/* Waits for an async result stored in *@result (set by lk_test_store_result_cb). */
gboolean     lk_test_wait_result      (GAsyncResult  **result,
                                       guint           timeout_ms);
void         lk_test_store_result_cb  (GObject        *source,
                                       GAsyncResult   *result,
                                       gpointer        data);

/* Simulator options for fast tests: 20 ms motions, cards taken 30 ms after eject. */
void         lk_test_sim_options      (LkDispenserSimOptions *options);

/* A dispenser on @sim's pty with 5 ms polls and a 300 ms reply deadline. */
LkDispenser *lk_test_dispenser_new    (LkDispenserSim *sim);

/* Runs a simulator command and asserts that it answered "ok...". */
void         lk_test_sim_ok           (LkDispenserSim *sim,
                                       const char     *command);

/* The student record used by the tests. */
LkCardData  *lk_test_card_data        (void);

G_END_DECLS
