/* SPDX-License-Identifier: MIT */
/*
 * hook_fuzz - a differential fuzzer for the hooks. From a seed it draws a sequence of socket,
 * setsockopt, getsockopt, bind, listen, connect (to its own loopback listeners), dup2, dup,
 * fcntl(F_DUPFD*) and close calls on a few fd slots (plus invalid fds, odd lengths, NULL
 * buffers) and prints one line per call: return value, errno and, for getsockopt, the length and bytes read back. Run once with
 * the library preloaded (MPTCPIZE=1) and once without: the two traces must be identical, because
 * the shim promises TCP's answers (tests/integration/hook-fuzz.sh compares them).
 * Usage: hook_fuzz SEED OPS
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint64_t state;

static uint32_t rnd(uint32_t n)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (uint32_t)(state % n);
}

#define NSLOTS 6
static int slots[NSLOTS];
static struct sockaddr_storage listen_addr[NSLOTS];

struct opt {
	int level, name;
};
/* Options of every kind: accepted by MPTCP, emulated, fallback, pass, not TCP at all. */
static const struct opt opts[] = {
	{SOL_SOCKET, SO_REUSEADDR},  {SOL_SOCKET, SO_KEEPALIVE},    {SOL_SOCKET, SO_RCVBUF},
	{SOL_SOCKET, SO_OOBINLINE},  {SOL_SOCKET, SO_DONTROUTE},    {SOL_SOCKET, SO_BROADCAST},
	{SOL_SOCKET, SO_ZEROCOPY},   {SOL_SOCKET, SO_PRIORITY},     {SOL_SOCKET, SO_PROTOCOL},
	{SOL_SOCKET, SO_TYPE},       {SOL_SOCKET, SO_ERROR},        {SOL_SOCKET, SO_LINGER},
	{IPPROTO_IP, IP_TTL},        {IPPROTO_IP, IP_TOS},          {IPPROTO_IP, IP_RECVERR},
	{IPPROTO_IP, IP_MTU_DISCOVER}, {IPPROTO_IP, IP_FREEBIND},   {IPPROTO_IP, IP_OPTIONS},
	/* Not IPV6_V6ONLY: on a socket bound to ::1, TCP reads 1 and MPTCP 0 (a known difference,
	 * docs/reliability.md, "Known differences"). */
	{IPPROTO_IPV6, IPV6_TCLASS}, {IPPROTO_IPV6, IPV6_RECVERR},
	{IPPROTO_TCP, TCP_NODELAY},  {IPPROTO_TCP, TCP_USER_TIMEOUT}, {IPPROTO_TCP, TCP_QUICKACK},
	{IPPROTO_TCP, TCP_SYNCNT},   {IPPROTO_TCP, TCP_LINGER2},    {IPPROTO_TCP, TCP_WINDOW_CLAMP},
	{IPPROTO_TCP, TCP_KEEPIDLE}, {IPPROTO_TCP, TCP_MAXSEG},     {IPPROTO_TCP, TCP_THIN_LINEAR_TIMEOUTS},
	{IPPROTO_TCP, TCP_NOTSENT_LOWAT}, {IPPROTO_TCP, TCP_DEFER_ACCEPT}, {IPPROTO_TCP, 9999},
};
/* Set only these: no option whose documented policy answers differently from TCP on purpose
 * (SO_ZEROCOPY is `pass`; IP_OPTIONS is `fallback`, an error once connected). */
static bool settable(const struct opt *o)
{
	return !(o->level == SOL_SOCKET && o->name == SO_ZEROCOPY) &&
	       !(o->level == IPPROTO_IP && o->name == IP_OPTIONS);
}

static const int values[] = {0, 1, 2, 5, 32, 255, 300, 1200, 65536, -1};
static const socklen_t lens[] = {4, 4, 4, 4, 0, 1, 2, 8, 16, 64};

static int pick_fd(void)
{
	uint32_t r = rnd(20);
	if (r == 0)
		return -1;
	if (r == 1)
		return 999;
	return slots[rnd(NSLOTS)];
}

static void show_get(const unsigned char *buf, socklen_t len)
{
	printf(" len=%u val=", (unsigned)len);
	for (socklen_t i = 0; i < len && i < 16; i++)
		printf("%02x", buf[i]);
}

static void op_socket(int i)
{
	int s = (int)rnd(NSLOTS);
	if (slots[s] >= 0)
		close(slots[s]);
	int fam = rnd(2) ? AF_INET : AF_INET6;
	int type = SOCK_STREAM | (rnd(2) ? SOCK_NONBLOCK : 0) | (rnd(2) ? SOCK_CLOEXEC : 0);
	if (rnd(8) == 0)
		type = SOCK_DGRAM;
	slots[s] = socket(fam, type, rnd(2) ? 0 : (type == SOCK_DGRAM ? 0 : IPPROTO_TCP));
	memset(&listen_addr[s], 0, sizeof(listen_addr[s]));
	printf("%d socket(%d,%#x) = %d errno=%d fl=%d\n", i, fam, type, slots[s],
	       slots[s] < 0 ? errno : 0, slots[s] >= 0 ? fcntl(slots[s], F_GETFL) & O_NONBLOCK : -1);
}

static void op_setsockopt(int i)
{
	const struct opt *o = &opts[rnd(sizeof(opts) / sizeof(opts[0]))];
	while (!settable(o))
		o = &opts[rnd(sizeof(opts) / sizeof(opts[0]))];
	unsigned char buf[64] = {0};
	int v = values[rnd(sizeof(values) / sizeof(values[0]))];
	memcpy(buf, &v, sizeof(v));
	socklen_t len = lens[rnd(sizeof(lens) / sizeof(lens[0]))];
	int fd = pick_fd();
	errno = 0;
	int rc = setsockopt(fd, o->level, o->name, rnd(30) ? buf : NULL, len);
	printf("%d setsockopt(%d,%d,%d,v=%d,len=%u) = %d errno=%d\n", i, fd, o->level, o->name, v,
	       (unsigned)len, rc, rc ? errno : 0);
}

static void op_getsockopt(int i)
{
	const struct opt *o = &opts[rnd(sizeof(opts) / sizeof(opts[0]))];
	unsigned char buf[64];
	memset(buf, 0xAA, sizeof(buf));
	socklen_t len = lens[rnd(sizeof(lens) / sizeof(lens[0]))];
	int fd = pick_fd();
	errno = 0;
	int rc = getsockopt(fd, o->level, o->name, rnd(30) ? buf : NULL, &len);
	printf("%d getsockopt(%d,%d,%d) = %d errno=%d", i, fd, o->level, o->name, rc,
	       rc ? errno : 0);
	if (rc == 0)
		show_get(buf, len);
	printf("\n");
}

static void op_bind_listen(int i)
{
	int s = (int)rnd(NSLOTS);
	int fd = slots[s];
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t len;
	int fam = -1;
	socklen_t fl = sizeof(fam);
	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &fam, &fl);
	if (fam == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	}
	int rc = bind(fd, (struct sockaddr *)&ss, len);
	int e1 = rc ? errno : 0;
	int rc2 = listen(fd, (int)rnd(5));
	int e2 = rc2 ? errno : 0;
	if (rc2 == 0) {
		socklen_t l = sizeof(listen_addr[s]);
		getsockname(fd, (struct sockaddr *)&listen_addr[s], &l);
	}
	printf("%d bind+listen(%d) = %d/%d errno=%d/%d\n", i, fd, rc, rc2, e1, e2);
}

static void op_connect(int i)
{
	int fd = pick_fd();
	int target = (int)rnd(NSLOTS);
	struct sockaddr_storage *a = &listen_addr[target];
	socklen_t len = a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						 : sizeof(struct sockaddr_in);
	/* Non-blocking: a listener with a full backlog would otherwise hold a blocking connect
	 * for seconds of SYN retries (both runs do the same, so traces still compare). */
	if (fd >= 0 && fd != 999)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	errno = 0;
	int rc = connect(fd, (struct sockaddr *)a, len);
	int e = rc ? errno : 0;
	if (e == EINPROGRESS)
		usleep(2000);
	printf("%d connect(%d -> slot %d) = %d errno=%d\n", i, fd, target, rc, e);
}

static void op_dup2_close(int i)
{
	int s = (int)rnd(NSLOTS), t = (int)rnd(NSLOTS);
	if (rnd(2) && slots[s] >= 0 && slots[t] >= 0 && s != t) {
		int rc = dup2(slots[s], slots[t]);
		printf("%d dup2(%d,%d) = %d\n", i, slots[s], slots[t], rc);
		return;
	}
	if (rnd(3) == 0 && slots[s] >= 0 && s != t) {
		/* dup() and fcntl(F_DUPFD*) into slot t: the new fd names the same socket. */
		if (slots[t] >= 0)
			close(slots[t]);
		int how = (int)rnd(3);
		slots[t] = how == 0 ? dup(slots[s])
			   : fcntl(slots[s], how == 1 ? F_DUPFD : F_DUPFD_CLOEXEC, (int)rnd(20));
		listen_addr[t] = listen_addr[s];
		printf("%d dup#%d(%d) = %d\n", i, how, slots[s], slots[t]);
		return;
	}
	int rc = close(slots[s]);
	printf("%d close(%d) = %d errno=%d\n", i, slots[s], rc, rc ? errno : 0);
	slots[s] = -1;
	memset(&listen_addr[s], 0, sizeof(listen_addr[s]));
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: hook_fuzz SEED OPS\n");
		return 2;
	}
	state = strtoull(argv[1], NULL, 10) * 2654435761u + 1;
	int ops = atoi(argv[2]);
	for (int s = 0; s < NSLOTS; s++)
		slots[s] = -1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < ops; i++) {
		switch (rnd(10)) {
		case 0:
		case 1:
			op_socket(i);
			break;
		case 2:
		case 3:
		case 4:
			op_setsockopt(i);
			break;
		case 5:
		case 6:
			op_getsockopt(i);
			break;
		case 7:
			op_bind_listen(i);
			break;
		case 8:
			op_connect(i);
			break;
		default:
			op_dup2_close(i);
		}
	}
	return 0;
}
