/*
 * bench-baseline: the raw-LMDB yardstick for the project's import and rebuild figures (issue 8).
 *
 *   bench-baseline N SIZE [DIR]
 *   bench-baseline --measure STORE
 *
 * The second form opens a project store read-only and prints how many records its event log holds
 * and their mean size (`store-records N`, `store-record-bytes SIZE`), so the raw figures can be
 * taken on records of the same number and size as the project's stored events.
 *
 * In a fresh temporary directory (under DIR, else $TMPDIR, else /tmp) it opens an LMDB environment
 * (MDB_NOTLS, MDB_NOSYNC, a map sized for the data and grown on MDB_MAP_FULL), appends N records of
 * SIZE bytes under big-endian UInt64 keys 1..N with MDB_APPEND in write transactions of 100,000
 * records, syncs once at the end (like a bulk import), then scans every record with a cursor,
 * summing one byte of each value. The scan runs three times (the data is in the page cache after
 * the appends) and the best pass is reported. It prints machine-readable lines:
 *
 *   raw-append <records/s> records/s
 *   raw-scan <records/s> records/s
 *   raw-records, raw-record-bytes, raw-append-seconds, raw-scan-seconds, raw-file-bytes, raw-checksum
 *
 * Built against the system liblmdb (Debian: liblmdb-dev): cc -O2 bench-baseline.c -llmdb
 */
#define _GNU_SOURCE
#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH 100000

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what, int rc) {
    fprintf(stderr, "bench-baseline: %s: %s\n", what, mdb_strerror(rc));
    exit(1);
}

static void put_be64(unsigned char *p, uint64_t v) {
    for (int i = 7; i >= 0; i--) { p[i] = (unsigned char)(v & 0xff); v >>= 8; }
}

/* A first guess at the map size: leaf pages filled by MDB_APPEND, or overflow pages for big
 * values, plus branch pages and slack. MDB_MAP_FULL grows it anyway. */
static size_t initial_map_size(uint64_t n, size_t size) {
    const size_t page = 4096;
    size_t per;
    if (size + 16 > page / 2) per = ((size + 16 + page - 1) / page) * page;
    else per = size + 8 + 8 + 2; /* node header, key, slot pointer */
    double bytes = (double)n * (double)per * 1.3 + 64.0 * 1024 * 1024;
    return (size_t)bytes;
}

/* The project's event log (named database "log"): record count and mean value size. */
static int measure(const char *store) {
    MDB_env *env;
    int rc;
    if ((rc = mdb_env_create(&env))) fail("mdb_env_create", rc);
    if ((rc = mdb_env_set_maxdbs(env, 64))) fail("mdb_env_set_maxdbs", rc);
    if ((rc = mdb_env_open(env, store, MDB_NOTLS | MDB_RDONLY, 0644))) fail("mdb_env_open (store)", rc);
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn))) fail("mdb_txn_begin (read)", rc);
    if ((rc = mdb_dbi_open(txn, "log", 0, &dbi))) fail("mdb_dbi_open (log)", rc);
    if ((rc = mdb_cursor_open(txn, dbi, &cur))) fail("mdb_cursor_open", rc);
    MDB_val key, data;
    uint64_t count = 0, bytes = 0;
    rc = mdb_cursor_get(cur, &key, &data, MDB_FIRST);
    while (rc == 0) {
        count++;
        bytes += data.mv_size;
        rc = mdb_cursor_get(cur, &key, &data, MDB_NEXT);
    }
    if (rc != MDB_NOTFOUND) fail("mdb_cursor_get", rc);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    if (count == 0) { fprintf(stderr, "bench-baseline: the store's log is empty\n"); return 1; }
    printf("store-records %llu\n", (unsigned long long)count);
    printf("store-record-bytes %llu\n", (unsigned long long)((bytes + count / 2) / count));
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--measure") == 0) return measure(argv[2]);
    if (argc < 3) {
        fprintf(stderr, "usage: %s N SIZE [DIR] | %s --measure STORE\n", argv[0], argv[0]);
        return 2;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(argv[1], &end, 10);
    if (errno || *end || n == 0) { fprintf(stderr, "bench-baseline: N must be a positive integer\n"); return 2; }
    unsigned long long size = strtoull(argv[2], &end, 10);
    if (errno || *end || size == 0 || size > (1u << 30)) { fprintf(stderr, "bench-baseline: SIZE must be 1..2^30 bytes\n"); return 2; }
    const char *base = argc > 3 ? argv[3] : (getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");

    char dir[4096];
    snprintf(dir, sizeof dir, "%s/bench-baseline-XXXXXX", base);
    if (!mkdtemp(dir)) { perror("bench-baseline: mkdtemp"); return 1; }

    MDB_env *env;
    int rc;
    if ((rc = mdb_env_create(&env))) fail("mdb_env_create", rc);
    size_t mapsize = initial_map_size(n, size);
    if ((rc = mdb_env_set_mapsize(env, mapsize))) fail("mdb_env_set_mapsize", rc);
    if ((rc = mdb_env_open(env, dir, MDB_NOTLS | MDB_NOSYNC, 0644))) fail("mdb_env_open", rc);

    MDB_dbi dbi;
    MDB_txn *txn;
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn))) fail("mdb_txn_begin", rc);
    if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi))) fail("mdb_dbi_open", rc);
    if ((rc = mdb_txn_commit(txn))) fail("mdb_txn_commit", rc);

    unsigned char *value = malloc(size);
    if (!value) { perror("bench-baseline: malloc"); return 1; }
    unsigned char keybuf[8];

    /* Appends: batches of BATCH records per write transaction, one sync at the end. */
    double t0 = now_seconds();
    uint64_t next = 1;
    while (next <= n) {
        uint64_t batch_end = next + BATCH - 1;
        if (batch_end > n) batch_end = n;
        if ((rc = mdb_txn_begin(env, NULL, 0, &txn))) fail("mdb_txn_begin", rc);
        uint64_t k;
        for (k = next; k <= batch_end; k++) {
            put_be64(keybuf, k);
            /* A value that changes with the key, so nothing is trivially compressible or skippable. */
            memset(value, (int)(k & 0xff), size);
            put_be64(value, k * 0x9E3779B97F4A7C15ull);
            MDB_val key = { 8, keybuf }, data = { size, value };
            rc = mdb_put(txn, dbi, &key, &data, MDB_APPEND);
            if (rc) break;
        }
        if (rc == MDB_MAP_FULL) {
            /* Grow the map and redo this batch. */
            mdb_txn_abort(txn);
            mapsize *= 2;
            if ((rc = mdb_env_set_mapsize(env, mapsize))) fail("mdb_env_set_mapsize (grow)", rc);
            continue;
        }
        if (rc) fail("mdb_put", rc);
        if ((rc = mdb_txn_commit(txn))) {
            if (rc != MDB_MAP_FULL) fail("mdb_txn_commit", rc);
            mapsize *= 2;
            if ((rc = mdb_env_set_mapsize(env, mapsize))) fail("mdb_env_set_mapsize (grow)", rc);
            continue;
        }
        next = batch_end + 1;
    }
    if ((rc = mdb_env_sync(env, 1))) fail("mdb_env_sync", rc);
    double append_seconds = now_seconds() - t0;

    /* Scans: a read transaction and a cursor over every record; best of three passes. */
    double scan_seconds = 0;
    uint64_t checksum = 0, seen = 0;
    for (int pass = 0; pass < 3; pass++) {
        double s0 = now_seconds();
        MDB_txn *rtxn;
        MDB_cursor *cur;
        if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &rtxn))) fail("mdb_txn_begin (read)", rc);
        if ((rc = mdb_cursor_open(rtxn, dbi, &cur))) fail("mdb_cursor_open", rc);
        MDB_val key, data;
        uint64_t sum = 0, count = 0;
        rc = mdb_cursor_get(cur, &key, &data, MDB_FIRST);
        while (rc == 0) {
            sum += ((const unsigned char *)data.mv_data)[data.mv_size - 1];
            count++;
            rc = mdb_cursor_get(cur, &key, &data, MDB_NEXT);
        }
        if (rc != MDB_NOTFOUND) fail("mdb_cursor_get", rc);
        mdb_cursor_close(cur);
        mdb_txn_abort(rtxn);
        double t = now_seconds() - s0;
        if (pass == 0 || t < scan_seconds) scan_seconds = t;
        checksum = sum; seen = count;
    }
    if (seen != n) { fprintf(stderr, "bench-baseline: scanned %llu records, expected %llu\n", (unsigned long long)seen, n); return 1; }

    char file[4200];
    struct stat st;
    snprintf(file, sizeof file, "%s/data.mdb", dir);
    long long file_bytes = stat(file, &st) == 0 ? (long long)st.st_size : -1;

    mdb_env_close(env);
    free(value);
    unlink(file);
    snprintf(file, sizeof file, "%s/lock.mdb", dir);
    unlink(file);
    rmdir(dir);

    printf("raw-records %llu\n", n);
    printf("raw-record-bytes %llu\n", size);
    printf("raw-append %.0f records/s\n", (double)n / append_seconds);
    printf("raw-scan %.0f records/s\n", (double)n / scan_seconds);
    printf("raw-append-seconds %.3f\n", append_seconds);
    printf("raw-scan-seconds %.3f\n", scan_seconds);
    printf("raw-file-bytes %lld\n", file_bytes);
    printf("raw-checksum %llu\n", (unsigned long long)checksum);
    return 0;
}
