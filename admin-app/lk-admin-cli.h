/* lk-admin-cli.h: lingka-admin's command-line modes for operators' scripts
 *
 * Both run without a display and return the process exit status; the application calls
 * them from its handle-local-options handler.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Exit statuses */
#define LK_ADMIN_CLI_OK          0
#define LK_ADMIN_CLI_ROW_ERRORS  1  /* the file was read but rows are wrong / rejected */
#define LK_ADMIN_CLI_FAILED      2  /* the file could not be read, or the upload failed */

/* lingka-admin --check FILE
 *
 * Reads the roster and uploads nothing. Standard output: one JSON object per row read,
 * one per line, with DESIGN.md's row keys in order
 * {"seq","province","school","class","name","student_no","card_no"}.
 * Standard error: one JSON object per line for each row error,
 * {"seq": n, "field": "student_no", "message": "..."}; a file that cannot be read gives
 * one line {"error": "..."} instead. Returns LK_ADMIN_CLI_OK only when there is no error,
 * LK_ADMIN_CLI_ROW_ERRORS when rows are wrong, LK_ADMIN_CLI_FAILED when the file is. */
int lk_admin_cli_check  (const char *path);

/* lingka-admin --import FILE --server URL --user NAME
 *
 * Reads the password from standard input (first line), logs in, reads and validates the
 * roster (nothing is sent if a row is wrong: the row errors are printed as for --check),
 * then runs the framed double handshake. Progress lines go to standard error; the result
 * goes to standard output as one JSON object
 * {"batch_id","inserted","updated","unchanged","attempts"}. Returns LK_ADMIN_CLI_OK on
 * success, LK_ADMIN_CLI_ROW_ERRORS for wrong rows, LK_ADMIN_CLI_FAILED otherwise. */
int lk_admin_cli_import (const char *path,
                         const char *server_url,
                         const char *user);

G_END_DECLS
