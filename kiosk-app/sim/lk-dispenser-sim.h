/* lk-dispenser-sim.h: a K7X0 card dispenser on a pseudo-terminal
 *
 * The simulator opens a pty and speaks the exact K7X0 bytes of DISPENSER.md on it, from its own
 * thread and main context. It keeps a hopper of Mifare Classic 1K cards with distinct UIDs (keys
 * and sector trailers honoured; the access bits are read as the transport configuration, where
 * key A and key B may read and write every block), the card's position in the channel, the
 * reject box, and the faults that tests and technicians provoke with text commands:
 *
 *   jam · clear · empty · fill N · reload (rejected cards back into the hopper) · reject-full · nak N · silent · talk · untaken · take ·
 *   fail-dispense [N] (misfeeds) · fail-write [N] · fail-read [N] ·
 *   noise [N] (garbage before the next N answers) · corrupt [N] (a wrong BCC on the next N
 *   reply frames) · reply-motion on|off · motion-ms MS · auto-take MS|off · read UID BLOCK ·
 *   status · help
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  guint    address;          /* DIP-switch address, 0 */
  guint    cards;            /* cards in the hopper at start, 20 */
  guint    hopper_capacity;  /* 100 */
  guint    low_threshold;    /* "pre-empty" at or below this many cards, 3 */
  guint    reject_capacity;  /* 30 */
  guint    motion_ms;        /* mechanical time of one motion, 800 */
  gint     auto_take_ms;     /* the student takes an ejected card after this; -1: never */
  gboolean reply_motion;     /* firmware that answers motion commands after ENQ */
  guint    gap_ms;           /* a frame with a longer pause between bytes is void; 50, 0: off */
  guint32  first_uid;        /* UID of the first card; the others follow */
} LkDispenserSimOptions;

void lk_dispenser_sim_options_init (LkDispenserSimOptions *options);

#define LK_TYPE_DISPENSER_SIM (lk_dispenser_sim_get_type ())

G_DECLARE_FINAL_TYPE (LkDispenserSim, lk_dispenser_sim, LK, DISPENSER_SIM, GObject)

/* Opens the pty and starts the simulator's thread. */
LkDispenserSim *lk_dispenser_sim_new           (const LkDispenserSimOptions *options,
                                                GError                     **error);

/* "pty:/dev/pts/N", for lk_dispenser_new() and lk_transport_open_by_name(). */
const char     *lk_dispenser_sim_get_port      (LkDispenserSim *self);

/* Runs one text command (see above) on the simulator's thread and returns its answer: a line
 * that starts with "ok" or "error:". */
char           *lk_dispenser_sim_command       (LkDispenserSim *self,
                                                const char     *line);

/* Inspection, for tests: thread-safe snapshots. */
guint           lk_dispenser_sim_get_stock        (LkDispenserSim *self);
guint           lk_dispenser_sim_get_reject_count (LkDispenserSim *self);
guint           lk_dispenser_sim_get_taken_count  (LkDispenserSim *self);
/* "none", "read", "mouth", "stuck" */
char           *lk_dispenser_sim_get_position     (LkDispenserSim *self);
/* Commands (frames that were ACKed and executed after ENQ) and NAKs sent so far. */
guint           lk_dispenser_sim_get_executed     (LkDispenserSim *self);
guint           lk_dispenser_sim_get_naks_sent    (LkDispenserSim *self);
/* A block of the card with @uid (8 hex digits), wherever the card is now; FALSE if no such
 * card. A sector trailer reads as stored (key A included). */
gboolean        lk_dispenser_sim_get_block        (LkDispenserSim *self,
                                                   const char     *uid,
                                                   guint           block,
                                                   guint8          out[16]);

G_END_DECLS
