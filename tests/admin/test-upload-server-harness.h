/* test-upload-server-harness.h: the in-process lingka-server, seen through plain types
 *
 * The server's store header and the admin upload header both name an LkImportResult, so
 * the upload test reaches tests/server/lk-test-server.h only through this file.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _Harness Harness;

/* A running server with a school (province/school below), "operator" and "teacher". */
Harness    *harness_new           (void);
void        harness_free          (Harness *harness);
const char *harness_base_url      (Harness *harness);
gint64      harness_school_id     (Harness *harness);
const char *harness_province      (void);
const char *harness_school        (void);
const char *harness_password      (void);

G_END_DECLS
