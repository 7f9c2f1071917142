/* lk-epoll-watch.h: many sockets watched through one epoll descriptor per main context
 *
 * A GMainContext polls every descriptor of every source on every iteration (MEASURED.md,
 * pitfall 2): a listener thread holding a thousand idle kiosk sockets pays for all of them each
 * time one busy kiosk speaks. Watches made here share one source per context, which polls a
 * single epoll descriptor; an iteration costs the same with ten sockets or ten thousand, and only
 * the sockets that are ready are looked at. Level-triggered: a callback that leaves bytes unread
 * is called again on the next iteration.
 *
 * A watch belongs to the thread-default main context of the thread that made it, and is made,
 * called and freed on that thread only. Free it before closing its descriptor.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _LkEpollWatch LkEpollWatch;

typedef void (*LkEpollFunc) (gpointer user_data);

/* Calls @func whenever @fd is readable, or hung up, or in error. NULL (with a warning) if the
 * kernel refuses: out of descriptors or epoll watches; the caller then polls @fd some other way. */
LkEpollWatch  *lk_epoll_watch_new      (int           fd,
                                        LkEpollFunc   func,
                                        gpointer      user_data);
/* Safe from within any watch's callback, its own included. */
void           lk_epoll_watch_free     (LkEpollWatch *watch);

/* Tests: the number of shared sources alive (one per context with watches). */
guint          lk_epoll_watch_n_sources (void);

G_END_DECLS
