/*
 * wattgate scan PORT: find and identify the devices on a bus (first install).
 * The config snippet goes to stdout, progress to stderr. docs/scan.md.
 */
#ifndef WG_SCAN_H
#define WG_SCAN_H

/* argv[0] is "scan". Returns the exit status: 0 found, 1 error/none, 2 usage. */
int scan_main(int argc, char *argv[]);

#endif
