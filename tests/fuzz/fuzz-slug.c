/* Fuzz target for the slug import path: the input is a slug stream (gzip or plain tar) run
 * through the hashing input, the validator and the extractor into a private temporary
 * directory, which is removed after every input whatever happened. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "images/image-internal.h"
#include "images/images.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[] = "/tmp/dyno-fuzz-slug.XXXXXX";
static int base_fd = -1;

static void remove_base(void)
{
	if (base_fd >= 0) {
		(void)rm_rf_at(base_fd, "s");
		base_fd = safe_close(base_fd);
		(void)rmdir(base);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (base_fd < 0) {
		if (!mkdtemp(base))
			abort();
		base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (base_fd < 0)
			abort();
		atexit(remove_base);
	}
	_cleanup_close_ int fd = memfd_create("slug", MFD_CLOEXEC);
	if (fd < 0 || fd_write_all(fd, data, size) < 0 || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	if (mkdirat(base_fd, "s", 0700) < 0)
		abort();
	_cleanup_close_ int sfd = openat(base_fd, "s", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		abort();

	struct image_import_opts o;
	image_import_opts_default(&o);
	o.no_sync = true;
	o.limits.max_uncompressed = 64u << 20;
	o.limits.max_entries = 4096;
	/* Both layouts: the first input byte picks one, so the corpus reaches both. */
	o.layout = size > 0 && (data[size - 1] & 1) ? IMAGE_LAYOUT_ROOT : IMAGE_LAYOUT_HEROKU;
	struct image_error err = {0};
	struct image_slug_info info;
	int r = image_slug_extract_fd(sfd, fd, &o, &info, &err);
	/* A refusal always says why; a success always has a digest. */
	if (r < 0 && r != -ENOMEM && !err.msg[0])
		abort();
	if (r == 0 && strlen(info.digest) != IMAGE_DIGEST_HEX_LEN)
		abort();
	if (rm_rf_at(base_fd, "s") < 0)
		abort();
	return 0;
}
