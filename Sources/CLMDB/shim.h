#ifndef PATHWAYLEDGER_CLMDB_SHIM_H
#define PATHWAYLEDGER_CLMDB_SHIM_H
// The system LMDB (Debian: liblmdb-dev). Never vendor its sources.
#include <lmdb.h>
#endif
