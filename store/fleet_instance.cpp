#include "fleet_instance.h"

#include <unistd.h>

#include <chrono>
#include <climits>

#include "key_layout.h"

namespace fluxguard {

namespace {

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

FleetInstance FleetInstance::this_process() {
    // Taken once per process: every store of it is the same instance.
    static const std::int64_t started = unix_now();
    FleetInstance self;
    char name[HOST_NAME_MAX + 1] = {};
    // gethostname() may truncate without a NUL: the buffer has one to spare.
    self.host = ::gethostname(name, HOST_NAME_MAX) == 0 && name[0] != '\0' ? name : "unknown";
    self.pid = ::getpid();
    self.started = started;
#ifdef FLUXGUARD_VERSION
    self.version = FLUXGUARD_VERSION;
#endif
    return self;
}

std::string FleetInstance::id() const {
    return host + ":" + std::to_string(pid) + ":" + std::to_string(started);
}

std::string FleetInstance::client_name() const {
    return "fluxguard-resolver-" + KeyLayout::encode_domain(host) + "-" + std::to_string(pid);
}

}  // namespace fluxguard
