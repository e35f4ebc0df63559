// Threat-intel feeds for `fluxctl import`: plain lists, hosts files, CSV and
// RPZ zone files, read into domains to block and addresses for the flux
// pool. Feeds are other people's data: every line that is not understood is
// reported with its line number and skipped, never guessed at, and no feed
// may block the root, a top-level domain or a public suffix.
//
// Pure functions over text; a FeedChecker may be shared read-only.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ip_address.h"
#include "registrable_domain.h"

namespace fluxguard::cli {

enum class FeedFormat { automatic, list, hosts, csv, rpz };
std::optional<FeedFormat> parse_feed_format(std::string_view text);
std::string_view to_string(FeedFormat format);

struct FeedIndicator {
    std::size_t line = 0;
    std::string domain;                // set for a domain
    std::optional<IpAddress> address;  // set for an address
};

struct FeedProblem {
    enum class Kind {
        malformed,  // not understood: an error
        refused,    // understood, but a feed may not block it (root, TLD, public suffix)
        skipped,    // understood and valid, but nothing fluxguard can import (e.g. RPZ passthru)
    };
    Kind kind = Kind::malformed;
    std::size_t line = 0;
    std::string message;
};

struct FeedResult {
    FeedFormat format = FeedFormat::list;
    std::vector<FeedIndicator> indicators;
    std::vector<FeedProblem> problems;
    std::size_t ignored = 0;  // lines that carry nothing: comments, SOA/NS, "localhost" entries
};

// Checks one name from a feed. Uses the Public Suffix List (libpsl) through
// the core's RegistrableDomains.
class FeedChecker {
  public:
    struct Verdict {
        std::string domain;  // normalised, set when usable
        std::optional<FeedProblem::Kind> problem;
        std::string message;
    };
    // A domain name in presentation form: lower-cased, one trailing dot and a
    // leading "*." dropped (a block covers every name below anyway).
    Verdict check_domain(std::string_view text) const;
    // True for a public suffix ("com", "co.uk", "github.io").
    bool is_public_suffix(std::string_view domain) const;

  private:
    RegistrableDomains psl_;
};

// `file_name` only guides FeedFormat::automatic (".csv", ".rpz", ".zone").
FeedResult parse_feed(std::string_view text, FeedFormat format, std::string_view file_name,
                      const FeedChecker& checker);

// "32.4.3.2.1" (the labels of an RPZ response-IP trigger before ".rpz-ip")
// to 1.2.3.4; "128.zz.1.db8.2001" to 2001:db8:1::. nullopt unless a whole
// address (/32 or /128). `prefix_length` is set whenever the labels parse.
std::optional<IpAddress> parse_rpz_ip(std::string_view labels, int* prefix_length = nullptr);
// The inverse: "32.4.3.2.1" for 1.2.3.4, "128.1.zz.db8.2001" for 2001:db8::1.
std::string rpz_ip_labels(const IpAddress& address);

}  // namespace fluxguard::cli
