"""Lists every network with its XML and autostart flag through python3-libvirt.

    list_networks.py URI REPEAT WARMUP

Each run lists all networks in one call, then reads the XML and the
autostart flag of each network one after the other (1 + 2N libvirt calls).
Runs WARMUP unmeasured runs first. Prints {"runs": [{"networks", "ms"}],
"cpuSeconds"} as JSON; cpuSeconds covers the measured runs only.
"""

import sys
import time

from common import open_connection, report, silence_libvirt_errors


def list_networks(connection):
    networks = connection.listAllNetworks(0)
    return [(network.name(), network.XMLDesc(0), network.autostart()) for network in networks]


def main():
    uri, repeat, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    silence_libvirt_errors()
    connection = open_connection(uri)

    for _ in range(warmup):
        list_networks(connection)
    cpu_started = time.process_time()
    runs = []
    for _ in range(repeat):
        before = time.perf_counter_ns()
        listed = list_networks(connection)
        runs.append({"networks": len(listed), "ms": (time.perf_counter_ns() - before) / 1e6})

    report({"runs": runs}, cpu_started)


if __name__ == "__main__":
    main()
