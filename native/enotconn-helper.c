// enotconn-helper: the probe engine's native half (DESIGN section 8). It serves requests read as
// lines on stdin and answers as lines on stdout, one thread per request, and abandons a request
// whose deadline passes: the thread stays blocked in the kernel (a hung FUSE or NFS mount cannot
// be interrupted) while the helper answers everything else. It uses libc only and never execs.
//
// Requests (fields separated by one space; paths are hex-encoded bytes, so any byte may appear):
//   P <id> <timeout_ms> <uid|-1> <gid|-1> <key_hash|-> <hex_path>   probe: statfs, then lstat of a
//                                                    random name under the mount (ENOENT = healthy)
//   R <id> <timeout_ms> <max_bytes> <hex_path>       bounded read of a /proc or /sys file
//   L <id> <timeout_ms> <hex_path>                   bounded readlink of a /proc link (cwd, fd/N...)
//   G <id> <timeout_ms> <pid> <mntns_ino> <attrs> <maj:min|-> <stale_mnt_id|-1> <hex_src> <hex_dst>
//                                                    graft: clone the host's mount tree at src
//                                                    (on device maj:min), enter pid's mount
//                                                    namespace (that inode), detach the stale mount
//                                                    at dst (that mount id), move the clone there
//                                                    with attrs (MOUNT_ATTR_* bits) set
//   M <id> <timeout_ms> <recursive 0|1> <attr_set> <src_dev|-> <src_ino|-> <dst_dev|-> <dst_ino|->
//     <hex_src> <hex_dst>                            bind by file descriptors, in this namespace:
//                                                    `mount --bind` (--rbind) without the window
//                                                    between checking the paths and mounting
//   Q <id> <timeout_ms> <pid> <what> <hex_prefix|->  one process's /proc files in one request:
//                                                    `what` is letters, answered in that order:
//                                                    a (cmdline), s (stat, up to starttime),
//                                                    n (ns/mnt link),
//                                                    c (cwd), r (root), e (exe), f (every fd's
//                                                    link), u (the FUSE connection of each
//                                                    /dev/fuse fd, from fdinfo), m (the distinct
//                                                    mapped paths that start with prefix)
//   T <id> <timeout_ms> <after_pid> <what> <hex_prefix|-> [<last_pid>]  the same for every process
//                                                    whose pid is above after_pid (and at most
//                                                    last_pid), each with its own deadline
//   S <id> <timeout_ms> <p|f> <hex_path>            p: lstat(2) of "/" and of each longer prefix of
//                                                    the path down to the path itself (a path
//                                                    check: no symlink, same directories), up to
//                                                    the first that fails; f: stat(2) of the path
//   K <id> <timeout_ms> <max_records> <hex_words>    the kernel log (/dev/kmsg, read without
//                                                    blocking): the first line of each of the
//                                                    last max_records records that holds one of
//                                                    the words (hex of the words, one per line)
//   V <id> <timeout_ms> <l|f|r> <max_bytes> <hex_path>  validating a healed mount, as this process:
//                                                    l: the directory's entries (as ls -A counts);
//                                                    f: its first regular file of at most max_bytes
//                                                    by name (as find -maxdepth 1 -type f -size);
//                                                    r: a regular file's bytes (none followed)
//   W <id>                                           watch this mount namespace's table: say each
//                                                    change (a mount, unmount, move or remount)
//   O <id> <timeout_ms> <uid|-1> <gid|-1> <key_hash|-> <lo_us> <hi_us> <hex_path>
//                                                    a quiet probe: as P, but a healthy answer with
//                                                    lo_us <= latency < hi_us is left out (the
//                                                    caller knows the mount is healthy in that band)
//   Z <id> <le_us,...|->                             a barrier: answered once every O before it has
//                                                    been answered, left out or abandoned; le_us: the
//                                                    caller's histogram buckets (µs, ascending)
// Replies:
//   P <id> ok <latency_us> | P <id> err <errno> <s|l> <latency_us> | H <id> (deadline passed)
//   B <id> <since_ms>       another live process holds a probe of this mount; none was started
//   U <key_hash> <latency_us>   an abandoned probe finally returned
//   D <id> ok <hex> | D <id> err <errno> | D <id> hung   (R and L)
//   G <id> ok | G <id> err <errno> <step> | G <id> hung
//   M <id> ok | M <id> err <errno> <step> | M <id> hung
//   Q <id> ok <field>... | Q <id> hung: a, s and links are hex, or `-` when unreadable (a and s
//                           `.` when empty); f is `-`, `.` (no fd) or `fd:hex,fd:hex...`; u is `-`,
//                           `.` (no /dev/fuse fd) or `N,?,...` (`?`: a /dev/fuse fd naming no
//                           connection); m is `-`, `.` (none) or `hex,hex...`
//   S <id> ok <item>[,<item>...] | S <id> hung: an item is dev:ino:uid:mode (decimal, st_dev as
//                           stat(1) %d prints it) or -errno
//   K <id> ok <hex_lines|-> (the lines newline-separated) | K <id> err <errno> | K <id> hung
//   V <id> ok <count | hex_name | hex_bytes | -> | V <id> err <errno> | V <id> hung
//   W <id> ok (watching) | W <id> changed (the table changed since the last W line) | W <id> err <errno>
//   O: as P (P, H, B lines); Z <id> done <n> <count:sum_us,...>: of the O lines between the last Z
//                           and this one, n were left out; per bucket (and +Inf), how many and
//                           their latencies' sum
//   t <id> <pid> <field>... (one per process) then T <id> done | T <id> hung <pid> (that process's
//                           read passed its deadline; ask again after it) | T <id> err <errno>
// When stdin closes, the helper exits once every thread, abandoned ones included, has returned.
//
// Threads: a small pool takes requests from a queue. A request whose deadline passes is answered
// `H` and its thread abandoned (it stays blocked in the kernel; a fresh thread takes its place);
// a request still running after SLOW_MS lets one more thread start, up to MAX_THREADS, so hung
// mounts never hold up the healthy ones queued behind them.
//
// The registry (shared with every enotconn process): a probe is claimed when it STARTS with an
// OFD byte-range lock on one byte of <registry>/probes.lock (fcntl(2) F_OFD_SETLK: one syscall, on
// any filesystem, and released by the kernel if this process dies). When a probe passes its
// deadline, a file <registry>/<key_hash> "<pid> <start ticks> <since ms>" records since when it
// is stuck; the Node probe child (the fallback engine) claims with that same file, so both
// engines see each other's probes.
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 20000
#define PATH_MAX_BYTES 8192
#define PATH_CAP (PATH_MAX_BYTES / 2 + 64) // the longest path a request may carry, with its NUL
#define MAX_THREADS 1024
// A probe still running after SLOW_MS no longer counts against the concurrency: it is on a slow
// or hung mount, and must not hold up the probes of healthy mounts queued behind it.
#define SLOW_MS 20
#define POOL_IDLE_MAX 4 // idle threads kept beyond the concurrency are let go

enum kind { PROBE, READ, LINK, GRAFT, BIND, LINKS, TABLE, STAT, KMSG, VIEW };
enum phase { QUEUED, RUNNING, ANSWERED };

struct req {
  struct req *next;
  enum kind kind;
  enum phase phase;
  long id;
  long timeout_ms;
  long uid, gid;
  long max_bytes;                      // read, view: the most bytes; kmsg: the most records
  char hash[48];
  // Allocated to their length (a request waits in the queue: a watch cycle queues one per mount).
  char *path;
  char *path2; // graft, bind: the destination (inside the target namespace for a graft), or NULL
  long pid;                            // graft: a process in the target mount namespace
  unsigned long ns_ino;                // graft: the inode of that mount namespace, as planned
  long src_major, src_minor;           // graft: the fresh mount's device (-1: not checked)
  long long stale_mnt;                 // graft: the stale copy's mount id there (-1: none)
  long ro;                             // bind: recursive
  unsigned long long attrs;            // graft, bind: MOUNT_ATTR_* to set on the new mount
  long long want[4];                   // bind: st_dev, st_ino of src, then of dst (-1: not checked)
  char what[16];                       // links and table: the letters asked for
  long cur_pid;                        // table: the process being read
  long until_pid;                      // table: read none above it (0: no bound)
  int follow;                          // stat: stat(2) of the path alone
  char *words;                         // kmsg: the words, one per line (malloc'd)
  size_t words_len;
  char view;                           // view: l, f or r
  int64_t started_ms; // when its thread started
  int timed_out;      // the deadline passed and `H`/`D hung` was sent; the thread is abandoned
  int claimed;        // holds the registry lock for `hash`
  int quiet;          // O: a healthy answer within [lo_us, hi_us) is left out
  long long lo_us, hi_us;
  uint64_t seq;       // O: its place among the quiet probes, for the barriers (Z)
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
// Held around a probe's pipe and fork: its result pipe exists in no other forked child (which may
// block on a hung mount for as long as it hangs, holding the pipe's write end open).
static pthread_mutex_t fork_mu = PTHREAD_MUTEX_INITIALIZER;
static struct req *queue_head, *queue_tail; // not started yet
static struct req *running;                 // started, not finished (timed out ones included)
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER;
static int threads_alive; // every pool thread, abandoned ones included
static int threads_stuck; // abandoned: blocked past a deadline
static int threads_idle;  // waiting for work
static int threads_starting; // created, not yet waiting or working
static int answering;        // requests out of the queue and `running`, whose reply is being written
static int64_t main_wake_at = -1; // when the main loop's poll returns (monotonic ms), -1: never
static int input_open = 1;
static long concurrency = 8;
static int wake_fd[2];    // a thread writes a byte when the main loop should look again
static int reg_fd = -1;   // the registry directory, or -1 without one
static int lock_fd = -1;  // <registry>/probes.lock
static char my_start[32];

#define MAX_BUCKETS 32
struct lats {
  int64_t *v;
  size_t n, cap;
};

// Quiet probes (O) and their barriers (Z). A steady host's watch cycle sends one O per mount and
// one Z: only the mounts whose answer changed cross the pipe, and Z says when the rest were done.
struct barrier {
  struct barrier *next;
  long id;
  uint64_t need;  // every O with seq < need must be done
  long remaining; // of those, the ones not done yet
  struct lats left_out; // the latencies of those that were left out
  long long le_us[MAX_BUCKETS]; // the caller's histogram buckets (upper bounds, ascending)
  int buckets;
};
static struct barrier *barriers;  // oldest first; each completes no later than the next
static uint64_t quiet_seq;        // O requests accepted so far
static long quiet_open;           // accepted and not done
static struct lats unassigned; // left out before their barrier arrived

static void lats_add(struct lats *l, int64_t v) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 256;
    int64_t *nv = realloc(l->v, cap * sizeof *nv);
    if (!nv) return; // the barrier's count then differs, and the caller trusts none of its batch
    l->v = nv;
    l->cap = cap;
  }
  l->v[l->n++] = v;
}

static int64_t now_ms(int clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

// One reply line; a line is at most one write(2), and writes of lines are serialised by `mu`'s
// callers or by this lock, so lines never interleave.
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static void reply(const char *line, size_t len) {
  pthread_mutex_lock(&out_mu);
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(1, line + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; // the parent went away: stuck probes still finish and clear the registry
    off += (size_t)n;
  }
  pthread_mutex_unlock(&out_mu);
}

static void replyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void replyf(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) reply(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int unhex(const char *hex, char *out, size_t cap) {
  size_t n = strlen(hex);
  if (n % 2 != 0 || n / 2 + 1 > cap) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (char)(hi * 16 + lo);
    if (out[i] == '\0') return -1;
  }
  out[n / 2] = '\0';
  return 0;
}

// Field 22 of /proc/<pid>/stat (start time in clock ticks): guards registry entries against pid reuse.
static int start_ticks(const char *pid, char *out, size_t cap) {
  char p[64], buf[1024];
  snprintf(p, sizeof p, "/proc/%s/stat", pid);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  char *s = strrchr(buf, ')'); // comm may hold spaces and parentheses
  if (!s) return -1;
  s += 2;
  for (int field = 3; field < 22 && s; field++) {
    s = strchr(s, ' ');
    if (s) s++;
  }
  if (!s) return -1;
  size_t len = strcspn(s, " ");
  if (len + 1 > cap) return -1;
  memcpy(out, s, len);
  out[len] = '\0';
  return 0;
}

// The lock byte of a mount: FNV-1a of its registry name, within off_t's positive range.
static off_t lock_offset(const char *hash) {
  uint64_t h = 1469598103934665603ull;
  for (const char *c = hash; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
  return (off_t)(h & 0x3fffffffffffffffull);
}

static int set_lock(const char *hash, short type) {
  struct flock fl = {0};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = lock_offset(hash);
  fl.l_len = 1;
  return fcntl(lock_fd, F_OFD_SETLK, &fl);
}

// The live holder recorded in <registry>/<hash>: 1 (its since time in *since), or 0. A record
// whose process is gone (or whose pid was reused) is removed.
static int live_record(const char *hash, int64_t *since) {
  int fd = openat(reg_fd, hash, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return 0;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  char pid[24] = {0}, st[32] = {0}, cur[32];
  long long sm = 0;
  if (sscanf(buf, "%23s %31s %lld", pid, st, &sm) == 3 && start_ticks(pid, cur, sizeof cur) == 0 &&
      strcmp(cur, st) == 0) {
    *since = sm;
    return 1;
  }
  unlinkat(reg_fd, hash, 0);
  return 0;
}

// Claim a mount for a probe that starts now: 1 when claimed, 0 when another live process holds a
// probe of it (*since: when that probe started, or 0 when not known yet), -1 without a registry.
static int claim(const char *hash, int64_t *since) {
  if (lock_fd < 0 || hash[0] == '-') return -1;
  *since = 0;
  if (set_lock(hash, F_WRLCK) != 0) {
    if (errno != EAGAIN && errno != EACCES) return -1;
    live_record(hash, since);
    return 0;
  }
  if (live_record(hash, since)) { // a Node probe child holds it
    set_lock(hash, F_UNLCK);
    return 0;
  }
  return 1;
}

// Record, for other processes, since when a probe that passed its deadline has been stuck.
static void record_stuck(struct req *r) {
  if (!r->claimed) return;
  char tmp[80];
  snprintf(tmp, sizeof tmp, "%s.tmp%d", r->hash, (int)getpid());
  int fd = openat(reg_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return;
  char buf[96];
  int64_t since = now_ms(CLOCK_REALTIME) - (now_ms(CLOCK_MONOTONIC) - r->started_ms);
  int n = snprintf(buf, sizeof buf, "%d %s %lld\n", (int)getpid(), my_start, (long long)since);
  int ok = write(fd, buf, (size_t)n) == n;
  close(fd);
  if (ok) renameat(reg_fd, tmp, reg_fd, r->hash);
  else unlinkat(reg_fd, tmp, 0);
}

static void unclaim(struct req *r, int was_stuck) {
  if (!r->claimed) return;
  if (was_stuck) unlinkat(reg_fd, r->hash, 0);
  set_lock(r->hash, F_UNLCK);
}

// What one probe found.
struct outcome {
  int err;     // 0 when healthy
  char sys;    // 's' statfs, 'l' lstat
};

static void probe_here(const char *path, const char *random_path, struct outcome *o) {
  struct statfs sf;
  struct stat st;
  o->err = 0;
  o->sys = 's';
  // statfs reaches the daemon (FUSE_STATFS, NFS FSSTAT) rather than the dentry cache.
  if (statfs(path, &sf) != 0) {
    o->err = errno;
    return;
  }
  // A random name defeats positive and negative dentry caching: the lookup goes to the backend.
  o->sys = 'l';
  if (lstat(random_path, &st) != 0 && errno != ENOENT) o->err = errno;
}

// Probe as another user, for a FUSE mount without allow_other that only its owner may reach
// (fuse_allow_current_process in fs/fuse/dir.c compares uid and gid with user_id/group_id).
// A forked child drops to that uid and gid with raw syscalls (they change only the calling
// thread, which is the child's only thread) and reports through a pipe; it runs no other code.
static void probe_as(long uid, long gid, const char *path, const char *random_path, struct outcome *o) {
  int p[2];
  pthread_mutex_lock(&fork_mu); // the pipe exists in no other fork
  if (pipe2(p, O_CLOEXEC) != 0) {
    pthread_mutex_unlock(&fork_mu);
    o->err = errno;
    o->sys = 's';
    return;
  }
  pid_t pid = fork();
  if (pid != 0) pthread_mutex_unlock(&fork_mu);
  if (pid < 0) {
    o->err = errno;
    o->sys = 's';
    close(p[0]);
    close(p[1]);
    return;
  }
  if (pid == 0) {
    gid_t g = (gid_t)gid;
    struct outcome c = {EPERM, 's'};
    if (syscall(SYS_setgroups, 1, &g) == 0 && syscall(SYS_setresgid, g, g, g) == 0 &&
        syscall(SYS_setresuid, (uid_t)uid, (uid_t)uid, (uid_t)uid) == 0)
      probe_here(path, random_path, &c);
    else
      c.err = errno;
    if (write(p[1], &c, sizeof c) != (ssize_t)sizeof c) _exit(1);
    _exit(0);
  }
  close(p[1]);
  struct outcome c = {EIO, 's'};
  ssize_t n;
  do n = read(p[0], &c, sizeof c);
  while (n < 0 && errno == EINTR);
  close(p[0]);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  if (n != (ssize_t)sizeof c) {
    c.err = ECHILD; // the child died without an answer
    c.sys = 's';
  }
  *o = c;
}


// Run one request on this thread; the reply line goes to `line` (at most `cap` bytes).
static size_t run_probe(struct req *r, char *line, size_t cap, int64_t *lat_out, int *err_out) {
  char random_path[PATH_CAP + 48];
  uint64_t rnd = 0;
  if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) rnd ^= (uint64_t)now_us() * 2654435761u;
  snprintf(random_path, sizeof random_path, "%s%s.enotconn-probe-%016llx", r->path,
           r->path[strlen(r->path) - 1] == '/' ? "" : "/", (unsigned long long)rnd);
  int64_t t0 = now_us();
  struct outcome o;
  if (r->uid >= 0)
    probe_as(r->uid, r->gid, r->path, random_path, &o);
  else
    probe_here(r->path, random_path, &o);
  int64_t lat = now_us() - t0;
  *lat_out = lat;
  *err_out = o.err;
  int n = o.err == 0 ? snprintf(line, cap, "P %ld ok %lld\n", r->id, (long long)lat)
                     : snprintf(line, cap, "P %ld err %d %c %lld\n", r->id, o.err, o.sys, (long long)lat);
  return (size_t)n;
}

// A bounded read: at most max_bytes of the file, hex-encoded. Returns a malloc'd line. The buffer
// grows as the file does: most /proc files (stat, cmdline, fdinfo) are a few hundred bytes.
static char *run_read(struct req *r, size_t *len) {
  size_t cap = (size_t)r->max_bytes;
  size_t size = cap < 4096 ? cap : 4096;
  char *data = malloc(size + 1);
  int n;
  char *line = NULL;
  int fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
  if (!data || fd < 0) {
    int e = !data ? ENOMEM : errno;
    if (fd >= 0) close(fd);
    free(data);
    line = malloc(64);
    if (!line) return NULL;
    n = snprintf(line, 64, "D %ld err %d\n", r->id, e);
    *len = (size_t)n;
    return line;
  }
  size_t got = 0;
  int err = 0;
  while (got < cap) {
    if (got == size) {
      size_t bigger = size * 2 < cap ? size * 2 : cap;
      char *d2 = realloc(data, bigger + 1);
      if (!d2) break;
      data = d2;
      size = bigger;
    }
    ssize_t k = read(fd, data + got, size - got);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      err = errno;
      break;
    }
    if (k == 0) break;
    got += (size_t)k;
  }
  close(fd);
  line = malloc(got * 2 + 64);
  if (!line) {
    free(data);
    return NULL;
  }
  if (err && got == 0) {
    n = snprintf(line, 64, "D %ld err %d\n", r->id, err);
  } else {
    static const char hx[] = "0123456789abcdef";
    n = snprintf(line, 64, "D %ld ok ", r->id);
    for (size_t i = 0; i < got; i++) {
      line[n++] = hx[(unsigned char)data[i] >> 4];
      line[n++] = hx[(unsigned char)data[i] & 15];
    }
    line[n++] = '\n';
  }
  free(data);
  *len = (size_t)n;
  return line;
}

// A bounded readlink: the link's target, hex-encoded, as a malloc'd `D` line. Why bounded: a
// readlink of /proc/<pid>/cwd (or exe, fd/N) waits while that process is inside execve, for as
// long as execve waits (closing a file on a stopped FUSE mount, for one).
static char *run_readlink(struct req *r, size_t *len) {
  char target[PATH_MAX_BYTES];
  ssize_t got = readlink(r->path, target, sizeof target);
  int e = got < 0 ? errno : 0;
  char *line = malloc(got > 0 ? (size_t)got * 2 + 64 : 64);
  if (!line) return NULL;
  int n;
  if (got < 0) {
    n = snprintf(line, 64, "D %ld err %d\n", r->id, e);
  } else {
    static const char hx[] = "0123456789abcdef";
    n = snprintf(line, 64, "D %ld ok ", r->id);
    for (ssize_t i = 0; i < got; i++) {
      line[n++] = hx[(unsigned char)target[i] >> 4];
      line[n++] = hx[(unsigned char)target[i] & 15];
    }
    line[n++] = '\n';
  }
  *len = (size_t)n;
  return line;
}

// A growable reply line.
struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
};

static void sb_need(struct sbuf *b, size_t more) {
  if (b->oom || b->len + more + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = 1;
    return;
  }
  b->p = p;
  b->cap = cap;
}

static void sb_add(struct sbuf *b, const char *s, size_t n) {
  sb_need(b, n);
  if (b->oom) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_hex(struct sbuf *b, const char *s, size_t n) {
  static const char hx[] = "0123456789abcdef";
  sb_need(b, n * 2);
  if (b->oom) return;
  for (size_t i = 0; i < n; i++) {
    b->p[b->len++] = hx[(unsigned char)s[i] >> 4];
    b->p[b->len++] = hx[(unsigned char)s[i] & 15];
  }
  b->p[b->len] = '\0';
}

// readlink(2) of <dir>/<name> into the line as hex, or `-`. readlink of /proc/<pid>/{cwd,root,exe,
// fd/N} prints the dentry's path (d_path) and never calls into the filesystem it names.
static void link_field(struct sbuf *b, int dirfd, const char *name) {
  char target[PATH_MAX_BYTES];
  ssize_t n = readlinkat(dirfd, name, target, sizeof target);
  if (n <= 0 || (size_t)n >= sizeof target) sb_add(b, "-", 1);
  else sb_hex(b, target, (size_t)n);
}

// The `fuse_connection:` number in /proc/<pid>/fdinfo/<fd> (fs/fuse/dev.c fuse_dev_show_fdinfo,
// Linux 6.16 and later), or -1 when the file does not name one.
static long long fuse_connection(int piddir, const char *fd) {
  char p[64], buf[1024];
  snprintf(p, sizeof p, "fdinfo/%s", fd);
  int f = openat(piddir, p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (f < 0) return -1;
  ssize_t n = read(f, buf, sizeof buf - 1);
  close(f);
  if (n <= 0) return -1;
  buf[n] = '\0';
  for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, "fuse_connection:", 16) != 0) continue;
    char *end;
    long long v = strtoll(line + 16, &end, 10);
    while (*end == ' ' || *end == '\t') end++;
    return end != line + 16 && (*end == '\n' || *end == '\0') && v >= 0 ? v : -1;
  }
  return -1;
}

// The fd fields: f (every fd's link) and/or u (each /dev/fuse fd's connection), from one listing.
static void fd_fields(struct sbuf *f_out, struct sbuf *u_out, int piddir, const char *fddir) {
  DIR *d = opendir(fddir); // opendir, not fdopendir: no fcntl calls, one syscall fewer each
  if (!d) {
    if (f_out) sb_add(f_out, "-", 1);
    if (u_out) sb_add(u_out, "-", 1);
    return;
  }
  int nf = 0, nu = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char target[PATH_MAX_BYTES];
    ssize_t n = readlinkat(dirfd(d), e->d_name, target, sizeof target);
    if (n <= 0 || (size_t)n >= sizeof target) continue; // closed meanwhile
    if (f_out) {
      if (nf++) sb_add(f_out, ",", 1);
      sb_add(f_out, e->d_name, strlen(e->d_name));
      sb_add(f_out, ":", 1);
      sb_hex(f_out, target, (size_t)n);
    }
    if (u_out && n == 9 && memcmp(target, "/dev/fuse", 9) == 0) {
      if (nu++) sb_add(u_out, ",", 1);
      long long c = fuse_connection(piddir, e->d_name);
      char num[32];
      int k = c < 0 ? snprintf(num, sizeof num, "?") : snprintf(num, sizeof num, "%lld", c);
      sb_add(u_out, num, (size_t)k);
    }
  }
  closedir(d);
  if (f_out && nf == 0) sb_add(f_out, ".", 1);
  if (u_out && nu == 0) sb_add(u_out, ".", 1);
}

// A whole small file under dirfd, hex-encoded into the line (at most cap bytes), or `-`.
static void file_field(struct sbuf *b, int dirfd, const char *name, size_t cap) {
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
  if (fd < 0) {
    sb_add(b, "-", 1);
    return;
  }
  char buf[4096];
  size_t got = 0;
  int any = 0, err = 0;
  while (got < cap) {
    size_t want = cap - got < sizeof buf ? cap - got : sizeof buf;
    ssize_t k = read(fd, buf, want);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) err = 1;
    if (k <= 0) break;
    sb_hex(b, buf, (size_t)k);
    got += (size_t)k;
    any = 1;
  }
  close(fd);
  if (!any) sb_add(b, err ? "-" : ".", 1); // `.`: empty (a kernel thread's cmdline)
}

// /proc/<pid>/stat up to its 22nd field (starttime), hex-encoded, or `-`. Its readers need pid,
// comm, state, ppid and starttime only; the 30 fields after them (sizes, addresses, signal masks)
// were two thirds of a process table's bytes. comm may hold spaces and ')': fields are counted
// from the last ')' (proc(5)).
static void stat_field(struct sbuf *b, int dirfd) {
  int fd = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
  if (fd < 0) {
    sb_add(b, "-", 1);
    return;
  }
  char buf[4096];
  ssize_t n;
  do n = read(fd, buf, sizeof buf - 1);
  while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0) {
    sb_add(b, "-", 1);
    return;
  }
  buf[n] = '\0';
  size_t len = (size_t)n;
  char *close_paren = strrchr(buf, ')');
  if (close_paren) {
    // After ") ": state is field 3, so starttime (22) ends at the 20th space after the paren.
    int spaces = 0;
    for (char *c = close_paren + 1; *c; c++) {
      if (*c == ' ' && ++spaces == 21) {
        len = (size_t)(c - buf);
        break;
      }
    }
  }
  sb_hex(b, buf, len);
}

// The distinct mapped paths starting with `prefix`, as `hex,hex...` (`.` for none, `-` when maps
// cannot be read). Reading maps takes the process's mmap lock (fs/proc/task_mmu.c), which a thread
// faulting on a hung mount may hold: it is read last, and its deadline abandons only this request.
static void maps_field(struct sbuf *b, int piddir, const char *prefix) {
  int fd = openat(piddir, "maps", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    sb_add(b, "-", 1);
    return;
  }
  size_t start = b->len, plen = strlen(prefix);
  const size_t bufsize = 65536;
  char *buf = malloc(bufsize);
  char last[PATH_MAX_BYTES] = "";
  size_t have = 0;
  int n_out = 0, done = !buf, failed = !buf;
  while (!done) {
    ssize_t k = read(fd, buf + have, bufsize - 1 - have);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && have == 0 && n_out == 0 && b->len == start) failed = 1;
    if (k <= 0) {
      done = 1;
      if (have == 0) break;
      buf[have++] = '\n'; // a last line without its newline
    } else {
      have += (size_t)k;
    }
    buf[have] = '\0';
    char *line = buf, *nl;
    while ((nl = memchr(line, '\n', have - (size_t)(line - buf))) != NULL) {
      *nl = '\0';
      // address perms offset dev inode pathname: the path is the first '/' after five fields.
      char *path = line;
      for (int field = 0; field < 5 && path; field++) {
        path = strchr(path, ' ');
        if (path) path++;
      }
      if (path) path = strchr(path, '/');
      if (path && strncmp(path, prefix, plen) == 0 && strcmp(path, last) != 0) {
        size_t pl = strlen(path);
        if (pl < sizeof last) memcpy(last, path, pl + 1);
        if (n_out++) sb_add(b, ",", 1);
        sb_hex(b, path, pl);
      }
      line = nl + 1;
    }
    have -= (size_t)(line - buf);
    memmove(buf, line, have);
    if (have >= bufsize - 1) have = 0; // an over-long line is dropped
  }
  free(buf);
  close(fd);
  if (failed) sb_add(b, "-", 1);
  else if (n_out == 0) sb_add(b, ".", 1);
}

// One process's fields, in the order of `what`, each preceded by a space: a (cmdline), s (stat to field 22),
// n c r e (links), f (fds), u (FUSE connections), m (maps under `prefix`, always read last).
static void proc_fields(struct sbuf *b, long pid, const char *what, const char *prefix) {
  char dir[48], fddir[56];
  snprintf(dir, sizeof dir, "/proc/%ld", pid);
  snprintf(fddir, sizeof fddir, "%s/fd", dir);
  int piddir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct sbuf f = {0}, u = {0}, m = {0};
  int want_f = strchr(what, 'f') != NULL, want_u = strchr(what, 'u') != NULL;
  if ((want_f || want_u) && piddir >= 0) fd_fields(want_f ? &f : NULL, want_u ? &u : NULL, piddir, fddir);
  if (strchr(what, 'm') && piddir >= 0) maps_field(&m, piddir, prefix);
  for (const char *w = what; *w; w++) {
    sb_add(b, " ", 1);
    if (piddir < 0) sb_add(b, "-", 1);
    else if (*w == 'a') file_field(b, piddir, "cmdline", 1024 * 1024);
    else if (*w == 's') stat_field(b, piddir);
    else if (*w == 'n') link_field(b, piddir, "ns/mnt");
    else if (*w == 'c') link_field(b, piddir, "cwd");
    else if (*w == 'r') link_field(b, piddir, "root");
    else if (*w == 'e') link_field(b, piddir, "exe");
    else if (*w == 'f') sb_add(b, f.p ? f.p : "-", f.p ? f.len : 1);
    else if (*w == 'u') sb_add(b, u.p ? u.p : "-", u.p ? u.len : 1);
    else if (*w == 'm') sb_add(b, m.p ? m.p : "-", m.p ? m.len : 1);
  }
  if (piddir >= 0) close(piddir);
  if (f.oom || u.oom || m.oom) b->oom = 1;
  free(f.p);
  free(u.p);
  free(m.p);
}

static char *run_links(struct req *r, size_t *len) {
  struct sbuf b = {0};
  char head[64];
  sb_add(&b, head, (size_t)snprintf(head, sizeof head, "Q %ld ok", r->id));
  proc_fields(&b, r->pid, r->what, r->path);
  sb_add(&b, "\n", 1);
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  *len = b.len;
  return b.p;
}

// One stat item: "dev:ino:uid:mode", or "-errno". Returns 0 when the call failed.
static int stat_item(struct sbuf *b, const char *p, int follow) {
  struct stat st;
  char item[96];
  int ok = (follow ? stat(p, &st) : lstat(p, &st)) == 0;
  int k = ok ? snprintf(item, sizeof item, "%llu:%llu:%u:%u", (unsigned long long)st.st_dev,
                        (unsigned long long)st.st_ino, (unsigned)st.st_uid, (unsigned)st.st_mode)
             : snprintf(item, sizeof item, "-%d", errno);
  sb_add(b, item, (size_t)k);
  return ok;
}

// A path check without a `stat` process: lstat(2) of "/" and of each longer prefix of the path
// ("/a", "/a/b", ...), as root's `stat --printf -- / /a /a/b` did, stopping after the first that
// fails (the ones below it cannot be reached either); or, with follow, stat(2) of the path. A
// prefix on a hung mount blocks this thread only: its deadline abandons it.
static char *run_stat(struct req *r, size_t *len) {
  struct sbuf b = {0};
  char head[64];
  sb_add(&b, head, (size_t)snprintf(head, sizeof head, "S %ld ok ", r->id));
  if (r->follow) {
    stat_item(&b, r->path, 1);
  } else {
    char prefix[PATH_CAP];
    size_t n = strlen(r->path);
    int ok = stat_item(&b, "/", 0);
    for (size_t i = 2; ok && i <= n; i++) {
      if (i < n && r->path[i] != '/') continue;
      memcpy(prefix, r->path, i);
      prefix[i] = '\0';
      sb_add(&b, ",", 1);
      ok = stat_item(&b, prefix, 0);
    }
  }
  sb_add(&b, "\n", 1);
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  *len = b.len;
  return b.p;
}

// Does the line hold one of the words (newline-separated)?
static int has_word(const char *line, size_t n, const char *words, size_t words_len) {
  for (const char *w = words, *end = words + words_len; w < end;) {
    const char *nl = memchr(w, '\n', (size_t)(end - w));
    size_t k = nl ? (size_t)(nl - w) : (size_t)(end - w);
    if (k > 0 && memmem(line, n, w, k)) return 1;
    w += k + 1;
  }
  return 0;
}

// The kernel log, filtered here so that only its few interesting records cross the pipe: one
// read(2) of /dev/kmsg is one record, O_NONBLOCK ends at the newest with EAGAIN instead of waiting
// for the next, and EPIPE says records were overwritten meanwhile: reading goes on from the oldest
// left (Documentation/ABI/testing/dev-kmsg). A record's first line is its message; the dictionary
// lines after it (" SUBSYSTEM=...") are left out. Only the last max_records records count.
static char *run_kmsg(struct req *r, size_t *len) {
  char head[64];
  int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    char *line = malloc(64);
    if (line) *len = (size_t)snprintf(line, 64, "K %ld err %d\n", r->id, errno);
    return line;
  }
  struct sbuf kept = {0}; // matching lines, each "<record number>\t<line>" and a NUL
  long total = 0;
  char rec[8192];
  for (;;) {
    ssize_t n = read(fd, rec, sizeof rec);
    if (n < 0 && (errno == EINTR || errno == EPIPE)) continue;
    if (n <= 0) break;
    total++;
    char *nl = memchr(rec, '\n', (size_t)n);
    size_t first = nl ? (size_t)(nl - rec) : (size_t)n;
    if (!has_word(rec, first, r->words, r->words_len)) continue;
    char num[24];
    sb_add(&kept, num, (size_t)snprintf(num, sizeof num, "%ld\t", total));
    sb_add(&kept, rec, first);
    sb_add(&kept, "", 1);
  }
  close(fd);
  struct sbuf b = {0};
  sb_add(&b, head, (size_t)snprintf(head, sizeof head, "K %ld ok ", r->id));
  int any = 0;
  for (size_t off = 0; !kept.oom && off < kept.len;) {
    char *e = kept.p + off;
    size_t n = strlen(e);
    char *tab = strchr(e, '\t');
    if (tab && strtol(e, NULL, 10) > total - r->max_bytes) {
      if (any++) sb_add(&b, "0a", 2);
      sb_hex(&b, tab + 1, n - (size_t)(tab + 1 - e));
    }
    off += n + 1;
  }
  if (!any) sb_add(&b, "-", 1);
  sb_add(&b, "\n", 1);
  int oom = kept.oom || b.oom;
  free(kept.p);
  if (oom) {
    free(b.p);
    return NULL;
  }
  *len = b.len;
  return b.p;
}

// The checks that prove a heal (heal/validate.ts), on a thread that is abandoned if the fresh
// mount hangs: no `ls`, `find` or `sha256sum` process each. Nothing is followed: the directory is
// opened O_NOFOLLOW, a candidate file is lstat'ed, the file read is opened O_NOFOLLOW and must be a
// regular file (O_NONBLOCK: a FIFO put in its place does not hold the open).
static char *run_view(struct req *r, size_t *len) {
  struct sbuf b = {0};
  char head[64];
  int e = 0;
  sb_add(&b, head, (size_t)snprintf(head, sizeof head, "V %ld ok ", r->id));
  if (r->view == 'r') {
    int fd = open(r->path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0) e = errno;
    else if (fstat(fd, &st) != 0) e = errno;
    else if (!S_ISREG(st.st_mode)) e = EINVAL;
    else if (st.st_size > r->max_bytes) e = EFBIG;
    char buf[16384];
    long got = 0;
    while (!e) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) e = errno;
      if (n <= 0) break;
      got += n;
      if (got > r->max_bytes) e = EFBIG; // it grew while being read
      else sb_hex(&b, buf, (size_t)n);
    }
    if (fd >= 0) close(fd);
    if (!e && got == 0) sb_add(&b, "-", 1);
  } else {
    // fdopendir of the O_NOFOLLOW descriptor: opendir(3) would follow a symlink put there.
    int fd = open(r->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
      e = errno;
      if (fd >= 0) close(fd);
    }
    long count = 0;
    char best[256] = "";
    while (!e) {
      errno = 0;
      struct dirent *de = readdir(d);
      if (!de) {
        e = errno; // 0 at the end
        break;
      }
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
      count++;
      if (r->view != 'f' || (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)) continue;
      if (best[0] && strcmp(de->d_name, best) >= 0) continue;
      struct stat st;
      if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
          st.st_size > r->max_bytes)
        continue;
      snprintf(best, sizeof best, "%s", de->d_name);
    }
    if (d) closedir(d);
    if (!e && r->view == 'l') {
      char num[24];
      sb_add(&b, num, (size_t)snprintf(num, sizeof num, "%ld", count));
    } else if (!e) {
      if (best[0]) sb_hex(&b, best, strlen(best));
      else sb_add(&b, "-", 1);
    }
  }
  if (e) {
    b.len = 0;
    sb_add(&b, head, (size_t)snprintf(head, sizeof head, "V %ld err %d", r->id, e));
  }
  sb_add(&b, "\n", 1);
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  *len = b.len;
  return b.p;
}

// Every process after `r->pid` in /proc (ascending pid order, proc_pid_readdir), one line each.
// Each process has its own deadline: the main loop answers `T <id> hung <pid>` for one that
// blocks, and the caller asks again from the next pid. Returns the final line, or NULL once
// abandoned.
static char *run_table(struct req *r, size_t *len) {
  DIR *d = opendir("/proc");
  if (!d) {
    char *line = malloc(64);
    if (line) *len = (size_t)snprintf(line, 64, "T %ld err %d\n", r->id, errno);
    return line;
  }
  struct dirent *e;
  int gone = 0;
  while (!gone && (e = readdir(d)) != NULL) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    long pid = strtol(e->d_name, NULL, 10);
    if (pid <= r->pid || (r->until_pid > 0 && pid > r->until_pid)) continue;
    pthread_mutex_lock(&mu);
    gone = r->timed_out;
    r->started_ms = now_ms(CLOCK_MONOTONIC); // this process's deadline starts now
    r->cur_pid = pid;
    pthread_mutex_unlock(&mu);
    if (gone) break;
    struct sbuf b = {0};
    char head[64];
    sb_add(&b, head, (size_t)snprintf(head, sizeof head, "t %ld %ld", r->id, pid));
    proc_fields(&b, pid, r->what, r->path);
    sb_add(&b, "\n", 1);
    pthread_mutex_lock(&mu);
    gone = r->timed_out;
    pthread_mutex_unlock(&mu);
    if (!gone && !b.oom) reply(b.p, b.len);
    free(b.p);
  }
  closedir(d);
  char *line = malloc(64);
  if (line) *len = (size_t)snprintf(line, 64, "T %ld done\n", r->id);
  return line;
}

// Graft (DESIGN §8). The host-side half runs in the pool thread; only setns(2), which needs a
// single-threaded caller, and what follows it run in a forked child, which makes raw syscalls
// only (no libc lock another thread may have held at fork time).
//  1. on the host, open src without following any symlink (openat2(2) RESOLVE_NO_SYMLINKS: src
//     may be a subdirectory of a user's filesystem, the subPath, which its owner could swap for a
//     link to /etc), check it lies on the fresh mount's device, and clone that tree (open_tree(2)
//     OPEN_TREE_CLONE, BEFORE setns: a clone from another namespace cannot be made after it);
//  2. set the stale copy's flags on the clone (mount_setattr(2): ro, nosuid, nodev, noexec);
//  3. open /proc/<pid>/ns/mnt and check its inode is the namespace that was planned (a reused pid
//     names another process);
//  4. in the child: enter it, open dst there without following symlinks, check it is the stale
//     mount that was planned (statx(2) STATX_MNT_ID, AT_STATX_DONT_SYNC so a dead FUSE daemon is
//     not asked), detach it (umount2 MNT_DETACH | UMOUNT_NOFOLLOW), and move the clone onto the
//     directory below it (move_mount(2)). Nothing is executed.
struct graft_outcome {
  int err;
  char step[16];
};

static int open_nofollow(const char *p) {
  struct open_how how = {0};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return (int)syscall(SYS_openat2, AT_FDCWD, p, &how, sizeof how);
}

static int statx_fd(int fd, unsigned mask, struct statx *st) {
  return (int)syscall(SYS_statx, fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, mask, st);
}

static void set_step(struct graft_outcome *g, int err, const char *step) {
  g->err = err;
  size_t i = 0;
  for (; step[i] && i + 1 < sizeof g->step; i++) g->step[i] = step[i];
  g->step[i] = '\0';
}

static int set_attrs(int tree, unsigned long long attrs) {
  struct mount_attr a = {0};
  a.attr_set = (uint64_t)attrs;
  return (int)syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a);
}

// The namespace half, in the forked child: raw syscalls only, then _exit.
static void graft_child(struct req *r, int tree, int nsfd, int out) {
  struct graft_outcome g = {0, ""};
  struct statx st;
  int dst = -1;
  if (syscall(SYS_setns, nsfd, CLONE_NEWNS) != 0) {
    set_step(&g, errno, "setns");
  } else if ((dst = open_nofollow(r->path2)) < 0) {
    set_step(&g, errno, "open-target");
  } else if (r->stale_mnt >= 0) {
    if (statx_fd(dst, STATX_MNT_ID, &st) != 0) set_step(&g, errno, "stat-target");
    else if (!(st.stx_mask & STATX_MNT_ID) || (long long)st.stx_mnt_id != r->stale_mnt) set_step(&g, ESTALE, "stale-check");
    else if (syscall(SYS_umount2, r->path2, MNT_DETACH | UMOUNT_NOFOLLOW) != 0) set_step(&g, errno, "umount2");
    else if ((dst = open_nofollow(r->path2)) < 0) set_step(&g, errno, "open-target");
  }
  if (!g.err && syscall(SYS_move_mount, tree, "", dst, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    set_step(&g, errno, "move_mount");
  if (syscall(SYS_write, out, &g, sizeof g) != (long)sizeof g) syscall(SYS_exit_group, 1);
  syscall(SYS_exit_group, 0);
}

static size_t run_graft(struct req *r, char *line, size_t cap) {
  struct graft_outcome g = {0, ""};
  struct statx st;
  int src = -1, tree = -1, nsfd = -1, p[2] = {-1, -1};
  char ns[64];
  snprintf(ns, sizeof ns, "/proc/%ld/ns/mnt", r->pid);
  struct stat nst;
  if ((src = open_nofollow(r->path)) < 0) {
    set_step(&g, errno, "open-source");
  } else if (r->src_major >= 0 && statx_fd(src, STATX_TYPE, &st) != 0) {
    set_step(&g, errno, "stat-source");
  } else if (r->src_major >= 0 && ((long)st.stx_dev_major != r->src_major || (long)st.stx_dev_minor != r->src_minor)) {
    set_step(&g, EXDEV, "source-device");
  } else if ((tree = (int)syscall(SYS_open_tree, src, "",
                                  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH)) < 0) {
    set_step(&g, errno, "open_tree");
  } else if (r->attrs != 0 && set_attrs(tree, r->attrs) != 0) {
    set_step(&g, errno, "mount_setattr");
  } else if ((nsfd = open(ns, O_RDONLY | O_CLOEXEC)) < 0 || fstat(nsfd, &nst) != 0) {
    set_step(&g, errno, "namespace");
  } else if ((unsigned long)nst.st_ino != r->ns_ino) {
    set_step(&g, ESRCH, "namespace");
  } else if (pipe2(p, O_CLOEXEC) != 0) {
    set_step(&g, errno, "pipe");
  } else {
    pthread_mutex_lock(&fork_mu);
    pid_t pid = fork();
    if (pid != 0) pthread_mutex_unlock(&fork_mu);
    if (pid == 0) graft_child(r, tree, nsfd, p[1]);
    close(p[1]);
    p[1] = -1;
    if (pid < 0) {
      set_step(&g, errno, "fork");
    } else {
      ssize_t n;
      do n = read(p[0], &g, sizeof g);
      while (n < 0 && errno == EINTR);
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
      if (n != (ssize_t)sizeof g) set_step(&g, ECHILD, "child");
    }
  }
  int fds[] = {src, tree, nsfd, p[0], p[1]};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
    if (fds[i] >= 0) close(fds[i]);
  g.step[sizeof g.step - 1] = '\0';
  int n = g.err == 0 ? snprintf(line, cap, "G %ld ok\n", r->id) : snprintf(line, cap, "G %ld err %d %s\n", r->id, g.err, g.step);
  return (size_t)n;
}

// Bind by file descriptors (mount_setattr(2), open_tree(2), move_mount(2)): resolve src without
// following any symlink (openat2 RESOLVE_NO_SYMLINKS), clone the mount tree there (OPEN_TREE_CLONE,
// with AT_RECURSIVE for an rbind), check that the clone's root is the inode that was checked before
// (st_dev and st_ino), set the per-mount flags asked for (ro, nosuid, nodev, noexec) while the clone
// is still detached, resolve dst the same way and check it, then attach the clone there. A path that
// a user swaps for a symlink, or for another directory, between the check and the mount, fails here
// (ELOOP, or ESTALE for another inode): nothing is mounted. No fork: these calls need no setns.
static size_t run_bind(struct req *r, char *line, size_t cap) {
  const char *step = "openat2";
  int err = 0, sfd = -1, tree = -1, dfd = -1;
  struct open_how how = {0};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  unsigned int rec = r->ro ? AT_RECURSIVE : 0;
  struct stat st;
  sfd = (int)syscall(SYS_openat2, AT_FDCWD, r->path, &how, sizeof how);
  if (sfd < 0) err = errno;
  if (!err) {
    step = "open_tree";
    tree = (int)syscall(SYS_open_tree, sfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);
    if (tree < 0) err = errno;
  }
  if (!err) {
    step = "source";
    if (fstat(tree, &st) != 0) err = errno;
    else if ((r->want[0] >= 0 && (long long)st.st_dev != r->want[0]) || (r->want[1] >= 0 && (long long)st.st_ino != r->want[1]))
      err = ESTALE;
  }
  if (!err && r->attrs) {
    step = "mount_setattr";
    struct mount_attr a = {0};
    a.attr_set = r->attrs;
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | rec, &a, sizeof a) != 0) err = errno;
  }
  if (!err) {
    step = "openat2-target";
    dfd = (int)syscall(SYS_openat2, AT_FDCWD, r->path2, &how, sizeof how);
    if (dfd < 0) err = errno;
  }
  if (!err) {
    step = "target";
    if (fstat(dfd, &st) != 0) err = errno;
    else if ((r->want[2] >= 0 && (long long)st.st_dev != r->want[2]) || (r->want[3] >= 0 && (long long)st.st_ino != r->want[3]))
      err = ESTALE;
  }
  if (!err) {
    step = "move_mount";
    if (syscall(SYS_move_mount, tree, "", dfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) err = errno;
  }
  if (dfd >= 0) close(dfd);
  if (tree >= 0) close(tree); // a clone never attached is dissolved when its last fd closes
  if (sfd >= 0) close(sfd);
  int n = err == 0 ? snprintf(line, cap, "M %ld ok\n", r->id) : snprintf(line, cap, "M %ld err %d %s\n", r->id, err, step);
  return (size_t)n;
}

// The letter a request's replies start with (a probe's deadline is `H`, its answer `P`).
static char reply_letter(enum kind k) {
  switch (k) {
  case PROBE: return 'P';
  case READ:
  case LINK: return 'D';
  case GRAFT: return 'G';
  case BIND: return 'M';
  case LINKS: return 'Q';
  case TABLE: return 'T';
  case STAT: return 'S';
  case KMSG: return 'K';
  case VIEW: return 'V';
  }
  return 'E';
}

static void free_req(struct req *r) {
  free(r->words);
  free(r->path);
  free(r->path2);
  free(r);
}

static void wake_main(void) {
  char b = 1;
  if (write(wake_fd[1], &b, 1) < 0) { /* the pipe is full: the loop is awake anyway */ }
}

// Answer the barriers whose quiet probes are all done, oldest first. Called with `mu` held.
static void answer_barriers(void) {
  while (barriers && barriers->remaining == 0) {
    struct barrier *b = barriers;
    barriers = b->next;
    // Per bucket (le_us[i-1] < v <= le_us[i], then +Inf): how many were left out, and their sum.
    long long count[MAX_BUCKETS + 1] = {0}, sum[MAX_BUCKETS + 1] = {0};
    for (size_t i = 0; i < b->left_out.n; i++) {
      int k = 0;
      while (k < b->buckets && b->left_out.v[i] > b->le_us[k]) k++;
      count[k]++;
      sum[k] += b->left_out.v[i];
    }
    char line[64 + (MAX_BUCKETS + 1) * 42];
    int len = snprintf(line, sizeof line, "Z %ld done %zu ", b->id, b->left_out.n);
    for (int k = 0; k <= b->buckets; k++)
      len += snprintf(line + len, sizeof line - (size_t)len, "%s%lld:%lld", k ? "," : "", count[k], sum[k]);
    line[len++] = '\n';
    reply(line, (size_t)len);
    free(b->left_out.v);
    free(b);
  }
}

// A quiet probe is done (answered, left out, refused as busy or abandoned): the barriers after it
// wait for one fewer. Called with `mu` held, after its own line was written.
static void quiet_done(const struct req *r) {
  if (!r->quiet) return;
  quiet_open--;
  for (struct barrier *b = barriers; b; b = b->next)
    if (r->seq < b->need) b->remaining--;
  answer_barriers();
}

// A barrier (Z): answered at once when no quiet probe is open, else once the open ones are done.
static void add_barrier(const char *line) {
  long id = -1;
  char csv[MAX_BUCKETS * 21 + 2];
  struct barrier *b = calloc(1, sizeof *b);
  int ok = b && sscanf(line, "Z %ld %660s", &id, csv) == 2 && id >= 0 && strlen(line) < 700;
  if (ok && strcmp(csv, "-") != 0) {
    // The buckets: ascending positive integers (µs), comma-separated.
    for (char *c = csv; ok && *c;) {
      char *end;
      long long v = strtoll(c, &end, 10);
      ok = end != c && v > 0 && b->buckets < MAX_BUCKETS && (b->buckets == 0 || v > b->le_us[b->buckets - 1]) &&
           (*end == ',' ? end[1] != '\0' : *end == '\0');
      if (ok) b->le_us[b->buckets++] = v;
      c = *end == ',' ? end + 1 : end;
    }
  }
  if (!ok) {
    if (id < 0) sscanf(line, "Z %ld", &id);
    replyf("E %ld malformed request\n", id);
    free(b);
    return;
  }
  b->id = id;
  b->need = quiet_seq;
  b->remaining = quiet_open;
  b->left_out = unassigned; // barriers come in order: those were sent before this one
  memset(&unassigned, 0, sizeof unassigned);
  struct barrier **pp = &barriers;
  while (*pp) pp = &(*pp)->next;
  *pp = b;
  answer_barriers();
}

static void *pool_thread(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  threads_starting--;
  for (;;) {
    while (!queue_head) {
      if (!input_open || threads_idle >= POOL_IDLE_MAX + concurrency) {
        threads_alive--;
        pthread_mutex_unlock(&mu);
        wake_main();
        return NULL;
      }
      threads_idle++;
      pthread_cond_wait(&work_cv, &mu);
      threads_idle--;
    }
    struct req *r = queue_head;
    queue_head = r->next;
    if (!queue_head) queue_tail = NULL;
    if (r->kind == PROBE) {
      int64_t since = 0;
      int c = claim(r->hash, &since);
      if (c == 0) {
        answering++;
        pthread_mutex_unlock(&mu);
        replyf("B %ld %lld\n", r->id, (long long)since);
        pthread_mutex_lock(&mu);
        quiet_done(r);
        free_req(r);
        answering--;
        if (!input_open && !queue_head) wake_main();
        continue;
      }
      r->claimed = c == 1;
    }
    r->phase = RUNNING;
    r->started_ms = now_ms(CLOCK_MONOTONIC);
    r->next = running;
    running = r;
    // Its deadline must reach the main loop's timer: wake it only if it would sleep past it.
    int64_t due = r->started_ms + r->timeout_ms;
    int wake = main_wake_at < 0 || due < main_wake_at || (queue_head && main_wake_at > r->started_ms + SLOW_MS);
    pthread_mutex_unlock(&mu);
    if (wake) wake_main();

    char small[160];
    char *line = small;
    size_t len = 0;
    int64_t lat = 0;
    int err = -1;
    if (r->kind == PROBE) {
      len = run_probe(r, small, sizeof small, &lat, &err);
    } else if (r->kind == GRAFT) {
      len = run_graft(r, small, sizeof small);
    } else if (r->kind == BIND) {
      len = run_bind(r, small, sizeof small);
    } else {
      line = r->kind == STAT    ? run_stat(r, &len)
             : r->kind == KMSG  ? run_kmsg(r, &len)
             : r->kind == VIEW  ? run_view(r, &len)
             : r->kind == LINKS ? run_links(r, &len)
             : r->kind == TABLE ? run_table(r, &len)
             : r->kind == LINK  ? run_readlink(r, &len)
                                : run_read(r, &len);
      if (!line) {
        line = small;
        len = (size_t)snprintf(small, sizeof small, "%c %ld err %d\n", reply_letter(r->kind), r->id, ENOMEM);
      }
    }

    pthread_mutex_lock(&mu);
    int late = r->timed_out;
    for (struct req **pp = &running; *pp; pp = &(*pp)->next) {
      if (*pp == r) {
        *pp = r->next;
        break;
      }
    }
    r->phase = ANSWERED;
    answering++;
    pthread_mutex_unlock(&mu);
    if (r->kind == PROBE) unclaim(r, late);
    // A quiet probe's healthy answer in its band is left out: the caller already knows it.
    int left_out = !late && r->quiet && err == 0 && lat >= r->lo_us && lat < r->hi_us;
    if (left_out) {
      // Counted by the first barrier after it, so each Z line counts exactly the O lines before it
      // that it answers for (a barrier waiting on a hung mount does not count the next cycle's).
      pthread_mutex_lock(&mu);
      struct barrier *b = barriers;
      while (b && b->need <= r->seq) b = b->next;
      lats_add(b ? &b->left_out : &unassigned, lat);
      pthread_mutex_unlock(&mu);
    } else if (!late) {
      reply(line, len);
    } else if (r->kind == PROBE && r->hash[0] != '-') {
      replyf("U %s %lld\n", r->hash, (long long)lat);
    }
    if (line != small) free(line);
    pthread_mutex_lock(&mu);
    if (!late) quiet_done(r); // an abandoned one was done at its deadline
    free_req(r);
    answering--;
    if (late) {
      // An abandoned thread was replaced when it passed its deadline: it leaves now.
      threads_stuck--;
      threads_alive--;
      pthread_mutex_unlock(&mu);
      wake_main();
      return NULL;
    }
    if (!input_open && !queue_head) wake_main();
  }
}

// Start one more pool thread. Called with `mu` held.
static void add_thread(void) {
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&at, 128 * 1024);
  pthread_t t;
  if (pthread_create(&t, &at, pool_thread, NULL) == 0) {
    threads_alive++;
    threads_starting++;
  }
  pthread_attr_destroy(&at);
}

// Hand queued work to the pool, growing it while requests wait and fewer than `concurrency`
// threads are free or busy on recent requests (slow and abandoned ones do not count, so hung
// mounts never hold up the others). Called with `mu` held.
static void pump(void) {
  if (!queue_head) return;
  if (threads_idle > 0) {
    // One wake-up per queued request, not every idle thread for each (a thundering herd on `mu`).
    int n = 0;
    for (struct req *q = queue_head; q && n < threads_idle; q = q->next) n++;
    while (n-- > 0) pthread_cond_signal(&work_cv);
    return;
  }
  int64_t now = now_ms(CLOCK_MONOTONIC);
  int recent = 0;
  for (struct req *r = running; r; r = r->next)
    if (!r->timed_out && now - r->started_ms < SLOW_MS) recent++;
  int queued = 0;
  for (struct req *q = queue_head; q && queued < concurrency; q = q->next) queued++;
  int want = (int)concurrency - recent - threads_starting;
  if (want > queued - threads_starting) want = queued - threads_starting;
  while (want-- > 0 && threads_alive < MAX_THREADS) add_thread();
}

// Send `H` for every running request past its deadline; the next wake-up in ms (or -1).
static int check_deadlines(void) {
  int64_t now = now_ms(CLOCK_MONOTONIC);
  int64_t next = -1;
  for (struct req *r = running; r; r = r->next) {
    if (r->timed_out) continue;
    int64_t due = r->started_ms + r->timeout_ms;
    if (due <= now) {
      r->timed_out = 1;
      threads_stuck++;
      if (r->kind == PROBE) {
        record_stuck(r);
        replyf("H %ld\n", r->id);
        quiet_done(r);
      } else if (r->kind == TABLE) {
        replyf("T %ld hung %ld\n", r->id, r->cur_pid);
      } else {
        replyf("%c %ld hung\n", reply_letter(r->kind), r->id);
      }
      continue;
    }
    int64_t slow = r->started_ms + SLOW_MS;
    int64_t wake = slow > now && queue_head ? slow : due;
    if (next < 0 || wake < next) next = wake;
  }
  return next < 0 ? -1 : (int)(next - now);
}

static void enqueue(char *line) {
  struct req *r = calloc(1, sizeof *r);
  if (!r) return;
  char hexpath[PATH_MAX_BYTES + 4];
  static char path[PATH_CAP], path2[PATH_CAP]; // parsed here, then copied to their length (main thread only)
  path[0] = path2[0] = '\0';
  int ok = 0;
  if (line[0] == 'P') {
    r->kind = PROBE;
    ok = sscanf(line, "P %ld %ld %ld %ld %47s %8195s", &r->id, &r->timeout_ms, &r->uid, &r->gid, r->hash, hexpath) == 6;
    ok = ok && (r->uid < 0 || r->gid >= 0);
  } else if (line[0] == 'O') {
    r->kind = PROBE;
    r->quiet = 1;
    ok = sscanf(line, "O %ld %ld %ld %ld %47s %lld %lld %8195s", &r->id, &r->timeout_ms, &r->uid, &r->gid, r->hash,
                &r->lo_us, &r->hi_us, hexpath) == 8;
    ok = ok && (r->uid < 0 || r->gid >= 0) && r->lo_us >= 0 && r->hi_us > r->lo_us;
  } else if (line[0] == 'R') {
    r->kind = READ;
    ok = sscanf(line, "R %ld %ld %ld %8195s", &r->id, &r->timeout_ms, &r->max_bytes, hexpath) == 4;
    ok = ok && r->max_bytes > 0 && r->max_bytes <= 4 * 1024 * 1024;
    strcpy(r->hash, "-");
  } else if (line[0] == 'L') {
    r->kind = LINK;
    ok = sscanf(line, "L %ld %ld %8195s", &r->id, &r->timeout_ms, hexpath) == 3;
    strcpy(r->hash, "-");
  } else if (line[0] == 'G') {
    r->kind = GRAFT;
    char hexdst[PATH_MAX_BYTES + 4], dev[32];
    ok = sscanf(line, "G %ld %ld %ld %lu %llu %31s %lld %8195s %8195s", &r->id, &r->timeout_ms, &r->pid, &r->ns_ino,
                &r->attrs, dev, &r->stale_mnt, hexpath, hexdst) == 9;
    r->src_major = r->src_minor = -1;
    if (ok && strcmp(dev, "-") != 0) ok = sscanf(dev, "%ld:%ld", &r->src_major, &r->src_minor) == 2;
    ok = ok && r->pid > 0 && r->ns_ino > 0 && (r->attrs & ~0xFULL) == 0 && r->stale_mnt >= -1 &&
         unhex(hexdst, path2, sizeof path2) == 0 && path2[0] == '/';
    strcpy(r->hash, "-");
  } else if (line[0] == 'M') {
    r->kind = BIND;
    char hexdst[PATH_MAX_BYTES + 4], w[4][24];
    ok = sscanf(line, "M %ld %ld %ld %llu %23s %23s %23s %23s %8195s %8195s", &r->id, &r->timeout_ms, &r->ro,
                &r->attrs, w[0], w[1], w[2], w[3], hexpath, hexdst) == 10;
    for (int i = 0; ok && i < 4; i++) {
      char *end;
      r->want[i] = strcmp(w[i], "-") == 0 ? -1 : strtoll(w[i], &end, 10);
      if (strcmp(w[i], "-") != 0 && (*end != '\0' || r->want[i] < 0)) ok = 0;
    }
    ok = ok && (r->ro == 0 || r->ro == 1) && unhex(hexdst, path2, sizeof path2) == 0 && path2[0] == '/';
    strcpy(r->hash, "-");
  } else if (line[0] == 'S') {
    r->kind = STAT;
    char how[4];
    ok = sscanf(line, "S %ld %ld %3s %8195s", &r->id, &r->timeout_ms, how, hexpath) == 4 &&
         (strcmp(how, "p") == 0 || strcmp(how, "f") == 0);
    r->follow = how[0] == 'f';
    strcpy(r->hash, "-");
  } else if (line[0] == 'V') {
    r->kind = VIEW;
    char what[4];
    ok = sscanf(line, "V %ld %ld %3s %ld %8195s", &r->id, &r->timeout_ms, what, &r->max_bytes, hexpath) == 5 &&
         what[1] == '\0' && strchr("lfr", what[0]) != NULL && r->max_bytes >= 0 && r->max_bytes <= 16 * 1024 * 1024;
    r->view = what[0];
    strcpy(r->hash, "-");
  } else if (line[0] == 'K') {
    r->kind = KMSG;
    char hexwords[PATH_MAX_BYTES + 4];
    ok = sscanf(line, "K %ld %ld %ld %8195s", &r->id, &r->timeout_ms, &r->max_bytes, hexwords) == 4 &&
         r->max_bytes > 0 && strlen(hexwords) % 2 == 0;
    if (ok) {
      r->words_len = strlen(hexwords) / 2;
      r->words = malloc(r->words_len + 1);
      ok = r->words != NULL && unhex(hexwords, r->words, r->words_len + 1) == 0;
    }
    strcpy(r->hash, "-");
    strcpy(hexpath, "2f");
  } else if (line[0] == 'Q' || line[0] == 'T') {
    // Q <id> <timeout_ms> <pid> <letters> <hex_prefix|->; T: the same, <pid> = read those after it
    r->kind = line[0] == 'Q' ? LINKS : TABLE;
    // T may name a last pid: a table read in ranges, one request (and pool thread) each.
    int n = sscanf(line + 1, " %ld %ld %ld %15s %8195s %ld", &r->id, &r->timeout_ms, &r->pid, r->what, hexpath,
                   &r->until_pid);
    ok = (n == 5 || (n == 6 && r->kind == TABLE && r->until_pid > r->pid));
    ok = ok && (r->kind == TABLE ? r->pid >= 0 : r->pid > 0) && r->what[0] != '\0' &&
         strspn(r->what, "asncrefum") == strlen(r->what);
    if (ok && strcmp(hexpath, "-") == 0) strcpy(hexpath, "2f"); // no prefix: every path ("/")
    strcpy(r->hash, "-");
  }
  // A registry name is a file name of ours, never a path or a dot file.
  if (ok && (strchr(r->hash, '/') != NULL || r->hash[0] == '.')) ok = 0;
  ok = ok && r->timeout_ms > 0 && unhex(hexpath, path, sizeof path) == 0 && path[0] == '/';
  if (ok) {
    r->path = strdup(path);
    r->path2 = path2[0] ? strdup(path2) : NULL;
    ok = r->path != NULL && (path2[0] == '\0' || r->path2 != NULL);
  }
  if (!ok) {
    long id = -1;
    sscanf(line + (line[0] ? 1 : 0), " %ld", &id);
    replyf("E %ld malformed request\n", id);
    free_req(r);
    return;
  }
  r->phase = QUEUED;
  if (r->quiet) {
    r->seq = quiet_seq++;
    quiet_open++;
  }
  if (queue_tail) queue_tail->next = r;
  else queue_head = r;
  queue_tail = r;
}

// mkdir -p, 0755: the run directory may not exist yet on a fresh boot.
static void mkdir_p(const char *dir) {
  char p[PATH_MAX_BYTES / 2];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof p) return;
  memcpy(p, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] == '/' || p[i] == '\0') {
      char c = p[i];
      p[i] = '\0';
      mkdir(p, 0755);
      p[i] = c;
    }
  }
}

// The mount table watch (W). proc(5): /proc/PID/mountinfo is pollable; after a mount, unmount,
// move or remount in its mount namespace, poll(2) reports POLLPRI|POLLERR on an open descriptor
// of it once (fs/proc_namespace.c, mounts_poll, which also re-arms it). The main loop polls it
// beside stdin, so a watch costs no thread and no read: a steady host sends nothing. One watch per
// helper; a second W moves it to the new id.
static int table_fd = -1;
static long table_id = -1;
static void watch_table(const char *line) {
  long id = -1;
  char extra;
  if (sscanf(line, "W %ld%c", &id, &extra) != 1 || id < 0) {
    replyf("E %ld malformed request\n", id);
    return;
  }
  if (table_fd < 0) table_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (table_fd < 0) {
    replyf("W %ld err %d\n", id, errno);
    return;
  }
  table_id = id;
  replyf("W %ld ok\n", id);
}

int main(int argc, char **argv) {
  // Usage: enotconn-helper [--registry DIR] [--concurrency N]
  signal(SIGPIPE, SIG_IGN);
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--registry") == 0 && argv[i + 1][0] == '/') {
      mkdir_p(argv[i + 1]);
      reg_fd = open(argv[i + 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (reg_fd >= 0) lock_fd = openat(reg_fd, "probes.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    } else if (strcmp(argv[i], "--concurrency") == 0) {
      concurrency = strtol(argv[i + 1], NULL, 10);
      if (concurrency < 1) concurrency = 1;
      if (concurrency > MAX_THREADS) concurrency = MAX_THREADS;
    }
  }
  if (start_ticks("self", my_start, sizeof my_start) != 0) strcpy(my_start, "0");
  if (pipe2(wake_fd, O_CLOEXEC | O_NONBLOCK) != 0) return 2;

  static char buf[LINE_MAX_BYTES * 2];
  size_t have = 0;
  for (;;) {
    pthread_mutex_lock(&mu);
    pump();
    int wait = check_deadlines();
    // Done when input is closed and nothing is queued or running (abandoned probes included).
    int idle = !input_open && !queue_head && !running && answering == 0;
    int open_now = input_open;
    main_wake_at = wait < 0 ? -1 : now_ms(CLOCK_MONOTONIC) + wait;
    pthread_mutex_unlock(&mu);
    if (idle) break;
    struct pollfd fds[3] = {{open_now ? 0 : -1, POLLIN, 0}, {wake_fd[0], POLLIN, 0}, {table_fd, POLLPRI, 0}};
    if (poll(fds, 3, wait) < 0 && errno != EINTR) return 2;
    if (table_fd >= 0 && (fds[2].revents & (POLLPRI | POLLERR))) replyf("W %ld changed\n", table_id);
    if (fds[1].revents & POLLIN) {
      char drain[256];
      while (read(wake_fd[0], drain, sizeof drain) > 0) {}
    }
    if (open_now && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(0, buf + have, sizeof buf - have - 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        pthread_mutex_lock(&mu);
        input_open = 0;
        pthread_cond_broadcast(&work_cv); // idle threads leave
        pthread_mutex_unlock(&mu);
        continue;
      }
      have += (size_t)n;
      buf[have] = '\0';
      char *start = buf, *nl;
      pthread_mutex_lock(&mu);
      while ((nl = memchr(start, '\n', have - (size_t)(start - buf))) != NULL) {
        *nl = '\0';
        if (nl - start < LINE_MAX_BYTES) {
          if (start[0] == 'W') watch_table(start);
          else if (start[0] == 'Z') add_barrier(start);
          else enqueue(start);
        }
        start = nl + 1;
      }
      pthread_mutex_unlock(&mu);
      have -= (size_t)(start - buf);
      memmove(buf, start, have);
      if (have >= LINE_MAX_BYTES) have = 0; // an over-long line is dropped, never half-parsed
    }
  }
  return 0;
}
