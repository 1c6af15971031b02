/* See mail-index.h: the parser, the structure cache and the text
 * extraction, run once per message. */
#include "mail/mail-index.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/arena.h"
#include "lib/offload.h"
#include "lib/strbuf.h"
#include "mail/mail-header.h"
#include "mail/mail-mime.h"
#include "mail/mail-structure-cache.h"
#include "mail/mail-text.h"

static const char *sent_date(struct arena *arena, const struct mail_structure *st)
{
	const struct mail_envelope *env = st->envelope;
	long long when;
	int zone;

	if (env == NULL || env->date == NULL ||
	    mail_text_parse_date(env->date, strlen(env->date), &when, &zone) < 0)
		return NULL;
	time_t t = (time_t)when;
	struct tm tm;
	if ((long long)t != when || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1 ||
	    tm.tm_year + 1900 > 9999)
		return NULL;
	return arena_printf(arena, "%04d-%02d-%02d %02d:%02d:%02d+00", tm.tm_year + 1900,
			    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int mail_index_build(struct arena *arena, const char *data, size_t size, struct mail_index *index_r,
		     const char **error_r)
{
	struct mail_structure *st;

	memset(index_r, 0, sizeof(*index_r));
	if (mail_structure_parse(arena, data, size, NULL, &st, error_r) < 0)
		return -1;
	index_r->structure = mail_structure_cache_pack(arena, st, &index_r->structure_len);
	const char **fields;
	index_r->header_field_count = mail_text_header_fields(arena, st, data, &fields);
	index_r->header_fields = fields;

	struct strbuf text = {0};
	mail_text_body(&text, st, data);
	index_r->text = arena_strndup(arena, text.data != NULL ? text.data : "",
				      mail_text_utf8_cut(text.data, text.len, MAIL_INDEX_MAX_TEXT));
	strbuf_free(&text);

	index_r->sent_date = sent_date(arena, st);
	index_r->problem = st->problem;
	return 0;
}

struct index_job {
	struct arena *arena;
	const char *data;
	size_t size;
	struct mail_index *index;
	int ret;
	const char *error;
};

static void index_job_run(void *arg)
{
	struct index_job *job = arg;
	job->ret = mail_index_build(job->arena, job->data, job->size, job->index, &job->error);
}

int mail_index_build_in_fiber(struct arena *arena, const char *data, size_t size,
			      struct mail_index *index_r, const char **error_r)
{
	struct index_job job = {.arena = arena, .data = data, .size = size, .index = index_r};
	if (size >= MAIL_INDEX_OFFLOAD_SIZE)
		offload_run(index_job_run, &job);
	else
		index_job_run(&job);
	if (job.ret < 0)
		*error_r = job.error;
	return job.ret;
}
