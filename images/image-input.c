/* The hashing input pipeline for imports: every byte read from the input fd goes through
 * SHA-256 exactly once; gzip is inflated here with zlib (so the trailer's CRC-32 and length
 * are checked, which libarchive's gzip filter does not) and the compressed, uncompressed and
 * ratio limits are enforced on the stream itself. libarchive only sees the tar bytes. */
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "images/image-internal.h"

#define INPUT_CHUNK (256u * 1024u)
#define RATIO_FLOOR (1u << 20) /* no ratio check before this many decompressed bytes */

enum stream_kind {
	STREAM_UNKNOWN = 0,
	STREAM_GZIP,
	STREAM_PLAIN,
	STREAM_RAW,
	STREAM_KIND_MAX,
};

struct input {
	int fd;
	enum input_mode mode;
	enum stream_kind kind;
	struct image_limits limits;
	struct image_error *err;
	struct extractor *x;
	void (*progress)(uint64_t done, uint64_t total, void *userdata);
	void *userdata;

	EVP_MD_CTX *md;
	unsigned char *inbuf, *outbuf;
	size_t in_len; /* bytes in inbuf not yet consumed (plain mode) */
	uint64_t in_bytes, out_bytes, total;
	bool eof;
	bool ended; /* we told libarchive the stream is over */

	z_stream z;
	bool z_init, z_end;

	int error; /* first failure, negative errno */
};

static int input_fail(struct input *in, int error, const char *fmt, ...) _printf_(3, 4);
static int input_fail(struct input *in, int error, const char *fmt, ...)
{
	if (in->error)
		return in->error;
	in->error = -error;
	if (in->err && !in->err->msg[0]) {
		char why[512], q[512];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		const char *cur = in->x ? extractor_current(in->x) : "";
		if (cur && *cur)
			image_errorf(in->err, "entry \"%s\": %s", image_quote(cur, q, sizeof(q)),
			             why);
		else
			image_errorf(in->err, "%s", why);
	}
	return in->error;
}

int input_new(int fd, enum input_mode mode, const struct image_import_opts *o,
              struct image_error *err, struct input **ret)
{
	_cleanup_(input_freep) struct input *in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->fd = fd;
	in->mode = mode;
	in->limits = o->limits;
	in->err = err;
	in->progress = o->progress;
	in->userdata = o->userdata;
	in->md = EVP_MD_CTX_new();
	in->inbuf = malloc(INPUT_CHUNK);
	in->outbuf = malloc(INPUT_CHUNK);
	if (!in->md || !in->inbuf || !in->outbuf)
		return -ENOMEM;
	if (EVP_DigestInit_ex(in->md, EVP_sha256(), NULL) != 1)
		return -EIO;
	struct stat st;
	if (fstat(fd, &st) == -1)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		in->total = (uint64_t)st.st_size;
		if (in->limits.max_compressed && in->total > in->limits.max_compressed) {
			int r = input_fail(in, EFBIG,
			                   "input is %" PRIu64
			                   " bytes, over the compressed size limit of %" PRIu64
			                   " bytes",
			                   in->total, in->limits.max_compressed);
			return r;
		}
	}
	*ret = TAKE_PTR(in);
	return 0;
}

struct input *input_free(struct input *in)
{
	if (!in)
		return NULL;
	if (in->z_init)
		inflateEnd(&in->z);
	EVP_MD_CTX_free(in->md);
	free(in->inbuf);
	free(in->outbuf);
	free(in);
	return NULL;
}

void input_set_extractor(struct input *in, struct extractor *x)
{
	in->x = x;
}
bool input_failed(const struct input *in)
{
	return in->error != 0;
}
int input_error(const struct input *in)
{
	return in->error;
}
uint64_t input_bytes(const struct input *in)
{
	return in->in_bytes;
}

void input_digest(struct input *in, char ret[IMAGE_DIGEST_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_DigestFinal_ex(in->md, md, &len);
	image_hex(md, 32, ret);
}

/* Read the next chunk of raw input into inbuf, hashing it. Returns bytes read, 0 at EOF. */
static ssize_t input_fill(struct input *in)
{
	if (in->eof)
		return 0;
	ssize_t n;
	do
		n = read(in->fd, in->inbuf, INPUT_CHUNK);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return input_fail(in, errno, "read input: %s", strerror(errno));
	if (n == 0) {
		in->eof = true;
		return 0;
	}
	in->in_bytes += (uint64_t)n;
	if (in->limits.max_compressed && in->in_bytes > in->limits.max_compressed)
		return input_fail(in, EFBIG,
		                  "input exceeds the compressed size limit of %" PRIu64 " bytes",
		                  in->limits.max_compressed);
	if (EVP_DigestUpdate(in->md, in->inbuf, (size_t)n) != 1)
		return input_fail(in, EIO, "hash input");
	if (in->progress)
		in->progress(in->in_bytes, in->total, in->userdata);
	return n;
}

static int account_out(struct input *in, size_t n)
{
	in->out_bytes += n;
	if (in->limits.max_uncompressed && in->out_bytes > in->limits.max_uncompressed)
		return input_fail(in, EFBIG,
		                  "uncompressed data exceeds the limit of %" PRIu64 " bytes",
		                  in->limits.max_uncompressed);
	if (in->kind == STREAM_GZIP && in->limits.max_ratio && in->out_bytes > RATIO_FLOOR &&
	    in->out_bytes / (in->in_bytes ? in->in_bytes : 1) >= in->limits.max_ratio)
		return input_fail(in, EFBIG,
		                  "compression ratio over %u:1 (%" PRIu64 " bytes from %" PRIu64
		                  "): refusing a decompression bomb",
		                  in->limits.max_ratio, in->out_bytes, in->in_bytes);
	return 0;
}

/* Next block of tar bytes: *buf and the length, 0 at the end of the stream. */
static ssize_t input_next(struct input *in, const void **buf)
{
	if (in->error)
		return in->error;
	if (in->kind == STREAM_UNKNOWN) {
		ssize_t n = input_fill(in);
		if (n < 0)
			return n;
		in->in_len = (size_t)n;
		if (in->mode == INPUT_RAW)
			in->kind = STREAM_RAW;
		else if (n >= 2 && in->inbuf[0] == 0x1f && in->inbuf[1] == 0x8b) {
			in->kind = STREAM_GZIP;
			if (inflateInit2(&in->z, 16 + MAX_WBITS) != Z_OK)
				return input_fail(in, ENOMEM, "initialise zlib");
			in->z_init = true;
			in->z.next_in = in->inbuf;
			in->z.avail_in = (uInt)n;
			in->in_len = 0;
		} else
			in->kind = STREAM_PLAIN;
	}

	if (in->kind != STREAM_GZIP) {
		ssize_t n = (ssize_t)in->in_len;
		in->in_len = 0;
		if (n == 0)
			n = input_fill(in);
		if (n <= 0)
			return n;
		if (in->kind == STREAM_PLAIN) {
			int r = account_out(in, (size_t)n);
			if (r < 0)
				return r;
		}
		*buf = in->inbuf;
		return n;
	}

	for (;;) {
		if (in->z.avail_in == 0 && !in->eof) {
			ssize_t n = input_fill(in);
			if (n < 0)
				return n;
			in->z.next_in = in->inbuf;
			in->z.avail_in = (uInt)n;
		}
		if (in->z_end) {
			if (in->z.avail_in == 0)
				return 0; /* eof after a complete member */
			if (in->z.next_in[0] != 0x1f)
				return input_fail(in, EBADMSG,
				                  "data after the end of the gzip stream");
			/* Another gzip member follows (gzip allows concatenation). */
			if (inflateReset(&in->z) != Z_OK)
				return input_fail(in, EIO, "reset zlib");
			in->z_end = false;
		}
		in->z.next_out = in->outbuf;
		in->z.avail_out = INPUT_CHUNK;
		int zr = inflate(&in->z, Z_NO_FLUSH);
		size_t produced = INPUT_CHUNK - in->z.avail_out;
		if (zr == Z_STREAM_END)
			in->z_end = true;
		else if (zr == Z_BUF_ERROR) {
			if (in->eof && in->z.avail_in == 0 && produced == 0)
				return input_fail(in, EBADMSG, "truncated gzip stream");
		} else if (zr != Z_OK)
			return input_fail(in, EBADMSG, "corrupt gzip stream: %s",
			                  in->z.msg ? in->z.msg : "inflate failed");
		if (produced > 0) {
			int r = account_out(in, produced);
			if (r < 0)
				return r;
			*buf = in->outbuf;
			return (ssize_t)produced;
		}
		if (in->eof && in->z.avail_in == 0 && !in->z_end)
			return input_fail(in, EBADMSG, "truncated gzip stream");
	}
}

static la_ssize_t input_read_cb(struct archive *a, void *data, const void **buf)
{
	struct input *in = data;
	ssize_t n = input_next(in, buf);
	if (n == 0)
		in->ended = true;
	if (n < 0) {
		archive_set_error(a, -(int)n, "%s", in->err ? in->err->msg : "input failed");
		return -1;
	}
	return n;
}

int input_attach(struct input *in, struct archive *a)
{
	if (archive_read_open(a, in, NULL, input_read_cb, NULL) != ARCHIVE_OK) {
		if (in->error)
			return in->error;
		image_errorf(in->err, "not a tar archive: %s", archive_error_string(a));
		return -EBADMSG;
	}
	return 0;
}

int input_drain(struct input *in)
{
	/* libarchive stops at the tar end-of-archive blocks; the rest of the gzip stream must
	 * still be read so its trailer is verified and every byte is hashed. */
	for (;;) {
		const void *buf;
		ssize_t n = in->kind == STREAM_RAW ? input_fill(in) : input_next(in, &buf);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return 0;
	}
}

locale_t image_utf8_locale_push(locale_t *ret_old)
{
	/* libarchive converts pax (UTF-8) names to the calling thread's locale; under the C
	 * locale every non-ASCII name would fail. Names are bytes on Linux and UTF-8 by
	 * convention, so read archives in C.UTF-8, for this thread only. */
	locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	*ret_old = l ? uselocale(l) : (locale_t)0;
	return l;
}

void image_utf8_locale_pop(locale_t l, locale_t old)
{
	if (!l)
		return;
	uselocale(old);
	freelocale(l);
}

static int extract_archive(struct archive *a, struct input *in, struct extractor *x,
                           struct image_error *err);

int image_extract_archive(struct archive *a, struct input *in, struct extractor *x,
                          struct image_error *err)
{
	locale_t old;
	locale_t l = image_utf8_locale_push(&old);
	int r = extract_archive(a, in, x, err);
	image_utf8_locale_pop(l, old);
	return r;
}

static int extract_archive(struct archive *a, struct input *in, struct extractor *x,
                           struct image_error *err)
{
	input_set_extractor(in, x);
	int r = input_attach(in, a);
	if (r < 0)
		return r;
	for (;;) {
		struct archive_entry *e;
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF) {
			/* A tar ends with zero blocks; running out of input first means the
			 * archive was cut at an entry boundary (gzip's own checks cannot see
			 * that for a plain tar). Stack tarballs go through libarchive's
			 * read-ahead filters, which may reach the end early: not checked. */
			if (in->ended && in->mode != INPUT_RAW) {
				image_errorf(err, "truncated tar: the input ends without the "
				                  "end-of-archive blocks");
				return -EBADMSG;
			}
			break;
		}
		if (ar != ARCHIVE_OK) {
			if (input_failed(in))
				return input_error(in);
			char q[512];
			const char *cur = extractor_current(x);
			if (cur && *cur)
				image_errorf(
				        err, "after entry \"%s\": corrupt or truncated tar: %s",
				        image_quote(cur, q, sizeof(q)),
				        archive_error_string(a) ? archive_error_string(a) : "?");
			else
				image_errorf(err, "corrupt or truncated tar: %s",
				             archive_error_string(a) ? archive_error_string(a)
				                                     : "?");
			return -EBADMSG;
		}
		r = extractor_entry(x, a, e);
		if (input_failed(in))
			return input_error(in); /* the stream's refusal names the entry */
		if (r < 0)
			return r;
	}
	r = input_drain(in);
	if (r < 0)
		return r;
	return extractor_finish(x);
}
