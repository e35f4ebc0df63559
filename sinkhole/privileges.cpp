#include "privileges.h"

#include <fmt/format.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <fstream>
#include <system_error>
#include <vector>

namespace fluxguard::sinkhole {

namespace {

// libcap would do, but two raw system calls are all we need.
using CapData = std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3>;

bool get_caps(CapData& data) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    return syscall(SYS_capget, &header, data.data()) == 0;
}

bool clear_caps() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    CapData data{};
    return syscall(SYS_capset, &header, data.data()) == 0;
}

bool any_caps(const CapData& data) {
    for (const auto& d : data)
        if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) return true;
    return false;
}

[[noreturn]] void fail(std::string_view step) {
    throw PrivilegeError(
        fmt::format("dropping privileges: {}: {}", step, std::generic_category().message(errno)));
}

int last_cap() {
    std::ifstream in("/proc/sys/kernel/cap_last_cap");
    int n = 0;
    return (in >> n) ? n : CAP_LAST_CAP;
}

}  // namespace

Account lookup_account(const std::string& name) {
    std::vector<char> buffer(16384);
    passwd pw{};
    passwd* found = nullptr;
    const int rc = getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found);
    if (rc != 0 || found == nullptr)
        throw PrivilegeError(fmt::format(
            "user '{}': {}", name, rc != 0 ? std::generic_category().message(rc) : "no such user"));
    if (pw.pw_uid == 0 || pw.pw_gid == 0)
        throw PrivilegeError(
            fmt::format("user '{}': has uid or gid 0, expected an unprivileged user", name));
    return {name, pw.pw_uid, pw.pw_gid};
}

void drop_privileges(const std::optional<Account>& account) {
    if (account) {
        const gid_t gid = account->gid;
        if (setgroups(1, &gid) != 0) fail("setgroups");
        // Empty the bounding set while CAP_SETPCAP is still ours; EINVAL marks
        // numbers this kernel does not know.
        for (int cap = 0; cap <= last_cap(); ++cap)
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
                fail("PR_CAPBSET_DROP");
        if (setresgid(gid, gid, gid) != 0) fail("setresgid");
        if (setresuid(account->uid, account->uid, account->uid) != 0) fail("setresuid");
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        fail("clearing ambient capabilities");
    if (!clear_caps()) fail("capset");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("PR_SET_NO_NEW_PRIVS");

    // Verify rather than trust.
    CapData caps{};
    if (!get_caps(caps)) fail("capget");
    if (any_caps(caps)) throw PrivilegeError("dropping privileges: capabilities are still held");
    if (account) {
        uid_t r = 0, e = 0, s = 0;
        gid_t rg = 0, eg = 0, sg = 0;
        if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0) fail("getresuid");
        if (r != account->uid || e != account->uid || s != account->uid || rg != account->gid ||
            eg != account->gid || sg != account->gid)
            throw PrivilegeError("dropping privileges: uid or gid did not change");
        if (setuid(0) == 0) throw PrivilegeError("dropping privileges: root could be regained");
    }
    if (geteuid() == 0) throw PrivilegeError("dropping privileges: still running as root");
}

std::string describe_privileges() {
    std::vector<gid_t> groups(static_cast<std::size_t>(std::max(0, getgroups(0, nullptr))));
    const int n = getgroups(static_cast<int>(groups.size()), groups.data());
    groups.resize(static_cast<std::size_t>(std::max(0, n)));
    CapData caps{};
    const bool none = get_caps(caps) && !any_caps(caps);
    return fmt::format(
        "uid {} gid {} groups {}, {}, no_new_privs {}", geteuid(), getegid(),
        groups.empty() ? std::string("none") : fmt::format("{}", fmt::join(groups, ",")),
        none ? "no capabilities" : "capabilities held",
        prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? "on" : "off");
}

}  // namespace fluxguard::sinkhole
