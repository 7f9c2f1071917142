/* lk-store-vfs.h: the store's SQLite VFS (one write a commit for WAL frames)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

#define LK_STORE_VFS_NAME "lingka-wal"

const char *lk_store_vfs_name             (void);

/* How many writes the VFS has made to WAL files since the process started. */
guint       lk_store_vfs_debug_wal_writes (void);
/* How many times SQLite wrote the WAL index while this process held back WAL appends of the
 * transaction being published: none. */
guint       lk_store_vfs_debug_published_early (void);
/* How many bytes of WAL appends this thread holds back now (none once its write transaction
 * has ended, by commit or rollback). */
gsize       lk_store_vfs_debug_buffered   (void);

G_END_DECLS
