/* lk-i18n.h: gettext set-up shared by the programs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <glib/gi18n.h>

G_BEGIN_DECLS

/* setlocale (LC_ALL, ""), bindtextdomain and UTF-8 codeset. The message catalogue comes from
 * $LINGKA_LOCALEDIR if set, else the build tree when run uninstalled, else LOCALEDIR.
 * zh_CN is the first language: when neither LANGUAGE nor LC_ALL/LC_MESSAGES/LANG names a
 * language (unset, C or POSIX), LANGUAGE is set to zh_CN. @language (e.g. from a config
 * file: "zh_CN" or "en") overrides everything when not NULL. */
void lk_i18n_init (const char *language);

G_END_DECLS
