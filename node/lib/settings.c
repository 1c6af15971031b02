/* The cluster settings: the table every other part of Tegu (teguctl, the
 * admin API, tegu.conf [settings], the daemons) reads to know which
 * settings exist and what values they accept, the normalisation that keeps
 * stored values in one canonical form, and the rwlock-protected store of the
 * values a node currently runs with.
 */
#include "lib/settings.h"

#include "lib/utf8.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bounds on what we store: a string (or one list entry) is one line, so a
 * path or a host name; a whole list stays small enough to send to every
 * node and to show in a web form. */
#define SETTINGS_LINE_MAX 4096
#define SETTINGS_LIST_MAX (256 * 1024)

/* One row per setting, in the manual's order. `manual` is the section as
 * printed in the manual: the manual numbers 6.2.1.15-6.2.1.24 twice (its own
 * cross-references use those numbers), so the repeats are kept as written.
 * httpPort and httpsPort cite the sections that give their defaults;
 * settings the manual does not describe have an empty `manual`.
 * Listen addresses and ports are bound once at start-up, hence restart. */
const struct setting_def settings_table[] = {
    {
	.name = "serverName",
	.type = SETTING_STRING,
	.default_value = "",
	.label = "Server name (used in banner and HELO/EHLO)",
	.manual = "6.2.1.1",
	.help_ru = "Имя сервера в приветствии SMTP и в HELO/EHLO. Пусто — имя хоста.",
	.help_en = "Name shown in the SMTP banner and in HELO/EHLO. Empty means the host name.",
    },
    {
	.name = "fullAllowedIps",
	.type = SETTING_LIST,
	.default_value = "",
	.label = "Full allowed IPs (one per line)",
	.manual = "6.2.1.2",
	.help_ru = "IP-адреса, с которых почта принимается без авторизации, по одному в "
		   "строке. Снижает защищённость: только для устройств без авторизации, "
		   "например сканеров.",
	.help_en = "IP addresses that may send mail without authentication, one per line. "
		   "This weakens security: use it only for devices that cannot "
		   "authenticate, such as scanners.",
    },
    {
	.name = "allowEmptySenderForFullAllowed",
	.type = SETTING_BOOL,
	.default_value = "false",
	.label = "Allow empty sender email for full-allowed IPs",
	.manual = "6.2.1.3",
	.help_ru = "Разрешить адресам с полным доступом отправлять почту с пустым MAIL FROM "
		   "(обычно нужно оборудованию).",
	.help_en = "Let fully allowed IPs send mail with an empty MAIL FROM (usually needed "
		   "by devices).",
    },
    {
	.name = "smtpListenIp",
	.type = SETTING_STRING,
	.default_value = "0.0.0.0",
	.restart = true,
	.label = "IP SMTP server listen on",
	.manual = "6.2.1.4",
	.help_ru = "Адрес интерфейса сервера SMTP; 0.0.0.0 — все интерфейсы.",
	.help_en = "Interface address of the SMTP server; 0.0.0.0 means all interfaces.",
    },
    {
	.name = "smtpPort",
	.type = SETTING_INT,
	.default_value = "25",
	.min = 1,
	.max = 65535,
	.restart = true,
	.label = "Port SMTP server listen on",
	.manual = "6.2.1.5",
	.help_ru = "Порт сервера SMTP.",
	.help_en = "Port of the SMTP server.",
    },
    {
	.name = "submissionPort",
	.type = SETTING_INT,
	.default_value = "587",
	.min = 1,
	.max = 65535,
	.restart = true,
	.label = "Port SMTP submission server listen on",
	.manual = "",
	.help_ru = "Порт, на который почтовые клиенты отправляют письма (submission).",
	.help_en = "Port where mail clients submit outgoing mail (submission).",
    },
    {
	.name = "smtpsPort",
	.type = SETTING_INT,
	.default_value = "465",
	.min = 1,
	.max = 65535,
	.restart = true,
	.label = "Port SMTPS (SSL) server listen on",
	.manual = "6.2.1.6",
	.help_ru = "Порт SMTP через SSL; работает, если файлы сертификата и ключа есть и "
		   "читаются.",
	.help_en = "Port of SMTP over SSL; active only when the certificate and key files "
		   "exist and are readable.",
    },
    {
	.name = "smtpMaxConnections",
	.type = SETTING_INT,
	.default_value = "100",
	.min = 1,
	.max = 100000,
	.label = "Max number of simultaneous SMTP connections",
	.manual = "6.2.1.7",
	.help_ru = "Наибольшее число одновременных подключений SMTP.",
	.help_en = "Largest number of simultaneous SMTP connections.",
    },
    {
	.name = "lmtpEnabled",
	.type = SETTING_BOOL,
	.default_value = "false",
	.restart = true,
	.label = "Enable LMTP delivery (IMAP server starts otherwise. Restart required)",
	.manual = "6.2.1.8",
	.help_ru = "Доставлять почту по LMTP (например, во внешний Dovecot) вместо "
		   "встроенного сервера IMAP. Нужен перезапуск.",
	.help_en = "Deliver mail over LMTP (for example to an external Dovecot) instead of "
		   "running the built-in IMAP server. Needs a restart.",
    },
    {
	/* Connected to per delivery, so no restart. */
	.name = "lmtpHost",
	.type = SETTING_STRING,
	.default_value = "",
	.label = "LMTP host connect to",
	.manual = "6.2.1.9",
	.help_ru = "Хост, которому доставляется почта по LMTP.",
	.help_en = "Host that receives mail over LMTP.",
    },
    {
	.name = "lmtpPort",
	.type = SETTING_INT,
	.default_value = "24",
	.min = 1,
	.max = 65535,
	.label = "LMTP port connect to",
	.manual = "6.2.1.10",
	.help_ru = "Порт LMTP на этом хосте.",
	.help_en = "LMTP port on that host.",
    },
    {
	.name = "imapListenIp",
	.type = SETTING_STRING,
	.default_value = "0.0.0.0",
	.restart = true,
	.label = "IP IMAP server listen on",
	.manual = "6.2.1.11",
	.help_ru = "Адрес сервера IMAP; 0.0.0.0 — все адреса.",
	.help_en = "Address of the IMAP server; 0.0.0.0 means all addresses.",
    },
    {
	.name = "imapPort",
	.type = SETTING_INT,
	.default_value = "143",
	.min = 1,
	.max = 65535,
	.restart = true,
	.label = "Port IMAP server listen on",
	.manual = "6.2.1.12",
	.help_ru = "Порт сервера IMAP.",
	.help_en = "Port of the IMAP server.",
    },
    {
	.name = "imapsPort",
	.type = SETTING_INT,
	.default_value = "993",
	.min = 1,
	.max = 65535,
	.restart = true,
	.label = "Port IMAPS (SSL) server listen on",
	.manual = "6.2.1.13",
	.help_ru = "Порт сервера IMAPS (IMAP через SSL).",
	.help_en = "Port of the IMAPS (IMAP over SSL) server.",
    },
    {
	.name = "imapMaxConnections",
	.type = SETTING_INT,
	.default_value = "1000",
	.min = 1,
	.max = 1000000,
	.label = "Max number of simultaneous IMAP connections",
	.manual = "6.2.1.14",
	.help_ru = "Наибольшее число одновременных подключений IMAP.",
	.help_en = "Largest number of simultaneous IMAP connections.",
    },
    {
	.name = "inboxCanonicalName",
	.type = SETTING_STRING,
	.default_value = "Входящие",
	.label = "Canonical name for INBOX (show in WEB panel)",
	.manual = "6.2.1.15",
	.help_ru = "Как показывать папку INBOX в веб-панели.",
	.help_en = "Name shown for the INBOX folder in the web panel.",
    },
    {
	.name = "messageSizeMb",
	.type = SETTING_INT,
	.default_value = "30",
	.min = 1,
	.max = 2048,
	.label = "Message size in MB",
	.manual = "6.2.1.16",
	.help_ru = "Наибольший размер принимаемого письма, в мегабайтах.",
	.help_en = "Largest message accepted, in megabytes.",
    },
    {
	.name = "dataDir",
	.type = SETTING_STRING,
	.default_value = "/opt/tegu/data",
	.restart = true,
	.label = "Directory for work data",
	.manual = "6.2.1.17",
	.help_ru = "Рабочий каталог: оперативные глобальные настройки и очереди.",
	.help_en = "Working directory for runtime global settings and queues.",
    },
    {
	.name = "dkimDir",
	.type = SETTING_STRING,
	.default_value = "/opt/tegu/dkim",
	.label = "Directory for DKIM keys",
	.manual = "6.2.1.18",
	.help_ru = "Каталог закрытых ключей DKIM; открытый ключ публикуется в DNS.",
	.help_en = "Directory of the DKIM private keys; the public key is published in DNS.",
    },
    {
	.name = "dkimSelector",
	.type = SETTING_STRING,
	.default_value = "mail",
	.label = "DKIM selector",
	.manual = "6.2.1.19",
	.help_ru = "Селектор DKIM для подписи; должен совпадать с записью в DNS.",
	.help_en = "DKIM selector used for signing; must match the DNS record.",
    },
    {
	.name = "sslCertPath",
	.type = SETTING_STRING,
	.default_value = "/opt/tegu/certs/fullchain.pem",
	.label = "Path to SSL certificate",
	.manual = "6.2.1.20",
	.help_ru = "Путь к файлу сертификата SSL (открытый ключ с цепочкой).",
	.help_en = "Path to the SSL certificate file (public key and chain).",
    },
    {
	/* The manual prints the label as the default: a typo. */
	.name = "sslKeyPath",
	.type = SETTING_STRING,
	.default_value = "/opt/tegu/certs/privkey.pem",
	.label = "Path to SSL private key",
	.manual = "6.2.1.21",
	.help_ru = "Путь к файлу закрытого ключа SSL.",
	.help_en = "Path to the SSL private key file.",
    },
    {
	.name = "masterUserSeparator",
	.type = SETTING_STRING,
	.default_value = "*",
	.label = "Master-user login separator",
	.manual = "6.2.1.22",
	.help_ru = "Разделитель в логине при входе под мастер-пользователем.",
	.help_en = "Separator in the login name when signing in as a master user.",
    },
    {
	.name = "greylistIgnoreDomains",
	.type = SETTING_LIST,
	.default_value = "",
	.label = "Sender domains greylist ignore (one per line)",
	.manual = "6.2.1.23",
	.help_ru = "Домены отправителей, для которых GreyList не применяется, по одному в "
		   "строке.",
	.help_en = "Sender domains exempt from greylisting, one per line.",
    },
    {
	.name = "greylistLifetimeHours",
	.type = SETTING_INT,
	.default_value = "24",
	.min = 1,
	.max = 8760,
	.label = "Server/sender greylist record lifetime (hours)",
	.manual = "6.2.1.24",
	.help_ru = "Сколько часов хранится запись о сервере и отправителе в GreyList.",
	.help_en = "Hours a server/sender record stays in the greylist.",
    },
    {
	.name = "whitelistLifetimeHours",
	.type = SETTING_INT,
	.default_value = "720",
	.min = 1,
	.max = 87600,
	.label = "Server/sender whitelist record lifetime (hours)",
	.manual = "6.2.1.15",
	.help_ru = "Сколько часов хранится запись о сервере и отправителе в WhiteList.",
	.help_en = "Hours a server/sender record stays in the whitelist.",
    },
    {
	.name = "greylistCleanIntervalSec",
	.type = SETTING_INT,
	.default_value = "300",
	.min = 1,
	.max = 86400,
	.label = "Clean expired greylist records interval (seconds)",
	.manual = "6.2.1.16",
	.help_ru = "Как часто, в секундах, удаляются просроченные записи GreyList.",
	.help_en = "How often, in seconds, expired greylist records are removed.",
    },
    {
	.name = "dnsblThreshold",
	.type = SETTING_INT,
	.default_value = "3",
	.min = 1,
	.max = 100,
	.label = "DNSBL \"listed at\" threshold",
	.manual = "6.2.1.17",
	.help_ru = "Во скольких чёрных списках DNSBL должен найтись отправитель, чтобы "
		   "письмо было заблокировано. Ниже порога письмо доставляется, а в тему "
		   "добавляется x-blacklisted с перечнем списков.",
	.help_en = "Number of DNSBL lists a sender must appear in to be blocked. Below it "
		   "the message is delivered and x-blacklisted with the list names is added "
		   "to the subject.",
    },
    {
	.name = "dnsblZones",
	.type = SETTING_LIST,
	.default_value = "",
	.label = "DNSBL zones (one per line)",
	.manual = "",
	.help_ru = "Зоны DNSBL, которые опрашиваются, по одной в строке.",
	.help_en = "DNSBL zones to query, one per line.",
    },
    {
	.name = "authSecurityEnabled",
	.type = SETTING_BOOL,
	.default_value = "true",
	.label = "Enable authentication security",
	.manual = "6.2.1.18",
	.help_ru = "Блокировать IP-адреса после ошибок авторизации (SMTP, IMAP и HTTP).",
	.help_en = "Ban IP addresses after failed authentication (SMTP, IMAP and HTTP).",
    },
    {
	.name = "failedAuthLifetimeMin",
	.type = SETTING_INT,
	.default_value = "60",
	.min = 1,
	.max = 525600,
	.label = "Failed auth record lifetime (minutes)",
	.manual = "6.2.1.19",
	.help_ru = "Сколько минут учитывается неудачная попытка авторизации.",
	.help_en = "Minutes a failed authentication attempt is counted.",
    },
    {
	.name = "banTimeMin",
	.type = SETTING_INT,
	.default_value = "60",
	.min = 1,
	.max = 525600,
	.label = "Ban time (minutes)",
	.manual = "6.2.1.20",
	.help_ru = "На сколько минут блокируется IP-адрес.",
	.help_en = "Minutes an IP address stays banned.",
    },
    {
	.name = "maxFailedAuth",
	.type = SETTING_INT,
	.default_value = "3",
	.min = 1,
	.max = 1000,
	.label = "Max failed authentication attempts",
	.manual = "6.2.1.21",
	.help_ru = "Сколько ошибок авторизации допускается до блокировки адреса.",
	.help_en = "Failed authentication attempts allowed before an address is banned.",
    },
    {
	.name = "spfBlockFail",
	.type = SETTING_BOOL,
	.default_value = "true",
	.label = "Block senders with SPF fail result",
	.manual = "6.2.1.22",
	.help_ru = "Отклонять отправителей, не прошедших проверку SPF. Отключают ради "
		   "оборудования, которое её не проходит.",
	.help_en = "Reject senders whose SPF check fails. Turned off for devices that "
		   "cannot pass it.",
    },
    {
	.name = "greylistEnabled",
	.type = SETTING_BOOL,
	.default_value = "true",
	.label = "Enable Greylist",
	.manual = "6.2.1.23",
	.help_ru = "Включить GreyList.",
	.help_en = "Enable greylisting.",
    },
    {
	.name = "smtpListsEnabled",
	.type = SETTING_BOOL,
	.default_value = "true",
	.label = "Enable SMTP ip/sender whitelist/blacklist",
	.manual = "6.2.1.24",
	.help_ru = "Включить белые и чёрные списки IP-адресов и отправителей SMTP.",
	.help_en = "Enable the SMTP IP and sender whitelists and blacklists.",
    },
    {
	.name = "dnsblEnabled",
	.type = SETTING_BOOL,
	.default_value = "true",
	.label = "Enable DNSBL checks",
	.manual = "6.2.1.25",
	.help_ru = "Включить проверку отправителей по DNSBL.",
	.help_en = "Enable DNSBL checks of senders.",
    },
    {
	.name = "logSessions",
	.type = SETTING_BOOL,
	.default_value = "false",
	.label = "Log session (IMAP/SMTP) start and finish",
	.manual = "6.2.1.26",
	.help_ru = "Записывать в журнал начало и конец сессий IMAP и SMTP.",
	.help_en = "Log the start and end of IMAP and SMTP sessions.",
    },
    {
	.name = "imapPlaintextAuth",
	.type = SETTING_BOOL,
	.default_value = "false",
	.label = "Allow IMAP passwords without TLS",
	.manual = "",
	.help_ru = "Разрешить вход IMAP (LOGIN, AUTHENTICATE PLAIN) без TLS. Только для "
		   "доверенных сетей.",
	.help_en = "Allow IMAP logins (LOGIN, AUTHENTICATE PLAIN) without TLS. For trusted "
		   "networks only.",
    },
    {
	.name = "queueBatchSize",
	.type = SETTING_INT,
	.default_value = "100",
	.min = 1,
	.max = 10000,
	.label = "Number of messages processed per pass",
	.manual = "6.2.6.1.7",
	.help_ru = "Сколько писем нода берёт из очереди за одно обращение к базе.",
	.help_en = "Messages a node takes from the queue in one database round trip.",
    },
    {
	.name = "queueLeaseSeconds",
	.type = SETTING_INT,
	.default_value = "300",
	.min = 5,
	.max = 86400,
	.label = "Queue claim lease (seconds)",
	.manual = "",
	.help_ru = "Сколько секунд запись очереди закреплена за нодой, взявшей её; "
		   "после этого её берёт другая нода (если первая упала).",
	.help_en = "How long a node holds a queue entry it claimed; after that another "
		   "node takes it (when the first one died).",
    },
    {
	.name = "httpPort",
	.type = SETTING_INT,
	.default_value = "8888",
	.min = 1,
	.max = 65535,
	.restart = true,
	.label = "Port HTTP admin server listen on",
	.manual = "2.3",
	.help_ru = "Порт веб-панели администратора по HTTP.",
	.help_en = "Port of the admin web panel over HTTP.",
    },
    {
	.name = "httpsPort",
	.type = SETTING_INT,
	.default_value = "9999",
	.min = 1,
	.max = 65535,
	.restart = true,
	.label = "Port HTTPS admin server listen on",
	.manual = "6.1",
	.help_ru = "Порт веб-панели администратора по HTTPS.",
	.help_en = "Port of the admin web panel over HTTPS.",
    },
    {
	.name = "httpListenIp",
	.type = SETTING_STRING,
	.default_value = "0.0.0.0",
	.restart = true,
	.label = "IP HTTP admin server listen on",
	.manual = "",
	.help_ru = "Адрес веб-панели администратора; 0.0.0.0 — все адреса.",
	.help_en = "Address of the admin web panel; 0.0.0.0 means all addresses.",
    },
};

#define SETTINGS_COUNT (sizeof(settings_table) / sizeof(settings_table[0]))
const unsigned settings_count = SETTINGS_COUNT;

struct settings_slot {
	char *value;
	bool overridden;
};

struct settings_values {
	pthread_rwlock_t lock;
	/* indexed like settings_table */
	struct settings_slot slots[];
};

static void *xmalloc(size_t size)
{
	void *p = malloc(size);

	if (p == NULL)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		abort();
	return p;
}

/* The messages name the setting, so they need per-call storage; thread-local
 * keeps concurrent writers (API, teguctl sync) from clobbering each other. */
static const char *settings_error(const struct setting_def *def, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static _Thread_local char settings_error_buf[256];

static const char *settings_error(const struct setting_def *def, const char *fmt, ...)
{
	va_list args;
	int n;

	n = snprintf(settings_error_buf, sizeof(settings_error_buf), "%s: ", def->name);
	if (n < 0 || (size_t)n >= sizeof(settings_error_buf))
		return settings_error_buf;
	va_start(args, fmt);
	vsnprintf(settings_error_buf + n, sizeof(settings_error_buf) - (size_t)n, fmt, args);
	va_end(args);
	return settings_error_buf;
}

const struct setting_def *settings_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (unsigned i = 0; i < settings_count; i++) {
		if (strcmp(settings_table[i].name, name) == 0)
			return &settings_table[i];
	}
	return NULL;
}

/* '\n' only matters for booleans and integers: list entries are already
 * split on it, and strings are not trimmed. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trims [*start, *end) in place. */
static void trim(const char **start, const char **end)
{
	while (*start < *end && is_blank(**start))
		(*start)++;
	while (*end > *start && is_blank((*end)[-1]))
		(*end)--;
}

/* Values end up in SMTP banners, IMAP responses, JSON and HTML, so a line
 * must be valid UTF-8 without control characters (tab aside). Rejects
 * overlong forms, surrogates and code points above U+10FFFF. */
static bool line_is_clean(const char *start, const char *end)
{
	for (const char *p = start; p < end; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return utf8_valid(start, (size_t)(end - start));
}

static int normalize_bool(const struct setting_def *def, const char *value, char **normalized_r,
			  const char **error_r)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	const char *start = value, *end = value + strlen(value);
	size_t len;

	trim(&start, &end);
	len = (size_t)(end - start);
	for (unsigned i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strlen(yes[i]) == len && strncasecmp(start, yes[i], len) == 0) {
			*normalized_r = xstrdup("true");
			return 0;
		}
		if (strlen(no[i]) == len && strncasecmp(start, no[i], len) == 0) {
			*normalized_r = xstrdup("false");
			return 0;
		}
	}
	*error_r = settings_error(def, "expected true or false");
	return -1;
}

/* By hand rather than strtoll, so the accepted syntax is exactly an
 * optional sign and decimal digits: "", "+", " 1 2", "1e3" and "0x10" fail. */
static int normalize_int(const struct setting_def *def, const char *value, char **normalized_r,
			 const char **error_r)
{
	const char *start = value, *end = value + strlen(value);
	bool negative = false;
	uint64_t magnitude = 0;
	int64_t n;
	char buf[32];

	trim(&start, &end);
	if (start < end && (*start == '-' || *start == '+')) {
		negative = *start == '-';
		start++;
	}
	if (start == end) {
		*error_r = settings_error(def, "expected an integer");
		return -1;
	}
	for (const char *p = start; p < end; p++) {
		if (*p < '0' || *p > '9') {
			*error_r = settings_error(def, "expected an integer");
			return -1;
		}
		/* Anything past INT64_MAX is out of range for every setting. */
		if (magnitude > ((uint64_t)INT64_MAX - (uint64_t)(*p - '0')) / 10) {
			*error_r = settings_error(def, "must be between %lld and %lld",
						  (long long)def->min, (long long)def->max);
			return -1;
		}
		magnitude = magnitude * 10 + (uint64_t)(*p - '0');
	}
	n = negative ? -(int64_t)magnitude : (int64_t)magnitude;
	if (n < def->min || n > def->max) {
		*error_r = settings_error(def, "must be between %lld and %lld", (long long)def->min,
					  (long long)def->max);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%lld", (long long)n);
	*normalized_r = xstrdup(buf);
	return 0;
}

static int normalize_string(const struct setting_def *def, const char *value, char **normalized_r,
			    const char **error_r)
{
	size_t len = strlen(value);

	if (strpbrk(value, "\r\n") != NULL) {
		*error_r = settings_error(def, "must be a single line");
		return -1;
	}
	if (len > SETTINGS_LINE_MAX) {
		*error_r = settings_error(def, "longer than %d bytes", SETTINGS_LINE_MAX);
		return -1;
	}
	if (!line_is_clean(value, value + len)) {
		*error_r = settings_error(def, "control characters or invalid UTF-8");
		return -1;
	}
	*normalized_r = xstrdup(value);
	return 0;
}

static int normalize_list(const struct setting_def *def, const char *value, char **normalized_r,
			  const char **error_r)
{
	size_t len = strlen(value);
	const char *p = value, *end = value + len;
	char *out, *o;

	if (len > SETTINGS_LIST_MAX) {
		*error_r = settings_error(def, "longer than %d bytes", SETTINGS_LIST_MAX);
		return -1;
	}
	/* The result is never longer than the input. */
	out = o = xmalloc(len + 1);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl != NULL ? nl : end;
		const char *s = p, *e = line_end;

		p = nl != NULL ? nl + 1 : end;
		trim(&s, &e);
		if (s == e)
			continue;
		if ((size_t)(e - s) > SETTINGS_LINE_MAX) {
			free(out);
			*error_r = settings_error(def, "an entry is longer than %d bytes",
						  SETTINGS_LINE_MAX);
			return -1;
		}
		if (!line_is_clean(s, e)) {
			free(out);
			*error_r = settings_error(def, "control characters or invalid UTF-8");
			return -1;
		}
		if (o != out)
			*o++ = '\n';
		memcpy(o, s, (size_t)(e - s));
		o += e - s;
	}
	*o = '\0';
	*normalized_r = out;
	return 0;
}

int settings_normalize(const struct setting_def *def, const char *value, char **normalized_r,
		       const char **error_r)
{
	if (value == NULL) {
		*error_r = settings_error(def, "no value");
		return -1;
	}
	switch (def->type) {
	case SETTING_BOOL:
		return normalize_bool(def, value, normalized_r, error_r);
	case SETTING_INT:
		return normalize_int(def, value, normalized_r, error_r);
	case SETTING_STRING:
		return normalize_string(def, value, normalized_r, error_r);
	case SETTING_LIST:
		return normalize_list(def, value, normalized_r, error_r);
	}
	abort();
}

static char *default_value(const struct setting_def *def)
{
	const char *error;
	char *value;

	/* A default that fails its own rules is a bug in the table. */
	if (settings_normalize(def, def->default_value, &value, &error) < 0)
		abort();
	return value;
}

struct settings_values *settings_values_create(void)
{
	struct settings_values *values;
	pthread_rwlockattr_t attr;

	values = xmalloc(sizeof(*values) + settings_count * sizeof(values->slots[0]));
	if (pthread_rwlockattr_init(&attr) != 0)
		abort();
#ifdef __GLIBC__
	/* glibc prefers readers by default; with a steady stream of readers a
	 * settings reload could wait indefinitely. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	if (pthread_rwlock_init(&values->lock, &attr) != 0)
		abort();
	pthread_rwlockattr_destroy(&attr);
	for (unsigned i = 0; i < settings_count; i++) {
		values->slots[i].value = default_value(&settings_table[i]);
		values->slots[i].overridden = false;
	}
	return values;
}

void settings_values_destroy(struct settings_values **values_p)
{
	struct settings_values *values = *values_p;

	if (values == NULL)
		return;
	*values_p = NULL;
	for (unsigned i = 0; i < settings_count; i++)
		free(values->slots[i].value);
	pthread_rwlock_destroy(&values->lock);
	free(values);
}

static void wrlock(struct settings_values *values)
{
	if (pthread_rwlock_wrlock(&values->lock) != 0)
		abort();
}

static void rdlock(struct settings_values *values)
{
	if (pthread_rwlock_rdlock(&values->lock) != 0)
		abort();
}

static void unlock(struct settings_values *values)
{
	if (pthread_rwlock_unlock(&values->lock) != 0)
		abort();
}

/* Normalises outside the lock and swaps the pointer inside it, so writers
 * hold the lock only for a few instructions. */
static int values_store(struct settings_values *values, const char *name, const char *value,
			bool override, const char **error_r)
{
	const struct setting_def *def = settings_find(name);
	struct settings_slot *slot;
	char *normalized, *old;

	if (def == NULL) {
		snprintf(settings_error_buf, sizeof(settings_error_buf), "%s: unknown setting",
			 name != NULL ? name : "(null)");
		*error_r = settings_error_buf;
		return -1;
	}
	if (settings_normalize(def, value, &normalized, error_r) < 0)
		return -1;
	slot = &values->slots[def - settings_table];
	wrlock(values);
	if (slot->overridden && !override) {
		/* tegu.conf wins for this node; the database value is valid
		 * but not ours to apply. */
		old = normalized;
	} else {
		old = slot->value;
		slot->value = normalized;
		if (override)
			slot->overridden = true;
	}
	unlock(values);
	free(old);
	return 0;
}

int settings_values_set(struct settings_values *values, const char *name, const char *value,
			const char **error_r)
{
	return values_store(values, name, value, false, error_r);
}

int settings_values_override(struct settings_values *values, const char *name, const char *value,
			     const char **error_r)
{
	return values_store(values, name, value, true, error_r);
}

void settings_values_reset(struct settings_values *values)
{
	char *fresh[SETTINGS_COUNT];

	for (unsigned i = 0; i < settings_count; i++)
		fresh[i] = default_value(&settings_table[i]);
	wrlock(values);
	for (unsigned i = 0; i < settings_count; i++) {
		if (!values->slots[i].overridden) {
			char *old = values->slots[i].value;

			values->slots[i].value = fresh[i];
			fresh[i] = old;
		}
	}
	unlock(values);
	/* Now holds the replaced values and the unused defaults. */
	for (unsigned i = 0; i < settings_count; i++)
		free(fresh[i]);
}

static const struct setting_def *find_or_abort(const char *name)
{
	const struct setting_def *def = settings_find(name);

	if (def == NULL) {
		fprintf(stderr, "settings: unknown setting \"%s\"\n", name);
		abort();
	}
	return def;
}

bool settings_values_is_overridden(struct settings_values *values, const char *name)
{
	const struct setting_def *def = settings_find(name);
	bool overridden;

	if (def == NULL)
		return false;
	rdlock(values);
	overridden = values->slots[def - settings_table].overridden;
	unlock(values);
	return overridden;
}

bool settings_get_bool(struct settings_values *values, const char *name)
{
	const struct setting_def *def = find_or_abort(name);
	bool result;

	if (def->type != SETTING_BOOL)
		abort();
	rdlock(values);
	result = strcmp(values->slots[def - settings_table].value, "true") == 0;
	unlock(values);
	return result;
}

int64_t settings_get_int(struct settings_values *values, const char *name)
{
	const struct setting_def *def = find_or_abort(name);
	long long result;

	if (def->type != SETTING_INT)
		abort();
	rdlock(values);
	/* Stored values are normalised, so this cannot fail. */
	result = strtoll(values->slots[def - settings_table].value, NULL, 10);
	unlock(values);
	return result;
}

char *settings_get_string(struct settings_values *values, const char *name, char *buf,
			  unsigned size)
{
	const struct setting_def *def = find_or_abort(name);
	const char *value;
	size_t len;

	if (size == 0)
		return buf;
	rdlock(values);
	value = values->slots[def - settings_table].value;
	len = strlen(value);
	if (len >= size)
		len = size - 1;
	memcpy(buf, value, len);
	buf[len] = '\0';
	unlock(values);
	return buf;
}
