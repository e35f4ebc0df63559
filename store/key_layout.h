// Where fluxguard keeps things in Redis: every key name and the pub/sub
// channel, built from the configured prefix. store/README.md documents the
// same layout for operators.
//
// Domain names come from DNS answers, i.e. from attackers. They become part of
// key names only in escaped form (encode_domain), which is injective and uses
// a small alphabet with no '{', '}' or ':', so a hostile name can neither
// leave its hash tag nor make its keys equal another domain's or a global key.
// As ZSET members, hash values and script arguments domains travel as raw
// bytes in binary-safe argv, never through a format string.
//
// Immutable after construction; safe to share between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fluxguard {

class KeyLayout {
  public:
    // `prefix` must be free of '{' and '}' (validate() in redis_options.h).
    explicit KeyLayout(std::string prefix);

    // Bytes [A-Za-z0-9._-] stand for themselves; every other byte, '%'
    // included, becomes "%XX" (two upper-case hex digits). So ordinary host
    // names stay readable in redis-cli, and decode(encode(d)) == d.
    static std::string encode_domain(std::string_view domain);
    // nullopt when `encoded` could not have come from encode_domain.
    static std::optional<std::string> decode_domain(std::string_view encoded);

    // The per-domain keys; all share the hash tag {<encoded domain>}, so they
    // live in one Redis Cluster slot and one script may touch them all.
    struct DomainKeys {
        std::string addr;  // ZSET packed address -> last seen
        std::string pfx;   // ZSET packed /24 or /48 network -> last seen
        std::string asn;   // ZSET decimal ASN -> last seen
        std::string cc;    // ZSET two-letter country -> last seen
        std::string ns;    // ZSET name server host name -> last seen
        std::string meta;  // HASH first_seen, last_seen, resolutions, min_ttl
    };
    DomainKeys domain_keys(std::string_view domain) const;
    std::string block_key(std::string_view domain) const;  // HASH of one block

    // The per-host view of a client, shared with the sinkhole. `client` is
    // an address as text (digits, '.', ':', hex), never attacker bytes, so it
    // stands in the hash tag as it is.
    struct HostKeys {
        std::string hash;     // HASH first_seen, last_seen, count
        std::string domains;  // SET of names the client asked for
        std::string ports;    // SET of "dns", "tcp/443", "udp/53"
    };
    HostKeys host_keys(std::string_view client) const;

    // The registry of resolver instances (fleet_instance.h). An instance id holds
    // the host name, which is not ours to trust either: in the key it is
    // encoded like a domain, as a member it travels raw.
    std::string instance_key(std::string_view instance_id) const;  // HASH host, pid, ...

    const std::string& prefix() const { return prefix_; }
    const std::string& blocked() const { return blocked_; }      // ZSET domain -> since
    const std::string& pool_addr() const { return pool_addr_; }  // ZSET address -> time
    const std::string& pool_ns() const { return pool_ns_; }      // ZSET ns name -> time
    const std::string& channel() const { return channel_; }      // pub/sub channel
    const std::string& hosts() const { return hosts_; }          // ZSET client -> last seen
    const std::string& instances() const { return instances_; }  // ZSET id -> last heartbeat

    // The domain whose key `key` is (per-domain or block key), or nullopt for
    // a global key or a key outside the layout. Used by tests and tools that
    // walk the keyspace.
    std::optional<std::string> domain_of(std::string_view key) const;

  private:
    std::string prefix_;
    std::string blocked_;
    std::string pool_addr_;
    std::string pool_ns_;
    std::string channel_;
    std::string hosts_;
    std::string instances_;
};

}  // namespace fluxguard
