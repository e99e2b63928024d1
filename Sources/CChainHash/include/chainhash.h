#ifndef PATHWAYLEDGER_CHAINHASH_H
#define PATHWAYLEDGER_CHAINHASH_H
// SHA-256 for the event log's hash chain, without per-call allocation: the CPU's SHA extensions
// when it has them (x86-64 SHA-NI), portable C otherwise. Checked against swift-crypto in tests.
#include <stddef.h>
#include <stdint.h>

/// SHA-256 of `length` bytes at `data`, written to `out` (32 bytes).
void pl_sha256(const void *data, size_t length, uint8_t *out);

/// One link of the chain: SHA-256(previous ‖ SHA-256(canonical)), written to `out` (32 bytes).
/// `previous` and `out` may be the same memory.
void pl_chain_hash(const uint8_t *previous, const void *canonical, size_t length, uint8_t *out);

/// Two independent links at once, A and B as in ``pl_chain_hash`` (each `previous` may be its own
/// `out`; A's and B's memory must not overlap otherwise). With the SHA extensions their rounds are
/// interleaved, which keeps the SHA unit busy: about 1.5 × the throughput of two calls.
void pl_chain_hash2(const uint8_t *previousA, const void *canonicalA, size_t lengthA, uint8_t *outA,
                    const uint8_t *previousB, const void *canonicalB, size_t lengthB, uint8_t *outB);

/// The portable code path whatever the CPU (so tests cover it on machines with the extensions).
void pl_sha256_portable(const void *data, size_t length, uint8_t *out);

/// 1 when the SHA extensions are used, 0 for the portable code.
int pl_sha256_uses_cpu_extensions(void);

#endif
