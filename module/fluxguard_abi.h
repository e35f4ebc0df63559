/* The narrow C interface between the Unbound glue (unbound_glue.c, C, the
 * only code that sees Unbound's structs) and the C++ core (bridge.cpp).
 * Everything crossing it is plain data valid for the duration of the call.
 * All functions are safe to call from any resolver thread. */
#ifndef FLUXGUARD_ABI_H
#define FLUXGUARD_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fg_engine;

/* One resource record; names and rdata in uncompressed wire format. */
struct fg_rr {
    const uint8_t* owner;
    size_t owner_len;
    uint16_t type;
    uint32_t ttl;
    const uint8_t* rdata;
    size_t rdata_len;
};

/* One upstream answer and what the cache knows of the zone's delegation. */
struct fg_observation {
    int64_t time;
    const uint8_t* qname;
    size_t qname_len;
    uint16_t qtype;
    int rcode;
    const struct fg_rr* answer;      /* answer section */
    size_t answer_count;
    const uint8_t* zone;             /* delegation point, NULL when unknown */
    size_t zone_len;
    const struct fg_rr* delegation;  /* NS records of the zone, then A/AAAA of their names */
    size_t delegation_count;
};

enum fg_policy { FG_POLICY_MONITOR = 0, FG_POLICY_NXDOMAIN = 1, FG_POLICY_SINKHOLE = 2 };

struct fg_settings {
    enum fg_policy policy;
    uint32_t rewrite_ttl;
    int has_sinkhole_ipv4;
    uint8_t sinkhole_ipv4[4];
    int has_sinkhole_ipv6;
    uint8_t sinkhole_ipv6[16];
};

/* A blocked name: the registrable domain blocked and a short reason. */
struct fg_block {
    uint8_t domain_wire[256];
    size_t domain_wire_len;
    char reason[200];
};

typedef void (*fg_log_fn)(int level, const char* message); /* 0 info, 1 warning, 2 error */
typedef void (*fg_purge_fn)(void* arg, const uint8_t* name, size_t name_len);

/* Reads the configuration ($FLUXGUARD_CONF or the default when
 * config_path is NULL), opens the databases and, with `store: redis`, starts
 * the fleet link. NULL on failure, with one line naming file, line and key
 * (or the database) in `error`. `purge` drops a name's cached answers; it is
 * called from resolver threads, the scoring thread and the fleet link's
 * thread. */
struct fg_engine* fg_engine_create(const char* config_path, fg_log_fn log, fg_purge_fn purge,
                                   void* purge_arg, char* error, size_t error_size);
void fg_engine_destroy(struct fg_engine* engine);
void fg_engine_settings(const struct fg_engine* engine, struct fg_settings* out);

/* 1 when `name` (wire format) is blocked, filling `out`; 0 otherwise. */
int fg_engine_blocked(const struct fg_engine* engine, const uint8_t* name, size_t name_len,
                      struct fg_block* out);

/* Copies an upstream answer for scoring on the module's own thread (and
 * sharing with the fleet); never waits: when that thread is behind, the
 * answer is dropped and counted. When scoring blocks a domain, `purge` is
 * called (from that thread) for every name under it the resolver may hold
 * in its cache. */
void fg_engine_observe(struct fg_engine* engine, const struct fg_observation* obs);

/* Bytes of the scoring state, estimated, and of the answers waiting (for get_mem). */
size_t fg_engine_memory(const struct fg_engine* engine);

/* A client (address in `addr`) asked for `name` (wire format), which is
 * blocked: recorded when the configuration asks for it (record-clients),
 * off the calling thread. */
void fg_engine_client_hit(struct fg_engine* engine, const uint8_t* name, size_t name_len,
                          const struct sockaddr_storage* addr, int64_t time);

#ifdef __cplusplus
}
#endif

#endif
