/* test-roster-util.h: fixtures and waiting helpers for the roster tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Runs tests/admin/make-fixtures.py (openpyxl) into a new temporary directory once per
 * test binary and returns it; NULL (and the reason in @why) if python3 with openpyxl is
 * not available. */
const char *lk_test_fixtures_dir      (char       **why);
/* The path of a fixture; skips the test and returns NULL if there are no fixtures. */
char       *lk_test_fixture           (const char  *name);
/* Iterates the thread-default main context until *@flag is TRUE or @timeout_s passes.
 * Returns *@flag. */
gboolean    lk_test_wait_for          (gboolean    *flag,
                                       guint        timeout_s);
/* Writes @text to a new file in a scratch temporary directory. */
char       *lk_test_write_file        (const char  *name,
                                       const char  *text,
                                       gssize       len);
/* Removes the temporary directory (called at the end of main). */
void        lk_test_fixtures_cleanup  (void);

G_END_DECLS
