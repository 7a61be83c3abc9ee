/* SPDX-License-Identifier: MIT */
/*
 * libcamera: the Pi camera modules through libcamera's C++ API, behind the C
 * source interface of libcamera.h.  The only C++ in vigil.
 *
 * Threads: libcamera completes requests on its own thread.  The completion
 * handler only queues the request and writes an eventfd; everything else
 * (mapping, controls, handing frames to capture, re-queueing) happens on
 * capture's thread in next() and release().
 *
 * Versions: written against Debian 12's libcamera 0.0.3 and guarded for the
 * newer API of Raspberry Pi OS (0.1.0+rpt, 0.2 .. 0.5):
 *   - CameraConfiguration::transform became ::orientation (upstream 0.2.0,
 *     backported into Raspberry Pi's 0.1.0+rpt20231122, so the guard is
 *     __has_include(<libcamera/orientation.h>), not the version number);
 *   - 0.5.0 drives manual exposure and gain through ExposureTimeMode and
 *     AnalogueGainMode (AeEnable is only a compatibility wrapper there, and
 *     some Raspberry Pi IPA builds ignore it).
 * Nothing else used here changed between those versions: ControlList::get()
 * returns std::optional since before 0.0.3, generateConfiguration() takes a
 * container of roles (a std::vector converts to both the old StreamRoles and
 * the newer Span), FrameBuffer::Plane::fd is a SharedFD throughout.
 */
#include "libcamera.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fcntl.h>
#include <linux/dma-buf.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <libcamera/camera.h>
#include <libcamera/camera_manager.h>
#include <libcamera/color_space.h>
#include <libcamera/control_ids.h>
#include <libcamera/controls.h>
#include <libcamera/formats.h>
#include <libcamera/framebuffer.h>
#include <libcamera/framebuffer_allocator.h>
#include <libcamera/property_ids.h>
#include <libcamera/request.h>
#include <libcamera/stream.h>
#include <libcamera/version.h>

#if __has_include(<libcamera/orientation.h>)
#include <libcamera/orientation.h>
#define VIGIL_LC_ORIENTATION 1
#else
#define VIGIL_LC_ORIENTATION 0
#endif

#define VIGIL_LC_VERSION(a, b)            \
	(LIBCAMERA_VERSION_MAJOR > (a) || \
	 (LIBCAMERA_VERSION_MAJOR == (a) && LIBCAMERA_VERSION_MINOR >= (b)))

extern "C" {
#include "camctl.h"
#include "daynight.h"
#include "log.h"
}

namespace lc = libcamera;

/* camera_awb is declared in libcamera's AwbModeEnum order. */
static_assert((int)CAMERA_AWB_AUTO == lc::controls::AwbAuto &&
		      (int)CAMERA_AWB_INCANDESCENT ==
			      lc::controls::AwbIncandescent &&
		      (int)CAMERA_AWB_TUNGSTEN == lc::controls::AwbTungsten &&
		      (int)CAMERA_AWB_FLUORESCENT ==
			      lc::controls::AwbFluorescent &&
		      (int)CAMERA_AWB_INDOOR == lc::controls::AwbIndoor &&
		      (int)CAMERA_AWB_DAYLIGHT == lc::controls::AwbDaylight &&
		      (int)CAMERA_AWB_CLOUDY == lc::controls::AwbCloudy,
	      "camera_awb follows AwbModeEnum");

namespace
{

constexpr int LC_STALL_MS = 5000; /* no frame this long: give up */
constexpr unsigned LC_BUFFERS_MIN = 4;

#define LC_STR2(x) #x
#define LC_STR(x) LC_STR2(x)
const char lc_version[] = LC_STR(LIBCAMERA_VERSION_MAJOR) "." LC_STR(
	LIBCAMERA_VERSION_MINOR) "." LC_STR(LIBCAMERA_VERSION_PATCH);

/* libcamera logs INFO and WARN lines to stderr (on a PC: "No IPA found");
 * a daemon wants its errors only.
 * A user's LIBCAMERA_LOG_LEVELS wins.  Must run before the first
 * CameraManager (libcamera reads the variable once). */
void quiet_libcamera()
{
	setenv("LIBCAMERA_LOG_LEVELS", "*:ERROR", 0);
}

int64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

std::string camera_name(const std::shared_ptr<lc::Camera> &cam)
{
	auto model = cam->properties().get(lc::properties::Model);

	return model ? *model : std::string("camera");
}

/* libcamera also drives USB webcams (its uvcvideo pipeline, "External"
 * cameras), in their YUYV/MJPEG formats only: vigil reads those through
 * V4L2 (MJPEG passthrough), so "the first camera" means the first other. */
bool is_external(const std::shared_ptr<lc::Camera> &cam)
{
	auto loc = cam->properties().get(lc::properties::Location);

	return loc && *loc == lc::properties::CameraLocationExternal;
}

std::shared_ptr<lc::Camera> first_camera(lc::CameraManager &cm)
{
	for (const auto &cam : cm.cameras())
		if (!is_external(cam))
			return cam;
	return nullptr;
}

/* "libcamera", "libcamera:N", "libcamera:<id>" -> the camera, or null. */
std::shared_ptr<lc::Camera> find_camera(lc::CameraManager &cm, const char *spec)
{
	auto cams = cm.cameras();
	const char *arg = std::strchr(spec, ':');
	char *end;
	long n;

	if (cams.empty())
		return nullptr;
	if (arg == nullptr || arg[1] == '\0') {
		auto cam = first_camera(cm);

		return cam ? cam : cams[0];
	}
	arg++;
	n = std::strtol(arg, &end, 10);
	if (*end == '\0' && n >= 0)
		return (size_t)n < cams.size() ? cams[(size_t)n] : nullptr;
	return cm.get(arg);
}

} /* namespace */

/* ------------------------------------------------------------ the source */

struct source {
	std::unique_ptr<lc::CameraManager> cm;
	std::shared_ptr<lc::Camera> camera;
	bool acquired = false;
	bool started = false;
	std::unique_ptr<lc::CameraConfiguration> config;
	lc::Stream *stream = nullptr;
	std::unique_ptr<lc::FrameBufferAllocator> allocator;
	std::vector<std::unique_ptr<lc::Request>> requests;
	/* One mapping per dmabuf fd: planes of a buffer usually share one. */
	struct mapping {
		uint8_t *addr;
		size_t length;
	};
	std::map<int, mapping> maps;

	std::string spec;
	struct camera_controls ctl;
	int width = 0, height = 0, fps = 0;
	unsigned stride = 0;
	enum picture_kind kind = PICTURE_I420;

	int epfd = -1; /* what capture polls */
	int evfd = -1; /* written by libcamera's thread */
	int timerfd = -1; /* stall watchdog */
	std::mutex lock; /* guards done and gone */
	std::deque<lc::Request *> done;
	bool gone = false;

	lc::Request *held = nullptr; /* lent to capture in a picture */
	int held_fd = -1; /* its dmabuf, for the end of CPU access */
	int64_t last_frame_ns = 0;
	uint64_t skipped = 0;

	/* Controls to put on the next request re-queued (profile switches). */
	lc::ControlList pending;
	struct daynight daynight = {};

	source() : pending(lc::controls::controls)
	{
	}

	void on_request(lc::Request *r)
	{
		uint64_t one = 1;

		{
			std::lock_guard<std::mutex> g(lock);
			done.push_back(r);
		}
		if (write(evfd, &one, sizeof(one)) < 0) {
			/* The counter cannot overflow in practice; nothing
			 * to do from libcamera's thread anyway. */
		}
	}

	void on_disconnect()
	{
		uint64_t one = 1;

		{
			std::lock_guard<std::mutex> g(lock);
			gone = true;
		}
		if (write(evfd, &one, sizeof(one)) < 0) {
		}
	}
};

namespace
{

void buffer_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync sync;

	if (fd < 0)
		return;
	sync.flags = flags;
	/* Not every exporter implements it (it then fails harmlessly). */
	ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
}

void lc_teardown(struct source *s)
{
	if (s->started)
		s->camera->stop();
	s->started = false;
	if (s->camera)
		s->camera->requestCompleted.disconnect(s);
	if (s->camera)
		s->camera->disconnected.disconnect(s);
	s->requests.clear();
	for (auto &m : s->maps)
		munmap(m.second.addr, m.second.length);
	s->maps.clear();
	if (s->allocator && s->stream)
		s->allocator->free(s->stream);
	s->allocator.reset();
	s->config.reset();
	if (s->acquired)
		s->camera->release();
	s->acquired = false;
	s->camera.reset();
	if (s->cm)
		s->cm->stop();
	s->cm.reset();
}

/* Frame duration limits and AE mode for the day or night profile. */
void profile_controls(const struct source *s, enum daynight_mode mode,
		      lc::ControlList &c)
{
	int64_t frame_us = daynight_frame_us(s->fps);
	int64_t max_us = daynight_max_exposure_us(mode, frame_us);
	bool night = mode == DAYNIGHT_NIGHT;
	const auto &info = s->camera->controls();

	if (info.find(&lc::controls::FrameDurationLimits) != info.end())
		c.set(lc::controls::FrameDurationLimits,
		      lc::Span<const int64_t, 2>({frame_us, max_us}));
	if (info.find(&lc::controls::AeExposureMode) != info.end())
		c.set(lc::controls::AeExposureMode,
		      night ? lc::controls::ExposureLong
			    : lc::controls::ExposureNormal);
}

/* The flags' controls, those the camera has; a warning for each it lacks. */
void start_controls(struct source *s, lc::ControlList &c)
{
	const auto &info = s->camera->controls();
	const struct camera_controls *k = &s->ctl;
	auto has = [&](const lc::ControlId *id, const char *flag) {
		if (info.find(id) != info.end())
			return true;
		if (flag != nullptr)
			log_warnx("camera '%s' has no %s control; %s ignored",
				  s->spec.c_str(), id->name().c_str(), flag);
		return false;
	};

	daynight_init(&s->daynight, k->profile);
	profile_controls(s, s->daynight.mode, c);

	if (k->exposure_set && k->exposure_us > 0 &&
	    has(&lc::controls::ExposureTime, camctl_flag(CAMCTL_EXPOSURE))) {
#if VIGIL_LC_VERSION(0, 5)
		c.set(lc::controls::ExposureTimeMode,
		      lc::controls::ExposureTimeModeManual);
#endif
		c.set(lc::controls::ExposureTime, (int32_t)k->exposure_us);
	} else if (k->exposure_set) {
#if VIGIL_LC_VERSION(0, 5)
		if (has(&lc::controls::ExposureTimeMode,
			camctl_flag(CAMCTL_EXPOSURE)))
			c.set(lc::controls::ExposureTimeMode,
			      lc::controls::ExposureTimeModeAuto);
#else
		if (has(&lc::controls::AeEnable, camctl_flag(CAMCTL_EXPOSURE)))
			c.set(lc::controls::AeEnable, true);
#endif
	}
	if (k->gain > 0 &&
	    has(&lc::controls::AnalogueGain, camctl_flag(CAMCTL_GAIN))) {
#if VIGIL_LC_VERSION(0, 5)
		c.set(lc::controls::AnalogueGainMode,
		      lc::controls::AnalogueGainModeManual);
#endif
		c.set(lc::controls::AnalogueGain, (float)k->gain);
	}
	if (k->awb >= CAMERA_AWB_AUTO &&
	    has(&lc::controls::AwbMode, camctl_flag(CAMCTL_AWB))) {
		/* camera_awb follows libcamera's AwbModeEnum order. */
		if (info.find(&lc::controls::AwbEnable) != info.end())
			c.set(lc::controls::AwbEnable, true);
		c.set(lc::controls::AwbMode, (int32_t)k->awb);
	}
	if (k->brightness_set &&
	    has(&lc::controls::Brightness, camctl_flag(CAMCTL_BRIGHTNESS)))
		c.set(lc::controls::Brightness, (float)k->brightness);
	if (k->contrast_set &&
	    has(&lc::controls::Contrast, camctl_flag(CAMCTL_CONTRAST)))
		c.set(lc::controls::Contrast, (float)k->contrast);
	if (k->sharpness_set &&
	    has(&lc::controls::Sharpness, camctl_flag(CAMCTL_SHARPNESS)))
		c.set(lc::controls::Sharpness, (float)k->sharpness);
}

/* --profile auto: the exposure and gain AE chose, to daynight. */
void profile_update(struct source *s, const lc::ControlList &meta)
{
	auto exp = meta.get(lc::controls::ExposureTime);
	auto gain = meta.get(lc::controls::AnalogueGain);
	enum daynight_mode was = s->daynight.mode;

	if (s->ctl.profile != CAMERA_PROFILE_AUTO || !exp || !gain)
		return;
	if (daynight_update(&s->daynight, *exp, *gain,
			    daynight_frame_us(s->fps),
			    now_ns(CLOCK_MONOTONIC)) == was)
		return;
	log_info("camera '%s': switching to the %s profile", s->spec.c_str(),
		 s->daynight.mode == DAYNIGHT_NIGHT ? "night" : "day");
	profile_controls(s, s->daynight.mode, s->pending);
}

int configure(struct source *s)
{
	std::vector<lc::StreamRole> roles{lc::StreamRole::VideoRecording};
	lc::CameraConfiguration::Status status;

	s->config = s->camera->generateConfiguration(roles);
	if (!s->config || s->config->size() != 1) {
		log_warnx("camera '%s' has no video stream", s->spec.c_str());
		return -1;
	}
	lc::StreamConfiguration &sc = s->config->at(0);

	sc.pixelFormat = lc::formats::YUV420;
	sc.size = lc::Size((unsigned)s->width, (unsigned)s->height);
	/* JPEG wants full-range BT.601 (JFIF): sYCC. */
	sc.colorSpace = lc::ColorSpace::Sycc;
	if (sc.bufferCount < LC_BUFFERS_MIN)
		sc.bufferCount = LC_BUFFERS_MIN;
#if VIGIL_LC_ORIENTATION
	s->config->orientation = lc::Orientation::Rotate0;
#else
	s->config->transform = lc::Transform::Identity;
#endif
	status = s->config->validate();
	if (status == lc::CameraConfiguration::Invalid) {
		log_warnx("camera '%s' refused a %dx%d YUV420 stream",
			  s->spec.c_str(), s->width, s->height);
		return -1;
	}
	if (sc.pixelFormat != lc::formats::YUV420 &&
	    sc.pixelFormat != lc::formats::NV12) {
		/* Some pipelines offer NV12 only. */
		sc.pixelFormat = lc::formats::NV12;
		status = s->config->validate();
		if (status == lc::CameraConfiguration::Invalid ||
		    sc.pixelFormat != lc::formats::NV12) {
			log_warnx("camera '%s' offers neither YUV420 nor NV12 "
				  "(it offers %s)",
				  s->spec.c_str(),
				  sc.pixelFormat.toString().c_str());
			return -1;
		}
	}
	if ((int)sc.size.width != s->width || (int)sc.size.height != s->height)
		log_warnx("camera '%s' does not offer %dx%d; using %ux%u",
			  s->spec.c_str(), s->width, s->height, sc.size.width,
			  sc.size.height);
	if (s->camera->configure(s->config.get()) < 0) {
		log_warnx("cannot configure camera '%s'", s->spec.c_str());
		return -1;
	}
	s->kind = sc.pixelFormat == lc::formats::NV12 ? PICTURE_NV12
						      : PICTURE_I420;
	s->width = (int)sc.size.width;
	s->height = (int)sc.size.height;
	s->stride = sc.stride ? sc.stride : sc.size.width;
	s->stream = sc.stream();
	return 0;
}

int map_buffers(struct source *s)
{
	s->allocator = std::make_unique<lc::FrameBufferAllocator>(s->camera);
	if (s->allocator->allocate(s->stream) < 0) {
		log_warnx("camera '%s': cannot allocate buffers",
			  s->spec.c_str());
		return -1;
	}
	for (const auto &buf : s->allocator->buffers(s->stream)) {
		std::unique_ptr<lc::Request> req = s->camera->createRequest();
		std::map<int, size_t> extent;

		if (!req || req->addBuffer(s->stream, buf.get()) < 0) {
			log_warnx("camera '%s': cannot make a request",
				  s->spec.c_str());
			return -1;
		}
		for (const auto &p : buf->planes()) {
			size_t end = (size_t)p.offset + p.length;
			int fd = p.fd.get();

			extent[fd] = std::max(extent[fd], end);
		}
		for (const auto &e : extent) {
			void *addr;

			if (s->maps.count(e.first))
				continue;
			addr = mmap(nullptr, e.second, PROT_READ | PROT_WRITE,
				    MAP_SHARED, e.first, 0);
			if (addr == MAP_FAILED) {
				log_warn("camera '%s': cannot map a buffer",
					 s->spec.c_str());
				return -1;
			}
			s->maps[e.first] = {static_cast<uint8_t *>(addr),
					    e.second};
		}
		s->requests.push_back(std::move(req));
	}
	return 0;
}

int arm_watchdog(struct source *s, int ms)
{
	struct itimerspec its = {};

	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	return timerfd_settime(s->timerfd, 0, &its, nullptr);
}

/* The planes of a completed request's buffer, or -1 when they do not fit
 * the mapped memory (never trusted blindly). */
int fill_picture(struct source *s, lc::FrameBuffer *buf, struct picture *pic)
{
	const auto &planes = buf->planes();
	size_t ysize = (size_t)s->stride * (size_t)s->height;
	unsigned cstride = s->kind == PICTURE_NV12 ? s->stride : s->stride / 2;
	size_t csize = (size_t)cstride * (size_t)((s->height + 1) / 2);
	size_t need[3] = {ysize, csize, csize};
	unsigned nplanes = s->kind == PICTURE_NV12 ? 2 : 3;

	if (planes.empty())
		return -1;
	auto it = s->maps.find(planes[0].fd.get());
	if (it == s->maps.end())
		return -1;
	std::memset(pic, 0, sizeof(*pic));
	for (unsigned i = 0; i < nplanes; i++) {
		size_t off;
		int fd;

		if (planes.size() == 1) {
			/* One plane holding the whole picture. */
			fd = planes[0].fd.get();
			off = planes[0].offset +
			      (i == 0 ? 0 : ysize + (i - 1) * csize);
		} else if (i < planes.size()) {
			fd = planes[i].fd.get();
			off = planes[i].offset;
		} else {
			return -1;
		}
		auto m = s->maps.find(fd);
		if (m == s->maps.end() || off > m->second.length ||
		    m->second.length - off < need[i])
			return -1;
		pic->planes[i] = m->second.addr + off;
		pic->strides[i] = i == 0 ? (int)s->stride : (int)cstride;
	}
	pic->kind = s->kind;
	pic->width = s->width;
	pic->height = s->height;
	s->held_fd = planes[0].fd.get();
	return 0;
}

void requeue(struct source *s, lc::Request *r)
{
	r->reuse(lc::Request::ReuseBuffers);
	if (!s->pending.empty()) {
		r->controls().merge(s->pending);
		s->pending.clear();
	}
	if (s->camera->queueRequest(r) < 0)
		log_warnx("camera '%s': cannot queue a request",
			  s->spec.c_str());
}

/* ------------------------------------------------------------ ops */

int lc_match(const char *spec)
{
	return std::strcmp(spec, "libcamera") == 0 ||
	       std::strncmp(spec, "libcamera:", 10) == 0;
}

void lc_close(struct source *s)
{
	if (s == nullptr)
		return;
	lc_teardown(s);
	if (s->timerfd >= 0)
		close(s->timerfd);
	if (s->evfd >= 0)
		close(s->evfd);
	if (s->epfd >= 0)
		close(s->epfd);
	delete s;
}

int lc_open(struct source **out, const struct source_config *cfg)
{
	struct source *s = new (std::nothrow) source();
	struct epoll_event ev = {};
	lc::ControlList start(lc::controls::controls);
	int e;

	if (s == nullptr)
		return -1;
	s->spec = cfg->spec;
	s->width = cfg->width > 0 ? cfg->width : 1280;
	s->height = cfg->height > 0 ? cfg->height : 720;
	s->fps = cfg->fps > 0 ? cfg->fps : 24;
	if (cfg->extra != nullptr)
		s->ctl = *static_cast<const struct camera_controls *>(
			cfg->extra);
	else
		camctl_init(&s->ctl);

	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->timerfd = timerfd_create(CLOCK_MONOTONIC,
				    TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->epfd < 0 || s->evfd < 0 || s->timerfd < 0)
		goto fail_errno;
	ev.events = EPOLLIN;
	ev.data.fd = s->evfd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->evfd, &ev) < 0)
		goto fail_errno;
	ev.data.fd = s->timerfd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timerfd, &ev) < 0)
		goto fail_errno;

	quiet_libcamera();
	s->cm = std::make_unique<lc::CameraManager>();
	if (s->cm->start() < 0) {
		log_warnx("cannot start libcamera's camera manager");
		errno = EIO;
		goto fail;
	}
	s->camera = find_camera(*s->cm, cfg->spec);
	if (!s->camera) {
		log_warnx("no libcamera camera for '%s' (%zu camera(s) found; "
			  "see --list-sources)",
			  cfg->spec, s->cm->cameras().size());
		errno = ENODEV;
		goto fail;
	}
	if (s->camera->acquire() < 0) {
		log_warnx("camera '%s' (%s) is in use by another program",
			  cfg->spec, s->camera->id().c_str());
		errno = EBUSY;
		goto fail;
	}
	s->acquired = true;
	if (configure(s) < 0 || map_buffers(s) < 0) {
		errno = EIO;
		goto fail;
	}
	s->camera->requestCompleted.connect(s, &source::on_request);
	s->camera->disconnected.connect(s, &source::on_disconnect);
	start_controls(s, start);
	if (s->camera->start(&start) < 0) {
		log_warnx("cannot start camera '%s'", cfg->spec);
		errno = EIO;
		goto fail;
	}
	s->started = true;
	for (auto &r : s->requests)
		if (s->camera->queueRequest(r.get()) < 0) {
			log_warnx("camera '%s': cannot queue a request",
				  cfg->spec);
			errno = EIO;
			goto fail;
		}
	log_info("camera '%s' (%s, %s): %s %dx%d, libcamera %s", cfg->spec,
		 camera_name(s->camera).c_str(), s->camera->id().c_str(),
		 s->kind == PICTURE_NV12 ? "NV12" : "YUV420", s->width,
		 s->height, lc_version);
	s->last_frame_ns = now_ns(CLOCK_MONOTONIC);
	arm_watchdog(s, LC_STALL_MS);
	*out = s;
	return 0;
fail_errno:
	log_warn("cannot set up the libcamera source");
fail:
	e = errno;
	lc_close(s);
	errno = e;
	return -1;
}

int lc_fd(const struct source *s)
{
	return s->epfd;
}

void lc_release(struct source *s, struct picture *pic)
{
	(void)pic;
	if (s->held == nullptr)
		return;
	buffer_sync(s->held_fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	requeue(s, s->held);
	s->held = nullptr;
	s->held_fd = -1;
}

enum source_result lc_next(struct source *s, struct picture *pic)
{
	std::deque<lc::Request *> ready;
	uint64_t count;
	bool gone;

	lc_release(s, pic);
	if (read(s->evfd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return SOURCE_AGAIN;
	{
		std::lock_guard<std::mutex> g(s->lock);
		ready.swap(s->done);
		gone = s->gone;
	}
	if (gone) {
		log_warnx("camera '%s' disconnected", s->spec.c_str());
		for (auto *r : ready)
			(void)r; /* stop() below cancels them */
		errno = ENODEV;
		return SOURCE_ERROR;
	}
	if (read(s->timerfd, &count, sizeof(count)) == (ssize_t)sizeof(count)) {
		int64_t idle = (now_ns(CLOCK_MONOTONIC) - s->last_frame_ns) /
			       1000000;

		if (idle >= LC_STALL_MS && ready.empty()) {
			log_warnx("camera '%s' sent no frame for %lld ms",
				  s->spec.c_str(), (long long)idle);
			errno = ETIMEDOUT;
			return SOURCE_ERROR;
		}
		arm_watchdog(s, (int)std::max<int64_t>(1, LC_STALL_MS - idle));
	}
	/* Only the newest frame is worth encoding: older ones go back. */
	while (!ready.empty()) {
		lc::Request *r = ready.front();

		ready.pop_front();
		if (r->status() != lc::Request::RequestComplete) {
			if (s->started)
				requeue(s, r);
			continue;
		}
		if (!ready.empty()) {
			s->skipped++;
			requeue(s, r);
			continue;
		}
		lc::FrameBuffer *buf = r->findBuffer(s->stream);

		if (buf == nullptr ||
		    buf->metadata().status != lc::FrameMetadata::FrameSuccess ||
		    fill_picture(s, buf, pic) < 0) {
			s->skipped++;
			requeue(s, r);
			return SOURCE_AGAIN;
		}
		profile_update(s, r->metadata());
		buffer_sync(s->held_fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
		s->held = r;
		s->last_frame_ns = now_ns(CLOCK_MONOTONIC);
		/* Buffer timestamps are CLOCK_MONOTONIC (V4L2 underneath);
		 * one that is not (over a second away) is left to capture,
		 * which stamps the frame itself. */
		{
			int64_t ts = (int64_t)buf->metadata().timestamp;
			int64_t age = s->last_frame_ns - ts;

			if (ts > 0 && age >= 0 && age < 1000000000) {
				pic->monotonic_ns = ts;
				pic->realtime_ns = now_ns(CLOCK_REALTIME) - age;
			}
		}
		return SOURCE_FRAME;
	}
	return SOURCE_AGAIN;
}

uint64_t lc_skipped(const struct source *s)
{
	return s->skipped;
}

} /* namespace */

extern "C" {

const struct source_ops libcamera_source_ops = {
	"libcamera", lc_match,	 lc_open,    lc_fd,
	lc_next,     lc_release, lc_skipped, lc_close,
};

const char *libcamera_built_version(void)
{
	return lc_version;
}

int libcamera_list(FILE *out)
{
	int n = 0;

	quiet_libcamera();
	auto cm = std::make_unique<lc::CameraManager>();
	if (cm->start() < 0) {
		fprintf(out, "libcamera %s: cannot start the camera manager\n",
			lc_version);
		return 0;
	}
	for (const auto &cam : cm->cameras()) {
		std::vector<lc::StreamRole> roles{
			lc::StreamRole::VideoRecording};
		auto cfg = cam->generateConfiguration(roles);
		const auto &info = cam->controls();
		auto fdl = info.find(&lc::controls::FrameDurationLimits);

		fprintf(out, "libcamera:%d  '%s' (id %s)%s\n", n,
			camera_name(cam).c_str(), cam->id().c_str(),
			is_external(cam) ? "  USB: better as v4l2:/dev/videoN"
					 : "");
		if (cfg && cfg->size() == 1) {
			const lc::StreamFormats &f = cfg->at(0).formats();

			for (const auto &pf : f.pixelformats()) {
				if (pf != lc::formats::YUV420 &&
				    pf != lc::formats::NV12)
					continue;
				fprintf(out, "    %s:", pf.toString().c_str());
				auto sizes = f.sizes(pf);
				if (sizes.empty()) {
					lc::SizeRange r = f.range(pf);
					fprintf(out, " %s",
						r.toString().c_str());
				}
				for (const auto &sz : sizes)
					fprintf(out, " %ux%u", sz.width,
						sz.height);
				fputc('\n', out);
			}
		}
		if (fdl != info.end()) {
			int64_t min_us = fdl->second.min().get<int64_t>();

			if (min_us > 0)
				fprintf(out, "    up to %.4g fps\n",
					1e6 / (double)min_us);
		}
		n++;
	}
	cm->stop();
	if (n == 0)
		fprintf(out, "libcamera %s: no cameras\n", lc_version);
	return n;
}

int libcamera_first_camera(char *spec, size_t size)
{
	quiet_libcamera();
	auto cm = std::make_unique<lc::CameraManager>();
	int found = -1;

	if (cm->start() < 0) {
		errno = EIO;
		return -1;
	}
	if (auto cam = first_camera(*cm)) {
		snprintf(spec, size, "libcamera:%s", cam->id().c_str());
		found = 0;
	}
	cm->stop();
	if (found < 0)
		errno = ENODEV;
	return found;
}

} /* extern "C" */
