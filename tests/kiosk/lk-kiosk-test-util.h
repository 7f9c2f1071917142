/* lk-kiosk-test-util.h: helpers for the kiosk tests
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Iterates the thread-default main context until @cond is TRUE, blocking between events,
 * or until @timeout_ms have passed. Returns the last value of @cond. */
#define LK_TEST_WAIT_UNTIL(cond, timeout_ms) \
  ({ \
    gboolean _lk_expired = FALSE; \
    guint _lk_id = g_timeout_add ((timeout_ms), lk_test_set_flag_cb, &_lk_expired); \
    while (!(cond) && !_lk_expired) \
      g_main_context_iteration (NULL, TRUE); \
    if (!_lk_expired) \
      g_source_remove (_lk_id); \
    (gboolean) (cond); \
  })

gboolean lk_test_set_flag_cb      (gpointer user_data);

/* A valid claim code: @seven digits and their Damm check digit (free with g_free). */
char    *lk_test_make_code        (const char *seven);

/* Removes a directory tree made by a test. */
void     lk_test_remove_tree      (const char *path);

G_END_DECLS
