#ifndef PATHWAYLEDGER_CLMDB_SHIM_H
#define PATHWAYLEDGER_CLMDB_SHIM_H
// The system LMDB (Debian: liblmdb-dev). Never vendor its sources.
#include <lmdb.h>
#include <stddef.h>

// Asks the processor to start loading `count` bytes of the memory map that the caller reads next
// (a scan decodes one record while the next one's cache lines arrive). A hint: it never faults,
// whatever the address.
static inline void pathwayledger_prefetch(const void *address, size_t count) {
    const char *p = (const char *)address;
    for (size_t i = 0; i < count; i += 64) __builtin_prefetch(p + i, 0, 3);
}
#endif
