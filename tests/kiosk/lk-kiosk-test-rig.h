/* lk-kiosk-test-rig.h: a whole kiosk for tests: the real store (a temp file), link, flow and
 * dispenser driver, the simulator on a real pty, and a server to talk to
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "lk-dispenser-sim.h"
#include "lk-kiosk-flow.h"

G_BEGIN_DECLS

#define LK_TEST_SERVICE_PIN "246810"

typedef struct
{
  char           *dir;
  LkDispenserSim *sim;
  LkDispenser    *dispenser;
  LkKioskConfig  *config;
  LkKioskStore   *store;
  LkKioskLink    *link;
  LkKioskFlow    *flow;
} LkKioskRig;

/* Builds the rig; the kiosk's database lives in @dir (made if NULL, and then removed with the
 * rig). @motion_ms is the simulator's mechanical time. Does not start the flow. */
LkKioskRig *lk_kiosk_rig_new        (const char  *server_url,
                                     const char  *sn,
                                     const char  *secret,
                                     const char  *dir,
                                     guint        motion_ms);
/* The same on a simulator the caller owns (several kiosk lives on one dispenser), or on a
 * port only (@sim NULL in the rig: a child process driving the parent's simulator). */
LkKioskRig *lk_kiosk_rig_new_with_sim (const char     *server_url,
                                       const char     *sn,
                                       const char     *secret,
                                       const char     *dir,
                                       LkDispenserSim *sim);
LkKioskRig *lk_kiosk_rig_new_on_port  (const char     *server_url,
                                       const char     *sn,
                                       const char     *secret,
                                       const char     *dir,
                                       const char     *port);
void        lk_kiosk_rig_free       (LkKioskRig  *rig);
/* Starts the flow and waits (with a deadline) for the idle screen and the link. */
void        lk_kiosk_rig_start      (LkKioskRig  *rig);
/* Touches the idle screen, types @code on the keypad and presses OK. */
void        lk_kiosk_rig_type_code  (LkKioskRig  *rig,
                                     const char  *code);
/* Waits for @screen; fails the test with the screen it is on after @timeout_ms. */
void        lk_kiosk_rig_wait_screen (LkKioskRig   *rig,
                                      LkKioskScreen screen,
                                      guint         timeout_ms);
/* Runs a simulator command and asserts that it answered ok. */
void        lk_kiosk_rig_sim         (LkKioskRig   *rig,
                                      const char   *command);

/* The crash test. lk_kiosk_rig_crash_child() runs this test program again as a child kiosk
 * ("--child URL SN SECRET DIR CODE KILL_AT PORT": the test's main() hands those to
 * lk_kiosk_rig_child_main()), which types @code and accepts it; as soon as the child's journal
 * reaches @kill_at ("dispensing" or "card_read") the parent kills it with SIGKILL. The
 * parent's main loop keeps running meanwhile (an in-process server may live on it). With
 * @sim (the parent's simulator; the child drives it through its pty) the kill comes once the
 * card has left the hopper, and the card stays where the kill left it; with NULL the child
 * has a simulator of its own, which dies with it. */
void        lk_kiosk_rig_crash_child (const char     *server_url,
                                      const char     *sn,
                                      const char     *secret,
                                      const char     *dir,
                                      const char     *code,
                                      const char     *kill_at,
                                      LkDispenserSim *sim);
int         lk_kiosk_rig_child_main  (const char   *server_url,
                                      const char   *sn,
                                      const char   *secret,
                                      const char   *dir,
                                      const char   *code,
                                      const char   *kill_at,
                                      const char   *port);

/* The driver warns when its recovery finds a card that a crash left in the channel: in a
 * crash test that is the expected outcome. After lk_kiosk_rig_watch_left_card_warnings()
 * (once, after g_test_init()) that warning is counted; lk_kiosk_rig_start_expecting_left_card()
 * is lk_kiosk_rig_start() during which warnings are not fatal (any other warning of the
 * driver is still printed). */
void        lk_kiosk_rig_watch_left_card_warnings   (void);
guint       lk_kiosk_rig_get_left_card_warnings     (void);
void        lk_kiosk_rig_start_expecting_left_card  (LkKioskRig *rig);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LkKioskRig, lk_kiosk_rig_free)

G_END_DECLS
