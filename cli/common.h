// What every fluxctl subcommand shares: the command table entry, loading
// fluxguard.conf into the store's RedisOptions and key layout, the keys the
// tool itself owns, and human/JSON output helpers.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "args.h"
#include "configuration.h"
#include "ip_address.h"
#include "key_layout.h"
#include "redis_options.h"

namespace fluxguard::cli {

class RedisClient;

struct Command {
    std::string_view name;
    std::string_view synopsis;  // after "usage: fluxctl "
    std::string_view summary;   // one line, for `fluxctl --help`
    std::string_view description;
    std::vector<OptionSpec> options;
    int (*run)(const Args&);
};

// The options most commands take.
inline const OptionSpec kConfigOption{"--config", "FILE",
                                      "fluxguard.conf (default: $FLUXGUARD_CONF, else "
                                      "/etc/fluxguard/fluxguard.conf); needs 'store: redis'"};
inline const OptionSpec kJsonOption{"--json", "", "print JSON for scripts instead of a table"};

// Keys fluxctl writes or reads besides the store's (cli/README.md, "Keys").
// Global keys have no '{', per-domain ones carry the domain's hash tag in the
// store's encoding (key_layout.h), so they can never equal a store key.
struct ToolKeys {
    explicit ToolKeys(const std::string& prefix);
    std::string allow;          // ZSET domain -> since
    std::string expires;        // ZSET domain -> unix time its feed block ends
    std::string expires_addr;   // ZSET packed address -> unix time its feed entry ends
    std::string audit;          // STREAM of operator actions
    std::string sinkhole_hits;  // STREAM of sinkhole records
    std::string allow_entry(std::string_view domain) const;  // HASH since, who, reason
    std::string prefix;
};

struct Context {
    Config config;
    RedisOptions redis;
    KeyLayout keys;
    ToolKeys tool;
};

// Loads --config (or the default path) and builds the store's options from
// it. Throws ConfigError naming the file for anything unusable.
Context load_context(const Args& args);
RedisOptions redis_options_from(const Config& config);

// Opens fluxctl's connection for `context` (redis_client.h).
RedisClient connect(const Context& context);

// --who, else $SUDO_USER, else the login name, else "operator".
std::string operator_name(const Args& args);

std::int64_t now_seconds();
// "2024-11-26T10:15:03Z"; "-" for 0.
std::string iso_time(std::int64_t unix_seconds);
// Shortest text that reads back as the same double ("32.4", "-12").
std::string format_number(double value);
// Bytes outside printable ASCII as \xNN: safe on a terminal, one line.
std::string printable(std::string_view text);
// JSON text; names with invalid UTF-8 get U+FFFD instead of an exception.
std::string json_text(const nlohmann::json& value, int indent = -1);
// The same, keeping the order the keys were written in.
std::string ordered_json_text(const nlohmann::ordered_json& value, int indent = -1);

// The store's packed form of an address (4 or 16 bytes) and back.
std::string packed(const IpAddress& address);
std::optional<IpAddress> unpack_address(std::string_view bytes);
// A packed /24 (3 bytes) or /48 (6 bytes) as "198.18.1.0/24" / "2001:db8:1::/48".
std::string unpack_prefix(std::string_view bytes);

// A plain text table: columns as wide as their widest cell, two spaces apart.
class Table {
  public:
    explicit Table(std::vector<std::string> headers, std::vector<bool> right_aligned = {});
    void add(std::vector<std::string> row);
    bool empty() const { return rows_.empty(); }
    std::string render() const;

  private:
    std::vector<std::string> headers_;
    std::vector<bool> right_;
    std::vector<std::vector<std::string>> rows_;
};

// Appends one entry to the audit stream: who did what, when, why.
void audit(RedisClient& redis, const ToolKeys& keys,
           const std::vector<std::pair<std::string, std::string>>& fields);

// The domain's block or allow entry, or the nearest parent's: the name
// itself first. `members` holds the set's members.
std::optional<std::string> covering_entry(std::string_view name,
                                          const std::vector<std::string>& members);

}  // namespace fluxguard::cli
