/*
 * A bus's configuration checked at bus_open(): what would only fail later,
 * or worse, work wrongly, refused with one line (drivers/bus/bus.c opens).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "drivers/bus/bus.h"
#include "drivers/bus/bus_int.h"
#include "firmware/base/rfile.h"
#include "wg_config.h"

#ifdef CONFIG_BUS_RTU
#define HAVE_RTU 1
#else
#define HAVE_RTU 0
#endif
#ifdef CONFIG_BUS_TCP
#define HAVE_TCP 1
#else
#define HAVE_TCP 0
#endif

/* The rates libmodbus maps to termios; anything else it would silently make 9600. */
static const unsigned bauds[] = {
	1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800,
	921600,
};

int
bus_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int
terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL && s[0] != '\0';
}

/*
 * Refuse at open what would only fail later, or worse, work wrongly: a serial
 * path that does not exist (a typo in the site config) and a baud rate libmodbus
 * would silently replace by 9600.
 */
static int check_line(const struct bus_cfg *, const char *, char *, size_t);

/*
 * 1 if the character device dev belongs to a tty driver (a UART, a USB
 * serial adapter, a pty), 0 if not, -1 if /proc/tty/drivers cannot be read.
 * Lines: NAME PATH MAJOR MINORS TYPE, MINORS "N" or "LO-HI".
 */
static int
tty_driver(dev_t dev)
{
	char line[256], range[64];
	unsigned maj, lo, hi;
	int found = 0;
	FILE *f;

	if ((f = fopen("/proc/tty/drivers", "re")) == NULL)
		return -1;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%*s %*s %u %63s", &maj, range) != 2)
			continue;
		if (sscanf(range, "%u-%u", &lo, &hi) != 2) {
			if (sscanf(range, "%u", &lo) != 1)
				continue;
			hi = lo;
		}
		found = major(dev) == maj && minor(dev) >= lo && minor(dev) <= hi;
	}
	fclose(f);
	return found;
}

int
bus_port_check(const char *path, char *why, size_t len)
{
	struct stat st;
	int rc;

	if (stat(path, &st) < 0) {
		rc = -errno;
		bus_seterr(why, len, "%s", rc == -ENOENT ? "no such serial port" :
		    strerror(-rc));
		return rc;
	}
	if (!S_ISCHR(st.st_mode)) {
		bus_seterr(why, len, "%s, not a serial port", rfile_kind(st.st_mode));
		return -ENOTTY;
	}
	/*
	 * /dev/null and /dev/zero are character devices too: only a tty
	 * driver's device is a serial port. Asked of the kernel's driver
	 * table, not by opening the port: an open toggles DTR and RTS (which
	 * may key a transceiver or reset a device), needs the port's group,
	 * and would make --check depend on who runs it.
	 */
	if (tty_driver(st.st_rdev) == 0) {
		bus_seterr(why, len, "a character device but not a terminal, not a "
		    "serial port");
		return -ENOTTY;
	}
	return 0;
}

static int
check_rtu(const struct bus_cfg *cfg, char *err, size_t errlen)
{
	char why[128];
	int rc;

	if (!HAVE_RTU)
		return bus_seterr(err, errlen, "Modbus RTU is not built into this image");
	if (!terminated(cfg->device, sizeof(cfg->device)))
		return bus_seterr(err, errlen, "serial device: empty or too long");
	/* A port not there (yet: an adapter not plugged in) is a link that is
	 * down: each connect tries it, and fails with its name. */
	if ((rc = bus_port_check(cfg->device, why, sizeof(why))) < 0 &&
	    rc != -ENOENT) {
		bus_seterr(err, errlen, "%s: %s", cfg->device, why);
		return rc;
	}
	return check_line(cfg, cfg->device, err, errlen);
}

/* The serial line's settings: a port's own, or a converter's (for timing). */
static int
check_line(const struct bus_cfg *cfg, const char *name, char *err,
    size_t errlen)
{
	size_t i;

	for (i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++) {
		if (bauds[i] == cfg->baud)
			break;
	}
	if (i == sizeof(bauds) / sizeof(bauds[0]))
		return bus_seterr(err, errlen, "%s: unsupported baud rate %u",
		    name, cfg->baud);
	if (cfg->parity != 'N' && cfg->parity != 'E' && cfg->parity != 'O')
		return bus_seterr(err, errlen, "%s: parity must be N, E or O", name);
	if (cfg->data_bits != 7 && cfg->data_bits != 8)
		return bus_seterr(err, errlen, "%s: data bits must be 7 or 8", name);
	if (cfg->stop_bits != 1 && cfg->stop_bits != 2)
		return bus_seterr(err, errlen, "%s: stop bits must be 1 or 2", name);
	return 0;
}

static int
check_endpoint(const struct bus_cfg *cfg, char *err, size_t errlen)
{
	if (cfg->rs485)
		return bus_seterr(err, errlen, "RS-485 mode is for serial ports");
	if (!terminated(cfg->host, sizeof(cfg->host)))
		return bus_seterr(err, errlen, "TCP host: empty or too long");
	if (cfg->port < 1 || cfg->port > 65535)
		return bus_seterr(err, errlen, "%s: port %u out of range 1..65535",
		    cfg->host, cfg->port);
	return 0;
}

static int
check_tcp(const struct bus_cfg *cfg, char *err, size_t errlen)
{
	if (!HAVE_TCP)
		return bus_seterr(err, errlen, "Modbus TCP is not built into this image");
	return check_endpoint(cfg, err, errlen);
}

/*
 * The converter's host and port, and its line's settings for the timing. Only
 * RTU needs to be built in: the TCP side is the bridge's, not libmodbus's.
 */
static int
check_rtutcp(const struct bus_cfg *cfg, char *err, size_t errlen)
{
	int rc;

	if (!HAVE_RTU)
		return bus_seterr(err, errlen, "Modbus RTU is not built into this image");
	if ((rc = check_endpoint(cfg, err, errlen)) < 0)
		return rc;
	return check_line(cfg, cfg->host, err, errlen);
}

int
bus_check_cfg(const struct bus_cfg *cfg, char *err, size_t errlen)
{
	int rc;

	if (cfg->kind == BUS_RTU)
		rc = check_rtu(cfg, err, errlen);
	else if (cfg->kind == BUS_TCP)
		rc = check_tcp(cfg, err, errlen);
	else if (cfg->kind == BUS_RTU_TCP)
		rc = check_rtutcp(cfg, err, errlen);
	else
		rc = bus_seterr(err, errlen, "unknown bus kind %d", (int)cfg->kind);
	if (rc < 0)
		return rc;
	if (cfg->timeout_ms < 1 || cfg->timeout_ms > BUS_TIMEOUT_MS_MAX)
		return bus_seterr(err, errlen, "timeout_ms %u out of range 1..%d",
		    cfg->timeout_ms, BUS_TIMEOUT_MS_MAX);
	return 0;
}
