/* SPDX-License-Identifier: MIT */
/*
 * vigil-capture: owns one camera (or a test picture, or a pipe of JPEGs) and
 * publishes every picture as a JPEG into the shared-memory ring
 * "/vigil.<camera>" that the vigil-server processes read.  One poll loop:
 * the source's fd, a signalfd (SIGTERM, SIGINT, SIGHUP: stop cleanly) and a
 * heartbeat timer that keeps the ring's heartbeat fresh when no frame comes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "camctl.h"
#include "encode.h"
#include "log.h"
#include "parse.h"
#include "pipeline.h"
#include "autosrc.h"
#include "ring.h"
#include "source.h"
#include "substream.h"
#include "transform.h"
#include "usage.h"

#define PROG "vigil-capture"
#define EXIT_USAGE USAGE_EXIT

#define CAPTURE_CAMERA_DEFAULT "cam0"
#define CAPTURE_WIDTH_DEFAULT 1280
#define CAPTURE_HEIGHT_DEFAULT 720
#define CAPTURE_FPS_DEFAULT 24
#define CAPTURE_OVERLAY_DEFAULT "%Y-%m-%d %H:%M:%S"
#define CAPTURE_DIM_MIN 16
#define CAPTURE_WIDTH_MAX 7680
#define CAPTURE_HEIGHT_MAX 4320
#define CAPTURE_FPS_MAX 120
#define CAPTURE_STATS_MS 60000u /* the periodic info line */
/* The DCT: bench/bench_encode.sh measures both on testsrc at 1280x720 q85.
 * The accurate one gives +0.13 dB luma PSNR for the same size (46.30 vs
 * 46.17 dB) and, with AVX2 on x86-64, is about as fast as the fast one
 * (which is TurboJPEG's default), so capture asks for the accurate one. */
#define CAPTURE_FASTDCT 0
/* --encode-threads' default: the cores, at most this many. */
#define CAPTURE_THREADS_DEFAULT_MAX 4

struct options {
	const char *camera;
	const char *source;
	int width, height, fps, quality, rotate, hflip, vflip, follow;
	int fps_max; /* --fps max: testsrc unpaced, fps the nominal rate */
	const char *overlay;
	int overlay_set;
	uint32_t slots, slot_size;
	gid_t gid;
	int verbose;
	int list_sources;
	struct camera_controls controls; /* camctl.h: --exposure ... */
	struct motion_config motion; /* motion.h: --motion ... */
	struct testsrc_motion testsrc_motion; /* --testsrc-motion */
	int sub_off; /* --sub-size off */
	int sub_width, sub_height; /* --sub-size; height 0: from the aspect */
	int sub_fps, sub_quality;
	int encode_threads;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [options]\n"
		"Publishes a camera's pictures as JPEGs into the shared-memory ring\n"
		"/vigil.<camera> that vigil-server reads.\n"
		"\n"
		"  --camera NAME      ring name, [A-Za-z0-9_-]{1,32} (default " CAPTURE_CAMERA_DEFAULT
		")\n"
		"  --source SRC       where pictures come from (default %s):\n"
		"                       testsrc     a moving test picture\n"
		"                       stdin       concatenated JPEGs on standard input\n"
		"                       fifo:PATH   concatenated JPEGs from a named pipe\n"
		"                       auto        the first libcamera camera, else the\n"
		"                                   first V4L2 capture device, else testsrc\n"
		"                       v4l2:/dev/videoN (or v4l2:N)  a USB webcam\n"
		"                       libcamera[:N|:ID]  a Pi camera module\n"
		"                     JPEG sources are published byte for byte.\n"
		"  --size WxH         picture size (default %dx%d)\n"
		"  --fps N|max        frames per second, 1..%d (default %d); max\n"
		"                     (testsrc only): unpaced, a frame as soon as the\n"
		"                     encoders take one, to measure them\n"
		"  --quality Q        JPEG quality, 1..100 (default %d)\n"
		"  --rotate DEG       0, 90, 180 or 270 degrees clockwise (default 0)\n"
		"  --hflip, --vflip   mirror left-right / upside-down (before rotating)\n"
		"  --overlay FMT      strftime(3) text burned into the top-left corner\n"
		"                     (default \"%s\"; '' for none)\n"
		"  --slots N          ring slots, %u..%u (default %u)\n"
		"  --slot-size BYTES  bytes per slot, %u..%u, suffixes k and M (default:\n"
		"                     TurboJPEG's worst case for the size, at least 2M)\n"
		"  --group G          group (name or number) that may read the ring\n"
		"  --follow           fifo: wait for the next writer at end of input\n"
		"  --testsrc-motion M testsrc's picture: PERIOD/DURATION (seconds) an\n"
		"                     object crosses the still scene for DURATION every\n"
		"                     PERIOD, the first time 3 s after the start\n"
		"                     (default 30/5); off (still), always (changes every\n"
		"                     frame: moving bars, box and frame counter)\n"
		"\n"
		"Sub-stream (a small picture in the ring /vigil.<camera>.sub):\n"
		"  --sub-size WxH|off  its size (default: %d on the longer side, the\n"
		"                     other from the picture's aspect: %dx%d for\n"
		"                     16:9); off: none\n"
		"  --sub-fps N        its frames per second, 1..%d (default %d; at most\n"
		"                     --fps)\n"
		"  --sub-quality Q    its JPEG quality, 1..100 (default %d)\n"
		"  --encode-threads N raw pictures: frames encoded at once, 1..%d\n"
		"                     (default: the number of cores, at most %d;\n"
		"                     published in capture order)\n"
		"\n"
		"Motion detection (every frame carries the result in the ring):\n"
		"  --motion on|off         detect motion (default on)\n"
		"  --motion-threshold N|auto  luma levels a pixel must change, 1..255,\n"
		"                          or auto: follow the picture's noise (default)\n"
		"  --motion-area PCT       smallest moving area, percent of the picture,\n"
		"                          0.01..100 (default 0.05)\n"
		"  --motion-frames N       consecutive moving frames before motion is\n"
		"                          declared, 1..1000 (default 2)\n"
		"  --motion-hold SEC       seconds without movement before it is\n"
		"                          cleared, 0..3600 (default 2)\n"
		"  --motion-mask X,Y,W,H[;X,Y,W,H...]  regions to ignore, in percent of\n"
		"                          the picture (up to 16; default none)\n"
		"  --motion-lightswitch PCT  a change over PCT percent of the picture at\n"
		"                          once is light, not motion: 1..100, 0 off\n"
		"                          (default 40)\n"
		"  -v, --verbose      log debug messages\n"
		"  -h, --help         this help\n"
		"  --version          print the version\n"
		"\n"
		"Rotation, flips and overlay apply to raw pictures (testsrc, cameras), not\n"
		"to JPEG sources.  SIGTERM, SIGINT or SIGHUP stop capture and close the\n"
		"ring.\n"
		"Exit status: 0 stopped or end of input, 1 run-time error, 2 bad usage.\n",
		source_default(), CAPTURE_WIDTH_DEFAULT, CAPTURE_HEIGHT_DEFAULT,
		CAPTURE_FPS_MAX, CAPTURE_FPS_DEFAULT, ENCODE_QUALITY_DEFAULT,
		CAPTURE_OVERLAY_DEFAULT, RING_SLOTS_MIN, RING_SLOTS_MAX,
		RING_SLOTS_DEFAULT, RING_SLOT_SIZE_MIN, RING_SLOT_SIZE_MAX,
		SUBSTREAM_WIDTH_DEFAULT, SUBSTREAM_WIDTH_DEFAULT,
		SUBSTREAM_HEIGHT_DEFAULT, CAPTURE_FPS_MAX,
		SUBSTREAM_FPS_DEFAULT, SUBSTREAM_QUALITY_DEFAULT,
		ENCPOOL_THREADS_MAX, CAPTURE_THREADS_DEFAULT_MAX);
	fputc('\n', f);
	camctl_print_help(f);
}

static void usage_error(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	usage_vprint_error(stderr, PROG, fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

static long flag_long(const char *opt, const char *s, long min, long max)
{
	long v;

	if (parse_long(s, min, max, &v, NULL) < 0)
		usage_error(
			"invalid %s '%s': expected a number from %ld to %ld",
			opt, s, min, max);
	return v;
}

static void parse_size(const char *flag, const char *s, int *w, int *h)
{
	const char *end;
	long lw, lh;

	if (parse_long(s, 0, LONG_MAX, &lw, &end) < 0 ||
	    (*end != 'x' && *end != 'X') ||
	    parse_long(end + 1, 0, LONG_MAX, &lh, NULL) < 0)
		usage_error("invalid %s '%s': expected WIDTHxHEIGHT, e.g. "
			    "1280x720",
			    flag, s);
	if (lw < CAPTURE_DIM_MIN || lw > CAPTURE_WIDTH_MAX ||
	    lh < CAPTURE_DIM_MIN || lh > CAPTURE_HEIGHT_MAX)
		usage_error("invalid %s '%s': from %dx%d to %dx%d", flag, s,
			    CAPTURE_DIM_MIN, CAPTURE_DIM_MIN, CAPTURE_WIDTH_MAX,
			    CAPTURE_HEIGHT_MAX);
	*w = (int)lw;
	*h = (int)lh;
}

static uint32_t parse_bytes(const char *s)
{
	uint64_t v;

	if (parse_byte_count(s, RING_SLOT_SIZE_MIN, RING_SLOT_SIZE_MAX, &v) < 0)
		goto bad;
	return (uint32_t)v;
bad:
	usage_error("invalid --slot-size '%s': expected %u to %u bytes "
		    "(suffixes k, M)",
		    s, RING_SLOT_SIZE_MIN, RING_SLOT_SIZE_MAX);
}

static gid_t parse_group(const char *s)
{
	struct group *g;
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s != '\0' && *s != '-' && *end == '\0' && errno == 0 &&
	    v < (unsigned long)(gid_t)-1)
		return (gid_t)v;
	g = getgrnam(s);
	if (g == NULL)
		usage_error("invalid --group '%s': no such group", s);
	return g->gr_gid;
}

/* The --motion flags, in the order of their OPT_MOTION... values. */
static const struct {
	const char *flag;
	int (*parse)(const char *text, struct motion_config *c, char *why,
		     size_t size);
} motion_flags[] = {
	{"--motion", motion_parse_enabled},
	{"--motion-threshold", motion_parse_threshold},
	{"--motion-area", motion_parse_area},
	{"--motion-frames", motion_parse_frames},
	{"--motion-hold", motion_parse_hold},
	{"--motion-mask", motion_parse_masks},
	{"--motion-lightswitch", motion_parse_lightswitch},
};

static void parse_motion_flag(int i, const char *s, struct motion_config *c)
{
	char why[200];

	if (i < 0 ||
	    (size_t)i >= sizeof(motion_flags) / sizeof(motion_flags[0]))
		usage_error("internal error: motion flag %d", i);
	if (motion_flags[i].parse(s, c, why, sizeof(why)) < 0)
		usage_error("invalid %s '%s': %s", motion_flags[i].flag, s,
			    why);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_CAMERA = 256,
		OPT_SOURCE,
		OPT_SIZE,
		OPT_FPS,
		OPT_QUALITY,
		OPT_ROTATE,
		OPT_HFLIP,
		OPT_VFLIP,
		OPT_OVERLAY,
		OPT_SLOTS,
		OPT_SLOT_SIZE,
		OPT_GROUP,
		OPT_FOLLOW,
		OPT_VERSION,
		OPT_LIST_SOURCES,
		OPT_TESTSRC_MOTION,
		OPT_MOTION,
		OPT_MOTION_THRESHOLD,
		OPT_MOTION_AREA,
		OPT_MOTION_FRAMES,
		OPT_MOTION_HOLD,
		OPT_MOTION_MASK,
		OPT_MOTION_LIGHTSWITCH,
		OPT_SUB_SIZE,
		OPT_SUB_FPS,
		OPT_SUB_QUALITY,
		OPT_ENCODE_THREADS,
		OPT_CAMCTL, /* OPT_CAMCTL + i: camctl's enum camctl_id i */
	};
	static const struct option baseopts[] = {
		{"camera", required_argument, NULL, OPT_CAMERA},
		{"source", required_argument, NULL, OPT_SOURCE},
		{"size", required_argument, NULL, OPT_SIZE},
		{"fps", required_argument, NULL, OPT_FPS},
		{"quality", required_argument, NULL, OPT_QUALITY},
		{"rotate", required_argument, NULL, OPT_ROTATE},
		{"hflip", no_argument, NULL, OPT_HFLIP},
		{"vflip", no_argument, NULL, OPT_VFLIP},
		{"overlay", required_argument, NULL, OPT_OVERLAY},
		{"slots", required_argument, NULL, OPT_SLOTS},
		{"slot-size", required_argument, NULL, OPT_SLOT_SIZE},
		{"group", required_argument, NULL, OPT_GROUP},
		{"follow", no_argument, NULL, OPT_FOLLOW},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{"list-sources", no_argument, NULL, OPT_LIST_SOURCES},
		{"testsrc-motion", required_argument, NULL, OPT_TESTSRC_MOTION},
		{"motion", required_argument, NULL, OPT_MOTION},
		{"motion-threshold", required_argument, NULL,
		 OPT_MOTION_THRESHOLD},
		{"motion-area", required_argument, NULL, OPT_MOTION_AREA},
		{"motion-frames", required_argument, NULL, OPT_MOTION_FRAMES},
		{"motion-hold", required_argument, NULL, OPT_MOTION_HOLD},
		{"motion-mask", required_argument, NULL, OPT_MOTION_MASK},
		{"motion-lightswitch", required_argument, NULL,
		 OPT_MOTION_LIGHTSWITCH},
		{"sub-size", required_argument, NULL, OPT_SUB_SIZE},
		{"sub-fps", required_argument, NULL, OPT_SUB_FPS},
		{"sub-quality", required_argument, NULL, OPT_SUB_QUALITY},
		{"encode-threads", required_argument, NULL, OPT_ENCODE_THREADS},
	};
#define BASEOPTS_COUNT (sizeof(baseopts) / sizeof(baseopts[0]))
	/* baseopts, then the camera controls from camctl's table. */
	struct option longopts[BASEOPTS_COUNT + CAMCTL_COUNT + 1];
	char name[RING_NAME_MAX];
	int c;

	memset(o, 0, sizeof(*o));
	o->camera = CAPTURE_CAMERA_DEFAULT;
	o->source = source_default();
	o->width = CAPTURE_WIDTH_DEFAULT;
	o->height = CAPTURE_HEIGHT_DEFAULT;
	o->fps = CAPTURE_FPS_DEFAULT;
	o->quality = ENCODE_QUALITY_DEFAULT;
	o->overlay = CAPTURE_OVERLAY_DEFAULT;
	o->slots = RING_SLOTS_DEFAULT;
	o->gid = (gid_t)-1;
	o->sub_width = SUBSTREAM_WIDTH_DEFAULT;
	o->sub_fps = SUBSTREAM_FPS_DEFAULT;
	o->sub_quality = SUBSTREAM_QUALITY_DEFAULT;
	{
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o->encode_threads = n < 1 ? 1
				    : n > CAPTURE_THREADS_DEFAULT_MAX
					    ? CAPTURE_THREADS_DEFAULT_MAX
					    : (int)n;
	}
	camctl_init(&o->controls);
	motion_config_defaults(&o->motion);
	memcpy(longopts, baseopts, sizeof(baseopts));
	for (int i = 0; i < CAMCTL_COUNT; i++)
		longopts[BASEOPTS_COUNT + (size_t)i] = (struct option){
			camctl_name((enum camctl_id)i), required_argument, NULL,
			OPT_CAMCTL + i};
	memset(&longopts[BASEOPTS_COUNT + CAMCTL_COUNT], 0,
	       sizeof(longopts[0]));

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CAMERA:
			if (ring_name(name, sizeof(name), optarg, NULL) < 0)
				usage_error("invalid --camera '%s': expected 1 "
					    "to %d of A-Z a-z 0-9 _ -",
					    optarg, RING_CAMERA_MAX);
			o->camera = optarg;
			break;
		case OPT_SOURCE:
			o->source = optarg;
			break;
		case OPT_SIZE:
			parse_size("--size", optarg, &o->width, &o->height);
			break;
		case OPT_FPS:
			o->fps_max = strcmp(optarg, "max") == 0;
			o->fps = o->fps_max ? CAPTURE_FPS_MAX
					    : (int)flag_long("--fps", optarg, 1,
							     CAPTURE_FPS_MAX);
			break;
		case OPT_QUALITY:
			o->quality = (int)flag_long("--quality", optarg, 1,
						    100);
			break;
		case OPT_ROTATE:
			o->rotate = (int)flag_long("--rotate", optarg, 0, 270);
			if (o->rotate % 90 != 0)
				usage_error(
					"invalid --rotate '%s': expected 0, "
					"90, 180 or 270",
					optarg);
			break;
		case OPT_HFLIP:
			o->hflip = 1;
			break;
		case OPT_VFLIP:
			o->vflip = 1;
			break;
		case OPT_OVERLAY:
			if (strlen(optarg) >= OVERLAY_FMT_MAX)
				usage_error("invalid --overlay: longer than %d "
					    "bytes",
					    OVERLAY_FMT_MAX - 1);
			o->overlay = optarg;
			o->overlay_set = 1;
			break;
		case OPT_SLOTS:
			o->slots = (uint32_t)flag_long("--slots", optarg,
						       RING_SLOTS_MIN,
						       RING_SLOTS_MAX);
			break;
		case OPT_SLOT_SIZE:
			o->slot_size = parse_bytes(optarg);
			break;
		case OPT_GROUP:
			o->gid = parse_group(optarg);
			break;
		case OPT_FOLLOW:
			o->follow = 1;
			break;
		case OPT_SUB_SIZE:
			o->sub_off = strcmp(optarg, "off") == 0;
			if (!o->sub_off)
				parse_size("--sub-size", optarg, &o->sub_width,
					   &o->sub_height);
			break;
		case OPT_SUB_FPS:
			o->sub_fps = (int)flag_long("--sub-fps", optarg, 1,
						    CAPTURE_FPS_MAX);
			break;
		case OPT_ENCODE_THREADS:
			o->encode_threads = (int)flag_long("--encode-threads",
							   optarg, 1,
							   ENCPOOL_THREADS_MAX);
			break;
		case OPT_SUB_QUALITY:
			o->sub_quality = (int)flag_long("--sub-quality", optarg,
							1, 100);
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			usage_print_version(stdout, PROG);
			exit(0);
		case OPT_LIST_SOURCES:
			o->list_sources = 1;
			break;
		case OPT_TESTSRC_MOTION: {
			char why[200];

			if (testsrc_parse_motion(optarg, &o->testsrc_motion,
						 why, sizeof(why)) < 0)
				usage_error("invalid --testsrc-motion '%s': %s",
					    optarg, why);
			break;
		}
		case OPT_MOTION:
		case OPT_MOTION_THRESHOLD:
		case OPT_MOTION_AREA:
		case OPT_MOTION_FRAMES:
		case OPT_MOTION_HOLD:
		case OPT_MOTION_MASK:
		case OPT_MOTION_LIGHTSWITCH:
			parse_motion_flag(c - OPT_MOTION, optarg, &o->motion);
			break;
		case ':':
			usage_error("option '%s' needs a value",
				    argv[optind - 1]);
		default:
			if (c >= OPT_CAMCTL && c < OPT_CAMCTL + CAMCTL_COUNT) {
				char why[200];

				if (camctl_parse(&o->controls,
						 camctl_name((enum camctl_id)(
							 c - OPT_CAMCTL)),
						 optarg, why, sizeof(why)) < 0)
					usage_error("%s", why);
				break;
			}
			if (optopt != 0)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (source_find(o->source, NULL, 0) == NULL) {
		char why[256];
		source_find(o->source, why, sizeof(why));
		usage_error("invalid --source: %s", why);
	}
	if (o->fps_max && strcmp(o->source, "testsrc") != 0)
		usage_error("invalid --fps 'max': only with --source testsrc "
			    "(other sources set their own pace)");
}

/* source_config.target: testsrc draws into the next encode job. */
static int draw_target(void *arg, int width, int height, struct picture *dst)
{
	return pipeline_target(arg, width, height, dst);
}

/* The slot size when --slot-size is not given: TurboJPEG's worst case for
 * the picture, so that pictures are encoded straight into the slot. */
static uint32_t default_slot_size(int width, int height)
{
	uint64_t need = (uint64_t)encoder_bound(width, height) +
			RING_SLOT_HEADER_SIZE;

	need = (need + RING_SLOT_ALIGN - 1) & ~(uint64_t)(RING_SLOT_ALIGN - 1);
	if (need < RING_SLOT_SIZE_DEFAULT)
		need = RING_SLOT_SIZE_DEFAULT;
	if (need > RING_SLOT_SIZE_MAX)
		need = RING_SLOT_SIZE_MAX;
	return (uint32_t)need;
}

static int signals_open(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd;
}

static int heartbeat_open(void)
{
	struct itimerspec its;
	long ns = (long)RING_HEARTBEAT_MS / 2 * 1000000L;
	int fd;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -1;
	its.it_interval.tv_sec = ns / 1000000000L;
	its.it_interval.tv_nsec = ns % 1000000000L;
	its.it_value = its.it_interval;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct stats {
	uint32_t since_ms;
	uint64_t frames, dropped, skipped, analysed, undecodable;
	int64_t motion_ns;
};

static void stats_log(const char *camera, struct stats *st,
		      const struct pipeline *p, uint64_t skipped)
{
	uint32_t now = ring_now_ms();
	uint32_t ms = now - st->since_ms;
	uint64_t published, dropped, frames;
	int64_t encode_ns;
	uint64_t analysed = p->analysed - st->analysed;
	char motion[160];

	if (ms < CAPTURE_STATS_MS)
		return;
	pipeline_counters(p, &published, &dropped, &encode_ns);
	frames = published - st->frames;
	if (p->motion == NULL)
		snprintf(motion, sizeof(motion), "motion off");
	else
		snprintf(
			motion, sizeof(motion),
			"motion %.2f ms/frame, %llu periods, %llu JPEGs "
			"not decoded for motion",
			analysed ? (double)(p->motion_ns - st->motion_ns) /
					   1e6 / (double)analysed
				 : 0,
			(unsigned long long)motion_periods(p->motion),
			(unsigned long long)(p->undecodable - st->undecodable));
	log_info("camera '%s': %llu frames in %u s (%.1f fps), %llu skipped "
		 "by the source, %llu dropped, encode %.1f ms/frame, %s",
		 camera, (unsigned long long)frames, ms / 1000,
		 frames * 1000.0 / ms,
		 (unsigned long long)(skipped - st->skipped),
		 (unsigned long long)(dropped - st->dropped),
		 published ? encode_ns / 1e6 / (double)published : 0, motion);
	st->since_ms = now;
	st->frames = published;
	st->dropped = dropped;
	st->skipped = skipped;
	st->analysed = p->analysed;
	st->undecodable = p->undecodable;
	st->motion_ns = p->motion_ns;
}

/* The sub-stream's ring and state, for a main picture of out_w x out_h;
 * exits on failure like the main ring. */
static struct ring_writer *sub_open(const struct options *o, int out_w,
				    int out_h, struct substream *sub)
{
	struct substream_config c;
	struct ring_writer_config rc;
	struct ring_writer *w = NULL;
	char name[RING_NAME_MAX];
	uint64_t slot;

	ring_name(name, sizeof(name), o->camera, RING_SUB_SUFFIX);
	memset(&c, 0, sizeof(c));
	if (substream_size(out_w, out_h, o->sub_width, o->sub_height, &c.width,
			   &c.height) < 0)
		fatalx("the picture %dx%d is too small for a sub-stream: use "
		       "--sub-size off",
		       out_w, out_h);
	c.fps = o->sub_fps < o->fps ? o->sub_fps : o->fps;
	c.quality = o->sub_quality;
	c.fastdct = CAPTURE_FASTDCT;
	if (substream_init(sub, &c) < 0)
		fatal("cannot set up the sub-stream");
	/* TurboJPEG's worst case: encoded straight into the slot. */
	slot = (uint64_t)encoder_bound(c.width, c.height) +
	       RING_SLOT_HEADER_SIZE;
	slot = (slot + RING_SLOT_ALIGN - 1) & ~(uint64_t)(RING_SLOT_ALIGN - 1);
	if (slot < RING_SLOT_SIZE_MIN)
		slot = RING_SLOT_SIZE_MIN;
	if (slot > RING_SLOT_SIZE_MAX)
		fatalx("--sub-size %dx%d is too large", c.width, c.height);
	memset(&rc, 0, sizeof(rc));
	rc.camera = o->camera;
	rc.suffix = RING_SUB_SUFFIX;
	rc.slot_count = o->slots;
	rc.slot_size = (uint32_t)slot;
	rc.gid = o->gid;
	rc.width = (uint32_t)c.width;
	rc.height = (uint32_t)c.height;
	rc.fps_num = (uint32_t)c.fps;
	rc.fps_den = 1;
	if (ring_writer_create(&w, &rc, NULL) < 0) {
		if (errno == EBUSY)
			fatalx("camera '%s''s sub-stream is already captured",
			       o->camera);
		fatal("cannot create ring '%s'", name);
	}
	log_info("camera '%s': sub-stream %dx%d, %d fps, quality %d, into "
		 "ring '%s' generation %u",
		 o->camera, c.width, c.height, c.fps, c.quality, name,
		 ring_writer_generation(w));
	return w;
}

int main(int argc, char **argv)
{
	struct options o;
	const struct source_ops *ops;
	struct source *src = NULL;
	struct source_config scfg;
	struct ring_writer_config rcfg;
	struct ring_writer *ring = NULL, *sub_ring = NULL;
	struct substream sub;
	int sub_on = 0;
	struct pipeline_config pcfg;
	struct pipeline pipe;
	struct stats st;
	char ringname[RING_NAME_MAX], fps_text[16];
	int out_w, out_h, sigfd, hbfd, more = 0, status = 0;
	pid_t holder = 0;
	uint32_t slot_size;
	uint64_t skipped_seen = 0;

	parse_options(argc, argv, &o);
	log_init(PROG, o.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (o.list_sources)
		return autosrc_list(stdout) >= 0 ? 0 : 1;
	ring_name(ringname, sizeof(ringname), o.camera, NULL);
	ops = source_find(o.source, NULL, 0);

	sigfd = signals_open();
	if (sigfd < 0)
		fatal("cannot set up signal handling");
	hbfd = heartbeat_open();
	if (hbfd < 0)
		fatal("cannot create the heartbeat timer");

	out_w = (o.rotate == 90 || o.rotate == 270) ? o.height : o.width;
	out_h = (o.rotate == 90 || o.rotate == 270) ? o.width : o.height;
	slot_size = o.slot_size ? o.slot_size : default_slot_size(out_w, out_h);
	slot_size = (slot_size + RING_SLOT_ALIGN - 1) & ~(RING_SLOT_ALIGN - 1);

	memset(&scfg, 0, sizeof(scfg));
	scfg.spec = o.source;
	scfg.width = o.width;
	scfg.height = o.height;
	scfg.fps = o.fps;
	scfg.follow = o.follow;
	scfg.max_frame = slot_size - RING_SLOT_HEADER_SIZE;
	scfg.overlay = o.overlay;
	scfg.extra = &o.controls;
	scfg.testsrc_motion = o.testsrc_motion;
	scfg.unpaced = o.fps_max;
	/* Called from the source's next(), once pipe is set up below. */
	if (ops == &testsrc_source_ops && o.encode_threads > 1 &&
	    transform_is_identity(o.rotate, o.hflip, o.vflip)) {
		scfg.target = draw_target;
		scfg.target_arg = &pipe;
	}
	if (ops->open(&src, &scfg) < 0)
		fatal("cannot open source '%s'", o.source);

	memset(&rcfg, 0, sizeof(rcfg));
	rcfg.camera = o.camera;
	rcfg.slot_count = o.slots;
	rcfg.slot_size = slot_size;
	rcfg.gid = o.gid;
	rcfg.width = (uint32_t)out_w;
	rcfg.height = (uint32_t)out_h;
	rcfg.fps_num = (uint32_t)o.fps;
	rcfg.fps_den = 1;
	if (ring_writer_create(&ring, &rcfg, &holder) < 0) {
		if (errno == EBUSY && holder > 0)
			fatalx("camera '%s' is already captured by pid %d",
			       o.camera, (int)holder);
		if (errno == EBUSY)
			fatalx("camera '%s' is already captured", o.camera);
		if (errno == EPERM && o.gid != (gid_t)-1)
			fatalx("cannot create ring '%s': Operation not permitted "
			       "(not allowed to give it group %u, or an old "
			       "segment or lock belongs to another user)",
			       ringname, (unsigned)o.gid);
		if (errno == EPERM)
			fatalx("cannot create ring '%s': Operation not permitted "
			       "(an old segment or lock belongs to another user "
			       "or others may write it)",
			       ringname);
		fatal("cannot create ring '%s'", ringname);
	}

	memset(&pcfg, 0, sizeof(pcfg));
	pcfg.rotate = o.rotate;
	pcfg.hflip = o.hflip;
	pcfg.vflip = o.vflip;
	pcfg.quality = o.quality;
	pcfg.fastdct = CAPTURE_FASTDCT;
	pcfg.overlay = o.overlay;
	pcfg.overlay_set = o.overlay_set;
	pcfg.motion = o.motion;
	pcfg.threads = o.encode_threads;
	if (pipeline_init(&pipe, &pcfg) < 0)
		fatal("cannot set up the encoder and motion detection");
	memset(&sub, 0, sizeof(sub));
	if (!o.sub_off) {
		sub_on = 1;
		sub_ring = sub_open(&o, out_w, out_h, &sub);
		pipe.sub = &sub;
		pipe.sub_ring = sub_ring;
	}

	if (o.fps_max)
		snprintf(fps_text, sizeof(fps_text), "max");
	else
		snprintf(fps_text, sizeof(fps_text), "%d", o.fps);
	log_info("camera '%s': capturing from '%s' at %dx%d, %s fps, quality "
		 "%d, into ring '%s' generation %u (%u slots of %u bytes), %d "
		 "encode thread%s",
		 o.camera, o.source, out_w, out_h, fps_text, o.quality,
		 ringname, ring_writer_generation(ring), o.slots, slot_size,
		 o.encode_threads, o.encode_threads == 1 ? "" : "s");
	if (o.motion.enabled)
		log_info("camera '%s': motion detection on (threshold %s, "
			 "area %d.%02d %%, %d frames, hold %d ms, %d masks)",
			 o.camera, o.motion.threshold ? "fixed" : "auto",
			 o.motion.area / 100, o.motion.area % 100,
			 o.motion.frames, o.motion.hold_ms, o.motion.nmasks);
	else
		log_info("camera '%s': motion detection off", o.camera);
	if (encoder_bound(out_w, out_h) > ring_writer_capacity(ring))
		log_info("slots are smaller than the worst-case JPEG of %zu "
			 "bytes: encoding through a private buffer",
			 encoder_bound(out_w, out_h));

	memset(&st, 0, sizeof(st));
	st.since_ms = ring_now_ms();
	for (;;) {
		struct pollfd pfd[3] = {
			{.fd = sigfd, .events = POLLIN},
			{.fd = hbfd, .events = POLLIN},
			{.fd = ops->fd(src), .events = POLLIN},
		};
		struct picture pic;
		enum source_result r;

		if (poll(pfd, 3, more ? 0 : -1) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			status = 1;
			break;
		}
		if (pfd[0].revents) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				log_info("camera '%s': %s, stopping", o.camera,
					 strsignal((int)si.ssi_signo));
				break;
			}
		}
		if (pfd[1].revents) {
			uint64_t ticks;
			if (read(hbfd, &ticks, sizeof(ticks)) > 0) {
				ring_writer_heartbeat(ring);
				if (sub_ring != NULL)
					ring_writer_heartbeat(sub_ring);
			}
			stats_log(o.camera, &st, &pipe,
				  ops->skipped ? ops->skipped(src) : 0);
		}
		if (!more && !pfd[2].revents)
			continue;
		memset(&pic, 0, sizeof(pic));
		r = ops->next(src, &pic);
		more = r == SOURCE_FRAME;
		if (ops->skipped != NULL) {
			/* Frames the source skipped (garbage, truncated, too
			 * big, missed deadlines) show in the ring's counter. */
			uint64_t sk = ops->skipped(src);
			for (; skipped_seen < sk; skipped_seen++)
				ring_writer_count_drop(ring);
		}
		if (r == SOURCE_FRAME) {
			pipeline_publish(&pipe, &pic, ring);
			if (ops->release != NULL)
				ops->release(src, &pic);
		} else if (r == SOURCE_EOF) {
			log_info("camera '%s': end of input, stopping",
				 o.camera);
			break;
		} else if (r == SOURCE_ERROR) {
			log_warn("camera '%s': source '%s' failed", o.camera,
				 o.source);
			status = 1;
			break;
		}
	}

	pipeline_flush(&pipe); /* frames still in the encode threads */
	log_info("camera '%s': %llu frames published, %llu dropped", o.camera,
		 (unsigned long long)pipe.published,
		 (unsigned long long)pipe.dropped);
	if (sub_on)
		log_info("camera '%s': sub-stream: %llu frames made, %llu "
			 "dropped, %.2f ms a frame (main encode %.2f ms)",
			 o.camera, (unsigned long long)sub.published,
			 (unsigned long long)sub.dropped,
			 sub.published ? (double)sub.encode_ns / 1e6 /
						 (double)sub.published
				       : 0,
			 pipe.published ? (double)pipe.encode_ns / 1e6 /
						  (double)pipe.published
					: 0);
	ring_writer_close(sub_ring);
	ring_writer_close(ring);
	pipeline_free(&pipe);
	substream_free(&sub);
	ops->close(src);
	close(hbfd);
	close(sigfd);
	return status;
}
