/* lk-service.h: the technician's service mode, without GUI or server
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs @mode against the dispenser at @port and prints each step and its outcome on stdout,
 * translated (zh_CN by default):
 *   "status"      reads and decodes the status;
 *   "test-issue"  dispenses one card, reads its UID, writes and verifies a test block, and
 *                 captures the card into the reject box.
 * Returns the process exit status: 0 only if every step passed, 1 if a step failed, 2 for a
 * bad argument (with @error set). Runs its own main context; call it from a thread with no
 * main loop running, e.g. from handle-local-options. */
int lk_service_run (const char   *port,
                    guint         address,
                    guint         baud,
                    const guint8 *card_key,
                    gsize         key_len,
                    const char   *mode,
                    GError      **error);

/* The same, with each line handed to @line_func instead of stdout (the hidden service screen
 * runs it in a thread and shows the lines). @line_func is called from the calling thread. */
typedef void (*LkServiceLineFunc) (const char *line,
                                   gpointer    user_data);

int lk_service_run_full (const char        *port,
                         guint              address,
                         guint              baud,
                         const guint8      *card_key,
                         gsize              key_len,
                         const char        *mode,
                         LkServiceLineFunc  line_func,
                         gpointer           line_data,
                         GError           **error);

G_END_DECLS
