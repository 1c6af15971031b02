/* Converts struct mail_structure to and from its protobuf form. Both
 * directions allocate from the arena (protobuf-c is handed an allocator
 * over it), so nothing here is freed by hand. */
#include "mail/mail-structure-cache.h"

#include <string.h>

#include "lib/arena.h"
#include "mail/mail-mime.h"
#include "mail/mail-structure.pb-c.h"

/* ---- C -> protobuf ---- */

static char *pb_str(const char *s)
{
	/* protobuf-c only reads the strings it packs. */
	return (char *)s;
}

static Tegu__MailAddressPb **pack_addresses(struct arena *arena,
					    const struct mail_address_list *list, size_t *n_r)
{
	Tegu__MailAddressPb **out = arena_alloc(arena, (list->count + 1) * sizeof(*out));
	size_t n = 0;

	for (const struct mail_address *a = list->first; a != NULL; a = a->next) {
		Tegu__MailAddressPb *pb = arena_alloc(arena, sizeof(*pb));
		*pb = (Tegu__MailAddressPb)TEGU__MAIL_ADDRESS_PB__INIT;
		pb->name = pb_str(a->name);
		pb->adl = pb_str(a->adl);
		pb->mailbox = pb_str(a->mailbox);
		pb->host = pb_str(a->host);
		out[n++] = pb;
	}
	*n_r = n;
	return out;
}

static Tegu__MailEnvelopePb *pack_envelope(struct arena *arena, const struct mail_envelope *env)
{
	Tegu__MailEnvelopePb *pb = arena_alloc(arena, sizeof(*pb));

	*pb = (Tegu__MailEnvelopePb)TEGU__MAIL_ENVELOPE_PB__INIT;
	pb->date = pb_str(env->date);
	pb->subject = pb_str(env->subject);
	pb->from = pack_addresses(arena, &env->from, &pb->n_from);
	pb->sender = pack_addresses(arena, &env->sender, &pb->n_sender);
	pb->reply_to = pack_addresses(arena, &env->reply_to, &pb->n_reply_to);
	pb->to = pack_addresses(arena, &env->to, &pb->n_to);
	pb->cc = pack_addresses(arena, &env->cc, &pb->n_cc);
	pb->bcc = pack_addresses(arena, &env->bcc, &pb->n_bcc);
	pb->in_reply_to = pb_str(env->in_reply_to);
	pb->message_id = pb_str(env->message_id);
	pb->error = pb_str(env->error);
	return pb;
}

static Tegu__MailParamPb **pack_params(struct arena *arena, const struct mail_param *params,
				       unsigned count)
{
	Tegu__MailParamPb **out = arena_alloc(arena, (count + 1) * sizeof(*out));

	for (unsigned i = 0; i < count; i++) {
		const struct mail_param *p = &params[i];
		Tegu__MailParamPb *pb = arena_alloc(arena, sizeof(*pb));

		*pb = (Tegu__MailParamPb)TEGU__MAIL_PARAM_PB__INIT;
		pb->name = pb_str(p->name);
		pb->imap_name = pb_str(p->imap_name);
		pb->value = pb_str(p->value);
		pb->has_extended = p->extended;
		pb->extended = p->extended;
		pb->charset = pb_str(p->charset);
		pb->language = pb_str(p->language);
		pb->decoded = pb_str(p->decoded);
		pb->utf8 = pb_str(p->utf8);
		out[i] = pb;
	}
	return out;
}

static void pb_set_u64(protobuf_c_boolean *has, uint64_t *field, size_t value)
{
	*has = value != 0;
	*field = value;
}

static Tegu__MailPartPb *pack_part(struct arena *arena, const struct mail_mime_part *part)
{
	Tegu__MailPartPb *pb = arena_alloc(arena, sizeof(*pb));

	*pb = (Tegu__MailPartPb)TEGU__MAIL_PART_PB__INIT;
	pb->has_flags = part->flags != 0;
	pb->flags = part->flags;
	pb_set_u64(&pb->has_offset, &pb->offset, part->offset);
	pb_set_u64(&pb->has_header_size, &pb->header_size, part->header_size);
	pb_set_u64(&pb->has_header_vsize, &pb->header_vsize, part->header_vsize);
	pb_set_u64(&pb->has_body_offset, &pb->body_offset, part->body_offset);
	pb_set_u64(&pb->has_body_size, &pb->body_size, part->body_size);
	pb_set_u64(&pb->has_body_vsize, &pb->body_vsize, part->body_vsize);
	pb_set_u64(&pb->has_body_lines, &pb->body_lines, part->body_lines);
	pb->type = pb_str(part->type);
	pb->subtype = pb_str(part->subtype);
	pb->n_params = part->param_count;
	pb->params = pack_params(arena, part->params, part->param_count);
	pb->charset = pb_str(part->charset);
	pb->id = pb_str(part->id);
	pb->description = pb_str(part->description);
	pb->md5 = pb_str(part->md5);
	pb->location = pb_str(part->location);
	pb->encoding = pb_str(part->encoding);
	pb->disposition = pb_str(part->disposition);
	pb->n_disposition_params = part->disposition_param_count;
	pb->disposition_params =
	    pack_params(arena, part->disposition_params, part->disposition_param_count);
	pb->n_languages = part->language_count;
	pb->languages = arena_alloc(arena, (part->language_count + 1) * sizeof(char *));
	for (unsigned i = 0; i < part->language_count; i++)
		pb->languages[i] = pb_str(part->languages[i]);
	if (part->envelope != NULL)
		pb->envelope = pack_envelope(arena, part->envelope);
	pb->n_children = part->child_count;
	pb->children = arena_alloc(arena, (part->child_count + 1) * sizeof(*pb->children));
	size_t n = 0;
	for (const struct mail_mime_part *child = part->children; child != NULL;
	     child = child->next)
		pb->children[n++] = pack_part(arena, child);
	return pb;
}

const void *mail_structure_cache_pack(struct arena *arena, const struct mail_structure *structure,
				      size_t *len_r)
{
	Tegu__MailStructurePb pb = TEGU__MAIL_STRUCTURE_PB__INIT;

	pb.has_version = true;
	pb.version = MAIL_STRUCTURE_CACHE_VERSION;
	pb_set_u64(&pb.has_size, &pb.size, structure->size);
	pb_set_u64(&pb.has_vsize, &pb.vsize, structure->vsize);
	pb.root = pack_part(arena, structure->root);
	pb.has_part_count = true;
	pb.part_count = structure->part_count;
	pb.has_problems = structure->problems != 0;
	pb.problems = structure->problems;
	pb.problem = pb_str(structure->problem);

	size_t len = tegu__mail_structure_pb__get_packed_size(&pb);
	uint8_t *out = arena_alloc(arena, len + 1);
	*len_r = tegu__mail_structure_pb__pack(&pb, out);
	return out;
}

/* ---- protobuf -> C ---- */

static void *arena_pb_alloc(void *data, size_t size)
{
	return arena_alloc(data, size == 0 ? 1 : size);
}

static void arena_pb_free(void *data, void *ptr)
{
	/* Arena memory goes with the arena. */
	(void)data;
	(void)ptr;
}

static void unpack_addresses(struct arena *arena, Tegu__MailAddressPb **pbs, size_t n,
			     struct mail_address_list *list)
{
	memset(list, 0, sizeof(*list));
	for (size_t i = 0; i < n; i++) {
		struct mail_address *a = arena_zalloc(arena, sizeof(*a));
		a->name = pbs[i]->name;
		a->adl = pbs[i]->adl;
		a->mailbox = pbs[i]->mailbox;
		a->host = pbs[i]->host;
		if (list->last != NULL)
			list->last->next = a;
		else
			list->first = a;
		list->last = a;
		list->count++;
	}
}

static struct mail_envelope *unpack_envelope(struct arena *arena, const Tegu__MailEnvelopePb *pb)
{
	struct mail_envelope *env = arena_zalloc(arena, sizeof(*env));

	env->date = pb->date;
	env->subject = pb->subject;
	unpack_addresses(arena, pb->from, pb->n_from, &env->from);
	unpack_addresses(arena, pb->sender, pb->n_sender, &env->sender);
	unpack_addresses(arena, pb->reply_to, pb->n_reply_to, &env->reply_to);
	unpack_addresses(arena, pb->to, pb->n_to, &env->to);
	unpack_addresses(arena, pb->cc, pb->n_cc, &env->cc);
	unpack_addresses(arena, pb->bcc, pb->n_bcc, &env->bcc);
	env->in_reply_to = pb->in_reply_to;
	env->message_id = pb->message_id;
	env->error = pb->error;
	return env;
}

static const struct mail_param *unpack_params(struct arena *arena, Tegu__MailParamPb **pbs,
					      size_t n)
{
	struct mail_param *out = arena_zalloc(arena, (n + 1) * sizeof(*out));

	for (size_t i = 0; i < n; i++) {
		out[i].name = pbs[i]->name;
		out[i].imap_name = pbs[i]->imap_name;
		out[i].value = pbs[i]->value;
		out[i].extended = pbs[i]->extended;
		out[i].charset = pbs[i]->charset;
		out[i].language = pbs[i]->language;
		out[i].decoded = pbs[i]->decoded;
		out[i].utf8 = pbs[i]->utf8;
	}
	return out;
}

static struct mail_mime_part *unpack_part(struct arena *arena, const Tegu__MailPartPb *pb,
					  struct mail_mime_part *parent, unsigned depth)
{
	struct mail_mime_part *part = arena_zalloc(arena, sizeof(*part));

	part->parent = parent;
	part->depth = depth;
	part->flags = pb->flags;
	part->offset = pb->offset;
	part->header_size = pb->header_size;
	part->header_vsize = pb->header_vsize;
	part->body_offset = pb->body_offset;
	part->body_size = pb->body_size;
	part->body_vsize = pb->body_vsize;
	part->body_lines = pb->body_lines;
	part->type = pb->type;
	part->subtype = pb->subtype;
	part->params = unpack_params(arena, pb->params, pb->n_params);
	part->param_count = (unsigned)pb->n_params;
	part->charset = pb->charset;
	part->id = pb->id;
	part->description = pb->description;
	part->md5 = pb->md5;
	part->location = pb->location;
	part->encoding = pb->encoding;
	part->disposition = pb->disposition;
	part->disposition_params =
	    unpack_params(arena, pb->disposition_params, pb->n_disposition_params);
	part->disposition_param_count = (unsigned)pb->n_disposition_params;
	part->languages = (const char *const *)pb->languages;
	part->language_count = (unsigned)pb->n_languages;
	if (pb->envelope != NULL)
		part->envelope = unpack_envelope(arena, pb->envelope);

	struct mail_mime_part **tail = &part->children;
	for (size_t i = 0; i < pb->n_children; i++) {
		*tail = unpack_part(arena, pb->children[i], part, depth + 1);
		tail = &(*tail)->next;
		part->child_count++;
	}
	return part;
}

int mail_structure_cache_unpack(struct arena *arena, const void *data, size_t len,
				struct mail_structure **structure_r, const char **error_r)
{
	ProtobufCAllocator allocator = {
	    .alloc = arena_pb_alloc,
	    .free = arena_pb_free,
	    .allocator_data = arena,
	};
	Tegu__MailStructurePb *pb = tegu__mail_structure_pb__unpack(&allocator, len, data);

	if (pb == NULL || pb->root == NULL) {
		*error_r = "the structure cache does not decode";
		return -1;
	}
	if (pb->version != MAIL_STRUCTURE_CACHE_VERSION) {
		*error_r = "the structure cache is of another version";
		return -1;
	}
	struct mail_structure *st = arena_zalloc(arena, sizeof(*st));
	st->size = pb->size;
	st->vsize = pb->vsize;
	st->root = unpack_part(arena, pb->root, NULL, 0);
	st->envelope = st->root->envelope;
	st->part_count = pb->part_count;
	st->problems = pb->problems;
	st->problem = pb->problem;
	*structure_r = st;
	return 0;
}
