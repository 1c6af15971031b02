/* RFC 5322 dates (section 3.3, and the obsolete forms of section 4.3) as
 * seconds since the epoch, for IMAP SEARCH SENTBEFORE/SENTON/SENTSINCE.
 * Declared in mail-text.h.
 *
 * The arithmetic is done here rather than with timegm(), whose result
 * depends on the C library's idea of time zones and which is not
 * required to handle years far from now.
 */
#include "mail/mail-text.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

struct date_lex {
	const char *s;
	size_t len, pos;
};

/* Blanks, line ends (folding) and comments, which nest and may hold
 * quoted-pairs. An unclosed comment runs to the end. */
static void skip_cfws(struct date_lex *l)
{
	while (l->pos < l->len) {
		char c = l->s[l->pos];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			l->pos++;
			continue;
		}
		if (c != '(')
			return;
		size_t depth = 0;
		while (l->pos < l->len) {
			c = l->s[l->pos++];
			if (c == '\\' && l->pos < l->len)
				l->pos++;
			else if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				break;
		}
	}
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* min..max digits, not followed by another digit. */
static bool read_number(struct date_lex *l, unsigned min, unsigned max, unsigned *value_r,
			unsigned *digits_r)
{
	unsigned v = 0, n = 0;

	while (l->pos < l->len && is_digit(l->s[l->pos])) {
		if (n == max)
			return false;
		v = v * 10 + (unsigned)(l->s[l->pos++] - '0');
		n++;
	}
	if (n < min)
		return false;
	*value_r = v;
	if (digits_r != NULL)
		*digits_r = n;
	return true;
}

/* A run of letters, at most max of them; its length, 0 if none or too long. */
static size_t read_word(struct date_lex *l, size_t max, const char **word_r)
{
	size_t start = l->pos;

	while (l->pos < l->len && is_alpha(l->s[l->pos]))
		l->pos++;
	*word_r = l->s + start;
	return l->pos - start <= max ? l->pos - start : 0;
}

/* The index of the word in the list (case-insensitive), or -1. */
static int lookup(const char *word, size_t len, const char *const *list, int count)
{
	for (int i = 0; i < count; i++) {
		if (strlen(list[i]) == len && strncasecmp(word, list[i], len) == 0)
			return i;
	}
	return -1;
}

static bool read_char(struct date_lex *l, char c)
{
	skip_cfws(l);
	if (l->pos < l->len && l->s[l->pos] == c) {
		l->pos++;
		return true;
	}
	return false;
}

/* RFC 5322 sections 3.3 and 4.3; RFC 5322 says what is not known SHOULD
 * be taken as -0000, which has the offset 0. */
static bool read_zone(struct date_lex *l, int *zone_r)
{
	static const char *const names[] = {"UT",  "GMT", "EST", "EDT", "CST",
					    "CDT", "MST", "MDT", "PST", "PDT"};
	static const int hours[] = {0, 0, -5, -4, -6, -5, -7, -6, -8, -7};
	const char *word;
	unsigned hhmm, digits;

	skip_cfws(l);
	if (l->pos >= l->len) {
		/* No zone at all: against the RFC, but what some software
		 * writes; read as -0000 rather than losing the date. */
		*zone_r = 0;
		return true;
	}
	char c = l->s[l->pos];
	if (c == '+' || c == '-') {
		l->pos++;
		if (!read_number(l, 4, 4, &hhmm, &digits) || hhmm / 100 > 23 || hhmm % 100 > 59)
			return false;
		int zone = (int)(hhmm / 100 * 3600 + hhmm % 100 * 60);
		*zone_r = c == '-' ? -zone : zone;
		return true;
	}
	size_t len = read_word(l, 5, &word);
	if (len == 0)
		return false;
	int i = lookup(word, len, names, (int)(sizeof(names) / sizeof(names[0])));
	if (i >= 0) {
		*zone_r = hours[i] * 3600;
		return true;
	}
	/* Military zones: their signs were defined backwards in RFC 822,
	 * so RFC 5322 asks to take them as -0000. 'J' is not a zone. */
	if (len == 1 && word[0] != 'J' && word[0] != 'j') {
		*zone_r = 0;
		return true;
	}
	/* Other alphabetic zones (CEST, MSK, ...): RFC 5322 section 4.3. */
	if (len >= 3) {
		*zone_r = 0;
		return true;
	}
	return false;
}

static bool is_leap(unsigned y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static long long floor_div(long long a, long long b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar.
 * Years are counted from March, so the leap day is the last day of a
 * year: the days before a month then follow one linear formula, and the
 * leap days before a year are the usual y/4 - y/100 + y/400. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	long long yy = m <= 2 ? y - 1 : y;
	unsigned mm = m <= 2 ? m + 9 : m - 3; /* March is 0 */
	long long days = 365 * yy + floor_div(yy, 4) - floor_div(yy, 100) + floor_div(yy, 400) +
			 (153 * mm + 2) / 5 + d - 1;

	/* The same count for 1970-01-01. */
	return days - 719468;
}

int mail_text_parse_date(const char *value, size_t len, long long *time_r, int *zone_r)
{
	static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static const unsigned char month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	struct date_lex l = {.s = value, .len = len};
	unsigned day, year, digits, hour, minute, second = 0;
	const char *word;
	size_t wlen;
	int month, zone;

	skip_cfws(&l);
	if (l.pos < l.len && is_alpha(l.s[l.pos])) {
		/* The day of the week is not checked against the date: it
		 * is often wrong, and the date is what a search needs. */
		wlen = read_word(&l, 3, &word);
		if (lookup(word, wlen, days, 7) < 0)
			return -1;
		/* The comma is required; some software leaves it out. */
		read_char(&l, ',');
	}
	skip_cfws(&l);
	if (!read_number(&l, 1, 2, &day, NULL))
		return -1;
	skip_cfws(&l);
	wlen = read_word(&l, 3, &word);
	month = lookup(word, wlen, months, 12);
	if (month < 0)
		return -1;
	skip_cfws(&l);
	if (!read_number(&l, 2, 9, &year, &digits))
		return -1;
	/* Section 4.3: two digits are 1950-2049, three are from 1900. */
	if (digits == 2)
		year += year < 50 ? 2000 : 1900;
	else if (digits == 3)
		year += 1900;
	if (year > 9999)
		return -1;

	skip_cfws(&l);
	if (!read_number(&l, 1, 2, &hour, NULL) || !read_char(&l, ':'))
		return -1;
	skip_cfws(&l);
	if (!read_number(&l, 2, 2, &minute, NULL))
		return -1;
	if (read_char(&l, ':')) {
		skip_cfws(&l);
		if (!read_number(&l, 2, 2, &second, NULL))
			return -1;
	}
	if (!read_zone(&l, &zone))
		return -1;
	skip_cfws(&l);
	if (l.pos != l.len)
		return -1;

	unsigned mdays = month == 1 && is_leap(year) ? 29 : month_days[month];
	/* Second 60 is a leap second (section 3.3). */
	if (day < 1 || day > mdays || hour > 23 || minute > 59 || second > 60)
		return -1;
	*time_r = days_from_civil(year, (unsigned)month + 1, day) * 86400 + hour * 3600 +
		  minute * 60 + second - zone;
	*zone_r = zone;
	return 0;
}
