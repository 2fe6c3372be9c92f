/* The fake signal-cli's quick start: this program stands in for signal-cli and has the fake's
 * fork server (forkserver.py) run the fake in a process forked from one that has it imported
 * already, instead of starting Python and importing it anew for each run.
 *
 * Its settings are in the file beside it, named after it with ".conf" added, one per line: the
 * fork server's socket, the fake's release, and the Python and the script that run the fake the
 * slow way (used when the server cannot be reached).
 *
 * It passes its stdin, stdout and stderr, its arguments, environment, working directory and umask
 * to the server, which answers with the pid of the fake's process and, when that ends, its wait
 * status. Meanwhile the signals a process manager sends (TERM, INT, HUP, QUIT, USR1, USR2) go on
 * to the fake; it exits as the fake did, by the same signal if the fake died of one. If this
 * program dies (SIGKILL), the fake sees its connection close and kills itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t fake_pid = 0;
static volatile sig_atomic_t pending[NSIG];
static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static void forward(int sig) {
    if (fake_pid > 0)
        kill(fake_pid, sig);
    else
        pending[sig] = 1;
}

static char settings[4][PATH_MAX];

static int open_mask;

static void slow_way(int argc, char **argv) {
    for (int fd = 0; fd < 3; fd++)
        if (!(open_mask & (1 << fd))) close(fd);
    char **args = calloc(argc + 3, sizeof *args);
    if (!args) _exit(70);
    args[0] = settings[2];
    args[1] = "-S";
    args[2] = settings[3];
    for (int i = 1; i < argc; i++) args[i + 2] = argv[i];
    execv(settings[2], args);
    perror("fake signal-cli: cannot run Python");
    _exit(127);
}

static int read_all(int fd, void *buffer, size_t size) {
    char *at = buffer;
    while (size) {
        ssize_t got = read(fd, at, size);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        at += got;
        size -= got;
    }
    return 0;
}

static int write_all(int fd, const void *buffer, size_t size) {
    const char *at = buffer;
    while (size) {
        ssize_t put = write(fd, at, size);
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return -1;
        at += put;
        size -= put;
    }
    return 0;
}

/* append a NUL-terminated string to a growing buffer */
static char *payload;
static size_t used, capacity;
static void add(const char *text) {
    size_t length = strlen(text) + 1;
    if (used + length > capacity) {
        capacity = (used + length) * 2 + 4096;
        payload = realloc(payload, capacity);
        if (!payload) _exit(70);
    }
    memcpy(payload + used, text, length);
    used += length;
}

int main(int argc, char **argv) {
    /* which of stdin, stdout, stderr are open; a closed one is held by /dev/null meanwhile, so
     * that no file this program opens takes its number (and is passed on in its place) */
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) != -1) open_mask |= 1 << fd;
    for (int fd = 0; fd < 3; fd++)
        if (!(open_mask & (1 << fd))) {
            int null = open("/dev/null", O_RDWR);
            if (null != fd) return 70;
        }
    char path[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", path, sizeof path - 6);
    if (length <= 0) return 70;
    strcpy(path + length, ".conf");
    FILE *conf = fopen(path, "r");
    if (!conf) return 70;
    for (int i = 0; i < 4; i++) {
        if (!fgets(settings[i], PATH_MAX, conf)) return 70;
        settings[i][strcspn(settings[i], "\n")] = 0;
    }
    fclose(conf);

    struct sigaction action = {0};
    action.sa_handler = forward;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) sigaction(forwarded[i], &action, NULL);

    int server = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, settings[0], sizeof address.sun_path - 1);
    if (server < 0 || connect(server, (struct sockaddr *)&address, sizeof address) != 0) slow_way(argc, argv);

    char number[32], cwd[PATH_MAX];
    add(settings[1]);
    add(getcwd(cwd, sizeof cwd) ? cwd : "/");
    mode_t mask = umask(0);
    umask(mask);
    snprintf(number, sizeof number, "%o", (unsigned)mask);
    add(number);
    snprintf(number, sizeof number, "%d", argc - 1);
    add(number);
    for (int i = 1; i < argc; i++) add(argv[i]);
    int count = 0;
    for (char **entry = environ; *entry; entry++) count++;
    snprintf(number, sizeof number, "%d", count);
    add(number);
    for (char **entry = environ; *entry; entry++) add(*entry);

    /* header: the payload's length and which of stdin, stdout, stderr are open (and passed) */
    int fds[3], passed = 0;
    unsigned char header[5];
    uint32_t size = (uint32_t)used;
    memcpy(header, &size, 4);
    header[4] = 0;
    for (int fd = 0; fd < 3; fd++)
        if (open_mask & (1 << fd)) {
            header[4] |= 1 << fd;
            fds[passed++] = fd;
        }
    struct iovec part = {.iov_base = header, .iov_len = sizeof header};
    union {
        char space[CMSG_SPACE(sizeof fds)];
        struct cmsghdr align;
    } control;
    struct msghdr message = {.msg_iov = &part, .msg_iovlen = 1};
    if (passed) {
        message.msg_control = control.space;
        message.msg_controllen = CMSG_SPACE(passed * sizeof(int));
        struct cmsghdr *rights = CMSG_FIRSTHDR(&message);
        rights->cmsg_level = SOL_SOCKET;
        rights->cmsg_type = SCM_RIGHTS;
        rights->cmsg_len = CMSG_LEN(passed * sizeof(int));
        memcpy(CMSG_DATA(rights), fds, passed * sizeof(int));
    }
    ssize_t sent;
    do sent = sendmsg(server, &message, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent != sizeof header || write_all(server, payload, used) != 0) slow_way(argc, argv);

    int32_t pid;
    if (read_all(server, &pid, sizeof pid) != 0 || pid <= 0) slow_way(argc, argv);
    fake_pid = pid;
    for (int sig = 1; sig < NSIG; sig++)
        if (pending[sig]) kill(pid, sig);

    int32_t status;
    if (read_all(server, &status, sizeof status) != 0) return 70;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    int sig = WTERMSIG(status);
    signal(sig, SIG_DFL);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    raise(sig);
    return 128 + sig;
}
