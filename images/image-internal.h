/* images/ internals shared by its files (not a public header): the validating extractor,
 * the hashing input pipeline, error formatting and tree removal. */
#ifndef DYNOHOST_IMAGES_IMAGE_INTERNAL_H
#define DYNOHOST_IMAGES_IMAGE_INTERNAL_H

#include <locale.h>
#include <stdbool.h>
#include <stdint.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "common/cleanup.h"
#include "images/images.h"

void image_errorf(struct image_error *err, const char *fmt, ...) _printf_(2, 3);
/* Copy s into buf (size n) with control bytes, quotes and backslashes escaped. */
const char *image_quote(const char *s, char *buf, size_t n);
void image_hex(const unsigned char *md, size_t len, char *ret);

/* Create dirfd/<prefix>XXXXXX with mode 0700; the name goes to ret (size >= strlen+7). */
int image_mkdtemp_at(int dirfd, const char *prefix, char *ret, size_t n);
int image_open_dir_at(int dirfd, const char *path);

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive *, archive_read_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive_entry *, archive_entry_free)

/* What the extractor enforces. */
struct extract_policy {
	enum image_layout layout;
	bool stack; /* stack rules: absolute symlinks allowed, devices skipped, dir modes kept */
	const char *strip; /* a leading directory to remove from every name (directory reads) */
	struct image_limits limits;
	bool tree_digest; /* compute a digest of the extracted tree (directory imports) */
};

struct extractor;

int extractor_new(int root_fd, const struct extract_policy *p, struct image_error *err,
                  struct extractor **ret);
struct extractor *extractor_free(struct extractor *x);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct extractor *, extractor_free)
/* Validate and materialise one entry (reading its data from a). */
int extractor_entry(struct extractor *x, struct archive *a, struct archive_entry *e);
/* Whole-tree checks (symlink escapes), final modes and times. */
int extractor_finish(struct extractor *x);
const char *extractor_current(const struct extractor *x);
uint64_t extractor_entries(const struct extractor *x);
uint64_t extractor_file_bytes(const struct extractor *x);
uint64_t extractor_stripped(const struct extractor *x);
uint64_t extractor_skipped(const struct extractor *x);
/* Only with policy.tree_digest, after extractor_finish. */
int extractor_tree_digest(struct extractor *x, char ret[IMAGE_DIGEST_HEX_LEN + 1]);

/* The hashing input: reads fd, feeds SHA-256 with exactly the bytes read, and (mode
 * INPUT_GUNZIP) inflates gzip itself so the trailer's CRC and length are verified. */
enum input_mode {
	INPUT_AUTO = 0, /* gzip when the stream starts with its magic, plain tar otherwise */
	INPUT_RAW,      /* hand raw bytes to libarchive's own filters (stack tarballs) */
	INPUT_MODE_MAX,
};

struct input;
int input_new(int fd, enum input_mode mode, const struct image_import_opts *o,
              struct image_error *err, struct input **ret);
struct input *input_free(struct input *in);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct input *, input_free)
/* Attach to a (archive_read_open with our callbacks). */
int input_attach(struct input *in, struct archive *a);
/* The entry name to blame for a stream-level refusal. */
void input_set_extractor(struct input *in, struct extractor *x);
/* Read the rest of the input (after the archive's end) through hash and decompressor. */
int input_drain(struct input *in);
bool input_failed(const struct input *in);
int input_error(const struct input *in);
void input_digest(struct input *in, char ret[IMAGE_DIGEST_HEX_LEN + 1]);
uint64_t input_bytes(const struct input *in);

/* Switch this thread to C.UTF-8 while libarchive reads names (see image-input.c). */
locale_t image_utf8_locale_push(locale_t *ret_old);
void image_utf8_locale_pop(locale_t l, locale_t old);

/* Run a whole archive through an extractor: next_header/entry loop, drain, finish. */
int image_extract_archive(struct archive *a, struct input *in, struct extractor *x,
                          struct image_error *err);

#endif
