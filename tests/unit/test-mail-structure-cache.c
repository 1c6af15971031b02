/* Unit tests for the structure cache (node/mail/mail-structure-cache.c):
 * each sample message is parsed, packed and unpacked, and the unpacked
 * structure must print the same ENVELOPE, BODYSTRUCTURE and BODY and have
 * the same offsets as the parse. A cache of another version or garbage
 * must be refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lib/arena.h"
#include "lib/strbuf.h"
#include "mail/mail-mime.h"
#include "mail/mail-structure-cache.h"
#include "mail/mail-structure.pb-c.h"

static const char *const samples[] = {
    "From: Alice <alice@example.test>\r\nTo: bob@example.test, \"Carol C\" <carol@x.test>\r\n"
    "Subject: hello\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <a@b>\r\n\r\n"
    "Body line\r\n",
    "Subject: no body",
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
    "preamble\r\n--xx\r\nContent-Type: text/plain; charset=koi8-r\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\ntext\r\n--xx\r\n"
    "Content-Type: application/pdf; name*=utf-8''%D0%B0.pdf\r\n"
    "Content-Disposition: attachment; filename*0=\"a\"; filename*1=\"b.pdf\"\r\n"
    "Content-Language: ru, en\r\nContent-ID: <id@x>\r\n\r\nJVBERi0=\r\n"
    "--xx\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@x.test\r\nSubject: inner\r\n\r\n"
    "inner body\r\n--xx--\r\nepilogue\r\n",
    "To: group: a@b.test, c@d.test;, undisclosed-recipients:;\r\nFrom: <@route:x@y.test>\r\n\n"
    "bare LF body\nline two\n",
};

static void dump(struct strbuf *out, const struct mail_structure *st)
{
	mail_structure_dump(out, st);
	strbuf_append(out, " ", 1);
	mail_mime_dump(out, st->root, false);
}

static void check_same_parts(const struct mail_mime_part *a, const struct mail_mime_part *b)
{
	assert_int_equal(a->offset, b->offset);
	assert_int_equal(a->header_size, b->header_size);
	assert_int_equal(a->header_vsize, b->header_vsize);
	assert_int_equal(a->body_offset, b->body_offset);
	assert_int_equal(a->body_size, b->body_size);
	assert_int_equal(a->body_vsize, b->body_vsize);
	assert_int_equal(a->body_lines, b->body_lines);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->depth, b->depth);
	assert_int_equal(a->child_count, b->child_count);
	const struct mail_mime_part *ca = a->children, *cb = b->children;
	for (; ca != NULL && cb != NULL; ca = ca->next, cb = cb->next) {
		assert_ptr_equal(cb->parent, b);
		check_same_parts(ca, cb);
	}
	assert_null(ca);
	assert_null(cb);
}

static void test_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct arena *arena = arena_create(4096);
		struct mail_structure *parsed, *unpacked;
		const char *error = NULL;
		struct strbuf want = {0}, got = {0};
		size_t len;

		assert_int_equal(mail_structure_parse(arena, samples[i], strlen(samples[i]), NULL,
						      &parsed, &error),
				 0);
		const void *packed = mail_structure_cache_pack(arena, parsed, &len);
		assert_int_equal(mail_structure_cache_unpack(arena, packed, len, &unpacked, &error),
				 0);
		dump(&want, parsed);
		dump(&got, unpacked);
		assert_int_equal(want.len, got.len);
		assert_memory_equal(want.data, got.data, want.len);
		assert_int_equal(parsed->size, unpacked->size);
		assert_int_equal(parsed->vsize, unpacked->vsize);
		assert_int_equal(parsed->part_count, unpacked->part_count);
		assert_ptr_equal(unpacked->envelope, unpacked->root->envelope);
		check_same_parts(parsed->root, unpacked->root);
		strbuf_free(&want);
		strbuf_free(&got);
		arena_destroy(&arena);
	}
}

static void test_refused(void **state)
{
	struct arena *arena = arena_create(4096);
	struct mail_structure *st;
	const char *error = NULL;
	(void)state;

	/* Not protobuf at all. */
	assert_int_equal(mail_structure_cache_unpack(arena, "\xff\xff\xff", 3, &st, &error), -1);
	assert_non_null(error);

	/* Well-formed, but of another version. */
	Tegu__MailStructurePb pb = TEGU__MAIL_STRUCTURE_PB__INIT;
	Tegu__MailPartPb root = TEGU__MAIL_PART_PB__INIT;
	uint8_t buf[64];
	pb.has_version = true;
	pb.version = MAIL_STRUCTURE_CACHE_VERSION + 1;
	pb.root = &root;
	size_t len = tegu__mail_structure_pb__pack(&pb, buf);
	error = NULL;
	assert_int_equal(mail_structure_cache_unpack(arena, buf, len, &st, &error), -1);
	assert_non_null(error);

	/* No root part. */
	pb.version = MAIL_STRUCTURE_CACHE_VERSION;
	pb.root = NULL;
	len = tegu__mail_structure_pb__pack(&pb, buf);
	assert_int_equal(mail_structure_cache_unpack(arena, buf, len, &st, &error), -1);
	arena_destroy(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
