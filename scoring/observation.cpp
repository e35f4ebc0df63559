#include "observation.h"

#include <algorithm>

#include "dns_name.h"

namespace fluxguard {

void follow_answer(Observation& obs, std::span<const Record> answer) {
    constexpr std::size_t max_chain = 16;
    obs.chain.assign(1, obs.qname);
    obs.addresses.clear();
    while (obs.chain.size() <= max_chain) {
        const std::string& current = obs.chain.back();
        auto cname = std::find_if(answer.begin(), answer.end(), [&](const Record& r) {
            return r.type == type_cname && r.owner == current;
        });
        if (cname == answer.end()) break;
        auto target = name_from_wire(cname->rdata);
        if (!target || std::find(obs.chain.begin(), obs.chain.end(), *target) != obs.chain.end())
            break;
        obs.chain.push_back(std::move(*target));
    }
    const std::string& owner = obs.chain.back();
    for (const Record& r : answer) {
        if ((r.type != type_a && r.type != type_aaaa) || r.owner != owner) continue;
        if (auto ip = IpAddress::from_rdata(r.rdata)) obs.addresses.push_back({*ip, r.ttl});
    }
}

}  // namespace fluxguard
