"""Helpers shared by the python3-libvirt benchmark scripts."""

import json
import sys
import time

import libvirt


def open_connection(uri):
    """Opens a read-write libvirt connection, exiting with libvirt's message when that fails."""
    try:
        return libvirt.open(uri)
    except libvirt.libvirtError as error:
        sys.exit(f"cannot connect to {uri}: {error}")


def silence_libvirt_errors():
    """Keeps libvirt from printing its errors to stderr; they are raised as libvirtError anyway."""
    libvirt.registerErrorHandler(lambda _context, _error: None, None)


def report(result, cpu_started):
    """Writes the result as one JSON document on stdout, adding the CPU seconds used since cpu_started (time.process_time())."""
    result["cpuSeconds"] = time.process_time() - cpu_started
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
