/* lk-json-guard.h: a cheap check to run on untrusted JSON text before json-glib parses it
 *
 * json-glib's parser recurses once per nesting level, so a body of a few hundred kilobytes of
 * "[[[[…" overflows a thread's stack and kills the process. Check the depth first.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LK_JSON_MAX_DEPTH 64

/* TRUE if no array or object in @data (JSON text, @len bytes) is nested deeper than
 * @max_depth. Brackets inside strings (with their escapes) do not count. The text need not be
 * valid JSON: this only bounds what the parser will do with it. */
gboolean lk_json_depth_ok (const char *data,
                           gsize       len,
                           guint       max_depth);

G_END_DECLS
