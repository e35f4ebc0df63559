/* fluxguard's Unbound dynlib module: the only code that touches Unbound's
 * structs. It stays thin: it copies what an answer says into plain records
 * for the core (fluxguard_abi.h), asks the core whether a name is blocked,
 * and builds the rewritten reply in the query's region, as respip does.
 *
 * Flow, per query (the module sits before the validator and iterator):
 *   new      -> blocked? answer from here, before any recursion : pass on
 *   moddone  -> copy A/AAAA answers to the core's scoring thread (never
 *               waited for); if the name or any CNAME target is blocked by
 *               now, drop its cached answers and rewrite
 * Cache hits never reach a module, so when a domain becomes blocked the
 * names of it the resolver may have cached are removed from the message
 * cache: the next client misses the cache and lands in `new` above. */
#include "config.h"
#include <ctype.h>
#include "dynlibmod/dynlibmod.h"
#include "iterator/iter_delegpt.h"
#include "services/cache/dns.h"
#include "services/mesh.h"
#include "sldns/rrdef.h"
#include "sldns/sbuffer.h"
#include "util/data/msgreply.h"
#include "util/data/packed_rrset.h"
#include "util/log.h"
#include "util/module.h"
#include "util/net_help.h"
#include "util/regional.h"

#include "fluxguard_abi.h"

#define FG_EXPORT __attribute__((visibility("default")))

/* Long-lived state, one per Unbound process, shared by all worker threads. */
struct fg_module {
	struct fg_engine* engine;
	struct fg_settings settings;
	struct module_env* env;
};

/* Records are copied into a bounded array: a huge answer is scored on its
 * first records rather than costing an allocation per record. */
#define FG_MAX_RECORDS 256

static struct fg_module*
module_of(struct module_env* env, int id)
{
	struct dynlibmod_env* de = (struct dynlibmod_env*)env->modinfo[id];
	return de ? (struct fg_module*)de->dyn_env : NULL;
}

static void
log_to_unbound(int level, const char* message)
{
	if(level >= 2) log_err("%s", message);
	else if(level == 1) log_warn("%s", message);
	else log_info("%s", message);
}

static void
purge_cached_name(void* arg, const uint8_t* name, size_t name_len)
{
	/* The types unbound-control flush_name removes, and TXT, CAA and ANY:
	 * the message cache is keyed by type, so a name cannot be flushed
	 * whole without walking the cache. */
	static const uint16_t types[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA,
		LDNS_RR_TYPE_NS, LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_CNAME,
		LDNS_RR_TYPE_DNAME, LDNS_RR_TYPE_MX, LDNS_RR_TYPE_PTR,
		LDNS_RR_TYPE_SRV, LDNS_RR_TYPE_NAPTR, LDNS_RR_TYPE_SVCB,
		LDNS_RR_TYPE_HTTPS, LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_CAA,
		LDNS_RR_TYPE_ANY };
	struct module_env* env = (struct module_env*)arg;
	uint8_t copy[LDNS_MAX_DOMAINLEN + 1];
	size_t i;
	if(name_len > sizeof(copy)) return;
	memcpy(copy, name, name_len);
	for(i = 0; i < sizeof(types)/sizeof(types[0]); i++) {
		msg_cache_remove(env, copy, name_len, types[i],
			LDNS_RR_CLASS_IN, 0);
		msg_cache_remove(env, copy, name_len, types[i],
			LDNS_RR_CLASS_IN, BIT_CD);
	}
}

FG_EXPORT int
init(struct module_env* env, int id)
{
	char error[600];
	struct fg_module* m = (struct fg_module*)calloc(1, sizeof(*m));
	if(!m) {
		log_err("fluxguard: out of memory");
		return 0;
	}
	m->engine = fg_engine_create(NULL, log_to_unbound, purge_cached_name,
		env, error, sizeof(error));
	if(!m->engine) {
		log_err("fluxguard: %s", error);
		free(m);
		return 0;
	}
	fg_engine_settings(m->engine, &m->settings);
	m->env = env;
	((struct dynlibmod_env*)env->modinfo[id])->dyn_env = m;
	return 1;
}

FG_EXPORT void
deinit(struct module_env* env, int id)
{
	struct fg_module* m = module_of(env, id);
	if(!m) return;
	fg_engine_destroy(m->engine);
	free(m);
	((struct dynlibmod_env*)env->modinfo[id])->dyn_env = NULL;
}

/* Copies the records of `count` rrsets into `out`; returns the new total. */
static size_t
copy_records(struct ub_packed_rrset_key** rrsets, size_t count,
	struct fg_rr* out, size_t used, time_t now)
{
	size_t i, j;
	for(i = 0; i < count; i++) {
		struct ub_packed_rrset_key* k = rrsets[i];
		struct packed_rrset_data* d =
			(struct packed_rrset_data*)k->entry.data;
		for(j = 0; j < d->count && used < FG_MAX_RECORDS; j++) {
			time_t ttl = d->rr_ttl[j];
			if(ttl > now) ttl -= now; /* cache copies hold absolute TTLs */
			if(d->rr_len[j] < 2) continue;
			out[used].owner = k->rk.dname;
			out[used].owner_len = k->rk.dname_len;
			out[used].type = ntohs(k->rk.type);
			out[used].ttl = ttl < 0 ? 0 : (uint32_t)ttl;
			out[used].rdata = d->rr_data[j] + 2;
			out[used].rdata_len = d->rr_len[j] - 2;
			used++;
		}
	}
	return used;
}

/* The delegation is read from the cache at most once a second per zone and
 * worker thread: it changes with NS TTLs (minutes), and reading it walks the
 * rrset cache under its locks. The zone is taken to be the parent of names
 * of three labels or more (www.example.com -> example.com), the name itself
 * otherwise. A direct-mapped table per thread. */
#define FG_DELEGATION_SLOTS 1024

static int
delegation_due(const uint8_t* qname, size_t qname_len, time_t now)
{
	static __thread struct { uint64_t key; time_t read; }
		recent[FG_DELEGATION_SLOTS];
	uint64_t h = 1469598103934665603ull;
	size_t i, labels = 0, start = 0;
	for(i = 0; i < qname_len && qname[i] != 0; i += (size_t)qname[i] + 1)
		labels++;
	if(labels >= 3)
		start = (size_t)qname[0] + 1;
	for(i = start; i < qname_len; i++)
		h = (h ^ (uint8_t)tolower(qname[i])) * 1099511628211ull;
	i = (size_t)(h % FG_DELEGATION_SLOTS);
	if(recent[i].key == h && recent[i].read == now)
		return 0;
	recent[i].key = h;
	recent[i].read = now;
	return 1;
}

static void
observe_answer(struct fg_module* m, struct module_qstate* qstate)
{
	struct fg_rr answer[FG_MAX_RECORDS];
	struct fg_rr delegation[FG_MAX_RECORDS];
	struct fg_observation obs;
	struct reply_info* rep = qstate->return_msg->rep;
	struct dns_msg* dmsg = NULL;
	struct delegpt* dp;
	time_t now = *qstate->env->now;

	memset(&obs, 0, sizeof(obs));
	obs.time = (int64_t)now;
	obs.qname = qstate->qinfo.qname;
	obs.qname_len = qstate->qinfo.qname_len;
	obs.qtype = qstate->qinfo.qtype;
	obs.rcode = FLAGS_GET_RCODE(rep->flags);
	obs.answer = answer;
	obs.answer_count = copy_records(rep->rrsets, rep->an_numrrsets,
		answer, 0, now);

	/* The zone's name servers, for double-flux scoring: the NS set and
	 * glue the answer itself carries, then what the cache holds for the
	 * zone cut (learnt from referrals). */
	obs.delegation = delegation;
	obs.delegation_count = copy_records(rep->rrsets + rep->an_numrrsets,
		rep->ns_numrrsets + rep->ar_numrrsets, delegation, 0, now);
	dp = !delegation_due(qstate->qinfo.qname, qstate->qinfo.qname_len, now)
		? NULL : dns_cache_find_delegation(qstate->env,
		qstate->qinfo.qname, qstate->qinfo.qname_len,
		qstate->qinfo.qtype, qstate->qinfo.qclass, qstate->region,
		&dmsg, now, 0, NULL, 0);
	if(dp && dp->namelen > 1 && dmsg && dmsg->rep) {
		obs.zone = dp->name;
		obs.zone_len = dp->namelen;
		obs.delegation_count = copy_records(dmsg->rep->rrsets,
			dmsg->rep->rrset_count, delegation,
			obs.delegation_count, now);
	}
	fg_engine_observe(m->engine, &obs);
}

/* The block covering the query name or any name of the answer's chain. */
static int
find_block(struct fg_module* m, struct module_qstate* qstate,
	struct fg_block* block)
{
	size_t i;
	struct reply_info* rep = qstate->return_msg ?
		qstate->return_msg->rep : NULL;
	if(fg_engine_blocked(m->engine, qstate->qinfo.qname,
		qstate->qinfo.qname_len, block))
		return 1;
	for(i = 0; rep && i < rep->an_numrrsets; i++) {
		struct ub_packed_rrset_key* k = rep->rrsets[i];
		if(fg_engine_blocked(m->engine, k->rk.dname, k->rk.dname_len,
			block))
			return 1;
	}
	return 0;
}

/* A one-record rrset in the region; rdata without its length prefix. */
static struct ub_packed_rrset_key*
synth_rrset(struct regional* region, uint8_t* owner, size_t owner_len,
	uint16_t type, uint16_t qclass, uint32_t ttl, const uint8_t* rdata,
	size_t rdata_len)
{
	struct ub_packed_rrset_key* k;
	struct packed_rrset_data* d;
	size_t size = sizeof(*d) + sizeof(size_t) + sizeof(uint8_t*) +
		sizeof(time_t) + 2 + rdata_len;
	k = (struct ub_packed_rrset_key*)regional_alloc_zero(region,
		sizeof(*k));
	d = (struct packed_rrset_data*)regional_alloc_zero(region, size);
	if(!k || !d) return NULL;
	k->rk.dname = regional_alloc_init(region, owner, owner_len);
	if(!k->rk.dname) return NULL;
	k->rk.dname_len = owner_len;
	k->rk.type = htons(type);
	k->rk.rrset_class = htons(qclass);
	k->rk.flags = PACKED_RRSET_FIXEDTTL;
	k->entry.key = k;
	k->entry.data = d;
	d->ttl = ttl;
	d->count = 1;
	d->trust = rrset_trust_prim_noglue;
	d->security = sec_status_insecure;
	d->rr_len = (size_t*)((uint8_t*)d + sizeof(*d));
	d->rr_data = (uint8_t**)(d->rr_len + 1);
	d->rr_ttl = (time_t*)(d->rr_data + 1);
	d->rr_data[0] = (uint8_t*)(d->rr_ttl + 1);
	d->rr_len[0] = 2 + rdata_len;
	d->rr_ttl[0] = ttl;
	sldns_write_uint16(d->rr_data[0], (uint16_t)rdata_len);
	memcpy(d->rr_data[0] + 2, rdata, rdata_len);
	return k;
}

/* SOA for negative answers, owned by the blocked domain; its minimum is the
 * rewrite TTL so downstream caches keep the block as long as we say. */
static struct ub_packed_rrset_key*
synth_soa(struct regional* region, const struct fg_block* block,
	uint16_t qclass, uint32_t ttl)
{
	static const uint8_t mname[] = "\011fluxguard\007invalid";
	static const uint8_t rname[] = "\007blocked\011fluxguard\007invalid";
	uint8_t rdata[sizeof(mname) + sizeof(rname) + 20];
	uint8_t* p = rdata;
	uint32_t times[5] = { 1, 3600, 600, 86400, 0 };
	size_t i;
	times[4] = ttl;
	memcpy(p, mname, sizeof(mname)); p += sizeof(mname);
	memcpy(p, rname, sizeof(rname)); p += sizeof(rname);
	for(i = 0; i < 5; i++, p += 4)
		sldns_write_uint32(p, times[i]);
	return synth_rrset(region, (uint8_t*)block->domain_wire,
		block->domain_wire_len, LDNS_RR_TYPE_SOA, qclass, ttl, rdata,
		(size_t)(p - rdata));
}

/* Every client waiting for this query asked for a blocked name. */
static void
attribute_clients(struct fg_module* m, struct module_qstate* qstate)
{
	struct mesh_reply* r;
	if(!qstate->mesh_info)
		return;
	for(r = qstate->mesh_info->reply_list; r; r = r->next)
		fg_engine_client_hit(m->engine, qstate->qinfo.qname,
			qstate->qinfo.qname_len, &r->query_reply.client_addr,
			(int64_t)*qstate->env->now);
}

/* Replaces the reply with the policy's answer. 0 on allocation failure, in
 * which case the original reply stands (fail open). */
static int
answer_blocked(struct fg_module* m, struct module_qstate* qstate,
	const struct fg_block* block)
{
	struct regional* region = qstate->region;
	struct query_info* q = &qstate->qinfo;
	const struct fg_settings* s = &m->settings;
	uint32_t ttl = s->rewrite_ttl;
	struct ub_packed_rrset_key* rrset = NULL;
	struct reply_info* rep;
	struct dns_msg* msg;
	int rcode = LDNS_RCODE_NXDOMAIN;
	if(s->policy == FG_POLICY_SINKHOLE) {
		rcode = LDNS_RCODE_NOERROR;
		if(q->qtype == LDNS_RR_TYPE_A && s->has_sinkhole_ipv4)
			rrset = synth_rrset(region, q->qname, q->qname_len,
				LDNS_RR_TYPE_A, q->qclass, ttl,
				s->sinkhole_ipv4, 4);
		else if(q->qtype == LDNS_RR_TYPE_AAAA && s->has_sinkhole_ipv6)
			rrset = synth_rrset(region, q->qname, q->qname_len,
				LDNS_RR_TYPE_AAAA, q->qclass, ttl,
				s->sinkhole_ipv6, 16);
	}
	if(!rrset && !(rrset = synth_soa(region, block, q->qclass, ttl)))
		return 0;
	rep = construct_reply_info_base(region,
		(uint16_t)(BIT_QR | BIT_RA | rcode), 1, ttl, ttl, 0,
		ntohs(rrset->rk.type) == LDNS_RR_TYPE_SOA ? 0 : 1,
		ntohs(rrset->rk.type) == LDNS_RR_TYPE_SOA ? 1 : 0, 0, 1,
		sec_status_insecure);
	msg = (struct dns_msg*)regional_alloc_zero(region, sizeof(*msg));
	if(!rep || !msg) return 0;
	rep->rrsets[0] = rrset;
	msg->qinfo = *q;
	msg->rep = rep;
	qstate->return_msg = msg;
	qstate->return_rcode = LDNS_RCODE_NOERROR;
	qstate->no_cache_store = 1;
	/* RFC 8914 "Blocked", sent only to clients that speak EDNS. */
	(void)edns_opt_list_append_ede(&qstate->edns_opts_front_out, region,
		LDNS_EDE_BLOCKED, block->reason);
	return 1;
}

FG_EXPORT void
operate(struct module_qstate* qstate, enum module_ev event, int id,
	struct outbound_entry* outbound)
{
	struct fg_module* m = module_of(qstate->env, id);
	struct fg_block block;
	(void)outbound;
	if(event == module_event_new || event == module_event_pass) {
		if(m && m->settings.policy != FG_POLICY_MONITOR &&
			qstate->qinfo.qclass == LDNS_RR_CLASS_IN &&
			find_block(m, qstate, &block) &&
			answer_blocked(m, qstate, &block)) {
			attribute_clients(m, qstate);
			qstate->ext_state[id] = module_finished;
			return;
		}
		qstate->ext_state[id] = module_wait_module;
		return;
	}
	if(event == module_event_moddone) {
		struct dns_msg* msg = qstate->return_msg;
		uint16_t qtype = qstate->qinfo.qtype;
		if(m && msg && msg->rep &&
			qstate->return_rcode == LDNS_RCODE_NOERROR &&
			qstate->qinfo.qclass == LDNS_RR_CLASS_IN &&
			msg->rep->security != sec_status_bogus) {
			if(qtype == LDNS_RR_TYPE_A || qtype == LDNS_RR_TYPE_AAAA)
				observe_answer(m, qstate);
			if(m->settings.policy != FG_POLICY_MONITOR &&
				find_block(m, qstate, &block)) {
				purge_cached_name(qstate->env, qstate->qinfo.qname,
					qstate->qinfo.qname_len);
				if(answer_blocked(m, qstate, &block))
					attribute_clients(m, qstate);
			}
		}
		qstate->ext_state[id] = module_finished;
		return;
	}
	if(event == module_event_error) {
		qstate->ext_state[id] = module_error;
		return;
	}
	log_err("fluxguard: unexpected event %s", strmodulevent(event));
	qstate->ext_state[id] = module_error;
}

FG_EXPORT void
inform_super(struct module_qstate* qstate, int id, struct module_qstate* super)
{
	(void)qstate; (void)id; (void)super;
}

FG_EXPORT void
clear(struct module_qstate* qstate, int id)
{
	(void)qstate; (void)id;
}

FG_EXPORT size_t
get_mem(struct module_env* env, int id)
{
	struct fg_module* m = module_of(env, id);
	return m ? sizeof(*m) + fg_engine_memory(m->engine) : 0;
}
