/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of capture/v4l2.c against a fake camera: the device layer
 * (v4l2dev.h) replaced by a table that answers the V4L2 ioctls the way a
 * UVC webcam does, with knobs for what real cameras get wrong.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <turbojpeg.h>

#include "camctl.h"
#include "convert.h"
#include "jpegfix.h"
#include "log.h"
#include "v4l2.h"
#include "v4l2dev.h"
#include "v4l2list.h"

#define FAKE_BUFS 4
#define FAKE_BUFLEN (1280 * 720 * 2)

struct fake {
	/* What the camera offers. */
	uint32_t formats[4];
	int nformats;
	uint32_t sizes[4][2];
	int nsizes;
	int no_dht; /* MJPEG frames without Huffman tables */
	int disconnect_at; /* DQBUF number that fails with ENODEV */
	int fail_opens; /* opens that fail after the disconnect */
	int error_frame_at; /* DQBUF number flagged V4L2_BUF_FLAG_ERROR */
	int short_frame_at; /* DQBUF number with too few bytes */
	int silent_after; /* frames after which the first open goes quiet */
	/* State. */
	int fd;
	int opens;
	int gone;
	int streaming;
	uint32_t fourcc, width, height;
	struct v4l2_fract interval;
	uint8_t *bufs[FAKE_BUFS];
	int queued[FAKE_BUFS]; /* FIFO of queued indices */
	int nqueued;
	int dqbufs;
	int brightness;
	int brightness_set;
	unsigned char *jpeg; /* the frame the camera sends, as it sends it */
	unsigned long jpeg_len;
	uint8_t *good_jpeg; /* the same frame with tables */
	size_t good_len;
};

static struct fake fake;

static void make_jpeg(void)
{
	tjhandle tj = tjInitCompress();
	unsigned char *rgb = calloc(fake.width * 3, fake.height);
	unsigned char *j = NULL;
	unsigned long len = 0;

	assert_non_null(tj);
	assert_non_null(rgb);
	for (uint32_t i = 0; i < fake.width * fake.height * 3; i++)
		rgb[i] = (unsigned char)(i * 7 / 3);
	assert_int_equal(tjCompress2(tj, rgb, (int)fake.width, 0,
				     (int)fake.height, TJPF_RGB, &j, &len,
				     TJSAMP_422, 75, 0),
			 0);
	free(fake.good_jpeg);
	fake.good_jpeg = malloc(len);
	memcpy(fake.good_jpeg, j, len);
	fake.good_len = len;
	free(fake.jpeg);
	fake.jpeg = malloc(len);
	if (!fake.no_dht) {
		memcpy(fake.jpeg, j, len);
		fake.jpeg_len = len;
	} else { /* drop every DHT segment, as such webcams do */
		size_t i = 2, o = 2;

		memcpy(fake.jpeg, j, 2);
		while (j[i + 1] != 0xda) {
			size_t seg = (size_t)j[i + 2] << 8 | j[i + 3];

			if (j[i + 1] != 0xc4) {
				memcpy(fake.jpeg + o, j + i, seg + 2);
				o += seg + 2;
			}
			i += seg + 2;
		}
		memcpy(fake.jpeg + o, j + i, len - i);
		fake.jpeg_len = o + len - i;
	}
	tjFree(j);
	tjDestroy(tj);
	free(rgb);
}

static int fake_open(void *ctx, const char *path)
{
	(void)ctx;
	assert_string_equal(path, "/dev/video7");
	if (fake.gone && fake.fail_opens > 0) {
		fake.fail_opens--;
		errno = ENOENT;
		return -1;
	}
	fake.gone = 0;
	fake.opens++;
	/* A real, always-readable fd, so epoll works as with a camera. */
	fake.fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
	return fake.fd;
}

static int fake_close(void *ctx, int fd)
{
	(void)ctx;
	fake.streaming = 0;
	fake.nqueued = 0;
	return close(fd);
}

static int has_format(uint32_t f)
{
	for (int i = 0; i < fake.nformats; i++)
		if (fake.formats[i] == f)
			return 1;
	return 0;
}

static void fill_frame(int idx, struct v4l2_buffer *b)
{
	uint8_t *p = fake.bufs[idx];
	struct timespec ts;

	if (fake.fourcc == V4L2_PIX_FMT_MJPEG) {
		memcpy(p, fake.jpeg, fake.jpeg_len);
		/* UVC drivers pad after EOI. */
		memset(p + fake.jpeg_len, 0, 100);
		b->bytesused = (uint32_t)fake.jpeg_len + 100;
	} else {
		for (uint32_t y = 0; y < fake.height; y++)
			for (uint32_t x = 0; x < fake.width; x++) {
				p[(y * fake.width + x) * 2] = (uint8_t)(x + y);
				p[(y * fake.width + x) * 2 + 1] = 128;
			}
		b->bytesused = fake.width * fake.height * 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	b->timestamp.tv_sec = ts.tv_sec;
	b->timestamp.tv_usec = ts.tv_nsec / 1000;
	b->flags = V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC | V4L2_BUF_FLAG_DONE;
}

static int fake_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
	(void)ctx;
	assert_int_equal(fd, fake.fd);
	if (fake.gone) {
		errno = ENODEV;
		return -1;
	}
	switch (req) {
	case VIDIOC_QUERYCAP: {
		struct v4l2_capability *c = arg;

		memset(c, 0, sizeof(*c));
		strcpy((char *)c->driver, "uvcvideo");
		strcpy((char *)c->card, "Fake Webcam");
		strcpy((char *)c->bus_info, "usb-fake-1");
		c->capabilities = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING |
				  V4L2_CAP_DEVICE_CAPS;
		c->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
		return 0;
	}
	case VIDIOC_ENUM_FMT: {
		struct v4l2_fmtdesc *d = arg;

		if (d->index >= (uint32_t)fake.nformats)
			break;
		d->pixelformat = fake.formats[d->index];
		return 0;
	}
	case VIDIOC_ENUM_FRAMESIZES: {
		struct v4l2_frmsizeenum *s = arg;

		if (!has_format(s->pixel_format) ||
		    s->index >= (uint32_t)fake.nsizes)
			break;
		s->type = V4L2_FRMSIZE_TYPE_DISCRETE;
		s->discrete.width = fake.sizes[s->index][0];
		s->discrete.height = fake.sizes[s->index][1];
		return 0;
	}
	case VIDIOC_ENUM_FRAMEINTERVALS: {
		struct v4l2_frmivalenum *iv = arg;
		static const uint32_t rates[] = {30, 15, 5};

		if (iv->index >= 3)
			break;
		iv->type = V4L2_FRMIVAL_TYPE_DISCRETE;
		iv->discrete.numerator = 1;
		iv->discrete.denominator = rates[iv->index];
		return 0;
	}
	case VIDIOC_S_FMT: {
		struct v4l2_format *f = arg;

		if (!has_format(f->fmt.pix.pixelformat))
			f->fmt.pix.pixelformat = fake.formats[0];
		fake.fourcc = f->fmt.pix.pixelformat;
		fake.width = f->fmt.pix.width;
		fake.height = f->fmt.pix.height;
		f->fmt.pix.bytesperline = fake.fourcc == V4L2_PIX_FMT_YUYV
						  ? fake.width * 2
						  : 0;
		f->fmt.pix.sizeimage = FAKE_BUFLEN;
		if (fake.fourcc == V4L2_PIX_FMT_MJPEG)
			make_jpeg();
		return 0;
	}
	case VIDIOC_G_PARM:
	case VIDIOC_S_PARM: {
		struct v4l2_streamparm *p = arg;

		p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
		if (req == VIDIOC_S_PARM)
			fake.interval = p->parm.capture.timeperframe;
		p->parm.capture.timeperframe = fake.interval;
		return 0;
	}
	case VIDIOC_QUERYCTRL: {
		struct v4l2_queryctrl *q = arg;

		if (q->id != V4L2_CID_BRIGHTNESS)
			break;
		q->minimum = 0;
		q->maximum = 255;
		q->default_value = 128;
		q->step = 1;
		strcpy((char *)q->name, "Brightness");
		return 0;
	}
	case VIDIOC_S_CTRL: {
		struct v4l2_control *c = arg;

		if (c->id != V4L2_CID_BRIGHTNESS)
			break;
		fake.brightness = c->value;
		fake.brightness_set = 1;
		return 0;
	}
	case VIDIOC_REQBUFS: {
		struct v4l2_requestbuffers *rb = arg;

		if (rb->count > FAKE_BUFS)
			rb->count = FAKE_BUFS;
		fake.nqueued = 0;
		return 0;
	}
	case VIDIOC_QUERYBUF: {
		struct v4l2_buffer *b = arg;

		if (b->index >= FAKE_BUFS)
			break;
		b->length = FAKE_BUFLEN;
		b->m.offset = b->index * 4096;
		return 0;
	}
	case VIDIOC_QBUF: {
		struct v4l2_buffer *b = arg;

		if (b->index >= FAKE_BUFS || fake.nqueued >= FAKE_BUFS)
			break;
		for (int i = 0; i < fake.nqueued; i++)
			if (fake.queued[i] == (int)b->index)
				goto inval; /* queued twice: a source bug */
		fake.queued[fake.nqueued++] = (int)b->index;
		return 0;
	}
	case VIDIOC_DQBUF: {
		struct v4l2_buffer *b = arg;
		int idx;

		if (!fake.streaming || fake.nqueued == 0) {
			errno = EAGAIN;
			return -1;
		}
		if (fake.silent_after && fake.opens == 1 &&
		    fake.dqbufs >= fake.silent_after) {
			uint64_t v;

			/* Streaming, but nothing comes: the fd stops being
			 * readable too, as a real camera's would. */
			if (read(fake.fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				fail_msg("eventfd read: %s", strerror(errno));
			errno = EAGAIN;
			return -1;
		}
		fake.dqbufs++;
		if (fake.dqbufs == fake.disconnect_at) {
			fake.gone = 1;
			errno = ENODEV;
			return -1;
		}
		idx = fake.queued[0];
		memmove(fake.queued, fake.queued + 1,
			sizeof(int) * (size_t)--fake.nqueued);
		b->index = (uint32_t)idx;
		fill_frame(idx, b);
		if (fake.dqbufs == fake.error_frame_at)
			b->flags |= V4L2_BUF_FLAG_ERROR;
		if (fake.dqbufs == fake.short_frame_at)
			b->bytesused /= 2;
		return 0;
	}
	case VIDIOC_STREAMON:
		fake.streaming = 1;
		return 0;
	case VIDIOC_STREAMOFF:
		fake.streaming = 0;
		return 0;
	default:
		break;
	}
inval:
	errno = EINVAL;
	return -1;
}

static void *fake_mmap(void *ctx, int fd, size_t length, off_t offset)
{
	(void)ctx;
	(void)fd;
	assert_true(length <= FAKE_BUFLEN);
	return fake.bufs[offset / 4096];
}

static int fake_munmap(void *ctx, void *addr, size_t length)
{
	(void)ctx;
	(void)addr;
	(void)length;
	return 0;
}

static const struct v4l2dev fake_dev = {
	.open = fake_open,
	.close = fake_close,
	.ioctl = fake_ioctl,
	.mmap = fake_mmap,
	.munmap = fake_munmap,
};

/* ------------------------------------------------------------ log capture */

static int saved_stderr = -1;
static int log_fd = -1;

static void log_start(void)
{
	fflush(stderr);
	log_fd = memfd_create("log", MFD_CLOEXEC);
	assert_true(log_fd >= 0);
	saved_stderr = dup(2);
	dup2(log_fd, 2);
}

/* What was logged since log_start (static buffer). */
static const char *log_text(void)
{
	static char buf[16384];
	ssize_t n = pread(log_fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void log_stop(void)
{
	if (saved_stderr >= 0) {
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
	if (log_fd >= 0) {
		/* Keep the test's log readable in build/test-logs. */
		fprintf(stderr, "%s", log_text());
		close(log_fd);
		log_fd = -1;
	}
}

/* ------------------------------------------------------------ fixtures */

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < FAKE_BUFS; i++)
		free(fake.bufs[i]);
	free(fake.jpeg);
	free(fake.good_jpeg);
	memset(&fake, 0, sizeof(fake));
	fake.fd = -1;
	for (int i = 0; i < FAKE_BUFS; i++) {
		fake.bufs[i] = calloc(1, FAKE_BUFLEN);
		assert_non_null(fake.bufs[i]);
	}
	fake.sizes[0][0] = 160, fake.sizes[0][1] = 120;
	fake.sizes[1][0] = 320, fake.sizes[1][1] = 240;
	fake.sizes[2][0] = 640, fake.sizes[2][1] = 480;
	fake.nsizes = 3;
	v4l2dev_use(&fake_dev);
	log_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_stop();
	v4l2dev_use(NULL);
	for (int i = 0; i < FAKE_BUFS; i++) {
		free(fake.bufs[i]);
		fake.bufs[i] = NULL;
	}
	free(fake.jpeg);
	free(fake.good_jpeg);
	fake.jpeg = NULL;
	fake.good_jpeg = NULL;
	return 0;
}

static struct source *open_source(int w, int h, const struct camera_controls *c)
{
	struct source_config cfg = {.spec = "v4l2:7",
				    .width = w,
				    .height = h,
				    .fps = 30,
				    .extra = c};
	struct source *s = NULL;

	assert_int_equal(v4l2_source_ops.open(&s, &cfg), 0);
	assert_non_null(s);
	return s;
}

/* Next frame, waiting on the source's fd as capture does (bounded). */
static enum source_result next_frame(struct source *s, struct picture *pic,
				     int timeout_ms)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = {.fd = v4l2_source_ops.fd(s),
				   .events = POLLIN};
		enum source_result r = v4l2_source_ops.next(s, pic);
		long ms;

		if (r != SOURCE_AGAIN)
			return r;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		     (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= timeout_ms)
			return SOURCE_AGAIN;
		poll(&p, 1, (int)(timeout_ms - ms));
	}
}

static int decodes(const uint8_t *data, size_t len, int w, int h)
{
	tjhandle tj = tjInitDecompress();
	unsigned char *px = malloc((size_t)w * h);
	int ok;

	ok = tjDecompress2(tj, data, len, px, w, 0, h, TJPF_GRAY,
			   TJFLAG_STOPONWARNING) == 0;
	free(px);
	tjDestroy(tj);
	return ok;
}

/* ------------------------------------------------------------ tests */

/* MJPEG camera: frames published byte for byte, padding after EOI cut,
 * the requested rate set, the mapped buffer lent without a copy. */
static void test_mjpeg_only(void **state)
{
	struct source *s;
	struct picture pic;

	(void)state;
	fake.formats[0] = V4L2_PIX_FMT_MJPEG;
	fake.nformats = 1;
	s = open_source(320, 240, NULL);
	assert_int_equal(fake.width, 320);
	assert_int_equal(fake.interval.denominator, 30);
	for (int i = 0; i < 6; i++) { /* more frames than buffers */
		assert_int_equal(next_frame(s, &pic, 1000), SOURCE_FRAME);
		assert_int_equal(pic.kind, PICTURE_JPEG);
		assert_int_equal(pic.width, 320);
		assert_int_equal(pic.height, 240);
		assert_int_equal(pic.len, fake.jpeg_len);
		assert_memory_equal(pic.data, fake.jpeg, fake.jpeg_len);
		assert_true(pic.monotonic_ns > 0);
		assert_true(pic.realtime_ns > 0);
		/* Zero copy: the picture is the driver's buffer. */
		assert_true(
			pic.data == fake.bufs[0] || pic.data == fake.bufs[1] ||
			pic.data == fake.bufs[2] || pic.data == fake.bufs[3]);
		v4l2_source_ops.release(s, &pic);
	}
	assert_int_equal(v4l2_source_ops.skipped(s), 0);
	v4l2_source_ops.close(s);
	assert_false(fake.streaming);
}

/* YUYV camera: raw pictures for capture to encode; they convert to I420
 * with the camera's Y values. */
static void test_yuyv_only(void **state)
{
	struct source *s;
	struct picture pic, i420;
	struct convert c = {0};

	(void)state;
	fake.formats[0] = V4L2_PIX_FMT_YUYV;
	fake.nformats = 1;
	s = open_source(320, 240, NULL);
	assert_int_equal(next_frame(s, &pic, 1000), SOURCE_FRAME);
	assert_int_equal(pic.kind, PICTURE_YUYV);
	assert_int_equal(pic.width, 320);
	assert_int_equal(pic.strides[0], 640);
	assert_int_equal(convert_to_i420(&c, &pic, &i420), 0);
	assert_int_equal(i420.planes[0][7 * i420.strides[0] + 5], 12);
	assert_int_equal(i420.planes[1][0], 128);
	v4l2_source_ops.release(s, &pic);
	convert_free(&c);
	v4l2_source_ops.close(s);
}

/* MJPEG is preferred when a camera offers both. */
static void test_prefers_mjpeg(void **state)
{
	struct source *s;
	struct picture pic;

	(void)state;
	fake.formats[0] = V4L2_PIX_FMT_YUYV;
	fake.formats[1] = V4L2_PIX_FMT_MJPEG;
	fake.nformats = 2;
	s = open_source(320, 240, NULL);
	assert_int_equal(next_frame(s, &pic, 1000), SOURCE_FRAME);
	assert_int_equal(pic.kind, PICTURE_JPEG);
	v4l2_source_ops.close(s);
}

/* --format yuyv picks raw pictures even when MJPEG is offered; a format
 * the camera lacks is a clear error. */
static void test_format_flag(void **state)
{
	struct camera_controls c;
	struct source *s = NULL;
	struct source_config cfg = {.spec = "v4l2:7",
				    .width = 320,
				    .height = 240,
				    .fps = 30,
				    .extra = &c};
	struct picture pic;
	char why[128];

	(void)state;
	fake.formats[0] = V4L2_PIX_FMT_MJPEG;
	fake.formats[1] = V4L2_PIX_FMT_YUYV;
	fake.nformats = 2;
	camctl_init(&c);
	assert_int_equal(camctl_parse(&c, "format", "yuyv", why, sizeof(why)),
			 1);
	s = open_source(320, 240, &c);
	assert_int_equal(next_frame(s, &pic, 1000), SOURCE_FRAME);
	assert_int_equal(pic.kind, PICTURE_YUYV);
	v4l2_source_ops.close(s);
	s = NULL;

	assert_int_equal(camctl_parse(&c, "format", "nv12", why, sizeof(why)),
			 1);
	assert_int_equal(v4l2_source_ops.open(&s, &cfg), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_non_null(strstr(log_text(), "offers no format vigil reads "
					   "(NV12); it offers: MJPG, YUYV"));
	assert_int_equal(camctl_parse(&c, "format", "rgb", why, sizeof(why)),
			 -1);
}

/* Neither: a clear error naming what the camera offers. */
static void test_no_usable_format(void **state)
{
	struct source_config cfg = {.spec = "v4l2:/dev/video7",
				    .width = 320,
				    .height = 240,
				    .fps = 30};
	struct source *s = NULL;

	(void)state;
	fake.formats[0] = V4L2_PIX_FMT_RGB24;
	fake.formats[1] = V4L2_PIX_FMT_GREY;
	fake.nformats = 2;
	errno = 0;
	assert_int_equal(v4l2_source_ops.open(&s, &cfg), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_null(s);
	assert_non_null(strstr(log_text(), "offers no format vigil reads"));
	assert_non_null(strstr(log_text(), "RGB3, GREY"));
}

/* A webcam that leaves out the Huffman tables: the standard ones are put
 * in, and the frame decodes to the same picture as one with tables. */
static void test_jpeg_without_dht(void **state)
{
	struct source *s;
	struct picture pic;
	size_t sos;

	(void)state;
	fake.formats[0] = V4L2_PIX_FMT_MJPEG;
	fake.nformats = 1;
	fake.no_dht = 1;
	s = open_source(320, 240, NULL);
	assert_int_equal(jpegfix_check(fake.jpeg, fake.jpeg_len, &sos),
			 JPEGFIX_NEEDED);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(next_frame(s, &pic, 1000), SOURCE_FRAME);
		assert_int_equal(pic.kind, PICTURE_JPEG);
		assert_int_equal(pic.len, fake.jpeg_len + JPEGFIX_DHT_SIZE);
		assert_int_equal(jpegfix_check(pic.data, pic.len, &sos),
				 JPEGFIX_OK);
		assert_true(decodes(pic.data, pic.len, 320, 240));
		v4l2_source_ops.release(s, &pic);
	}
	assert_non_null(strstr(log_text(), "without Huffman tables"));
	v4l2_source_ops.close(s);
}

/* Unplugged mid-stream: no error to capture, the device is re-opened with
 * backoff (first try fails, second succeeds) and frames flow again. */
static void test_disconnect_reopens(void **state)
{
	struct source *s;
	struct picture pic;
	struct timespec t0, t1;
	long ms;

	(void)state;
	fake.formats[0] = V4L2_PIX_FMT_MJPEG;
	fake.nformats = 1;
	fake.disconnect_at = 3;
	fake.fail_opens = 1;
	s = open_source(320, 240, NULL);
	assert_int_equal(next_frame(s, &pic, 1000), SOURCE_FRAME);
	assert_int_equal(next_frame(s, &pic, 1000), SOURCE_FRAME);
	assert_int_equal(v4l2_source_ops.next(s, &pic), SOURCE_AGAIN);
	assert_true(fake.gone);
	assert_non_null(strstr(log_text(), "lost; re-opening"));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(next_frame(s, &pic, 5000), SOURCE_FRAME);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	/* One failed try after 250 ms, the next after 500 more. */
	assert_true(ms >= V4L2_BACKOFF_MIN_MS * 3 - 50);
	assert_true(ms < 3000);
	assert_int_equal(fake.opens, 2);
	assert_int_equal(pic.kind, PICTURE_JPEG);
	assert_memory_equal(pic.data, fake.jpeg, fake.jpeg_len);
	assert_non_null(strstr(log_text(), "is back"));
	v4l2_source_ops.close(s);
}

/* A camera that stays open but stops sending: after V4L2_STALL_MS the
 * watchdog re-opens it, and frames flow again. */
static void test_stall_reopens(void **state)
{
	struct source *s;
	struct picture pic;
	struct timespec t0, t1;
	long ms;

	(void)state;
	fake.formats[0] = V4L2_PIX_FMT_MJPEG;
	fake.nformats = 1;
	fake.silent_after = 2;
	s = open_source(320, 240, NULL);
	assert_int_equal(next_frame(s, &pic, 1000), SOURCE_FRAME);
	assert_int_equal(next_frame(s, &pic, 1000), SOURCE_FRAME);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(next_frame(s, &pic, V4L2_STALL_MS + 3000),
			 SOURCE_FRAME);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= V4L2_STALL_MS - 100);
	assert_int_equal(fake.opens, 2);
	assert_non_null(strstr(log_text(), "sent no frame for"));
	v4l2_source_ops.close(s);
}

/* A size the camera does not offer: the nearest is used, and said. */
static void test_unsupported_size(void **state)
{
	struct source *s;
	struct picture pic;

	(void)state;
	fake.formats[0] = V4L2_PIX_FMT_MJPEG;
	fake.nformats = 1;
	s = open_source(1000, 600, NULL);
	assert_int_equal(fake.width, 640);
	assert_int_equal(fake.height, 480);
	assert_int_equal(next_frame(s, &pic, 1000), SOURCE_FRAME);
	assert_int_equal(pic.width, 640);
	assert_int_equal(pic.height, 480);
	assert_non_null(strstr(log_text(),
			       "does not offer 1000x600 in MJPG; using the "
			       "nearest size, 640x480"));
	v4l2_source_ops.close(s);
}

/* Frames the driver flags as errors, and short frames, are skipped and
 * counted; the stream goes on. */
static void test_bad_frames_skipped(void **state)
{
	struct source *s;
	struct picture pic;

	(void)state;
	fake.formats[0] = V4L2_PIX_FMT_YUYV;
	fake.nformats = 1;
	fake.error_frame_at = 2;
	fake.short_frame_at = 3;
	s = open_source(160, 120, NULL);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(next_frame(s, &pic, 1000), SOURCE_FRAME);
		v4l2_source_ops.release(s, &pic);
	}
	assert_int_equal(fake.dqbufs, 6);
	assert_int_equal(v4l2_source_ops.skipped(s), 2);
	v4l2_source_ops.close(s);
}

/* Controls: brightness maps onto the camera's range; a control the camera
 * lacks is reported, not fatal. */
static void test_controls(void **state)
{
	struct camera_controls c;
	struct source *s;
	char why[128];

	(void)state;
	camctl_init(&c);
	assert_int_equal(
		camctl_parse(&c, "brightness", "0.5", why, sizeof(why)), 1);
	assert_int_equal(camctl_parse(&c, "gain", "4", why, sizeof(why)), 1);
	fake.formats[0] = V4L2_PIX_FMT_MJPEG;
	fake.nformats = 1;
	s = open_source(320, 240, &c);
	assert_true(fake.brightness_set);
	assert_int_equal(fake.brightness, 192); /* 128 + 0.5 * (255 - 128) */
	assert_non_null(strstr(log_text(), "has no control for --gain"));
	v4l2_source_ops.close(s);
}

/* --list-sources' description of a camera: formats vigil reads, each
 * size with its rates; formats it cannot read are left out. */
static void test_describe(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	fake.formats[0] = V4L2_PIX_FMT_MJPEG;
	fake.formats[1] = V4L2_PIX_FMT_RGB24;
	fake.formats[2] = V4L2_PIX_FMT_YUYV;
	fake.nformats = 3;
	assert_int_equal(v4l2list_describe(f, "/dev/video7"), 1);
	fclose(f);
	assert_non_null(strstr(text, "v4l2:/dev/video7  'Fake Webcam' "
				     "(uvcvideo, usb-fake-1)\n"));
	assert_non_null(strstr(text, "    MJPG: 160x120@30,15,5 "
				     "320x240@30,15,5 640x480@30,15,5\n"));
	assert_non_null(strstr(text, "    YUYV: 160x120@30"));
	assert_null(strstr(text, "RGB3"));
	free(text);

	/* A device with nothing vigil reads is not listed. */
	fake.formats[0] = V4L2_PIX_FMT_GREY;
	fake.nformats = 1;
	text = NULL;
	f = open_memstream(&text, &len);
	assert_int_equal(v4l2list_describe(f, "/dev/video7"), 0);
	fclose(f);
	assert_int_equal(len, 0);
	free(text);
}

/* The flags' parser and the range mapping on their own. */
static void test_control_flags(void **state)
{
	struct camera_controls c;
	char why[160];

	(void)state;
	camctl_init(&c);
	assert_int_equal(camctl_parse(&c, "exposure", "auto", why, sizeof(why)),
			 1);
	assert_true(c.exposure_set);
	assert_int_equal(c.exposure_us, 0);
	assert_int_equal(
		camctl_parse(&c, "exposure", "20000", why, sizeof(why)), 1);
	assert_int_equal(c.exposure_us, 20000);
	assert_int_equal(camctl_parse(&c, "exposure", "fast", why, sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "--exposure"));
	assert_int_equal(camctl_parse(&c, "exposure", "1.5", why, sizeof(why)),
			 -1);
	assert_int_equal(camctl_parse(&c, "awb", "daylight", why, sizeof(why)),
			 1);
	assert_int_equal(c.awb, CAMERA_AWB_DAYLIGHT);
	assert_int_equal(camctl_parse(&c, "awb", "purple", why, sizeof(why)),
			 -1);
	assert_int_equal(
		camctl_parse(&c, "brightness", "1.5", why, sizeof(why)), -1);
	assert_int_equal(camctl_parse(&c, "contrast", "nan", why, sizeof(why)),
			 -1);
	assert_int_equal(camctl_parse(&c, "sharpness", "0", why, sizeof(why)),
			 1);
	assert_true(c.sharpness_set);
	assert_int_equal(camctl_parse(&c, "profile", "night", why, sizeof(why)),
			 1);
	assert_int_equal(c.profile, CAMERA_PROFILE_NIGHT);
	assert_int_equal(camctl_parse(&c, "profile", "dusk", why, sizeof(why)),
			 -1);
	assert_int_equal(camctl_parse(&c, "size", "1x1", why, sizeof(why)), 0);

	/* neutral -> default, extremes -> range ends, steps honoured */
	assert_int_equal(camctl_map_range(0, -1, 0, 1, 0, 128, 255, 1), 128);
	assert_int_equal(camctl_map_range(-1, -1, 0, 1, 0, 128, 255, 1), 0);
	assert_int_equal(camctl_map_range(1, -1, 0, 1, 0, 128, 255, 1), 255);
	assert_int_equal(camctl_map_range(9, 0, 1, 2, 0, 32, 64, 1), 64);
	assert_int_equal(camctl_map_range(0.5, 0, 1, 2, 0, 32, 64, 10), 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mjpeg_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_yuyv_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_prefers_mjpeg, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_usable_format, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_format_flag, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_jpeg_without_dht, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_disconnect_reopens, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stall_reopens, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unsupported_size, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_frames_skipped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_controls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
		cmocka_unit_test(test_control_flags),
	};

	log_init("test_v4l2", LOG_LEVEL_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
