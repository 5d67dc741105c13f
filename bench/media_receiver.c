/* The receiver of bench/media.py: one UDP socket, kernel receive timestamps, per-stream
 * inter-packet intervals.
 *
 *   media_receiver PORT SECONDS WARMUP [echo] [poll=MICROSECONDS]
 *
 * Binds 127.0.0.1:PORT, asks the kernel for receive timestamps (SO_TIMESTAMPNS) and for its
 * drop counter (SO_RXQ_OVFL), and reads with recvmmsg in batches until SECONDS have passed since
 * the first packet. Streams are told apart by SSRC (RFC 3550 section 5.1). For every packet after
 * the first of its stream, the interval since that stream's previous packet (kernel time) goes
 * into a histogram of 1 us buckets up to 1 s; intervals of packets that arrive in the first
 * WARMUP seconds are not counted. A sequence number that is not previous + 1 counts as a gap
 * (lost or reordered packets). With "echo", every packet is also sent back to its source
 * (sendmmsg), so the engine has the inbound load of callers that talk all the time. Prints one
 * JSON object on stdout at the end.
 *
 * With "poll=US" the receiver never sleeps in the kernel waiting for a packet: it reads what is
 * queued without waiting, then sleeps US microseconds. On loopback a sender's sendto runs the
 * receiving side in the sender's context, and wakes a receiver that sleeps in recvmmsg: an
 * inter-processor interrupt charged to the sender, per packet or so. A sender on a network
 * interface pays neither. Polling takes the wake-ups out of the sender's cost; the intervals
 * are still those of the kernel's receive timestamps, so they are exact either way.
 *
 * Per stream, the same intervals also go into a histogram of 0.1 ms buckets up to 100 ms (the
 * last bucket holds everything longer) with the stream's longest interval and its intervals over
 * 40 ms, so the JSON also tells how the streams differ: the median and the worst of the
 * per-stream p50 and p99 (bucket lower bounds, 0.1 ms resolution), the streams whose p99 is
 * outside 18-22 ms, the worst per-stream maximum and the streams with a gap over 40 ms
 * (bench/announce_calls.py: "every stream's p99 within 20 +- 2 ms").
 *
 * Compiled by bench/media.py at run time: gcc -O2 -o DIR/media_receiver bench/media_receiver.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256
#define SLOTS 16384 /* hash table of SSRCs: a power of two, at least twice the streams */
#define BUCKETS 1000000 /* 1 us buckets: 0 to 1 s */
#define GAP_NS 40000000LL
#define STREAM_BUCKETS 1000 /* per stream: 0.1 ms buckets, 0 to 100 ms */

struct stream {
    uint32_t ssrc;
    int used;
    uint16_t seq;
    int64_t last_ns;
    uint64_t packets;
    uint32_t intervals;
    uint32_t gaps40;
    int64_t max_interval;
};

static struct stream streams[SLOTS];
static uint32_t histogram[BUCKETS + 1];
/* Per-stream histograms, indexed like streams[]: only the pages of streams seen are touched. */
static uint32_t stream_histogram[SLOTS][STREAM_BUCKETS + 1];

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct stream *lookup(uint32_t ssrc, uint64_t *count) {
    uint32_t h = (ssrc * 2654435761u) & (SLOTS - 1);
    while (streams[h].used && streams[h].ssrc != ssrc) h = (h + 1) & (SLOTS - 1);
    if (!streams[h].used) {
        if (*count >= SLOTS / 2) return NULL;
        streams[h].used = 1;
        streams[h].ssrc = ssrc;
        streams[h].last_ns = 0;
        ++*count;
    }
    return &streams[h];
}

static double percentile(uint64_t total, double p) {
    uint64_t target = (uint64_t)(p * (double)total);
    uint64_t seen = 0;
    for (int i = 0; i <= BUCKETS; i++) {
        seen += histogram[i];
        if (seen > target) return i / 1000.0;
    }
    return BUCKETS / 1000.0;
}

static double stream_percentile(const uint32_t *h, uint32_t total, double p) {
    uint64_t target = (uint64_t)(p * (double)total);
    uint64_t seen = 0;
    for (int i = 0; i <= STREAM_BUCKETS; i++) {
        seen += h[i];
        if (seen > target) return i / 10.0;
    }
    return STREAM_BUCKETS / 10.0;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The per-stream figures, as JSON fields (no braces), into out. */
static void per_stream(char *out, size_t size) {
    static double p50s[SLOTS], p99s[SLOTS];
    size_t n = 0;
    uint64_t outside = 0, with_gaps = 0;
    int64_t worst_max = 0;
    for (int i = 0; i < SLOTS; i++) {
        struct stream *s = &streams[i];
        if (!s->used || s->intervals == 0) continue;
        p50s[n] = stream_percentile(stream_histogram[i], s->intervals, 0.50);
        p99s[n] = stream_percentile(stream_histogram[i], s->intervals, 0.99);
        if (p99s[n] < 18.0 || p99s[n] > 22.0) outside++;
        if (s->gaps40) with_gaps++;
        if (s->max_interval > worst_max) worst_max = s->max_interval;
        n++;
    }
    double p50_median = 0, p50_worst = 0, p99_median = 0, p99_best = 0, p99_worst = 0;
    if (n > 0) {
        qsort(p50s, n, sizeof p50s[0], compare_doubles);
        qsort(p99s, n, sizeof p99s[0], compare_doubles);
        p50_median = p50s[n / 2];
        p50_worst = 20.0 - p50s[0] > p50s[n - 1] - 20.0 ? p50s[0] : p50s[n - 1];
        p99_median = p99s[n / 2];
        p99_best = p99s[0];
        p99_worst = p99s[n - 1];
    }
    snprintf(out, size,
             "\"streams_measured\": %zu, \"stream_p50_median_ms\": %.1f, "
             "\"stream_p50_worst_ms\": %.1f, \"stream_p99_median_ms\": %.1f, "
             "\"stream_p99_best_ms\": %.1f, \"stream_p99_worst_ms\": %.1f, "
             "\"streams_p99_outside_18_22\": %llu, \"stream_max_worst_ms\": %.3f, "
             "\"streams_with_gaps_over_40ms\": %llu",
             n, p50_median, p50_worst, p99_median, p99_best, p99_worst,
             (unsigned long long)outside, (double)worst_max / 1e6,
             (unsigned long long)with_gaps);
}

int main(int argc, char **argv) {
    int echo = 0;
    long poll_us = 0;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "echo") == 0)
            echo = 1;
        else if (strncmp(argv[i], "poll=", 5) == 0 && atol(argv[i] + 5) > 0)
            poll_us = atol(argv[i] + 5);
        else
            argc = 0; /* unknown option: the usage below */
    }
    if (argc < 4) {
        fprintf(stderr, "usage: %s PORT SECONDS WARMUP [echo] [poll=MICROSECONDS]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int64_t duration_ns = (int64_t)(atof(argv[2]) * 1e9);
    int64_t warmup_ns = (int64_t)(atof(argv[3]) * 1e9);
    uint64_t echoed = 0;

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int on = 1, size = 64 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
    struct timeval tv = {0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("bind");
        return 1;
    }
    printf("{\"ready\": true}\n");
    fflush(stdout);

    static char data[BATCH][2048];
    static char control[BATCH][256];
    static struct iovec iov[BATCH];
    static struct mmsghdr msgs[BATCH];
    static struct sockaddr_in sources[BATCH];

    uint64_t stream_count = 0, packets = 0, intervals = 0, gaps40 = 0, seq_gaps = 0;
    uint64_t over_limit = 0, short_packets = 0;
    uint32_t kernel_drops = 0;
    int64_t first_ns = 0, last_ns = 0, max_interval = 0, sum_interval = 0;
    int64_t deadline = 0, started = now_ns();

    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = data[i];
            iov[i].iov_len = sizeof data[i];
            memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &sources[i];
            msgs[i].msg_hdr.msg_namelen = sizeof sources[i];
            msgs[i].msg_hdr.msg_control = control[i];
            msgs[i].msg_hdr.msg_controllen = sizeof control[i];
        }
        int n = recvmmsg(fd, msgs, BATCH, poll_us ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                perror("recvmmsg");
                return 1;
            }
            n = 0;
        }
        if (poll_us && n < BATCH) { /* the queue is empty: sleep, nobody has to wake us */
            struct timespec pause = {poll_us / 1000000, (poll_us % 1000000) * 1000};
            nanosleep(&pause, NULL);
        }
        for (int i = 0; i < n; i++) {
            int64_t ts = 0;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c;
                 c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
                if (c->cmsg_level != SOL_SOCKET) continue;
                if (c->cmsg_type == SCM_TIMESTAMPNS) {
                    struct timespec t;
                    memcpy(&t, CMSG_DATA(c), sizeof t);
                    ts = (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
                } else if (c->cmsg_type == SO_RXQ_OVFL) {
                    memcpy(&kernel_drops, CMSG_DATA(c), sizeof kernel_drops);
                }
            }
            if (ts == 0) ts = now_ns();
            if (msgs[i].msg_len < 12) {
                short_packets++;
                continue;
            }
            const unsigned char *p = (const unsigned char *)data[i];
            uint16_t seq = (uint16_t)((p[2] << 8) | p[3]);
            uint32_t ssrc = ((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) |
                            ((uint32_t)p[10] << 8) | p[11];
            if (first_ns == 0) {
                first_ns = ts;
                deadline = first_ns + duration_ns;
            }
            last_ns = ts;
            packets++;
            struct stream *s = lookup(ssrc, &stream_count);
            if (s == NULL) {
                over_limit++;
                continue;
            }
            if (s->last_ns != 0) {
                if ((uint16_t)(s->seq + 1) != seq) seq_gaps++;
                if (ts - first_ns >= warmup_ns) {
                    int64_t d = ts - s->last_ns;
                    int64_t us = d / 1000;
                    histogram[us < BUCKETS ? us : BUCKETS]++;
                    intervals++;
                    sum_interval += d;
                    if (d > max_interval) max_interval = d;
                    if (d > GAP_NS) gaps40++;
                    int64_t tenth = d / 100000;
                    stream_histogram[s - streams][tenth < STREAM_BUCKETS ? tenth
                                                                         : STREAM_BUCKETS]++;
                    s->intervals++;
                    if (d > s->max_interval) s->max_interval = d;
                    if (d > GAP_NS) s->gaps40++;
                }
            }
            s->last_ns = ts;
            s->seq = seq;
            s->packets++;
        }
        if (echo && n > 0) {
            for (int i = 0; i < n; i++) {
                iov[i].iov_len = msgs[i].msg_len;
                msgs[i].msg_hdr.msg_control = NULL;
                msgs[i].msg_hdr.msg_controllen = 0;
            }
            int sent = sendmmsg(fd, msgs, n, MSG_DONTWAIT);
            if (sent > 0) echoed += sent;
        }
        if (deadline != 0 && now_ns() >= deadline) break;
        if (deadline == 0 && now_ns() - started > 60000000000LL) {
            fprintf(stderr, "no packet in 60 s\n");
            return 1;
        }
    }
    static char extra[1024];
    per_stream(extra, sizeof extra);
    printf("{\"streams\": %llu, \"packets\": %llu, \"intervals\": %llu, "
           "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, \"p001_ms\": %.3f, "
           "\"p1_ms\": %.3f, \"mean_ms\": %.4f, \"max_ms\": %.3f, \"gaps_over_40ms\": %llu, "
           "\"sequence_gaps\": %llu, \"kernel_drops\": %u, \"short_packets\": %llu, "
           "\"echoed\": %llu, \"seconds\": %.3f, %s}\n",
           (unsigned long long)stream_count, (unsigned long long)packets,
           (unsigned long long)intervals, percentile(intervals, 0.50),
           percentile(intervals, 0.99), percentile(intervals, 0.999),
           percentile(intervals, 0.001), percentile(intervals, 0.01),
           intervals ? (double)sum_interval / (double)intervals / 1e6 : 0.0,
           (double)max_interval / 1e6, (unsigned long long)gaps40,
           (unsigned long long)seq_gaps, kernel_drops, (unsigned long long)short_packets, (unsigned long long)echoed,
           (double)(last_ns - first_ns) / 1e9, extra);
    (void)over_limit;
    return 0;
}
