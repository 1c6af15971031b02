/* IP addresses and networks as admins write them in settings ("10.0.0.5",
 * "192.168.0.0/16", "2001:db8::/32"), matched against a peer address. */
#ifndef TEGU_NETADDR_H
#define TEGU_NETADDR_H

#include <stdbool.h>
#include <sys/socket.h>

/* True when peer (IPv4, IPv6 or IPv4-mapped IPv6) is inside one of the
 * networks listed one per line in list. Malformed lines never match. */
bool netaddr_in_list(const struct sockaddr_storage *peer, const char *list);

/* Writes the peer's address without port ("192.0.2.1", "2001:db8::1"). */
void netaddr_format(const struct sockaddr_storage *peer, char *buf, unsigned size);

#endif
