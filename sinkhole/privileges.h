// Giving up root once the sockets are bound. The sinkhole talks to malware:
// whatever a bug in it could be made to do, it should be able to do as
// little as possible. After bind():
//
//  - with `user` configured (started as root): supplementary groups are
//    reduced to the user's group, the capability bounding set is emptied,
//    then the real, effective and saved gid and uid become the user's; the
//    kernel clears the permitted and effective capabilities with the uid
//    change, and we clear them again explicitly along with the ambient set;
//  - without `user` (started unprivileged with only CAP_NET_BIND_SERVICE,
//    e.g. systemd AmbientCapabilities= or setcap): every capability is
//    dropped; binding was the only thing it was for;
//  - either way PR_SET_NO_NEW_PRIVS is set, and the result is verified
//    (setuid(0) must fail, no capability may be left). Failure is fatal.
//
// Capabilities are per thread, so this runs before any thread is started.
#pragma once

#include <sys/types.h>

#include <optional>
#include <stdexcept>
#include <string>

namespace fluxguard::sinkhole {

struct Account {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

class PrivilegeError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Looks the user up in the password database; throws PrivilegeError when it
// does not exist or is root.
Account lookup_account(const std::string& name);

// See above. Throws PrivilegeError naming the step that failed.
void drop_privileges(const std::optional<Account>& account);

// "uid 65534 gid 65534 groups 65534, no capabilities, no_new_privs", for the log.
std::string describe_privileges();

}  // namespace fluxguard::sinkhole
