/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * mptcpize.bpf.c - the BPF engine of `mptcpize run --bpf`, scoped to one cgroup.
 *
 *   fmod_ret/update_socket_protocol  socket(AF_INET/AF_INET6, SOCK_STREAM[|flags], 0/TCP) from a
 *                                    task under our cgroup becomes IPPROTO_MPTCP (Linux >= 6.6).
 *   cgroup/setsockopt                on MPTCP sockets, options the rule map marks "emulate" are
 *                                    recorded in socket storage and skipped (success); "refused"
 *                                    ones go to the kernel, which fails them, and are reported.
 *   cgroup/getsockopt                emulated options read the recorded value (or TCP's default);
 *                                    SO_PROTOCOL reads IPPROTO_TCP.
 *   sockops                          MZ_SUBFLOW_OPTIONS (TCP_USER_TIMEOUT) recorded on an MPTCP
 *                                    socket are applied for
 *                                    real to each of its subflows: when the subflow is
 *                                    established, and at its retransmission timeouts (a value set
 *                                    after connect() reaches the subflows that already exist).
 * The rules come from the shim's option table (shim/sockopt_policy.c) and the running kernel;
 * the launcher fills the map (tools/bpf_rules.c). The GPL is needed for the tracing helpers.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "mptcpize_bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_TYPE_MASK 0xf /* Go and others pass SOCK_NONBLOCK|SOCK_CLOEXEC in type */
#define IPPROTO_TCP 6
#define SOL_SOCKET 1
#define SO_PROTOCOL 38
#define EINVAL 22

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile unsigned int mz_debug = 0;

/* index 0: the launcher's child cgroup */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} mz_scope SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MZ_MAX_RULES);
	__type(key, struct mz_opt_key);
	__type(value, struct mz_opt_rule);
} mz_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mz_sk_opts);
} mz_sk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} mz_events SEC(".maps");

SEC("fmod_ret/update_socket_protocol")
int BPF_PROG(mz_upgrade, int family, int type, int protocol)
{
	/* Returning 0 runs the kernel's own function (protocol unchanged) and lets other
	 * launchers' programs chain; any other value is the protocol. Cheapest tests first:
	 * this runs for every socket() on the machine. */
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if ((type & SOCK_TYPE_MASK) != SOCK_STREAM || (protocol != 0 && protocol != IPPROTO_TCP))
		return 0;
	if (bpf_current_task_under_cgroup(&mz_scope, 0) != 1)
		return 0;
	if (mz_debug >= 3) {
		struct mz_event *ev = bpf_ringbuf_reserve(&mz_events, sizeof(*ev), 0);
		if (ev) {
			ev->kind = MZ_EV_UPGRADED;
			ev->pid = bpf_get_current_pid_tgid() >> 32;
			ev->level = family;
			ev->optname = type;
			ev->value = protocol;
			bpf_get_current_comm(ev->comm, sizeof(ev->comm));
			bpf_ringbuf_submit(ev, 0);
		}
	}
	return MZ_IPPROTO_MPTCP;
}

static __always_inline void report(unsigned int kind, struct bpf_sockopt *ctx, int value)
{
	struct mz_event *ev = bpf_ringbuf_reserve(&mz_events, sizeof(*ev), 0);
	if (!ev)
		return;
	ev->kind = kind;
	ev->pid = bpf_get_current_pid_tgid() >> 32;
	ev->level = ctx->level;
	ev->optname = ctx->optname;
	ev->value = value;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline int is_mptcp(struct bpf_sockopt *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	return sk && sk->protocol == MZ_IPPROTO_MPTCP;
}

SEC("cgroup/setsockopt")
int mz_setsockopt(struct bpf_sockopt *ctx)
{
	if (!is_mptcp(ctx))
		return 1;
	struct mz_opt_key key = {ctx->level, ctx->optname};
	struct mz_opt_rule *rule = bpf_map_lookup_elem(&mz_rules, &key);
	if (!rule)
		return 1;
	if (rule->action == MZ_ACT_REFUSED) {
		report(MZ_EV_REFUSED, ctx, 0);
		return 1; /* the kernel fails it as MPTCP does */
	}
	if (rule->action != MZ_ACT_EMULATE)
		return 1;

	/* TCP's own validation for an int option: a short buffer or (where TCP checks) a
	 * negative value is EINVAL. */
	int *val = ctx->optval;
	if (ctx->optlen < (int)sizeof(int) || (void *)(val + 1) > ctx->optval_end) {
		bpf_set_retval(-EINVAL);
		return 0;
	}
	int v = *val;
	if ((rule->flags & MZ_RF_NONNEG) && v < 0) {
		bpf_set_retval(-EINVAL);
		return 0;
	}
	if (rule->flags & MZ_RF_BOOL)
		v = v != 0;

	struct mz_sk_opts *st = bpf_sk_storage_get(&mz_sk, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return 1;
	unsigned int slot = MZ_MAX_RECORDED;
	for (unsigned int i = 0; i < MZ_MAX_RECORDED; i++) {
		if (i >= st->n)
			break;
		if (st->e[i].level == key.level && st->e[i].optname == key.optname) {
			slot = i;
			break;
		}
	}
	if (slot == MZ_MAX_RECORDED) {
		if (st->n >= MZ_MAX_RECORDED) {
			report(MZ_EV_FULL, ctx, v);
			return 1;
		}
		slot = st->n;
		st->n = slot + 1;
	}
	if (slot < MZ_MAX_RECORDED) { /* for the verifier */
		st->e[slot].level = key.level;
		st->e[slot].optname = key.optname;
		st->e[slot].value = v;
	}
	if (mz_debug >= 2 || ((rule->flags & MZ_RF_LOG) && mz_debug >= 1))
		report(MZ_EV_EMULATED, ctx, v);
	ctx->optlen = -1; /* skip the kernel: the call returns 0 */
	return 1;
}

/* Writes min(optlen, sizeof(int)) bytes of v, as TCP's getsockopt does for int options. */
static __always_inline void put_int(struct bpf_sockopt *ctx, int v)
{
	unsigned char *p = ctx->optval;
	int n = ctx->optlen < (int)sizeof(int) ? ctx->optlen : (int)sizeof(int);
	if (n < 0)
		return;
	for (int i = 0; i < (int)sizeof(int); i++) {
		if (i >= n || (void *)(p + i + 1) > ctx->optval_end)
			break;
		p[i] = (unsigned char)(v >> (8 * i)); /* host byte order: little endian */
	}
	ctx->optlen = n;
	barrier_var(ctx); /* keep ctx->retval a direct ctx access (the verifier wants one) */
	ctx->retval = 0;
}

SEC("cgroup/getsockopt")
int mz_getsockopt(struct bpf_sockopt *ctx)
{
	if (!is_mptcp(ctx))
		return 1;
	if (ctx->level == SOL_SOCKET && ctx->optname == SO_PROTOCOL) {
		if (ctx->retval == 0)
			put_int(ctx, IPPROTO_TCP);
		return 1;
	}
	struct mz_opt_key key = {ctx->level, ctx->optname};
	struct mz_opt_rule *rule = bpf_map_lookup_elem(&mz_rules, &key);
	if (!rule || rule->action != MZ_ACT_EMULATE)
		return 1;
	struct mz_sk_opts *st = bpf_sk_storage_get(&mz_sk, ctx->sk, 0, 0);
	if (st) {
		for (unsigned int i = 0; i < MZ_MAX_RECORDED; i++) {
			if (i >= st->n)
				break;
			if (st->e[i].level == key.level && st->e[i].optname == key.optname) {
				put_int(ctx, st->e[i].value);
				return 1;
			}
		}
	}
	/* never set: TCP's default, unless the kernel answered by itself */
	if (ctx->retval != 0)
		put_int(ctx, rule->tcp_default);
	return 1;
}

/* The recorded value of (level, optname) on MPTCP socket msk, or -1. */
static __always_inline int recorded(void *msk, int level, int optname)
{
	struct mz_sk_opts *st = bpf_sk_storage_get(&mz_sk, msk, 0, 0);
	if (!st)
		return -1;
	for (unsigned int i = 0; i < MZ_MAX_RECORDED; i++) {
		if (i >= st->n)
			break;
		if (st->e[i].level == level && st->e[i].optname == optname)
			return st->e[i].value;
	}
	return -1;
}

SEC("sockops")
int mz_sockops(struct bpf_sock_ops *skops)
{
	int op = skops->op;
	if (op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB && op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB &&
	    op != BPF_SOCK_OPS_RTO_CB)
		return 1;
	struct bpf_sock *sk = skops->sk;
	if (!sk)
		return 1;
	struct mptcp_sock *msk = bpf_skc_to_mptcp_sock(sk); /* NULL unless sk is a subflow */
	if (!msk)
		return 1;
	if (op != BPF_SOCK_OPS_RTO_CB)
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_RTO_CB_FLAG);
	const struct mz_opt_key opts[MZ_NSUBFLOW_OPTIONS] = MZ_SUBFLOW_OPTIONS;
	for (int i = 0; i < MZ_NSUBFLOW_OPTIONS; i++) {
		int v = recorded(msk, opts[i].level, opts[i].optname);
		if (v >= 0)
			bpf_setsockopt(skops, opts[i].level, opts[i].optname, &v, sizeof(v));
	}
	return 1;
}
