/* See netaddr.h. */
#include "lib/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The peer as 16 octets, IPv4 as IPv4-mapped IPv6, so one compare serves both. */
static bool peer_bytes(const struct sockaddr_storage *peer, unsigned char out[16])
{
	if (peer->ss_family == AF_INET) {
		static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		memcpy(out, prefix, 12);
		memcpy(out + 12, &((const struct sockaddr_in *)peer)->sin_addr, 4);
		return true;
	}
	if (peer->ss_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
		return true;
	}
	return false;
}

static bool network_matches(const unsigned char addr[16], const char *line, size_t len)
{
	char text[64];
	if (len == 0 || len >= sizeof(text))
		return false;
	memcpy(text, line, len);
	text[len] = '\0';
	char *slash = strchr(text, '/');
	long prefix = -1;
	if (slash) {
		*slash = '\0';
		char *end;
		prefix = strtol(slash + 1, &end, 10);
		if (*end != '\0' || slash[1] == '\0')
			return false;
	}
	unsigned char net[16];
	if (inet_pton(AF_INET, text, net + 12) == 1) {
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		memcpy(net, mapped, 12);
		if (prefix > 32)
			return false;
		prefix = prefix < 0 ? 128 : prefix + 96;
	} else if (inet_pton(AF_INET6, text, net) == 1) {
		if (prefix > 128)
			return false;
		if (prefix < 0)
			prefix = 128;
	} else {
		return false;
	}
	for (long bit = 0; bit < prefix; bit++) {
		unsigned char mask = (unsigned char)(0x80 >> (bit % 8));
		if ((addr[bit / 8] & mask) != (net[bit / 8] & mask))
			return false;
	}
	return true;
}

bool netaddr_in_list(const struct sockaddr_storage *peer, const char *list)
{
	unsigned char addr[16];
	if (list == NULL || !peer_bytes(peer, addr))
		return false;
	const char *p = list;
	while (*p) {
		size_t len = strcspn(p, "\n");
		const char *line = p;
		size_t trimmed = len;
		while (trimmed > 0 && (line[0] == ' ' || line[0] == '\t')) {
			line++;
			trimmed--;
		}
		while (trimmed > 0 && (line[trimmed - 1] == ' ' || line[trimmed - 1] == '\t' ||
				       line[trimmed - 1] == '\r'))
			trimmed--;
		if (network_matches(addr, line, trimmed))
			return true;
		p += len;
		if (*p == '\n')
			p++;
	}
	return false;
}

void netaddr_format(const struct sockaddr_storage *peer, char *buf, unsigned size)
{
	const void *addr = peer->ss_family == AF_INET
			       ? (const void *)&((const struct sockaddr_in *)peer)->sin_addr
			       : (const void *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
	if ((peer->ss_family != AF_INET && peer->ss_family != AF_INET6) ||
	    inet_ntop(peer->ss_family, addr, buf, size) == NULL)
		snprintf(buf, size, "unknown");
}
