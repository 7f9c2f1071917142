/* lk-store-vfs.c: an SQLite VFS that writes a transaction's WAL frames in one system call
 *
 * SQLite appends each WAL frame with two writes, its 24-byte header and then its page, so a
 * commit of 100 pages costs 200 pwrite() calls. On the machines measured (a VM where a system
 * call costs about 2 µs), that is 5 µs a frame, against 1.1 µs when the same frames go out in
 * one write of 64 (docs/bench-server.md, "Sixth session"); and the store's batch writer, which
 * every claim waits for, spent 40% of its time there.
 *
 * So this VFS wraps the default one and, for WAL files only, gathers contiguous appends in a
 * buffer and writes them out with one pwrite():
 * - at the end of each commit: once the page that follows a commit frame's header is in (the
 *   header's "database size after commit" field is non-zero only in a commit frame). So the
 *   whole transaction is in the file, in the kernel's page cache, before SQLite publishes it in
 *   the WAL index and before sqlite3_step() returns: other connections, which read the WAL
 *   with their own file handles, never see a frame that is not there;
 * - when the buffer is full, or the next append does not follow it;
 * - before any other operation on the file (read, size, truncate, sync, file control, close).
 * Only appends are held back. A write inside what this transaction has written already (a
 * frame written over because its page changed again, the checksums SQLite then rewrites up to
 * the commit frame, after the commit frame itself) goes straight through, after what is
 * buffered: the last of those rewrites is the commit frame's header, and nothing after it would
 * push it out. The buffer never outlives the connection's hold on the WAL's write lock: when the
 * lock is released (after a commit, or a rollback that left spilled frames in the buffer),
 * whatever is left goes out then, before any other connection can write where those frames
 * were. And where the transaction's first write lands is where its appends start, whoever
 * wrote the WAL (or started it over) since. Both hooks see the lock through the database file's
 * xShmLock() on the same thread: SQLite uses a connection from one thread at a time.
 * A failed write is reported by the xWrite that triggered it, or the operation that flushed,
 * and SQLite rolls the transaction back; the frames left in the file past the last commit are
 * then ignored as WAL frames always are. A crash loses at most the transaction in progress,
 * exactly as without the buffer, since frames without their commit frame never count.
 *
 * Every other file (the database, the WAL index) and every other method go straight through.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lingka-store"

#include "config.h"

#include "lk-store-vfs.h"

#include <string.h>

/* The unix VFS writes at most 128 KiB - 1 bytes a call (seekAndWriteFd() masks the length with
 * 0x1ffff), so a buffer holds 30 frames of 4 KiB pages; a batch of claims, 40-150 frames, goes
 * out in 2-5 writes instead of 80-300. */
#define WAL_BUFFER_SIZE (124 * 1024)
#define WAL_FRAME_HEADER_SIZE 24

typedef struct
{
  sqlite3_file  base;
  sqlite3_file *real;          /* the wrapped VFS's file, just after this struct */
  gboolean      is_wal;

  /* WAL files only: appends not yet written. */
  guint8       *buffer;
  gsize         buffered;
  sqlite3_int64 buffer_offset; /* where buffer[0] goes in the file */
  gboolean      commit_header; /* the last append was a commit frame's header */
  sqlite3_int64 end;           /* how far this transaction's writes reach: below it, in place */
} LkVfsFile;

/* SQLite's lock on writing the WAL: the first of its shared-memory locks (wal.c). */
#define WAL_WRITE_LOCK 0

static sqlite3_vfs *root_vfs;
static gint physical_wal_writes;   /* for the tests */
static gint published_early;       /* for the tests: WAL index headers written over held-back frames */

/* This thread's write transaction on a WAL, if any. */
static _Thread_local struct
{
  gboolean   starting;   /* the write lock was just taken: the next WAL write sets the end */
  LkVfsFile *buffering;  /* the WAL file this thread last buffered appends for */
} transaction;

#define REAL(f) (((LkVfsFile *) (f))->real)
#define REAL_METHODS(f) (REAL (f)->pMethods)

static int
wal_flush (LkVfsFile *file)
{
  int rc;

  if (file->buffered == 0)
    return SQLITE_OK;
  rc = file->real->pMethods->xWrite (file->real, file->buffer, (int) file->buffered,
                                     file->buffer_offset);
  g_atomic_int_inc (&physical_wal_writes);
  file->buffered = 0;
  file->commit_header = FALSE;
  return rc;
}

static gboolean
is_commit_frame_header (const guint8 *data,
                        int           amount)
{
  /* Bytes 4-7: the database size in pages after the commit, zero in any other frame. */
  return amount == WAL_FRAME_HEADER_SIZE && (data[4] | data[5] | data[6] | data[7]) != 0;
}

static int
vfs_write (sqlite3_file  *f,
           const void    *data,
           int            amount,
           sqlite3_int64  offset)
{
  LkVfsFile *file = (LkVfsFile *) f;
  gboolean ends_commit;
  int rc;

  if (!file->is_wal)
    return REAL_METHODS (f)->xWrite (REAL (f), data, amount, offset);

  /* The transaction's first write: an append at the WAL's end, or its header at a restart. */
  if (transaction.starting)
    {
      transaction.starting = FALSE;
      file->end = offset;
    }
  if (offset < file->end)
    {
      rc = wal_flush (file);
      if (rc != SQLITE_OK)
        return rc;
      /* The WAL header: SQLite starts the WAL over, and appends follow it. (The first write of
       * a transaction anyway, but with locking_mode=EXCLUSIVE SQLite takes no shared-memory
       * locks, so xShmLock() never marks the transaction's start.) */
      if (offset == 0)
        file->end = amount;
      g_atomic_int_inc (&physical_wal_writes);
      return REAL_METHODS (f)->xWrite (REAL (f), data, amount, offset);
    }
  file->end = offset + amount;

  ends_commit = file->commit_header;
  if (file->buffered > 0
      && (offset != file->buffer_offset + (sqlite3_int64) file->buffered
          || file->buffered + (gsize) amount > WAL_BUFFER_SIZE))
    {
      rc = wal_flush (file);
      if (rc != SQLITE_OK)
        return rc;
    }

  if ((gsize) amount > WAL_BUFFER_SIZE)
    {
      g_atomic_int_inc (&physical_wal_writes);
      return REAL_METHODS (f)->xWrite (REAL (f), data, amount, offset);
    }

  if (file->buffer == NULL)
    file->buffer = g_malloc (WAL_BUFFER_SIZE);
  if (file->buffered == 0)
    file->buffer_offset = offset;
  memcpy (file->buffer + file->buffered, data, amount);
  file->buffered += amount;
  transaction.buffering = file;
  file->commit_header = is_commit_frame_header (data, amount);

  /* The commit frame's page is the transaction's last write. */
  if (ends_commit)
    return wal_flush (file);
  return SQLITE_OK;
}

static int
vfs_close (sqlite3_file *f)
{
  LkVfsFile *file = (LkVfsFile *) f;
  int flush_rc = wal_flush (file);
  int rc = REAL_METHODS (f)->xClose (REAL (f));

  if (transaction.buffering == file)
    transaction.buffering = NULL;
  g_clear_pointer (&file->buffer, g_free);
  return flush_rc != SQLITE_OK ? flush_rc : rc;
}

/* Everything else: what is buffered goes out first, then the wrapped method. */
#define FLUSH_OR_RETURN(f)                                    \
  G_STMT_START {                                              \
    int flush_rc_ = wal_flush ((LkVfsFile *) (f));            \
    if (flush_rc_ != SQLITE_OK)                               \
      return flush_rc_;                                       \
  } G_STMT_END

static int
vfs_read (sqlite3_file  *f,
          void          *data,
          int            amount,
          sqlite3_int64  offset)
{
  FLUSH_OR_RETURN (f);
  return REAL_METHODS (f)->xRead (REAL (f), data, amount, offset);
}

static int
vfs_truncate (sqlite3_file  *f,
              sqlite3_int64  size)
{
  FLUSH_OR_RETURN (f);
  return REAL_METHODS (f)->xTruncate (REAL (f), size);
}

static int
vfs_sync (sqlite3_file *f,
          int           flags)
{
  FLUSH_OR_RETURN (f);
  return REAL_METHODS (f)->xSync (REAL (f), flags);
}

static int
vfs_file_size (sqlite3_file  *f,
               sqlite3_int64 *size)
{
  FLUSH_OR_RETURN (f);
  return REAL_METHODS (f)->xFileSize (REAL (f), size);
}

static int
vfs_file_control (sqlite3_file *f,
                  int           op,
                  void         *arg)
{
  FLUSH_OR_RETURN (f);
  return REAL_METHODS (f)->xFileControl (REAL (f), op, arg);
}

static int
vfs_lock (sqlite3_file *f,
          int           level)
{
  return REAL_METHODS (f)->xLock (REAL (f), level);
}

static int
vfs_unlock (sqlite3_file *f,
            int           level)
{
  return REAL_METHODS (f)->xUnlock (REAL (f), level);
}

static int
vfs_check_reserved_lock (sqlite3_file *f,
                         int          *out)
{
  return REAL_METHODS (f)->xCheckReservedLock (REAL (f), out);
}

static int
vfs_sector_size (sqlite3_file *f)
{
  return REAL_METHODS (f)->xSectorSize (REAL (f));
}

static int
vfs_device_characteristics (sqlite3_file *f)
{
  return REAL_METHODS (f)->xDeviceCharacteristics (REAL (f));
}

static int
vfs_shm_map (sqlite3_file  *f,
             int            region,
             int            size,
             int            extend,
             void volatile **out)
{
  return REAL_METHODS (f)->xShmMap (REAL (f), region, size, extend, out);
}

static int
vfs_shm_lock (sqlite3_file *f,
              int           offset,
              int           n,
              int           flags)
{
  gboolean write_lock = offset == WAL_WRITE_LOCK && (flags & SQLITE_SHM_EXCLUSIVE) != 0;
  int rc;

  if (write_lock && (flags & SQLITE_SHM_UNLOCK) != 0)
    {
      /* Empty after a commit; after a rollback, frames past the WAL's end that nobody reads:
       * they go out now, while nobody else can write there. */
      if (transaction.buffering != NULL)
        {
          int flush_rc = wal_flush (transaction.buffering);

          if (flush_rc != SQLITE_OK)
            g_debug ("Rolled-back WAL frames not written (SQLite error %d)", flush_rc);
          transaction.buffering = NULL;
        }
      transaction.starting = FALSE;
    }

  rc = REAL_METHODS (f)->xShmLock (REAL (f), offset, n, flags);
  if (write_lock && (flags & SQLITE_SHM_LOCK) != 0 && rc == SQLITE_OK)
    transaction.starting = TRUE;
  return rc;
}

static void
vfs_shm_barrier (sqlite3_file *f)
{
  /* SQLite publishes a commit in the WAL index between two barriers; by then its frames must
   * be in the file (the commit frame's page pushed them out). */
  if (transaction.buffering != NULL && transaction.buffering->buffered > 0)
    g_atomic_int_inc (&published_early);
  REAL_METHODS (f)->xShmBarrier (REAL (f));
}

static int
vfs_shm_unmap (sqlite3_file *f,
               int           delete_flag)
{
  return REAL_METHODS (f)->xShmUnmap (REAL (f), delete_flag);
}

static int
vfs_fetch (sqlite3_file   *f,
           sqlite3_int64   offset,
           int             amount,
           void          **out)
{
  return REAL_METHODS (f)->xFetch (REAL (f), offset, amount, out);
}

static int
vfs_unfetch (sqlite3_file  *f,
             sqlite3_int64  offset,
             void          *page)
{
  return REAL_METHODS (f)->xUnfetch (REAL (f), offset, page);
}

static const sqlite3_io_methods io_methods = {
  .iVersion = 3,
  .xClose = vfs_close,
  .xRead = vfs_read,
  .xWrite = vfs_write,
  .xTruncate = vfs_truncate,
  .xSync = vfs_sync,
  .xFileSize = vfs_file_size,
  .xLock = vfs_lock,
  .xUnlock = vfs_unlock,
  .xCheckReservedLock = vfs_check_reserved_lock,
  .xFileControl = vfs_file_control,
  .xSectorSize = vfs_sector_size,
  .xDeviceCharacteristics = vfs_device_characteristics,
  .xShmMap = vfs_shm_map,
  .xShmLock = vfs_shm_lock,
  .xShmBarrier = vfs_shm_barrier,
  .xShmUnmap = vfs_shm_unmap,
  .xFetch = vfs_fetch,
  .xUnfetch = vfs_unfetch,
};

static int
vfs_open (sqlite3_vfs  *vfs,
          const char   *name,
          sqlite3_file *f,
          int           flags,
          int          *out_flags)
{
  LkVfsFile *file = (LkVfsFile *) f;
  int rc;

  memset (file, 0, sizeof *file);
  file->real = (sqlite3_file *) (file + 1);
  rc = root_vfs->xOpen (root_vfs, name, file->real, flags, out_flags);
  /* SQLite calls xClose only on a file whose methods are set. */
  if (file->real->pMethods == NULL)
    return rc;
  /* The methods above need the wrapped file's xShm* and xFetch. */
  g_assert (file->real->pMethods->iVersion >= 3);
  file->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  file->base.pMethods = &io_methods;
  return rc;
}

static int
vfs_delete (sqlite3_vfs *vfs,
            const char  *name,
            int          sync_dir)
{
  return root_vfs->xDelete (root_vfs, name, sync_dir);
}

static int
vfs_access (sqlite3_vfs *vfs,
            const char  *name,
            int          flags,
            int         *out)
{
  return root_vfs->xAccess (root_vfs, name, flags, out);
}

static int
vfs_full_pathname (sqlite3_vfs *vfs,
                   const char  *name,
                   int          size,
                   char        *out)
{
  return root_vfs->xFullPathname (root_vfs, name, size, out);
}

static void *
vfs_dl_open (sqlite3_vfs *vfs,
             const char  *name)
{
  return root_vfs->xDlOpen (root_vfs, name);
}

static void
vfs_dl_error (sqlite3_vfs *vfs,
              int          size,
              char        *out)
{
  root_vfs->xDlError (root_vfs, size, out);
}

static void (*vfs_dl_sym (sqlite3_vfs *vfs,
                          void        *handle,
                          const char  *symbol)) (void)
{
  return root_vfs->xDlSym (root_vfs, handle, symbol);
}

static void
vfs_dl_close (sqlite3_vfs *vfs,
              void        *handle)
{
  root_vfs->xDlClose (root_vfs, handle);
}

static int
vfs_randomness (sqlite3_vfs *vfs,
                int          size,
                char        *out)
{
  return root_vfs->xRandomness (root_vfs, size, out);
}

static int
vfs_sleep (sqlite3_vfs *vfs,
           int          microseconds)
{
  return root_vfs->xSleep (root_vfs, microseconds);
}

static int
vfs_current_time (sqlite3_vfs *vfs,
                  double      *out)
{
  return root_vfs->xCurrentTime (root_vfs, out);
}

static int
vfs_get_last_error (sqlite3_vfs *vfs,
                    int          size,
                    char        *out)
{
  return root_vfs->xGetLastError (root_vfs, size, out);
}

static int
vfs_current_time_int64 (sqlite3_vfs   *vfs,
                        sqlite3_int64 *out)
{
  return root_vfs->xCurrentTimeInt64 (root_vfs, out);
}

static sqlite3_vfs lk_vfs = {
  .iVersion = 2,
  .mxPathname = 0,      /* set from the wrapped VFS */
  .zName = LK_STORE_VFS_NAME,
  .xOpen = vfs_open,
  .xDelete = vfs_delete,
  .xAccess = vfs_access,
  .xFullPathname = vfs_full_pathname,
  .xDlOpen = vfs_dl_open,
  .xDlError = vfs_dl_error,
  .xDlSym = vfs_dl_sym,
  .xDlClose = vfs_dl_close,
  .xRandomness = vfs_randomness,
  .xSleep = vfs_sleep,
  .xCurrentTime = vfs_current_time,
  .xGetLastError = vfs_get_last_error,
  .xCurrentTimeInt64 = vfs_current_time_int64,
};

/* Registers the VFS (once; not as the default) and returns its name for sqlite3_open_v2(). */
const char *
lk_store_vfs_name (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      root_vfs = sqlite3_vfs_find (NULL);
      g_assert (root_vfs != NULL && root_vfs->iVersion >= 2);
      lk_vfs.szOsFile = (int) sizeof (LkVfsFile) + root_vfs->szOsFile;
      lk_vfs.mxPathname = root_vfs->mxPathname;
      if (sqlite3_vfs_register (&lk_vfs, 0) != SQLITE_OK)
        g_error ("Cannot register the SQLite VFS %s", LK_STORE_VFS_NAME);
      g_once_init_leave (&registered, 1);
    }
  return LK_STORE_VFS_NAME;
}

guint
lk_store_vfs_debug_published_early (void)
{
  return (guint) g_atomic_int_get (&published_early);
}

gsize
lk_store_vfs_debug_buffered (void)
{
  return transaction.buffering != NULL ? transaction.buffering->buffered : 0;
}

guint
lk_store_vfs_debug_wal_writes (void)
{
  return (guint) g_atomic_int_get (&physical_wal_writes);
}
