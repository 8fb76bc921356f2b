/* SPDX-License-Identifier: MIT */
/* Unit tests: the upgrade decision for every family/type/protocol/flag combination. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "classify.h"

static const int families[] = {AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET};
static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_RDM};
static const int flag_sets[] = {0, SOCK_NONBLOCK, SOCK_CLOEXEC, SOCK_NONBLOCK | SOCK_CLOEXEC};
static const int protocols[] = {0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_MPTCP, 263, -1};

Test(classify, every_combination)
{
	for (size_t f = 0; f < sizeof(families) / sizeof(*families); f++)
		for (size_t t = 0; t < sizeof(types) / sizeof(*types); t++)
			for (size_t fl = 0; fl < sizeof(flag_sets) / sizeof(*flag_sets); fl++)
				for (size_t p = 0; p < sizeof(protocols) / sizeof(*protocols); p++) {
					int family = families[f], type = types[t] | flag_sets[fl];
					int proto = protocols[p];
					bool expect = (family == AF_INET || family == AF_INET6) &&
						      types[t] == SOCK_STREAM &&
						      (proto == 0 || proto == IPPROTO_TCP);
					cr_expect_eq(shim_classify_is_tcp_request(family, type, proto), expect,
						     "family %d type %#x proto %d", family, type,
						     proto);
				}
}

Test(classify, unknown_type_bits_are_not_tcp)
{
	cr_expect_not(shim_classify_is_tcp_request(AF_INET, SOCK_STREAM | 0x100, 0));
	cr_expect_not(shim_classify_is_tcp_request(AF_INET6, SOCK_STREAM | 0x40000000, IPPROTO_TCP));
}
